"""The fault suite (the "Hardening" issue): each scenario runs consentd under continuous HTTP and
Kafka load, injects one kind of fault, lets the daemon recover by itself, and then checks the
oracle: every event_id acknowledged (HTTP 2xx; Kafka offset committed by the group) is in
audit_log exactly once with the seq and leaf_hash it was acknowledged with, and `consentctl
verify` passes with the signing key and the external checkpoint file. Each scenario adds one row
(scenario, acknowledged, found, duplicates, peak RSS) to a summary printed at the end and
written to the build dir. The random choices (kill moments, outage lengths, load) come from one
seed, printed first; FAULT_SEED=N repeats them."""

import os
import random
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import APP_ROLE
from faults import (ORIGIN, REQUEST_TIMEOUT, SHUTDOWN_TIMEOUT, FaultSite, Summary, connect_as,
                    log_has, mount_probe, summary_path, terminate_sessions)
from kafka import kafka_mock, ks  # noqa: F401 (fixtures)
from kafka import wait_for

SEED = int(os.environ.get("FAULT_SEED") or random.SystemRandom().getrandbits(31))
KILL_CYCLES = 20
PG_OUTAGE = 10.0


def _say(config, lines):
    """Straight to the terminal, also from a fixture's teardown (where output is captured)."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if tr is None:
        return
    with capman.global_and_fixture_disabled():
        tr.write_line("")
        for line in lines:
            tr.write_line(line)


@pytest.fixture(scope="session")
def summary(request):
    s = Summary(SEED)
    _say(request.config, ["fault suite: seed %d (FAULT_SEED=%d repeats this run)" % (SEED, SEED)])
    yield s
    text = s.render()
    path = summary_path()
    with open(path, "w") as f:
        f.write(text)
    _say(request.config, text.splitlines() + ["(written to %s)" % path])


@pytest.fixture
def fs(request, ks, consentd, env, summary):  # noqa: F811 (ks is a fixture)
    site = FaultSite(env, ks, consentd, random.Random("%d:%s" % (SEED, request.node.name)), summary)
    yield site
    site.close()
    if getattr(site, "summary_line", None):
        _say(request.config, [site.summary_line])


def refused_during(fs, what, t_down, t_up, nothing_commits=True):
    """Requests sent and answered while the fault held: every one answered (503 + Retry-After
    within request_timeout, which the load checks), some 503. If nothing could commit then (the
    database stopped, its head locked), none of them may have been acknowledged. Adds a note on
    them to the summary."""
    window = [a for a in fs.http.between(t_down, t_up) if a.t1 <= t_up]
    assert all(a.kind == "answer" for a in window), "requests not answered during the fault: %s" % (
        sorted({a.kind for a in window}))
    refused = [a for a in window if a.status == 503]
    assert refused, "no request was answered 503 during the fault (%d sent)" % len(window)
    acked = [a for a in window if a.status in (200, 201)]
    if nothing_commits:
        assert not acked, "%d requests acknowledged while nothing could commit" % len(acked)
    fs.summary.notes.append("%s: %d requests answered 503 with Retry-After during the fault, the "
                            "slowest after %.2f s (request_timeout %.0f s)" % (
                                what, len(refused), max(a.t1 - a.t0 for a in refused),
                                REQUEST_TIMEOUT))


# --- kill -9 ------------------------------------------------------------------------------------

def test_kill9_at_random_moments(fs):
    """SIGKILL at random moments, KILL_CYCLES times, each followed by a restart."""
    # A killed member holds its partitions until its session times out: keep that short, so
    # that the group moves on within a cycle and Kafka is consumed between kills too.
    kafka = {"property.session.timeout.ms": "1500", "property.heartbeat.interval.ms": "300"}
    fs.start_daemon(kafka=kafka)
    fs.start_load()
    fs.warm_up()
    for _ in range(KILL_CYCLES):
        time.sleep(fs.rng.uniform(0.2, 3.0))
        fs.kill9()
        time.sleep(fs.rng.uniform(0.0, 0.5))
        fs.start_daemon(kafka=kafka)
    fs.wait_http_recovered(time.monotonic())
    fs.committed.sample()
    fs.summary.notes.append("kill -9: %d Kafka messages committed by the group while the kills "
                            "went on, of %d produced" % (len(fs.committed.acked(fs.kafka.msgs)),
                                                         len(fs.kafka.msgs)))
    fs.settle()
    fs.check("kill -9 x%d, restart" % KILL_CYCLES)


# --- PostgreSQL ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_stopped_for_10s(fs, pg_cluster, mode):
    """PostgreSQL stopped for PG_OUTAGE seconds: 503 + Retry-After within request_timeout,
    /readyz 503, Kafka waits; recovery by itself once it is back."""
    fs.start_daemon()
    fs.start_load()
    fs.warm_up()
    ready_states = set()
    with fs.errors_expected():
        pg_cluster.stop(mode)
        t_down = time.monotonic()
        try:
            while time.monotonic() - t_down < PG_OUTAGE:
                ready_states.add(fs.readyz())
                fs.note_rss(fs.daemon)
                time.sleep(0.5)
        finally:
            t_up = time.monotonic()
            pg_cluster.start()
        fs.wait_http_recovered(time.monotonic())
        wait_for("/readyz 200 again", lambda: fs.readyz() == 200, 30, interval=0.2)
    assert 503 in ready_states and None not in ready_states, ready_states
    refused_during(fs, "PostgreSQL stopped (%s)" % mode, t_down, t_up)
    fs.settle()
    fs.check("PostgreSQL stopped (%s) %.0f s" % (mode, PG_OUTAGE))


def test_postgres_restarted_in_a_loop(fs, pg_cluster):
    fs.start_daemon()
    fs.start_load()
    fs.warm_up()
    with fs.errors_expected():
        for i in range(6):
            pg_cluster.stop("immediate" if i % 2 else "fast")
            try:
                time.sleep(fs.rng.uniform(0.2, 2.0))
            finally:
                pg_cluster.start()
            fs.note_rss(fs.daemon)
            time.sleep(fs.rng.uniform(0.5, 2.5))
        fs.wait_http_recovered(time.monotonic())
    fs.settle()
    fs.check("PostgreSQL restarted x6 (fast/immediate)")


# --- Kafka ----------------------------------------------------------------------------------------

def test_kafka_brokers_down_and_back(fs, kafka_mock):  # noqa: F811 (fixture)
    """Each broker of the mock cluster down in turn, then all of them; HTTP is not affected."""
    fs.allow_errors = (r"subsys=(kafka|rdkafka)",)
    fs.start_daemon(wait_assigned=True)
    fs.start_load()
    fs.warm_up()
    t0 = time.monotonic()
    brokers = list(range(1, kafka_mock.brokers + 1))
    for b in brokers:
        kafka_mock.broker_down(b)
        time.sleep(3)
        kafka_mock.broker_up(b)
        time.sleep(2)
    for b in brokers:
        kafka_mock.broker_down(b)
    try:
        time.sleep(4)
    finally:
        for b in brokers:
            kafka_mock.broker_up(b)
    fs.wait_http_recovered(time.monotonic())
    other = sorted({a.status or a.kind for a in fs.http.between(t0, time.monotonic())} - {200, 201})
    assert not other, "HTTP answers %s while only Kafka was failing" % other
    fs.settle()
    fs.check("Kafka brokers down one by one, then all")


# --- database limits ---------------------------------------------------------------------------

def test_role_connection_limit_reached(fs):
    """Other sessions of the daemon's role take every connection its CONNECTION LIMIT allows, and
    the daemon's own sessions are cut: it cannot reconnect until they go."""
    limit = 4
    fs.start_daemon()
    fs.start_load()
    fs.warm_up()
    hogs = []
    pg_log = fs.env.cluster.log_size()
    try:
        with fs.errors_expected():
            fs.env.sql("ALTER ROLE %s CONNECTION LIMIT %d" % (APP_ROLE, limit))
            deadline = time.monotonic() + 30
            while len(hogs) < limit:
                assert time.monotonic() < deadline, "could not take the role's connections"
                try:
                    hogs.append(connect_as(fs.env, APP_ROLE))
                except Exception as e:  # noqa: BLE001 (psycopg2.OperationalError)
                    assert "too many connections" in str(e), e
                    terminate_sessions(fs.env, APP_ROLE, [h.get_backend_pid() for h in hogs])
                    time.sleep(0.05)
            terminate_sessions(fs.env, APP_ROLE, [h.get_backend_pid() for h in hogs])
            wait_for("/readyz 503", lambda: fs.readyz() == 503, 15, interval=0.2)
            t_down = time.monotonic()
            time.sleep(6)
            t_up = time.monotonic()
            # The daemon keeps trying; PostgreSQL turns it away (the daemon logs only the
            # first reason it lost the database).
            assert "too many connections for role" in fs.env.cluster.log_text(pg_log)
            for h in hogs:
                h.close()
            hogs = []
            fs.env.sql("ALTER ROLE %s CONNECTION LIMIT -1" % APP_ROLE)
            fs.wait_http_recovered(time.monotonic())
    finally:
        for h in hogs:
            h.close()
        fs.env.sql("ALTER ROLE %s CONNECTION LIMIT -1" % APP_ROLE)
    refused_during(fs, "role connection limit", t_down, t_up)
    fs.settle()
    fs.check("role connection limit reached")


