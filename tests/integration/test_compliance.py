"""The compliance projections, written in the append transaction: the data-rights register with
its due dates and its refusals (409 invalid_transition, naming the current state, storing
nothing of the request), consent state per subject and purpose, daily consent aggregates;
`consentctl rebuild` recomputes them from the ledger alone and `consentctl verify` notices when
they disagree with it."""

import datetime

import pytest

from events import consent_event, data_rights_event, new_id
from daemon import Ctl
from pg import free_port


def day_str(d):
    return d.strftime("%Y-%m-%dT12:00:00Z")


def at(y, m, d):
    return day_str(datetime.date(y, m, d))


def post(d, env, payload):
    return d.post(payload, env.token)


def register(env, request_id):
    rows = env.sql("SELECT state, right_name, jurisdiction, extended, received_on, due_on, "
                   "extended_due_on, closed_on, outcome, on_time, first_seq, last_seq "
                   "FROM rights_request WHERE request_id = %s", (request_id,))
    if not rows:
        return None
    keys = ("state", "right", "jurisdiction", "extended", "received", "due", "extended_due",
            "closed", "outcome", "on_time", "first_seq", "last_seq")
    return dict(zip(keys, rows[0]))


def dsr(request_id, stage, when, right="access", reason=None, jurisdiction=None,
        email="dsr@example.com"):
    if reason is None and stage in ("extended", "denied"):
        reason = "needs more time: complex request"
    return data_rights_event(request_id=request_id, stage=stage, occurred_at=when, right=right,
                             reason=reason, jurisdiction=jurisdiction, email=email)


D = datetime.date


@pytest.mark.parametrize("received,jurisdiction,due,extended_due", [
    (D(2025, 3, 5), None, D(2025, 4, 5), D(2025, 6, 5)),        # GDPR: same day next month
    (D(2025, 1, 31), "gdpr", D(2025, 2, 28), D(2025, 4, 30)),   # clamped to the month's end
    (D(2024, 1, 31), "gdpr", D(2024, 2, 29), D(2024, 4, 30)),   # leap year
    (D(2025, 3, 5), "ccpa", D(2025, 4, 19), D(2025, 6, 3)),     # 45 days, then 45 more
])
def test_register_due_dates(env, consentd, received, jurisdiction, due, extended_due):
    d = consentd()
    rid = "dsr-" + new_id()
    r = post(d, env, dsr(rid, "received", day_str(received), jurisdiction=jurisdiction))
    assert r.status == 201, r
    row = register(env, rid)
    assert row["state"] == "received" and row["received"] == received and row["due"] == due
    assert row["jurisdiction"] == (jurisdiction or "gdpr")
    assert row["extended_due"] is None and row["closed"] is None and row["on_time"] is None
    seq1 = r.json["seq"]
    r = post(d, env, dsr(rid, "extended", day_str(due)))  # on the last day: still in time
    assert r.status == 201, r
    row = register(env, rid)
    assert row["state"] == "extended" and row["extended"] and row["extended_due"] == extended_due
    r = post(d, env, dsr(rid, "fulfilled", day_str(extended_due)))
    assert r.status == 201, r
    row = register(env, rid)
    assert (row["state"], row["outcome"], row["on_time"]) == ("fulfilled", "fulfilled", True)
    assert row["closed"] == extended_due
    assert (row["first_seq"], row["last_seq"]) == (seq1, r.json["seq"])


def test_invalid_transitions_are_refused_and_store_nothing(env, consentd):
    d = consentd()
    rid = "dsr-" + new_id()
    # fulfilled before received
    r = post(d, env, dsr(rid, "fulfilled", at(2025, 3, 6)))
    assert r.status == 409 and r.json["error"]["code"] == "invalid_transition", r
    assert r.json["error"]["field"] == "data_rights.stage"
    assert "none" in r.json["error"]["message"], r.json
    assert env.count() == 0 and register(env, rid) is None
    assert post(d, env, dsr(rid, "received", at(2025, 3, 5))).status == 201
    assert post(d, env, dsr(rid, "extended", at(2025, 3, 20))).status == 201
    # extended twice
    r = post(d, env, dsr(rid, "extended", at(2025, 3, 21)))
    assert r.status == 409 and r.json["error"]["code"] == "invalid_transition", r
    assert "extended" in r.json["error"]["message"], r.json
    assert post(d, env, dsr(rid, "fulfilled", at(2025, 4, 1))).status == 201
    # anything after fulfilled
    for stage in ("received", "identity_verified", "extended", "denied", "withdrawn", "fulfilled"):
        r = post(d, env, dsr(rid, stage, at(2025, 4, 2)))
        assert r.status == 409 and r.json["error"]["code"] == "invalid_transition", (stage, r)
        assert "fulfilled" in r.json["error"]["message"], r.json
    assert env.count() == 3
    assert register(env, rid)["state"] == "fulfilled"
    # The daemon kept serving: a good event still goes in.
    assert post(d, env, consent_event()).status == 201


