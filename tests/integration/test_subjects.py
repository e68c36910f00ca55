"""Subjects end to end: POST /v1/subjects/lookup (pseudonyms under every key, errors naming the
field), GET /v1/subjects/{subject}/history and /consent?at=T against events with known seqs
(before the first event, between changes, after a withdrawal, ties broken by seq, events posted
out of order), pseudonyms of other key versions through ?also=, and the same through
`consentctl subject history|consent`."""

import hashlib
import hmac
import json
import os
import urllib.parse

import pytest

from events import consent_event

PURPOSES = ("essential", "analytics", "advertising", "functional")


def read_key(path):
    """{version: key bytes} of a subject key file."""
    keys = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        version, hexkey = (1, parts[0]) if len(parts) == 1 else (int(parts[0]), parts[1])
        keys[version] = bytes.fromhex(hexkey)
    return keys


def pseudonym(key, kind, value):
    return hmac.new(key, ("%s:%s" % (kind, value)).encode(), hashlib.sha256).hexdigest()


class Api:
    def __init__(self, env, d):
        self.env, self.d = env, d

    def get(self, path, token=None):
        return self.d.request("GET", path, headers={"Authorization": "Bearer " + (token or self.env.read_token)})

    def lookup(self, body, token=None, raw=False):
        h = {"Authorization": "Bearer " + (token or self.env.read_token), "Content-Type": "application/json"}
        return self.d.request("POST", "/v1/subjects/lookup", body if raw else json.dumps(body), h)

    def post(self, ev):
        r = self.d.post(ev, self.env.token)
        assert r.status == 201, r
        return r.json["seq"]

    def subject(self, email):
        r = self.lookup({"email": email})
        assert r.status == 200, r
        return r.json["subject"]

    def consent(self, subject, at=None, extra=""):
        q = "" if at is None else "?at=" + urllib.parse.quote(at, safe="")
        r = self.get("/v1/subjects/%s/consent%s%s" % (subject, q, extra))
        assert r.status == 200, r
        return r.json


def assert_error(r, status, code, field=None):
    assert r.status == status, r
    err = r.json["error"]
    assert err["code"] == code, r
    if field is not None:
        assert err["field"] == field, r
    return err


@pytest.fixture
def api(env, consentd):
    return Api(env, consentd())


def test_lookup(env, consentd):
    ingest_only = env.ctl.token_add("ingester", "ingest")  # tokens are read at start
    api = Api(env, consentd())
    key = read_key(env.key_file)[1]
    want = pseudonym(key, "email", "alice@example.com")
    r = api.lookup({"email": "  Alice@Example.COM "})
    assert r.status == 200, r
    assert r.json == {"subject": want, "kind": "email", "key_version": 1,
                      "pseudonyms": [{"key_version": 1, "hmac": want}]}
    r = api.lookup({"account_id": "u_1"})
    assert r.json["subject"] == pseudonym(key, "account_id", "u_1") and r.json["kind"] == "account_id"
    r = api.lookup({"device_id": "d-9"})
    assert r.json["subject"] == pseudonym(key, "device_id", "d-9")
    # Errors name the field.
    assert_error(api.lookup({"email": "a@x", "account_id": "u"}), 422, "invalid_value")
    assert_error(api.lookup({}), 422, "missing_field", "")
    assert_error(api.lookup({"phone": "1"}), 422, "unknown_field", "phone")
    assert_error(api.lookup({"email": 5}), 400, "wrong_type", "email")
    assert_error(api.lookup({"email": "   "}), 422, "invalid_value", "email")
    assert_error(api.lookup("not json", raw=True), 400, "malformed_json")
    assert_error(api.lookup("[1]", raw=True), 400, "wrong_type")
    # Scopes: read is needed; identifiers never go in the URL, so GET is not allowed.
    assert_error(api.lookup({"email": "a@x"}, token=ingest_only), 403, "forbidden")
    r = api.d.request("POST", "/v1/subjects/lookup", "{}", {"Content-Type": "application/json"})
    assert r.status == 401, r
    assert_error(api.get("/v1/subjects/lookup"), 405, "method_not_allowed")


