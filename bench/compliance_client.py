#!/usr/bin/python3
"""The compliance suite's HTTP client (bench/suite_compliance.sh): one keep-alive connection,
one request at a time, against a consentd that reads the benchmark ledger.

Subjects are the workload's (bench/workload.c, fill_subject): subject n of --subjects has the
device id "d-%016x" % (n * 0x9e3779b97f4a7c15 mod 2^64), and every event of the subject carries
that device id, so its pseudonym names the subject's whole history (an account id and an email
come with only 30% of the events). For each subject drawn at random, POST /v1/subjects/lookup
turns the device id into its pseudonym, as a caller answering an access request would; a subject
the ledger holds nothing on (404 on the first read) is drawn again, and counted.

Four passes, each on its own random subjects, so that no timed request reads rows an earlier
request of the run fetched on purpose (warm-up subjects are different again):
  lookup    POST /v1/subjects/lookup (no database: one HMAC per subject key)
  consent   GET /v1/subjects/{pseudonym}/consent?at=T, T uniform in [--from-us, --to-us]
  evidence  GET /v1/subjects/{pseudonym}/evidence (the bundle: entries, proofs, checkpoint)
  evidence_newconn  the same, each request on a new connection (connect included)
Each request is timed from just before it is sent to the last byte of its answer read.
Prints `result` lines (see bench/stats.h): latencies in microseconds, nearest-rank percentiles.
"""

import argparse
import http.client
import json
import random
import sys
import time
from datetime import datetime, timezone

GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def device_id(n):
    # bench/workload.c, fill_subject: "d-%016" PRIx64 of n * 0x9e3779b97f4a7c15.
    return "d-%016x" % ((n * GOLDEN) & MASK)


def rfc3339(us):
    t = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1_000_000)


