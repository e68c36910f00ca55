"""Notices and evidence bundles end to end: PUT /v1/notices/{sha256} (201, 200 when stored
before, 422 digest mismatch, 413, scopes) and GET; `consentctl notice add` through the ledger's
append transaction (the chain still verifies); GET /v1/subjects/{subject}/evidence and
`consentctl export subject` giving the same bytes; `consentctl verify-bundle` accepting them
and rejecting changed bytes, another key and a missing file; the bundle's proofs checked again
here, independently, against the signed root."""

import base64
import hashlib
import json
import os
import time

import pytest

from events import consent_event, leaf_hash

ORIGIN = "consentd.local/ledger"
HTML = "<p>We use cookies for analytics \u2713</p>\n".encode()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index, size, leaf, proof, root):  # RFC 9162 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


class Site:
    """env plus a checkpoint signing key, an admin token, and helpers."""

    def __init__(self, env, consentd):
        self.env, self.consentd, self.d = env, consentd, None
        self.key_file = os.path.join(env.dir, "checkpoint.key")
        self.verifier = env.ctl.check("keygen", ORIGIN, "--out", self.key_file).out.strip()
        self.verifier_file = self.write("verifier.pub", self.verifier + "\n")
        self.admin = env.ctl.token_add("admin", "admin")

    def start(self, interval="100ms", signing=True, max_body="65536"):
        ledger = {"checkpoint_interval": interval}
        if signing:
            ledger["signing_key_file"] = self.key_file
        self.d = self.consentd(overrides={"ledger": ledger, "http": {"max_body": max_body}})
        return self.d

    def write(self, name, data):
        path = os.path.join(self.env.dir, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def get(self, path, token=None):
        return self.d.request("GET", path, headers={"Authorization": "Bearer " + (token or self.env.read_token)})

    def put_notice(self, address, body, content_type="text/html; charset=utf-8", token=None):
        h = {"Authorization": "Bearer " + (token or self.admin)}
        if content_type is not None:
            h["Content-Type"] = content_type
        return self.d.request("PUT", "/v1/notices/" + address, body, h)

    def post(self, evs):
        r = self.d.post(evs, self.env.token)
        assert r.status == 201, r
        return [x["seq"] for x in r.json["results"]] if isinstance(evs, list) else r.json["seq"]

    def subject(self, email):
        r = self.d.request("POST", "/v1/subjects/lookup", json.dumps({"email": email}),
                           {"Authorization": "Bearer " + self.env.read_token})
        assert r.status == 200, r
        return r.json["subject"]

    def checkpoint_sizes(self):
        return [s for s, in self.env.sql("SELECT tree_size FROM checkpoint ORDER BY 1")]

    def wait_checkpoint(self, size, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if size in self.checkpoint_sizes():
                return
            time.sleep(0.02)
        raise AssertionError("no checkpoint of size %d; have %r" % (size, self.checkpoint_sizes()))

    def verify_bundle(self, path, key=None):
        p = self.env.ctl.run("verify-bundle", path, "--key", key or self.verifier_file)
        p.all = p.out + p.err
        return p


@pytest.fixture
def site(env, consentd):
    return Site(env, consentd)


def assert_error(r, status, code, field=None):
    assert r.status == status, r
    assert r.json["error"]["code"] == code, r
    if field is not None:
        assert r.json["error"]["field"] == field, r


def test_notices_put_get(site):
    env = site.env
    d = site.start()
    address = sha(HTML)
    r = site.put_notice(address, HTML)
    assert r.status == 201, r
    created = r.json
    assert created["content_sha256"] == address and created["seq"] == 1
    (event_id, entry, leaf), = env.sql("SELECT event_id, entry, leaf_hash FROM audit_log WHERE seq = 1")
    assert created["event_id"] == str(event_id) and created["leaf_hash"] == bytes(leaf).hex()
    assert leaf_hash(entry) == bytes(leaf)
    assert HTML in bytes(entry)  # the exact bytes are in the entry
    # Stored before: 200 with the stored entry, nothing appended.
    r = site.put_notice(address, HTML, content_type="text/plain")
    assert r.status == 200 and r.json == created, r
    assert env.count() == 1
    # GET serves the exact bytes with the content type they were stored with.
    r = site.get("/v1/notices/" + address)
    assert r.status == 200 and r.body == HTML, r
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    # Refusals.
    assert_error(site.put_notice(address, HTML + b" "), 422, "digest_mismatch")
    assert_error(site.put_notice(sha(b"x"), b"x", content_type=None), 422, "invalid_value", "Content-Type")
    assert_error(site.put_notice(sha(b""), b""), 422, "missing_field")
    assert_error(site.put_notice("abc", HTML), 422, "invalid_value", "sha256")
    big = b"a" * 70000
    assert_error(site.put_notice(sha(big), big), 413, "body_too_large")
    assert_error(site.put_notice(address, HTML, token=env.read_token), 403, "forbidden")
    r = d.request("PUT", "/v1/notices/" + address, HTML, {"Content-Type": "text/html"})
    assert r.status == 401, r
    assert_error(site.get("/v1/notices/" + sha(b"never stored")), 404, "not_found")
    assert_error(site.get("/v1/notices/xyz"), 422, "invalid_value", "sha256")
    assert_error(site.get("/v1/notices/" + address, token=site.admin), 403, "forbidden")
    assert env.count() == 1


def test_notice_add_cli(site):
    """consentctl appends through the ledger's transaction: the daemon appends after it, and
    the chain, the tree and the checkpoints all verify."""
    env = site.env
    text = b"Privacy policy, version 3.\n"
    path = site.write("policy.txt", text)
    p = env.ctl.check("notice", "add", path)
    first = json.loads(p.out)
    assert first["content_sha256"] == sha(text) and first["seq"] == 1
    assert "stored as seq 1" in p.err
    p = env.ctl.check("notice", "add", path, "--content-type", "text/markdown")
    assert json.loads(p.out) == first and "already stored at seq 1" in p.err
    html = site.write("banner.html", HTML)
    second = json.loads(env.ctl.check("notice", "add", html).out)
    assert second["seq"] == 2
    empty = site.write("empty.txt", b"")
    assert env.ctl.run("notice", "add", empty).returncode == 1
    assert env.ctl.run("notice", "add", os.path.join(env.dir, "missing.txt")).returncode == 2
    site.start()
    r = site.put_notice(sha(text), text)
    assert r.status == 200 and r.json == first, r
    r = site.get("/v1/notices/" + sha(HTML))
    assert r.status == 200 and r.body == HTML and r.header("Content-Type") == "text/html; charset=utf-8"
    assert site.get("/v1/notices/" + sha(text)).header("Content-Type") == "text/plain; charset=utf-8"
    assert site.post(consent_event()) == 3
    site.wait_checkpoint(3)
    p = env.ctl.run("verify", "--key", site.verifier_file)
    assert p.returncode == 0 and p.out.startswith("verify: OK: 3 entries"), p.out + p.err


def alice(at, notice=None, action="accept_all"):
    ev = consent_event(action=action, email="alice@example.com", account_id=None, occurred_at=at,
                       purposes={})
    if notice:
        ev["consent"]["notice"]["content_sha256"] = notice
    return ev


def bob(at):
    return consent_event(action="reject_all", email="bob@example.com", account_id=None,
                         occurred_at=at, purposes={})


@pytest.fixture
def bundle_site(site):
    """Notice A (by the CLI, seq 1); alice's and bob's events in one request (covered by the
    first checkpoint, which the hour-long interval makes the only one while the test runs);
    then notice B and alice's last event referencing it (not covered). Alice's events also
    reference notice C, never stored."""
    env = site.env
    site.notice_a, site.notice_b = b"Banner A\n", b"<p>Banner B</p>\n"
    site.notice_c = sha(b"never stored")
    env.ctl.check("notice", "add", site.write("a.txt", site.notice_a))
    site.start(interval="1h")
    seqs = site.post([alice("2025-03-01T10:00:00Z", sha(site.notice_a)), bob("2025-03-01T11:00:00Z"),
                      alice("2025-03-02T10:00:00Z", site.notice_c, "reject_all"),
                      bob("2025-03-02T11:00:00Z")])
    site.covered_size = env.count()
    site.wait_checkpoint(site.covered_size)
    r = site.put_notice(sha(site.notice_b), site.notice_b)
    assert r.status == 201, r
    last = site.post(alice("2025-03-03T10:00:00Z", sha(site.notice_b)))
    site.alice_seqs = [seqs[0], seqs[2], last]
    site.bob_seqs = [seqs[1], seqs[3]]
    assert site.checkpoint_sizes() == [site.covered_size]
    site.alice = site.subject("alice@example.com")
    return site


def test_bundle_http_cli_and_verify(bundle_site):
    site, env = bundle_site, bundle_site.env
    r = site.get("/v1/subjects/%s/evidence" % site.alice)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json"
    assert "attachment" in r.header("Content-Disposition")
    http_bytes = r.body
    out = os.path.join(env.dir, "alice.json")
    p = env.ctl.check("export", "subject", "--email", "Alice@Example.com", "-o", out)
    assert "3 entries" in p.err and "1 not yet covered" in p.err, p.err
    assert open(out, "rb").read() == http_bytes
    by_subject = env.ctl.check("export", "subject", "--subject", site.alice).stdout
    assert by_subject == http_bytes

    p = site.verify_bundle(out)
    assert p.returncode == 0, p.all
    assert p.out.startswith("verify-bundle: OK: subject %s: 3 entries, 2 proven in the tree of size %d"
                            % (site.alice, site.covered_size)), p.out
    assert "1 not yet covered by it (from seq %d)" % site.alice_seqs[2] in p.out
    assert "2 notices proven, 1 referenced but not stored" in p.out
    p = env.ctl.run("verify-bundle", "-", "--key", site.verifier)  # key text, standard input
    assert p.returncode == 1  # stdin is /dev/null here: not a bundle

    check_contents(site, json.loads(http_bytes))


def check_contents(site, b):
    env = site.env
    assert b["format"] == "consentd-evidence-bundle/1"
    assert b["subject"] == [site.alice]
    cp = b["checkpoint"]
    (note,), = env.sql("SELECT note FROM checkpoint")
    name, key_id, _ = site.verifier.split("+", 2)  # base64 may hold "+" too
    assert (cp["note"], cp["origin"], cp["key_name"], cp["key_id"], cp["tree_size"]) == \
        (note, ORIGIN, name, key_id, site.covered_size)
    root = base64.b64decode(note.splitlines()[2])
    assert base64.b64decode(cp["root"]) == root
    rows = dict((seq, bytes(e)) for seq, e in env.sql("SELECT seq, entry FROM audit_log"))
    assert [e["seq"] for e in b["entries"]] == site.alice_seqs
    items = b["entries"] + b["notices"]
    for item in items:
        entry = base64.b64decode(item["entry"])
        assert entry == rows[item["seq"]]
        assert item["leaf_hash"] == leaf_hash(entry).hex()
        assert item["decoded"]["seq"] == item["seq"]
        if item["seq"] > site.covered_size:
            assert item["proof"] is None
            continue
        pr = item["proof"]
        assert (pr["seq"], pr["tree_size"]) == (item["seq"], site.covered_size)
        assert verify_inclusion(pr["leaf_index"], pr["tree_size"], base64.b64decode(pr["leaf_hash"]),
                                [base64.b64decode(h) for h in pr["hashes"]], root)
    for e in b["entries"]:
        assert site.alice in [p["hmac"] for p in e["decoded"]["event"]["subject"]["pseudonyms"]]
    history = site.get("/v1/subjects/%s/history" % site.alice).json["entries"]
    assert [e["decoded"]["event"] for e in b["entries"]] == [h["event"] for h in history]
    notices = {n["content_sha256"]: n for n in b["notices"]}
    assert list(notices) == [sha(site.notice_a), sha(site.notice_b)]
    assert notices[sha(site.notice_a)]["decoded"]["event"]["notice"]["content"] == "Banner A\n"
    assert notices[sha(site.notice_b)]["proof"] is None
    assert b["notices_missing"] == [site.notice_c]


def test_bundle_rejects_changed_bytes(bundle_site):
    site, env = bundle_site, bundle_site.env
    data = site.get("/v1/subjects/%s/evidence" % site.alice).body
    text = data.decode()
    # Spread over the whole file, plus the places that matter most.
    positions = list(range(0, len(data), max(1, len(data) // 40)))
    positions += [text.index('"note":') + 30, text.index('"entry":"') + 20,
                  text.index('"decoded":') + 40, text.index('"notices_missing":') + 22,
                  text.index('"proof":{') + 60, len(data) - 1]
    for i, pos in enumerate(positions):
        changed = bytearray(data)
        changed[pos] ^= 0x01
        path = site.write("flip%d.json" % i, bytes(changed))
        p = site.verify_bundle(path)
        assert p.returncode == 1 and p.out.startswith("verify-bundle: FAILED: "), (pos, p.all)
    # A changed decoded form is named as such, even when the result is valid JSON.
    changed = text.replace('"action":"reject_all"', '"action":"accept_all"', 1)
    assert changed != text
    p = site.verify_bundle(site.write("decoded.json", changed))
    assert p.returncode == 1 and "the decoded form is not the decoding of its bytes" in p.out, p.all
    # Another key with the same name, a missing key, a missing file.
    other = os.path.join(env.dir, "other.key")
    other_verifier = env.ctl.check("keygen", ORIGIN, "--out", other).out.strip()
    good = site.write("good.json", data)
    p = site.verify_bundle(good, key=other_verifier)
    assert p.returncode == 1 and "no signature by the key" in p.out, p.all
    assert env.ctl.run("verify-bundle", good).returncode == 2
    assert site.verify_bundle(os.path.join(env.dir, "absent.json")).returncode == 2
    assert site.verify_bundle(good).returncode == 0


def test_bundle_errors(site):
    env = site.env
    site.start(signing=False)
    site.post(alice("2025-03-01T10:00:00Z"))
    subject = site.subject("alice@example.com")
    # No checkpoint yet: nothing can be proven.
    r = site.get("/v1/subjects/%s/evidence" % subject)
    assert_error(r, 404, "not_found")
    assert "checkpoint" in r.json["error"]["message"]
    p = env.ctl.run("export", "subject", "--email", "alice@example.com")
    assert p.returncode == 1 and "checkpoint" in p.err, p.err
    assert_error(site.get("/v1/subjects/%s/evidence" % ("0" * 63)), 422, "invalid_value", "subject")
    p = env.ctl.run("export", "subject", "--subject", "0" * 64, "-o", os.path.join(env.dir, "x.json"))
    assert p.returncode == 1 and not os.path.exists(os.path.join(env.dir, "x.json"))
    assert env.ctl.run("export", "subject").returncode == 2
    assert env.ctl.run("export", "report").returncode == 2