def alice(action, at, purposes=None):
    ev = consent_event(action=action, email="alice@example.com", account_id=None, occurred_at=at,
                       purposes=purposes)
    if purposes is None:
        del ev["consent"]["purposes"]
    return ev


def states(answer):
    """{purpose: (granted, seq)} of a consent answer."""
    return {p: (s["granted"], s["seq"]) for p, s in answer["purposes"].items()}


def test_history_and_consent_at(api, env):
    s = {}
    s[1] = api.post(alice("customize", "2025-03-01T10:00:00Z",
                          {"essential": True, "analytics": False, "advertising": False, "functional": True}))
    bob_seq = api.post(consent_event(action="accept_all", email="bob@example.com", account_id=None,
                                     occurred_at="2025-03-01T11:00:00Z", purposes={}))
    s[2] = api.post(alice("accept_all", "2025-03-02T10:00:00Z"))
    s[3] = api.post(alice("withdraw", "2025-03-03T10:00:00Z"))
    # Posted later, occurred between accept_all and withdraw: it counts by occurred_at.
    s[4] = api.post(alice("customize", "2025-03-02T12:00:00Z",
                          {"analytics": True, "advertising": False, "functional": False}))
    # Same occurred_at as the withdrawal, higher seq: it wins for the purposes it names.
    s[5] = api.post(alice("customize", "2025-03-03T10:00:00Z", {"analytics": True}))
    subject = api.subject("alice@example.com")

    r = api.get("/v1/subjects/%s/history" % subject)
    assert r.status == 200, r
    assert r.json["subject"] == subject
    entries = r.json["entries"]
    assert [e["seq"] for e in entries] == [s[1], s[2], s[3], s[4], s[5]]
    stored = dict((seq, bytes(h).hex()) for seq, h in env.sql("SELECT seq, leaf_hash FROM audit_log"))
    for e in entries:
        assert e["leaf_hash"] == stored[e["seq"]]
        assert e["source"]["kind"] == "http" and e["received_at"].endswith("Z")
        assert subject in [p["hmac"] for p in e["event"]["subject"]["pseudonyms"]]
        assert "email" not in e["event"]["subject"]
    assert entries[3]["event"]["occurred_at"] == "2025-03-02T12:00:00Z"
    assert bob_seq not in [e["seq"] for e in entries]

    unset = {p: (None, None) for p in PURPOSES}
    assert states(api.consent(subject, "2025-02-28T23:59:59Z")) == unset
    at_t1 = api.consent(subject, "2025-03-01T10:00:00Z")  # inclusive
    assert at_t1["at"] == "2025-03-01T10:00:00Z" and at_t1["subject"] == subject
    assert states(at_t1) == {"essential": (True, s[1]), "analytics": (False, s[1]),
                             "advertising": (False, s[1]), "functional": (True, s[1])}
    assert at_t1["purposes"]["analytics"]["occurred_at"] == "2025-03-01T10:00:00Z"
    assert states(api.consent(subject, "2025-03-02T11:00:00Z")) == {p: (True, s[2]) for p in PURPOSES}
    # 12:00+01:00 is 11:00Z; '+' sent encoded, or raw (decoded to a space by form rules)
    assert states(api.consent(subject, "2025-03-02T12:00:00+01:00")) == {p: (True, s[2]) for p in PURPOSES}
    raw = api.get("/v1/subjects/%s/consent?at=2025-03-02T12:00:00+01:00" % subject)
    assert raw.status == 200 and states(raw.json) == {p: (True, s[2]) for p in PURPOSES}
    between = {"essential": (True, s[4]), "analytics": (True, s[4]), "advertising": (False, s[4]),
               "functional": (False, s[4])}
    assert states(api.consent(subject, "2025-03-02T13:00:00Z")) == between
    after = {"essential": (True, s[5]), "analytics": (True, s[5]), "advertising": (False, s[3]),
             "functional": (False, s[3])}
    assert states(api.consent(subject, "2025-03-03T10:00:00Z")) == after
    assert states(api.consent(subject)) == after  # without at: now

    # The CLI gives the same answers.
    p = env.ctl.check("subject", "consent", "--email", "Alice@example.com", "--at", "2025-03-02T13:00:00Z")
    assert states(json.loads(p.out)) == between
    p = env.ctl.check("subject", "consent", "--subject", subject)
    assert states(json.loads(p.out)) == after
    p = env.ctl.check("subject", "history", "--email", "alice@example.com")
    lines = [json.loads(l) for l in p.out.splitlines()]
    assert lines == entries


