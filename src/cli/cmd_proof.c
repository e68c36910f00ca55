/* consentctl proof: inclusion and consistency proofs and the latest signed checkpoint, from the
 * stored Merkle nodes; consentctl verify-proof: checks such a proof offline, with no database,
 * against signed checkpoints and a verifier key. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/verify.h"
#include "ledger/proof.h"
#include "store/evidence.h"

#define PROOF_FILE_MAX (1024 * 1024)
#define ENTRY_FILE_MAX (64 * 1024 * 1024)

static void proof_usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl proof inclusion --seq N [--tree-size M] [--conninfo CONNINFO]\n"
		"       consentctl proof consistency --from A --to B [--conninfo CONNINFO]\n"
		"       consentctl proof checkpoint [--conninfo CONNINFO]\n"
		"inclusion proves entry N is in the tree of size M (default: the latest\n"
		"checkpoint's size, so that it can be checked against that signed checkpoint;\n"
		"with no checkpoint, the current size); consistency proves the tree of size A\n"
		"is a prefix of the tree of size B. Both print one line of JSON, for\n"
		"`consentctl verify-proof`. checkpoint prints the latest signed checkpoint note.\n"
		"Exit 1 if the proof cannot be built (beyond the tree, missing nodes), 2 on\n"
		"usage or connection errors.\n");
}

static void verify_proof_usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl verify-proof --key VERIFIER --checkpoint NOTE_FILE\n"
		"         --proof PROOF_FILE [--old-checkpoint NOTE_FILE] [--entry ENTRY_FILE]\n"
		"Checks a proof (from `consentctl proof` or the HTTP API; PROOF_FILE - reads\n"
		"standard input) offline against a signed checkpoint. VERIFIER is the verifier\n"
		"key text or a file holding it; the checkpoint's origin must be its name. An\n"
		"inclusion proof must be for the checkpoint's tree size; with --entry (the raw\n"
		"LedgerEntry bytes) the entry must hash to the proven leaf and name the proven\n"
		"seq. A consistency proof goes from --old-checkpoint's size to the checkpoint's,\n"
		"both signed by the key.\n"
		"Exit 0 when it verifies, 1 when it does not, 2 on usage errors or unreadable\n"
		"files.\n");
}

/* Decimal digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* ---- proof -------------------------------------------------------------------------------- */

struct proof_opts {
	const char *conninfo;
	uint64_t seq, tree_size, from, to;
	bool has_seq, has_tree_size, has_from, has_to;
};

/* A database error is exit 2 (connection or permissions); anything else, no proof: exit 1. */
static int store_exit(int rc)
{
	return rc == -EIO || rc == -ENOTCONN || rc == -ENOMEM ? CLI_USAGE : CLI_FAILED;
}

static int print_json(json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!text) {
		cli_error("proof", "cannot encode the proof");
		return CLI_FAILED;
	}
	printf("%s\n", text);
	free(text);
	return CLI_OK;
}

/* The latest checkpoint's tree size, else the committed tree size. */
static int default_tree_size(PGconn *c, uint64_t *size, char *err, size_t errlen)
{
	char *note = NULL;
	int rc = store_latest_checkpoint(c, &note, size, err, errlen);

	free(note);
	return rc == -ENOENT ? store_tree_size(c, size, err, errlen) : rc;
}

static int inclusion(PGconn *c, struct proof_opts *o)
{
	uint8_t leaf[MERKLE_HASH_LEN], hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	char err[512];
	size_t n;
	int rc;

	if (!o->has_tree_size && (rc = default_tree_size(c, &o->tree_size, err, sizeof(err))) < 0) {
		cli_error("proof", "%s", err);
		return store_exit(rc);
	}
	if (o->seq > o->tree_size) {
		cli_error("proof", "seq %" PRIu64 " is beyond the tree size %" PRIu64, o->seq,
			  o->tree_size);
		return CLI_FAILED;
	}
	rc = store_inclusion_proof(c, o->seq - 1, o->tree_size, leaf, hashes, &n, err, sizeof(err));
	if (rc < 0) {
		cli_error("proof", "%s", err);
		return store_exit(rc);
	}
	return print_json(proof_inclusion_json(o->seq, o->tree_size, leaf,
					       (const uint8_t(*)[MERKLE_HASH_LEN])hashes, n));
}

