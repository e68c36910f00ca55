/* consentctl verify-bundle: checks an evidence bundle offline, with no database: the checkpoint's
 * signature, every inclusion proof, every decoded form, the subject, the notices, and that no
 * byte differs from the canonical rendering of what was verified (export/bundle.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/verify.h"
#include "event/event.h"
#include "export/bundle.h"

/* Entries of up to 4 MiB notices, base64 and decoded: allow for many. */
#define BUNDLE_FILE_MAX ((size_t)1 << 30)

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: consentctl verify-bundle FILE --key VERIFIER\n"
	    "Checks an evidence bundle (consentctl export subject, or GET\n"
	    "/v1/subjects/{subject}/evidence; FILE - reads standard input) offline: the\n"
	    "checkpoint is signed by VERIFIER (the verifier key text or a file holding it)\n"
	    "and names it as origin; every inclusion proof leads from its entry's bytes to the\n"
	    "signed root; every decoded form is the decoding of those bytes; every entry\n"
	    "carries a pseudonym of the subject; every notice hashes to its address and is\n"
	    "referenced; and the file is byte for byte the canonical rendering of all that.\n"
	    "Entries after the checkpoint are listed but not proven (the summary says how\n"
	    "many). Exit 0 when valid, 1 when not (saying which entry and what), 2 on usage\n"
	    "errors or unreadable files.\n");
}

static void print_ok(const struct bundle_summary *sum)
{
	char from[48] = "";

	if (sum->first_uncovered)
		snprintf(from, sizeof(from), " (from seq %" PRIu64 ")", sum->first_uncovered);
	printf("verify-bundle: OK: subject %s: %zu entries, %zu proven in the tree of size %" PRIu64
	       " signed by %s; %zu not yet covered by it%s; %zu notices proven, %zu referenced but "
	       "not stored\n",
	       sum->subject, sum->entries, sum->covered, sum->tree_size, sum->key_name,
	       sum->entries - sum->covered, from, sum->notices, sum->notices_missing);
}

static int verify(const char *path, const char *key_arg)
{
	struct note_verifier *key = NULL;
	struct bundle_summary sum;
	struct buf data = {0};
	char err[512];
	int rc;

	if (verify_key_load(key_arg, &key, err, sizeof(err)) < 0 ||
	    verify_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, BUNDLE_FILE_MAX, &data,
			     err, sizeof(err)) < 0) {
		cli_error("verify-bundle", "%s", err);
		rc = CLI_USAGE;
		goto out;
	}
	rc = bundle_verify(data.data, data.len, key, &sum, err, sizeof(err));
	if (rc == -EBADMSG) {
		printf("verify-bundle: FAILED: %s\n", err);
		rc = CLI_FAILED;
	} else if (rc < 0) {
		cli_error("verify-bundle", "%s", err);
		rc = CLI_USAGE;
	} else {
		print_ok(&sum);
		rc = CLI_OK;
	}
out:
	note_verifier_free(key);
	buf_free(&data);
	return rc;
}

int cmd_verify_bundle(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *key = NULL;
	int opt;

	(void)cli;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'k') {
			key = optarg;
			continue;
		}
		usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? CLI_OK : CLI_USAGE;
	}
	if (optind != argc - 1 || !key) {
		usage(stderr);
		return CLI_USAGE;
	}
	return verify(argv[optind], key);
}
