#!/bin/sh
# Runs every libFuzzer target for SECONDS (default 60) each on a copy of its seed corpus (the
# repository's corpus is never written), building build-fuzz first if needed. Exits non-zero if
# any target crashes, leaks or times out, after printing the input that did it.
#   tests/fuzz/run.sh [SECONDS]        env: BUILD_DIR (default build-fuzz), FUZZ_JOBS (default 1)
set -eu

seconds=${1:-60}
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
targets="fuzz_event_json fuzz_event_protobuf fuzz_note fuzz_proof"

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$root" -Dfuzzers=true -Db_sanitize=address,undefined \
		-Db_lundef=false
fi
ninja -C "$build" $(for t in $targets; do printf 'tests/fuzz/%s ' "$t"; done)

work=$(mktemp -d "${TMPDIR:-/tmp}/consentd-fuzz.XXXXXX")
echo "fuzz: work directory $work (kept: crash inputs and logs)"
failed=0
for t in $targets; do
	mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
	cp "$here/corpus/$t/"* "$work/$t/corpus/"
	dict=
	case $t in
	fuzz_event_json) dict=-dict=$here/event_json.dict ;;
	fuzz_proof) dict=-dict=$here/proof_json.dict ;;
	esac
	echo "fuzz: $t for ${seconds}s"
	# halt_on_error: a UBSan report is a crash, as an ASan one is.
	if UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		"$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" $dict \
		"$work/$t/corpus" >"$work/$t/log" 2>&1; then
		grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t/log" | tail -n 1 | sed "s/^/fuzz: $t: /"
	else
		failed=1
		echo "fuzz: $t FAILED; log $work/$t/log" >&2
		grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error' "$work/$t/log" | head -n 5 >&2 || true
		for f in "$work/$t/artifacts/"*; do
			[ -e "$f" ] && echo "fuzz: $t: crash input $f (reproduce: $build/tests/fuzz/$t $f)" >&2
		done
	fi
done
exit $failed
