# The proof suite (issue 4), sourced by bench/run.sh: fill a ledger of $BENCH_ENTRIES entries
# with the daemon's own code (bench_ledger in bench/lib.sh), then measure consentctl verify
# against sha256sum over the same entry bytes (with the steps in between), and Merkle proofs
# from the database.
# Needs: BUILD, BENCH_OUT, BENCH_TMP, BENCH_ENTRIES, BENCH_PROOFS and a running cluster.

suite_proof() {
	local db=$BENCH_LEDGER_DB conninfo secs help verify_args=() key
	local export_file="$BENCH_TMP/entries.copy"

	# gen_ledger, VACUUM (ANALYZE), table sizes (bench/lib.sh; shared with the compliance suite).
	bench_ledger
	conninfo=$(pg_conninfo "$db")
	key=$BENCH_LEDGER_VERIFIER

	# consentctl verify: the streaming pass an auditor runs. The checkpoint key is given when
	# this consentctl accepts one (signatures and roots are then checked too).
	help=$("$BUILD/src/consentctl" verify --help 2>&1 || true)
	case $help in *--key*) verify_args=(--key "$key") ;; esac
	# The chain pass alone (what sha256sum is compared with); the compliance suite times the
	# projection check on its own.
	case $help in *--no-projections*) verify_args+=(--no-projections) ;; esac
	bench_meta verify_command "consentctl verify${verify_args:+ ${verify_args[*]/#$key/verifier.key}}"
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

# The auto_explain output bench_proof --explain asked for (and any statement over 10 s).
suite_proof_plans() {
	awk '/duration: .* plan:/ { keep = 1 } /^[0-9]{4}-/ && !/duration: .* plan:/ { keep = 0 }
	     keep' "$PG_LOG" >"$BENCH_OUT/plans.log" || true
	bench_log "query plans: $BENCH_OUT/plans.log"
}
