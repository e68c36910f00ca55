"""Verifiable evidence end to end: `consentctl keygen`, signed checkpoints written by the real
daemon (table and checkpoint_dir file), `consentctl verify` with --key/--checkpoints on an
intact ledger and on every kind of tampering a database superuser can do (each classified with
its first seq), `consentctl proof` / the HTTP proof API and offline `consentctl verify-proof`,
and a randomized property test over many checkpoints."""

import base64
import hashlib
import json
import os
import random
import re
import stat
import threading
import time
import urllib.parse
import uuid

import pytest

from events import consent_event, leaf_hash, parse_fields

ORIGIN = "consentd.local/ledger"
SIG_PREFIX = "\u2014 "
# "consentd.local/ledger+<8 hex>+<base64(0x01 || 32-byte key)>" (33 bytes: 44 characters)
VERIFIER_RE = re.compile(r"(?P<name>[^+\s]+)\+(?P<id>[0-9a-f]{8})\+(?P<key>[A-Za-z0-9+/]{44})")
FAILED_RE = re.compile(r"^verify: FAILED at (seq|tree size) (\d+): ([a-z_]+)(?: \(([a-z_]+)\))?: (.*)$")


# --- an independent RFC 6962 implementation -------------------------------------------------

def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 6962 Merkle tree hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def perfect_nodes(leaves):
    """{(level, idx): hash} for every perfect subtree of >= 2 leaves (the merkle_node rows)."""
    nodes, level, cur = {}, 0, list(leaves)
    while len(cur) >= 2:
        level += 1
        cur = [node_hash(cur[2 * i], cur[2 * i + 1]) for i in range(len(cur) // 2)]
        for i, h in enumerate(cur):
            nodes[(level, i)] = h
    return nodes


# --- checkpoint notes ---------------------------------------------------------------------------

def split_notes(text):
    """The notes of a checkpoints file: text lines, a blank line, signature lines."""
    notes, cur, in_sigs = [], [], False
    for line in text.splitlines(keepends=True):
        if in_sigs and not line.startswith(SIG_PREFIX):
            notes.append("".join(cur))
            cur, in_sigs = [], False
        cur.append(line)
        if line == "\n":
            in_sigs = True
    if cur:
        notes.append("".join(cur))
    return notes


def note_checkpoint(note):
    """(origin, tree size, root bytes) of a checkpoint note (signatures unchecked)."""
    body = note[:note.rindex("\n\n") + 1]
    origin, size, root = body.splitlines()[:3]
    return origin, int(size), base64.b64decode(root)


def resign(note, sig_bytes):
    """The note with its signature line's 64 signature bytes replaced (key ID kept)."""
    body, sigs = note[:note.rindex("\n\n") + 2], note[note.rindex("\n\n") + 2:]
    name, b64 = sigs.splitlines()[0][len(SIG_PREFIX):].split(" ")
    raw = base64.b64decode(b64)
    return body + "%s%s %s\n" % (SIG_PREFIX, name, base64.b64encode(raw[:4] + sig_bytes).decode())


def flip_signature(note):
    body, sigs = note[:note.rindex("\n\n") + 2], note[note.rindex("\n\n") + 2:]
    raw = base64.b64decode(sigs.splitlines()[0].split(" ")[-1])
    return resign(note, bytes([raw[4] ^ 0x01]) + raw[5:])


# --- the site -----------------------------------------------------------------------------------

class Evidence:
    """env plus a checkpoint signing key, a checkpoint_dir, and one daemon that signs."""

    def __init__(self, env, consentd):
        self.env = env
        self.consentd = consentd
        self.d = None
        self.key_file = os.path.join(env.dir, "checkpoint.key")
        p = env.ctl.check("keygen", ORIGIN, "--out", self.key_file)
        self.verifier = p.out.strip()
        self.verifier_file = os.path.join(env.dir, "verifier.pub")
        with open(self.verifier_file, "w") as f:
            f.write(self.verifier + "\n")
        self.cp_dir = os.path.join(env.dir, "published")
        os.mkdir(self.cp_dir)
        self.cp_file = os.path.join(self.cp_dir, "checkpoints")

    def start(self, interval="100ms"):
        self.d = self.consentd(overrides={"ledger": {
            "signing_key_file": self.key_file,
            "checkpoint_dir": self.cp_dir,
            "checkpoint_interval": interval,
        }})
        return self.d

    def stop(self):
        """SIGTERM: the daemon writes its final checkpoint and exits 0."""
        assert self.d.stop() is None
        self.d.exit_reported = True  # stopped on purpose: not a finding of the teardown

    def post(self, n):
        evs = [consent_event() for _ in range(n)]
        r = self.d.post(evs if n > 1 else evs[0], self.env.token)
        assert r.status == 201, r

    def wait_checkpoint(self, size, timeout=15.0):
        """Until a checkpoint of this size is in the table and in the file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.env.sql("SELECT 1 FROM checkpoint WHERE tree_size = %s", (size,)) and \
                    size in [s for _, s, _ in self.file_checkpoints()]:
                return
            time.sleep(0.02)
        raise AssertionError("no checkpoint of tree size %d within %.0f s; table has %r" % (
            size, timeout, self.env.sql("SELECT tree_size FROM checkpoint ORDER BY 1")))

    def grow(self, batches):
        """Posts the batches, waiting after each for the checkpoint of the new size."""
        for n in batches:
            self.post(n)
            self.wait_checkpoint(self.env.count())

    def file_notes(self):
        try:
            with open(self.cp_file, encoding="utf-8") as f:
                return split_notes(f.read())
        except FileNotFoundError:
            return []

    def file_checkpoints(self):
        return [note_checkpoint(n) for n in self.file_notes()]

    def leaves(self):
        return [bytes(h) for h, in self.env.sql("SELECT leaf_hash FROM audit_log ORDER BY seq")]

    def ctl(self, *args):
        p = self.env.ctl.run(*args)
        p.all = p.out + p.err
        return p

    def verify(self, *args):
        return self.ctl("verify", *args)

    def verify_all(self):
        """verify with the key and the external checkpoints file."""
        return self.verify("--key", self.verifier, "--checkpoints", self.cp_file)

    def write(self, name, data):
        path = os.path.join(self.env.dir, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path


@pytest.fixture
def ev(env, consentd):
    return Evidence(env, consentd)


def assert_ok(p):
    assert p.returncode == 0, p.all
    lines = [l for l in p.out.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("verify: OK: "), p.all
    return lines[0]


def assert_failed(p, cls, at, cause=None, tree_size=False):
    """verify exits 1 with one FAILED line naming the class, the first seq (or tree size for
    bad_signature) and, for chain faults, the old problem word in parentheses."""
    assert p.returncode == 1, p.all
    lines = [l for l in p.out.splitlines() if l.startswith("verify: FAILED")]
    assert len(lines) == 1, p.all
    m = FAILED_RE.match(lines[0])
    assert m, "unexpected failure line: %r" % lines[0]
    assert m.group(3) == cls, "expected %s: %r" % (cls, lines[0])
    assert m.group(1) == ("tree size" if tree_size else "seq"), lines[0]
    assert int(m.group(2)) == at, "expected the first %s %d: %r" % (m.group(1), at, lines[0])
    assert m.group(4) == cause, "expected cause %r: %r" % (cause, lines[0])
    return m.group(5)


def tamper(env, statements):
    """As the superuser, with the user triggers (append-only guards) disabled."""
    conn = env.connect(autocommit=False)
    try:
        with conn.cursor() as cur:
            for t in ("audit_log", "ledger_head", "merkle_node", "checkpoint"):
                cur.execute("ALTER TABLE %s DISABLE TRIGGER USER" % t)
            for stmt, params in statements:
                cur.execute(stmt, params)
            for t in ("audit_log", "ledger_head", "merkle_node", "checkpoint"):
                cur.execute("ALTER TABLE %s ENABLE TRIGGER USER" % t)
        conn.commit()
    finally:
        conn.close()


# --- keygen -------------------------------------------------------------------------------------

def test_keygen(env):
    path = os.path.join(env.dir, "k1")
    p = env.ctl.check("keygen", ORIGIN, "--out", path)
    m = VERIFIER_RE.fullmatch(p.out.strip())
    assert m and m.group("name") == ORIGIN, p.out
    assert base64.b64decode(m.group("key"))[0] == 1  # Ed25519 algorithm byte
    # key ID = first 4 bytes of SHA-256(name || "\n" || 0x01 || public key)
    kid = hashlib.sha256(ORIGIN.encode() + b"\n" + base64.b64decode(m.group("key"))).digest()[:4]
    assert m.group("id") == kid.hex()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        secret = f.read()
    assert re.fullmatch(r"PRIVATE\+KEY\+%s\+%s\+[A-Za-z0-9+/]{44}\n" % (re.escape(ORIGIN), m.group("id")),
                        secret), "signer key text: %r" % secret
    assert secret.strip() not in p.out + p.err
    # Never overwrites.
    p2 = env.ctl.run("keygen", ORIGIN, "--out", path)
    assert p2.returncode == 1 and "overwrite" in p2.err
    with open(path) as f:
        assert f.read() == secret
    # Another name works but is warned about; a bad name and no destination are usage errors.
    p3 = env.ctl.check("keygen", "other.example/log", "--out", os.path.join(env.dir, "k2"))
    assert "ledger.origin" in p3.err and p3.out.startswith("other.example/log+")
    assert env.ctl.run("keygen", "bad name", "--out", os.path.join(env.dir, "k3")).returncode == 2
    assert not os.path.exists(os.path.join(env.dir, "k3"))
    assert env.ctl.run("keygen", ORIGIN).returncode == 2  # signing_key_file is not set
    assert env.ctl.run("keygen").returncode == 2


# --- verify on an intact ledger -----------------------------------------------------------------

def test_verify_intact_with_checkpoints(ev):
    ev.start()
    ev.grow([1, 3, 4, 2, 6])
    ev.post(3)  # no wait: the shutdown checkpoint covers these
    ev.stop()
    n = ev.env.count()
    assert n == 19
    db_sizes = [s for s, in ev.env.sql("SELECT tree_size FROM checkpoint ORDER BY 1")]
    file_cps = ev.file_checkpoints()
    assert db_sizes[-1] == n and [s for _, s, _ in file_cps] == db_sizes
    # The daemon's roots are the RFC 6962 roots of the leaves (checked independently here), and
    # the table's root column is the note's.
    leaves = ev.leaves()
    for (origin, size, root), (col,) in zip(file_cps, ev.env.sql("SELECT root FROM checkpoint ORDER BY tree_size")):
        assert origin == ORIGIN and root == mth(leaves[:size]) == bytes(col)
    root_hex = mth(leaves).hex()

    line = assert_ok(ev.verify())
    assert "19 entries" in line and root_hex in line
    assert "%d DB checkpoints" % len(db_sizes) in line and "NOT checked" in line
    for key in (ev.verifier, ev.verifier_file):
        line = assert_ok(ev.verify("--key", key))
        assert "%d DB checkpoints signed" % len(db_sizes) in line and "NOT" not in line
    line = assert_ok(ev.verify_all())
    assert "%d external checkpoints" % len(file_cps) in line, line
    # External checkpoints count only with a key; unknown options, bad keys, missing files.
    assert ev.verify("--checkpoints", ev.cp_file).returncode == 2
    assert ev.verify("--key", "not-a-key").returncode == 2
    assert ev.verify("--key", ev.verifier, "--checkpoints", ev.cp_file + ".missing").returncode == 2
    assert ev.verify("--bogus").returncode == 2


def test_checkpoints_file_must_ascend(ev):
    ev.start()
    ev.grow([2, 3])
    ev.stop()
    notes = ev.file_notes()
    path = ev.write("reversed", "".join(reversed(notes)))
    p = ev.verify("--key", ev.verifier, "--checkpoints", path)
    assert p.returncode == 2 and "ascending" in p.err, p.all
    # A note being written (no signature yet) at the end is not a finding.
    path = ev.write("partial", "".join(notes) + notes[-1][:notes[-1].rindex("\n\n") + 1])
    assert_ok(ev.verify("--key", ev.verifier, "--checkpoints", path))


def test_verify_while_the_daemon_appends(ev):
    """verify reads rows, head and checkpoints in one snapshot: a daemon appending and
    checkpointing meanwhile never makes it report anything."""
    ev.start(interval="20ms")
    ev.grow([5])
    stop = threading.Event()
    errors = []

    def writer():
        try:
            while not stop.is_set():
                ev.post(random.randint(1, 4))
        except Exception as e:  # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(15):
            assert_ok(ev.verify_all())
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    ev.stop()
    assert_ok(ev.verify_all())


# --- tampering ----------------------------------------------------------------------------------

BATCHES = [2, 3, 4, 3, 5, 3]  # checkpoints at tree sizes 2, 5, 9, 12, 17, 20


@pytest.fixture
def ledger(ev):
    """20 entries with a checkpoint at each of the sizes above; the daemon is stopped so that
    nothing writes while the tests tamper."""
    ev.start()
    ev.grow(BATCHES)
    ev.stop()
    ev.sizes = [s for _, s, _ in ev.file_checkpoints()]
    assert ev.sizes == [2, 5, 9, 12, 17, 20]
    assert_ok(ev.verify_all())
    return ev


def entry_of(env, seq):
    (entry,), = env.sql("SELECT entry FROM audit_log WHERE seq = %s", (seq,))
    return bytes(entry)


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def with_seq_and_prev(entry, seq, prev):
    """protobuf-c writes LedgerEntry fields in order: seq (1), prev_hash (2), then the rest."""
    f = parse_fields(entry)
    head = b"\x08" + varint(f[1][0]) + b"\x12\x20" + f[2][0]
    assert entry.startswith(head)
    return b"\x08" + varint(seq) + b"\x12\x20" + prev + entry[len(head):]


def test_tamper_modify_one_byte(ledger):
    tamper(ledger.env, [("UPDATE audit_log SET entry = set_byte(entry, 59, get_byte(entry, 59) # 1) "
                         "WHERE seq = 7", None)])
    for args in ((), ("--key", ledger.verifier, "--checkpoints", ledger.cp_file)):
        assert_failed(ledger.verify(*args), "entry_modified", 7, "hash_mismatch")


def test_tamper_delete_a_row(ledger):
    tamper(ledger.env, [("DELETE FROM audit_log WHERE seq = 7", None)])
    for args in ((), ("--key", ledger.verifier, "--checkpoints", ledger.cp_file)):
        assert_failed(ledger.verify(*args), "entry_deleted", 7, "gap")


def test_tamper_insert_a_forged_row(ledger):
    env = ledger.env
    last = entry_of(env, 20)
    (old_id,), = env.sql("SELECT event_id::text FROM audit_log WHERE seq = 20")
    new_id = str(uuid.uuid4())
    forged = with_seq_and_prev(last.replace(old_id.encode(), new_id.encode()), 21, leaf_hash(last))
    tamper(env, [("INSERT INTO audit_log (seq, event_id, received_at, entry, leaf_hash, event_digest) "
                  "SELECT 21, %s, received_at, %s, %s, event_digest FROM audit_log WHERE seq = 20",
                  (new_id, forged, leaf_hash(forged)))])
    # Hashes and links are right: only the head (untouched) betrays the extra row.
    for args in ((), ("--key", ledger.verifier, "--checkpoints", ledger.cp_file)):
        detail = assert_failed(ledger.verify(*args), "entry_inserted_or_reordered", 21)
        assert "head" in detail


def test_tamper_swap_two_rows(ledger):
    tamper(ledger.env, [("UPDATE audit_log SET seq = 1000006 WHERE seq = 6", None),
                        ("UPDATE audit_log SET seq = 6 WHERE seq = 8", None),
                        ("UPDATE audit_log SET seq = 8 WHERE seq = 1000006", None)])
    for args in ((), ("--key", ledger.verifier, "--checkpoints", ledger.cp_file)):
        assert_failed(ledger.verify(*args), "entry_inserted_or_reordered", 6, "seq_mismatch")


def truncate_to(env, keep, drop_checkpoints):
    (leaf,), = env.sql("SELECT leaf_hash FROM audit_log WHERE seq = %s", (keep,))
    stmts = [("DELETE FROM audit_log WHERE seq > %s", (keep,)),
             ("UPDATE ledger_head SET seq = %s, leaf_hash = %s WHERE id = 1", (keep, bytes(leaf)))]
    if drop_checkpoints:
        stmts += [("DELETE FROM checkpoint WHERE tree_size > %s", (keep,)),
                  ("DELETE FROM merkle_node WHERE (idx + 1) * (1::bigint << level) > %s", (keep,))]
    tamper(env, stmts)


def test_tamper_truncate_the_tail(ledger):
    truncate_to(ledger.env, 14, drop_checkpoints=False)
    # The head was moved back with the rows: the DB checkpoints at 17 and 20 still betray it.
    detail = assert_failed(ledger.verify(), "tail_truncated", 15)
    assert "17" in detail
    assert_failed(ledger.verify_all(), "tail_truncated", 15)


def test_tamper_truncate_the_tail_and_its_checkpoints(ledger):
    truncate_to(ledger.env, 14, drop_checkpoints=True)
    # The compliance projections still reflect the removed entries ...
    p = ledger.verify()
    assert p.returncode == 1 and "verify: FAILED: projection" in p.out, p.all
    # ... until the superuser also rebuilds them: then nothing in the database betrays it ...
    ledger.env.ctl.check("rebuild", "--conninfo", ledger.env.super_conninfo())
    assert "14 entries" in assert_ok(ledger.verify("--key", ledger.verifier))
    # ... but the checkpoints kept outside it do.
    detail = assert_failed(ledger.verify_all(), "tail_truncated", 15)
    assert "external" in detail and "17" in detail


def rewrite_history(env, seq, drop_checkpoints=True):
    """What a superuser can do without the signing key: change one event, then recompute every
    later entry's link, every leaf hash, the Merkle nodes and the head, and remove the
    checkpoints that no longer match (they cannot be re-signed)."""
    rows = [(s, bytes(e), bytes(d)) for s, e, d in
            env.sql("SELECT seq, entry, event_digest FROM audit_log ORDER BY seq")]
    old_event = parse_fields(rows[seq - 1][1])[5][0]
    new_event = old_event.replace(b"2026-11-01", b"2026-11-09")  # the policy version accepted
    assert new_event != old_event and len(new_event) == len(old_event)
    stmts, leaves, prev = [], [], bytes(32)
    for s, entry, digest in rows:
        if s == seq:
            entry = entry.replace(old_event, new_event)
            if digest == hashlib.sha256(old_event).digest():
                digest = hashlib.sha256(new_event).digest()
        entry = with_seq_and_prev(entry, s, prev)
        prev = leaf_hash(entry)
        leaves.append(prev)
        if s >= seq:
            stmts.append(("UPDATE audit_log SET entry = %s, leaf_hash = %s, event_digest = %s "
                          "WHERE seq = %s", (entry, prev, digest, s)))
    stmts.append(("UPDATE ledger_head SET leaf_hash = %s WHERE id = 1", (prev,)))
    stmts.append(("DELETE FROM merkle_node", None))
    for (level, idx), h in perfect_nodes(leaves).items():
        stmts.append(("INSERT INTO merkle_node (level, idx, hash) VALUES (%s, %s, %s)", (level, idx, h)))
    if drop_checkpoints:
        stmts.append(("DELETE FROM checkpoint", None))
    tamper(env, stmts)
    return leaves


def test_tamper_rewrite_history_consistently(ledger):
    leaves = rewrite_history(ledger.env, 11)
    # With the projections recomputed too (as the superuser can) ...
    ledger.env.ctl.check("rebuild", "--conninfo", ledger.env.super_conninfo())
    # ... the database is self-consistent again: every check that uses only it passes ...
    for args in ((), ("--key", ledger.verifier)):
        line = assert_ok(ledger.verify(*args))
        assert mth(leaves).hex() in line and "0 DB checkpoints" in line
    # ... and proofs from it verify against its own (unsigned) tree. Only the checkpoints kept
    # outside catch it: the roots at 2, 5 and 9 still match, the one at 12 does not.
    detail = assert_failed(ledger.verify_all(), "history_rewritten", 10)
    assert "between seq 10 and 12" in detail, detail


def test_tamper_rewrite_history_leaving_db_checkpoints(ledger):
    rewrite_history(ledger.env, 11, drop_checkpoints=False)
    # The signed checkpoints left in the table betray it too (and so do their unsigned roots).
    for args in (("--key", ledger.verifier), ()):
        detail = assert_failed(ledger.verify(*args), "history_rewritten", 10)
        assert "DB checkpoint at tree size 12" in detail and "between seq 10 and 12" in detail


def test_tamper_replace_a_db_checkpoint_signature(ledger):
    env = ledger.env
    (note,), = env.sql("SELECT note FROM checkpoint WHERE tree_size = 9")
    tamper(env, [("UPDATE checkpoint SET note = %s WHERE tree_size = 9", (flip_signature(note),))])
    detail = assert_failed(ledger.verify("--key", ledger.verifier), "bad_signature", 9, tree_size=True)
    assert "DB checkpoint" in detail
    assert_failed(ledger.verify_all(), "bad_signature", 9, tree_size=True)
    # Without the key the signature cannot be checked, and the summary says so.
    assert "NOT checked" in assert_ok(ledger.verify())


def test_tamper_db_checkpoint_root_column(ledger):
    tamper(ledger.env, [("UPDATE checkpoint SET root = %s WHERE tree_size = 12", (bytes(32),))])
    detail = assert_failed(ledger.verify(), "bad_signature", 12, tree_size=True)
    assert "root" in detail


def test_tamper_external_checkpoint_signature(ledger, env):
    notes = ledger.file_notes()
    notes[3] = flip_signature(notes[3])  # tree size 12
    path = ledger.write("checkpoints.bad", "".join(notes))
    detail = assert_failed(ledger.verify("--key", ledger.verifier, "--checkpoints", path),
                           "bad_signature", 12, tree_size=True)
    assert "external" in detail
    # A checkpoint signed by another key under the same name is no better.
    other = os.path.join(env.dir, "other.key")
    other_pub = env.ctl.check("keygen", ORIGIN, "--out", other).out.strip()
    p = ledger.verify("--key", other_pub, "--checkpoints", ledger.cp_file)
    assert_failed(p, "bad_signature", 2, tree_size=True)


# --- proofs -------------------------------------------------------------------------------------

def get(d, path, token):
    return d.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})


def verify_proof(ev, proof, checkpoint, old=None, entry=None, key=None):
    args = ["verify-proof", "--key", key or ev.verifier, "--checkpoint", ev.write("cp.note", checkpoint),
            "--proof", ev.write("proof.json", proof if isinstance(proof, str) else json.dumps(proof))]
    if old is not None:
        args += ["--old-checkpoint", ev.write("old.note", old)]
    if entry is not None:
        args += ["--entry", ev.write("entry.bin", entry)]
    return ev.ctl(*args)


def test_proof_round_trip_cli_and_http(ev):
    env = ev.env
    ev.start()
    ev.grow([3, 4, 6])
    ev.stop()
    # A daemon without a signing key appends beyond the latest checkpoint (13): proofs default
    # to the checkpoint's size, so that they can be checked against it.
    d = ev.d = ev.consentd()
    ev.post(2)
    cp = ev.ctl("proof", "checkpoint")
    assert cp.returncode == 0, cp.all
    _, size, root = note_checkpoint(cp.out)
    assert size == 13 and root == mth(ev.leaves()[:13])
    r = get(d, "/v1/checkpoints/latest", env.read_token)
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain"), r
    assert r.body.decode() == cp.out
    assert get(d, "/v1/checkpoints/latest", None).status == 401

    p = ev.ctl("proof", "inclusion", "--seq", "5")
    assert p.returncode == 0, p.all
    proof = json.loads(p.out)
    assert proof["type"] == "inclusion" and proof["seq"] == 5 and proof["leaf_index"] == 4
    assert proof["tree_size"] == 13 and base64.b64decode(proof["leaf_hash"]) == ev.leaves()[4]
    r = get(d, "/v1/proofs/inclusion?seq=5&tree_size=13", env.read_token)
    assert r.status == 200 and r.json == proof, r
    ok = verify_proof(ev, p.out, cp.out, entry=entry_of(env, 5))
    assert ok.returncode == 0 and ok.out.startswith("verify-proof: OK: "), ok.all

    # Each way a proof can be wrong is a FAILED (exit 1).
    bad = dict(proof, hashes=list(proof["hashes"]))
    bad["hashes"][0] = base64.b64encode(bytes(32)).decode()
    for case in (bad, dict(proof, leaf_hash=proof["hashes"][0]), dict(proof, type="bogus"),
                 dict(proof, seq=6), "{not json"):
        f = verify_proof(ev, case, cp.out)
        assert f.returncode == 1 and f.out.startswith("verify-proof: FAILED: "), (case, f.all)
    f = verify_proof(ev, p.out, cp.out, entry=entry_of(env, 6))  # another entry's bytes
    assert f.returncode == 1, f.all
    f = verify_proof(ev, p.out, flip_signature(cp.out))  # a forged checkpoint
    assert f.returncode == 1 and "signature" in f.out, f.all
    other = env.ctl.check("keygen", ORIGIN, "--out", os.path.join(env.dir, "o.key")).out.strip()
    assert verify_proof(ev, p.out, cp.out, key=other).returncode == 1
    p15 = ev.ctl("proof", "inclusion", "--seq", "5", "--tree-size", "15")
    assert verify_proof(ev, p15.out, cp.out).returncode == 1  # not the checkpoint's size

    # Consistency between the first and the latest checkpoint.
    first = ev.file_notes()[0]
    c = ev.ctl("proof", "consistency", "--from", "3", "--to", "13")
    assert c.returncode == 0, c.all
    assert get(d, "/v1/proofs/consistency?from=3&to=13", env.read_token).json == json.loads(c.out)
    ok = verify_proof(ev, c.out, cp.out, old=first)
    assert ok.returncode == 0, ok.all
    assert verify_proof(ev, c.out, first, old=cp.out).returncode == 1  # checkpoints swapped
    assert verify_proof(ev, c.out, cp.out).returncode == 2  # --old-checkpoint is needed

    # Proofs that cannot be built: exit 1; usage: exit 2.
    assert ev.ctl("proof", "inclusion", "--seq", "16").returncode == 1
    assert ev.ctl("proof", "consistency", "--from", "3", "--to", "99").returncode == 1
    assert ev.ctl("proof", "inclusion").returncode == 2
    assert ev.ctl("proof", "inclusion", "--seq", "x").returncode == 2
    assert ev.ctl("proof", "consistency", "--from", "5", "--to", "3").returncode == 2
    assert ev.ctl("proof", "bogus").returncode == 2
    assert ev.ctl("verify-proof", "--key", ev.verifier).returncode == 2


def test_proofs_property(ev):
    """Random batches with checkpoints at random sizes: every consistency proof between any two
    checkpoints and inclusion proofs of sampled seqs at every checkpoint verify offline."""
    rnd = random.Random(int(os.environ.get("CONSENTD_TEST_SEED", "0")) or random.randrange(1 << 30))
    ev.start()
    for _ in range(14):
        ev.post(rnd.randint(1, 9))
        if rnd.random() < 0.6:
            ev.wait_checkpoint(ev.env.count())
    ev.stop()
    notes = ev.file_notes()
    cps = [(note_checkpoint(n)[1], n) for n in notes]
    sizes = [s for s, _ in cps]
    assert len(sizes) >= 5 and sizes == sorted(set(sizes)), sizes
    leaves = ev.leaves()
    for s, n in cps:
        assert note_checkpoint(n)[2] == mth(leaves[:s])
    for i, (a, old) in enumerate(cps):
        for b, new in cps[i:]:
            p = ev.ctl("proof", "consistency", "--from", str(a), "--to", str(b))
            assert p.returncode == 0, p.all
            ok = verify_proof(ev, p.out, new, old=old)
            assert ok.returncode == 0, "consistency %d -> %d: %s" % (a, b, ok.all)
    for s, n in cps:
        for seq in sorted(set(rnd.randint(1, s) for _ in range(3)) | {1, s}):
            p = ev.ctl("proof", "inclusion", "--seq", str(seq), "--tree-size", str(s))
            assert p.returncode == 0, p.all
            ok = verify_proof(ev, p.out, n, entry=entry_of(ev.env, seq))
            assert ok.returncode == 0, "inclusion of %d in %d: %s" % (seq, s, ok.all)
    assert_ok(ev.verify_all())
