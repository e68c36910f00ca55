/* consentctl subject history|consent: a subject's entries, found by the keyed pseudonyms of one
 * of its identifiers (every key version is tried) or by pseudonyms given as such, decoded one
 * JSON object per line, or its consent state at an instant. Also the subject options that
 * consentctl export shares. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "event/event.h"
#include "store/store.h"
#include "store/subject.h"

#define KEYFILE_MAX 4096

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: consentctl subject history SUBJECT [--conninfo CONNINFO]\n"
	    "       consentctl subject consent SUBJECT [--at RFC3339] [--conninfo CONNINFO]\n"
	    "SUBJECT is --email ADDR, --account-id ID, --device-id ID, or --subject HEX\n"
	    "(a keyed pseudonym, 64 hex digits; repeat it to add the subject's other\n"
	    "pseudonyms). An identifier is turned into its pseudonym under every key of\n"
	    "ledger.subject_key_file; it is never sent to the database in the clear.\n"
	    "history prints every ledger entry of the subject in seq order, one JSON object\n"
	    "per line. consent prints the state of each purpose and vendor at --at (default:\n"
	    "now): the subject's consent events with occurred_at <= --at replayed in\n"
	    "(occurred_at, seq) order, the last decision winning, with the seq that set it.\n"
	    "Exit 1 if consent finds no entry of the subject, 2 on usage or connection errors.\n");
}

/* ---- subject options (shared with export) ------------------------------------------------- */

int cli_subject_opt(struct cli_subject *s, const char *cmd, int opt, const char *arg)
{
	static const struct {
		int opt;
		Consentd__V1__SubjectIdKind kind;
	} kinds[] = {
	    {'e', CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL},
	    {'a', CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID},
	    {'v', CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID},
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (opt != kinds[i].opt)
			continue;
		if (s->value) {
			cli_error(cmd, "give one identifier");
			return -1;
		}
		s->kind = kinds[i].kind;
		s->value = arg;
		return 1;
	}
	if (opt != 'S')
		return 0;
	if (s->n == CLI_SUBJECT_MAX || strlen(arg) != 64 ||
	    hex_decode(arg, 64, s->pseudonyms[s->n], 32) < 0) {
		cli_error(cmd, "--subject %s: not a pseudonym of 64 hex digits (at most %d)", arg,
			  CLI_SUBJECT_MAX);
		return -1;
	}
	s->n++;
	return 1;
}

int cli_subject_resolve(struct cli *cli, const char *cmd, struct cli_subject *s)
{
	struct subject_keyring ring;
	char text[KEYFILE_MAX], err[512];
	uint32_t versions[SUBJECT_KEYS_MAX];
	size_t n, active;
	int len, rc;

	if (!s->value == !s->n) {
		cli_error(cmd, "give one of --email, --account-id, --device-id, or --subject");
		return -1;
	}
	if (!s->value)
		return 0;
	len = secretfile_read(cli->cfg.ledger.subject_key_file, (uint8_t *)text, sizeof(text), err,
			      sizeof(err));
	if (len < 0 || subject_keyring_parse(text, (size_t)len, &ring, err, sizeof(err)) < 0) {
		cli_error(cmd, "[ledger] subject_key_file: %s", err);
		return -1;
	}
	rc = subject_pseudonyms_of(&ring, s->kind, s->value, s->pseudonyms, versions, &n, &active);
	memset(&ring, 0, sizeof(ring));
	memset(text, 0, sizeof(text));
	if (rc < 0) {
		cli_error(cmd, "the identifier is blank or too long");
		return -1;
	}
	s->n = n;
	return 0;
}

/* ---- history and consent ------------------------------------------------------------------ */

static int print_json(json_t *j)
{
	int rc = j && json_dumpf(j, stdout, JSON_COMPACT) == 0 ? 0 : -1;

	fputc('\n', stdout);
	json_decref(j);
	return rc;
}

static int history(const struct subject_entries *es)
{
	json_t *a = subject_history_json(es);
	size_t i;
	json_t *o;

	if (!a)
		return CLI_FAILED;
	json_array_foreach(a, i, o)
	{
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	}
	json_decref(a);
	fprintf(stderr, "subject: %zu entries\n", es->n);
	return CLI_OK;
}

static int consent(struct cli *cli, const struct subject_entries *es, int64_t at)
{
	const struct config_list *p = &cli->cfg.consent.purposes;

	if (es->n == 0) {
		cli_error("subject", "no ledger entry carries this subject's pseudonyms");
		return CLI_FAILED;
	}
	return print_json(subject_consent_json(es, at, p->items, p->n)) == 0 ? CLI_OK : CLI_FAILED;
}

static int run(struct cli *cli, const char *view, const struct cli_subject *s, int64_t at,
	       const char *conninfo)
{
	struct subject_entries es = {0};
	char err[512];
	PGconn *c = cli_connect(cli, conninfo);
	int rc = CLI_USAGE;

	if (!c)
		return CLI_USAGE;
	if (store_subject_entries(c, (const uint8_t(*)[SUBJECT_HASH_LEN])s->pseudonyms, s->n, &es,
				  err, sizeof(err)) < 0)
		cli_error("subject", "%s", err);
	else
		rc = strcmp(view, "history") == 0 ? history(&es) : consent(cli, &es, at);
	subject_entries_free(&es);
	PQfinish(c);
	return rc;
}

int cmd_subject(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    CLI_SUBJECT_LONGOPTS,
	    {"at", required_argument, NULL, 't'},
	    {"conninfo", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_subject s = {0};
	const char *conninfo = NULL, *at_text = NULL, *view = argc > 1 ? argv[1] : "";
	int64_t at = now_us();
	int opt, taken;

	if (strcmp(view, "history") != 0 && strcmp(view, "consent") != 0) {
		usage(cli_wants_help(argc, argv) ? stdout : stderr);
		return cli_wants_help(argc, argv) ? CLI_OK : CLI_USAGE;
	}
	while ((opt = getopt_long(argc - 1, argv + 1, "h", longopts, NULL)) != -1) {
		if ((taken = cli_subject_opt(&s, "subject", opt, optarg)) < 0)
			return CLI_USAGE;
		if (taken)
			continue;
		if (opt == 'd' || opt == 't') {
			*(opt == 'd' ? &conninfo : &at_text) = optarg;
			continue;
		}
		usage(opt == 'h' ? stdout : stderr);
		return opt == 'h' ? CLI_OK : CLI_USAGE;
	}
	if (optind != argc - 1 || (at_text && strcmp(view, "consent") != 0)) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (at_text && rfc3339_parse(at_text, &at) < 0) {
		cli_error("subject", "--at %s: not an RFC 3339 date-time", at_text);
		return CLI_USAGE;
	}
	if (cli_subject_resolve(cli, "subject", &s) < 0)
		return CLI_USAGE;
	return run(cli, view, &s, at, conninfo);
}
