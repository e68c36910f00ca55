# The throughput suites (issue 6), sourced by bench/run.sh. Each is independent and gets its own
# database in the run's cluster; run them together (BENCH_SUITES=sink,http,kafka,diy,chain) and
# report.py prints their figures and the ratios between them, all from one run:
#   sink   the database's limit: binary COPY and pipelined prepared INSERT of audit_log rows into
#          an identical table without triggers, 100 and 1000 rows per transaction (bench_sink);
#          and, for reference, COPY into copies of all three tables the ledger writes
#   http   bare evhttp answering 202 (bare_http) and consentd, both driven by wrk (64 connections,
#          bench/wrk_events.lua), one event per request and 100; then consentd's ack latency at
#          half of each measured maximum, open loop (loadgen); consentd's peak RSS
#   kafka  consentd consuming 1,000,000 events from librdkafka's mock cluster (4 partitions),
#          produced while it consumes, the backlog of each partition bounded by the group's
#          committed offsets (kafka_produce); peak RSS
#   diy    one INSERT per event from 64 clients into a table whose trigger chains the hashes
#          under a lock with pgcrypto (bench_diy)
#   chain  the CPU the hash chain and Merkle tree take per event (bench_chaincost) against the
#          per-event time of the whole store_append path (gen_ledger, batches of 1000)
# consentd runs as built in $BUILD, with the configuration tp_consentd_start writes: daemon
# defaults (batch_max 1000, batch_delay 0, queue_max 100000, max_inflight 10000, log level info),
# its own migrated database, a login role that is a member of consentd_writer, an ingest token
# made with consentctl, a subject key, and a checkpoint signing key (checkpoints signed every
# second); for Kafka, offsets committed every 100 ms (see suite_kafka).
# Needs: BUILD, BENCH_OUT, BENCH_TMP, a running cluster, and the BENCH_* settings run.sh sets.

TP_ORIGIN=bench.consentd.example/ledger
TP_APP_ROLE=consentd_app
TP_PURPOSES="essential, analytics, advertising, functional, personalization"
TP_VENDORS="adform, criteo, google_ads, hotjar, linkedin, meta, microsoft, tiktok"

# ---- shared pieces ---------------------------------------------------------------------------

tp_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tp_db NAME [migrate]: a fresh database; migrated with consentctl, with the daemon's login role,
# when asked.
tp_db() {
	local db=$1
	PGOPTIONS="-c client_min_messages=warning" pg_sql postgres "DROP DATABASE IF EXISTS $db" >/dev/null
	pg_sql postgres "CREATE DATABASE $db" || bench_die "CREATE DATABASE $db failed"
	[ "${2:-}" = migrate ] || return 0
	"$BUILD/src/consentctl" migrate --conninfo "$(pg_conninfo "$db")" >>"$BENCH_OUT/migrate.log" 2>&1 ||
		bench_die "consentctl migrate of $db failed: $(tail -5 "$BENCH_OUT/migrate.log")"
	PGOPTIONS="-c client_min_messages=warning" pg_sql postgres "DO \$\$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$TP_APP_ROLE') THEN
			CREATE ROLE $TP_APP_ROLE LOGIN;
		END IF; END \$\$; GRANT consentd_writer TO $TP_APP_ROLE" >/dev/null
}

# A checkpoint between measurements, so that none of them pays for the writes of another.
tp_checkpoint() {
	pg_sql postgres "CHECKPOINT" >/dev/null
}

tp_statements_on() {
	[ "${BENCH_PG_STATEMENTS:-0}" = 1 ] || return 1
	pg_sql postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null 2>&1
}

tp_statements_reset() {
	tp_statements_on || return 0
	pg_sql postgres "SELECT pg_stat_statements_reset()" >/dev/null
}

