"""POST /v1/events end to end: accepted, duplicate, conflict, batches, every 4xx class, the
outage answer (503), ack after commit, /healthz and /readyz, request ids. Each test checks the
HTTP answer and what is (or is not) in audit_log."""

import copy
import json
import re
import threading
import time

import pytest

from daemon import http_request_early_answer
from events import (SUBJECT_ID_KIND_ACCOUNT_ID, SUBJECT_ID_KIND_EMAIL, ago, consent_event,
                    data_rights_event, decode_ledger_entry, encode_event_batch, leaf_hash,
                    new_id, to_micros)

HEX64 = re.compile(r"[0-9a-f]{64}")


def request_id_of(r):
    rid = r.header("X-Request-Id")
    assert rid and rid.strip(), "answer without X-Request-Id: %r" % r
    return rid


def assert_created(r, ev, seq=None, status=201, duplicate=False):
    """One per-event result: {"event_id","seq","leaf_hash","duplicate"}; returns it."""
    assert r.status == status, r
    request_id_of(r)
    res = r.json
    return assert_result(res, ev, seq, duplicate)


def assert_result(res, ev, seq=None, duplicate=False):
    assert isinstance(res, dict), res
    assert res.get("event_id") == ev["event_id"], res
    assert isinstance(res.get("seq"), int) and res["seq"] >= 1, res
    if seq is not None:
        assert res["seq"] == seq, res
    assert isinstance(res.get("leaf_hash"), str) and HEX64.fullmatch(res["leaf_hash"]), res
    assert res.get("duplicate") is duplicate, res
    return res


def assert_error(r, status, code, field=None, index=None):
    """{"error":{"code","message","field","index"}}. field: expected value, a predicate, or None
    for "not checked"; index: expected batch index, or None meaning absent (single events)."""
    assert r.status == status, r
    request_id_of(r)
    assert isinstance(r.json, dict) and isinstance(r.json.get("error"), dict), r
    err = r.json["error"]
    assert err.get("code") == code, r
    assert isinstance(err.get("message"), str) and err["message"].strip(), r
    if callable(field):
        assert field(err.get("field")), r
    elif field is not None:
        assert err.get("field") == field, r
    assert err.get("index") == index, r
    return err


def test_healthz_readyz_and_request_ids(env, consentd):
    d = consentd()
    r1 = d.request("GET", "/healthz")
    r2 = d.request("GET", "/readyz")
    assert (r1.status, r2.status) == (200, 200)
    # Generated when the caller sends none: non-empty and distinct per request.
    assert request_id_of(r1) != request_id_of(r2)
    # The caller's id is echoed, on success and on errors alike.
    r = d.request("GET", "/healthz", headers={"X-Request-Id": "it-req-0001"})
    assert r.status == 200 and r.header("X-Request-Id") == "it-req-0001"
    r = d.post(consent_event(), token=None, headers={"X-Request-Id": "it-req-0002"})
    assert r.status == 401 and r.header("X-Request-Id") == "it-req-0002"
    ev = consent_event()
    r = d.post(ev, env.token, headers={"X-Request-Id": "it-req-0003"})
    assert_created(r, ev, seq=1)
    assert r.header("X-Request-Id") == "it-req-0003"


def test_accepts_one_consent_event(env, consentd):
    d = consentd()
    ev = consent_event(email="alice@example.com", account_id="acct-7f3e9c21")
    before = time.time()
    r = d.post(ev, env.token, headers={"X-Request-Id": "it-accept-1"})
    after = time.time()
    res = assert_created(r, ev, seq=1)

    (seq, eid, entry, leaf), = env.rows()
    assert (seq, eid) == (1, ev["event_id"])
    assert leaf == leaf_hash(entry), "leaf_hash must be SHA-256(0x00 || entry)"
    assert leaf.hex() == res["leaf_hash"]
    # No identifier in the clear, anywhere in the entry.
    assert b"alice@example.com" not in entry
    assert b"acct-7f3e9c21" not in entry

    e = decode_ledger_entry(entry)
    assert e["seq"] == 1
    assert e["prev_hash"] == bytes(32), "seq 1 links to 32 zero bytes"
    assert e["event"]["event_id"] == ev["event_id"]
    assert e["event"]["occurred_at"] == to_micros(ev["occurred_at"])
    assert e["event"]["has_consent"] and not e["event"]["has_data_rights"]
    assert e["source"]["kind"] == "http"
    assert e["source"]["request_id"] == "it-accept-1"
    subj = e["event"]["subject"]
    assert (subj["account_id"], subj["email"], subj["device_id"]) == ("", "", "")
    kinds = sorted(p["kind"] for p in subj["pseudonyms"])
    assert kinds == [SUBJECT_ID_KIND_ACCOUNT_ID, SUBJECT_ID_KIND_EMAIL]
    assert all(len(p["hmac"]) == 32 for p in subj["pseudonyms"])
    assert before - 5 <= e["received_at"] / 1e6 <= after + 5
    (col,), = env.sql("SELECT (extract(epoch FROM received_at) * 1000000)::bigint FROM audit_log")
    assert abs(col - e["received_at"]) <= 1, "received_at column and entry must agree"


