# The compliance suite (issue 5), sourced by bench/run.sh: the reads an auditor or a data
# protection officer makes of a ledger of $BENCH_ENTRIES entries, through the real daemon.
#   - the ledger: bench_ledger (bench/lib.sh), the proof suite's when both run, else generated
#     here the same way (gen_ledger writes the compliance projections in the append transaction
#     and signs checkpoints with its fixed key)
#   - consentd as built, read-only against that database: a token with scope read, the subject
#     key gen_ledger made the pseudonyms with, no signing key (the bundles carry gen_ledger's
#     latest checkpoint)
#   - bench/compliance_client.py, one keep-alive connection, one request at a time: for random
#     subjects of the workload, POST /v1/subjects/lookup of the device id, then
#     GET /v1/subjects/{pseudonym}/consent?at=T (T random in the generated period) and, for other
#     subjects, GET /v1/subjects/{pseudonym}/evidence; latency percentiles, bundle sizes
#   - one bundle checked offline with consentctl verify-bundle and the checkpoint verifier key
#   - the data-rights register of the whole generated period as CSV, streamed by
#     GET /v1/reports/data-rights (curl, to a file) and written by consentctl report (peak RSS by
#     /usr/bin/time -v); both files must be identical
#   - consentd's peak RSS; then, for the plans, a few requests again with auto_explain logging
#     every statement of the daemon's role (compliance-plans.log), not timed
#   - consentctl verify with and without its projection check, whose difference is the check's
#     time (BENCH_COMPLIANCE_VERIFY=0 skips it; the proof suite's chain-only run is reused)
# Needs: BUILD, BENCH_OUT, BENCH_TMP, a running cluster, the BENCH_* settings run.sh sets, and
# tp_free_port and tp_rss from bench/suite_throughput.sh.

CP_APP_ROLE=consentd_app
CP_PURPOSES="essential, analytics, advertising, functional, personalization"
CP_VENDORS="adform, criteo, google_ads, hotjar, linkedin, meta, microsoft, tiktok"

# cp_consentd_start DB: writes the configuration and a read token, starts consentd; sets CP_PID,
# CP_PORT, CP_TOKEN, CP_CONF, CP_LOG.
cp_consentd_start() {
	local db=$1 dir="$BENCH_TMP/compliance" i
	mkdir -p "$dir"
	CP_PORT=$(tp_free_port)
	CP_CONF="$dir/consentd.conf"
	CP_LOG="$BENCH_OUT/consentd-compliance.log"
	: >"$dir/tokens"
	chmod 600 "$dir/tokens"
	cat >"$CP_CONF" <<EOF
# written by bench/suite_compliance.sh: daemon defaults except where the benchmark needs a value;
# no signing key: this consentd only reads the ledger gen_ledger wrote and signed
[http]
listen = 127.0.0.1:$CP_PORT

[postgres]
conninfo = host=$PG_SOCK port=$PG_PORT dbname=$db user=$CP_APP_ROLE

[auth]
tokens_file = $dir/tokens

[ledger]
subject_key_file = $BENCH_LEDGER_SUBJECT_KEY
origin = bench.consentd.example/ledger

[consent]
purposes = $CP_PURPOSES
vendors = $CP_VENDORS

[log]
level = info
EOF
	cp "$CP_CONF" "$BENCH_OUT/consentd-compliance.conf"
	CP_TOKEN=$("$BUILD/src/consentctl" -c "$CP_CONF" token add reader --scopes read 2>>"$BENCH_OUT/consentd-compliance-ctl.log") ||
		bench_die "consentctl token add failed: $(cat "$BENCH_OUT/consentd-compliance-ctl.log")"
	env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER "$BUILD/src/consentd" -c "$CP_CONF" \
		</dev/null >>"$CP_LOG" 2>&1 &
	CP_PID=$!
	bench_bg_add "$CP_PID"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$CP_PID" 2>/dev/null || bench_die "consentd (compliance) exited: $(tail -20 "$CP_LOG")"
		curl -sf "http://127.0.0.1:$CP_PORT/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || bench_die "consentd (compliance) not ready in 30 s: $(tail -20 "$CP_LOG")"
	bench_log "consentd (compliance) ready on 127.0.0.1:$CP_PORT, pid $CP_PID, database $db"
}

cp_consentd_stop() {
	local rc=0
	bench_bg_stop "$CP_PID" 60 || rc=$?
	[ "$rc" = 0 ] || bench_die "consentd (compliance) exited with status $rc: $(tail -20 "$CP_LOG")"
}

# cp_client ARGS...: bench/compliance_client.py against the running consentd.
cp_client() {
	/usr/bin/python3 "$BENCH_DIR/compliance_client.py" --port "$CP_PORT" --token "$CP_TOKEN" \
		--subjects "$BENCH_SUBJECTS" --from-us "$CP_FROM_US" --to-us "$CP_TO_US" "$@"
}

