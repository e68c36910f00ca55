"""HTTPS on the HTTP listener: a throwaway CA, server and client certificates made with the
openssl CLI per test; events posted over TLS; plain HTTP refused; mutual TLS refusing clients
without a certificate of the configured CA; certificate, key and CA files reread on SIGHUP (a
bad new certificate is logged and the running one kept); start-up refusing key files others may
read or that do not match the certificate."""

import http.client
import json
import os
import signal
import ssl
import subprocess
import time

import pytest

from conftest import spawn_ready
from daemon import Daemon, http_request
from events import consent_event
from pg import free_port

RELOAD_BOUND = 20.0


def openssl(cwd, *args):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, "openssl %s:\n%s" % (" ".join(args), p.stdout.decode(errors="replace"))


class Pki:
    """Certificates in one directory: <name>.pem and <name>.key (mode 0600), EC P-256, valid
    two days."""

    NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def path(self, name, ext="pem"):
        return os.path.join(self.dir, "%s.%s" % (name, ext))

    def ca(self, name):
        openssl(self.dir, "req", "-x509", "-new", *self.NEW_KEY, "-keyout", name + ".key",
                "-out", name + ".pem", "-subj", "/CN=" + name, "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        os.chmod(self.path(name, "key"), 0o600)
        return self

    def issue(self, name, ca, usage):
        """usage: serverAuth (for 127.0.0.1 and localhost) or clientAuth."""
        with open(self.path(name, "ext"), "w") as f:
            if usage == "serverAuth":
                f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
            f.write("extendedKeyUsage=%s\n" % usage)
        openssl(self.dir, "req", "-new", *self.NEW_KEY, "-keyout", name + ".key",
                "-out", name + ".csr", "-subj", "/CN=" + name)
        openssl(self.dir, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
                "-extfile", name + ".ext")
        os.chmod(self.path(name, "key"), 0o600)
        return self

    def client_context(self, ca="ca", cert=None):
        ctx = ssl.create_default_context(cafile=self.path(ca))
        if cert:
            ctx.load_cert_chain(self.path(cert), self.path(cert, "key"))
        return ctx


@pytest.fixture
def pki(tmp_path):
    return (Pki(str(tmp_path / "pki")).ca("ca").issue("server-one", "ca", "serverAuth")
            .issue("client", "ca", "clientAuth"))


class TlsDaemon(Daemon):
    """A consentd spoken to over HTTPS with ctx; its readiness poll goes over HTTPS too."""

    def __init__(self, ctx, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ctx = ctx

    def connection(self, ctx=None, timeout=30.0):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx or self.ctx,
                                           timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30.0, ctx=None):
        return http_request(self.port, method, path, body, headers, timeout,
                            connect=lambda t: self.connection(ctx, t))


def served_common_name(d, ctx=None):
    conn = d.connection(ctx)
    try:
        conn.connect()
        subject = dict(x[0] for x in conn.sock.getpeercert()["subject"])
        return subject["commonName"]
    finally:
        conn.close()


@pytest.fixture
def tls_consentd(request, env, pki):
    """Factory like conftest's consentd, for a daemon serving HTTPS with pki's server-one
    certificate (copied to server.pem/server.key, which tests may replace)."""
    daemons = []
    for ext in ("pem", "key"):
        with open(pki.path("server-one", ext), "rb") as src, \
                open(pki.path("server", ext), "wb") as dst:
            dst.write(src.read())
    os.chmod(pki.path("server", "key"), 0o600)

    def start(ctx=None, http=None, allow_errors=()):
        keys = {"tls_cert_file": pki.path("server"), "tls_key_file": pki.path("server", "key")}
        keys.update(http or {})

        def make(attempt, port):
            name = "consentd%d" % (len(daemons) + 1)
            path = env.write_config(name + ".conf", port, {"http": keys})
            return TlsDaemon(ctx or pki.client_context(), env.binaries.consentd, path, port, name,
                             None, allow_errors)
        return spawn_ready(request, daemons, make)

    yield start

    problems = [p for p in (d.stop() for d in daemons) if p]
    for d in daemons:
        problems.extend("%s: %s" % (d.name, p) for p in d.log_problems())
    if problems:
        pytest.fail("consentd teardown:\n" + "\n".join(problems), pytrace=False)


def refused(call):
    """True if call() fails at the TLS or connection level instead of being answered."""
    try:
        r = call()
    except (ssl.SSLError, OSError, http.client.HTTPException):
        return True
    raise AssertionError("answered %r" % r)


def post(d, ev, token, ctx=None):
    return d.request("POST", "/v1/events", json.dumps(ev),
                     {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
                     ctx=ctx)


def _wait_for_log(d, text, start=0):
    """Waits until the log has text after byte start (the daemon may log a moment after the
    client has seen the outcome)."""
    deadline = time.monotonic() + RELOAD_BOUND
    while text not in d.log_text()[start:]:
        assert time.monotonic() < deadline, "no %r in the log" % text
        time.sleep(0.05)


def test_https_ingest_and_plain_http_refused(env, tls_consentd):
    d = tls_consentd()
    ev = consent_event()
    r = post(d, ev, env.token)
    assert r.status == 201, r
    assert r.json["event_id"] == ev["event_id"]
    assert [eid for _, eid, _, _ in env.rows()] == [ev["event_id"]]
    assert served_common_name(d) == "server-one"
    # The same request in plain HTTP gets no HTTP answer, and stores nothing.
    other = consent_event()
    assert refused(lambda: http_request(d.port, "POST", "/v1/events", json.dumps(other), {
        "Authorization": "Bearer " + env.token, "Content-Type": "application/json"}, timeout=10))
    assert env.count() == 1
    _wait_for_log(d, "TLS handshake failed: http request")  # at debug level
    assert "(https)" in d.log_text()
    assert "TLS loaded: certificate" in d.log_text()


def test_mutual_tls_requires_a_client_certificate_of_the_ca(env, tls_consentd, pki):
    pki.ca("stranger-ca").issue("stranger", "stranger-ca", "clientAuth")
    with_cert = pki.client_context(cert="client")
    d = tls_consentd(ctx=with_cert, http={"tls_client_ca_file": pki.path("ca")})
    ev = consent_event()
    assert post(d, ev, env.token).status == 201
    # No certificate, or one of another CA: the handshake fails, nothing is stored.
    assert refused(lambda: post(d, consent_event(), env.token, ctx=pki.client_context()))
    assert refused(lambda: post(d, consent_event(), env.token,
                                ctx=pki.client_context(cert="stranger")))
    assert env.count() == 1
    assert "client_certificates=required" in d.log_text()
    _wait_for_log(d, "TLS handshake failed: peer did not return a certificate")
    _wait_for_log(d, "TLS handshake failed: certificate verify failed")
    # The daemon goes on serving clients that have one.
    assert post(d, consent_event(), env.token).status == 201


def test_sighup_reloads_the_certificate(env, tls_consentd, pki):
    pki.issue("server-two", "ca", "serverAuth")
    d = tls_consentd()
    assert served_common_name(d) == "server-one"
    # A keep-alive connection opened before the reload.
    old = d.connection()
    old.request("GET", "/healthz")
    resp = old.getresponse()
    assert resp.status == 200 and resp.read()

    for ext in ("pem", "key"):
        with open(pki.path("server-two", ext), "rb") as src, \
                open(pki.path("server", ext), "wb") as dst:
            dst.write(src.read())
    start = len(d.log_text())
    d.proc.send_signal(signal.SIGHUP)
    _wait_for_log(d, "TLS reloaded: certificate", start)
    assert served_common_name(d) == "server-two"
    # The open connection keeps its session and is still served.
    old.request("GET", "/healthz")
    assert old.getresponse().status == 200
    assert dict(x[0] for x in old.sock.getpeercert()["subject"])["commonName"] == "server-one"
    old.close()

    # A certificate that does not load: logged, and the running one stays.
    with open(pki.path("server"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with d.errors_expected():
        start = len(d.log_text())
        d.proc.send_signal(signal.SIGHUP)
        _wait_for_log(d, "new connections keep the previous certificate", start)
    assert served_common_name(d) == "server-two"
    ev = consent_event()
    assert post(d, ev, env.token).status == 201


def _refusal(env, pki, name, http_keys):
    path = env.write_config(name + ".conf", free_port(), {"http": http_keys})
    rc, out = env.run_consentd("-c", path)
    assert rc == 1, out
    return out


def test_startup_refuses_unusable_key_files(env, pki):
    pki.issue("server-two", "ca", "serverAuth")
    keys = {"tls_cert_file": pki.path("server-one"), "tls_key_file": pki.path("server-one", "key")}
    os.chmod(pki.path("server-one", "key"), 0o644)
    out = _refusal(env, pki, "readable", keys)
    assert "[http] tls_key_file" in out and "chmod o-rwx" in out, out
    os.chmod(pki.path("server-one", "key"), 0o640)  # group-readable is the ssl-cert convention
    # ...so this one gets as far as the key's contents: another certificate's key.
    mismatched = dict(keys, tls_key_file=pki.path("server-two", "key"))
    out = _refusal(env, pki, "mismatch", mismatched)
    assert "does not match the certificate" in out, out
    out = _refusal(env, pki, "missing", dict(keys, tls_cert_file=pki.path("nothing")))
    assert "[http] tls_cert_file" in out, out
    # A certificate without its key is a configuration error.
    out = _refusal(env, pki, "half", {"tls_cert_file": pki.path("server-one")})
    assert "tls_cert_file: needs [http] tls_key_file too" in out, out
