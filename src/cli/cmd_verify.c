/* consentctl verify: one streaming pass over the ledger in seq order (single-row mode, constant
 * memory) re-hashing the stored bytes, checking every link and seq, and growing the Merkle tree
 * of the recomputed leaf hashes so that its root is compared with every checkpoint, from the
 * database and from an externally kept file, when the tree reaches that checkpoint's size. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/verify.h"
#include "ledger/ledger.h"
#include "store/project.h"
#include "store/store.h"

#define PROGRESS_EVERY 100000

struct verify_run {
	struct chain_verifier v;
	struct merkle_frontier tree; /* over the recomputed leaf hashes */
	struct verify_checkpoints *cps;
	uint64_t next_cp; /* the tree size the next checkpoint is due at */
	struct verify_failure fail;
	uint64_t rows;
	uint64_t last_seq;
	uint64_t head; /* ledger_head.seq */
	bool progress;
	const char *projections; /* "" when not checked, else what the check found (OK case) */
	char err[512];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl verify [--conninfo CONNINFO] [--key VERIFIER]\n"
		"                         [--checkpoints FILE] [--no-projections]\n"
		"Walks the whole ledger once, in seq order: recomputes every leaf hash from the\n"
		"stored bytes, checks every link and that seq has no gap, and recomputes the\n"
		"Merkle tree, whose root at each checkpoint's tree size must be the\n"
		"checkpoint's. DB checkpoints are checked against VERIFIER (the verifier key\n"
		"text, or a file holding it) when given. FILE holds checkpoints kept outside the\n"
		"database (ledger.checkpoint_dir/checkpoints) in ascending tree size; it needs\n"
		"--key. Exit 0 and a summary when intact; exit 1 naming the first seq affected\n"
		"and what was found: entry_modified (hash_mismatch, undecodable), entry_deleted\n"
		"(gap), entry_inserted_or_reordered (seq_mismatch, broken_link),\n"
		"tail_truncated, history_rewritten, or bad_signature (naming a tree size).\n"
		"Then, unless --no-projections, replays the ledger into temporary tables and\n"
		"checks that the compliance projections agree with it (exit 1 naming the table).\n"
		"exit 2 on usage, connection or file errors.\n");
}

static enum verify_class chain_class(enum chain_problem p)
{
	switch (p) {
	case CHAIN_GAP:
		return VERIFY_ENTRY_DELETED;
	case CHAIN_SEQ_MISMATCH:
	case CHAIN_BROKEN_LINK:
		return VERIFY_ENTRY_INSERTED;
	default:
		return VERIFY_ENTRY_MODIFIED;
	}
}

static int check_checkpoints(struct verify_run *run)
{
	int rc =
	    verify_checkpoints_check(run->cps, &run->tree, &run->fail, run->err, sizeof(run->err));

	run->next_cp = verify_checkpoints_next(run->cps);
	return rc < 0 ? rc : 0;
}

/* One row: its chain link, its leaf in the tree, then the checkpoints due at the new size. */
static int step(struct verify_run *run, PGresult *r)
{
	if (chain_verifier_step(&run->v, run->last_seq, (const uint8_t *)PQgetvalue(r, 0, 1),
				(size_t)PQgetlength(r, 0, 1), (const uint8_t *)PQgetvalue(r, 0, 2),
				(size_t)PQgetlength(r, 0, 2)) != CHAIN_OK) {
		verify_fail(&run->fail, chain_class(run->v.problem), run->v.bad_seq, "%s",
			    run->v.detail);
		run->fail.cause = chain_problem_name(run->v.problem);
		return 0;
	}
	/* The tree is built from the leaf hashes recomputed from the stored bytes. */
	merkle_frontier_append(&run->tree, run->v.leaf, NULL, NULL);
	return run->tree.size >= run->next_cp ? check_checkpoints(run) : 0;
}

static int scan_rows(PGconn *c, struct verify_run *run)
{
	PGresult *r;
	int rc = 0;

	if (!PQsendQueryParams(c, "SELECT seq, entry, leaf_hash FROM audit_log ORDER BY seq", 0,
			       NULL, NULL, NULL, NULL, 1) ||
	    !PQsetSingleRowMode(c)) {
		snprintf(run->err, sizeof(run->err), "%s", PQerrorMessage(c));
		return -1;
	}
	while ((r = PQgetResult(c))) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE && rc == 0 && run->fail.cls == VERIFY_OK) {
			run->last_seq = (uint64_t)store_get_int8(r, 0, 0);
			rc = step(run, r);
			if (++run->rows % PROGRESS_EVERY == 0 && run->progress)
				fprintf(stderr, "\rverify: %" PRIu64 " entries checked", run->rows);
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
			snprintf(run->err, sizeof(run->err), "%s", PQresultErrorMessage(r));
			rc = -1;
		}
		PQclear(r);
	}
	if (run->progress && run->rows >= PROGRESS_EVERY)
		fputc('\n', stderr);
	return rc;
}

