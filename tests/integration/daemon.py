"""Runs the real consentd and consentctl binaries for the integration tests: writes a config,
creates tokens, starts the daemon, waits until it is ready, talks HTTP to it (stdlib
http.client), stops it with SIGTERM and checks its log for errors and sanitizer reports."""

import contextlib
import http.client
import json
import os
import re
import secrets
import select
import signal
import subprocess
import time


# Lines that fail a test wherever they appear in a daemon's output.
SANITIZER_PATTERNS = [
    re.compile(r"ERROR: AddressSanitizer"),
    re.compile(r"ERROR: LeakSanitizer"),
    re.compile(r"runtime error:"),
    re.compile(r"WARNING: ThreadSanitizer"),
]
ERROR_LINE = re.compile(r"\blevel=error\b|\"level\"\s*:\s*\"error\"")

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def child_env(extra=None):
    """The environment for consentd and consentctl: ours, without CONSENTD_* variables (every
    one of them is a config key to the binaries: CONSENTD_BIN would be an unknown key) and
    without PG* variables (libpq would pick them up), plus what the test sets."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONSENTD_") and not k.startswith("PG")}
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


def write_config(path, sections, extra_text=""):
    """sections: {"http": {"listen": "..."}, ...}; values written as given."""
    with open(path, "w") as f:
        for section, keys in sections.items():
            f.write("[%s]\n" % section)
            for k, v in keys.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")
        f.write(extra_text)


def describe_exit(rc):
    if rc < 0:
        try:
            return "was killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "was killed by signal %d" % -rc
    return "exited with %d" % rc


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive get()
        self.body = body
        self.json = None
        if body:
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.body[:500])


def http_request(port, method, path, body=None, headers=None, timeout=30.0, connect=None):
    """One request on a fresh connection; returns Response. body: bytes, str or None.
    connect(timeout), if given, makes the connection (HTTPS, say) instead of plain HTTP."""
    if isinstance(body, str):
        body = body.encode()
    conn = (connect(timeout) if connect
            else http.client.HTTPConnection("127.0.0.1", port, timeout=timeout))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def http_request_early_answer(port, method, path, body, headers, wait=1.0, timeout=30.0):
    """Sends the request head, gives the server `wait` seconds to answer before the body is sent
    (a server that refuses a Content-Length answers and closes at once, and a body it never
    reads would turn its close into a connection reset), then sends the body if no answer came
    and reads the response."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        readable, _, _ = select.select([conn.sock], [], [], wait)
        if not readable:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed meanwhile: read what it said
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


class Daemon:
    """One consentd process. Its stdout and stderr go to <workdir>/<name>.log."""

    def __init__(self, binary, config_path, port, name, env=None, allow_errors=()):
        self.binary = binary
        self.config_path = config_path
        self.port = port
        self.name = name
        self.logfile = os.path.join(os.path.dirname(config_path), name + ".log")
        self.env = env
        self.allow = [re.compile(p) for p in allow_errors]
        self.allowed_ranges = []  # byte ranges of the log where error lines are expected
        self.proc = None
        self.returncode = None
        self.exit_reported = False  # a failure already said that the process died

    # --- process ------------------------------------------------------------------------------

    def spawn(self):
        log = open(self.logfile, "ab")
        try:
            self.proc = subprocess.Popen([self.binary, "-c", self.config_path], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env=child_env(self.env))
        finally:
            log.close()

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Polls GET /readyz until 200; raises with the log if the daemon exits or never gets
        ready."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                self.exit_reported = True
                raise AssertionError("%s %s before it was ready:\n%s"
                                     % (self.name, describe_exit(rc), self.log_text()))
            try:
                r = self.request("GET", "/readyz", timeout=2.0)
                if r.status == 200:
                    return
                last = "HTTP %d %r" % (r.status, r.body[:200])
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)
        raise AssertionError("%s not ready within %.0f s (last /readyz: %s):\n%s"
                             % (self.name, timeout, last, self.log_text()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then wait; SIGKILL after the timeout. Returns a problem string or None."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            if self.exit_reported:
                return None
            return "%s was no longer running: it %s" % (self.name, describe_exit(self.returncode))
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait(10)
            return "%s did not exit within %.0f s of SIGTERM; killed" % (self.name, timeout)
        if self.returncode != 0:
            return "%s %s after SIGTERM (expected exit 0)" % (self.name, describe_exit(self.returncode))
        return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    # --- log ----------------------------------------------------------------------------------

    def log_size(self):
        try:
            return os.path.getsize(self.logfile)
        except FileNotFoundError:
            return 0

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    @contextlib.contextmanager
    def errors_expected(self):
        """Error lines logged inside this block (e.g. while PostgreSQL is down) are allowed."""
        start = self.log_size()
        try:
            yield
        finally:
            self.allowed_ranges.append((start, self.log_size()))

    def log_problems(self):
        """Unexpected level=error lines and any sanitizer report."""
        problems = []
        try:
            with open(self.logfile, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return problems
        pos = 0
        for raw in data.split(b"\n"):
            start = pos
            pos += len(raw) + 1
            line = raw.decode(errors="replace")
            if any(p.search(line) for p in SANITIZER_PATTERNS):
                problems.append("sanitizer: " + line)
            elif ERROR_LINE.search(line):
                if any(p.search(line) for p in self.allow):
                    continue
                if any(a <= start < b for a, b in self.allowed_ranges):
                    continue
                problems.append("unexpected error line: " + line)
        return problems

    # --- HTTP ---------------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=30.0):
        return http_request(self.port, method, path, body, headers, timeout)

    def post(self, payload, token=None, content_type="application/json", headers=None,
             timeout=30.0):
        """POST /v1/events. payload: a JSON-able object (encoded here), or bytes/str as is."""
        h = {}
        if content_type is not None:
            h["Content-Type"] = content_type
        if token is not None:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        if isinstance(payload, (bytes, str)):
            body = payload
        else:
            body = json.dumps(payload)
        return self.request("POST", "/v1/events", body, h, timeout)


class Ctl:
    """consentctl with a config file."""

    def __init__(self, binary, config_path):
        self.binary = binary
        self.config_path = config_path

    def run(self, *args, timeout=60, env=None):
        p = subprocess.run([self.binary, "-c", self.config_path] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=child_env(env), timeout=timeout)
        p.out = p.stdout.decode(errors="replace")
        p.err = p.stderr.decode(errors="replace")
        return p

    def check(self, *args, timeout=60):
        p = self.run(*args, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("consentctl %s exited %d\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(args), p.returncode, p.out, p.err))
        return p

    def token_add(self, name, scopes):
        p = self.check("token", "add", name, "--scopes", scopes)
        lines = [l for l in p.out.splitlines() if l.strip()]
        assert len(lines) == 1, "token add must print exactly one line (the token): %r" % p.out
        token = lines[0].strip()
        assert re.fullmatch(r"\S{16,}", token), "implausible token %r" % token
        return token


def new_subject_key(path, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    os.chmod(path, mode)  # umask-proof


def port_in_use(text):
    return re.search(r"(?i)address already in use|EADDRINUSE", text) is not None