# tp_statements KEY DB: what the daemon's transactions spent in each statement since the last
# reset (pg_stat_statements; the server-side execution time, without the commit's WAL flush and
# without the round trips): a table in statements-KEY.txt, and per-transaction figures as results.
tp_statements() {
	local key=$1 db=$2 where txns
	tp_statements_on || return 0
	where="dbid = (SELECT oid FROM pg_database WHERE datname = '$db')"
	{
		echo "# $key: pg_stat_statements for database $db (execution time only)"
		psql -X -q -v ON_ERROR_STOP=1 "$(pg_conninfo postgres)" -c "
			SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
			       round(mean_exec_time::numeric, 3) AS mean_ms, rows,
			       left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS query
			FROM pg_stat_statements WHERE $where ORDER BY total_exec_time DESC LIMIT 15"
	} >"$BENCH_OUT/statements-$key.txt" 2>&1 || true
	# Every transaction that appends moves the head once (small batches insert their rows with
	# INSERT ... unnest, larger ones COPY them).
	txns=$(pg_sql postgres "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
		WHERE $where AND query LIKE 'UPDATE ledger_head %'")
	bench_record "$key.db.txns" "$txns" transactions "append transactions (head moves)"
	[ "$txns" -gt 0 ] || return 0
	local name cond ms
	while IFS='|' read -r name cond; do
		ms=$(pg_sql postgres "SELECT coalesce(sum(total_exec_time), 0) / $txns FROM pg_stat_statements
			WHERE $where AND ($cond)")
		bench_record "$key.db.$name" "$ms" ms "per transaction: $name"
	done <<'EOF'
lock_head|query LIKE 'SELECT seq, leaf_hash FROM ledger_head WHERE id = $1 FOR UPDATE%'
lookup|query LIKE 'SELECT event_id, seq, leaf_hash, event_digest FROM audit_log WHERE event_id = ANY%'
copy_audit_log|query LIKE 'COPY audit_log %' OR query LIKE 'INSERT INTO audit_log %'
copy_subject_entry|query LIKE 'COPY subject_entry %' OR query LIKE 'INSERT INTO subject_entry %'
copy_merkle_node|query LIKE 'COPY merkle_node %' OR query LIKE 'INSERT INTO merkle_node %'
consent_load|query LIKE 'SELECT pseudonym, state::text FROM public.consent_state %'
consent_write|query LIKE 'INSERT INTO public.consent_state %'
rights|query LIKE '% public.rights_request %'
daily|query LIKE 'INSERT INTO public.consent_daily %' OR query LIKE 'INSERT INTO public.consent_purpose_daily %'
move_head|query LIKE 'UPDATE ledger_head %'
checkpoint|query LIKE 'INSERT INTO checkpoint%'
EOF
}

# tp_cpu_start DB / tp_cpu_stop KEY EVENTS: CPU time per event, over one measurement, of consentd
# (utime + stime of its process) and of its writer's PostgreSQL backend (application_name
# consentd-writer), and how busy the whole machine was (cores, from /proc/stat).
tp_proc_ticks() {
	[ -n "$1" ] && awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

tp_machine_ticks() { # busy total
	awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# tp_schedstat: "loop_cpu loop_wait other_cpu other_wait backend_cpu backend_wait" in ns, from
# /proc/<tid>/schedstat (time on a CPU, time runnable but waiting for one): consentd's main thread
# (the event loop: HTTP, Kafka messages, replies), its other threads named consentd (the ledger
# writer), and the writer's PostgreSQL backend.
tp_schedstat() {
	local t comm lc=0 lw=0 oc=0 ow=0 bc=0 bw=0 c w
	for t in /proc/"$TP_PID"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		read -r c w _ <"$t/schedstat" 2>/dev/null || continue
		if [ "${t##*/}" = "$TP_PID" ]; then
			lc=$c lw=$w
		elif [ "$comm" = consentd ]; then
			oc=$((oc + c)) ow=$((ow + w))
		fi
	done
	[ -n "$TP_BACKEND" ] && read -r bc bw _ <"/proc/$TP_BACKEND/schedstat" 2>/dev/null
	echo "$lc $lw $oc $ow ${bc:-0} ${bw:-0}"
}

tp_cpu_start() {
	TP_BACKEND=$(pg_sql postgres "SELECT pid FROM pg_stat_activity
		WHERE application_name = 'consentd-writer' AND datname = '$1' LIMIT 1")
	TP_CPU0=("$(tp_proc_ticks "$TP_PID")" "$(tp_proc_ticks "$TP_BACKEND")" $(tp_machine_ticks))
	TP_SCHED0=($(tp_schedstat))
	TP_T0=$(date +%s%N)
}

tp_cpu_stop() {
	local key=$1 events=$2 hz
	local now=("$(tp_proc_ticks "$TP_PID")" "$(tp_proc_ticks "$TP_BACKEND")" $(tp_machine_ticks))
	local sched=($(tp_schedstat)) wall=$(($(date +%s%N) - TP_T0)) i name
	hz=$(getconf CLK_TCK)
	[ "$events" -gt 0 ] || return 0
	i=0
	for name in loop_cpu loop_wait writer_cpu writer_wait backend_cpu backend_wait; do
		local what="on a CPU"
		[ "${name#*_}" = wait ] && what="runnable, waiting for a CPU"
		bench_record "$key.sched.$name" \
			"$(awk -v d=$((sched[i] - TP_SCHED0[i])) -v w="$wall" 'BEGIN { print d / w }')" \
			fraction "share of the wall time ${name%_*} spent $what"
		i=$((i + 1))
	done
	bench_record "$key.cpu.consentd_us" \
		"$(awk -v d=$((now[0] - TP_CPU0[0])) -v hz="$hz" -v n="$events" 'BEGIN { print d / hz * 1e6 / n }')" \
		"us/event" "consentd CPU time per event"
	bench_record "$key.cpu.backend_us" \
		"$(awk -v d=$((now[1] - TP_CPU0[1])) -v hz="$hz" -v n="$events" 'BEGIN { print d / hz * 1e6 / n }')" \
		"us/event" "CPU time of consentd's writer backend per event"
	bench_record "$key.cpu.machine_busy" \
		"$(awk -v b=$((now[2] - TP_CPU0[2])) -v t=$((now[3] - TP_CPU0[3])) -v c="$(nproc)" 'BEGIN { print t ? b / t * c : 0 }')" \
		cores "busy CPU cores, whole machine (of $(nproc))"
}

# tp_rows DB: appended entries so far.
tp_rows() {
	pg_sql "$1" "SELECT seq FROM ledger_head WHERE id = 1"
}

# tp_wrk KEY EVENTS_PER_REQUEST URL [TOKEN] [SECONDS]: wrk with the events script; records
# KEY.requests_per_s and KEY.events_per_s counting only 2xx answers.
tp_wrk() {
	local key=$1 events=$2 url=$3 token=${4:-} secs=${5:-$BENCH_HTTP_SECONDS} log line
	log="$BENCH_OUT/wrk-$key.log"
	bench_run wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_CONNECTIONS" -d"${secs}s" --timeout 30s \
		-s "$BENCH_DIR/wrk_events.lua" "$url" -- "$events" "$token" "$RANDOM$RANDOM" \
		>"$log" 2>&1 || bench_die "wrk failed: $(tail -5 "$log")"
	line=$(grep '^WRK ' "$log") || bench_die "no WRK line in $log"
	[ "$key" = warmup ] && return 0
	python3 - "$key" "$events" "$line" >>"$BENCH_OUT/results.tsv" <<'EOF'
import sys
key, events, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
f = dict(kv.split("=") for kv in line.split()[1:])
req, secs = int(f["requests"]), int(f["duration_us"]) / 1e6
bad = int(f["status_errors"])
sock = sum(int(f[k]) for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
ok = req - bad
def out(k, v, unit, label):
    print("result\t%s.%s\t%.6g\t%s\t%s" % (key, k, v, unit, label))
out("requests", req, "requests", "wrk requests")
out("seconds", secs, "s", "wrk duration")
out("events_per_request", events, "events", "events per request")
out("non2xx", bad, "requests", "answers other than 2xx")
out("socket_errors", sock, "errors", "connect/read/write errors and timeouts")
out("requests_per_s", ok / secs, "requests/s", "2xx answers per second")
out("events_per_s", ok * events / secs, "events/s", "events in 2xx answers per second")
out("wrk_p50", int(f["lat_p50_us"]), "us", "wrk latency (closed loop), p50")
out("wrk_p99", int(f["lat_p99_us"]), "us", "wrk latency (closed loop), p99")
EOF
}

# tp_value KEY: a figure recorded earlier in this run.
tp_value() {
	awk -F'\t' -v k="$1" '$1 == "result" && $2 == k { v = $3 } END { print v }' "$BENCH_OUT/results.tsv"
}

# tp_rss KEY PID: the process's peak resident set (VmHWM) and current RSS.
tp_rss() {
	local hwm rss
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$2/status" 2>/dev/null || echo 0)
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$2/status" 2>/dev/null || echo 0)
	bench_record "$1.vmhwm_kb" "${hwm:-0}" kB "peak RSS (VmHWM)"
	bench_record "$1.vmrss_kb" "${rss:-0}" kB "RSS at the end"
}

# tp_consentd_start NAME DB [CONFIG_TEXT]: writes NAME's configuration, key files and token and
# starts consentd; sets TP_PID, TP_PORT, TP_TOKEN, TP_CONF, TP_LOG, TP_VERIFIER.
tp_consentd_start() {
	local name=$1 db=$2 extra=${3:-} dir i
	dir="$BENCH_TMP/$name"
	mkdir -p "$dir"
	TP_PORT=$(tp_free_port)
	TP_CONF="$dir/consentd.conf"
	TP_LOG="$BENCH_OUT/$name.log"
	TP_VERIFIER="$BENCH_OUT/$name-verifier.key"
	(umask 077 && printf '1 %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$dir/subject.key")
	cat >"$TP_CONF" <<EOF
# written by bench/suite_throughput.sh: daemon defaults except where a benchmark needs a value
[http]
listen = 127.0.0.1:$TP_PORT

[postgres]
conninfo = host=$PG_SOCK port=$PG_PORT dbname=$db user=$TP_APP_ROLE

[auth]
tokens_file = $dir/tokens

[ledger]
subject_key_file = $dir/subject.key
signing_key_file = $dir/signing.key
origin = $TP_ORIGIN

[consent]
purposes = $TP_PURPOSES
vendors = $TP_VENDORS

[log]
level = info
$extra
EOF
	cp "$TP_CONF" "$BENCH_OUT/$name.conf"
	"$BUILD/src/consentctl" -c "$TP_CONF" keygen "$TP_ORIGIN" >"$TP_VERIFIER" 2>>"$BENCH_OUT/$name-ctl.log" ||
		bench_die "consentctl keygen failed: $(cat "$BENCH_OUT/$name-ctl.log")"
	TP_TOKEN=$("$BUILD/src/consentctl" -c "$TP_CONF" token add bench --scopes ingest,read 2>>"$BENCH_OUT/$name-ctl.log") ||
		bench_die "consentctl token add failed: $(cat "$BENCH_OUT/$name-ctl.log")"
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER "$BUILD/src/consentd" -c "$TP_CONF" \
		</dev/null >"$TP_LOG" 2>&1 &
	TP_PID=$!
	bench_bg_add "$TP_PID"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$TP_PID" 2>/dev/null || bench_die "consentd ($name) exited: $(tail -20 "$TP_LOG")"
		curl -sf "http://127.0.0.1:$TP_PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || bench_die "consentd ($name) not ready in 30 s: $(tail -20 "$TP_LOG")"
	bench_log "consentd ($name) ready on 127.0.0.1:$TP_PORT, pid $TP_PID, database $db"
}

# tp_consentd_stop NAME DB: peak RSS, SIGTERM (it must exit 0), then consentctl verify of its
# ledger with its checkpoint key, and how many error lines it logged.
tp_consentd_stop() {
	local name=$1 db=$2 rc=0 errors
	tp_rss "rss.$name" "$TP_PID"
	bench_bg_stop "$TP_PID" 60 || rc=$?
	[ "$rc" = 0 ] || bench_die "consentd ($name) exited with status $rc: $(tail -20 "$TP_LOG")"
	errors=$(grep -c 'level=error' "$TP_LOG" || true)
	bench_record "$name.log_errors" "$errors" lines "level=error lines in consentd's log"
	[ "$errors" = 0 ] || bench_log "WARNING: consentd ($name) logged $errors errors (see $TP_LOG)"
	bench_log "consentctl verify of $db"
	"$BUILD/src/consentctl" verify --conninfo "$(pg_conninfo "$db")" --key "$TP_VERIFIER" \
		>"$BENCH_OUT/verify-$name.log" 2>&1 && grep -q '^verify: OK' "$BENCH_OUT/verify-$name.log" ||
		bench_die "consentctl verify of $db failed: $(tail -5 "$BENCH_OUT/verify-$name.log")"
}

# tp_profile KEY CMD...: with BENCH_PERF=1, a system-wide profile (perf record -a -g, 10 s) while
# CMD runs in the background; the top of its report goes to perf-KEY.txt. Not timed.
tp_profile() {
	local key=$1 pid
	shift
	[ "${BENCH_PERF:-0}" = 1 ] || return 0
	command -v perf >/dev/null || { bench_log "BENCH_PERF=1 but no perf: skipped"; return 0; }
	"$@" >/dev/null 2>&1 &
	pid=$!
	bench_bg_add "$pid"
	sleep 2
	perf record -F 499 -a -g -o "$BENCH_TMP/perf-$key.data" -- sleep 10 >/dev/null 2>&1 || true
	wait "$pid" 2>/dev/null || true
	bench_bg_forget "$pid"
	{
		echo "# $key: perf record -F 499 -a -g, 10 s; share of all samples by command"
		perf report -i "$BENCH_TMP/perf-$key.data" --no-children --sort comm --stdio -g none \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 || true
		echo
		echo "# consentd (all threads) and PostgreSQL by symbol, self time, share of all samples"
		perf report -i "$BENCH_TMP/perf-$key.data" --no-children --comm consentd,postgres \
			--sort comm,dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
			head -80 || true
	} >"$BENCH_OUT/perf-$key.txt"
	rm -f "$BENCH_TMP/perf-$key.data"
	bench_log "profile: $BENCH_OUT/perf-$key.txt"
}

# ---- sink ------------------------------------------------------------------------------------

suite_sink() {
	local db=bench_sink mode batch
	tp_db "$db" migrate
	for mode in copy insert; do
		for batch in 100 1000; do
			tp_checkpoint
			bench_log "sink: $mode, $batch rows per transaction, $BENCH_SINK_ROWS rows"
			bench_tool bench_sink "$BUILD/bench/bench_sink" --conninfo "$(pg_conninfo "$db")" \
				--mode "$mode" --batch "$batch" --rows "$BENCH_SINK_ROWS"
		done
	done
	# Not the raw sink: what the ledger's schema costs by itself (three tables, no lock, lookup
	# or head), for reading the distance between the two.
	tp_checkpoint
	bench_log "sink: COPY into copies of the ledger's three tables, 1000 events per transaction"
	bench_tool bench_sink "$BUILD/bench/bench_sink" --conninfo "$(pg_conninfo "$db")" \
		--mode copy3 --batch 1000 --rows "$BENCH_SINK_ROWS"
	# ... and with the consent_state row per pseudonym the compliance projection adds: the rows
	# every event costs, by COPY. No writer of this schema can pass it.
	tp_checkpoint
	bench_log "sink: COPY into copies of the four tables written per event, 1000 events per transaction"
	bench_tool bench_sink "$BUILD/bench/bench_sink" --conninfo "$(pg_conninfo "$db")" \
		--mode schema --batch 1000 --rows "$BENCH_SINK_ROWS"
	pg_sql postgres "DROP DATABASE $db" >/dev/null
}

# ---- http ------------------------------------------------------------------------------------

suite_http() {
	local db=consentd_http pid port out i rate half url
	# The bare server.
	out="$BENCH_TMP/bare_http.out"
	"$BUILD/bench/bare_http" >"$out" 2>"$BENCH_OUT/bare_http.log" &
	pid=$!
	bench_bg_add "$pid"
	for ((i = 0; i < 100; i++)); do
		port=$(awk '/^LISTENING / { print $2 }' "$out")
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || bench_die "bare_http did not start: $(cat "$BENCH_OUT/bare_http.log")"
	url="http://127.0.0.1:$port/v1/events"
	bench_log "http: bare evhttp, wrk $BENCH_CONNECTIONS connections, ${BENCH_HTTP_SECONDS} s"
	tp_wrk warmup 1 "$url" "" 3
	tp_wrk http.bare 1 "$url"
	bench_bg_stop "$pid" 10 || true

	# consentd.
	tp_db "$db" migrate
	tp_consentd_start consentd-http "$db"
	url="http://127.0.0.1:$TP_PORT/v1/events"
	tp_wrk warmup 1 "$url" "$TP_TOKEN" 3
	for spec in single:1 batch:100; do
		local key=http.${spec%%:*} n=${spec#*:} before
		tp_checkpoint
		tp_statements_reset
		before=$(tp_rows "$db")
		bench_log "http: consentd, $n event(s) per request, wrk $BENCH_CONNECTIONS connections, ${BENCH_HTTP_SECONDS} s"
		tp_cpu_start "$db"
		tp_wrk "$key" "$n" "$url" "$TP_TOKEN"
		before=$(($(tp_rows "$db") - before))
		tp_cpu_stop "$key" "$before"
		bench_record "$key.db_events" "$before" events "entries appended during the run"
		tp_statements "$key" "$db"
	done
	# Ack latency at half of each maximum, open loop.
	for spec in single:1 batch:100; do
		local key=http.${spec%%:*} n=${spec#*:}
		rate=$(tp_value "$key.requests_per_s")
		half=$(awk -v r="$rate" 'BEGIN { h = r / 2; printf "%.1f", h < 1 ? 1 : h }')
		tp_checkpoint
		bench_log "http: consentd ack latency, $n event(s) per request at $half requests/s (half the maximum), ${BENCH_LATENCY_SECONDS} s"
		bench_tool loadgen "$BUILD/bench/loadgen" --port "$TP_PORT" --token "$TP_TOKEN" \
			--rate "$half" --connections "$BENCH_CONNECTIONS" --seconds "$BENCH_LATENCY_SECONDS" \
			--warmup 2 --events "$n" --key "$key.latency"
	done
	tp_profile http.single wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_CONNECTIONS" -d14s --timeout 30s \
		-s "$BENCH_DIR/wrk_events.lua" "$url" -- 1 "$TP_TOKEN" "$RANDOM"
	tp_profile http.batch wrk -t"$BENCH_WRK_THREADS" -c"$BENCH_CONNECTIONS" -d14s --timeout 30s \
		-s "$BENCH_DIR/wrk_events.lua" "$url" -- 100 "$TP_TOKEN" "$RANDOM"
	tp_consentd_stop consentd-http "$db"
	pg_sql postgres "DROP DATABASE $db" >/dev/null
}

# ---- kafka -----------------------------------------------------------------------------------

tp_mock_start() {
	local fifo="$BENCH_TMP/kafka-mock.in" out="$BENCH_TMP/kafka-mock.out" i
	[ -x "$BUILD/tests/kafka-mock" ] || bench_die "$BUILD/tests/kafka-mock missing (configure with -Dtests=true)"
	rm -f "$fifo"
	mkfifo "$fifo"
	# It serves until its stdin closes: hold the fifo open on fd TP_MOCK_FD.
	"$BUILD/tests/kafka-mock" --brokers "$BENCH_KAFKA_BROKERS" --topic "consent-events:$BENCH_KAFKA_PARTITIONS" \
		<"$fifo" >"$out" 2>"$BENCH_OUT/kafka-mock.log" &
	TP_MOCK_PID=$!
	bench_bg_add "$TP_MOCK_PID"
	exec {TP_MOCK_FD}>"$fifo"
	for ((i = 0; i < 200; i++)); do
		TP_BOOTSTRAP=$(awk '/^BOOTSTRAP / { print $2 }' "$out")
		[ -n "$TP_BOOTSTRAP" ] && break
		sleep 0.05
	done
	[ -n "$TP_BOOTSTRAP" ] || bench_die "kafka-mock did not start: $(cat "$BENCH_OUT/kafka-mock.log")"
}

tp_mock_stop() {
	echo quit >&"$TP_MOCK_FD" 2>/dev/null || true
	exec {TP_MOCK_FD}>&-
	bench_bg_stop "$TP_MOCK_PID" 10 || true
}

suite_kafka() {
	local db=consentd_kafka i rejected count
	tp_mock_start
	tp_db "$db" migrate
	# Offsets committed every 100 ms instead of every second: kafka_produce paces each partition
	# by the group's committed offset, and a second-old offset held the producer back (measured:
	# about 17,000 events/s with the default, 21,000 with this, the same with a looser bound).
	# It changes how often the broker hears of progress, not what the ledger does.
	tp_consentd_start consentd-kafka "$db" "
[kafka]
brokers = $TP_BOOTSTRAP
topics = consent-events
group_id = consentd-bench
property.auto.commit.interval.ms = 100"
	# The mock delays a group's first assignment by about 3 s.
	for ((i = 0; i < 300; i++)); do
		grep -qE 'assigned [1-9][0-9]* partitions' "$TP_LOG" && break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || bench_die "consentd was not assigned partitions in 30 s: $(tail -20 "$TP_LOG")"
	tp_checkpoint
	tp_statements_reset
	bench_log "kafka: $BENCH_KAFKA_EVENTS events, $BENCH_KAFKA_PARTITIONS partitions, produced while consentd consumes (backlog <= $BENCH_KAFKA_PARTITION_BACKLOG per partition, $BENCH_KAFKA_BACKLOG in all)"
	tp_cpu_start "$db"
	bench_tool kafka_produce "$BUILD/bench/kafka_produce" --brokers "$TP_BOOTSTRAP" \
		--conninfo "$(pg_conninfo "$db")" --group consentd-bench \
		--partitions "$BENCH_KAFKA_PARTITIONS" --events "$BENCH_KAFKA_EVENTS" \
		--max-backlog "$BENCH_KAFKA_BACKLOG" --max-partition-backlog "$BENCH_KAFKA_PARTITION_BACKLOG"
	tp_cpu_stop kafka "$BENCH_KAFKA_EVENTS"
	tp_statements kafka "$db"
	rejected=$(pg_sql "$db" "SELECT count(*) FROM rejected_event")
	count=$(pg_sql "$db" "SELECT count(*) FROM audit_log")
	bench_record kafka.rejected "$rejected" events "events consentd rejected"
	[ "$rejected" = 0 ] && [ "$count" = "$BENCH_KAFKA_EVENTS" ] ||
		bench_die "kafka: $count entries and $rejected rejections for $BENCH_KAFKA_EVENTS events"
	tp_consentd_stop consentd-kafka "$db"
	tp_mock_stop
	pg_sql postgres "DROP DATABASE $db" >/dev/null
}

# ---- diy -------------------------------------------------------------------------------------

suite_diy() {
	local db=bench_diy
	tp_db "$db"
	tp_checkpoint
	bench_log "diy: trigger-chained INSERTs, $BENCH_CONNECTIONS clients, ${BENCH_DIY_SECONDS} s"
	bench_tool bench_diy "$BUILD/bench/bench_diy" --conninfo "$(pg_conninfo "$db")" \
		--clients "$BENCH_CONNECTIONS" --seconds "$BENCH_DIY_SECONDS"
	pg_sql postgres "DROP DATABASE $db" >/dev/null
}

# ---- chain -----------------------------------------------------------------------------------

suite_chain() {
	local db=bench_chain
	tp_db "$db" migrate
	tp_checkpoint
	bench_log "chain: store_append per event (gen_ledger, $BENCH_CHAIN_ENTRIES entries, batches of 1000)"
	bench_tool gen_ledger "$BUILD/bench/gen_ledger" --conninfo "$(pg_conninfo "$db")" \
		--entries "$BENCH_CHAIN_ENTRIES" --batch 1000 --prefix chaincost.gen
	bench_log "chain: encode + leaf hash + Merkle frontier per event, in process (bench_chaincost)"
	bench_tool bench_chaincost "$BUILD/bench/bench_chaincost" -n "$BENCH_CHAINCOST_ENTRIES" -b 1000
	pg_sql postgres "DROP DATABASE $db" >/dev/null
}
