#!/usr/bin/env python3
"""Turns bench/run.sh's results.tsv into Markdown tables: absolute figures, then ratios measured
in the same run. Derived figures (rates, ratios) are computed here, never in the tools, so the
raw file stays the record of what was measured. Sections whose figures are absent are skipped,
so suites can be added (see docs/performance.md) without touching the others."""

import sys


def load(path):
    meta, res = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "meta" and len(parts) >= 3:
                meta[parts[1]] = parts[2]
            elif parts[0] == "result" and len(parts) >= 5:
                res[parts[1]] = (float(parts[2]), parts[3], parts[4])
    return meta, res


def num(v, digits=0):
    if v is None:
        return "n/a"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


class Report:
    def __init__(self, meta, res):
        self.meta, self.res = meta, res

    def v(self, key):
        r = self.res.get(key)
        return r[0] if r else None

    def header(self):
        m = self.meta
        lines = ["## consentd benchmark", ""]
        for key, label in (("cpu", "CPU"), ("memory", "memory"), ("os", "OS"),
                           ("pg_version", "PostgreSQL"), ("pg_settings", "PostgreSQL settings"),
                           ("pg_datadir_fs", "data directory"), ("buildtype", "build"),
                           ("commit", "commit"), ("date", "date"),
                           ("loadavg_start", "load average (1, 5, 15 min) at start"),
                           ("loadavg_end", "load average at end")):
            if key in m:
                lines.append(f"- {label}: {m[key]}")
        return "\n".join(lines)

    def generation(self):
        n = self.v("gen.entries")
        if n is None:
            return None
        rows = [
            ["entries generated", num(n), "entries"],
            ["entries per append transaction", num(self.v("gen.batch")), "entries"],
            ["generation wall time", num(self.v("gen.seconds"), 1), "s"],
            ["generation rate (store_append, fsync on)", num(self.v("gen.rows_per_s")), "rows/s"],
            ["decode + validate + pseudonymize + encode, per event",
             num(self.v("gen.prepare_us"), 2), "µs"],
            ["store_append of one batch, p50 / p99",
             f"{num(self.v('gen.append.p50') / 1e3, 1)} / {num(self.v('gen.append.p99') / 1e3, 1)}",
             "ms"],
            ["VACUUM (ANALYZE) after the load", num(self.v("db.vacuum.seconds"), 1), "s"],
        ]
        for rel in ("audit_log", "subject_entry", "merkle_node", "checkpoint", "consent_state",
                    "consent_daily", "consent_purpose_daily", "rights_request"):
            rows_, size = self.v(f"db.{rel}.rows"), self.v(f"db.{rel}.bytes")
            if rows_ is not None:
                rows.append([f"{rel}: rows, size with indexes",
                             f"{num(rows_)} / {num(size / 1e6)}", "rows / MB"])
        if self.v("db.bytes") is not None:
            rows.append(["database size", num(self.v("db.bytes") / 1e6), "MB"])
        return "### Ledger generation (gen_ledger)\n\n" + table(["figure", "value", "unit"], rows)

    def verify(self):
        n = self.v("chain.entries") or self.v("gen.entries")
        sha = self.v("sha256sum.seconds")
        if n is None or sha is None:
            return None
        entry_bytes = self.v("chain.entry_bytes")
        file_bytes = self.v("export.file_bytes")
        base = n / sha
        steps = [
            ("sha256sum over the exported entries (one stream)", sha, file_bytes),
            ("SHA-256 per entry, one reused context (in memory)",
             self.v("chain.reused_ctx.seconds"), entry_bytes),
            ("ledger_leaf_hash per entry (in memory)", self.v("chain.leaf_hash.seconds"),
             entry_bytes),
            ("chain_verifier_step per entry: hash, decode, link (in memory)",
             self.v("chain.verifier.seconds"), entry_bytes),
            ("PostgreSQL COPY of the entries in seq order, to a file",
             self.v("export.seconds"), entry_bytes),
            (f"{self.meta.get('verify_command', 'consentctl verify')} (database, streaming)",
             self.v("verify.seconds"), entry_bytes),
        ]
        rows = []
        for label, secs, nbytes in steps:
            if not secs:
                continue
            eps = n / secs
            rows.append([label, num(secs, 2), num(eps), num(nbytes / 1e6 / secs if nbytes else None, 0),
                         num(eps / base, 3)])
        avg = f"{entry_bytes / n:.0f}" if entry_bytes else "n/a"
        return (f"### consentctl verify against sha256sum ({num(n)} entries, {avg} bytes per "
                "entry on average, same bytes, same run)\n\n"
                + table(["step", "s", "entries/s", "MB/s", "× sha256sum entries/s"], rows))

    def proofs(self):
        if self.v("proof.inclusion_fetch.p50") is None:
            return None
        ops = [
            ("inclusion proof, produced (store_inclusion_proof)", "proof.inclusion_fetch"),
            ("inclusion proof, verified (merkle_verify_inclusion)", "proof.inclusion_verify"),
            ("inclusion proof, produced and verified", "proof.inclusion_total"),
            ("consistency proof, produced (store_consistency_proof)", "proof.consistency_fetch"),
            ("consistency proof, verified (merkle_verify_consistency)",
             "proof.consistency_verify"),
            ("tree root of a random size (store_tree_root)", "proof.tree_root"),
        ]
        rows = []
        for label, key in ops:
            if self.v(key + ".p50") is None:
                continue
            rows.append([label] + [num(self.v(f"{key}.{q}"), 1) for q in ("p50", "p90", "p99", "max")]
                        + [num(self.v(key + ".n"))])
        return (f"### Merkle proofs from the database (tree of {num(self.v('proof.tree_size'))} "
                f"entries; inclusion proofs of {self.v('proof.inclusion_hashes'):.1f} hashes on "
                "average)\n\n"
                + table(["operation", "p50 µs", "p90 µs", "p99 µs", "max µs", "samples"], rows))

    def ratios(self):
        rows = []
        n = self.v("chain.entries") or self.v("gen.entries")

        def rate(key):
            s = self.v(key)
            return n / s if n and s else None

        verify, sha = rate("verify.seconds"), rate("sha256sum.seconds")
        pairs = [
            ("consentctl verify ÷ sha256sum (entries/s)", verify, sha),
            ("consentctl verify ÷ PostgreSQL COPY export (entries/s)", verify,
             rate("export.seconds")),
            ("consentctl verify ÷ in-memory chain_verifier_step (entries/s)", verify,
             rate("chain.verifier.seconds")),
            ("ledger_leaf_hash ÷ reused-context SHA-256 (entries/s)",
             rate("chain.leaf_hash.seconds"), rate("chain.reused_ctx.seconds")),
        ]
        for label, a, b in pairs:
            if a and b:
                rows.append([label, f"{a / b:.3f}"])
        inc, inc_verify = self.v("proof.inclusion_total.p50"), self.v("proof.inclusion_verify.p50")
        if inc and inc_verify:
            rows.append(["inclusion proofs per second on one connection (1 / p50 produce+verify)",
                         num(1e6 / inc)])
            rows.append(["share of verification in an inclusion proof's p50",
                         f"{inc_verify / inc:.3f}"])
        if not rows:
            return None
        return "### Ratios (same run)\n\n" + table(["ratio", "value"], rows)


