/* consentctl rejected: the messages that could not become ledger entries (rejected_event), newest
 * last, as a table or as JSON lines with the raw payload. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/util.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: consentctl rejected [--limit N] [--json] [--conninfo CONNINFO]\n"
		     "Lists the rejected messages (undecodable, invalid, or an event_id reused with\n"
		     "other content) recorded with their source coordinates, oldest first; --limit keeps\n"
		     "the newest N (default 100, 0 = all). --json prints one object per line including\n"
		     "the raw payload in base64.\n");
}

static json_t *row_json(const PGresult *r, int i)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", PQgetvalue(r, i, 0),
			      "received_at", PQgetvalue(r, i, 1), "source", PQgetvalue(r, i, 2), "topic",
			      PQgetvalue(r, i, 3), "error_code", PQgetvalue(r, i, 7), "error_message",
			      PQgetvalue(r, i, 8), "payload", PQgetvalue(r, i, 9));

	json_object_set_new(o, "partition", json_integer(atoll(PQgetvalue(r, i, 4))));
	json_object_set_new(o, "offset", json_integer(atoll(PQgetvalue(r, i, 5))));
	json_object_set_new(o, "event_id", PQgetisnull(r, i, 6) ? json_null()
								 : json_string(PQgetvalue(r, i, 6)));
	return o;
}

static void print_rows(const PGresult *r, bool as_json)
{
	for (int i = 0; i < PQntuples(r); i++) {
		if (as_json) {
			json_t *o = row_json(r, i);

			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
			continue;
		}
		printf("%s\t%s\t%s %s[%s]@%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
		       PQgetvalue(r, i, 7), PQgetvalue(r, i, 8));
	}
}

static int list(PGconn *c, long limit, bool as_json)
{
	char lim[24];
	const char *params[] = { lim };
	PGresult *r;

	snprintf(lim, sizeof(lim), "%ld", limit > 0 ? limit : 0);
	r = PQexecParams(c,
		"SELECT * FROM (SELECT id, to_char(received_at AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), source, topic, partition, kafka_offset, event_id, "
		"error_code, error_message, encode(payload, 'base64') FROM rejected_event "
		"ORDER BY id DESC LIMIT CASE WHEN $1::bigint > 0 THEN $1::bigint END) t ORDER BY id",
		1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		cli_error("rejected", "%s", PQresultErrorMessage(r));
		PQclear(r);
		return CLI_FAILED;
	}
	print_rows(r, as_json);
	fprintf(stderr, "rejected: %d messages\n", PQntuples(r));
	PQclear(r);
	return CLI_OK;
}

int cmd_rejected(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "conninfo", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conninfo = NULL;
	bool as_json = false;
	long limit = 100;
	char *end;
	PGconn *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'l') {
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 0) {
				cli_error("rejected", "--limit takes a whole number");
				return CLI_USAGE;
			}
		} else if (opt == 'j') {
			as_json = true;
		} else if (opt == 'd') {
			conninfo = optarg;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? CLI_OK : CLI_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!(c = cli_connect(cli, conninfo)))
		return CLI_USAGE;
	rc = list(c, limit, as_json);
	PQfinish(c);
	return rc;
}
