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
        for rel in ("audit_log", "subject_entry", "merkle_node", "checkpoint"):
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


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: report.py RESULTS_TSV")
    r = Report(*load(sys.argv[1]))
    parts = [r.header()] + [p for p in (r.generation(), r.verify(), r.proofs(), r.ratios()) if p]
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