class Compliance:
    """The compliance suite of issue 5 (bench/suite_compliance.sh): per-subject reads and the
    data-rights register through the real daemon, on the proof suite's ledger."""

    TARGET_MS = 50.0

    def __init__(self, meta, res):
        self.meta, self.res = meta, res

    def v(self, key):
        r = self.res.get(key)
        return r[0] if r else None

    def settings(self):
        m = self.meta
        if "compliance_samples" not in m:
            return None
        return (f"- compliance settings: {int(m['compliance_samples']):,} subjects timed for each "
                f"read after {m.get('compliance_warmup', '?')} of warm-up, one keep-alive "
                f"connection, one request at a time; generated period "
                f"{m.get('compliance_period', '?')}")

    def reads(self):
        if self.v("compliance.consent.p50") is None:
            return None
        rows = []
        for key, label, target in (
                ("compliance.lookup", "POST /v1/subjects/lookup (device id to pseudonym)", None),
                ("compliance.consent", "GET /v1/subjects/{s}/consent?at=T (T random in the period)",
                 self.TARGET_MS),
                ("compliance.evidence", "GET /v1/subjects/{s}/evidence (bundle)", self.TARGET_MS),
                ("compliance.evidence_newconn", "GET /v1/subjects/{s}/evidence, a new connection "
                 "per request (connect included)", self.TARGET_MS)):
            if self.v(key + ".p50") is None:
                continue
            ms = lambda q: num(self.v(f"{key}.{q}") / 1e3, 2)
            p50 = self.v(key + ".p50") / 1e3
            if target:
                verdict = [f"< {target:.0f}", f"{p50 / target:.3f}",
                           "met" if p50 < target else "**missed**"]
            else:
                verdict = ["—", "—", "—"]
            rows.append([label, ms("p50"), ms("p90"), ms("p99"), ms("max"), ms("mean"),
                         num(self.v(key + ".n"))] + verdict)
        n = self.v("gen.entries") or self.meta.get("entries")
        subjects = self.meta.get("subjects")
        title = "### Per-subject reads over HTTP (consentd, one keep-alive connection"
        if n and subjects:
            title += f"; {num(float(n))} entries, subjects from {num(float(subjects))}"
        title += ")\n\n"
        out = title + table(["request", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms",
                             "samples", "target p50 ms", "p50 ÷ target", "verdict"], rows)
        extra = []
        if self.v("compliance.bundle_entries.p50") is not None:
            extra.append(["entries per bundle, p50 / mean / max",
                          f"{num(self.v('compliance.bundle_entries.p50'))} / "
                          f"{num(self.v('compliance.bundle_entries.mean'), 1)} / "
                          f"{num(self.v('compliance.bundle_entries.max'))}", "entries"])
            extra.append(["bundle size, p50 / mean / max",
                          f"{num(self.v('compliance.bundle_bytes.p50') / 1e3, 1)} / "
                          f"{num(self.v('compliance.bundle_bytes.mean') / 1e3, 1)} / "
                          f"{num(self.v('compliance.bundle_bytes.max') / 1e3, 1)}", "kB"])
            if self.v("compliance.bundle_over_16k") is not None:
                extra.append(["bundles over 16 KiB (answered in two writes of libevent)",
                              f"{100 * self.v('compliance.bundle_over_16k'):.1f}", "%"])
            extra.append(["consent answer size, p50",
                          num(self.v("compliance.consent_bytes.p50")), "bytes"])
        if self.v("compliance.bundle_verified") is not None:
            extra.append(["a served bundle checked by consentctl verify-bundle",
                          "valid" if self.v("compliance.bundle_verified") else "INVALID", ""])
        if self.v("compliance.subjects_without_entries") is not None:
            extra.append(["subjects drawn that had no entry (drawn again)",
                          f"{num(self.v('compliance.subjects_without_entries'))} of "
                          f"{num(self.v('compliance.subjects_drawn'))}", "subjects"])
        if extra:
            out += "\n\n" + table(["figure", "value", "unit"], extra)
        return out

    def register(self):
        rows = []
        for key, label, rss_key in (
                ("compliance.register_http", "GET /v1/reports/data-rights?format=csv, streamed "
                 "to a file (curl)", "rss.consentd-compliance.vmhwm_kb"),
                ("compliance.register_ctl", "consentctl report data-rights --format csv -o FILE",
                 "compliance.register_ctl.maxrss_kb")):
            secs, nrows, nbytes = (self.v(key + ".seconds"), self.v(key + ".rows"),
                                   self.v(key + ".bytes"))
            if not secs or nrows is None:
                continue
            first = self.v(key + ".first_byte_seconds")
            rss = self.v(rss_key)
            rows.append([label, num(nrows), num(nbytes / 1e6, 1), num(secs, 2),
                         num(nrows / secs), num(nbytes / 1e6 / secs, 1),
                         num(first * 1e3, 1) if first is not None else "n/a",
                         num(rss / 1024, 1) if rss is not None else "n/a"])
        if not rows:
            return None
        out = ("### Data-rights register, the whole generated period as CSV (status all; "
               f"{num(self.v('compliance.register.rows'))} requests)\n\n"
               + table(["producer", "rows", "MB", "s", "rows/s", "MB/s", "first byte ms",
                        "peak RSS MB"], rows))
        same = self.v("compliance.register_same")
        if same is not None:
            out += ("\n\nPeak RSS: consentd's VmHWM after every request of the suite; consentctl's "
                    "from /usr/bin/time -v. The two CSV files are "
                    + ("byte for byte identical." if same else "**not identical**."))
        return out

    def verify(self):
        full, chain = self.v("compliance.verify_full.seconds"), self.v("verify.seconds")
        if full is None or chain is None:
            return None
        n = self.v("gen.entries")
        rows = [["consentctl verify --key (chain, checkpoints and projections)", num(full, 1),
                 num(n / full) if n else "n/a"],
                ["consentctl verify --key --no-projections (chain and checkpoints)", num(chain, 1),
                 num(n / chain) if n else "n/a"],
                ["the projection check (difference)", num(full - chain, 1),
                 num(n / (full - chain)) if n and full > chain else "n/a"]]
        return ("### consentctl verify's projection check (same ledger, same run)\n\n"
                + table(["run", "s", "entries/s"], rows))

    def sections(self):
        return [p for p in (self.reads(), self.register(), self.verify()) if p]


