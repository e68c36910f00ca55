#!/bin/bash
# consentd benchmarks, one command: builds (release) if needed, starts a throwaway PostgreSQL,
# runs the suites, prints the tables, stops PostgreSQL and removes its files.
# See docs/performance.md for what each figure means. Never part of the test suites.
#
# Environment:
#   BENCH_ENTRIES   ledger size for the proof suite (default 10000000; 200000 with BENCH_QUICK=1)
#   BENCH_PROOFS    random proofs of each kind (default 2000; 500 with BENCH_QUICK=1)
#   BENCH_QUICK=1   a quick run with the smaller defaults
#   BENCH_SUITES    suites to run, space-separated (default "proof"; only "proof" exists yet)
#   BENCH_BATCH     entries per append transaction in gen_ledger (default 10000)
#   BENCH_BUILD_DIR build directory (default build-bench; set up as a release build if missing)
#   BENCH_TMPDIR    where the cluster and the export go (default $TMPDIR or /var/tmp): a disk,
#                   not tmpfs, for realistic fsync figures; needs about 1.3 KB per entry
#   BENCH_OUT       where results and logs go (default $BENCH_BUILD_DIR/bench-results/<time>)
#   BENCH_KEEP=1    keep the cluster's folder (it is stopped either way)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=$SRC/bench
. "$BENCH_DIR/lib.sh"
. "$BENCH_DIR/suite_proof.sh"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	BENCH_ENTRIES=${BENCH_ENTRIES:-200000}
	BENCH_PROOFS=${BENCH_PROOFS:-500}
else
	BENCH_ENTRIES=${BENCH_ENTRIES:-10000000}
	BENCH_PROOFS=${BENCH_PROOFS:-2000}
fi
BENCH_SUITES=${BENCH_SUITES:-proof}
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
	bench_log "building consentctl and the bench tools in $BUILD"
	meson compile -C "$BUILD" src/consentctl bench/gen_ledger bench/bench_proof bench/bench_chain \
		>>"$log" 2>&1 || bench_die "build failed: $(tail -30 "$log")"
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
	bench_meta proofs "$BENCH_PROOFS"
	bench_meta batch "$BENCH_BATCH"
	bench_meta commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	# Other work on the machine skews every figure: say how busy it was.
	bench_meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
}

check_space() {
	local need_kb=$((BENCH_ENTRIES * 13 / 10 + 1048576)) avail_kb
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