static int consistency(PGconn *c, const struct proof_opts *o)
{
	uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	uint64_t size;
	char err[512];
	size_t n;
	int rc;

	if ((rc = store_tree_size(c, &size, err, sizeof(err))) < 0) {
		cli_error("proof", "%s", err);
		return store_exit(rc);
	}
	if (o->to > size) {
		cli_error("proof", "--to %" PRIu64 " is beyond the tree size %" PRIu64, o->to,
			  size);
		return CLI_FAILED;
	}
	rc = store_consistency_proof(c, o->from, o->to, hashes, &n, err, sizeof(err));
	if (rc < 0) {
		cli_error("proof", "%s", err);
		return store_exit(rc);
	}
	return print_json(
	    proof_consistency_json(o->from, o->to, (const uint8_t(*)[MERKLE_HASH_LEN])hashes, n));
}

static int latest_checkpoint(PGconn *c)
{
	char *note = NULL, err[512];
	uint64_t size;
	int rc = store_latest_checkpoint(c, &note, &size, err, sizeof(err));

	if (rc < 0) {
		cli_error("proof", "%s", err);
		return store_exit(rc);
	}
	fputs(note, stdout);
	free(note);
	return CLI_OK;
}

static int number_opt(const char *name, const char *arg, uint64_t *out, bool *has)
{
	if (parse_u64(arg, out) < 0) {
		cli_error("proof", "--%s %s: not a non-negative integer", name, arg);
		return -1;
	}
	*has = true;
	return 0;
}

