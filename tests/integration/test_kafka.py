"""Kafka ingestion end to end against librdkafka's mock cluster (a real Kafka protocol peer),
the real consentd and a real PostgreSQL: exactly once in the ledger, partition order, bad
messages in rejected_event and the dead-letter topic, and recovery from kill -9, a database
outage, broker outages and a second consumer in the group."""

import base64
import json
import os
import re
import time

import pb
from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from events import consent_event, data_rights_event
from kafka import (JSON_HEADER, JSON_TOPIC, TOPIC, Feeder, Msg, kill9, log_count, stop, wait_for,
                   workload)
from kafka import kafka_mock, ks  # noqa: F401 (fixtures)


def test_100k_mixed_events_exactly_once_in_partition_order(ks, capsys):
    msgs = workload(100000, seed=1, undecodable=6)
    d = ks.start()
    feeder = Feeder(ks, msgs)
    feeder.start()
    feeder.finish(timeout=300)
    t_done = ks.wait_processed(msgs, timeout=120)
    appended = sum(1 for m in msgs if m.error is None)
    rate = appended / (t_done - feeder.t_first)
    with capsys.disabled():
        print("\nkafka throughput: %d events appended (+%d rejected) in %.1f s from first produce "
              "to last commit: %.0f events/s" % (appended, len(msgs) - appended,
                                                 t_done - feeder.t_first, rate))
    assert ks.check_ledger(msgs) == appended
    ks.dead_letters([m for m in msgs if m.error is not None])
    ks.wait_committed(msgs)
    assert ks.counts() == (appended, len(msgs) - appended)  # nothing came late
    assert d.alive()


def test_event_id_reused_with_other_content_is_quarantined(ks):
    d = ks.start()
    first = consent_event()
    other = json.loads(json.dumps(first))
    other["consent"]["purposes"]["analytics"] = not other["consent"]["purposes"]["analytics"]
    m1 = Msg(TOPIC, 1, b"alice", pb.encode_event(first), None, first["event_id"])
    ks.producer.send(m1)
    ks.producer.flush()
    ks.wait_processed([m1], timeout=30)
    # The same event again (as JSON, by header) is a duplicate; other content is a conflict,
    # on the JSON topic (json_topics) as on the protobuf one.
    again = Msg(TOPIC, 2, b"alice", json.dumps(first).encode(), JSON_HEADER, first["event_id"])
    conflicts = [Msg(JSON_TOPIC, 0, b"alice", json.dumps(other).encode(), None, None,
                     "event_id_conflict"),
                 Msg(TOPIC, 3, b"alice", pb.encode_event(other), None, None, "event_id_conflict")]
    for m in [again] + conflicts:
        ks.producer.send(m)
    ks.producer.flush()
    ks.wait_processed([m1] + conflicts, timeout=30)
    stop(d)  # SIGTERM commits the offsets of the final batch before exit
    ks.wait_committed([m1, again] + conflicts, timeout=5)
    assert ks.counts() == (1, 2)
    rows = ks.env.sql("SELECT topic, partition, kafka_offset, event_id::text, error_code, payload "
                      "FROM rejected_event ORDER BY id")
    assert sorted((t, p, o, e, c, bytes(b)) for t, p, o, e, c, b in rows) == sorted(
        (m.topic, m.partition, m.offset, first["event_id"], "event_id_conflict", m.value)
        for m in conflicts)
    (eid, entry), = ks.env.sql("SELECT event_id::text, entry FROM audit_log")
    seq, _, src = pb.decode_entry(bytes(entry))
    assert (eid, seq, src["topic"], src["partition"], src["offset"]) == (
        first["event_id"], 1, TOPIC, 1, m1.offset)
    ks.dead_letters(conflicts)
    ks.verify()
    # consentctl rejected lists the same rows, raw payload included.
    p = ks.env.ctl.run("rejected", "--json", "--conninfo", ks.env.super_conninfo(), timeout=60)
    assert p.returncode == 0, p.err
    listed = [json.loads(line) for line in p.out.splitlines() if line.strip()]
    assert sorted((r["topic"], r["partition"], r["offset"], r["error_code"],
                   base64.b64decode(r["payload"])) for r in listed) == sorted(
        (m.topic, m.partition, m.offset, "event_id_conflict", m.value) for m in conflicts)
    assert all(r["event_id"] == first["event_id"] for r in listed)