def test_accepts_data_rights_events(env, consentd):
    d = consentd()
    # One request through its lifecycle (the register refuses stages out of order).
    received = data_rights_event(stage="received", request_id="dsr-1", right="access")
    extended = data_rights_event(stage="extended", reason="complex request, art. 12(3)",
                                 request_id="dsr-1", right="access")
    denied = data_rights_event(stage="denied", reason="manifestly unfounded", right="access",
                               request_id="dsr-1")
    for i, ev in enumerate((received, extended, denied), start=1):
        # A media type parameter is still application/json.
        r = d.post(ev, env.token, content_type="application/json; charset=utf-8")
        assert_created(r, ev, seq=i)
    rows = env.rows()
    assert [eid for _, eid, _, _ in rows] == [received["event_id"], extended["event_id"], denied["event_id"]]
    for _, _, entry, _ in rows:
        e = decode_ledger_entry(entry)
        assert e["event"]["has_data_rights"] and not e["event"]["has_consent"]
        assert b"alice@example.com" not in entry


def test_duplicate_returns_original_seq(env, consentd):
    d = consentd()
    a, b = consent_event(), consent_event()
    ra = assert_created(d.post(a, env.token), a, seq=1)
    assert_created(d.post(b, env.token), b, seq=2)
    again = assert_created(d.post(copy.deepcopy(a), env.token), a, seq=1, status=200, duplicate=True)
    assert again["leaf_hash"] == ra["leaf_hash"]
    # Key order in the JSON does not make an event different.
    reordered = json.dumps(dict(reversed(list(a.items()))))
    assert_created(d.post(reordered, env.token), a, seq=1, status=200, duplicate=True)
    assert env.count() == 2


def test_conflicting_event_id_is_409_and_stores_nothing(env, consentd):
    d = consentd()
    a = consent_event()
    assert_created(d.post(a, env.token), a, seq=1)
    before = env.rows()
    changed = copy.deepcopy(a)
    changed["consent"]["purposes"]["analytics"] = True
    assert_error(d.post(changed, env.token), 409, "event_id_conflict")
    assert env.rows() == before
    # The original is still what a re-post matches.
    assert_created(d.post(a, env.token), a, seq=1, status=200, duplicate=True)


def test_batch_commits_in_order_and_reports_duplicates(env, consentd):
    d = consentd()
    evs = [consent_event(), data_rights_event(), consent_event(action="accept_all", purposes={
        "essential": True, "analytics": True, "advertising": True, "functional": True})]
    r = d.post(evs, env.token)
    assert r.status == 201, r
    request_id_of(r)
    results = r.json["results"]
    assert len(results) == 3
    for i, (res, ev) in enumerate(zip(results, evs), start=1):
        assert_result(res, ev, seq=i)
    rows = env.rows()
    assert [(s, e) for s, e, _, _ in rows] == [(i, ev["event_id"]) for i, ev in enumerate(evs, start=1)]
    assert [res["leaf_hash"] for res in results] == [leaf.hex() for _, _, _, leaf in rows]

    # Mixed: one already stored, one new -> 201, the old one reported as duplicate.
    new = consent_event()
    r = d.post([evs[0], new], env.token)
    assert r.status == 201, r
    assert_result(r.json["results"][0], evs[0], seq=1, duplicate=True)
    assert_result(r.json["results"][1], new, seq=4)

    # All already stored -> 200.
    r = d.post([evs[1], evs[2]], env.token)
    assert r.status == 200, r
    assert_result(r.json["results"][0], evs[1], seq=2, duplicate=True)
    assert_result(r.json["results"][1], evs[2], seq=3, duplicate=True)
    assert env.count() == 4


def test_batch_with_an_invalid_element_stores_nothing(env, consentd):
    d = consentd()
    bad = consent_event()
    del bad["subject"]
    # field is the path inside the element; index says which element.
    assert_error(d.post([consent_event(), consent_event(), bad, consent_event()], env.token),
                 422, "missing_field", field="subject", index=2)
    assert_error(d.post([consent_event(), 5], env.token), 400, "wrong_type", index=1)
    assert env.count() == 0
    ok = consent_event()
    assert_created(d.post(ok, env.token), ok, seq=1)


