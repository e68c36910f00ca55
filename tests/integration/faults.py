"""The fault suite's machinery (test_faults.py): continuous HTTP and Kafka load against the real
consentd, an oracle of what was acknowledged (HTTP 2xx answers; Kafka offsets the consumer group
committed), peak RSS from /proc, and the end-of-scenario check: every acknowledged event_id in
audit_log exactly once, with the seq and leaf_hash it was acknowledged with, every Kafka message
appended or rejected once, `consentctl verify` with the signing key and the external checkpoints.
Each scenario yields one summary row; the rows are printed at the end and written to a file."""

import http.client
import json
import os
import random
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import psycopg2
from confluent_kafka import Consumer, KafkaException, TopicPartition

import pb
from events import consent_event, data_rights_event
from kafka import GROUP, PARTITIONS, TOPIC, EventProducer, client_log, wait_for, workload

REQUEST_TIMEOUT = 3.0        # [http] request_timeout of every daemon here
ANSWER_SLACK = 2.5           # an answer may come this much after request_timeout (a busy host)
CLIENT_TIMEOUT = REQUEST_TIMEOUT + 7.0   # no answer by then: the daemon hangs
SHUTDOWN_TIMEOUT = 10.0      # [daemon] shutdown_timeout
# How long the last daemon may take to append every Kafka message produced. A liveness bound,
# not a speed check: after 20 kill -9s the group first waits out the dead members' sessions, and
# an ASan build on a loaded CI machine consumes a few thousand messages a second at best.
SETTLE_TIMEOUT = 240.0
ORIGIN = "faults.consentd.test/ledger"
MIB = 1 << 20


# --- peak RSS -------------------------------------------------------------------------------

def proc_status(pid, field):
    """VmHWM, VmRSS, ... of a process in bytes; None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def sanitized(binary):
    """True for an ASan build: its shadow memory and quarantine inflate RSS severalfold."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


# --- HTTP load --------------------------------------------------------------------------------

class Answer:
    """One POST: when it started and ended (monotonic), and how it ended."""
    __slots__ = ("t0", "t1", "status", "retry_after", "code", "kind")

    def __init__(self, t0, t1, status=None, retry_after=None, code=None, kind="answer"):
        self.t0, self.t1, self.status, self.retry_after = t0, t1, status, retry_after
        self.code, self.kind = code, kind