class Throughput:
    """The throughput suites of issue 6 (bench/suite_throughput.sh): sink, http, kafka, diy,
    chain; then the ratios between them, every one from figures of the same run."""

    SINKS = (("copy", 100), ("copy", 1000), ("insert", 100), ("insert", 1000))

    def __init__(self, meta, res):
        self.meta, self.res = meta, res

    def v(self, key):
        r = self.res.get(key)
        return r[0] if r else None

    @staticmethod
    def sink_label(mode, batch):
        return ("binary COPY" if mode == "copy" else "pipelined prepared INSERT") + \
            f", {batch:,} rows per transaction"

    def best_sink(self):
        best = None
        for mode, batch in self.SINKS:
            r = self.v(f"sink.{mode}.{batch}.rows_per_s")
            if r and (best is None or r > best[0]):
                best = (r, self.sink_label(mode, batch))
        return best

    def settings(self):
        m = self.meta
        if "connections" not in m:
            return None
        parts = [f"{m['connections']} HTTP connections ({m.get('wrk', 'wrk')}, "
                 f"{m.get('wrk_threads', '?')} threads, {m.get('http_seconds', '?')} s per run)",
                 f"latency runs {m.get('latency_seconds', '?')} s open loop",
                 f"sink {int(m.get('sink_rows', 0)):,} rows per variant",
                 f"Kafka {int(m.get('kafka_events', 0)):,} events, "
                 f"{m.get('kafka_partitions', '?')} partitions, {m.get('kafka_brokers', '?')} mock "
                 f"brokers, backlog <= {int(m.get('kafka_partition_backlog', 0)):,} per partition "
                 f"and {int(m.get('kafka_backlog', 0)):,} in all",
                 f"DIY {m['connections']} clients for {m.get('diy_seconds', '?')} s"]
        return "- throughput settings: " + "; ".join(parts)

    def sink(self):
        rows = []
        for mode, batch in self.SINKS:
            k = f"sink.{mode}.{batch}"
            if self.v(k + ".rows_per_s") is None:
                continue
            rows.append([self.sink_label(mode, batch), num(self.v(k + ".rows")),
                         num(self.v(k + ".seconds"), 2), num(self.v(k + ".rows_per_s")),
                         f"{num(self.v(k + '.txn.p50') / 1e3, 1)} / "
                         f"{num(self.v(k + '.txn.p99') / 1e3, 1)}"])
        for k, label in (("sink.copy3.1000", "for reference, not the raw sink: binary COPY into "
                          "copies of audit_log, subject_entry and merkle_node (the ledger's rows "
                          "of 1,000 events per transaction)"),
                         ("sink.schema.1000", "for reference, not the raw sink: the same and a new "
                          "consent_state row per pseudonym (the rows every event costs; events/s)")):
            if self.v(k + ".rows_per_s") is None:
                continue
            rows.append([label, num(self.v(k + ".rows")), num(self.v(k + ".seconds"), 2),
                         num(self.v(k + ".rows_per_s")),
                         f"{num(self.v(k + '.txn.p50') / 1e3, 1)} / "
                         f"{num(self.v(k + '.txn.p99') / 1e3, 1)}"])
        if not rows:
            return None
        eb = next((self.v(f"sink.{m}.{b}.entry_bytes") for m, b in self.SINKS
                   if self.v(f"sink.{m}.{b}.entry_bytes")), None)
        return (f"### Sink limit: audit_log rows into an identical table without triggers "
                f"(one connection; entries of {num(eb)} bytes on average)\n\n"
                + table(["method", "rows", "s", "rows/s", "transaction p50 / p99 ms"], rows))

    def http(self):
        rows = []
        for key, label in (("http.bare", "bare evhttp answering 202 (bare_http)"),
                           ("http.single", "consentd, 1 event per request"),
                           ("http.batch", "consentd, 100 events per request")):
            if self.v(key + ".requests_per_s") is None:
                continue
            txns, events = self.v(key + ".db.txns"), self.v(key + ".db_events")
            rows.append([label, num(self.v(key + ".requests_per_s")),
                         num(self.v(key + ".events_per_s")),
                         num((self.v(key + ".non2xx") or 0) + (self.v(key + ".socket_errors") or 0)),
                         num(self.v(key + ".wrk_p50") / 1e3, 1) + " / "
                         + num(self.v(key + ".wrk_p99") / 1e3, 1),
                         num(events / txns, 1) if txns and events else "n/a"])
        if not rows:
            return None
        return ("### HTTP: wrk, closed loop, POST /v1/events with fresh event_ids\n\n"
                + table(["server and load", "requests/s", "events/s", "errors", "wrk p50 / p99 ms",
                         "events per transaction"], rows))

    def kafka(self):
        n = self.v("kafka.events")
        if n is None:
            return None
        rows = [["events produced while consentd consumed", num(n), "events"],
                ["first produce to the last event in audit_log", num(self.v("kafka.seconds"), 1), "s"],
                ["consentd over Kafka", num(self.v("kafka.events_per_s")), "events/s"],
                ["first produce to the last message acknowledged by the mock (paced by the backlog "
                 "bound)", num(self.v("kafka.produce_seconds"), 1), "s"],
                ["backlog of a partition past the committed offset: bound / largest seen",
                 f"{num(self.v('kafka.max_partition_backlog'))} / "
                 f"{num(self.v('kafka.partition_backlog_seen'))}", "events"],
                ["backlog in all, produced - appended: bound / largest seen",
                 f"{num(self.v('kafka.max_backlog'))} / {num(self.v('kafka.backlog_seen'))}", "events"],
                ["append transactions / events per transaction",
                 f"{num(self.v('kafka.db.txns'))} / "
                 f"{num(n / self.v('kafka.db.txns'), 1) if self.v('kafka.db.txns') else 'n/a'}", ""],
                ["rejected events", num(self.v("kafka.rejected")), "events"]]
        return ("### consentd over Kafka (librdkafka mock cluster, produced while consumed)\n\n"
                + table(["figure", "value", "unit"], rows))

    def transactions(self):
        parts = ("lock_head", "lookup", "copy_audit_log", "copy_subject_entry", "copy_merkle_node",
                 "consent_load", "consent_write", "rights", "daily", "move_head")
        rows = []
        for key, label, secs_key, events_key in (
                ("http.single", "HTTP, 1 event per request", "http.single.seconds", "http.single.db_events"),
                ("http.batch", "HTTP, 100 events per request", "http.batch.seconds", "http.batch.db_events"),
                ("kafka", "Kafka", "kafka.seconds", "kafka.events")):
            txns = self.v(key + ".db.txns")
            if not txns:
                continue
            wall = self.v(secs_key) * 1e3 / txns
            stmts = [self.v(f"{key}.db.{p}") or 0 for p in parts]
            rows.append([label, num(self.v(events_key) / txns, 1), num(wall, 2)]
                        + [num(x, 2) for x in stmts] + [num(wall - sum(stmts), 2)])
        if not rows:
            return None
        return ("### Where an append transaction's time goes (pg_stat_statements, ms per transaction;"
                " the rest is round trips, the commit's WAL flush and consentd's own work)\n\n"
                + table(["load", "events/txn", "wall ms/txn", "lock head", "event_id lookup",
                         "audit_log rows", "subject_entry rows", "merkle_node rows",
                         "consent_state load", "consent_state upsert", "rights_request",
                         "daily aggregates", "move head", "rest"], rows))

    def cpu(self):
        rows = []
        for key, label, events in (("http.single", "HTTP, 1 event per request", "http.single.db_events"),
                                   ("http.batch", "HTTP, 100 events per request", "http.batch.db_events"),
                                   ("kafka", "Kafka", "kafka.events")):
            if self.v(key + ".cpu.consentd_us") is None:
                continue
            def busy(who):
                c, w = self.v(f"{key}.sched.{who}_cpu"), self.v(f"{key}.sched.{who}_wait")
                return "n/a" if c is None else f"{100 * c:.0f}% / {100 * w:.0f}%"
            rows.append([label, num(self.v(events)), num(self.v(key + ".cpu.consentd_us"), 1),
                         num(self.v(key + ".cpu.backend_us"), 1), busy("loop"), busy("writer"),
                         busy("backend"), num(self.v(key + ".cpu.machine_busy"), 2)])
        if not rows:
            return None
        return ("### CPU during each consentd measurement (/proc: CPU time per event of consentd, "
                "all threads, and of its writer's PostgreSQL backend; then the share of the wall "
                "time each thread spent on a CPU / runnable but waiting for one, from schedstat)\n\n"
                + table(["load", "events", "consentd µs/event", "writer backend µs/event",
                         "event loop thread", "writer thread", "writer backend",
                         "busy cores, whole machine"], rows))

    def latency(self):
        rows = []
        for key, label in (("http.single.latency", "consentd, 1 event per request"),
                           ("http.batch.latency", "consentd, 100 events per request")):
            if self.v(key + ".p50") is None:
                continue
            ms = lambda q: num(self.v(f"{key}.{q}") / 1e3, 2)
            rows.append([label, num(self.v(key + ".rate")),
                         num(self.v(key + ".rate") * self.v(key + ".events_per_request")),
                         num(self.v(key + ".achieved_rps")), ms("p50"), ms("p99"), ms("p999"),
                         ms("max"), f"{ms('sent.p50')} / {ms('sent.p99')}",
                         num((self.v(key + ".errors") or 0) + (self.v(key + ".non2xx") or 0)
                             + (self.v(key + ".unanswered") or 0))])
        if not rows:
            return None
        return ("### Ack latency at half the measured maximum (open loop, loadgen; from each "
                "request's scheduled time to its answer)\n\n"
                + table(["load", "requests/s", "events/s", "achieved req/s", "p50 ms", "p99 ms",
                         "p99.9 ms", "max ms", "write-to-answer p50 / p99 ms", "errors"], rows))

    def diy(self):
        if self.v("diy.rows_per_s") is None:
            return None
        rows = [["rows inserted / timed window",
                 f"{num(self.v('diy.rows'))} / {num(self.v('diy.seconds'), 1)} s", ""],
                ["trigger-chained INSERT, autocommit", num(self.v("diy.rows_per_s")), "rows/s"],
                ["one INSERT (commit included) p50 / p99",
                 f"{num(self.v('diy.insert.p50') / 1e3, 1)} / {num(self.v('diy.insert.p99') / 1e3, 1)}",
                 "ms"]]
        return (f"### Do-it-yourself baseline: one INSERT per event, {num(self.v('diy.clients'))} "
                "clients, hash chain in a trigger under a row lock (pgcrypto)\n\n"
                + table(["figure", "value", "unit"], rows))

    def chain_estimate(self):
        """(per-event store_append µs, chain µs of the three steps, chain µs without encode)"""
        n, secs = self.v("chaincost.gen.entries"), self.v("chaincost.gen.seconds")
        enc, leaf, front = (self.v("chaincost.encode_ns"), self.v("chaincost.leaf_ns"),
                            self.v("chaincost.frontier_ns"))
        if not n or not secs or enc is None:
            return None
        return secs * 1e6 / n, (enc + leaf + front) / 1e3, (leaf + front) / 1e3

    def chain(self):
        est = self.chain_estimate()
        if est is None:
            return None
        per_event, chain3, chain2 = est
        rows = [["store_append, whole path per event (gen_ledger, batches of "
                 f"{num(self.v('chaincost.gen.batch'))}, {num(self.v('chaincost.gen.entries'))} "
                 f"entries at {num(self.v('chaincost.gen.rows_per_s'))} rows/s; wall time / entries)",
                 num(per_event, 2), "1.000"],
                ["ledger_entry_encode", num(self.v("chaincost.encode_ns") / 1e3, 3),
                 f"{self.v('chaincost.encode_ns') / 1e3 / per_event:.4f}"],
                ["ledger_leaf_hash", num(self.v("chaincost.leaf_ns") / 1e3, 3),
                 f"{self.v('chaincost.leaf_ns') / 1e3 / per_event:.4f}"],
                ["merkle_frontier_append (+ merkle_node rows)", num(self.v("chaincost.frontier_ns") / 1e3, 3),
                 f"{self.v('chaincost.frontier_ns') / 1e3 / per_event:.4f}"],
                ["the three, summed", num(chain3, 3), f"{chain3 / per_event:.4f}"],
                ["the three per event in store_append's order (cross-check)",
                 num(self.v("chaincost.together_ns") / 1e3, 3),
                 f"{self.v('chaincost.together_ns') / 1e3 / per_event:.4f}"]]
        return ("### Chain cost per event (in process, bench_chaincost; against store_append's "
                "per-event time in the same run)\n\n"
                + table(["step", "µs per event", "share of store_append"], rows))

    def rss(self):
        rows = []
        for name, label in (("consentd-http", "consentd, after every HTTP load"),
                            ("consentd-kafka", f"consentd, after {num(self.v('kafka.events'))} "
                             "Kafka events")):
            hwm = self.v(f"rss.{name}.vmhwm_kb")
            if hwm is not None:
                rows.append([label, num(hwm / 1024, 1), num(self.v(f"rss.{name}.vmrss_kb") / 1024, 1)])
        if not rows:
            return None
        return ("### Memory (from /proc/<pid>/status)\n\n"
                + table(["process", "peak RSS (VmHWM) MB", "RSS at the end MB"], rows))

    def ratios(self):
        rows = []
        best = self.best_sink()
        sink = best[0] if best else None
        sink_label = best[1] if best else ""

        def add(label, a, b, target, digits=3):
            if a is not None and b:
                rows.append([label, f"{a / b:.{digits}f}", target])

        add(f"consentd over Kafka ÷ raw sink ({sink_label}), events/s",
            self.v("kafka.events_per_s"), sink, "≥ 0.6 (stretch 0.8)")
        add(f"consentd HTTP, 100 events per request ÷ raw sink ({sink_label}), events/s",
            self.v("http.batch.events_per_s"), sink, "≥ 0.6")
        add("consentd HTTP, 1 event per request ÷ bare evhttp, requests/s",
            self.v("http.single.requests_per_s"), self.v("http.bare.requests_per_s"),
            "≥ 0.3 (stretch 0.5)")
        add("consentd HTTP, 1 event per request ÷ DIY trigger baseline, events/s",
            self.v("http.single.events_per_s"), self.v("diy.rows_per_s"), "≥ 5", 2)
        add("consentd HTTP, 100 events per request ÷ DIY trigger baseline, events/s",
            self.v("http.batch.events_per_s"), self.v("diy.rows_per_s"), "≥ 5", 2)
        add("consentd over Kafka ÷ DIY trigger baseline, events/s",
            self.v("kafka.events_per_s"), self.v("diy.rows_per_s"), "≥ 5", 2)
        est = self.chain_estimate()
        if est:
            per_event, chain3, chain2 = est
            rows.append(["chain on ÷ chain off, estimate: 1 − (encode + leaf hash + Merkle) ÷ "
                         "store_append per event", f"{1 - chain3 / per_event:.3f}", "≥ 0.95"])
            rows.append(["chain on ÷ chain off, estimate without the entry encoding: "
                         "1 − (leaf hash + Merkle) ÷ store_append per event",
                         f"{1 - chain2 / per_event:.3f}", "≥ 0.95"])
        three = self.v("sink.copy3.1000.rows_per_s")
        add(f"for reading the two above: store_append alone, no ingest (gen_ledger, batches of "
            f"1,000) ÷ raw sink ({sink_label})", self.v("chaincost.gen.rows_per_s"), sink, "—")
        add(f"for reading the two above: COPY into the ledger's three tables ÷ raw sink "
            f"({sink_label})", three, sink, "—")
        add("for reading the two above: consentd over Kafka ÷ COPY into the ledger's three tables",
            self.v("kafka.events_per_s"), three, "—")
        schema = self.v("sink.schema.1000.rows_per_s")
        add(f"the bound of this schema: COPY into the four tables written per event ÷ raw sink "
            f"({sink_label})", schema, sink, "—")
        add("consentd over Kafka ÷ COPY into the four tables written per event",
            self.v("kafka.events_per_s"), schema, "—")
        add("consentd HTTP, 100 events per request ÷ COPY into the four tables written per event",
            self.v("http.batch.events_per_s"), schema, "—")
        p99 = self.v("http.single.latency.p99")
        if p99 is not None:
            rows.append(["p99 ack latency at half the maximum, 1 event per request (ms)",
                         f"{p99 / 1e3:.1f}", "< 20"])
        hwm = [self.v(f"rss.{n}.vmhwm_kb") for n in ("consentd-http", "consentd-kafka")]
        hwm = [h for h in hwm if h is not None]
        if hwm:
            rows.append(["consentd peak RSS, largest of the runs (MB)", f"{max(hwm) / 1024:.1f}",
                         "< 100"])
        if not rows:
            return None
        return ("### Throughput ratios (same run; targets from issue 6)\n\n"
                + table(["ratio", "value", "target"], rows))

    def sections(self):
        return [p for p in (self.sink(), self.http(), self.kafka(), self.transactions(),
                            self.cpu(), self.latency(), self.diy(), self.chain(), self.rss(), self.ratios()) if p]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS_TSV")
    meta, res = load(sys.argv[1])
    r = Report(meta, res)
    t = Throughput(meta, res)
    c = Compliance(meta, res)
    head = r.header()
    for extra in (t.settings(), c.settings()):
        if extra:
            head += "\n" + extra
    parts = [head] + [p for p in (r.generation(), r.verify(), r.proofs(), r.ratios()) if p]
    parts += c.sections()
    parts += t.sections()
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