def test_statement_timeout(fs):
    """statement_timeout on the daemon's role while another session holds the chain head lock
    (as `consentctl rebuild` does): every append is cancelled until the lock goes."""
    fs.env.sql("ALTER ROLE %s IN DATABASE %s SET statement_timeout = '500ms'"
               % (APP_ROLE, fs.env.dbname))
    fs.start_daemon()
    fs.start_load()
    fs.warm_up()
    with fs.errors_expected():
        blocker = fs.env.connect(autocommit=False)
        try:
            with blocker.cursor() as cur:
                cur.execute("SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE")
            t_down = time.monotonic()
            time.sleep(6)
            t_up = time.monotonic()
        finally:
            blocker.rollback()
            blocker.close()
        fs.wait_http_recovered(time.monotonic())
    assert log_has(fs.daemon, r"canceling statement due to statement timeout")
    refused_during(fs, "statement timeout", t_down, t_up)
    fs.settle()
    fs.check("statement timeout (head locked 6 s)")


@pytest.fixture
def tiny_tablespace(env):
    """audit_log on a tablespace on an 8 MiB tmpfs, or why that cannot be done here (mounting
    needs root with CAP_SYS_ADMIN: not available in an unprivileged container or chroot)."""
    why = mount_probe()
    if why:
        yield None, why
        return
    mnt = tempfile.mkdtemp(prefix="consentd-tiny-", dir=env.cluster.base)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mnt], check=True)
    try:
        if env.cluster.as_postgres:
            shutil.chown(mnt, "postgres", "postgres")
        env.sql("CREATE TABLESPACE faults_tiny LOCATION '%s'" % mnt)
        env.sql("ALTER TABLE audit_log SET TABLESPACE faults_tiny")
        yield mnt, None
        env.sql("ALTER TABLE audit_log SET TABLESPACE pg_default")
        env.sql("DROP TABLESPACE faults_tiny")
    finally:
        subprocess.run(["umount", "-l", mnt])
        os.rmdir(mnt)