# cp_verify NAME CONNINFO [ARGS...]: consentctl verify, which must find the ledger intact; its
# output in NAME.log.
cp_verify() {
	local log="$BENCH_OUT/$1.log" conninfo=$2
	shift 2
	if ! "$BUILD/src/consentctl" verify --conninfo "$conninfo" "$@" >"$log" 2>&1 ||
		! grep -q '^verify: OK' "$log"; then
		cat "$log" >&2
		return 1
	fi
}

# cp_csv_rows FILE: data rows of a CSV report (lines after the header).
cp_csv_rows() {
	local lines
	lines=$(wc -l <"$1")
	echo $((lines > 0 ? lines - 1 : 0))
}

suite_compliance() {
	local db conninfo days from to rows url secs secs_first bytes http_csv ctl_csv timing code rss
	local mark help verify_args=()

	bench_ledger
	db=$BENCH_LEDGER_DB
	conninfo=$(pg_conninfo "$db")
	PGOPTIONS="-c client_min_messages=warning" pg_sql postgres "DO \$\$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$CP_APP_ROLE') THEN
			CREATE ROLE $CP_APP_ROLE LOGIN;
		END IF; END \$\$; GRANT consentd_writer, consentd_reader TO $CP_APP_ROLE" >/dev/null

	# The generated period: receipt times of the first and the last entry (gen_ledger's events
	# occurred up to 5 s before their receipt), and the days of the register's requests.
	CP_FROM_US=$(pg_sql "$db" "SELECT (extract(epoch FROM received_at) * 1000000)::bigint
		FROM audit_log WHERE seq = 1")
	CP_TO_US=$(pg_sql "$db" "SELECT (extract(epoch FROM received_at) * 1000000)::bigint
		FROM audit_log WHERE seq = (SELECT seq FROM ledger_head WHERE id = 1)")
	days=$(pg_sql "$db" "SELECT coalesce(min(received_on), current_date) || ' ' ||
		coalesce(max(received_on), current_date) FROM rights_request")
	from=${days% *}
	to=${days#* }
	rows=$(pg_sql "$db" "SELECT count(*) FROM rights_request WHERE received_on BETWEEN '$from' AND '$to'")
	bench_meta compliance_period "$(pg_sql "$db" "SELECT min(received_at) || ' to ' || max(received_at)
		FROM audit_log WHERE seq IN (1, (SELECT seq FROM ledger_head WHERE id = 1))")"
	bench_record compliance.period_seconds "$(awk -v a="$CP_FROM_US" -v b="$CP_TO_US" 'BEGIN { print (b - a) / 1e6 }')" \
		s "the generated period (first to last receipt)"
	bench_record compliance.register.rows "$rows" rows "data-rights requests received $from to $to"

	cp_consentd_start "$db"

	# Per-subject reads.
	bench_log "compliance: lookup + consent-at-T and lookup + evidence, $BENCH_COMPLIANCE_SAMPLES subjects each after $BENCH_COMPLIANCE_WARMUP of warm-up, one keep-alive connection"
	bench_tool compliance_client cp_client --samples "$BENCH_COMPLIANCE_SAMPLES" \
		--warmup "$BENCH_COMPLIANCE_WARMUP" --seed "$RANDOM" \
		--bundle-out "$BENCH_TMP/compliance-bundle.json" \
		--log "$BENCH_OUT/compliance-requests.tsv"
	if "$BUILD/src/consentctl" verify-bundle "$BENCH_TMP/compliance-bundle.json" \
		--key "$BENCH_LEDGER_VERIFIER" >"$BENCH_OUT/verify-bundle.log" 2>&1; then
		bench_record compliance.bundle_verified 1 bool "the last bundle fetched passes consentctl verify-bundle"
	else
		bench_die "consentctl verify-bundle refused a bundle consentd served: $(tail -5 "$BENCH_OUT/verify-bundle.log")"
	fi

	# The register, streamed over HTTP to a file (curl's own figures: time to the first byte and
	# to the last).
	http_csv="$BENCH_TMP/data-rights-http.csv"
	url="http://127.0.0.1:$CP_PORT/v1/reports/data-rights?from=$from&to=$to&status=all&format=csv"
	bench_log "compliance: GET /v1/reports/data-rights?from=$from&to=$to&status=all&format=csv ($rows requests)"
	timing=$(curl -sS -o "$http_csv" -H "Authorization: Bearer $CP_TOKEN" \
		-w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}' "$url") ||
		bench_die "curl of the data-rights report failed"
	read -r code secs_first secs bytes <<<"$timing"
	[ "$code" = 200 ] || bench_die "GET /v1/reports/data-rights: HTTP $code: $(head -c 300 "$http_csv")"
	bench_record compliance.register_http.seconds "$secs" s "GET /v1/reports/data-rights CSV, to the last byte (curl)"
	bench_record compliance.register_http.first_byte_seconds "$secs_first" s "GET /v1/reports/data-rights CSV, to the first byte (curl)"
	bench_record compliance.register_http.bytes "$bytes" bytes "GET /v1/reports/data-rights CSV, body size"
	bench_record compliance.register_http.rows "$(cp_csv_rows "$http_csv")" rows "GET /v1/reports/data-rights CSV, data rows"

	# consentd's memory after all of it (the report is streamed: it should not grow with it).
	tp_rss rss.consentd-compliance "$CP_PID"

	# The plans of the per-subject statements: a few requests again, not timed, with auto_explain
	# logging every statement of the daemon's role (set for the role, so consentd is restarted
	# for its new sessions to take it).
	cp_consentd_stop
	pg_sql postgres "ALTER ROLE $CP_APP_ROLE SET auto_explain.log_min_duration = 0;
		ALTER ROLE $CP_APP_ROLE SET auto_explain.log_analyze = on;
		ALTER ROLE $CP_APP_ROLE SET auto_explain.log_buffers = on" >/dev/null
	mark=$(stat -c %s "$PG_LOG")
	cp_consentd_start "$db"
	cp_client --samples 5 --warmup 2 --seed 7 --prefix explain >"$BENCH_OUT/compliance-explain.out" 2>&1 ||
		bench_log "WARNING: the explain pass failed: $(tail -3 "$BENCH_OUT/compliance-explain.out")"
	cp_consentd_stop
	pg_sql postgres "ALTER ROLE $CP_APP_ROLE RESET ALL" >/dev/null
	tail -c +"$((mark + 1))" "$PG_LOG" |
		awk '/duration: .* plan:/ { keep = 1 } /^[0-9]{4}-/ && !/duration: .* plan:/ { keep = 0 } keep' \
			>"$BENCH_OUT/compliance-plans.log" || true
	bench_log "compliance: plans of the per-subject statements in $BENCH_OUT/compliance-plans.log"

	# The same register from consentctl (the same renderer, one snapshot, a cursor).
	ctl_csv="$BENCH_TMP/data-rights-consentctl.csv"
	bench_log "compliance: consentctl report data-rights --from $from --to $to --status all --format csv -o FILE"
	bench_time secs /usr/bin/time -v -o "$BENCH_OUT/consentctl-report.time" \
		"$BUILD/src/consentctl" report data-rights --conninfo "$conninfo" --from "$from" --to "$to" \
		--status all --format csv -o "$ctl_csv"
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$BENCH_OUT/consentctl-report.time")
	bench_record compliance.register_ctl.seconds "$secs" s "consentctl report data-rights CSV, wall time"
	bench_record compliance.register_ctl.bytes "$(stat -c %s "$ctl_csv")" bytes "consentctl report data-rights CSV, file size"
	bench_record compliance.register_ctl.rows "$(cp_csv_rows "$ctl_csv")" rows "consentctl report data-rights CSV, data rows"
	bench_record compliance.register_ctl.maxrss_kb "${rss:-0}" kB "consentctl report data-rights, peak RSS (/usr/bin/time -v)"
	if cmp -s "$http_csv" "$ctl_csv"; then
		bench_record compliance.register_same 1 bool "HTTP and consentctl CSV files identical"
	else
		bench_record compliance.register_same 0 bool "HTTP and consentctl CSV files identical"
		bench_log "WARNING: the HTTP and consentctl registers differ (kept in $BENCH_OUT)"
		cp "$http_csv" "$ctl_csv" "$BENCH_OUT/"
	fi
	rm -f "$http_csv" "$ctl_csv" "$BENCH_TMP/compliance-bundle.json"

	# consentctl verify's projection check: verify in full minus the chain pass alone.
	help=$("$BUILD/src/consentctl" verify --help 2>&1 || true)
	if [ "$BENCH_COMPLIANCE_VERIFY" = 1 ] && case $help in *--no-projections*) true ;; *) false ;; esac; then
		verify_args=(--key "$BENCH_LEDGER_VERIFIER")
		bench_log "compliance: consentctl verify --key verifier.key (chain and projections)"
		bench_time secs cp_verify verify-full "$conninfo" "${verify_args[@]}"
		bench_record compliance.verify_full.seconds "$secs" s "consentctl verify --key (with the projection check)"
		if [ -z "$(tp_value verify.seconds)" ]; then
			bench_log "compliance: consentctl verify --key verifier.key --no-projections"
			bench_time secs cp_verify verify "$conninfo" "${verify_args[@]}" --no-projections
			bench_record verify.seconds "$secs" s "consentctl verify wall time"
			bench_meta verify_command "consentctl verify --key verifier.key --no-projections"
		fi
	fi
}