def test_batch_with_a_conflicting_element_stores_nothing(env, consentd):
    d = consentd()
    a = consent_event()
    assert_created(d.post(a, env.token), a, seq=1)
    changed = copy.deepcopy(a)
    changed["subject"]["account_id"] = "u_999"
    n1, n2 = consent_event(), consent_event()
    assert_error(d.post([n1, changed, n2], env.token), 409, "event_id_conflict", index=1)
    assert [eid for _, eid, _, _ in env.rows()] == [a["event_id"]]
    # The chain goes on from seq 2: the refused batch left no hole.
    assert_created(d.post(n1, env.token), n1, seq=2)


def test_batch_larger_than_max_batch_is_refused(env, consentd):
    d = consentd(overrides={"http": {"max_batch": "3"}})
    r = d.post([consent_event() for _ in range(4)], env.token)
    # The Foundation fixes no status for this case beyond "a 4xx that stores nothing".
    assert r.status in (413, 422), r
    assert isinstance(r.json, dict) and isinstance(r.json.get("error"), dict), r
    assert env.count() == 0
    three = [consent_event() for _ in range(3)]
    r = d.post(three, env.token)
    assert r.status == 201, r
    assert [res["seq"] for res in r.json["results"]] == [1, 2, 3]


@pytest.mark.parametrize("body", [b"{not json", b'{"event_id": "x",', b"", b"\xff\xfe garbage"],
                         ids=["bad-syntax", "truncated", "empty", "binary"])
def test_malformed_json_is_400(env, consentd, body):
    d = consentd()
    assert_error(d.post(body, env.token), 400, "malformed_json")
    assert env.count() == 0


def _wrong_types():
    def event_id_number(ev):
        ev["event_id"] = 12345

    def purposes_array(ev):
        ev["consent"]["purposes"] = ["essential"]

    def granted_string(ev):
        ev["consent"]["purposes"]["analytics"] = "no"

    def subject_string(ev):
        ev["subject"] = "alice@example.com"

    return [
        ("top-level-number", lambda ev: 42, None),
        ("top-level-string", lambda ev: "event", None),
        ("event_id-number", event_id_number, "event_id"),
        ("purposes-array", purposes_array, "consent.purposes"),
        ("granted-string", granted_string, "consent.purposes.analytics"),
        ("subject-string", subject_string, "subject"),
    ]


@pytest.mark.parametrize("name,mutate,field", _wrong_types(), ids=[c[0] for c in _wrong_types()])
def test_wrong_json_type_is_400(env, consentd, name, mutate, field):
    d = consentd()
    ev = consent_event()
    out = mutate(ev)
    body = json.dumps(ev if out is None else out).encode()
    assert_error(d.post(body, env.token), 400, "wrong_type", field=field)
    assert env.count() == 0


def test_missing_or_unknown_token_is_401(env, consentd):
    d = consentd()
    ev = consent_event()
    assert_error(d.post(ev, token=None), 401, "unauthorized")
    assert_error(d.post(ev, token="not-a-token-" + new_id()), 401, "unauthorized")
    assert_error(d.post(ev, token=""), 401, "unauthorized")
    assert_error(d.post(ev, headers={"Authorization": "Basic " + env.token}), 401, "unauthorized")
    # An almost-right token is still unknown.
    assert_error(d.post(ev, token=env.token[:-1] + ("A" if env.token[-1] != "A" else "B")),
                 401, "unauthorized")
    assert env.count() == 0
    # The tokens file keeps digests, never the token itself.
    with open(env.tokens_file, "rb") as f:
        assert env.token.encode() not in f.read()
    assert_created(d.post(ev, env.token), ev, seq=1)


def test_token_without_ingest_scope_is_403(env, consentd):
    d = consentd()
    assert_error(d.post(consent_event(), env.read_token), 403, "forbidden")
    assert env.count() == 0


