"""The ledger in PostgreSQL: one gapless, linked chain (also with two daemons writing at once),
pseudonymised subjects, append-only for the daemon's role, and `consentctl verify` on an intact
and on a tampered ledger."""

import re
import threading

import psycopg2
import pytest

from events import (SUBJECT_ID_KIND_EMAIL, consent_event, data_rights_event, decode_ledger_entry,
                    leaf_hash)

APP_ROLE = "consentd_app"  # the daemon's login role, made by the env fixture


def post_ok(d, token, payload):
    r = d.post(payload, token)
    assert r.status == 201, r
    return r.json


def fill(env, d, n=5):
    """n events, single and batched; returns their event_ids in seq order."""
    evs = [consent_event() if i % 3 else data_rights_event() for i in range(n)]
    post_ok(d, env.token, evs[0])
    if n > 1:
        post_ok(d, env.token, evs[1:n - 1])
        post_ok(d, env.token, evs[n - 1])
    return [ev["event_id"] for ev in evs]


def check_chain(env, expected_count=None):
    """Every row: seq gapless from 1, leaf_hash = SHA-256(0x00 || entry), the entry names its
    own seq and event_id and carries the previous leaf_hash; ledger_head is the last row."""
    rows = env.rows()
    if expected_count is not None:
        assert len(rows) == expected_count
    prev = bytes(32)
    for i, (seq, eid, entry, leaf) in enumerate(rows, start=1):
        assert seq == i, "seq not gapless at row %d: %d" % (i, seq)
        assert leaf == leaf_hash(entry), "seq %d: leaf_hash is not SHA-256(0x00 || entry)" % seq
        e = decode_ledger_entry(entry)
        assert e["seq"] == seq, "seq %d: entry says seq %d" % (seq, e["seq"])
        assert e["event"]["event_id"] == eid
        assert e["prev_hash"] == prev, "seq %d: prev_hash is not the leaf_hash of seq %d" % (seq, seq - 1)
        prev = leaf
    (head_seq, head_leaf), = env.sql("SELECT seq, leaf_hash FROM ledger_head WHERE id = 1")
    assert head_seq == len(rows)
    assert bytes(head_leaf) == prev
    return rows


def verify(env, *args):
    p = env.ctl.run("verify", *args)
    p.all = p.out + p.err
    return p


def test_chain_is_gapless_and_linked(env, consentd):
    d = consentd()
    ids = fill(env, d, 7)
    rows = check_chain(env, 7)
    assert [eid for _, eid, _, _ in rows] == ids


def test_subject_identifiers_are_pseudonymised(env, consentd):
    d = consentd()
    evs = [consent_event(email="alice@example.com", account_id="acct-1111-aaaa"),
           consent_event(email="  Alice@Example.COM ", account_id="acct-2222-bbbb"),
           consent_event(email="bob@example.com", account_id="acct-3333-cccc")]
    for ev in evs:
        post_ok(d, env.token, ev)
    emails = []
    for _, _, entry, _ in env.rows():
        for clear in (b"alice@example.com", b"Alice@Example.COM", b"bob@example.com", b"acct-"):
            assert clear not in entry, "%r stored in the clear" % clear
        ps = decode_ledger_entry(entry)["event"]["subject"]["pseudonyms"]
        (email,) = [p["hmac"] for p in ps if p["kind"] == SUBJECT_ID_KIND_EMAIL]
        assert len(email) == 32
        emails.append(email)
    # Emails are trimmed and lower-cased before they are keyed: same person, same pseudonym.
    assert emails[0] == emails[1]
    assert emails[0] != emails[2]


def test_verify_intact_ledger(env, consentd):
    p = verify(env)
    assert p.returncode == 0, p.all  # an empty ledger is intact
    d = consentd()
    fill(env, d, 5)
    for args in ((), ("--conninfo", env.super_conninfo())):
        p = verify(env, *args)
        assert p.returncode == 0, p.all
        lines = [l for l in p.out.splitlines() if l.strip()]
        assert len(lines) == 1, "verify must print a one-line summary: %r" % p.out
        assert re.search(r"\b5\b", lines[0]), "the summary should count the 5 entries: %r" % lines[0]


def _tamper(conn, statements):
    with conn.cursor() as cur:
        # Bypass the append-only triggers, as a superuser with bad intentions could.
        cur.execute("SET session_replication_role = replica")
        for stmt, params in statements:
            cur.execute(stmt, params)


def _change_text(env, seq, relink):
    (entry,), = env.sql("SELECT entry FROM audit_log WHERE seq = %s", (seq,))
    entry = bytes(entry)
    assert entry.count(b"2026-11-01") == 1
    forged = entry.replace(b"2026-11-01", b"2026-11-09")
    stmts = [("UPDATE audit_log SET entry = %s WHERE seq = %s", (forged, seq))]
    if relink:
        stmts.append(("UPDATE audit_log SET leaf_hash = %s WHERE seq = %s", (leaf_hash(forged), seq)))
    return stmts


