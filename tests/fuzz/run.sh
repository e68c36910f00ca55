#!/bin/sh
# Runs every libFuzzer target for SECONDS (default 60) each on a copy of its seed corpus (the
# repository's corpus is never written), building build-fuzz first if needed, after the "fuzz"
# meson suite (every seed once; the bundle seeds still verify). Fails if any target crashes,
# leaks, times out or runs out of memory, after printing the input that did it; ends with
# "N passed, N failed" over the targets.
#   tests/fuzz/run.sh [SECONDS]
# Environment: BUILD_DIR (default build-fuzz); FUZZ_JOBS (default 1): targets fuzzed at once,
# one core each; NINJA_JOBS: ninja -j for the build (default: ninja's).
set -eu

seconds=${1:-60}
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
jobs=${FUZZ_JOBS:-1}
case $jobs in '' | 0 | *[!0-9]*) echo "$0: FUZZ_JOBS must be a positive number" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
targets="fuzz_event_json fuzz_event_protobuf fuzz_note fuzz_proof fuzz_bundle fuzz_bundle_render"

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$root" -Dfuzzers=true -Db_sanitize=address,undefined \
		-Db_lundef=false
fi
ninja -C "$build" ${NINJA_JOBS:+-j "$NINJA_JOBS"} tests/fuzz/gen_bundle_seeds \
	$(for t in $targets; do printf 'tests/fuzz/%s ' "$t"; done)
echo "fuzz: seed corpora (meson test --suite fuzz)"
meson test -C "$build" --no-rebuild --suite fuzz --print-errorlogs >"$build/fuzz-seeds.log" 2>&1 || {
	cat "$build/fuzz-seeds.log" >&2
	echo "fuzz: a seed crashes or no longer is what it was made to be (above)" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/consentd-fuzz.XXXXXX")
echo "fuzz: work directory $work (kept: crash inputs and logs)"

# fuzz_one TARGET: fuzzes it, leaving "ok" or "FAILED" in $work/TARGET/result and what to print
# in $work/TARGET/report.
fuzz_one() {
	t=$1 dir=$work/$1 dict='' rc=0
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp "$here/corpus/$t/"* "$dir/corpus/"
	case $t in
	fuzz_event_json) dict=-dict=$here/event_json.dict ;;
	fuzz_proof) dict=-dict=$here/proof_json.dict ;;
	fuzz_bundle) dict=-dict=$here/bundle_json.dict ;;
	esac
	# halt_on_error: a UBSan report is a crash, as an ASan one is. timeout: libFuzzer stops
	# itself after max_total_time; the guard is for a target that hangs outside an input.
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		timeout -k 10 $((seconds + 120)) \
		"$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" $dict "$dir/corpus" \
		>"$dir/log" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo ok >"$dir/result"
		awk -v t="$t" '
			/^#[0-9]+[[:space:]]+DONE/ { for (i = 1; i <= NF; i++) if ($i == "cov:") cov = $(i + 1) }
			/^stat::number_of_executed_units:/ { runs = $2 }
			/^stat::average_exec_per_sec:/ { eps = $2 }
			/^stat::new_units_added:/ { added = $2 }
			/^stat::peak_rss_mb:/ { rss = $2 }
			END { printf "fuzz: %s: ok: %d runs, %d exec/s, cov %d, %d new units, %d MB\n",
				t, runs, eps, cov, added, rss }' "$dir/log" >"$dir/report"
		return
	fi
	echo FAILED >"$dir/result"
	{
		echo "fuzz: $t FAILED (exit $rc$([ "$rc" -ne 124 ] || echo ': killed by the guard')); log $dir/log"
		grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error|refused a rendering' \
			"$dir/log" | head -n 5 || true
		for f in "$dir/artifacts/"*; do
			[ -e "$f" ] || continue
			echo "fuzz: $t: crash input $f (reproduce: $build/tests/fuzz/$t $f)"
			# CI keeps its log, not /tmp: small inputs are printed too.
			if [ "$(wc -c <"$f")" -le 16384 ]; then
				echo "fuzz: $t: the input in base64 (base64 -d >crash):"
				base64 "$f"
			fi
		done
	} >"$dir/report"
}

set -- $targets
echo "fuzz: $# targets, ${seconds}s each, $jobs at a time"
passed=0 failed=0 batch='' running=0
for t in $targets ""; do
	if [ -n "$t" ]; then
		echo "fuzz: $t for ${seconds}s"
		fuzz_one "$t" &
		batch="$batch $t" running=$((running + 1))
		[ "$running" -lt "$jobs" ] && continue
	fi
	wait
	for b in $batch; do
		if [ "$(cat "$work/$b/result" 2>/dev/null)" = ok ]; then
			passed=$((passed + 1))
			cat "$work/$b/report"
		else
			failed=$((failed + 1))
			cat "$work/$b/report" >&2 2>/dev/null || echo "fuzz: $b FAILED (no report)" >&2
		fi
	done
	batch='' running=0
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
