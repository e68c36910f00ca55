#!/bin/bash
# consentd benchmarks, one command: builds (release) if needed, starts a throwaway PostgreSQL,
# runs the suites, prints the tables, stops PostgreSQL and removes its files.
# See docs/performance.md for what each figure means. Never part of the test suites.
#
# Environment:
#   BENCH_ENTRIES   ledger size for the proof and compliance suites (default 10000000; 200000
#                   with BENCH_QUICK=1); generated once when both run (proof first, then
#                   compliance reads the same database)
#   BENCH_SUBJECTS  subjects the ledger's events are drawn from (default 1000000; 20000 with
#                   BENCH_QUICK=1, so that a subject has about 10 entries either way)
#   BENCH_PROOFS    random proofs of each kind (default 2000; 500 with BENCH_QUICK=1)
#   BENCH_QUICK=1   a quick run with the smaller defaults
#   BENCH_SUITES    suites to run, separated by spaces or commas (default "proof"): proof,
#                   compliance (issue 5: per-subject reads and the data-rights register over
#                   HTTP and consentctl, bench/suite_compliance.sh), and the throughput suites
#                   of issue 6: sink, http, kafka, diy, chain
#                   (bench/suite_throughput.sh; BENCH_SUITES=sink,http,kafka,diy,chain)
# Compliance suite (defaults; BENCH_QUICK=1 makes them smaller):
#   BENCH_COMPLIANCE_SAMPLES  timed subjects for each read: consent-at-T, evidence, evidence on a
#                             new connection (1000; quick 200)
#   BENCH_COMPLIANCE_WARMUP   untimed requests of each kind first (50; quick 20)
#   BENCH_COMPLIANCE_VERIFY   1: time consentctl verify's projection check (a verify run with it;
#                             another without it unless the proof suite ran); default 1 up to
#                             1,000,000 entries, 0 above (the check replays ~11,000 entries/s)
#   BENCH_BATCH     entries per append transaction in gen_ledger (default 10000)
#   BENCH_BUILD_DIR build directory (default build-bench; set up as a release build if missing)
#   BENCH_TMPDIR    where the cluster and the export go (default $TMPDIR or /var/tmp): a disk,
#                   not tmpfs, for realistic fsync figures; needs about 1.6 KB per entry
#   BENCH_OUT       where results and logs go (default $BENCH_BUILD_DIR/bench-results/<time>)
#   BENCH_KEEP=1    keep the cluster's folder (it is stopped either way)
# Throughput suites (defaults; BENCH_QUICK=1 shortens them):
#   BENCH_CONNECTIONS   HTTP connections and DIY clients (64)
#   BENCH_WRK_THREADS   wrk threads (2)
#   BENCH_HTTP_SECONDS  each wrk measurement (20; quick 5)
#   BENCH_LATENCY_SECONDS each open-loop latency measurement (15; quick 5)
#   BENCH_SINK_ROWS     rows per sink measurement (300000; quick 50000)
#   BENCH_KAFKA_EVENTS  events through Kafka (1000000; quick 100000)
#   BENCH_KAFKA_PARTITIONS / BENCH_KAFKA_BROKERS  (4 / 3)
#   BENCH_KAFKA_PARTITION_BACKLOG  events a partition may hold past consentd's committed offset
#                       (8000; a mock partition keeps only ~5 MiB, some 16,000 of these events)
#   BENCH_KAFKA_BACKLOG events produced but not yet in the ledger, all partitions (40000)
#   BENCH_DIY_SECONDS   trigger baseline duration (20; quick 5)
#   BENCH_CHAIN_ENTRIES gen_ledger entries for the per-event store_append time (200000; quick 50000)
#   BENCH_CHAINCOST_ENTRIES events timed in process by bench_chaincost (100000; quick 20000)
#   BENCH_PERF=1        also profile consentd under HTTP load (perf record -a, extra runs)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$SRC/bench
. "$BENCH_DIR/lib.sh"
. "$BENCH_DIR/suite_proof.sh"
. "$BENCH_DIR/suite_throughput.sh"
. "$BENCH_DIR/suite_compliance.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	BENCH_ENTRIES=${BENCH_ENTRIES:-200000}
	BENCH_SUBJECTS=${BENCH_SUBJECTS:-20000}
	BENCH_PROOFS=${BENCH_PROOFS:-500}
	BENCH_COMPLIANCE_SAMPLES=${BENCH_COMPLIANCE_SAMPLES:-200}
	BENCH_COMPLIANCE_WARMUP=${BENCH_COMPLIANCE_WARMUP:-20}
else
	BENCH_ENTRIES=${BENCH_ENTRIES:-10000000}
	BENCH_PROOFS=${BENCH_PROOFS:-2000}
