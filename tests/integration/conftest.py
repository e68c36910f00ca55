"""Fixtures of the integration suite: one throwaway PostgreSQL cluster per session, a fresh
migrated database per test, and a factory that runs the real consentd against it. Every
process's log is printed when a test fails; a test fails on unexpected error lines or sanitizer
output in a daemon's log; a skipped test fails the run (these tests have nothing to skip)."""

import os
import re
import signal
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import pg  # noqa: E402
from daemon import Ctl, Daemon, child_env, new_subject_key, port_in_use, write_config  # noqa: E402
from pg import free_port  # noqa: E402

APP_ROLE = "consentd_app"
WRITER_ROLE = "consentd_writer"
LOG_TAIL = 200000


def pytest_configure(config):
    # meson test ends a run that times out with SIGTERM: turn it into an interrupt so that the
    # fixtures still stop the daemons and the PostgreSQL cluster.
    def interrupt(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, interrupt)


# --- logs of every process, printed on failure -------------------------------------------------

def add_log(node, title, read):
    """Registers a log to print if this test fails (read() returns its text)."""
    if not hasattr(node, "_consentd_logs"):
        node._consentd_logs = []
    node._consentd_logs.append((title, read))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    item._consentd_failed = True  # keeps the test's database for a post-mortem
    for title, read in getattr(item, "_consentd_logs", []):
        try:
            text = read()
        except Exception as e:  # a broken log reader must not hide the failure
            text = "(could not read: %r)" % e
        if len(text) > LOG_TAIL:
            text = "(... %d characters cut ...)\n" % (len(text) - LOG_TAIL) + text[-LOG_TAIL:]
        rep.sections.append((title, text or "(empty)"))


_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _skipped and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.write_line("FAILED: the integration suite must not skip: " + ", ".join(_skipped),
                                    red=True)


# --- binaries and the cluster -----------------------------------------------------------------

class Binaries:
    """$CONSENTD_BIN and $CONSENTCTL_BIN (meson test sets them); when run by hand without them,
    the first build folder of the source tree that has both."""

    def __init__(self):
        root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
        builds = [os.path.join(root, b, "src") for b in ("build-test", "build")]
        self.consentd = self._find("CONSENTD_BIN", [os.path.join(b, "consentd") for b in builds])
        self.consentctl = self._find("CONSENTCTL_BIN", [os.path.join(b, "consentctl") for b in builds])

    @staticmethod
    def _find(var, fallbacks):
        candidates = [os.environ[var]] if os.environ.get(var) else fallbacks
        for path in candidates:
            if os.access(path, os.X_OK):
                return path
        pytest.fail("%s: none of %s is an executable; build first and set %s (meson test does)"
                    % (var, ", ".join(candidates), var), pytrace=False)


@pytest.fixture(scope="session")
def binaries():
    return Binaries()


@pytest.fixture(scope="session")
def cluster():
    """The session's PostgreSQL server. Missing PostgreSQL fails the tests; it never skips."""
    c = pg.Cluster()
    try:
        c.init()
        c.start()
    except Exception as e:
        log = c.log_text()
        c.destroy()
        pytest.fail("could not start PostgreSQL: %s\n--- server log ---\n%s" % (e, log), pytrace=False)
    yield c
    c.destroy()


@pytest.fixture
def pg_cluster(request, cluster):
    """The cluster, running (a test that stopped it gets it started again afterwards), with the
    part of its server log written during this test printed on failure."""
    offset = cluster.log_size()
    add_log(request.node, "postgresql server log", lambda: cluster.log_text(offset))
    if not cluster.running:
        cluster.start()
    yield cluster
    if not cluster.running:
        cluster.start()


_db_counter = [0]


def _db_name(node):
    _db_counter[0] += 1
    stem = re.sub(r"[^a-z0-9_]+", "_", node.name.lower()).strip("_")
    return ("t%d_%s" % (_db_counter[0], stem))[:63]


# --- one database and its files per test --------------------------------------------------------

