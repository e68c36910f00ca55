"""Kafka side of the integration suite: librdkafka's mock cluster (tests/helpers/kafka_mock.c, a
real Kafka protocol peer on loopback) driven over its stdin, a confluent_kafka producer that
remembers where each message landed, workloads of valid, invalid and undecodable events, a
feeder that produces while consentd consumes (the mock keeps only ~5 MiB or 100,000 messages per
partition), and the checks: exactly once in audit_log, partition order, rejected_event, the
dead-letter topic, committed offsets, consentctl verify."""

import json
import logging
import os
import random
import re
import select
import subprocess
import threading
import time
import uuid
import zlib

import psycopg2
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

import pb
from conftest import add_log
from events import consent_event, data_rights_event

TOPIC = "events"              # protobuf unless the message says content-type: application/json
JSON_TOPIC = "events-json"    # in [kafka] json_topics
DLQ = "consentd-dlq"
GROUP = "consentd"
PARTITIONS = 4
TOPICS = {TOPIC: PARTITIONS, JSON_TOPIC: 2, DLQ: 1}
BROKERS = 3
JSON_HEADER = [("content-type", b"application/json")]

client_log = logging.getLogger("kafka-client")  # pytest shows captured logging on failure


def wait_for(what, cond, timeout, interval=0.1):
    """Polls cond() until it returns something true, at most timeout seconds; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# --- the mock cluster -----------------------------------------------------------------------

def mock_binary():
    path = os.environ.get("KAFKA_MOCK_BIN")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    candidates = [path] if path else [os.path.join(root, b, "tests", "kafka-mock")
                                      for b in ("build-test", "build", "build-kafka")]
    for c in candidates:
        if os.access(c, os.X_OK):
            return c
    pytest.fail("KAFKA_MOCK_BIN: none of %s is an executable; build first (meson test sets it)"
                % ", ".join(candidates), pytrace=False)


class KafkaMock:
    """kafka-mock: `BOOTSTRAP host:port,...` on stdout, then one OK/ERR answer per command."""

    def __init__(self, workdir, brokers=BROKERS, topics=TOPICS):
        self.logfile = os.path.join(workdir, "kafka-mock.log")
        argv = [mock_binary(), "--brokers", str(brokers)]
        for name, n in topics.items():
            argv += ["--topic", "%s:%d" % (name, n)]
        self.brokers = brokers
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log)
        line = self._read_line(20)
        if not line.startswith("BOOTSTRAP "):
            self.close()
            raise AssertionError("kafka-mock did not print its bootstrap address: %r\n%s"
                                 % (line, self.log_text()))
        self.bootstrap = line.split(None, 1)[1].strip()

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError("kafka-mock: no answer within %d s (got %r)" % (timeout, buf))
            chunk = os.read(fd, 1)
            if not chunk:
                raise AssertionError("kafka-mock exited (%r): %r\n%s"
                                     % (self.proc.poll(), buf, self.log_text()))
            buf += chunk
        return buf.decode(errors="replace")

    def command(self, line, timeout=10):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        answer = self._read_line(timeout).strip()
        assert answer == "OK", "kafka-mock %r: %r" % (line, answer)

    def broker_down(self, broker_id):
        self.command("broker_down %d" % broker_id)

    def broker_up(self, broker_id):
        self.command("broker_up %d" % broker_id)

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            try:
                self.command("quit")
                self.proc.wait(10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)


# --- messages -------------------------------------------------------------------------------

class Msg:
    """One Kafka message of a workload and, once delivered, where it landed. error: the
    rejected_event error_code it must get, or None for a valid event."""
    __slots__ = ("topic", "partition", "key", "value", "headers", "event_id", "error", "offset")

    def __init__(self, topic, partition, key, value, headers, event_id, error=None):
        self.topic, self.partition, self.key, self.value = topic, partition, key, value
        self.headers, self.event_id, self.error, self.offset = headers, event_id, error, None

    @property
    def coords(self):
        return (self.topic, self.partition, self.offset)


def _random_event(rng, subject):
    if rng.random() < 0.8:
        purposes = {"essential": True, "analytics": rng.random() < 0.5,
                    "advertising": rng.random() < 0.3, "functional": rng.random() < 0.5}
        return consent_event(event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                             purposes=purposes, account_id=subject, email=None,
                             surface=rng.choice(("banner", "preferences", "api")))
    return data_rights_event(event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                             right=rng.choice(("access", "erasure", "portability")),
                             request_id="dsr-%d" % rng.getrandbits(64),
                             email="%s@example.com" % subject)


def _invalid(rng, ev):
    """An event that decodes but fails validation: (value, headers, error_code)."""
    kind = rng.randrange(4)
    if kind == 0:
        ev.setdefault("consent", {"action": "customize", "notice": {"policy_version": "1"},
                                  "surface": "banner"})["purposes"] = {"essential": True, "telepathy": True}
        ev.pop("data_rights", None)
        return json.dumps(ev).encode(), JSON_HEADER, "unknown_purpose"
    if kind == 1:
        del ev["subject"]
        return pb.encode_event(ev), None, "missing_field"
    if kind == 2:
        ev["occurred_at"] = "2999-01-01T00:00:00Z"
        return pb.encode_event(ev), None, "occurred_at_in_future"
    ev["event_id"] = "not-a-uuid"
    return json.dumps(ev).encode(), JSON_HEADER, "invalid_value"


UNDECODABLE = (  # (value, headers, error_code)
    (b"\x0a\xff\x01garbage", None, "malformed_protobuf"),
    (b"{\"event_id\": ", JSON_HEADER, "malformed_json"),
    (b"", None, "empty_message"),
)


def workload(n, seed, topic=TOPIC, partitions=PARTITIONS, invalid_every=100, undecodable=0,
             subjects=5000):
    """n messages keyed by subject (partition = crc32(subject) % partitions, so one subject's
    events stay in order), half protobuf and half JSON (by header); every invalid_every-th is
    invalid, and `undecodable` of them are garbage, spread evenly."""
    rng = random.Random(seed)
    garbage = set(range(n // (undecodable + 1), n, n // (undecodable + 1))) if undecodable else set()
    out = []
    for i in range(n):
        subject = "u_%d" % rng.randrange(subjects)
        partition = zlib.crc32(subject.encode()) % partitions
        ev = _random_event(rng, subject)
        if i in garbage:
            value, headers, code = UNDECODABLE[len([g for g in garbage if g < i]) % len(UNDECODABLE)]
            out.append(Msg(topic, partition, subject.encode(), value, headers, None, code))
        elif invalid_every and i % invalid_every == invalid_every - 1:
            value, headers, code = _invalid(rng, ev)
            out.append(Msg(topic, partition, subject.encode(), value, headers, None, code))
        elif rng.random() < 0.5:
            out.append(Msg(topic, partition, subject.encode(), json.dumps(ev).encode(), JSON_HEADER,
                           ev["event_id"]))
        else:
            out.append(Msg(topic, partition, subject.encode(), pb.encode_event(ev), None,
                           ev["event_id"]))
    return out


class EventProducer:
    """Produces Msgs to explicit partitions (idempotent, so retries across broker outages
    neither duplicate nor reorder); delivery reports fill in each Msg's offset."""

    def __init__(self, bootstrap):
        self.p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                           "linger.ms": 5, "batch.num.messages": 5000,
                           "queue.buffering.max.messages": 500000, "message.timeout.ms": 180000,
                           "logger": client_log})
        self.errors = []
        self.delivered = 0
        self.sent = 0

    def _report(self, m, err, kmsg):
        if err is not None:
            self.errors.append("%s[%d]: %s" % (m.topic, m.partition, err))
        else:
            m.offset = kmsg.offset()
            self.delivered += 1

    def send(self, m):
        def report(err, kmsg):
            self._report(m, err, kmsg)
        kw = {"partition": m.partition, "key": m.key, "on_delivery": report}
        if m.headers:
            kw["headers"] = m.headers
        while True:
            try:
                self.p.produce(m.topic, m.value, **kw)
                break
            except BufferError:
                self.p.poll(0.05)
        self.sent += 1
        if self.sent % 500 == 0:
            self.p.poll(0)

    def flush(self, timeout=120):
        deadline = time.monotonic() + timeout
        while self.p.flush(1.0) > 0:
            assert time.monotonic() < deadline, "producer: %d messages undelivered after %d s" % (
                len(self.p), timeout)
        assert not self.errors, "delivery failed: %s" % self.errors[:10]
        assert self.delivered == self.sent, (self.delivered, self.sent)


