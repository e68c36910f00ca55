/* bench_proof: how long the database takes to produce Merkle proofs, and a verifier to check
 * them, on a live connection: inclusion proofs for random entries against the current tree,
 * consistency proofs between random tree sizes, and tree roots, all through store/evidence.c
 * (the code behind the proof API and consentctl proof) and ledger/merkle.c. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/merkle.h"
#include "stats.h"
#include "store/evidence.h"
#include "store/store.h"

#define WARMUP 20

struct options {
	const char *conninfo;
	size_t samples;
	uint64_t seed;
	bool explain;
};

struct run {
	PGconn *c;
	uint64_t size;
	uint8_t root[MERKLE_HASH_LEN];
	uint64_t rng;
	size_t proof_hashes; /* summed over the inclusion samples */
	char err[512];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_proof --conninfo CONNINFO [--samples 2000] [--seed S] [--explain]\n"
		"Times store_inclusion_proof, store_consistency_proof and store_tree_root on a\n"
		"ledger, and merkle_verify_* on their results; prints `result` lines.\n"
		"--explain first logs the query plans of one of each through auto_explain\n"
		"(superuser; the plans go to the server log).\n");
}

/* One inclusion proof of a random leaf against the current tree, produced then verified. */
static int inclusion_once(struct run *r, struct stats *fetch, struct stats *verify,
			  struct stats *both)
{
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	uint64_t index = bench_rand_below(&r->rng, r->size);
	size_t n;
	int64_t t0, t1, t2;
	int rc;

	t0 = bench_now_ns();
	rc = store_inclusion_proof(r->c, index, r->size, leaf, proof, &n, r->err, sizeof(r->err));
	t1 = bench_now_ns();
	if (rc < 0)
		return rc;
	if (merkle_verify_inclusion(index, r->size, leaf, (const uint8_t(*)[MERKLE_HASH_LEN])proof,
				    n, r->root) < 0) {
		snprintf(r->err, sizeof(r->err),
			 "inclusion proof of leaf %" PRIu64 " does not verify", index);
		return -EPROTO;
	}
	t2 = bench_now_ns();
	r->proof_hashes += n;
	if (fetch && (stats_add(fetch, t1 - t0) < 0 || stats_add(verify, t2 - t1) < 0 ||
		      stats_add(both, t2 - t0) < 0))
		return -ENOMEM;
	return 0;
}

/* One consistency proof between random sizes 0 < a < b <= size; the two roots it is checked
 * against are fetched (and timed) separately, as a client holding two checkpoints has them. */
static int consistency_once(struct run *r, struct stats *fetch, struct stats *verify,
			    struct stats *roots)
{
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	uint8_t root1[MERKLE_HASH_LEN], root2[MERKLE_HASH_LEN];
	uint64_t a = 1 + bench_rand_below(&r->rng, r->size - 1);
	uint64_t b = a + 1 + bench_rand_below(&r->rng, r->size - a);
	size_t n;
	int64_t t0, t1, t2, t3;
	int rc;

	t0 = bench_now_ns();
	if ((rc = store_tree_root(r->c, a, root1, r->err, sizeof(r->err))) < 0)
		return rc;
	t1 = bench_now_ns();
	if ((rc = store_tree_root(r->c, b, root2, r->err, sizeof(r->err))) < 0)
		return rc;
	t2 = bench_now_ns();
	if ((rc = store_consistency_proof(r->c, a, b, proof, &n, r->err, sizeof(r->err))) < 0)
		return rc;
	t3 = bench_now_ns();
	if (merkle_verify_consistency(a, b, root1, root2, (const uint8_t(*)[MERKLE_HASH_LEN])proof,
				      n) < 0) {
		snprintf(r->err, sizeof(r->err),
			 "consistency proof %" PRIu64 " -> %" PRIu64 " does not verify", a, b);
		return -EPROTO;
	}
	if (!fetch)
		return 0;
	if (stats_add(roots, t1 - t0) < 0 || stats_add(roots, t2 - t1) < 0 ||
	    stats_add(fetch, t3 - t2) < 0 || stats_add(verify, bench_now_ns() - t3) < 0)
		return -ENOMEM;
	return 0;
}