def test_invalid_transition_is_rejected_and_its_offset_committed(ks):
    d = ks.start()
    rid = "dsr-kafka-1"
    evs = [data_rights_event(request_id=rid, stage="received", right="erasure"),
           data_rights_event(request_id=rid, stage="fulfilled", right="erasure"),
           data_rights_event(request_id=rid, stage="withdrawn", right="erasure")]  # after fulfilled
    msgs = [Msg(TOPIC, 2, b"dsr", pb.encode_event(evs[0]), None, evs[0]["event_id"]),
            Msg(TOPIC, 2, b"dsr", pb.encode_event(evs[1]), None, evs[1]["event_id"]),
            Msg(TOPIC, 2, b"dsr", pb.encode_event(evs[2]), None, None, "invalid_transition")]
    for m in msgs:
        ks.producer.send(m)
    ks.producer.flush()
    ks.wait_processed(msgs, timeout=30)
    stop(d)
    ks.wait_committed(msgs, timeout=5)  # the refused message does not hold the partition back
    assert ks.counts() == (2, 1)
    (code, message, eid, payload), = ks.env.sql(
        "SELECT error_code, error_message, event_id::text, payload FROM rejected_event")
    assert (code, eid, bytes(payload)) == ("invalid_transition", evs[2]["event_id"], msgs[2].value)
    assert "fulfilled" in message, message
    (state,), = ks.env.sql("SELECT state FROM rights_request WHERE request_id = %s", (rid,))
    assert state == "fulfilled"
    ks.dead_letters([msgs[2]])
    ks.verify()


def test_kill_9_mid_stream_then_restart_exactly_once(ks):
    msgs = workload(30000, seed=2, undecodable=3)
    d1 = ks.start()
    feeder = Feeder(ks, msgs, max_backlog=12000)
    feeder.start()
    wait_for("a third processed", lambda: sum(ks.counts()) >= 10000, 120, interval=0.05)
    kill9(d1)
    at_kill = sum(ks.counts())
    assert at_kill < len(msgs), "consumption was over before the kill"
    ks.start()
    feeder.finish(timeout=300)
    ks.wait_processed(msgs, timeout=120)
    ks.check_ledger(msgs)
    ks.dead_letters([m for m in msgs if m.error is not None])
    ks.wait_committed(msgs)


def _fetching(d):
    """"paused" or "resumed": consentd's last word on fetching (flow control, debug level)."""
    states = re.findall(r"msg=\"(paused|resumed) fetching", d.log_text())
    return states[-1] if states else "resumed"


def test_database_outage_pauses_and_resumes(ks, pg_cluster):
    msgs = workload(30000, seed=3, undecodable=3)
    d = ks.start(overrides={"postgres": {"connect_timeout": "2s"}})
    feeder = Feeder(ks, msgs, max_backlog=12000)
    feeder.start()
    wait_for("a quarter processed", lambda: sum(ks.counts()) >= 7500, 120, interval=0.05)
    with d.errors_expected():
        pg_cluster.stop("fast")
        try:
            wait_for("consentd to pause fetching", lambda: _fetching(d) == "paused", 30)
            paused_at = d.log_size()
            time.sleep(5)  # the outage lasts several seconds while the producer goes on
            assert d.alive()
            assert _fetching(d) == "paused" and not log_count(d, r"resumed fetching", paused_at), \
                "fetching resumed while the database was down"
        finally:
            pg_cluster.start()
        feeder.finish(timeout=300)
        ks.wait_processed(msgs, timeout=120)
    assert log_count(d, r"resumed fetching", paused_at) >= 1
    ks.check_ledger(msgs)
    ks.dead_letters([m for m in msgs if m.error is not None])
    ks.wait_committed(msgs)


def _readyz_kafka(d):
    r = d.request("GET", "/readyz", timeout=5)
    return r.json.get("kafka") if r.status == 200 and isinstance(r.json, dict) else None