def test_late_extension_is_refused(env, consentd):
    d = consentd()
    rid = "dsr-" + new_id()
    assert post(d, env, dsr(rid, "received", at(2025, 1, 31))).status == 201
    r = post(d, env, dsr(rid, "extended", at(2025, 3, 1)))  # due 28 February
    assert r.status == 409 and r.json["error"]["code"] == "invalid_transition", r
    assert "2025-02-28" in r.json["error"]["message"], r.json
    r = post(d, env, dsr(rid, "fulfilled", at(2025, 3, 3)))
    assert r.status == 201
    row = register(env, rid)
    assert row["on_time"] is False and row["outcome"] == "fulfilled"


def test_a_refused_event_refuses_its_whole_batch(env, consentd):
    d = consentd()
    rid, other = "dsr-" + new_id(), "dsr-" + new_id()
    batch = [consent_event(), dsr(other, "received", at(2025, 5, 1)),
             dsr(rid, "received", at(2025, 5, 1)), dsr(rid, "received", at(2025, 5, 2))]
    r = post(d, env, batch)
    assert r.status == 409 and r.json["error"]["code"] == "invalid_transition", r
    assert r.json["error"]["index"] == 3, r.json
    assert env.count() == 0
    assert register(env, rid) is None and register(env, other) is None
    # In order within one batch: received then fulfilled is fine.
    r = post(d, env, [dsr(rid, "received", at(2025, 5, 1)), dsr(rid, "fulfilled", at(2025, 5, 3))])
    assert r.status == 201, r
    assert register(env, rid)["state"] == "fulfilled"


def test_consent_state_and_daily_aggregates(env, consentd):
    d = consentd()
    P = {"essential": True, "analytics": True, "advertising": False, "functional": True}
    evs = [
        consent_event(email="c1@example.com", account_id=None, action="accept_all",
                      purposes={}, occurred_at=at(2025, 6, 1), policy_version="p1"),
        consent_event(email="c2@example.com", account_id=None, action="customize", purposes=P,
                      occurred_at=at(2025, 6, 1), policy_version="p1"),
        consent_event(email="c1@example.com", account_id=None, action="withdraw", purposes={},
                      occurred_at=at(2025, 6, 2), policy_version="p1"),
        # Arrives last, happened first: must not override c1's withdrawal.
        consent_event(email="c1@example.com", account_id=None, action="accept_all", purposes={},
                      occurred_at=at(2025, 5, 31), policy_version="p0"),
    ]
    for ev in evs:
        if not ev["consent"]["purposes"]:
            del ev["consent"]["purposes"]
        assert post(d, env, ev).status == 201
    rows = env.sql("SELECT encode(pseudonym, 'hex'), state FROM consent_state")
    by_subject = {p: {purpose: (d["granted"], d["seq"]) for purpose, d in state.items()}
                  for p, state in rows}
    assert len(by_subject) == 2
    # c1's state is its withdrawal (seq 3), c2's its only event (seq 2).
    (c1,) = [s for s in by_subject.values() if s["analytics"][1] == 3]
    (c2,) = [s for s in by_subject.values() if s["analytics"][1] == 2]
    assert c1 == {"essential": (True, 3), "analytics": (False, 3), "advertising": (False, 3),
                  "functional": (False, 3)}
    assert c2 == {"essential": (True, 2), "analytics": (True, 2), "advertising": (False, 2),
                  "functional": (True, 2)}
    daily = {(str(day), pv, action): n for day, pv, action, n in env.sql(
        "SELECT day, policy_version, action, events FROM consent_daily")}
    assert daily == {("2025-06-01", "p1", "accept_all"): 1, ("2025-06-01", "p1", "customize"): 1,
                     ("2025-06-02", "p1", "withdraw"): 1, ("2025-05-31", "p0", "accept_all"): 1}
    (dec, granted), = env.sql("SELECT decisions, granted FROM consent_purpose_daily WHERE "
                              "day = '2025-06-01' AND policy_version = 'p1' AND purpose = 'analytics'")
    assert (dec, granted) == (2, 2)


def snapshot(env):
    return {t: sorted(r[0] for r in env.sql("SELECT t::text FROM %s t" % t)) for t in
            ("notice", "consent_state", "consent_daily", "consent_purpose_daily", "rights_request")}


def test_rebuild_reproduces_and_verify_detects_drift(env, consentd):
    d = consentd()
    for i in range(30):
        rid = "dsr-%d-%s" % (i, new_id())
        batch = [consent_event(email="s%d@example.com" % i, occurred_at=at(2025, 7, 1 + i % 5)),
                 dsr(rid, "received", at(2025, 7, 1 + i % 9), right=("access", "erasure")[i % 2])]
        if i % 3 == 0:
            batch.append(dsr(rid, "denied", at(2025, 7, 20), right=("access", "erasure")[i % 2]))
        assert post(d, env, batch).status == 201
    before = snapshot(env)
    assert all(before[t] for t in ("consent_state", "consent_daily", "rights_request"))
    p = env.ctl.run("verify")
    assert p.returncode == 0 and "projections agree" in p.out, p.out + p.err
    p = env.ctl.run("rebuild")
    assert p.returncode == 0 and "rebuild: OK: 70 entries replayed" in p.out, p.out + p.err
    assert snapshot(env) == before
    # Someone edits the register by hand: verify names the table, rebuild repairs it.
    env.sql("UPDATE rights_request SET on_time = true, outcome = 'fulfilled', "
            "state = 'fulfilled', closed_on = received_on WHERE outcome = 'denied'")
    p = env.ctl.run("verify")
    assert p.returncode == 1, p.out + p.err
    assert "projection rights_request disagrees" in p.out, p.out
    assert env.ctl.run("rebuild").returncode == 0
    assert snapshot(env) == before
    env.sql("UPDATE consent_state SET state = state - 'analytics'")
    p = env.ctl.run("verify")
    assert p.returncode == 1 and "projection consent_state disagrees" in p.out, p.out
    # The daemon keeps appending on top of the rebuilt projections.
    assert env.ctl.run("rebuild").returncode == 0
    assert post(d, env, consent_event()).status == 201
    assert env.ctl.run("verify").returncode == 0