TAMPERING = {
    # (statements(env), first bad seq, problem named by verify)
    # Every bit of the tenth byte inverted (setting it to 0xff left it unchanged when it was
    # 0xff already: one run in 256, in the previous entry's hash that byte lies in).
    "byte-flipped": (lambda env: [(
        "UPDATE audit_log SET entry = set_byte(entry, 9, get_byte(entry, 9) # 255) WHERE seq = 3",
        None)], 3, "hash_mismatch"),
    "text-changed": (lambda env: _change_text(env, 3, relink=False), 3, "hash_mismatch"),
    # The entry and its leaf_hash rewritten together: the next entry's link no longer matches.
    "relinked": (lambda env: _change_text(env, 3, relink=True), 4, "broken_link"),
    "row-deleted": (lambda env: [("DELETE FROM audit_log WHERE seq = 3", None)], 3, "gap"),
    "rows-swapped": (lambda env: [
        ("UPDATE audit_log SET seq = 1000002 WHERE seq = 2", None),
        ("UPDATE audit_log SET seq = 2 WHERE seq = 4", None),
        ("UPDATE audit_log SET seq = 4 WHERE seq = 1000002", None)], 2, "seq_mismatch"),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_verify_detects_tampering(env, consentd, how):
    statements, bad_seq, problem = TAMPERING[how]
    d = consentd()
    fill(env, d, 5)
    p = verify(env)
    assert p.returncode == 0, p.all
    conn = env.connect()
    try:
        _tamper(conn, statements(env))
    finally:
        conn.close()
    for args in ((), ("--conninfo", env.super_conninfo())):
        p = verify(env, *args)
        assert p.returncode == 1, p.all
        assert re.search(r"\bseq %d\b" % bad_seq, p.all), "must name seq %d: %r" % (bad_seq, p.all)
        assert problem in p.all, "must name the problem %s: %r" % (problem, p.all)


def test_verify_usage_and_connection_errors(env):
    p = verify(env, "--no-such-option")
    assert p.returncode == 2, p.all
    p = verify(env, "--conninfo", "host=%s/nonexistent port=1 dbname=x user=y connect_timeout=3"
               % env.dir)
    assert p.returncode == 2, p.all
    p = verify(env, "--conninfo", "host=127.0.0.1 port=1 dbname=x user=y connect_timeout=3")
    assert p.returncode == 2, p.all


def test_ledger_is_append_only(env, consentd):
    d = consentd()
    fill(env, d, 3)
    for priv, allowed in (("SELECT", True), ("INSERT", True), ("UPDATE", False), ("DELETE", False),
                          ("TRUNCATE", False)):
        assert env.sql("SELECT has_table_privilege(%s, 'audit_log', %s)", (APP_ROLE, priv)) == [(allowed,)], \
            "%s on audit_log for %s" % (priv, APP_ROLE)
    attempts = ["UPDATE audit_log SET received_at = now() WHERE seq = 2",
                "UPDATE audit_log SET entry = '\\x00'::bytea",
                "DELETE FROM audit_log WHERE seq = 3",
                "DELETE FROM audit_log",
                "TRUNCATE audit_log"]
    # As the daemon's role, and as the superuser while the triggers are on.
    for user in (APP_ROLE, "postgres"):
        for stmt in attempts:
            with pytest.raises(psycopg2.Error):
                env.sql(stmt, user=user)
    check_chain(env, 3)
    assert verify(env).returncode == 0


def test_two_daemons_write_one_chain(env, consentd):
    d1 = consentd()
    d2 = consentd()
    per_thread = 100
    results = {}
    errors = []

    def writer(d, tag):
        try:
            mine = []
            for i in range(50):
                ev = consent_event()
                r = d.post(ev, env.token)
                assert r.status == 201, r
                mine.append((ev, r.json))
            for i in range(5):
                evs = [consent_event() for _ in range(10)]
                r = d.post(evs, env.token)
                assert r.status == 201, r
                mine.extend(zip(evs, r.json["results"]))
            assert len(mine) == per_thread
            results[tag] = mine
        except BaseException as e:  # reported by the main thread
            errors.append("%s: %r" % (tag, e))

    threads = [threading.Thread(target=writer, args=(d, "%s-%d" % (d.name, i)))
               for d in (d1, d2) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "writers still running after 300 s"
    assert not errors, errors

    answered = {}
    for mine in results.values():
        for ev, res in mine:
            assert res["event_id"] == ev["event_id"] and res["duplicate"] is False, res
            answered[ev["event_id"]] = res
    assert len(answered) == 400
    assert sorted(res["seq"] for res in answered.values()) == list(range(1, 401))

    rows = check_chain(env, 400)
    for seq, eid, _, leaf in rows:
        assert answered[eid]["seq"] == seq
        assert answered[eid]["leaf_hash"] == leaf.hex()

    # The same events sent to both daemons at once: stored once, one 201 and one duplicate 200,
    # both naming the same seq.
    evs = [consent_event() for _ in range(20)]
    answers = {d1.name: [], d2.name: []}

    def racer(d):
        try:
            for ev in evs:
                answers[d.name].append(d.post(ev, env.token))
        except BaseException as e:
            errors.append("%s: %r" % (d.name, e))

    threads = [threading.Thread(target=racer, args=(d,)) for d in (d1, d2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for ev, r1, r2 in zip(evs, answers[d1.name], answers[d2.name]):
        assert sorted((r1.status, r2.status)) == [200, 201], (r1, r2)
        assert r1.json["seq"] == r2.json["seq"], (r1, r2)
        assert sorted((r1.json["duplicate"], r2.json["duplicate"])) == [False, True], (r1, r2)
    check_chain(env, 420)
    p = verify(env)
    assert p.returncode == 0, p.all
