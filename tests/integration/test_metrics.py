"""GET /metrics end to end: the text parses strictly as Prometheus exposition format 0.0.4, the
counters move by exactly what was posted (accepted, duplicate, refused by code), histograms
count commits and acknowledgements, gauges (queue depth, checkpoint age, Kafka lag) appear, the
writer's reconnects are counted; and the systemd watchdog: WATCHDOG=1 after READY=1, withheld
while the ledger writer is wedged, resumed when it progresses."""

import copy
import json
import math
import os
import re
import socket
import threading

import pb
from events import consent_event
from kafka import JSON_TOPIC, TOPIC, Msg, log_count, wait_for
from kafka import kafka_mock, ks  # noqa: F401 (fixtures)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ORIGIN = "consentd.local/ledger"

# --- a strict parser of the text format --------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
SAMPLE = re.compile(r"(%s)(\{.*\})? (\S+)$" % NAME)
HELP = re.compile(r"# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % NAME)
SUFFIXES = {"counter": [""], "gauge": [""], "untyped": [""],
            "histogram": ["_bucket", "_sum", "_count"], "summary": ["", "_sum", "_count"]}


def parse_labels(text):
    """'{a="x",b="y\\"z"}' -> {"a": "x", "b": 'y"z'}; only \\\\, \\" and \\n are escapes."""
    labels, i, body = {}, 0, text[1:-1]
    while i < len(body):
        m = LABEL_NAME.match(body, i)
        assert m and body[m.end():m.end() + 2] == '="', "bad label at %r" % body[i:]
        name, i, value = m.group(0), m.end() + 2, []
        while body[i] != '"':
            if body[i] == "\\":
                esc = body[i + 1]
                assert esc in '\\"n', "bad escape \\%s in %r" % (esc, text)
                value.append("\n" if esc == "n" else esc)
                i += 2
            else:
                assert body[i] != "\n"
                value.append(body[i])
                i += 1
        assert name not in labels, "label %s twice in %r" % (name, text)
        labels[name] = "".join(value)
        i += 1
        if i < len(body):
            assert body[i] == ",", "expected , in %r" % text
            i += 1
    return labels


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text), "bad value %r" % text
    return float(text)


def check_histograms(fam):
    """Per label set: le ascending and ending with +Inf, cumulative, _count == +Inf bucket."""
    series = {}
    for name, labels, value in fam["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": []})
        if name.endswith("_bucket"):
            s["buckets"].append((parse_value(labels["le"]), value))
        else:
            s[name.rsplit("_", 1)[1]] = value
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        counts = [c for _, c in s["buckets"]]
        assert les == sorted(les) and les and les[-1] == math.inf, (fam["name"], key, les)
        assert counts == sorted(counts), (fam["name"], key, counts)
        assert s.get("count") == counts[-1] and "sum" in s, (fam["name"], key, s)


def parse_metrics(text):
    """{family: {"name","type","help","samples": [(sample_name, labels, value)]}}; asserts
    every rule of the format the daemon is meant to follow."""
    assert text.endswith("\n"), "the text must end with a line feed"
    families, current, seen = {}, None, set()
    for line in text[:-1].split("\n"):
        if line.startswith("#"):
            m = HELP.match(line)
            if m:
                assert m.group(1) not in families, "family %s twice" % m.group(1)
                current = families[m.group(1)] = {"name": m.group(1), "help": m.group(2),
                                                  "type": None, "samples": []}
                continue
            m = TYPE.match(line)
            assert m, "neither HELP nor TYPE: %r" % line
            assert current and current["name"] == m.group(1) and current["type"] is None, line
            assert not current["samples"], "TYPE after samples: %r" % line
            current["type"] = m.group(2)
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels = m.group(1), parse_labels(m.group(2)) if m.group(2) else {}
        assert current and current["type"], "sample before HELP and TYPE: %r" % line
        fam = current["name"]
        assert name in [fam + s for s in SUFFIXES[current["type"]]], "%s outside %s" % (name, fam)
        assert (current["type"] == "histogram") == ("le" in labels) or not name.endswith("_bucket")
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen, "series twice: %r" % line
        seen.add(key)
        current["samples"].append((name, labels, parse_value(m.group(3))))
    for fam in families.values():
        assert fam["name"].startswith("consentd_"), fam["name"]
        assert fam["type"], "%s has no TYPE" % fam["name"]
        assert (fam["type"] == "counter") == fam["name"].endswith("_total"), fam["name"]
        if fam["type"] == "histogram":
            check_histograms(fam)
    return families


def scrape(d):
    r = d.request("GET", "/metrics")
    assert r.status == 200, r
    assert r.header("Content-Type") == CONTENT_TYPE, r.header("Content-Type")
    return parse_metrics(r.body.decode("utf-8"))