def test_broker_outages_lose_and_duplicate_nothing(ks, kafka_mock):
    msgs = workload(21000, seed=4, undecodable=3)
    chunks = [msgs[i:i + 3000] for i in range(0, len(msgs), 3000)]
    brokers = range(1, kafka_mock.brokers + 1)
    d = ks.start()
    wait_for("/readyz kafka ok", lambda: _readyz_kafka(d) == "ok", 30)

    def produce(chunk):
        for m in chunk:
            ks.producer.send(m)
        ks.producer.p.poll(0)

    with d.errors_expected():
        # Each broker in turn (each leads some partitions, one is the group coordinator), with
        # events produced before and during its outage; consumption goes on after each.
        for broker in brokers:
            before = sum(ks.counts())
            produce(chunks.pop(0))
            wait_for("progress before broker %d goes down" % broker,
                     lambda: sum(ks.counts()) >= before + 1000, 60, interval=0.05)
            kafka_mock.broker_down(broker)
            produce(chunks.pop(0))
            time.sleep(3)  # the outage (as long as the group session timeout)
            kafka_mock.broker_up(broker)
        # All of them: /readyz says so while events queue up in the producer, then consentd
        # rejoins the group and consumes them by itself.
        for broker in brokers:
            kafka_mock.broker_down(broker)
        try:
            produce(chunks.pop(0))
            wait_for("/readyz kafka brokers_unreachable",
                     lambda: _readyz_kafka(d) == "brokers_unreachable", 30, interval=0.2)
            assert d.request("GET", "/healthz").status == 200
            time.sleep(3)  # long enough for the group session to time out
            assert _readyz_kafka(d) == "brokers_unreachable"
        finally:
            for broker in brokers:
                kafka_mock.broker_up(broker)
        assert not chunks
        wait_for("/readyz kafka ok again", lambda: _readyz_kafka(d) == "ok", 30, interval=0.2)
        ks.producer.flush()
        ks.wait_processed(msgs, timeout=120)
        ks.wait_committed(msgs, timeout=60)
    ks.check_ledger(msgs)
    ks.dead_letters([m for m in msgs if m.error is not None])
    assert _readyz_kafka(d) == "ok"


def test_two_daemons_share_the_group_one_gapless_chain(ks):
    msgs = workload(30000, seed=5, undecodable=3)
    shared_part, second_only = msgs[:25000], msgs[25000:]
    d1 = ks.start()
    feeder = Feeder(ks, shared_part, max_backlog=12000)
    feeder.start()
    wait_for("some processed by the first daemon", lambda: sum(ks.counts()) >= 3000, 120,
             interval=0.05)
    d2 = ks.start()  # joins mid-stream: the group rebalances while messages are in flight
    shared = r"assigned [1-5] partitions"
    wait_for("both daemons holding partitions",
             lambda: log_count(d2, shared) and log_count(d1, r"revoked") and log_count(d1, shared),
             60)
    feeder.finish(timeout=300)
    stop(d1)  # SIGTERM: drains, commits, leaves the group; d2 takes over its partitions
    for m in second_only:
        ks.producer.send(m)
    ks.producer.flush()
    ks.wait_processed(msgs, timeout=120)
    assert ks.check_ledger(msgs) == sum(1 for m in msgs if m.error is None)
    ks.dead_letters([m for m in msgs if m.error is not None])
    ks.wait_committed(msgs)
    assert d2.alive()


def test_appends_failing_on_a_working_connection_lose_nothing(ks):
    """Appends that fail for a while on a working connection (disk full, statement timeout: here
    a trigger raising disk_full) hand the Kafka units back unstored after a few tries, and the
    partition is fetched again from the first of them. Small batches spread each partition's
    units over many transactions: units fetched before a rewind complete after it, and must
    not stop the copies fetched again from being rewound in turn; otherwise later commits store
    offsets past messages that were never appended (acknowledged, then lost)."""
    msgs = workload(600, seed=7, invalid_every=0)
    ks.env.sql("CREATE TABLE fault_switch (on_ boolean)")
    ks.env.sql("INSERT INTO fault_switch VALUES (true)")
    ks.env.sql("CREATE FUNCTION fail_append() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
               "AS $$ BEGIN IF EXISTS (SELECT 1 FROM fault_switch) THEN RAISE EXCEPTION "
               "'injected failure' USING ERRCODE = 'disk_full'; END IF; RETURN NULL; END $$")
    ks.env.sql("CREATE TRIGGER fail_append BEFORE INSERT ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION fail_append()")
    d = ks.start(overrides={"ledger": {"batch_max": "20"}})
    with d.errors_expected():
        for m in msgs[:400]:
            ks.producer.send(m)
        ks.producer.flush()
        # Every message handed back, and copies fetched again after a rewind too.
        wait_for("appends failing", lambda: log_count(d, r"not stored") >= 600, 60, interval=0.2)
        ks.env.sql("DELETE FROM fault_switch")
        for m in msgs[400:]:
            ks.producer.send(m)
        ks.producer.flush()
        ks.wait_processed(msgs, timeout=30)
    ks.check_ledger(msgs)
    stop(d)
    ks.wait_committed(msgs)