def test_subject_errors(api, env):
    api.post(alice("accept_all", "2025-03-02T10:00:00Z"))
    subject = api.subject("alice@example.com")
    nobody = api.subject("nobody@example.com")
    for bad in ("abc", subject[:63], subject + "0", "g" * 64):
        assert_error(api.get("/v1/subjects/%s/history" % bad), 422, "invalid_value", "subject")
    assert_error(api.get("/v1/subjects/%s/consent?at=yesterday" % subject), 422, "invalid_value", "at")
    assert_error(api.get("/v1/subjects/%s/history?at=2025-01-01T00:00:00Z" % subject), 422,
                 "unknown_field", "at")
    assert_error(api.get("/v1/subjects/%s/history?also=12" % subject), 422, "invalid_value", "also")
    assert_error(api.get("/v1/subjects/%s/whatever" % subject), 404, "not_found")
    assert_error(api.get("/v1/subjects/%s" % subject), 404, "not_found")
    # A subject nothing is stored about: its history is empty; consent and evidence are 404.
    r = api.get("/v1/subjects/%s/history" % nobody)
    assert r.status == 200 and r.json == {"subject": nobody, "entries": []}, r
    assert_error(api.get("/v1/subjects/%s/consent" % nobody), 404, "not_found")
    assert_error(api.get("/v1/subjects/%s/evidence" % nobody), 404, "not_found")
    # Scope read, token required.
    r = api.d.request("GET", "/v1/subjects/%s/history" % subject)
    assert r.status == 401
    p = env.ctl.run("subject", "consent", "--email", "nobody@example.com")
    assert p.returncode == 1, p.err
    p = env.ctl.run("subject", "consent", "--email", "a@x", "--subject", subject)
    assert p.returncode == 2, p.err
    p = env.ctl.run("subject", "history", "--subject", "xyz")
    assert p.returncode == 2, p.err


def test_key_rotation_pseudonyms(env, consentd):
    """After a new key version, lookup names the pseudonym under each; the per-subject endpoints
    take any of them, and ?also= joins the entries stored under the others."""
    d1 = consentd()
    api = Api(env, d1)
    old_seq = api.post(alice("accept_all", "2025-03-01T10:00:00Z"))
    old = api.subject("alice@example.com")
    assert d1.stop() is None
    d1.exit_reported = True
    old_key = read_key(env.key_file)[1]
    new_key = os.urandom(32)
    with open(env.key_file, "w") as f:
        f.write("1 %s\n2 %s\n" % (old_key.hex(), new_key.hex()))
    api = Api(env, consentd())
    new_seq = api.post(alice("withdraw", "2025-03-02T10:00:00Z"))
    r = api.lookup({"email": "alice@example.com"})
    new = pseudonym(new_key, "email", "alice@example.com")
    assert r.json["subject"] == new and r.json["key_version"] == 2
    assert r.json["pseudonyms"] == [{"key_version": 1, "hmac": old}, {"key_version": 2, "hmac": new}]
    seqs = lambda path: [e["seq"] for e in api.get(path).json["entries"]]  # noqa: E731
    assert seqs("/v1/subjects/%s/history" % new) == [new_seq]
    assert seqs("/v1/subjects/%s/history" % old) == [old_seq]
    assert seqs("/v1/subjects/%s/history?also=%s" % (new, old)) == [old_seq, new_seq]
    both = api.consent(new, "2025-03-01T12:00:00Z", extra="&also=" + old)
    assert states(both)["analytics"] == (True, old_seq)
    # The CLI tries every key version of an identifier.
    p = env.ctl.check("subject", "history", "--email", "alice@example.com")
    assert [json.loads(l)["seq"] for l in p.out.splitlines()] == [old_seq, new_seq]