static int exec_ok(PGconn *c, const char *sql, ExecStatusType want, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == want ? 0 : -1;

	if (rc < 0)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

/* One snapshot for rows, head and checkpoints: the second connection imports the first's, so
 * a daemon appending meanwhile cannot show checkpoints beyond the rows read. */
static int begin_snapshot(PGconn *a, PGconn *b, char *err, size_t errlen)
{
	static const char begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
	PGresult *r;
	char *lit = NULL, sql[128];
	int rc = -1;

	if (exec_ok(a, begin, PGRES_COMMAND_OK, err, errlen) < 0 ||
	    exec_ok(b, begin, PGRES_COMMAND_OK, err, errlen) < 0)
		return -1;
	r = PQexec(a, "SELECT pg_export_snapshot()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	else if (!(lit = PQescapeLiteral(b, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)))))
		snprintf(err, errlen, "%s", PQerrorMessage(b));
	else if (snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT %s", lit) < (int)sizeof(sql))
		rc = exec_ok(b, sql, PGRES_COMMAND_OK, err, errlen); /* SET takes no parameters */
	PQfreemem(lit);
	PQclear(r);
	return rc;
}

/* The head row records how far the chain went: rows missing at the end show up only here. */
static int read_head(PGconn *c, struct verify_run *run)
{
	PGresult *r = PQexec(c, "SELECT seq FROM ledger_head WHERE id = 1");
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(run->err, sizeof(run->err), "ledger_head: %s", PQresultErrorMessage(r));
		rc = -1;
	} else {
		run->head = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	}
	PQclear(r);
	return rc;
}

/* After the last row: nothing may claim the log went further, nor end before it. */
static int check_tail(struct verify_run *run)
{
	if (run->head > run->last_seq)
		verify_fail(&run->fail, VERIFY_TAIL_TRUNCATED, run->last_seq + 1,
			    "the chain head is seq %" PRIu64 " but the log ends at seq %" PRIu64,
			    run->head, run->last_seq);
	else if (run->head < run->last_seq)
		verify_fail(&run->fail, VERIFY_ENTRY_INSERTED, run->head + 1,
			    "the log goes on to seq %" PRIu64
			    " beyond the chain head, seq %" PRIu64,
			    run->last_seq, run->head);
	return verify_checkpoints_finish(run->cps, run->last_seq, &run->fail, run->err,
					 sizeof(run->err)) < 0
		   ? -1
		   : 0;
}

static void report(const struct verify_run *run)
{
	const struct verify_failure *f = &run->fail;
	char head[2 * LEDGER_HASH_LEN + 1], root_hex[2 * MERKLE_HASH_LEN + 1];
	uint8_t root[MERKLE_HASH_LEN];
	struct buf cps = {0};

	if (f->cls != VERIFY_OK) {
		printf("verify: FAILED at %s %" PRIu64 ": %s%s%s%s: %s\n",
		       f->at_tree_size ? "tree size" : "seq", f->at, verify_class_name(f->cls),
		       f->cause ? " (" : "", f->cause ? f->cause : "", f->cause ? ")" : "",
		       f->detail);
		return;
	}
	hex_encode(run->v.prev_hash, LEDGER_HASH_LEN, head);
	merkle_frontier_root(&run->tree, root);
	hex_encode(root, MERKLE_HASH_LEN, root_hex);
	verify_checkpoints_summary(run->cps, &cps);
	buf_append_u8(&cps, 0);
	printf("verify: OK: %" PRIu64 " entries, seq 1..%" PRIu64 " gapless, every hash and link "
	       "intact, head leaf_hash %s, Merkle root %s%s%s\n",
	       run->rows, run->last_seq, run->rows ? head : "(empty ledger)", root_hex,
	       cps.data ? (const char *)cps.data : "", run->projections);
	buf_free(&cps);
}

/* The pass itself, on two connections in one snapshot. CLI_OK, CLI_FAILED or CLI_USAGE. */
static int run_verify(struct verify_run *run, PGconn *rows, PGconn *cps)
{
	if (begin_snapshot(rows, cps, run->err, sizeof(run->err)) < 0 || read_head(rows, run) < 0 ||
	    verify_checkpoints_start(run->cps, cps, run->err, sizeof(run->err)) < 0)
		return CLI_USAGE;
	run->next_cp = verify_checkpoints_next(run->cps);
	if (run->next_cp == 0 && check_checkpoints(run) < 0) /* checkpoints of the empty tree */
		return CLI_USAGE;
	if (scan_rows(rows, run) < 0)
		return CLI_USAGE;
	if (run->fail.cls == VERIFY_OK && check_tail(run) < 0)
		return CLI_USAGE;
	return run->fail.cls == VERIFY_OK ? CLI_OK : CLI_FAILED;
}

struct verify_opts {
	const char *conninfo, *key, *checkpoints;
	bool no_projections;
};

/* The projections must be what a replay of the ledger computes, in one snapshot of their own.
 * CLI_OK, CLI_FAILED or CLI_USAGE. */
static int check_projections(struct cli *cli, PGconn *c, struct verify_run *run)
{
	struct project_diff diffs[PROJECT_TABLES];
	struct project_rebuild_stats st;
	struct project_context ctx;
	char err[512];
	int rc = CLI_OK;

	PQclear(PQexec(c, "ROLLBACK"));
	if (store_project_context(&cli->cfg.compliance, &ctx, err, sizeof(err)) < 0 ||
	    store_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", err, sizeof(err)) < 0 ||
	    store_project_compare(c, &ctx.rights, run->progress ? stderr : NULL, diffs, &st, err,
				  sizeof(err)) < 0) {
		cli_error("verify", "checking projections: %s", err);
		rc = CLI_USAGE;
	}
	for (size_t i = 0; rc == CLI_OK && i < PROJECT_TABLES; i++)
		if (diffs[i].differing) {
			printf("verify: FAILED: projection %s disagrees with a replay of the ledger "
			       "(%" PRId64 " rows differ): run `consentctl rebuild`\n",
			       diffs[i].table, diffs[i].differing);
			rc = CLI_FAILED;
		}
	run->projections = "; compliance projections agree with a replay of the ledger";
	PQclear(PQexec(c, "ROLLBACK"));
	store_project_context_free(&ctx);
	return rc;
}

/* 0 to go on, -1 when help was asked for (and printed), or CLI_USAGE. */
static int parse_opts(int argc, char **argv, struct verify_opts *o)
{
	static const struct option longopts[] = {
	    {"conninfo", required_argument, NULL, 'd'},
	    {"key", required_argument, NULL, 'k'},
	    {"checkpoints", required_argument, NULL, 'f'},
	    {"no-projections", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'd') {
			o->conninfo = optarg;
		} else if (opt == 'k') {
			o->key = optarg;
		} else if (opt == 'f') {
			o->checkpoints = optarg;
		} else if (opt == 'P') {
			o->no_projections = true;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? -1 : CLI_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (o->checkpoints && !o->key) {
		cli_error("verify", "--checkpoints needs --key: external checkpoints count only if "
				    "their signatures verify");
		return CLI_USAGE;
	}
	return 0;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	struct verify_run run = {.progress = isatty(STDERR_FILENO), .projections = ""};
	struct verify_opts o = {0};
	struct note_verifier *key = NULL;
	PGconn *rows = NULL, *cps = NULL;
	int rc = parse_opts(argc, argv, &o);

	if (rc != 0)
		return rc < 0 ? CLI_OK : rc;
	rc = CLI_USAGE;
	chain_verifier_init(&run.v);
	merkle_frontier_init(&run.tree);
	if (o.key && verify_key_load(o.key, &key, run.err, sizeof(run.err)) < 0)
		goto out;
	/* The file's length is taken before the snapshot: all it holds then is committed. */
	if (verify_checkpoints_new(o.checkpoints, key, &run.cps, run.err, sizeof(run.err)) < 0)
		goto out;
	if (!(rows = cli_connect(cli, o.conninfo)) || !(cps = cli_connect(cli, o.conninfo))) {
		run.err[0] = '\0';
		goto out;
	}
	rc = run_verify(&run, rows, cps);
	if (rc == CLI_OK && !o.no_projections)
		rc = check_projections(cli, cps, &run);
	if (rc != CLI_USAGE && !(rc == CLI_FAILED && run.fail.cls == VERIFY_OK))
		report(&run); /* a projection failure printed its own line */
out:
	if (rc == CLI_USAGE && run.err[0])
		cli_error("verify", "%s", run.err);
	PQfinish(cps);
	PQfinish(rows);
	verify_checkpoints_free(run.cps);
	note_verifier_free(key);
	return rc;
}
