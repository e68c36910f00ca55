/* consentctl subject history: a subject's entries, found by the keyed pseudonym of one of its
 * identifiers (every key version is tried), decoded, one JSON object per line. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "consentd.pb-c.h"
#include "event/event.h"
#include "store/store.h"

#define KEYFILE_MAX 4096

static void usage(FILE *out)
{
	fprintf(out, "usage: consentctl subject history (--email ADDR | --account-id ID | --device-id ID)\n"
		     "                                  [--conninfo CONNINFO]\n"
		     "Prints every ledger entry of the subject, in seq order, as one JSON object per line.\n"
		     "The identifier is turned into its keyed pseudonym with ledger.subject_key_file;\n"
		     "it is never sent to the database in the clear.\n");
}

/* '{hex,hex,...}' of the identifier's pseudonym under every key version. */
static int pseudonym_array(struct cli *cli, Consentd__V1__SubjectIdKind kind, const char *value,
			   struct buf *out)
{
	struct subject_keyring ring;
	char text[KEYFILE_MAX], err[512], norm[512], hex[65];
	uint8_t mac[EVENT_HASH_LEN];
	int n = secretfile_read(cli->cfg.ledger.subject_key_file, (uint8_t *)text, sizeof(text), err,
				sizeof(err));

	if (n < 0 || subject_keyring_parse(text, (size_t)n, &ring, err, sizeof(err)) < 0) {
		cli_error("subject", "[ledger] subject_key_file: %s", err);
		return -1;
	}
	if (subject_normalize(kind, value, norm, sizeof(norm)) < 0) {
		cli_error("subject", "the identifier is empty or too long");
		return -1;
	}
	buf_append_u8(out, '{');
	for (size_t i = 0; i < ring.n; i++) {
		if (subject_pseudonym(&ring.keys[i], kind, norm, mac) < 0) {
			cli_error("subject", "cannot compute the pseudonym");
			return -1;
		}
		hex_encode(mac, sizeof(mac), hex);
		buf_printf(out, "%s%s", i ? "," : "", hex);
	}
	memset(&ring, 0, sizeof(ring));
	return buf_append(out, "}", 2);
}

static json_t *entry_json(const uint8_t *bytes, size_t len)
{
	Consentd__V1__LedgerEntry *e = consentd__v1__ledger_entry__unpack(NULL, len, bytes);
	char when[40];
	json_t *o;

	if (!e)
		return json_pack("{s:s}", "error", "undecodable entry");
	rfc3339_format(e->received_at, when, sizeof(when));
	o = json_pack("{s:I, s:s, s:s, s:o}", "seq", (json_int_t)e->seq, "received_at", when, "source",
		      e->source ? e->source->kind : "", "event",
		      e->event ? event_to_json(e->event) : json_null());
	consentd__v1__ledger_entry__free_unpacked(e, NULL);
	return o;
}

static int print_history(PGconn *c, const char *array)
{
	PGresult *r = PQexecParams(c,
		"SELECT a.entry FROM audit_log a JOIN subject_entry s ON s.seq = a.seq "
		"WHERE s.pseudonym = ANY(SELECT decode(h, 'hex') FROM unnest($1::text[]) h) "
		"GROUP BY a.seq, a.entry ORDER BY a.seq", 1, NULL, &array, NULL, NULL, 1);
	int rows;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("subject", "%s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	rows = PQntuples(r);
	for (int i = 0; i < rows; i++) {
		json_t *o = entry_json((const uint8_t *)PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));

		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
	}
	PQclear(r);
	fprintf(stderr, "subject: %d entries\n", rows);
	return 0;
}

int cmd_subject(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "email", required_argument, NULL, 'e' },
		{ "account-id", required_argument, NULL, 'a' },
		{ "device-id", required_argument, NULL, 'v' },
		{ "conninfo", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	Consentd__V1__SubjectIdKind kind = CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_UNSPECIFIED;
	const char *value = NULL, *conninfo = NULL;
	struct buf array = { 0 };
	PGconn *c = NULL;
	int opt, rc = CLI_USAGE;

	if (argc < 2 || strcmp(argv[1], "history") != 0) {
		usage(cli_wants_help(argc, argv) ? stdout : stderr);
		return cli_wants_help(argc, argv) ? CLI_OK : CLI_USAGE;
	}
	while ((opt = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			kind = CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL;
			value = optarg;
			break;
		case 'a':
			kind = CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID;
			value = optarg;
			break;
		case 'v':
			kind = CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID;
			value = optarg;
			break;
		case 'd':
			conninfo = optarg;
			break;
		default:
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? CLI_OK : CLI_USAGE;
		}
	}
	if (!value || optind != argc - 1) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (pseudonym_array(cli, kind, value, &array) == 0 && (c = cli_connect(cli, conninfo)))
		rc = print_history(c, (const char *)array.data) == 0 ? CLI_OK : CLI_FAILED;
	PQfinish(c);
	buf_free(&array);
	return rc;
}
