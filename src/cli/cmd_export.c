/* consentctl export subject: writes the evidence bundle of one subject (export/bundle.h): every
 * entry's bytes, decoded form and inclusion proof against the latest signed checkpoint, and the
 * notices its consent events saw; the same bytes as GET /v1/subjects/{subject}/evidence. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"
#include "store/subject.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl export subject SUBJECT [-o FILE] [--conninfo CONNINFO]\n"
		"SUBJECT is --email ADDR, --account-id ID, --device-id ID (its pseudonym under\n"
		"every key of ledger.subject_key_file), or --subject HEX (repeatable).\n"
		"Writes the subject's evidence bundle to FILE (default: standard output): each\n"
		"entry's exact bytes and decoded form, the notices its consent events reference,\n"
		"an inclusion proof of each against the latest signed checkpoint (entries after\n"
		"it are marked as not yet covered), and that checkpoint. Check it offline with\n"
		"`consentctl verify-bundle FILE --key VERIFIER`.\n"
		"Exit 1 if the subject has no entries or no checkpoint exists yet, 2 on usage,\n"
		"connection or file errors.\n");
}

/* Writes path (or standard output) through a temporary file, so that FILE is whole or absent. */
static int write_out(const char *path, const struct buf *b)
{
	char tmp[4096];
	FILE *f;

	if (!path)
		return fwrite(b->data, 1, b->len, stdout) == b->len && fflush(stdout) == 0 ? 0
											   : -EIO;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (!(f = fopen(tmp, "wb")))
		return -errno;
	if (fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		remove(tmp);
		return -EIO;
	}
	return rename(tmp, path) == 0 ? 0 : -errno;
}

static int export(PGconn *c, const struct cli_subject *s, const char *path)
{
	struct bundle_summary sum;
	struct buf out = {0};
	char err[512];
	int rc = store_subject_bundle(c, (const uint8_t(*)[SUBJECT_HASH_LEN])s->pseudonyms, s->n,
				      &out, &sum, err, sizeof(err));

	if (rc < 0) {
		cli_error("export", "%s", err);
		buf_free(&out);
		return rc == -ENOENT || rc == -EINVAL ? CLI_FAILED : CLI_USAGE;
	}
	if ((rc = write_out(path, &out)) < 0) {
		cli_error("export", "%s: %s", path ? path : "standard output", strerror(-rc));
		buf_free(&out);
		return CLI_USAGE;
	}
	fprintf(
	    stderr,
	    "export: %zu entries of subject %.16s..., %zu proven in the tree of size %" PRIu64
	    " signed by %s, %zu not yet covered; %zu notices (%zu referenced but not stored)%s%s\n",
	    sum.entries, sum.subject, sum.covered, sum.tree_size, sum.key_name,
	    sum.entries - sum.covered, sum.notices, sum.notices_missing, path ? " -> " : "",
	    path ? path : "");
	buf_free(&out);
	return CLI_OK;
}

int cmd_export(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SUBJECT_LONGOPTS,
	    {"output", required_argument, NULL, 'o'},
	    {"conninfo", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_subject s = {0};
	const char *conninfo = NULL, *path = NULL;
	PGconn *c;
	int opt, taken, rc;

	if (argc < 2 || strcmp(argv[1], "subject") != 0) {
		usage(cli_wants_help(argc, argv) ? stdout : stderr);
		return cli_wants_help(argc, argv) ? CLI_OK : CLI_USAGE;
	}
	while ((opt = getopt_long(argc - 1, argv + 1, "ho:", longopts, NULL)) != -1) {
		if ((taken = cli_subject_opt(&s, "export", opt, optarg)) < 0)
			return CLI_USAGE;
		if (taken)
			continue;
		if (opt == 'd' || opt == 'o') {
			*(opt == 'd' ? &conninfo : &path) = optarg;
			continue;
		}
		usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? CLI_OK : CLI_USAGE;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (cli_subject_resolve(cli, "export", &s) < 0 || !(c = cli_connect(cli, conninfo)))
		return CLI_USAGE;
	rc = export(c, &s, path);
	PQfinish(c);
	return rc;
}