fi
BENCH_SUBJECTS=${BENCH_SUBJECTS:-1000000}
BENCH_COMPLIANCE_SAMPLES=${BENCH_COMPLIANCE_SAMPLES:-1000}
BENCH_COMPLIANCE_WARMUP=${BENCH_COMPLIANCE_WARMUP:-50}
# consentctl verify's projection check replays the ledger at about 11,000 entries/s here (200,000
# entries, 03ee2d4; 3,000 before): timed by default only up to a million entries.
if [ "$BENCH_ENTRIES" -le 1000000 ]; then
	BENCH_COMPLIANCE_VERIFY=${BENCH_COMPLIANCE_VERIFY:-1}
else
	BENCH_COMPLIANCE_VERIFY=${BENCH_COMPLIANCE_VERIFY:-0}
fi
BENCH_SUITES=${BENCH_SUITES:-proof}
BENCH_SUITES=${BENCH_SUITES//,/ }
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	BENCH_HTTP_SECONDS=${BENCH_HTTP_SECONDS:-5}
	BENCH_LATENCY_SECONDS=${BENCH_LATENCY_SECONDS:-5}
	BENCH_SINK_ROWS=${BENCH_SINK_ROWS:-50000}
	BENCH_KAFKA_EVENTS=${BENCH_KAFKA_EVENTS:-100000}
	BENCH_DIY_SECONDS=${BENCH_DIY_SECONDS:-5}
	BENCH_CHAIN_ENTRIES=${BENCH_CHAIN_ENTRIES:-50000}
	BENCH_CHAINCOST_ENTRIES=${BENCH_CHAINCOST_ENTRIES:-20000}
fi
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_WRK_THREADS=${BENCH_WRK_THREADS:-2}
BENCH_HTTP_SECONDS=${BENCH_HTTP_SECONDS:-20}
BENCH_LATENCY_SECONDS=${BENCH_LATENCY_SECONDS:-15}
BENCH_SINK_ROWS=${BENCH_SINK_ROWS:-300000}
BENCH_KAFKA_EVENTS=${BENCH_KAFKA_EVENTS:-1000000}
BENCH_KAFKA_PARTITIONS=${BENCH_KAFKA_PARTITIONS:-4}
BENCH_KAFKA_BROKERS=${BENCH_KAFKA_BROKERS:-3}
BENCH_KAFKA_BACKLOG=${BENCH_KAFKA_BACKLOG:-40000}
BENCH_KAFKA_PARTITION_BACKLOG=${BENCH_KAFKA_PARTITION_BACKLOG:-8000}
BENCH_DIY_SECONDS=${BENCH_DIY_SECONDS:-20}
BENCH_CHAIN_ENTRIES=${BENCH_CHAIN_ENTRIES:-200000}
BENCH_CHAINCOST_ENTRIES=${BENCH_CHAINCOST_ENTRIES:-100000}
# Suites other than proof and compliance: the throughput ones.
has_suite() {
	case " $BENCH_SUITES " in *" $1 "*) return 0 ;; esac
	return 1
}
THROUGHPUT=0
for s in $BENCH_SUITES; do
	case $s in proof | compliance) ;; *) THROUGHPUT=1 ;; esac
done
BENCH_PG_STATEMENTS=$THROUGHPUT
BENCH_BATCH=${BENCH_BATCH:-10000}
BUILD=${BENCH_BUILD_DIR:-$SRC/build-bench}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
BENCH_OUT=${BENCH_OUT:-$BUILD/bench-results/$(date +%Y%m%d-%H%M%S)}
TMP_PARENT=${BENCH_TMPDIR:-${TMPDIR:-/var/tmp}}

# Before BENCH_OUT exists: it defaults to a folder inside the build directory.
build() {
	local log
	log=$(mktemp)
	if [ ! -f "$BUILD/build.ninja" ]; then
		bench_log "meson setup $BUILD -Dbuildtype=release"
		meson setup "$BUILD" "$SRC" -Dbuildtype=release >"$log" 2>&1 ||
			bench_die "meson setup failed: $(tail -20 "$log")"
	fi
	local targets=(src/consentctl bench/gen_ledger bench/bench_proof bench/bench_chain)
	if [ "$THROUGHPUT" = 1 ]; then
		targets+=(src/consentd bench/bench_sink bench/bench_diy bench/bench_chaincost bench/bare_http
			bench/loadgen bench/kafka_produce)
		has_suite kafka && targets+=(tests/kafka-mock)
		has_suite http && { command -v wrk >/dev/null || bench_die "the http suite needs wrk (Debian package wrk)"; }
	fi
	if has_suite compliance; then
		case " ${targets[*]} " in *" src/consentd "*) ;; *) targets+=(src/consentd) ;; esac
		command -v curl >/dev/null || bench_die "the compliance suite needs curl"
		[ -x /usr/bin/python3 ] || bench_die "the compliance suite needs /usr/bin/python3"
	fi
	bench_log "building ${targets[*]} in $BUILD"
	# A build directory set up before a tool was added to bench/meson.build must regenerate first.
	ninja -C "$BUILD" build.ninja >>"$log" 2>&1 || true
	meson compile -C "$BUILD" "${targets[@]}" >>"$log" 2>&1 || bench_die "build failed: $(tail -30 "$log")"
	mkdir -p "$BENCH_OUT"
	mv "$log" "$BENCH_OUT/build.log"
	: >"$BENCH_OUT/results.tsv"
	BUILDTYPE=$(meson introspect --buildoptions "$BUILD" |
		python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')
	[ "$BUILDTYPE" = release ] || bench_log "WARNING: $BUILD is a $BUILDTYPE build, not release"
	bench_meta buildtype "$BUILDTYPE"
}