def value(fams, sample, **labels):
    """The sample's value, or None if the series is absent."""
    fam = fams[re.sub(r"_(bucket|sum|count)$", "", sample)] if sample not in fams else fams[sample]
    for name, l, v in fam["samples"]:
        if name == sample and l == labels:
            return v
    return None


def count(fams, sample, **labels):
    """A counter's value; an absent series is 0 (a reason never seen yet)."""
    return value(fams, sample, **labels) or 0


# --- HTTP --------------------------------------------------------------------------------------

def test_metrics_count_what_was_posted(env, consentd):
    key = os.path.join(env.dir, "checkpoint.key")
    env.ctl.check("keygen", ORIGIN, "--out", key)
    d = consentd(overrides={"ledger": {"signing_key_file": key, "checkpoint_interval": "100ms"}})
    before = scrape(d)
    (_, build, one), = before["consentd_build_info"]["samples"]
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", build["version"]) and one == 1, build
    assert value(before, "consentd_writer_queue_depth") == 0
    assert value(before, "consentd_postgres_up") == 1
    assert value(before, "consentd_checkpoint_age_seconds") is None, "no checkpoint yet"
    assert value(before, "consentd_kafka_inflight_messages") is None, "Kafka is off"

    a, b, c, e = consent_event(), consent_event(), consent_event(), consent_event()
    assert d.post(a, env.token).status == 201
    assert d.post(b, env.token).status == 201
    assert d.post([c, e], env.token).status == 201
    assert d.post(copy.deepcopy(a), env.token).status == 200  # duplicate
    other = copy.deepcopy(a)
    other["consent"]["purposes"]["analytics"] = True
    assert d.post(other, env.token).status == 409  # event_id_conflict
    denied = consent_event(purposes={"essential": False})
    assert d.post(denied, env.token).status == 422  # essential_denied, one event
    bad_batch = [consent_event(), consent_event(purposes={"essential": False}), consent_event()]
    assert d.post(bad_batch, env.token).status == 422  # essential_denied, the batch's three
    assert d.post("{not json", env.token).status == 400  # malformed_json
    assert d.post(consent_event(), token=None).status == 401  # not an ingest outcome
    after = scrape(d)

    def delta(sample, **labels):
        return count(after, sample, **labels) - count(before, sample, **labels)

    assert delta("consentd_ingest_accepted_total", source="http") == 4
    assert delta("consentd_ingest_duplicates_total", source="http") == 1
    assert delta("consentd_ingest_rejected_total", source="http", reason="essential_denied") == 4
    assert delta("consentd_ingest_rejected_total", source="http", reason="event_id_conflict") == 1
    assert delta("consentd_ingest_rejected_total", source="http", reason="malformed_json") == 1
    refused = [(l["reason"], v) for n, l, v in after["consentd_ingest_rejected_total"]["samples"]]
    assert sorted(refused) == [("essential_denied", 4), ("event_id_conflict", 1),
                               ("malformed_json", 1)], refused
    assert delta("consentd_ingest_accepted_total", source="kafka") == 0
    # Four 2xx answers; five transactions (the conflict's commits too) of 1, 1, 2, 1, 1 events.
    assert delta("consentd_ingest_ack_latency_seconds_count", source="http") == 4
    assert delta("consentd_writer_commit_latency_seconds_count") == 5
    assert delta("consentd_writer_batch_events_count") == 5
    assert delta("consentd_writer_batch_events_sum") == 6
    assert value(after, "consentd_writer_batch_events_bucket", le="1") - \
        value(before, "consentd_writer_batch_events_bucket", le="1") == 4
    assert value(after, "consentd_writer_queue_depth") == 0
    assert value(after, "consentd_postgres_errors_total") == 0
    assert value(after, "consentd_postgres_reconnects_total") == 0

    # The checkpoint of the four events, once the writer has stored it.
    fams = wait_for("a checkpoint of tree size 4 in /metrics", lambda: (
        lambda f: f if value(f, "consentd_checkpoint_tree_size") == 4 else None)(scrape(d)), 15)
    assert env.sql("SELECT 1 FROM checkpoint WHERE tree_size = 4")
    age = value(fams, "consentd_checkpoint_age_seconds")
    assert age is not None and age >= 0


def test_metrics_is_unauthenticated_and_get_only(env, consentd):
    d = consentd()
    assert d.request("GET", "/metrics").status == 200
    r = d.request("POST", "/metrics", body="x")
    assert r.status == 405 and r.json["error"]["code"] == "method_not_allowed", r


