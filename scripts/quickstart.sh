#!/usr/bin/env bash
# Quick start: installs missing packages, builds consentd, starts a private PostgreSQL for
# development (data in ./run/pg, port 54329, unix socket in ./run, 127.0.0.1 only), migrates the
# schema, prints a development token and runs consentd in the foreground on 127.0.0.1:8080.
# Safe to run again: the cluster, the database and the subject key are reused; PostgreSQL is
# started if it is not running and keeps running after consentd exits. Stop it with
#   pg_ctl -D run/pg stop     (as root: runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl ...)
# Environment (for development of this script):
#   CONSENTD_BUILD_DIR=DIR          build somewhere else than build/
#   CONSENTD_QUICKSTART_NO_EXEC=1   do everything but start consentd
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${CONSENTD_BUILD_DIR:-build}
no_exec=${CONSENTD_QUICKSTART_NO_EXEC:-}
# consentd and consentctl reject CONSENTD_* variables that name no configuration key.
unset CONSENTD_BUILD_DIR CONSENTD_QUICKSTART_NO_EXEC
run=$root/run
pgdata=$run/pg
pgport=54329
listen=127.0.0.1:8080

step() { echo "quickstart: $*"; }
die() {
	echo "quickstart: error: $*" >&2
	exit 1
}

step "checking packages"
bash "$root/scripts/deps.sh"

if [ -f "$build/meson-private/coredata.dat" ]; then
	step "meson setup --reconfigure $build"
	setup=(meson setup --reconfigure "$build")
else
	step "meson setup $build"
	setup=(meson setup "$build")
fi
if ! log=$("${setup[@]}" 2>&1); then
	printf '%s\n' "$log"
	die "meson setup failed"
fi
step "ninja -C $build"
if ! log=$(ninja -C "$build" 2>&1); then
	printf '%s\n' "$log"
	die "build failed"
fi
case $build in
/*) build_abs=$build ;;
*) build_abs=$root/$build ;;
esac
consentd=$build_abs/src/consentd
consentctl=$build_abs/src/consentctl

# PostgreSQL's server programs live outside PATH on Debian; take the newest installed version.
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -x "$pgbin/pg_ctl" ] || die "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)"

# initdb and postgres refuse to run as root: as root the cluster belongs to the postgres user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}
psql_su() { as_pg "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$run" -p "$pgport" -U postgres "$@"; }

mkdir -p "$run"
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || die "no postgres user (it comes with Debian's postgresql package)"
	# The server writes its socket and lock file into run/.
	chown postgres:postgres "$run"
	chmod 0755 "$run"
	as_pg test -w "$run" ||
		die "the postgres user cannot reach $run; let it traverse the parent folders (chmod o+x)"
fi

if [ ! -s "$pgdata/PG_VERSION" ]; then
	step "initdb $pgdata"
	mkdir -p "$pgdata"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata"
	chmod 0700 "$pgdata"
	as_pg "$pgbin/initdb" -D "$pgdata" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
		--no-instructions >"$run/initdb.log" 2>&1 || {
		cat "$run/initdb.log" >&2
		die "initdb failed"
	}
	echo "include_if_exists = 'quickstart.conf'" >>"$pgdata/postgresql.conf"
fi
# Rewritten on every run so a moved checkout still gets the right socket directory.
sq=${run//\'/\'\'}
cat >"$pgdata/quickstart.conf" <<EOF
# written by scripts/quickstart.sh on every run
port = $pgport
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sq'
EOF
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata/quickstart.conf"

if as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
	step "PostgreSQL already running on port $pgport"
else
	step "starting PostgreSQL on 127.0.0.1:$pgport (log: run/pg.log)"
	touch "$run/pg.log"
	[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$run/pg.log"
	as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$run/pg.log" -w -t 60 start >/dev/null || {
		tail -n 20 "$run/pg.log" >&2
		die "PostgreSQL did not start (is port $pgport taken?)"
	}
fi
for _ in $(seq 1 60); do
	as_pg "$pgbin/pg_isready" -q -h "$run" -p "$pgport" && break
	sleep 1
done
as_pg "$pgbin/pg_isready" -q -h "$run" -p "$pgport" || die "PostgreSQL does not answer on $run:$pgport"

# libpq conninfo: the socket directory in single quotes (' and \ escaped) if it needs them.
cq=$run
if [[ $run =~ [[:space:]\'\\] ]]; then
	cq=${run//\\/\\\\}
	cq="'${cq//\'/\\\'}'"
fi
app_conninfo="host=$cq port=$pgport dbname=consentd user=consentd_app"
su_conninfo="host=$cq port=$pgport dbname=consentd user=postgres"

if [ ! -s "$run/subject.key" ]; then
	step "generating run/subject.key"
	(umask 077 && openssl rand -hex 32 >"$run/subject.key")
fi
chmod 0600 "$run/subject.key"

step "writing run/consentd.conf"
cat >"$run/consentd.conf" <<EOF
# Development configuration written by scripts/quickstart.sh on every run; see config/consentd.conf.
[http]
listen = $listen

[postgres]
conninfo = $app_conninfo

[auth]
tokens_file = $run/tokens

[ledger]
subject_key_file = $run/subject.key
EOF

if [ -z "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'consentd'")" ]; then
	step "creating database consentd"
	psql_su -d postgres -c "CREATE DATABASE consentd"
fi

step "consentctl migrate"
"$consentctl" -c "$run/consentd.conf" migrate --conninfo "$su_conninfo" ||
	die "consentctl migrate failed"

step "role consentd_app (member of consentd_writer)"
psql_su -d consentd <<'EOF'
SET client_min_messages = warning;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'consentd_app') THEN
		CREATE ROLE consentd_app LOGIN IN ROLE consentd_writer;
	END IF;
END
$$;
GRANT consentd_writer TO consentd_app;
EOF

# One development token per run: the previous "dev" token is revoked first.
step "creating a development token"
"$consentctl" -c "$run/consentd.conf" token revoke dev >/dev/null 2>&1 || true
token_name=dev
out=$("$consentctl" -c "$run/consentd.conf" token add "$token_name" --scopes ingest,read,admin 2>&1) || {
	token_name=dev-$(date -u +%Y%m%dT%H%M%SZ)
	out=$("$consentctl" -c "$run/consentd.conf" token add "$token_name" --scopes ingest,read,admin) ||
		die "consentctl token add failed"
}
token=$(printf '%s\n' "$out" | awk 'NF {t = $NF} END {print t}')
[ -n "$token" ] || die "consentctl token add printed no token"

event_id=$(cat /proc/sys/kernel/random/uuid)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat <<EOF

======================================================================================
 consentd development token ($token_name: ingest, read, admin):

   $token

 Try it (from another terminal):

   curl -s -X POST http://$listen/v1/events \\
     -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \\
     -d '{"event_id":"$event_id","occurred_at":"$now",
          "subject":{"account_id":"u_123","email":"alice@example.com"},
          "consent":{"action":"customize","purposes":{"essential":true,"analytics":false,
          "advertising":false,"functional":true},"notice":{"policy_version":"2026-11-01"},
          "surface":"banner"}}'

   $build/src/consentctl -c run/consentd.conf verify

 PostgreSQL (superuser): psql -h $run -p $pgport -U postgres consentd
======================================================================================

EOF

if [ -n "$no_exec" ]; then
	step "CONSENTD_QUICKSTART_NO_EXEC set; would run: $consentd -c $run/consentd.conf"
	exit 0
fi
step "starting consentd on $listen (Ctrl-C stops it; PostgreSQL keeps running)"
exec "$consentd" -c "$run/consentd.conf"