machine() {
	bench_meta cpu "$(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	bench_meta memory "$(awk '/^MemTotal:/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
	bench_meta os "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
	bench_meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	bench_meta entries "$BENCH_ENTRIES"
	bench_meta subjects "$BENCH_SUBJECTS"
	bench_meta proofs "$BENCH_PROOFS"
	bench_meta batch "$BENCH_BATCH"
	bench_meta commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	bench_meta suites "$BENCH_SUITES"
	if has_suite compliance; then
		bench_meta compliance_samples "$BENCH_COMPLIANCE_SAMPLES"
		bench_meta compliance_warmup "$BENCH_COMPLIANCE_WARMUP"
	fi
	if [ "$THROUGHPUT" = 1 ]; then
		bench_meta connections "$BENCH_CONNECTIONS"
		bench_meta wrk_threads "$BENCH_WRK_THREADS"
		bench_meta http_seconds "$BENCH_HTTP_SECONDS"
		bench_meta latency_seconds "$BENCH_LATENCY_SECONDS"
		bench_meta sink_rows "$BENCH_SINK_ROWS"
		bench_meta kafka_events "$BENCH_KAFKA_EVENTS"
		bench_meta kafka_partitions "$BENCH_KAFKA_PARTITIONS"
		bench_meta kafka_brokers "$BENCH_KAFKA_BROKERS"
		bench_meta kafka_backlog "$BENCH_KAFKA_BACKLOG"
		bench_meta kafka_partition_backlog "$BENCH_KAFKA_PARTITION_BACKLOG"
		bench_meta diy_seconds "$BENCH_DIY_SECONDS"
		bench_meta chain_entries "$BENCH_CHAIN_ENTRIES"
		command -v wrk >/dev/null && bench_meta wrk "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
	fi
	# Other work on the machine skews every figure: say how busy it was.
	bench_meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
}

check_space() {
	local need_kb=1048576 avail_kb
	if has_suite proof || has_suite compliance; then
		need_kb=$((need_kb + BENCH_ENTRIES * 16 / 10))
	fi
	# Throughput: the largest database (Kafka's, about 1 KB per entry with its indexes) plus WAL
	# between checkpoints.
	[ "$THROUGHPUT" = 1 ] && need_kb=$((need_kb + BENCH_KAFKA_EVENTS * 2 + 4194304))
	avail_kb=$(df -Pk "$TMP_PARENT" | awk 'NR == 2 { print $4 }')
	[ "$avail_kb" -ge "$need_kb" ] ||
		bench_die "$TMP_PARENT has $((avail_kb / 1024)) MB free, about $((need_kb / 1024)) MB needed (set BENCH_TMPDIR)"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "${BENCH_CHILD:-}" ]; then
		kill "$BENCH_CHILD" 2>/dev/null || true
		wait "$BENCH_CHILD" 2>/dev/null || true
	fi
	bench_bg_stop_all
	pg_stop immediate
	if [ -n "${BENCH_TMP:-}" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			bench_log "kept $BENCH_TMP"
		else
			rm -rf "$BENCH_TMP"
		fi
	fi
	exit "$rc"
}

main() {
	local suite
	build
	machine
	check_space
	BENCH_TMP=$(mktemp -d "$TMP_PARENT/consentd-bench.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	pg_setup "$BENCH_TMP"
	pg_start
	bench_log "PostgreSQL up ($PG_SETTINGS), data in $BENCH_TMP"
	for suite in $BENCH_SUITES; do
		declare -F "suite_$suite" >/dev/null || bench_die "no suite named $suite"
		"suite_$suite"
	done
	bench_meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
	pg_stop fast
	cp "$PG_LOG" "$BENCH_OUT/server.log" 2>/dev/null || true
	python3 "$BENCH_DIR/report.py" "$BENCH_OUT/results.tsv" | tee "$BENCH_OUT/report.md"
	bench_log "results and logs in $BENCH_OUT"
}

main "$@"
