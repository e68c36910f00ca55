#!/usr/bin/env bash
# Installs the Debian 12 packages consentd needs to build, run and test. Idempotent: checks what
# dpkg already has and calls apt-get (update, then install) only when something is missing.
# As root it installs; otherwise it names the missing packages and exits 1.
set -euo pipefail

packages=(
	# build
	gcc libc6-dev make meson ninja-build pkg-config protobuf-c-compiler
	# libraries (headers and pkg-config files)
	libprotobuf-c-dev libevent-dev libpq-dev libssl-dev libjansson-dev libinih-dev
	librdkafka-dev libsystemd-dev check
	# run: the PostgreSQL server (creates the postgres user), key generation, runuser, pgrep
	postgresql openssl util-linux procps
	# test: systemd-analyze rates the hardening of the unit we install
	systemd
	# test: the integration harness and the quick start's example request; headless Chromium
	# renders the HTML reports
	python3 python3-pytest python3-psycopg2 python3-confluent-kafka curl ca-certificates
	chromium
	# CI: the libFuzzer targets (clang; libclang-rt-dev brings libclang_rt.fuzzer and the
	# sanitizer runtimes, which clang only recommends; llvm brings llvm-symbolizer, without
	# which their stack traces are bare addresses) and the unit tests under memcheck
	clang libclang-rt-dev llvm valgrind
)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install them with:"
	echo "  sudo apt-get install --no-install-recommends ${missing[*]}"
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=${TMPDIR:-/tmp}/consentd-deps.log
: >"$log"
apt_run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "deps: '$*' failed; last lines of $log:"
		tail -n 30 "$log"
		exit 1
	fi
}
echo "deps: apt-get update"
apt_run apt-get update -q
echo "deps: apt-get install ${#missing[@]} packages (log: $log)"
apt_run apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"

still=()
for p in "${missing[@]}"; do
	installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
	echo "deps: still missing after install: ${still[*]}"
	exit 1
fi
echo "deps: installed ${missing[*]}"