class Site:
    """What one test's consentd processes share: a database, a subject key, a tokens file, and a
    base config (for consentctl). Each daemon gets its own config file and port."""

    def __init__(self, cluster, binaries, workdir, dbname):
        self.cluster = cluster
        self.binaries = binaries
        self.dir = str(workdir)
        self.dbname = dbname
        self.key_file = os.path.join(self.dir, "subject.key")
        self.tokens_file = os.path.join(self.dir, "tokens")
        new_subject_key(self.key_file)
        cluster.create_database(dbname)
        self.cfg = self.write_config("consentctl.conf", free_port())
        self.ctl = Ctl(binaries.consentctl, self.cfg)

    def app_conninfo(self):
        return self.cluster.conninfo(self.dbname, APP_ROLE)

    def super_conninfo(self):
        return self.cluster.conninfo(self.dbname)

    def sections(self, port, overrides=None):
        s = {
            "http": {"listen": "127.0.0.1:%d" % port},
            "postgres": {"conninfo": self.app_conninfo()},
            "auth": {"tokens_file": self.tokens_file},
            "ledger": {"subject_key_file": self.key_file},
            "log": {"level": "debug"},
        }
        for section, keys in (overrides or {}).items():
            s.setdefault(section, {}).update(keys)
        return s

    def write_config(self, filename, port, overrides=None, extra_text=""):
        path = os.path.join(self.dir, filename)
        write_config(path, self.sections(port, overrides), extra_text)
        return path

    def migrate(self):
        """Applies the migrations as the superuser, then gives the daemon its login role."""
        self.ctl.check("migrate", "--conninfo", self.super_conninfo())
        self.cluster.ensure_login_role(APP_ROLE, WRITER_ROLE)

    def sql(self, query, params=None, user=pg.SUPERUSER):
        return self.cluster.sql(query, params, dbname=self.dbname, user=user)

    def connect(self, user=pg.SUPERUSER, autocommit=True):
        return self.cluster.connect(self.dbname, user, autocommit)

    def count(self):
        return self.sql("SELECT count(*) FROM audit_log")[0][0]

    def rows(self):
        """[(seq, event_id, entry, leaf_hash)] in seq order; bytes for the bytea columns."""
        return [(seq, str(eid), bytes(entry), bytes(leaf)) for seq, eid, entry, leaf in
                self.sql("SELECT seq, event_id, entry, leaf_hash FROM audit_log ORDER BY seq")]

    def run_consentd(self, *args, timeout=20, env=None):
        """Runs consentd to completion (for the startup refusals); returns (rc, output)."""
        try:
            p = subprocess.run([self.binaries.consentd] + list(args), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=child_env(env), timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = (e.output or b"").decode(errors="replace")
            raise AssertionError("consentd %s still running after %d s:\n%s"
                                 % (" ".join(args), timeout, out))
        return p.returncode, p.stdout.decode(errors="replace")


@pytest.fixture
def site(request, pg_cluster, binaries, tmp_path):
    """A fresh database without migrations, a subject key, a base config. The database is
    dropped after a test that passed (they add up in the cluster's tmpfs)."""
    s = Site(pg_cluster, binaries, tmp_path, _db_name(request.node))
    yield s
    if not getattr(request.node, "_consentd_failed", False) and pg_cluster.running:
        pg_cluster.drop_database(s.dbname)


@pytest.fixture
def env(site):
    """A fresh migrated database, plus two tokens: env.token (ingest,read) and
    env.read_token (read only)."""
    site.migrate()
    site.token = site.ctl.token_add("writer", "ingest,read")
    site.read_token = site.ctl.token_add("reader", "read")
    return site


def spawn_ready(request, daemons, make):
    """Starts make(attempt, port) on a free port, adds it to daemons and its log to the test's
    report, and waits until it is ready. A daemon that lost a race for its port is dropped and
    tried again on another (up to three times); any other failure is the test's."""
    for attempt in range(3):
        port = free_port()
        d = make(attempt, port)
        daemons.append(d)
        add_log(request.node, "%s log (%s)" % (d.name, d.logfile), d.log_text)
        d.spawn()
        try:
            d.wait_ready()
            return d
        except AssertionError:
            if attempt < 2 and not d.alive() and port_in_use(d.log_text()):
                daemons.remove(d)  # lost a race for the port: not the daemon's fault
                continue
            raise
    raise AssertionError("unreachable")


@pytest.fixture
def consentd(request, env):
    """Factory: consentd(overrides={"http": {"max_body": "4096"}}, allow_errors=[regex], ...)
    starts a daemon on a free port against env's database and waits until /readyz is 200.
    At teardown every daemon gets SIGTERM and must exit 0 within 10 s with a clean log."""
    daemons = []

    def start(overrides=None, extra_text="", allow_errors=(), environ=None, listen_via_env=False):
        n = len(daemons) + 1

        def make(attempt, port):
            name = "consentd%d" % n if attempt == 0 else "consentd%d-try%d" % (n, attempt + 1)
            denv = dict(environ or {})
            if listen_via_env:  # the file names a port nobody listens on; the variable wins
                path = env.write_config(name + ".conf", free_port(), overrides, extra_text)
                denv["CONSENTD_HTTP_LISTEN"] = "127.0.0.1:%d" % port
            else:
                path = env.write_config(name + ".conf", port, overrides, extra_text)
            return Daemon(env.binaries.consentd, path, port, name, denv, allow_errors)
        return spawn_ready(request, daemons, make)

    yield start

    problems = []
    for d in daemons:
        p = d.stop()
        if p:
            problems.append(p)
    for d in daemons:
        problems.extend("%s: %s" % (d.name, p) for p in d.log_problems())
    if problems:
        pytest.fail("consentd teardown:\n" + "\n".join(problems), pytrace=False)