/* 0 to go on, -1 after --help, CLI_USAGE. argv[0] is the subcommand. */
static int parse_proof_opts(int argc, char **argv, struct proof_opts *o)
{
	static const struct option longopts[] = {
	    {"seq", required_argument, NULL, 's'},
	    {"tree-size", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 'T'},
	    {"conninfo", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt, bad = 0;

	while (!bad && (opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 's')
			bad = number_opt("seq", optarg, &o->seq, &o->has_seq);
		else if (opt == 't')
			bad = number_opt("tree-size", optarg, &o->tree_size, &o->has_tree_size);
		else if (opt == 'f')
			bad = number_opt("from", optarg, &o->from, &o->has_from);
		else if (opt == 'T')
			bad = number_opt("to", optarg, &o->to, &o->has_to);
		else if (opt == 'd')
			o->conninfo = optarg;
		else if (opt == 'h')
			return -1;
		else
			bad = -1;
	}
	return bad || optind != argc ? CLI_USAGE : 0;
}

/* Which subcommand, and whether its options fit it. */
static int check_proof_opts(const char *sub, const struct proof_opts *o)
{
	if (strcmp(sub, "inclusion") == 0 && o->has_seq && !o->has_from && !o->has_to) {
		if (o->seq == 0) {
			cli_error("proof", "--seq 0: seqs start at 1");
			return CLI_USAGE;
		}
		return 0;
	}
	if (strcmp(sub, "consistency") == 0 && o->has_from && o->has_to && !o->has_seq &&
	    !o->has_tree_size) {
		if (o->from == 0 || o->from > o->to) {
			cli_error("proof", "consistency needs 1 <= --from <= --to");
			return CLI_USAGE;
		}
		return 0;
	}
	if (strcmp(sub, "checkpoint") == 0 && !o->has_seq && !o->has_tree_size && !o->has_from &&
	    !o->has_to)
		return 0;
	return CLI_USAGE;
}

int cmd_proof(struct cli *cli, int argc, char **argv)
{
	struct proof_opts o = {0};
	const char *sub;
	PGconn *c;
	int rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		proof_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	sub = argv[1];
	if ((rc = parse_proof_opts(argc - 1, argv + 1, &o)) != 0 ||
	    (rc = check_proof_opts(sub, &o)) != 0) {
		proof_usage(rc == -1 ? stdout : stderr);
		return rc == -1 ? CLI_OK : CLI_USAGE;
	}
	if (!(c = cli_connect(cli, o.conninfo)))
		return CLI_USAGE;
	if (strcmp(sub, "inclusion") == 0)
		rc = inclusion(c, &o);
	else if (strcmp(sub, "consistency") == 0)
		rc = consistency(c, &o);
	else
		rc = latest_checkpoint(c);
	PQfinish(c);
	return rc;
}

/* ---- verify-proof ------------------------------------------------------------------------- */

struct vp_opts {
	const char *key, *checkpoint, *old_checkpoint, *proof, *entry;
};

struct vp_run {
	struct note_verifier *key;
	uint64_t size, old_size;
	uint8_t root[MERKLE_HASH_LEN], old_root[MERKLE_HASH_LEN];
	json_t *proof;
	struct buf entry;
};

/* Prints the outcome; returns the exit code. */
static int vp_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int vp_failed(const char *fmt, ...)
{
	va_list ap;

	fputs("verify-proof: FAILED: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return CLI_FAILED;
}

/* Reads a file; "-" is standard input. CLI_OK, or CLI_USAGE after saying why. */
static int vp_read(const char *path, size_t max, struct buf *out)
{
	char err[512];

	if (verify_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, max, out, err,
			     sizeof(err)) < 0) {
		cli_error("verify-proof", "%s", err);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Opens a signed checkpoint note file with the key. */
static int vp_checkpoint(struct vp_run *run, const char *path, uint64_t *size,
			 uint8_t root[MERKLE_HASH_LEN])
{
	struct buf note = {0};
	char why[256];
	int rc = vp_read(path, VERIFY_NOTE_MAX, &note);

	if (rc == CLI_OK && verify_open_checkpoint(run->key, (const char *)note.data, note.len,
						   size, root, why, sizeof(why)) < 0)
		rc = vp_failed("checkpoint %s: %s", path, why);
	buf_free(&note);
	return rc;
}

static int vp_load(struct vp_run *run, const struct vp_opts *o)
{
	struct buf text = {0};
	json_error_t jerr;
	char err[512];
	int rc;

	if (verify_key_load(o->key, &run->key, err, sizeof(err)) < 0) {
		cli_error("verify-proof", "%s", err);
		return CLI_USAGE;
	}
	if ((rc = vp_checkpoint(run, o->checkpoint, &run->size, run->root)) != CLI_OK ||
	    (o->old_checkpoint && (rc = vp_checkpoint(run, o->old_checkpoint, &run->old_size,
						      run->old_root)) != CLI_OK) ||
	    (o->entry && (rc = vp_read(o->entry, ENTRY_FILE_MAX, &run->entry)) != CLI_OK) ||
	    (rc = vp_read(o->proof, PROOF_FILE_MAX, &text)) != CLI_OK)
		goto out;
	if (!(run->proof = json_loadb((const char *)text.data, text.len, 0, &jerr)))
		rc = vp_failed("proof %s: not JSON: %s (line %d)", o->proof, jerr.text, jerr.line);
out:
	buf_free(&text);
	return rc;
}

static int vp_inclusion(struct vp_run *run, const struct vp_opts *o)
{
	struct proof_inclusion p;
	char err[256], *root;

	if (o->old_checkpoint) {
		cli_error("verify-proof", "--old-checkpoint is for consistency proofs");
		return CLI_USAGE;
	}
	if (proof_inclusion_parse(run->proof, &p, err, sizeof(err)) < 0)
		return vp_failed("proof %s: %s", o->proof, err);
	if (p.tree_size != run->size)
		return vp_failed("the proof is for tree size %" PRIu64
				 ", the checkpoint for %" PRIu64,
				 p.tree_size, run->size);
	if (merkle_verify_inclusion(p.seq - 1, p.tree_size, p.leaf_hash,
				    (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n,
				    run->root) < 0)
		return vp_failed("the hashes do not lead from seq %" PRIu64 "'s leaf to the signed "
				 "root of tree size %" PRIu64,
				 p.seq, p.tree_size);
	if (o->entry &&
	    proof_entry_check(&p, run->entry.data, run->entry.len, err, sizeof(err)) < 0)
		return vp_failed("entry %s: %s", o->entry, err);
	root = b64_encode(run->root, MERKLE_HASH_LEN);
	printf("verify-proof: OK: seq %" PRIu64 " is included in the tree of size %" PRIu64
	       " (root %s) signed by %s%s\n",
	       p.seq, p.tree_size, root ? root : "?", note_verifier_name(run->key),
	       o->entry ? "; the entry bytes are that leaf" : "");
	free(root);
	return CLI_OK;
}

static int vp_consistency(struct vp_run *run, const struct vp_opts *o)
{
	struct proof_consistency p;
	char err[256];

	if (o->entry || !o->old_checkpoint) {
		cli_error("verify-proof", "a consistency proof needs --old-checkpoint and takes no "
					  "--entry");
		return CLI_USAGE;
	}
	if (proof_consistency_parse(run->proof, &p, err, sizeof(err)) < 0)
		return vp_failed("proof %s: %s", o->proof, err);
	if (p.from != run->old_size || p.to != run->size)
		return vp_failed("the proof goes from tree size %" PRIu64 " to %" PRIu64
				 ", the checkpoints are for %" PRIu64 " and %" PRIu64,
				 p.from, p.to, run->old_size, run->size);
	if (merkle_verify_consistency(p.from, p.to, run->old_root, run->root,
				      (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n) < 0)
		return vp_failed("the signed tree of size %" PRIu64
				 " is not a prefix of the signed "
				 "tree of size %" PRIu64 " by these hashes",
				 p.from, p.to);
	printf("verify-proof: OK: the tree of size %" PRIu64
	       " is a prefix of the tree of size %" PRIu64 ", both signed by %s\n",
	       p.from, p.to, note_verifier_name(run->key));
	return CLI_OK;
}

/* 0 to go on, -1 after --help, CLI_USAGE. */
static int parse_vp_opts(int argc, char **argv, struct vp_opts *o)
{
	static const struct option longopts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"checkpoint", required_argument, NULL, 'c'},
	    {"old-checkpoint", required_argument, NULL, 'o'},
	    {"proof", required_argument, NULL, 'p'},
	    {"entry", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			o->key = optarg;
			break;
		case 'c':
			o->checkpoint = optarg;
			break;
		case 'o':
			o->old_checkpoint = optarg;
			break;
		case 'p':
			o->proof = optarg;
			break;
		case 'e':
			o->entry = optarg;
			break;
		case 'h':
			return -1;
		default:
			return CLI_USAGE;
		}
	}
	return optind != argc || !o->key || !o->checkpoint || !o->proof ? CLI_USAGE : 0;
}

int cmd_verify_proof(struct cli *cli, int argc, char **argv)
{
	struct vp_run run = {0};
	struct vp_opts o = {0};
	enum proof_type type;
	char err[256];
	int rc;

	(void)cli;
	if ((rc = parse_vp_opts(argc, argv, &o)) != 0) {
		verify_proof_usage(rc < 0 ? stdout : stderr);
		return rc < 0 ? CLI_OK : CLI_USAGE;
	}
	if ((rc = vp_load(&run, &o)) != CLI_OK)
		goto out;
	if (proof_type_of(run.proof, &type, err, sizeof(err)) < 0)
		rc = vp_failed("proof %s: %s", o.proof, err);
	else if (type == PROOF_INCLUSION)
		rc = vp_inclusion(&run, &o);
	else
		rc = vp_consistency(&run, &o);
out:
	json_decref(run.proof);
	buf_free(&run.entry);
	note_verifier_free(run.key);
	return rc;
}