class HttpLoad:
    """A few client threads posting single events and batches to whichever daemon the site
    runs now. 2xx answers are the HTTP half of the oracle ({event_id: (seq, leaf_hash)}); events
    answered otherwise (or cut off by a kill) are re-sent later with the same event_id, and a
    few acknowledged ones are re-sent to check that the duplicate answer names the same entry."""

    def __init__(self, site, rng, threads=3, pause=0.01):
        self.site = site
        self.rng = random.Random(rng.getrandbits(64))
        self.n_threads, self.pause = threads, pause
        self.lock = threading.Lock()
        self.acked = {}        # event_id -> (seq, leaf_hash hex)
        self.events = {}       # event_id -> the event as sent (for re-sends)
        self.unsure = []       # event_ids answered 503 or cut off: outcome unknown
        self.answers = []      # Answer, in completion order
        self.problems = []     # contract violations, reported by check()
        self.stop_ev = threading.Event()
        self.threads = []

    def start(self):
        for i in range(self.n_threads):
            t = threading.Thread(target=self._run, args=(random.Random(self.rng.getrandbits(64)),),
                                 name="http-load-%d" % i, daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(CLIENT_TIMEOUT + 5)
            assert not t.is_alive(), "an HTTP load thread is stuck"

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)

    def _new_event(self, rng):
        if rng.random() < 0.85:
            purposes = {"essential": True, "analytics": rng.random() < 0.5,
                        "advertising": rng.random() < 0.3, "functional": rng.random() < 0.5}
            return consent_event(event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                 account_id="h_%d" % rng.randrange(2000), email=None,
                                 purposes=purposes)
        return data_rights_event(event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                 request_id="dsr-h-%x" % rng.getrandbits(64), right="access",
                                 email="h%d@example.com" % rng.randrange(2000))

    def _pick(self, rng):
        """The events of the next request: mostly new ones; some re-sent."""
        with self.lock:
            if self.unsure and rng.random() < 0.3:
                return [self.events[self.unsure.pop(rng.randrange(len(self.unsure)))]]
            if self.acked and rng.random() < 0.02:
                return [self.events[rng.choice(list(self.acked))]]
        n = 1 if rng.random() < 0.6 else rng.randint(2, 25)
        evs = [self._new_event(rng) for _ in range(n)]
        with self.lock:
            for ev in evs:
                self.events[ev["event_id"]] = ev
        return evs

    def _post(self, port, body):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
        try:
            conn.request("POST", "/v1/events", body=body, headers={
                "Authorization": "Bearer " + self.site.env.token,
                "Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, r.getheader("Retry-After"), r.read()
        finally:
            conn.close()

    def _run(self, rng):
        while not self.stop_ev.is_set():
            d = self.site.daemon
            if d is None:
                time.sleep(0.05)
                continue
            evs = self._pick(rng)
            batch = len(evs) > 1 or rng.random() < 0.1
            body = json.dumps(evs if batch else evs[0])
            t0 = time.monotonic()
            try:
                status, retry_after, raw = self._post(d.port, body)
            except socket.timeout:
                a = Answer(t0, time.monotonic(), kind="hang")
                self.problem("no answer within %.0f s from %s (%d events)" % (
                    CLIENT_TIMEOUT, d.name, len(evs)))
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                # refused (stopped, killed, draining) or cut off by a kill: outcome unknown
                a = Answer(t0, time.monotonic(), kind="refused" if isinstance(
                    e, ConnectionRefusedError) else "cut")
                status = None
            else:
                a = Answer(t0, time.monotonic(), status, retry_after)
                self._judge(a, evs, batch, raw)
            with self.lock:
                self.answers.append(a)
                if a.status not in (200, 201):
                    self.unsure.extend(ev["event_id"] for ev in evs
                                       if ev["event_id"] not in self.acked)
            if a.status == 503 or status is None:
                time.sleep(0.1)
            elif self.pause:
                time.sleep(self.pause * rng.random() * 2)

    def _judge(self, a, evs, batch, raw):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if a.t1 - a.t0 > REQUEST_TIMEOUT + ANSWER_SLACK:
            self.problem("HTTP %d after %.1f s (request_timeout %.0f s)" % (
                a.status, a.t1 - a.t0, REQUEST_TIMEOUT))
        if a.status == 503:
            a.code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
            if not (a.retry_after and a.retry_after.strip().isdigit()):
                self.problem("503 without a Retry-After: %r" % raw[:200])
            if a.code not in ("database_unavailable", "overloaded"):
                self.problem("503 with code %r: %r" % (a.code, raw[:200]))
            return
        if a.status not in (200, 201):
            self.problem("unexpected HTTP %d: %r" % (a.status, raw[:300]))
            return
        results = body.get("results") if batch and isinstance(body, dict) else [body]
        if not isinstance(results, list) or len(results) != len(evs):
            self.problem("HTTP %d with a malformed body: %r" % (a.status, raw[:300]))
            return
        with self.lock:
            for ev, res in zip(evs, results):
                eid = ev["event_id"]
                got = (res.get("seq"), res.get("leaf_hash"))
                if res.get("event_id") != eid:
                    self.problems.append("result for %s names %s" % (eid, res.get("event_id")))
                elif eid in self.acked and self.acked[eid] != got:
                    self.problems.append("%s acknowledged as seq %r, later as seq %r" % (
                        eid, self.acked[eid][0], got[0]))
                else:
                    self.acked[eid] = got

    # views of the answers, for the scenarios' assertions
    def between(self, t0, t1):
        """Answers to requests started in [t0, t1)."""
        with self.lock:
            return [a for a in self.answers if t0 <= a.t0 < t1]

    def acked_after(self, t):
        with self.lock:
            return sum(1 for a in self.answers if a.t0 >= t and a.status in (200, 201))


# --- Kafka load and the committed offsets --------------------------------------------------

class KafkaLoad(threading.Thread):
    """Produces generated events (about one in 150 invalid: rejected_event) at a steady rate,
    keyed by subject so that partition order is meaningful; remembers every message and, once
    delivered, its offset."""

    def __init__(self, ks, rng, rate=300):
        super().__init__(name="kafka-load", daemon=True)
        self.producer = EventProducer(ks.mock.bootstrap)
        self.seed = rng.getrandbits(32)
        self.rate = rate
        self.msgs = []
        self.stop_ev = threading.Event()
        self.error = None

    def run(self):
        try:
            chunk, step, t_next = 0, max(1, self.rate // 10), time.monotonic()
            pending = []
            while not self.stop_ev.is_set():
                if not pending:
                    pending = workload(2000, self.seed + chunk, invalid_every=150, subjects=3000)
                    chunk += 1
                for m in pending[:step]:
                    self.producer.send(m)
                    self.msgs.append(m)
                del pending[:step]
                self.producer.p.poll(0)
                t_next += 0.1
                self.stop_ev.wait(max(0.0, t_next - time.monotonic()))
        except BaseException as e:  # reported by stop()
            self.error = e

    def stop(self):
        self.stop_ev.set()
        self.join(30)
        assert not self.is_alive(), "the Kafka load thread is stuck"
        if self.error is not None:
            raise self.error
        self.producer.flush(timeout=120)

    def valid(self):
        return [m for m in self.msgs if m.error is None]


class Committed(threading.Thread):
    """Samples the consumer group's committed offsets every second (OffsetFetch only: it does
    not join the group) and keeps the highest per partition: offset < committed means the
    message was acknowledged."""

    def __init__(self, ks):
        super().__init__(name="committed-offsets", daemon=True)
        self.consumer = Consumer({"bootstrap.servers": ks.mock.bootstrap, "group.id": GROUP,
                                  "enable.auto.commit": False, "logger": client_log})
        self.tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        self.high = {}
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()

    def sample(self, timeout=5):
        try:
            got = self.consumer.committed(self.tps, timeout=timeout)
        except KafkaException:
            return None  # brokers down: try again later
        out = {}
        with self.lock:
            for tp in got:
                if tp.offset >= 0 and not tp.error:
                    key = (tp.topic, tp.partition)
                    out[key] = tp.offset
                    self.high[key] = max(self.high.get(key, 0), tp.offset)
        return out

    def run(self):
        while not self.stop_ev.wait(1.0):
            self.sample()

    def stop(self):
        self.stop_ev.set()
        if self.ident is not None:
            self.join(15)
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None

    def acked(self, msgs):
        with self.lock:
            return [m for m in msgs if m.offset is not None and
                    m.offset < self.high.get((m.topic, m.partition), 0)]


# --- the summary --------------------------------------------------------------------------

class Summary:
    COLUMNS = ("scenario", "acknowledged", "found", "duplicates", "peak RSS")

    def __init__(self, seed):
        self.seed = seed
        self.rows = []
        self.notes = []
        self.t0 = time.monotonic()

    def add(self, row):
        self.rows.append(row)
        return self.line(row)

    @staticmethod
    def line(row):
        return "| " + " | ".join(str(row[c]) for c in Summary.COLUMNS) + " |"

    def render(self):
        out = ["Fault suite (seed %d, FAULT_SEED=%d reproduces the choices), %.0f s" % (
            self.seed, self.seed, time.monotonic() - self.t0), "",
            "| " + " | ".join(self.COLUMNS) + " |",
            "|" + "|".join("---" for _ in self.COLUMNS) + "|"]
        out += [self.line(r) for r in self.rows]
        out += [""] + self.notes if self.notes else []
        return "\n".join(out) + "\n"


def summary_path():
    """$FAULT_SUMMARY (meson sets it to the build dir), else next to the consentd binary's
    build dir."""
    if os.environ.get("FAULT_SUMMARY"):
        return os.environ["FAULT_SUMMARY"]
    binary = os.environ.get("CONSENTD_BIN")
    if binary:
        return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(binary))),
                            "faults-summary.md")
    return os.path.join(tempfile.gettempdir(), "consentd-faults-summary.md")