def quantile(sorted_values, q):
    """Nearest rank, as bench/stats.c."""
    if not sorted_values:
        return 0
    rank = max(1, -(-len(sorted_values) * q // 1))  # ceil(n * q), at least 1
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


def result(key, value, unit, label):
    print("result\t%s\t%.6g\t%s\t%s" % (key, value, unit, label))


def latency(key, samples_ns, label):
    s = sorted(samples_ns)
    for q, name in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        result(f"{key}.{name}", quantile(s, q) / 1e3, "us", f"{label}, {name}")
    result(f"{key}.max", (s[-1] if s else 0) / 1e3, "us", f"{label}, max")
    result(f"{key}.mean", (sum(s) / len(s) if s else 0) / 1e3, "us", f"{label}, mean")
    result(f"{key}.n", len(s), "requests", f"{label}, samples")


class Client:
    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.auth = {"Authorization": "Bearer " + token}
        self.requests = 0

    def call(self, method, path, body=None):
        headers = dict(self.auth)
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter_ns()
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter_ns() - t0
        self.requests += 1
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()  # http.client reconnects on the next request
        return resp.status, data, elapsed


def fail(msg):
    print("compliance_client: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--subjects", type=int, required=True, help="the workload's subject count")
    ap.add_argument("--samples", type=int, default=1000, help="timed requests of each kind")
    ap.add_argument("--warmup", type=int, default=50, help="untimed requests of each kind first")
    ap.add_argument("--from-us", type=int, required=True, help="the generated period, Unix µs")
    ap.add_argument("--to-us", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bundle-out", help="write the last bundle fetched here (for verify-bundle)")
    ap.add_argument("--prefix", default="compliance")
    ap.add_argument("--log", help="one line per timed request: kind, subject, status, µs, bytes")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    c = Client(a.port, a.token)
    log = open(a.log, "w", encoding="utf-8") if a.log else None
    drawn = set()
    missing = [0]
    lookup_ns = []

    def draw():
        """A subject not drawn before: (n, pseudonym hex), its lookup timed."""
        if len(drawn) >= a.subjects:
            fail("ran out of subjects")
        while True:
            n = rng.randrange(a.subjects)
            if n not in drawn:
                drawn.add(n)
                break
        status, data, ns = c.call("POST", "/v1/subjects/lookup", {"device_id": device_id(n)})
        if status != 200:
            fail(f"POST /v1/subjects/lookup: {status} {data[:300]!r}")
        lookup_ns.append(ns)
        return n, json.loads(data)["subject"]

    def run(kind, pseudonym, at_us=None):
        path = f"/v1/subjects/{pseudonym}/{kind}"
        if kind == "consent":
            path += "?at=" + rfc3339(at_us).replace("+", "%2B")
        return c.call("GET", path)

    def measure(kind, count, timed, new_connection=False):
        """count subjects that have entries; returns (latencies, bodies' sizes, entries counts).
        new_connection: each read on a connection of its own (its connect timed too)."""
        lat, sizes, entries = [], [], []
        last = None
        done = 0
        while done < count:
            n, p = draw()
            at = rng.randrange(a.from_us, a.to_us + 1)
            if new_connection:
                c.conn.close()  # http.client connects again for the next request
            status, data, ns = run(kind, p, at)
            if status == 404:
                missing[0] += 1
                if missing[0] > 1000 and missing[0] > 2 * len(drawn) // 3:
                    fail(f"{missing[0]} of {len(drawn)} subjects have no entries: are the "
                         "workload's device ids (bench/workload.c) still those of device_id()?")
                continue
            if status != 200:
                fail(f"GET {kind} of subject {n} ({p}): {status} {data[:300]!r}")
            done += 1
            if not timed:
                continue
            lat.append(ns)
            sizes.append(len(data))
            if kind == "evidence":
                b = json.loads(data)
                entries.append(len(b.get("entries", [])))
                last = data
            elif kind == "consent":
                j = json.loads(data)
                if "purposes" not in j:
                    fail(f"consent answer without purposes: {data[:300]!r}")
            if log:
                log.write(f"{kind}{'-newconn' if new_connection else ''}\t{n}\t{p}\t{status}\t{ns / 1e3:.1f}\t{len(data)}\n")
        if last is not None and a.bundle_out:
            with open(a.bundle_out, "wb") as f:
                f.write(last)
        return lat, sizes, entries

    t0 = time.perf_counter()
    # Warm-up: the connection, the daemon's reader, PostgreSQL's catalog caches and plans.
    measure("consent", a.warmup, False)
    measure("evidence", a.warmup, False)
    lookup_ns.clear()
    missing[0] = 0
    drawn_before = len(drawn)

    consent_lat, consent_sizes, _ = measure("consent", a.samples, True)
    evidence_lat, evidence_sizes, evidence_entries = measure("evidence", a.samples, True)
    # The same read with a new connection each time: a connection's first answer is
    # acknowledged at once (TCP quick-ack), so this shows the answer's time without any wait
    # for the client's delayed ACK that a keep-alive connection may add (see the suite's docs).
    newconn_lat, _, _ = measure("evidence", a.samples, True, new_connection=True)
    secs = time.perf_counter() - t0

    p = a.prefix
    latency(f"{p}.lookup", lookup_ns, "POST /v1/subjects/lookup")
    latency(f"{p}.consent", consent_lat, "GET /v1/subjects/{s}/consent?at=T")
    latency(f"{p}.evidence", evidence_lat, "GET /v1/subjects/{s}/evidence")
    latency(f"{p}.evidence_newconn", newconn_lat,
            "GET /v1/subjects/{s}/evidence, a new connection per request (connect included)")
    ss = sorted(evidence_sizes)
    result(f"{p}.bundle_bytes.p50", quantile(ss, 0.5), "bytes", "evidence bundle size, p50")
    result(f"{p}.bundle_bytes.max", ss[-1] if ss else 0, "bytes", "evidence bundle size, max")
    result(f"{p}.bundle_bytes.mean", sum(ss) / len(ss) if ss else 0, "bytes",
           "evidence bundle size, mean")
    result(f"{p}.bundle_over_16k", sum(1 for x in ss if x > 16384) / len(ss) if ss else 0,
           "fraction", "bundles over 16 KiB (libevent writes at most 16 KiB at a time)")
    es = sorted(evidence_entries)
    result(f"{p}.bundle_entries.p50", quantile(es, 0.5), "entries", "entries per bundle, p50")
    result(f"{p}.bundle_entries.max", es[-1] if es else 0, "entries", "entries per bundle, max")
    result(f"{p}.bundle_entries.mean", sum(es) / len(es) if es else 0, "entries",
           "entries per bundle, mean")
    cs = sorted(consent_sizes)
    result(f"{p}.consent_bytes.p50", quantile(cs, 0.5), "bytes", "consent answer size, p50")
    result(f"{p}.subjects_without_entries", missing[0], "subjects",
           "subjects drawn whose device id has no entry (drawn again)")
    result(f"{p}.subjects_drawn", len(drawn) - drawn_before, "subjects",
           "subjects drawn for the timed passes")
    result(f"{p}.warmup", a.warmup, "requests", "untimed requests of each kind first")
    result(f"{p}.client_seconds", secs, "s", "the client's whole run")
    if log:
        log.close()


if __name__ == "__main__":
    main()
