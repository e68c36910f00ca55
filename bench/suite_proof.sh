# The proof suite (issue 4), sourced by bench/run.sh: fill a ledger of $BENCH_ENTRIES entries
# with the daemon's own code, then measure consentctl verify against sha256sum over the same
# entry bytes (with the steps in between), and Merkle proofs from the database.
# Needs: BUILD, BENCH_OUT, BENCH_TMP, BENCH_ENTRIES, BENCH_PROOFS and a running cluster.

suite_proof() {
	local db=consentd_bench conninfo secs help verify_args=() key="$BENCH_OUT/verifier.key"
	local export_file="$BENCH_TMP/entries.copy"

	conninfo=$(pg_conninfo "$db")
	pg_sql postgres "CREATE DATABASE $db" || bench_die "CREATE DATABASE failed"
	"$BUILD/src/consentctl" migrate --conninfo "$conninfo" >"$BENCH_OUT/migrate.log" 2>&1 ||
		bench_die "consentctl migrate failed: $(cat "$BENCH_OUT/migrate.log")"

	bench_log "generating $BENCH_ENTRIES entries (gen_ledger, batches of ${BENCH_BATCH})"
	bench_tool gen_ledger "$BUILD/bench/gen_ledger" --conninfo "$conninfo" \
		--entries "$BENCH_ENTRIES" --batch "$BENCH_BATCH" --verifier-out "$key"

	# What autovacuum would do to a table this size after the load: statistics, visibility
	# map and hint bits, so that the reads below do not write.
	bench_log "VACUUM (ANALYZE)"
	bench_time secs pg_sql "$db" "VACUUM (ANALYZE)"
	bench_record db.vacuum.seconds "$secs" s "VACUUM (ANALYZE) after the load"
	suite_proof_sizes "$db"

	# consentctl verify: the streaming pass an auditor runs. The checkpoint key is given when
	# this consentctl accepts one (signatures and roots are then checked too).
	help=$("$BUILD/src/consentctl" verify --help 2>&1 || true)
	case $help in *--key*) verify_args=(--key "$key") ;; esac
	bench_meta verify_command "consentctl verify${verify_args:+ --key verifier.key}"
	bench_log "consentctl verify ${verify_args[*]}"
	bench_time secs suite_proof_verify "$conninfo" "${verify_args[@]}"
	bench_record verify.seconds "$secs" s "consentctl verify wall time"

	# The same entry bytes, once, in seq order: what sha256sum and bench_chain read.
	bench_log "exporting the entry bytes"
	bench_time secs sh -c 'psql -X -q -v ON_ERROR_STOP=1 "$1" \
		-c "COPY (SELECT entry FROM audit_log ORDER BY seq) TO STDOUT (FORMAT binary)" >"$2"' \
		sh "$conninfo" "$export_file"
	bench_record export.seconds "$secs" s "COPY (SELECT entry ... ORDER BY seq) TO STDOUT, to a file"
	bench_record export.file_bytes "$(stat -c %s "$export_file")" bytes "export file size"
	cat "$export_file" >/dev/null # in the page cache for both readers below
	bench_time secs sh -c 'sha256sum "$1" >/dev/null' sh "$export_file"
	bench_record sha256sum.seconds "$secs" s "sha256sum over the export file"
	bench_log "in-memory chain checks (bench_chain)"
	bench_tool bench_chain "$BUILD/bench/bench_chain" "$export_file"
	rm -f "$export_file"

	bench_log "proofs: $BENCH_PROOFS random inclusion and consistency proofs (bench_proof)"
	bench_tool bench_proof "$BUILD/bench/bench_proof" --conninfo "$conninfo" \
		--samples "$BENCH_PROOFS" --explain
	suite_proof_plans
}

# suite_proof_verify CONNINFO [ARGS...]: consentctl verify, which must find the ledger intact.
suite_proof_verify() {
	local conninfo=$1
	shift
	if ! "$BUILD/src/consentctl" verify --conninfo "$conninfo" "$@" >"$BENCH_OUT/verify.log" 2>&1 ||
		! grep -q '^verify: OK' "$BENCH_OUT/verify.log"; then
		cat "$BENCH_OUT/verify.log" >&2
		return 1
	fi
}

suite_proof_sizes() {
	local db=$1 rel
	for rel in audit_log subject_entry merkle_node checkpoint; do
		bench_record "db.$rel.rows" "$(pg_sql "$db" "SELECT count(*) FROM $rel")" rows "$rel rows"
		bench_record "db.$rel.bytes" "$(pg_sql "$db" "SELECT pg_total_relation_size('$rel')")" \
			bytes "$rel size with indexes"
	done
	bench_record db.bytes "$(pg_sql "$db" "SELECT pg_database_size(current_database())")" bytes \
		"database size"
}

# The auto_explain output bench_proof --explain asked for (and any statement over 10 s).
suite_proof_plans() {
	awk '/duration: .* plan:/ { keep = 1 } /^[0-9]{4}-/ && !/duration: .* plan:/ { keep = 0 }
	     keep' "$PG_LOG" >"$BENCH_OUT/plans.log" || true
	bench_log "query plans: $BENCH_OUT/plans.log"
}