/* Logs the plans (with actual times and buffers) of one proof of each kind. */
static int explain(struct run *r)
{
	static const char *const on[] = {
		"LOAD 'auto_explain'",
		"SET auto_explain.log_analyze = on",
		"SET auto_explain.log_buffers = on",
		"SET auto_explain.log_min_duration = 0",
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]) && rc == 0; i++)
		rc = store_exec(r->c, on[i], r->err, sizeof(r->err));
	if (rc == 0)
		rc = inclusion_once(r, NULL, NULL, NULL);
	if (rc == 0)
		rc = consistency_once(r, NULL, NULL, NULL);
	if (rc == 0)
		rc = store_exec(r->c, "SET auto_explain.log_min_duration = -1", r->err,
				sizeof(r->err));
	return rc;
}

static int measure(struct run *r, size_t samples)
{
	struct stats inc_fetch = { 0 }, inc_verify = { 0 }, con_fetch = { 0 }, con_verify = { 0 };
	struct stats inc_both = { 0 }, roots = { 0 };
	int rc = 0;

	for (size_t i = 0; i < WARMUP && rc == 0; i++)
		rc = inclusion_once(r, NULL, NULL, NULL);
	r->proof_hashes = 0;
	for (size_t i = 0; i < samples && rc == 0; i++)
		rc = inclusion_once(r, &inc_fetch, &inc_verify, &inc_both);
	for (size_t i = 0; i < samples && rc == 0 && r->size > 1; i++)
		rc = consistency_once(r, &con_fetch, &con_verify, &roots);
	if (rc == 0) {
		bench_result("proof.tree_size", (double)r->size, "entries",
			     "tree size (ledger entries)");
		bench_result("proof.inclusion_hashes", (double)r->proof_hashes / (double)samples,
			     "hashes", "inclusion proof length, mean");
		bench_result_latency("proof.inclusion_fetch", &inc_fetch,
				     "inclusion proof from the database (store_inclusion_proof)");
		bench_result_latency("proof.inclusion_verify", &inc_verify,
				     "inclusion proof verification (merkle_verify_inclusion)");
		bench_result_latency("proof.inclusion_total", &inc_both,
				     "inclusion proof produced and verified");
		bench_result_latency(
			"proof.consistency_fetch", &con_fetch,
			"consistency proof from the database (store_consistency_proof)");
		bench_result_latency("proof.consistency_verify", &con_verify,
				     "consistency proof verification (merkle_verify_consistency)");
		bench_result_latency("proof.tree_root", &roots,
				     "root of a random tree size (store_tree_root)");
	}
	stats_free(&inc_fetch);
	stats_free(&inc_verify);
	stats_free(&con_fetch);
	stats_free(&con_verify);
	stats_free(&inc_both);
	stats_free(&roots);
	return rc;
}

static int parse_args(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'd' },
		{ "samples", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "explain", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case 'd':
			opt->conninfo = optarg;
			break;
		case 'n':
			opt->samples = strtoull(optarg, NULL, 10);
			break;
		case 's':
			opt->seed = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			opt->explain = true;
			break;
		default:
			return o == 'h' ? 1 : -EINVAL;
		}
	}
	return optind == argc && opt->conninfo && opt->samples ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct options opt = { .samples = 2000, .seed = 42 };
	struct run r = { 0 };
	int rc = parse_args(argc, argv, &opt);

	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	r.rng = opt.seed;
	r.c = store_connect(opt.conninfo, 10000, "consentd-bench-proof", r.err, sizeof(r.err));
	if (!r.c) {
		fprintf(stderr, "bench_proof: %s\n", r.err);
		return 1;
	}
	/* Autocommit, one statement per proof, as the proof API runs them. */
	rc = store_tree_size(r.c, &r.size, r.err, sizeof(r.err));
	if (rc == 0 && r.size == 0) {
		snprintf(r.err, sizeof(r.err), "the ledger is empty");
		rc = -ENOENT;
	}
	if (rc == 0)
		rc = store_tree_root(r.c, r.size, r.root, r.err, sizeof(r.err));
	if (rc == 0 && opt.explain)
		rc = explain(&r);
	if (rc == 0)
		rc = measure(&r, opt.samples);
	if (rc < 0)
		fprintf(stderr, "bench_proof: %s (%s)\n", r.err, strerror(-rc));
	PQfinish(r.c);
	return rc < 0 ? 1 : 0;
}