# --- a tiny filesystem for the disk-full scenario -------------------------------------------

def mount_probe():
    """None if this process may mount a tmpfs (root with CAP_SYS_ADMIN, not in a container that
    forbids it), else why not."""
    if os.geteuid() != 0:
        return "not root: mounting a filesystem needs CAP_SYS_ADMIN"
    d = tempfile.mkdtemp(prefix="consentd-mount-probe-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
        if p.returncode != 0:
            return "mount -t tmpfs refused: %s" % p.stdout.decode(errors="replace").strip()
        subprocess.run(["umount", d], timeout=20, check=True)
        return None
    except (OSError, subprocess.SubprocessError) as e:
        return "mount -t tmpfs failed: %s" % e
    finally:
        os.rmdir(d)


# --- the site of one scenario ---------------------------------------------------------------

class FaultSite:
    """One scenario: the database (env), the mock cluster and producer (ks), the consentd
    factory, the current daemon, the load, the oracle and the peak RSS."""

    def __init__(self, env, ks, consentd_factory, rng, summary):
        self.env, self.ks, self.factory, self.rng, self.summary = env, ks, consentd_factory, rng, summary
        self.daemon = None
        self.daemons = []
        self.peak_rss = 0
        self.asan = sanitized(env.binaries.consentd)
        self.key_file = os.path.join(env.dir, "checkpoint.key")
        self.verifier_file = os.path.join(env.dir, "verifier.pub")
        verifier = env.ctl.check("keygen", ORIGIN, "--out", self.key_file).out.strip()
        with open(self.verifier_file, "w") as f:
            f.write(verifier + "\n")
        self.cp_dir = os.path.join(env.dir, "published")
        os.mkdir(self.cp_dir)
        self.cp_file = os.path.join(self.cp_dir, "checkpoints")
        self.http = HttpLoad(self, rng)
        self.kafka = KafkaLoad(ks, rng)
        self.committed = Committed(ks)
        self.allow_errors = ()

    # daemons
    def start_daemon(self, wait_assigned=False, overrides=None, kafka=None):
        o = {"http": {"request_timeout": "%ds" % REQUEST_TIMEOUT},
             "postgres": {"connect_timeout": "2s"},
             "daemon": {"shutdown_timeout": "%ds" % SHUTDOWN_TIMEOUT},
             "ledger": {"signing_key_file": self.key_file, "checkpoint_dir": self.cp_dir,
                        "origin": ORIGIN, "checkpoint_interval": "500ms"},
             "log": {"level": os.environ.get("FAULT_LOG_LEVEL", "info")}}
        for section, keys in (overrides or {}).items():
            o.setdefault(section, {}).update(keys)
        d = self.ks.start(allow_errors=self.allow_errors, kafka=kafka, overrides=o,
                          wait_assigned=wait_assigned)
        self.daemons.append(d)
        self.daemon = d
        return d

    def note_rss(self, d):
        hwm = proc_status(d.proc.pid, "VmHWM") if d.alive() else None
        if hwm:
            self.peak_rss = max(self.peak_rss, hwm)
        return hwm

    def kill9(self):
        d, self.daemon = self.daemon, None
        self.note_rss(d)
        d.kill()
        d.returncode = d.proc.returncode
        d.exit_reported = True

    def sigterm(self, timeout=SHUTDOWN_TIMEOUT + 10):
        """SIGTERM the current daemon; it must exit 0 by itself. Returns seconds it took."""
        d, self.daemon = self.daemon, None
        self.note_rss(d)
        t0 = time.monotonic()
        problem = d.stop(timeout=timeout)
        took = time.monotonic() - t0
        d.exit_reported = True
        assert problem is None, problem
        return took

    def errors_expected(self):
        """Error lines of the current daemon inside the block are part of the fault."""
        return self.daemon.errors_expected()

    # load
    def start_load(self):
        self.http.start()
        self.kafka.start()
        self.committed.start()

    def warm_up(self, acks=50, timeout=60):
        t = time.monotonic()
        wait_for("%d HTTP acknowledgements" % acks, lambda: self.http.acked_after(t) >= acks,
                 timeout)

    def wait_http_recovered(self, since, timeout=30):
        """The daemon recovers by itself: HTTP 2xx again, for requests sent after `since`."""
        wait_for("HTTP 2xx again after the fault", lambda: self.http.acked_after(since) >= 5,
                 timeout, interval=0.2)

    def readyz(self):
        try:
            return self.daemon.request("GET", "/readyz", timeout=REQUEST_TIMEOUT).status
        except OSError:
            return None

    # the end of a scenario
    def settle(self, timeout=SETTLE_TIMEOUT, steady=2.0):
        """Lets the load run `steady` seconds more (after the recovery) and stops it. Then, with a
        daemon running, every Kafka message produced must be appended or rejected (Kafka
        redelivers what was not committed); the daemon is stopped with SIGTERM and the group's
        committed offsets must reach the end of every partition."""
        time.sleep(steady)
        self.http.stop()
        self.kafka.stop()
        if self.daemon is None:
            self.start_daemon()
        valid = [m.event_id for m in self.kafka.valid()]
        invalid = [m for m in self.kafka.msgs if m.error is not None]

        def done():
            (n,), = self.env.sql("SELECT count(*) FROM audit_log WHERE event_id = ANY(%s::uuid[])",
                                 (valid,))
            (r,), = self.env.sql("SELECT count(*) FROM rejected_event WHERE source = 'kafka'")
            return n == len(valid) and r >= len(invalid)
        try:
            wait_for("every produced Kafka message appended or rejected", done, timeout,
                     interval=0.2)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.kafka_gaps())) from None
        self.sigterm()
        end = {}
        for m in self.kafka.msgs:
            end[(m.topic, m.partition)] = max(end.get((m.topic, m.partition), 0), m.offset + 1)
        wait_for("the committed offsets at the end of every partition", lambda: all(
            (self.committed.sample() or {}).get(k, 0) >= v for k, v in end.items()), 30,
            interval=0.5)
        self.committed.stop()

    def kafka_gaps(self):
        """Which valid Kafka messages are not in audit_log, and whether the group committed past
        them (then they were acknowledged and lost, not merely late)."""
        stored = {e for (e,) in self.env.sql(
            "SELECT event_id::text FROM audit_log WHERE event_id = ANY(%s::uuid[])",
            ([m.event_id for m in self.kafka.valid()],))}
        committed = self.committed.sample() or {}
        lines = ["committed offsets: %s" % sorted(committed.items())]
        by_part = {}
        for m in self.kafka.valid():
            if m.event_id not in stored:
                by_part.setdefault((m.topic, m.partition), []).append(m.offset)
        for key, offsets in sorted(by_part.items()):
            lost = [o for o in offsets if o < committed.get(key, 0)]
            lines.append("%s[%d]: %d missing (offsets %s), %d of them below the committed offset "
                         "%s" % (key[0], key[1], len(offsets), offsets[:12], len(lost),
                                 committed.get(key)))
        return "\n".join(lines)

    def check(self, name, rss_ceiling=None):
        """The oracle against the ledger; returns (and records) the scenario's summary row."""
        with self.http.lock:
            http_acked = dict(self.http.acked)
            problems = list(self.http.problems)
        kafka_acked = {m.event_id: m for m in self.committed.acked(self.kafka.valid())}
        ids = list(http_acked) + list(kafka_acked)
        found = {}
        for eid, seq, leaf, n in self.env.sql(
                "SELECT event_id::text, min(seq), encode((array_agg(leaf_hash))[1], 'hex'), count(*) "
                "FROM audit_log WHERE event_id = ANY(%s::uuid[]) GROUP BY event_id", (ids,)):
            found[eid] = (seq, leaf, n)
        (total, distinct), = self.env.sql("SELECT count(*), count(DISTINCT event_id) FROM audit_log")
        duplicates = sum(n - 1 for _, _, n in found.values()) + (total - distinct)
        row = {"scenario": name,
               "acknowledged": "%d (http %d, kafka %d)" % (len(ids), len(http_acked), len(kafka_acked)),
               "found": len(found), "duplicates": duplicates,
               "peak RSS": "%.1f MiB" % (self.peak_rss / MIB)}
        self.summary_line = self.summary.add(row)
        kinds = {}
        for a in self.http.answers:
            k = a.status or a.kind
            kinds[k] = kinds.get(k, 0) + 1
        print("HTTP requests by outcome: %s; Kafka messages produced: %d" % (
            ", ".join("%s: %d" % kv for kv in sorted(kinds.items(), key=str)), len(self.kafka.msgs)))
        missing = [e for e in ids if e not in found]
        wrong = ["%s: acknowledged as seq %s, stored at seq %s" % (e, http_acked[e][0], found[e][0])
                 for e in http_acked if e in found and
                 (found[e][0], found[e][1]) != tuple(http_acked[e])]
        assert not problems, "HTTP contract violations:\n" + "\n".join(problems)
        assert not missing, "%d acknowledged events are not in audit_log, e.g. %s" % (
            len(missing), missing[:5])
        assert duplicates == 0, "%d duplicates in audit_log" % duplicates
        assert not wrong, "answers that name another entry:\n" + "\n".join(wrong[:10])
        self.check_kafka_rows()
        self.verify()
        ceiling = rss_ceiling or (1024 if self.asan else 128) * MIB
        assert 0 < self.peak_rss <= ceiling, "peak RSS %.1f MiB (ceiling %.0f MiB)" % (
            self.peak_rss / MIB, ceiling / MIB)
        return row

    def check_kafka_rows(self):
        """Every message once: valid ones in audit_log from their own coordinates and in partition
        order (a later event of a subject never before an earlier one), invalid ones in
        rejected_event once each."""
        rows = self.env.sql("SELECT seq, event_id::text, entry FROM audit_log "
                            "WHERE event_id = ANY(%s::uuid[]) ORDER BY seq",
                            ([m.event_id for m in self.kafka.valid()],))
        by_id = {m.event_id: m for m in self.kafka.valid()}
        last = {}
        for seq, eid, entry in rows:
            _, _, src = pb.decode_entry(bytes(entry))
            m = by_id[eid]
            assert (src["topic"], src["partition"], src["offset"]) == m.coords, (eid, src)
            key = (m.topic, m.partition)
            assert last.get(key, -1) < m.offset, "seq %d: %s[%d] offset %d after offset %d" % (
                seq, m.topic, m.partition, m.offset, last[key])
            last[key] = m.offset
        rejected = {}
        for t, p, o, n in self.env.sql("SELECT topic, partition, kafka_offset, count(*) FROM "
                                       "rejected_event WHERE source = 'kafka' GROUP BY 1, 2, 3"):
            rejected[(t, p, o)] = n
        bad = [m.coords for m in self.kafka.msgs if m.error is not None]
        assert all(rejected.get(c) == 1 for c in bad), "rejected messages not recorded once"
        assert len(rejected) == len(bad), (len(rejected), len(bad))

    def verify(self):
        p = self.env.ctl.run("verify", "--conninfo", self.env.super_conninfo(), "--key",
                             self.verifier_file, "--checkpoints", self.cp_file, timeout=120)
        assert p.returncode == 0, "consentctl verify exited %d:\n%s%s" % (p.returncode, p.out, p.err)
        return p.out.strip()

    def close(self):
        """Whatever a failed scenario left running."""
        self.http.stop_ev.set()
        self.kafka.stop_ev.set()
        for t in self.http.threads + [self.kafka]:
            if t.ident is not None:
                t.join(CLIENT_TIMEOUT + 5)
        self.committed.stop()


def terminate_sessions(env, role, keep=()):
    """Ends every session of `role` in env's database except the backends in keep."""
    env.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s AND "
            "datname = %s AND pid <> ALL(%s::int[])", (role, env.dbname, list(keep)))


def log_has(d, pattern, start=0):
    with open(d.logfile, "rb") as f:
        f.seek(start)
        return re.search(pattern, f.read().decode(errors="replace")) is not None


def connect_as(env, role):
    return psycopg2.connect(host=env.cluster.sockdir, port=env.cluster.port, dbname=env.dbname,
                            user=role, connect_timeout=5)