def test_projections_must_cover_an_upgraded_ledger(env, consentd):
    d = consentd()
    assert post(d, env, consent_event()).status == 201
    # As after migrating a ledger that predates schema 4: a daemon refuses to start.
    env.sql("UPDATE projection_state SET complete = false")
    env.sql("DELETE FROM consent_state")
    rc, out = env.run_consentd("-c", env.write_config("refused.conf", free_port()))
    assert rc != 0 and "consentctl rebuild" in out, out
    assert env.ctl.run("rebuild").returncode == 0
    assert env.sql("SELECT complete FROM projection_state")[0][0] is True
    (n, purposes), = env.sql("SELECT count(*), sum((SELECT count(*) FROM jsonb_object_keys(state))) "
                             "FROM consent_state")
    assert (n, purposes) == (2, 8)  # 2 pseudonyms x 4 purposes
    assert post(d, env, consent_event()).status == 201
    assert env.ctl.run("verify").returncode == 0


def test_holiday_calendar_rolls_due_dates(env, consentd):
    cal = env.dir + "/holidays.txt"
    with open(cal, "w") as f:
        f.write("# company holidays\nweekend = sat,sun\n2025-04-07\n")
    d = consentd(overrides={"compliance": {"holiday_calendar": cal, "default_jurisdiction": "ccpa"}})
    rid = "dsr-" + new_id()
    # 5 April 2025 is a Saturday: GDPR's due date rolls over the weekend and the 7 April holiday.
    assert post(d, env, dsr(rid, "received", at(2025, 3, 5), jurisdiction="gdpr")).status == 201
    assert register(env, rid)["due"] == D(2025, 4, 8)
    # No jurisdiction named: the configured default (ccpa): 5 March + 45 = 19 April, a Saturday.
    rid2 = "dsr-" + new_id()
    assert post(d, env, dsr(rid2, "received", at(2025, 3, 5))).status == 201
    row = register(env, rid2)
    assert (row["jurisdiction"], row["due"]) == ("ccpa", D(2025, 4, 21))
    # verify replays with the same rules (consentctl reads the same configuration file).
    p = env.ctl.run("verify")
    assert p.returncode == 1 and "rights_request disagrees" in p.out, p.out  # its config has none
    cfg = env.write_config("with-calendar.conf", free_port(), overrides={
        "compliance": {"holiday_calendar": cal, "default_jurisdiction": "ccpa"}})

    p = Ctl(env.binaries.consentctl, cfg).run("verify")
    assert p.returncode == 0, p.out + p.err


def test_unreadable_calendar_stops_start_up(env):
    cfg = env.write_config("bad-cal.conf", free_port(),
                           overrides={"compliance": {"holiday_calendar": env.dir + "/none.txt"}})
    rc, out = env.run_consentd("-c", cfg)
    assert rc != 0 and "holiday_calendar" in out, out
    with open(env.dir + "/bad.txt", "w") as f:
        f.write("2025-02-30\n")
    cfg = env.write_config("bad-cal2.conf", free_port(),
                           overrides={"compliance": {"holiday_calendar": env.dir + "/bad.txt"}})
    rc, out = env.run_consentd("-c", cfg)
    assert rc != 0 and "line 1" in out, out


def test_a_failed_projection_write_stores_nothing_and_the_writer_recovers(env, consentd):
    """The projections are written in the same pipelined round trip as the head move and the
    COMMIT: when one of those statements fails, nothing of the batch stays, the client is told
    to retry, and the connection is usable for the next batch."""
    d = consentd(allow_errors=("permission denied", "writing projections", "append of"))
    assert post(d, env, consent_event()).status == 201
    env.sql("REVOKE UPDATE ON consent_state FROM consentd_writer")
    try:
        ev = consent_event()  # same subject: its consent_state row is updated
        r = post(d, env, ev)
        assert r.status == 503 and r.json["error"]["code"] == "database_unavailable", r
        assert env.count() == 1
        assert env.sql("SELECT seq FROM ledger_head")[0][0] == 1
    finally:
        env.sql("GRANT UPDATE ON consent_state TO consentd_writer")
    r = post(d, env, ev)
    assert r.status == 201 and r.json["seq"] == 2, r
    assert env.ctl.run("verify").returncode == 0
