#!/usr/bin/env bash
# Runs the whole test suite: installs missing packages, builds into build-test/, then runs the
# meson suites "unit" (Check), "integration" (real consentd against a throwaway PostgreSQL) and
# "faults" (kill -9, outages and limits under load; its summary table is written to
# build-test/tests/integration/faults-summary.md). Ends with "N passed, N failed" over all suites
# and exits non-zero if anything failed or a suite ran no test.
# Environment:
#   CONSENTD_SANITIZE=1   build into build-asan/ with ASan+UBSan and -Dwerror=true instead, and run
#                         the suites there (leaks and undefined behaviour abort the test)
#   CONSENTD_VALGRIND=1   run only the unit suite, in build-test/, under valgrind memcheck (the
#                         test setup "valgrind" of tests/meson.build: any error or leak fails)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { echo "test: $*"; }

step "checking packages"
bash "$root/scripts/deps.sh"

# PostgreSQL's server programs (initdb, pg_ctl, postgres) are outside PATH on Debian.
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ -x "$pgbin/pg_ctl" ]; then
	PATH=$pgbin:$PATH
fi
# The integration harness needs Debian's python3 (python3-pytest, python3-psycopg2); a python3
# from pyenv or a virtualenv earlier on PATH may lack them.
if ! python3 -c 'import pytest, psycopg2' >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
	PATH=/usr/bin:$PATH
fi
export PATH

sanitize=${CONSENTD_SANITIZE:-0}
valgrind=${CONSENTD_VALGRIND:-0}
# consentd and consentctl reject CONSENTD_* variables that name no configuration key.
unset CONSENTD_SANITIZE CONSENTD_VALGRIND
build="build-test"
setup_opts=()
test_opts=(--print-errorlogs)
suites=(unit integration faults)
logbase=testlog
if [ "$sanitize" != 0 ] && [ "$valgrind" != 0 ]; then
	step "CONSENTD_SANITIZE and CONSENTD_VALGRIND exclude each other (ASan does not run under valgrind)"
	exit 2
fi
if [ "$valgrind" != 0 ]; then
	suites=(unit)
	logbase=testlog-valgrind
	test_opts+=(--setup valgrind)
fi
if [ "$sanitize" != 0 ]; then
	build="build-asan"
	setup_opts=("-Db_sanitize=address,undefined" -Db_lundef=false -Dwerror=true)
	test_opts+=(--timeout-multiplier 3)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

if [ -f "$build/meson-private/coredata.dat" ]; then
	step "meson setup --reconfigure${setup_opts[*]:+ ${setup_opts[*]}} $build"
	setup=(meson setup --reconfigure "${setup_opts[@]}" "$build")
else
	step "meson setup${setup_opts[*]:+ ${setup_opts[*]}} $build"
	setup=(meson setup "${setup_opts[@]}" "$build")
fi
if ! log=$("${setup[@]}" 2>&1); then
	printf '%s\n' "$log"
	step "meson setup failed"
	exit 1
fi
step "ninja -C $build"
ninja -C "$build"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0 failed=0 skipped=0 status=0

# count LABEL FILE: the number on meson's summary line "LABEL:   N" (0 if absent).
count() { awk -v l="$1:" '$0 ~ "^" l { n = $NF } END { print n + 0 }' "$2"; }

run_suite() {
	local suite=$1 rc=0
	step "meson test --suite $suite$([ "$valgrind" = 0 ] || echo ' --setup valgrind')"
	meson test -C "$build" --suite "$suite" --logbase "$logbase-$suite" "${test_opts[@]}" 2>&1 |
		tee "$out" || rc=$?
	local ok fail skip
	ok=$(count Ok "$out")
	fail=$(($(count Fail "$out") + $(count "Unexpected Pass" "$out") + $(count Timeout "$out")))
	skip=$(count Skipped "$out")
	if [ $((ok + fail + skip)) -eq 0 ]; then
		step "suite $suite ran no test"
		rc=1
	fi
	[ "$rc" -eq 0 ] || status=1
	passed=$((passed + ok)) failed=$((failed + fail)) skipped=$((skipped + skip))
	step "suite $suite: $ok passed, $fail failed$([ "$skip" -eq 0 ] || echo ", $skip skipped")"
}

for s in "${suites[@]}"; do
	run_suite "$s"
done

echo "$passed passed, $failed failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped")"
exit "$status"
