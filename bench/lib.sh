# Shared by bench/run.sh and its suites (bash, sourced): logging, timing, the results file, and
# a throwaway PostgreSQL cluster (initdb in a temporary folder, unix socket only, run as the
# postgres user when we are root, as tests/integration/pg.py does).
#
# Results: $BENCH_OUT/results.tsv, one line per figure, tab-separated:
#   result <key> <value> <unit> <label>     (also what the C tools print on stdout)
#   meta   <key> <value>                    (machine, settings)
# bench/report.py turns it into the tables.

bench_log() {
	printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

bench_die() {
	bench_log "FAILED: $*"
	exit 1
}

# bench_record KEY VALUE UNIT LABEL
bench_record() {
	printf 'result\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_OUT/results.tsv"
}

# bench_meta KEY VALUE
bench_meta() {
	printf 'meta\t%s\t%s\n' "$1" "$2" >>"$BENCH_OUT/results.tsv"
}

# bench_run CMD...: runs CMD in the background and waits for it, so that a signal reaches the
# EXIT trap at once (bash defers traps while a foreground child runs); the trap ends
# $BENCH_CHILD. Returns CMD's status.
bench_run() {
	local rc=0
	"$@" &
	BENCH_CHILD=$!
	wait "$BENCH_CHILD" || rc=$?
	BENCH_CHILD=
	return "$rc"
}

# bench_tool NAME ARGS...: runs a C tool; its `result` lines go to the results file, everything
# else to $BENCH_OUT/NAME.log.
bench_tool() {
	local name=$1 out="$BENCH_OUT/$1.out"
	shift
	bench_run "$@" >"$out" 2>>"$BENCH_OUT/$name.log" || {
		cat "$BENCH_OUT/$name.log" >&2
		bench_die "$name exited with an error (log: $BENCH_OUT/$name.log)"
	}
	grep '^result	' "$out" >>"$BENCH_OUT/results.tsv" || true
	grep -v '^result	' "$out" >>"$BENCH_OUT/$name.log" || true
	rm -f "$out"
}

# Long-running helpers (servers, consentd, the Kafka mock) started by the suites: run.sh's EXIT
# trap ends whatever is still registered here.
BENCH_BG_PIDS=()

# bench_bg_add PID / bench_bg_forget PID
bench_bg_add() {
	BENCH_BG_PIDS+=("$1")
}

bench_bg_forget() {
	local p keep=()
	for p in "${BENCH_BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BENCH_BG_PIDS=("${keep[@]}")
}

# bench_bg_stop PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 30); returns the
# process's exit status (that of the kill, if it came to that).
bench_bg_stop() {
	local pid=$1 limit=${2:-30} i=0 rc=0
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((limit * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		bench_log "process $pid still running ${limit} s after SIGTERM: killed"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	bench_bg_forget "$pid"
	return "$rc"
}

# bench_bg_stop_all: the EXIT trap's part. Newest first (consentd before the Kafka mock it
# consumes from), each killed if it has not exited 15 s after SIGTERM.
bench_bg_stop_all() {
	local i
	for ((i = ${#BENCH_BG_PIDS[@]} - 1; i >= 0; i--)); do
		bench_bg_stop "${BENCH_BG_PIDS[i]}" 15 || true
	done
	BENCH_BG_PIDS=()
}

# bench_time VAR CMD...: runs CMD, sets VAR to its wall time in seconds; fails if CMD fails.
bench_time() {
	local __var=$1 t0 t1 rc=0
	shift
	t0=$(date +%s.%N)
	bench_run "$@" || rc=$?
	[ "$rc" = 0 ] || bench_die "$* exited with status $rc"
	t1=$(date +%s.%N)
	printf -v "$__var" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

# ---- the throwaway PostgreSQL cluster --------------------------------------------------------

pg_bindir() {
	local d best=
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && best=$d
	done
	[ -n "$best" ] || bench_die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
	printf '%s\n' "$best"
}

# Runs a server binary, as postgres when we are root (initdb and postgres refuse root).
pg_run() {
	local bin=$1
	shift
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$PG_BINDIR/$bin" "$@"
	else
		"$PG_BINDIR/$bin" "$@"
	fi
}

# pg_setup BASE: initialises a cluster under BASE (data, sock, server.log). The settings are
# written to the results as meta lines: they are part of what was measured.
pg_setup() {
	local base=$1 mem_kb shared_mb
	PG_BINDIR=$(pg_bindir)
	PG_DATA=$base/data
	PG_SOCK=$base/sock
	PG_LOG=$base/server.log
	PG_PORT=5432 # socket only, in our own folder: never clashes with another server
	mkdir -p "$PG_SOCK"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$base" "$PG_SOCK"
		chmod 755 "$base"
	fi
	pg_run initdb -D "$PG_DATA" -A trust -U postgres -E UTF8 --locale=C >"$BENCH_OUT/initdb.log" 2>&1 ||
		bench_die "initdb failed: $(cat "$BENCH_OUT/initdb.log")"
	# A quarter of memory, at most 4 GB, for shared_buffers: the usual starting point.
	mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
	shared_mb=$((mem_kb / 4 / 1024))
	[ "$shared_mb" -gt 4096 ] && shared_mb=4096
	PG_SETTINGS="fsync=on synchronous_commit=on full_page_writes=on shared_buffers=${shared_mb}MB"
	PG_SETTINGS="$PG_SETTINGS max_wal_size=8GB checkpoint_timeout=15min maintenance_work_mem=512MB"
	# The throughput suites read per-statement times of the daemon's transactions.
	if [ "${BENCH_PG_STATEMENTS:-0}" = 1 ]; then
		PG_SETTINGS="$PG_SETTINGS shared_preload_libraries=pg_stat_statements"
	fi
	cat >>"$PG_DATA/postgresql.conf" <<EOF

# consentd benchmark (bench/lib.sh): durable as in production (fsync, synchronous_commit and
# full_page_writes on); memory and checkpoint spacing set as for a bulk-loading server.
listen_addresses = ''
unix_socket_directories = '$PG_SOCK'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = ${shared_mb}MB
max_wal_size = 8GB
checkpoint_timeout = 15min
maintenance_work_mem = 512MB
log_min_messages = warning
log_checkpoints = on
log_line_prefix = '%m [%p] %a '
# Plans of pathological statements (and of the proofs, when bench_proof --explain asks).
session_preload_libraries = 'auto_explain'
auto_explain.log_min_duration = '10s'
EOF
	if [ "${BENCH_PG_STATEMENTS:-0}" = 1 ]; then
		cat >>"$PG_DATA/postgresql.conf" <<EOF
# Statement times for the throughput suites (bench/suite_throughput.sh).
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_utility = on
EOF
	fi
	bench_meta pg_settings "$PG_SETTINGS"
	bench_meta pg_version "$("$PG_BINDIR/postgres" --version)"
	bench_meta pg_datadir_fs "$(df -PT "$base" | awk 'NR == 2 { print $2 " on " $1 }')"
}

pg_start() {
	pg_run pg_ctl -D "$PG_DATA" -l "$PG_LOG" -w -t 120 -o "-p $PG_PORT" start >>"$BENCH_OUT/pg_ctl.log" 2>&1 ||
		bench_die "PostgreSQL did not start: $(tail -20 "$PG_LOG" 2>/dev/null)"
	PG_RUNNING=1
}

# pg_stop [MODE]
pg_stop() {
	[ "${PG_RUNNING:-0}" = 1 ] || return 0
	pg_run pg_ctl -D "$PG_DATA" -m "${1:-fast}" -w -t 300 stop >>"$BENCH_OUT/pg_ctl.log" 2>&1 || true
	PG_RUNNING=0
}

# pg_conninfo DBNAME
pg_conninfo() {
	printf 'host=%s port=%s dbname=%s user=postgres\n' "$PG_SOCK" "$PG_PORT" "$1"
}

# pg_sql DBNAME SQL: one statement through psql, unaligned output without headers.
pg_sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 "$(pg_conninfo "$1")" -c "$2"
}

# ---- the benchmark ledger ----------------------------------------------------------------------

# bench_ledger: the ledger the proof and compliance suites read, made once per run: database
# $BENCH_LEDGER_DB, migrated, filled with $BENCH_ENTRIES entries by gen_ledger (the daemon's own
# append transaction, compliance projections included; subjects drawn from $BENCH_SUBJECTS;
# checkpoints signed with gen_ledger's fixed key), then VACUUM (ANALYZE). Sets
# BENCH_LEDGER_VERIFIER (the checkpoint verifier key file) and BENCH_LEDGER_SUBJECT_KEY (the
# subject key its pseudonyms were made with, in ledger.subject_key_file's format). The second
# suite to call it reads the same database.
BENCH_LEDGER_DB=consentd_bench
bench_ledger() {
	[ "${BENCH_LEDGER_READY:-0}" = 1 ] && return 0
	local db=$BENCH_LEDGER_DB conninfo secs
	conninfo=$(pg_conninfo "$db")
	BENCH_LEDGER_VERIFIER="$BENCH_OUT/verifier.key"
	BENCH_LEDGER_SUBJECT_KEY="$BENCH_OUT/subject.key"
	pg_sql postgres "CREATE DATABASE $db" || bench_die "CREATE DATABASE failed"
	"$BUILD/src/consentctl" migrate --conninfo "$conninfo" >"$BENCH_OUT/migrate.log" 2>&1 ||
		bench_die "consentctl migrate failed: $(cat "$BENCH_OUT/migrate.log")"

	bench_log "generating $BENCH_ENTRIES entries, subjects from $BENCH_SUBJECTS (gen_ledger, batches of ${BENCH_BATCH})"
	bench_tool gen_ledger "$BUILD/bench/gen_ledger" --conninfo "$conninfo" \
		--entries "$BENCH_ENTRIES" --batch "$BENCH_BATCH" --subjects "$BENCH_SUBJECTS" \
		--verifier-out "$BENCH_LEDGER_VERIFIER" --subject-key-out "$BENCH_LEDGER_SUBJECT_KEY"

	# What autovacuum would do to a table this size after the load: statistics, visibility
	# map and hint bits, so that the reads below do not write.
	bench_log "VACUUM (ANALYZE)"
	bench_time secs pg_sql "$db" "VACUUM (ANALYZE)"
	bench_record db.vacuum.seconds "$secs" s "VACUUM (ANALYZE) after the load"
	bench_ledger_sizes "$db"
	BENCH_LEDGER_READY=1
}

bench_ledger_sizes() {
	local db=$1 rel
	for rel in audit_log subject_entry merkle_node checkpoint consent_state consent_daily \
		consent_purpose_daily rights_request; do
		bench_record "db.$rel.rows" "$(pg_sql "$db" "SELECT count(*) FROM $rel")" rows "$rel rows"
		bench_record "db.$rel.bytes" "$(pg_sql "$db" "SELECT pg_total_relation_size('$rel')")" \
			bytes "$rel size with indexes"
	done
	bench_record db.bytes "$(pg_sql "$db" "SELECT pg_database_size(current_database())")" bytes \
		"database size"
}