def test_rebalance_while_paused_for_max_inflight_does_not_stall(ks):
    """A rebalance that lands while consentd has paused fetching because max_inflight messages
    await the ledger must not leave the partitions it keeps (or gets back) paused for good."""
    msgs = workload(4000, seed=6, invalid_every=0)
    # Every append takes 1.5 s more (a statement trigger sleeps), so that the first daemon stays
    # paused, with between max_inflight/2 and max_inflight messages in flight, while the second
    # one joins and the group rebalances.
    ks.env.sql("CREATE FUNCTION slow_append() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$")
    ks.env.sql("CREATE TRIGGER slow_append BEFORE INSERT ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION slow_append()")
    slow = {"kafka": {"max_inflight": "1000"}, "ledger": {"batch_max": "100"}}
    d1 = ks.start(kafka=slow["kafka"], overrides={"ledger": slow["ledger"]})
    for m in msgs[:1000]:
        ks.producer.send(m)
    ks.producer.flush()
    wait_for("the first daemon to pause at max_inflight",
             lambda: log_count(d1, r"paused fetching \(1\d\d\d in flight"), 30, interval=0.02)
    ks.start(kafka=slow["kafka"], overrides={"ledger": slow["ledger"]})
    wait_for("the first daemon to get partitions back",
             lambda: log_count(d1, r"assigned [1-5] partitions"), 30)
    ks.env.sql("DROP TRIGGER slow_append ON audit_log")
    for m in msgs[1000:]:
        ks.producer.send(m)
    ks.producer.flush()
    ks.wait_processed(msgs, timeout=45)
    ks.check_ledger(msgs)


def test_checkpoints_are_published_to_the_checkpoint_topic(ks, kafka_mock, env):
    """Signed checkpoints leave the database: each one the daemon stores is also produced to
    [kafka] checkpoint_topic, byte for byte."""
    key = os.path.join(env.dir, "checkpoint.key")
    env.ctl.check("keygen", "consentd.local/ledger", "--out", key)
    kafka_mock.command("topic consentd-checkpoints 1")
    d = ks.start(kafka={"checkpoint_topic": "consentd-checkpoints"},
                 overrides={"ledger": {"signing_key_file": key, "checkpoint_interval": "100ms"}})
    msgs = []
    for i in range(3):  # three rounds, so that several checkpoints are signed
        batch = [Msg(TOPIC, j % 4, b"k%d" % j, pb.encode_event(consent_event()), None, None)
                 for j in range(10)]
        for m in batch:
            ks.producer.send(m)
        ks.producer.flush()
        msgs += batch
        ks.wait_processed(msgs, timeout=30)
    wait_for("a checkpoint of the whole ledger", lambda: ks.env.sql(
        "SELECT 1 FROM checkpoint WHERE tree_size = 30"), 15)
    stored = {n for (n,) in ks.env.sql("SELECT note FROM checkpoint")}
    c = ks.consumer()
    c.assign([TopicPartition("consentd-checkpoints", 0, OFFSET_BEGINNING)])
    published = set()
    deadline = time.monotonic() + 30
    while published != stored and time.monotonic() < deadline:
        km = c.poll(0.5)
        if km is not None and not km.error():
            published.add(km.value().decode())
    assert published == stored, "%d stored, %d published" % (len(stored), len(published))
    assert any(n.splitlines()[:2] == ["consentd.local/ledger", "30"] for n in published)
    stop(d)


def test_sigterm_with_every_broker_gone_still_exits(ks, kafka_mock):
    """Leaving the group needs a coordinator: with the whole cluster gone, shutdown must still
    end (a blocking consumer close hung here for ever) and what was stored stays stored."""
    d = ks.start(allow_errors=(r"kafka|rdkafka",))
    msgs = [Msg(TOPIC, j % 4, b"k%d" % j, pb.encode_event(consent_event()), None, None)
            for j in range(40)]
    for m in msgs:
        ks.producer.send(m)
    ks.producer.flush()
    ks.wait_processed(msgs, timeout=30)
    kafka_mock.close()  # every broker and the group coordinator disappear
    started = time.monotonic()
    stop(d)  # exit 0 within the harness's stop timeout, or the test fails
    assert time.monotonic() - started < 15
    assert ks.counts() == (40, 0)
    ks.verify()