def test_body_over_max_body_is_413(env, consentd):
    d = consentd(overrides={"http": {"max_body": "4096"}})
    body = json.dumps([consent_event() for _ in range(30)]).encode()
    assert len(body) > 4096
    r = http_request_early_answer(d.port, "POST", "/v1/events", body, {
        "Authorization": "Bearer " + env.token, "Content-Type": "application/json"})
    # libevent may answer an over-long Content-Length itself (evhttp's max body size) with its
    # own HTML page and no X-Request-Id: the status is the contract, the JSON shape only when
    # the daemon wrote the answer.
    assert r.status == 413, r
    if r.json is not None:
        assert r.json["error"]["code"] == "body_too_large", r
    assert env.count() == 0
    # The daemon goes on serving.
    ev = consent_event()
    assert_created(d.post(ev, env.token), ev, seq=1)


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_unsupported_content_type_is_415(env, consentd, ctype):
    d = consentd()
    body = json.dumps(consent_event())
    assert_error(d.post(body, env.token, content_type=ctype), 415, "unsupported_media_type")
    assert env.count() == 0


def _invalid_events():
    """(id, mutate(ev) -> event, code, field). Each starts from a valid consent or data-rights
    event and breaks one rule."""
    def without(key):
        def f(ev):
            del ev[key]
            return ev
        return f

    def purposes(**p):
        def f(ev):
            ev["consent"]["purposes"].update(p)
            return ev
        return f

    def action(a, **p):
        def f(ev):
            ev["consent"]["action"] = a
            ev["consent"]["purposes"].update(p)
            return ev
        return f

    def consent_key(k, v):
        def f(ev):
            ev["consent"][k] = v
            return ev
        return f

    def no_policy(ev):
        del ev["consent"]["notice"]["policy_version"]
        return ev

    def rights(**kw):
        def f(_):
            return data_rights_event(**kw)
        return f

    def extra(path, value):
        def f(ev):
            obj = ev
            for k in path[:-1]:
                obj = obj[k]
            obj[path[-1]] = value
            return ev
        return f

    def consent_path(v):
        return isinstance(v, str) and v.startswith("consent")

    return [
        ("no-event_id", without("event_id"), "missing_field", "event_id"),
        ("no-subject", without("subject"), "missing_field", "subject"),
        ("no-policy_version", no_policy, "missing_field", "consent.notice.policy_version"),
        ("unknown-purpose", purposes(telepathy=True), "unknown_purpose", "consent.purposes.telepathy"),
        ("essential-denied", purposes(essential=False), "essential_denied", "consent.purposes.essential"),
        ("accept_all-with-denied", action("accept_all", essential=True, analytics=True,
                                          advertising=False, functional=True),
         "inconsistent_decision", consent_path),
        ("reject_all-with-granted", action("reject_all", essential=True, analytics=True,
                                           advertising=False, functional=False),
         "inconsistent_decision", consent_path),
        ("action-maybe", consent_key("action", "maybe"), "invalid_value", "consent.action"),
        ("surface-billboard", consent_key("surface", "billboard"), "invalid_value", "consent.surface"),
        ("right-unknown", rights(right="teleportation"), "invalid_value", "data_rights.right"),
        ("stage-unknown", rights(stage="pondering"), "invalid_value", "data_rights.stage"),
        ("extended-without-reason", rights(stage="extended"), "reason_required", "data_rights.reason"),
        ("denied-without-reason", rights(stage="denied"), "reason_required", "data_rights.reason"),
        ("unknown-top-field", extra(["colour"], "blue"), "unknown_field", "colour"),
        ("unknown-subject-field", extra(["subject", "ssn"], "078-05-1120"), "unknown_field", "subject.ssn"),
        ("unknown-notice-field", extra(["consent", "notice", "font"], "serif"), "unknown_field",
         "consent.notice.font"),
        ("occurred_at-future", extra(["occurred_at"], ago(-3600)), "occurred_at_in_future", "occurred_at"),
    ]


@pytest.mark.parametrize("name,mutate,code,field", _invalid_events(), ids=[c[0] for c in _invalid_events()])
def test_invalid_event_is_422(env, consentd, name, mutate, code, field):
    d = consentd()
    ev = mutate(consent_event())
    assert_error(d.post(ev, env.token), 422, code, field=field)
    # The same rule holds inside a batch, with the element's index.
    assert_error(d.post([consent_event(), ev], env.token), 422, code, field=field, index=1)
    assert env.count() == 0


def test_consistent_decisions_are_accepted(env, consentd):
    d = consentd()
    accept_all = consent_event(action="accept_all", purposes={
        "essential": True, "analytics": True, "advertising": True, "functional": True})
    reject_all = consent_event(action="reject_all", purposes={
        "essential": True, "analytics": False, "advertising": False, "functional": False})
    assert_created(d.post(accept_all, env.token), accept_all, seq=1)
    assert_created(d.post(reject_all, env.token), reject_all, seq=2)


