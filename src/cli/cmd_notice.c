/* consentctl notice add: stores the exact text or HTML of a notice as a ledger entry of its own,
 * through the ledger's append transaction (store_append with a one-item unit), so that the
 * chain, the Merkle nodes and the projections stay as consistent as for the daemon's appends. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/verify.h"
#include "event/event.h"
#include "store/project.h"
#include "store/store.h"
#include "store/subject.h"
#include "store/writer.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: consentctl notice add FILE [--content-type TYPE] [--conninfo CONNINFO]\n"
	    "Stores FILE's exact bytes (at most 4 MiB) as a notice, a ledger entry addressed by\n"
	    "its SHA-256, as PUT /v1/notices/{sha256} does. TYPE defaults to\n"
	    "\"text/html; charset=utf-8\" for .html/.htm files, else\n"
	    "\"text/plain; charset=utf-8\". Prints {\"content_sha256\",\"seq\",\"leaf_hash\",\n"
	    "\"event_id\"}; a notice stored before is not stored again (its entry is shown).\n"
	    "The daemon's next checkpoint after its next append covers the entry.\n"
	    "Exit 1 if the content is refused, 2 on usage, file or connection errors.\n");
}

static const char *default_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && (strcasecmp(dot, ".html") == 0 || strcasecmp(dot, ".htm") == 0))
		return "text/html; charset=utf-8";
	return "text/plain; charset=utf-8";
}

static void print_stored(const uint8_t sha[EVENT_HASH_LEN], uint64_t seq,
			 const uint8_t leaf_hash[WRITER_HASH_LEN], bool fresh)
{
	char hex[2 * EVENT_HASH_LEN + 1], leaf[2 * WRITER_HASH_LEN + 1], id[UUID_STR_LEN + 1];
	uint8_t raw[UUID_LEN];

	hex_encode(sha, EVENT_HASH_LEN, hex);
	hex_encode(leaf_hash, WRITER_HASH_LEN, leaf);
	event_notice_id(sha, raw);
	uuid_format(raw, id);
	printf("{\"content_sha256\":\"%s\",\"seq\":%" PRIu64
	       ",\"leaf_hash\":\"%s\",\"event_id\":\"%s\"}\n",
	       hex, seq, leaf, id);
	fprintf(stderr, "notice: %s seq %" PRIu64 "\n", fresh ? "stored as" : "already stored at",
		seq);
}

/* A notice stored before (at another time, so as other bytes): show that entry. */
static int show_existing(PGconn *c, const uint8_t sha[EVENT_HASH_LEN])
{
	struct subject_entries found = {0};
	char err[512];
	int rc =
	    store_notices(c, (const uint8_t(*)[EVENT_HASH_LEN])sha, 1, &found, err, sizeof(err));

	if (rc == 0 && found.n == 1)
		print_stored(sha, found.items[0].seq, found.items[0].leaf_hash, false);
	else if (rc == 0)
		cli_error("notice", "the notice's event_id is taken by an entry that is not it");
	else
		cli_error("notice", "%s", err);
	rc = rc < 0 ? CLI_USAGE : found.n == 1 ? CLI_OK : CLI_FAILED;
	subject_entries_free(&found);
	return rc;
}

static int append(PGconn *c, struct writer_unit *u, const uint8_t sha[EVENT_HASH_LEN])
{
	struct append_state st = {.tree_valid = false};
	char err[512];

	if (store_check_ready(c, true, err, sizeof(err)) < 0 ||
	    store_project_prepare(c, err, sizeof(err)) < 0 ||
	    store_append(c, &st, &u, 1, err, sizeof(err)) < 0) {
		cli_error("notice", "%s", err);
		return CLI_USAGE;
	}
	if (u->status == WRITER_CONFLICT)
		return show_existing(c, sha);
	if (u->status != WRITER_COMMITTED) {
		cli_error("notice", "not stored: %s", u->error);
		return CLI_USAGE;
	}
	print_stored(sha, u->items[0].seq, u->items[0].leaf_hash, !u->items[0].duplicate);
	return CLI_OK;
}

/* The notice's unit, or NULL after saying why (*rc set). */
static struct writer_unit *notice_unit(const struct buf *content, const char *type,
				       uint8_t sha[EVENT_HASH_LEN], int *rc)
{
	Consentd__V1__Event *ev = NULL;
	struct writer_unit *u = NULL;
	struct event_error err;
	uint8_t id[UUID_LEN];

	EVP_Digest(content->data, content->len, sha, NULL, EVP_sha256(), NULL);
	*rc = CLI_FAILED;
	if (event_notice_new(content->data, content->len, type, sha, now_us(), &ev, &err) < 0) {
		cli_error("notice", "%s: %s", err.field, err.message);
		return NULL;
	}
	*rc = CLI_USAGE;
	u = writer_unit_new(1);
	if (!u || writer_item_set(&u->items[0], ev) < 0 || uuid_random(id) < 0) {
		cli_error("notice", "out of memory");
		writer_unit_free(u);
		u = NULL;
	} else {
		u->source_kind = "cli";
		u->received_at_us = now_us();
		uuid_format(id, u->request_id);
	}
	event_release(ev);
	return u;
}

static int add(struct cli *cli, const char *path, const char *type, const char *conninfo)
{
	uint8_t sha[EVENT_HASH_LEN];
	struct buf content = {0};
	struct writer_unit *u = NULL;
	char err[512];
	PGconn *c = NULL;
	int rc;

	if (verify_read_file(path, EVENT_NOTICE_MAX + 1, &content, err, sizeof(err)) < 0) {
		cli_error("notice", "%s", err);
		rc = CLI_USAGE;
	} else if ((u = notice_unit(&content, type ? type : default_type(path), sha, &rc)) &&
		   (c = cli_connect(cli, conninfo))) {
		rc = append(c, u, sha);
	}
	PQfinish(c);
	writer_unit_free(u);
	buf_free(&content);
	return rc;
}

int cmd_notice(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"content-type", required_argument, NULL, 't'},
	    {"conninfo", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *type = NULL, *conninfo = NULL;
	int opt;

	if (argc < 2 || strcmp(argv[1], "add") != 0) {
		usage(cli_wants_help(argc, argv) ? stdout : stderr);
		return cli_wants_help(argc, argv) ? CLI_OK : CLI_USAGE;
	}
	while ((opt = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		if (opt == 't' || opt == 'd') {
			*(opt == 't' ? &type : &conninfo) = optarg;
			continue;
		}
		usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? CLI_OK : CLI_USAGE;
	}
	if (optind != argc - 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	return add(cli, argv[argc - 1], type, conninfo);
}