def test_writer_reconnect_is_counted(env, consentd):
    d = consentd()
    before = scrape(d)
    with d.errors_expected():
        (n,), = env.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'consentd-writer' AND datname = %s", (env.dbname,))
        assert n == 1
        after = wait_for("the writer to reconnect", lambda: (
            lambda f: f if value(f, "consentd_postgres_reconnects_total") >= 1 else None)(scrape(d)), 20)
    assert value(after, "consentd_postgres_reconnects_total") == 1
    assert value(after, "consentd_postgres_errors_total") >= value(before, "consentd_postgres_errors_total") + 1
    ev = consent_event()
    assert d.post(ev, env.token).status == 201
    assert value(scrape(d), "consentd_postgres_up") == 1


# --- Kafka -------------------------------------------------------------------------------------

def test_kafka_outcomes_and_consumer_lag_per_partition(ks):
    d = ks.start()
    msgs = [Msg(TOPIC, p, b"k%d" % p, pb.encode_event(ev), None, ev["event_id"])
            for p, ev in ((p, consent_event()) for p in range(4))]
    msgs += [Msg(JSON_TOPIC, p, b"j%d" % p, json.dumps(ev).encode(), None, ev["event_id"])
             for p, ev in ((p, consent_event()) for p in range(2))]
    msgs.append(Msg(TOPIC, 0, b"bad", b"\xff not protobuf", None, None, "malformed_protobuf"))
    for m in msgs:
        ks.producer.send(m)
    ks.producer.flush()
    ks.wait_processed(msgs, timeout=30)
    ks.wait_committed(msgs)
    partitions = {(TOPIC, str(p)) for p in range(4)} | {(JSON_TOPIC, str(p)) for p in range(2)}

    def caught_up():
        f = scrape(d)
        lag = {(l["topic"], l["partition"]): v
               for _, l, v in f["consentd_kafka_consumer_lag"]["samples"]}
        return f if set(lag) == partitions and not any(lag.values()) else None

    fams = wait_for("consumer_lag 0 on every partition in /metrics", caught_up, 30)
    assert value(fams, "consentd_ingest_accepted_total", source="kafka") == 6
    assert value(fams, "consentd_ingest_rejected_total", source="kafka",
                 reason="malformed_protobuf") == 1
    assert value(fams, "consentd_ingest_ack_latency_seconds_count", source="kafka") == 7
    assert value(fams, "consentd_kafka_inflight_messages") == 0


# --- systemd watchdog --------------------------------------------------------------------------

class NotifySocket:
    """The service manager's end of NOTIFY_SOCKET: a unix datagram socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def next(self, timeout=20.0):
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def wait_for(self, what, timeout=20.0):
        """Reads datagrams until one holds the line `what`; returns those read before it."""
        seen = []
        while True:
            msg = self.next(timeout)
            if what in msg.split("\n"):
                return seen
            seen.append(msg)

    def pending(self):
        """Every datagram queued now, without waiting."""
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                out.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return out
        finally:
            self.sock.setblocking(True)

    def close(self):
        self.sock.close()


def test_watchdog_pings_only_while_the_writer_progresses(env, consentd, tmp_path):
    notify = NotifySocket(str(tmp_path / "notify"))
    try:
        d = consentd(environ={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "3000000"},
                     overrides={"http": {"request_timeout": "60s"}},
                     allow_errors=[r"withholding the watchdog ping"])
        notify.wait_for("READY=1")
        for _ in range(3):
            notify.wait_for("WATCHDOG=1")

        # Wedge the writer: it waits for the chain head's row lock inside its transaction.
        conn = env.connect(autocommit=False)
        cur = conn.cursor()
        cur.execute("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE")
        ev = consent_event()
        answer = []
        poster = threading.Thread(target=lambda: answer.append(d.post(ev, env.token)))
        poster.start()
        wait_for("the watchdog to notice the wedged writer",
                 lambda: log_count(d, r"withholding the watchdog ping"), 30)
        notify.pending()  # pings sent before the writer was found stuck
        stuck_for = value(scrape(d), "consentd_writer_heartbeat_age_seconds")
        assert stuck_for >= 3, stuck_for
        assert "WATCHDOG=1" not in "\n".join(notify.pending()).split("\n"), \
            "a ping was sent while the writer was stuck"
        conn.rollback()  # the writer gets the lock, commits and beats again
        conn.close()
        poster.join(60)
        assert answer and answer[0].status == 201, answer
        notify.wait_for("WATCHDOG=1")
        wait_for("the resumed line", lambda: log_count(d, r"watchdog pings resumed"), 10)
        assert d.stop() is None
        d.exit_reported = True
        notify.wait_for("STOPPING=1")
    finally:
        notify.close()