def test_future_skew_limit(env, consentd):
    d = consentd()  # default ledger.max_future_skew: 5 minutes
    near = consent_event(occurred_at=ago(-60))
    assert_created(d.post(near, env.token), near, seq=1)
    far = consent_event(occurred_at=ago(-600))
    assert_error(d.post(far, env.token), 422, "occurred_at_in_future", field="occurred_at")

    strict = consentd(overrides={"ledger": {"max_future_skew": "10s"}})
    assert_error(strict.post(consent_event(occurred_at=ago(-120)), env.token), 422,
                 "occurred_at_in_future", field="occurred_at")
    assert env.count() == 1


def test_protobuf_event_batch(env, consentd):
    d = consentd()
    evs = [consent_event(), consent_event(action="reject_all", purposes={
        "essential": True, "analytics": False, "advertising": False, "functional": False})]
    r = d.post(encode_event_batch(evs), env.token, content_type="application/x-protobuf")
    assert r.status == 201, r
    results = r.json["results"]
    assert [assert_result(res, ev)["seq"] for res, ev in zip(results, evs)] == [1, 2]
    # The same events sent as JSON are the same events: duplicates, original seqs.
    assert_created(d.post(evs[0], env.token), evs[0], seq=1, status=200, duplicate=True)
    assert_created(d.post(evs[1], env.token), evs[1], seq=2, status=200, duplicate=True)
    r = d.post(b"\xff\xff\xff\xff", env.token, content_type="application/x-protobuf")
    assert r.status == 400, r
    assert env.count() == 2


def test_ack_only_after_commit(env, consentd):
    d = consentd(overrides={"http": {"request_timeout": "30s"}})
    first = consent_event()
    assert_created(d.post(first, env.token), first, seq=1)

    ev = consent_event()
    answer = {}
    blocker = env.connect(autocommit=False)
    thread = threading.Thread(target=lambda: answer.update(r=d.post(ev, env.token, timeout=60)))
    try:
        with blocker.cursor() as cur:
            # The chain head every writer locks before it appends.
            cur.execute("SELECT * FROM ledger_head WHERE id = 1 FOR UPDATE")
            thread.start()
            thread.join(1.5)
            assert thread.is_alive(), "answered while the chain head was locked: %r" % answer.get("r")
            assert env.sql("SELECT count(*) FROM audit_log WHERE event_id = %s",
                           (ev["event_id"],)) == [(0,)]
        blocker.commit()
        thread.join(20)
        assert not thread.is_alive(), "no answer within 20 s of the lock being released"
    finally:
        blocker.close()
        if thread.is_alive():
            thread.join(60)
    assert_created(answer["r"], ev, seq=2)
    assert env.sql("SELECT seq FROM audit_log WHERE event_id = %s", (ev["event_id"],)) == [(2,)]


def test_database_outage_is_503_and_recovers(env, consentd, pg_cluster):
    request_timeout = 3
    d = consentd(overrides={"http": {"request_timeout": "%ds" % request_timeout},
                            "postgres": {"connect_timeout": "2s"}})
    first = consent_event()
    assert_created(d.post(first, env.token), first, seq=1)

    ev = consent_event()
    with d.errors_expected():
        pg_cluster.stop("fast")
        try:
            t0 = time.monotonic()
            r = d.post(ev, env.token, timeout=request_timeout + 30)
            elapsed = time.monotonic() - t0
            assert_error(r, 503, "database_unavailable")
            assert elapsed <= request_timeout + 10, "503 took %.1f s" % elapsed
            retry_after = r.header("Retry-After")
            assert retry_after and retry_after.strip().isdigit(), r.headers
            deadline = time.monotonic() + 15
            ready = d.request("GET", "/readyz")
            while ready.status != 503 and time.monotonic() < deadline:
                time.sleep(0.2)
                ready = d.request("GET", "/readyz")
            assert ready.status == 503, ready
            assert d.request("GET", "/healthz").status == 200
        finally:
            pg_cluster.start()

        # The daemon reconnects by itself; retrying the refused event is safe.
        deadline = time.monotonic() + 30
        r = d.post(ev, env.token)
        while r.status == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
            r = d.post(ev, env.token)
        assert r.status in (200, 201), r
        assert_created(r, ev, seq=2, status=r.status, duplicate=(r.status == 200))
        deadline = time.monotonic() + 15
        while d.request("GET", "/readyz").status != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert d.request("GET", "/readyz").status == 200
    last = consent_event()
    assert_created(d.post(last, env.token), last, seq=3)
    assert [s for s, _, _, _ in env.rows()] == [1, 2, 3]