class Feeder(threading.Thread):
    """Produces msgs in slices while consentd consumes, never more than max_backlog ahead of
    what the ledger has processed (appended + rejected), so that no mock partition drops a
    message before it is consumed and committed. Fails if processing stalls for stall_timeout."""

    def __init__(self, ks, msgs, max_backlog=16000, slice_size=2000, stall_timeout=120):
        super().__init__(daemon=True)
        self.ks, self.msgs = ks, msgs
        self.max_backlog, self.slice_size, self.stall_timeout = max_backlog, slice_size, stall_timeout
        self.error = None
        self.t_first = None
        self.produced = 0

    def run(self):
        try:
            conn = [None]
            base = self.ks.processed_safe(conn) or 0
            last, last_change = base, time.monotonic()
            for start in range(0, len(self.msgs), self.slice_size):
                while True:
                    done = self.ks.processed_safe(conn)
                    now = time.monotonic()
                    if done is not None and done != last:
                        last, last_change = done, now
                    if self.produced - (last - base) <= self.max_backlog:
                        break
                    if now - last_change > self.stall_timeout:
                        raise AssertionError("no progress for %d s at %d processed, %d produced"
                                             % (self.stall_timeout, last - base, self.produced))
                    self.ks.producer.p.poll(0.05)
                if self.t_first is None:
                    self.t_first = time.monotonic()
                for m in self.msgs[start:start + self.slice_size]:
                    self.ks.producer.send(m)
                self.produced += len(self.msgs[start:start + self.slice_size])
                self.ks.producer.p.poll(0)
            self.ks.producer.flush()
            if conn[0] is not None:
                conn[0].close()
        except BaseException as e:  # reported by finish()
            self.error = e

    def finish(self, timeout=300):
        self.join(timeout)
        assert not self.is_alive(), "feeder still producing after %d s" % timeout
        if self.error is not None:
            raise self.error


