"""A throwaway PostgreSQL cluster for the integration tests: initdb into a temporary folder,
its own port and unix socket folder, started and stopped with pg_ctl. Runs the server as the
`postgres` system user when the tests run as root (initdb refuses root). Nothing is faked."""

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile

import psycopg2
import psycopg2.extensions

SUPERUSER = "postgres"


def find_bindir():
    """The bin folder of the highest PostgreSQL major version installed by Debian's packages."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        ver = os.path.basename(os.path.dirname(d))
        if ver.isdigit() and os.access(os.path.join(d, "initdb"), os.X_OK):
            found.append((int(ver), d))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
                           "install the postgresql package (the project's setup script does)")
    return max(found)[1]


def scratch_parent():
    """Where the cluster's files go: tmpfs (/dev/shm) when it is there and roomy, which makes
    CREATE DATABASE per test several times faster; else the default temporary folder."""
    try:
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize >= 2 << 30:
            return "/dev/shm"
    except OSError:
        pass
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server. Listens on a unix socket only (listen_addresses=''), in its own
    socket folder, so the port only names the socket file; still picked free so that a
    developer's running server is never touched."""

    def __init__(self, bindir=None):
        self.bindir = bindir or find_bindir()
        self.base = tempfile.mkdtemp(prefix="consentd-pg-", dir=scratch_parent())
        self.datadir = os.path.join(self.base, "data")
        self.sockdir = os.path.join(self.base, "sock")
        self.logfile = os.path.join(self.base, "server.log")
        self.port = None
        self.running = False
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")  # created by Debian's postgresql-common
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            os.chmod(self.base, 0o755)  # the daemon (root) and clients reach the socket
        os.makedirs(self.sockdir, exist_ok=True)
        if self.as_postgres:
            os.chown(self.sockdir, pw.pw_uid, pw.pw_gid)
        # pg_ctl detaches the server from our process group: make sure it never outlives us.
        atexit.register(self.destroy)

    def _cmd(self, argv):
        argv = [os.path.join(self.bindir, argv[0])] + argv[1:]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def _run(self, argv, timeout=120):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        p = subprocess.run(self._cmd(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env, timeout=timeout, cwd=self.base)
        return p.returncode, p.stdout.decode(errors="replace")

    def log_text(self, offset=0):
        try:
            with open(self.logfile, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.logfile)
        except FileNotFoundError:
            return 0

    def init(self):
        rc, out = self._run(["initdb", "-D", self.datadir, "-A", "trust", "-U", SUPERUSER,
                             "--no-sync", "-E", "UTF8", "--locale=C"])
        if rc != 0:
            raise RuntimeError("initdb failed (exit %d):\n%s" % (rc, out))
        # fsync=off only loses data on an OS crash, never on a server crash or an immediate
        # shutdown, so it does not weaken the tests that kill PostgreSQL; synchronous_commit
        # stays on so that "committed" means what it means in production.
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# consentd integration tests\n"
                    "listen_addresses = ''\n"
                    "unix_socket_directories = '%s'\n"
                    "fsync = off\n"
                    "full_page_writes = off\n"
                    "max_connections = 100\n"
                    "log_min_messages = warning\n"
                    "log_checkpoints = off\n"
                    "log_line_prefix = '%%m [%%p] %%d %%u '\n" % self.sockdir)

    def start(self, attempts=3):
        """Starts the server (on the port it had, if it was started before); picks a new free
        port and retries when the port is taken."""
        last = ""
        for _ in range(attempts):
            if self.port is None:
                self.port = free_port()
            offset = self.log_size()
            rc, out = self._run(["pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w",
                                 "-t", "60", "-o", "-p %d" % self.port, "start"])
            if rc == 0:
                self.running = True
                return
            last = "pg_ctl start failed (exit %d):\n%s\n--- server log ---\n%s" % (
                rc, out, self.log_text(offset))
            if not re.search(r"already in use|could not bind|lock file", last):
                break
            self.port = None
        raise RuntimeError(last)

    def stop(self, mode="fast"):
        if not self.running:
            return
        rc, out = self._run(["pg_ctl", "-D", self.datadir, "-m", mode, "-w", "-t", "60", "stop"])
        if rc != 0:
            raise RuntimeError("pg_ctl stop -m %s failed (exit %d):\n%s" % (mode, rc, out))
        self.running = False

    def destroy(self):
        """Idempotent: stops the server if it runs and removes its files."""
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # --- clients ------------------------------------------------------------------------------

    def conninfo(self, dbname="postgres", user=SUPERUSER):
        return "host=%s port=%d dbname=%s user=%s" % (self.sockdir, self.port, dbname, user)

    def connect(self, dbname="postgres", user=SUPERUSER, autocommit=True):
        conn = psycopg2.connect(host=self.sockdir, port=self.port, dbname=dbname, user=user,
                                connect_timeout=10)
        conn.autocommit = autocommit
        return conn

    def sql(self, query, params=None, dbname="postgres", user=SUPERUSER):
        """Runs one statement in its own autocommit connection; returns all rows (or None)."""
        conn = self.connect(dbname, user)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description is not None else None
        finally:
            conn.close()

    def create_database(self, name):
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError("unsafe database name %r" % name)
        # FILE_COPY: copying template1's files beats WAL-logging them (fsync is off anyway).
        self.sql("CREATE DATABASE %s STRATEGY = FILE_COPY" % name)

    def drop_database(self, name):
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError("unsafe database name %r" % name)
        self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)

    def ensure_login_role(self, role, member_of=None):
        """Creates a login role if it does not exist yet (roles are cluster-wide) and, when asked,
        makes it a member of a group role (idempotent)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone() is None:
                    cur.execute("CREATE ROLE %s LOGIN" % psycopg2.extensions.quote_ident(role, cur))
                if member_of:
                    cur.execute("GRANT %s TO %s" % (psycopg2.extensions.quote_ident(member_of, cur),
                                                    psycopg2.extensions.quote_ident(role, cur)))
        finally:
            conn.close()