def test_disk_full(tiny_tablespace, fs):  # the tablespace outlives the daemons
    mnt, why = tiny_tablespace
    if mnt is None:
        # Not a skip: the row says that it did not run and why, in the release note too.
        fs.summary.add({"scenario": "disk full (tablespace on tmpfs)", "acknowledged": "not run",
                        "found": "-", "duplicates": "-", "peak RSS": "-"})
        fs.summary.notes.append("disk full not run: %s" % why)
        return
    fs.start_daemon()
    fs.start_load()
    fs.warm_up()
    filler = os.path.join(mnt, "filler")
    with fs.errors_expected():
        st = os.statvfs(mnt)
        with open(filler, "wb") as f:  # leave ~24 pages of the tablespace free
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 192 * 1024))
        start = fs.daemon.log_size()
        wait_for("appends failing with ENOSPC",
                 lambda: log_has(fs.daemon, r"No space left on device", start), 60, interval=0.2)
        t_down = time.monotonic()
        time.sleep(4)
        t_up = time.monotonic()
        os.unlink(filler)
        fs.wait_http_recovered(time.monotonic())
    # A small batch may still fit in the last page of audit_log: some commits can succeed.
    refused_during(fs, "disk full", t_down, t_up, nothing_commits=False)
    fs.settle()
    fs.check("disk full (tablespace on tmpfs)")


# --- SIGTERM ------------------------------------------------------------------------------------

def test_sigterm_under_load(fs):
    """SIGTERM while HTTP and Kafka load go on: drained within shutdown_timeout, exit 0, every
    acknowledged event durable at once, offsets committed, a final checkpoint of the whole
    ledger in the table and in the external file."""
    d = fs.start_daemon(wait_assigned=True)
    fs.start_load()
    fs.warm_up(acks=200)
    wait_for("Kafka offsets committed", lambda: sum((fs.committed.sample() or {}).values()) > 200,
             60, interval=0.5)
    took = fs.sigterm()
    assert took <= SHUTDOWN_TIMEOUT + 5, "exit %.1f s after SIGTERM" % took
    assert log_has(d, r"signal 15: draining") and not log_has(d, r"drain deadline passed")
    # Durable at exit: what was acknowledged by then (HTTP answers, the group's offsets) is
    # in the ledger, before any other daemon runs.
    fs.committed.sample()
    with fs.http.lock:
        acked = list(fs.http.acked)
    acked += [m.event_id for m in fs.committed.acked(fs.kafka.valid())]
    (n,), = fs.env.sql("SELECT count(*) FROM audit_log WHERE event_id = ANY(%s::uuid[])", (acked,))
    assert n == len(acked), "%d of %d acknowledged events stored at exit" % (n, len(acked))
    (head,), = fs.env.sql("SELECT seq FROM ledger_head")
    (size,), = fs.env.sql("SELECT max(tree_size) FROM checkpoint")
    assert size == head, "final checkpoint of size %s, ledger of %d" % (size, head)
    with open(fs.cp_file) as f:  # signed notes: origin, tree size, root, blank, signature
        lines = f.read().splitlines()
    sizes = [int(n) for o, n in zip(lines, lines[1:]) if o == ORIGIN and n.isdigit()]
    assert sizes and sizes[-1] == head, "last external checkpoint of size %s, ledger of %d" % (
        sizes[-1:], head)
    fs.settle()
    fs.check("SIGTERM under load (drained in %.1f s)" % took)