# --- consentd with Kafka, and the checks ---------------------------------------------------

class KafkaSite:
    """A test's mock cluster, producer and consentd factory, sharing env's database."""

    def __init__(self, mock, env, consentd_factory):
        self.mock, self.env, self.consentd_factory = mock, env, consentd_factory
        self.producer = EventProducer(mock.bootstrap)
        self._clients = []

    def kafka_config(self, **extra):
        cfg = {
            "brokers": self.mock.bootstrap,
            "topics": "%s, %s" % (TOPIC, JSON_TOPIC),
            "json_topics": JSON_TOPIC,
            "group_id": GROUP,
            "dead_letter_topic": DLQ,
            # The mock waits session.timeout - 1 s for members to rejoin at each rebalance, and
            # a killed member is noticed after session.timeout: keep both short.
            "property.session.timeout.ms": "3000",
            "property.heartbeat.interval.ms": "500",
        }
        cfg.update(extra)
        return cfg

    def start(self, allow_errors=(), kafka=None, overrides=None, wait_assigned=True):
        """A consentd consuming the mock's topics; by default waits until the group gave it
        partitions (the mock delays a group's first assignment by 3 s)."""
        o = {"kafka": self.kafka_config(**(kafka or {}))}
        o.update(overrides or {})
        d = self.consentd_factory(overrides=o, allow_errors=allow_errors)
        if wait_assigned:
            wait_for("%s to be assigned partitions" % d.name,
                     lambda: log_count(d, r"assigned [1-9]\d* partitions"), 30)
        return d

    # progress, as the database says
    def processed_safe(self, conn):
        """appended + rejected, on a connection kept in conn[0]; None while the database is
        unreachable."""
        try:
            if conn[0] is None or conn[0].closed:
                conn[0] = self.env.connect()
            with conn[0].cursor() as cur:
                cur.execute("SELECT (SELECT seq FROM ledger_head WHERE id = 1) + "
                            "(SELECT count(*) FROM rejected_event)")
                return cur.fetchone()[0]
        except psycopg2.Error:
            if conn[0] is not None:
                conn[0].close()
                conn[0] = None
            return None

    def counts(self):
        (appended, rejected), = self.env.sql(
            "SELECT (SELECT seq FROM ledger_head WHERE id = 1), (SELECT count(*) FROM rejected_event)")
        return appended, rejected

    def wait_processed(self, msgs, timeout):
        """Until every valid msg is appended and every invalid one rejected (by count);
        returns the time it was seen."""
        valid = sum(1 for m in msgs if m.error is None)
        invalid = len(msgs) - valid

        last = [None]

        def done():
            a, r = last[0] = self.counts()
            assert a <= valid, "%d appended, only %d valid events were sent" % (a, valid)
            return a == valid and r >= invalid

        try:
            wait_for("%d appended and %d rejected" % (valid, invalid), done, timeout, interval=0.05)
        except AssertionError as e:
            raise AssertionError("%s; (appended, rejected) = %r at the end" % (e, last[0])) from None
        return time.monotonic()

    def check_ledger(self, msgs, other_rejects=0):
        """Exactly once, gapless, source coordinates as delivered, partition order, every bad
        message in rejected_event with its error code and bytes, chain verifies."""
        assert all(m.offset is not None for m in msgs), "undelivered messages"
        valid = {m.event_id: m for m in msgs if m.error is None}
        rows = self.env.sql("SELECT seq, event_id::text, entry FROM audit_log ORDER BY seq")
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "seq has gaps"
        ids = [r[1] for r in rows]
        assert len(set(ids)) == len(ids), "an event_id is in audit_log twice"
        missing = set(valid) - set(ids)
        extra = set(ids) - set(valid)
        assert not missing and not extra, "%d valid events missing (e.g. %s), %d unexpected" % (
            len(missing), sorted(missing)[:3], len(extra))
        last = {}
        for seq, event_id, entry in rows:
            eseq, eid, src = pb.decode_entry(bytes(entry))
            m = valid[event_id]
            assert (eseq, eid, src["kind"]) == (seq, event_id, "kafka"), (seq, eseq, eid, src)
            got = (src["topic"], src["partition"], src["offset"])
            assert got == m.coords, "seq %d: source %r, delivered at %r" % (seq, got, m.coords)
            key = (m.topic, m.partition)
            assert last.get(key, -1) < m.offset, "seq %d: %s[%d] offset %d after offset %d" % (
                seq, m.topic, m.partition, m.offset, last[key])
            last[key] = m.offset
        bad = {m.coords: m for m in msgs if m.error is not None}
        rejected = self.env.sql("SELECT source, topic, partition, kafka_offset, error_code, payload "
                                "FROM rejected_event")
        assert len(rejected) == len(bad) + other_rejects, (len(rejected), len(bad), other_rejects)
        for source, topic, partition, offset, code, payload in rejected:
            m = bad.pop((topic, partition, offset), None)
            if m is None:
                continue  # one of other_rejects, checked by the caller
            assert source == "kafka" and code == m.error and bytes(payload) == m.value, (
                topic, partition, offset, code, m.error)
        assert not bad, "not in rejected_event: %s" % sorted(bad)[:5]
        self.verify()
        return len(rows)

    def verify(self):
        p = self.env.ctl.run("verify", "--conninfo", self.env.super_conninfo(), timeout=120)
        assert p.returncode == 0, "consentctl verify exited %d:\n%s%s" % (p.returncode, p.out, p.err)

    def consumer(self, group=None, **conf):
        c = Consumer(dict({"bootstrap.servers": self.mock.bootstrap,
                           "group.id": group or "check-%s" % uuid.uuid4(),
                           "enable.auto.commit": False, "auto.offset.reset": "earliest",
                           "logger": client_log}, **conf))
        self._clients.append(c)
        return c

    def dead_letters(self, expected, timeout=60):
        """Reads the dead-letter topic until it holds a copy of every msg in expected (a copy
        may come twice after a redelivery); checks headers and bytes; returns {coords: headers}."""
        want = {m.coords: m for m in expected}
        c = self.consumer()
        c.assign([TopicPartition(DLQ, p, OFFSET_BEGINNING) for p in range(TOPICS[DLQ])])
        seen = {}
        deadline = time.monotonic() + timeout
        while set(want) - set(seen) and time.monotonic() < deadline:
            km = c.poll(0.5)
            if km is None or km.error():
                continue
            h = {k: v.decode() for k, v in (km.headers() or [])}
            coords = (h.get("consentd-source-topic"), int(h.get("consentd-source-partition", -9)),
                      int(h.get("consentd-source-offset", -9)))
            seen[coords] = h
            m = want.get(coords)
            if m is not None:
                assert h.get("consentd-error-code") == m.error, (coords, h, m.error)
                assert h.get("consentd-error-message"), h
                assert (km.value() or b"") == m.value, coords
        missing = set(want) - set(seen)
        assert not missing, "%d of %d rejected messages not in %s, e.g. %s" % (
            len(missing), len(want), DLQ, sorted(missing)[:5])
        return seen

    def wait_committed(self, msgs, timeout=30):
        """The group's committed offset of every partition reaches its last message + 1."""
        end = {}
        for m in msgs:
            end[(m.topic, m.partition)] = max(end.get((m.topic, m.partition), 0), m.offset + 1)
        c = self.consumer(group=GROUP)
        tps = [TopicPartition(t, p) for t, p in sorted(end)]

        def committed():
            got = {(tp.topic, tp.partition): tp.offset for tp in c.committed(tps, timeout=10)}
            return all(got[k] >= v for k, v in end.items()) and got

        try:
            wait_for("committed offsets %r" % end, committed, timeout, interval=0.5)
        finally:
            c.close()
            self._clients.remove(c)

    def close(self):
        for c in self._clients:
            c.close()
        self.producer.p.flush(5)


@pytest.fixture
def kafka_mock(request, tmp_path):
    m = KafkaMock(str(tmp_path))
    add_log(request.node, "kafka-mock log", m.log_text)
    yield m
    m.close()


@pytest.fixture
def ks(kafka_mock, consentd, env):
    """KafkaSite. Depends on kafka_mock before consentd, so the daemons are stopped (and
    commit, and leave the group) before the cluster goes away."""
    s = KafkaSite(kafka_mock, env, consentd)
    yield s
    s.close()


def kill9(d):
    """SIGKILL, and tell the consentd fixture's teardown that this death was on purpose."""
    d.kill()
    d.returncode = d.proc.returncode
    d.exit_reported = True


def stop(d):
    """SIGTERM; consentd must exit 0 within the fixture's stop timeout."""
    problem = d.stop()
    assert problem is None, problem
    d.exit_reported = True  # stopped on purpose: nothing for the fixture's teardown to report


def log_count(d, pattern, start=0):
    """How many times a regex matches d's log from byte offset start."""
    with open(d.logfile, "rb") as f:
        f.seek(start)
        return len(re.findall(pattern, f.read().decode(errors="replace")))
