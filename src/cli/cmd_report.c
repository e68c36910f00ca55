/* consentctl report: the data-rights register and consent analytics (docs/reports.md), read in
 * one snapshot through a cursor and written as they are fetched, so that memory stays constant.
 * With -o the report goes to a temporary file renamed into place once complete: a failed run
 * never leaves a truncated report under the requested name. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "export/report.h"
#include "store/report.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: consentctl report data-rights [--from DATE] [--to DATE]\n"
	    "                  [--status open|overdue|all] [--due-within DAYS]\n"
	    "                  [--format json|ndjson|csv|html] [-o FILE] [--conninfo CONNINFO]\n"
	    "       consentctl report consent [--from DATE] [--to DATE] [--by day|month]\n"
	    "                  [--format json|ndjson|csv|html] [-o FILE] [--conninfo CONNINFO]\n"
	    "data-rights: the register of requests received in the period, with a summary per\n"
	    "right (open, overdue, on-time rate, median days to close). consent: decisions per\n"
	    "action and opt-in rate per purpose, per day or month and notice version.\n"
	    "DATE is YYYY-MM-DD (UTC days, inclusive); the period defaults to the 30 days ending\n"
	    "today. --due-within N keeps open requests due by today + N days (overdue included).\n"
	    "The format defaults to json; html is one self-contained page with charts. The report\n"
	    "goes to stdout, or to FILE (mode 0600, written whole or not at all).\n");
}

/* Where the report goes: stdout, or a temporary file next to the requested one. */
struct output {
	FILE *f;
	const char *path;
	char *tmp;
	bool progress; /* stderr is a terminal */
};

static int write_chunk(struct buf *chunk, uint64_t rows, void *arg)
{
	struct output *o = arg;

	if (fwrite(chunk->data, 1, chunk->len, o->f) != chunk->len)
		return errno ? -errno : -EIO;
	if (o->progress)
		fprintf(stderr, "\rreport: %" PRIu64 " rows", rows);
	return 0;
}

static int output_open(struct output *o, const char *path)
{
	int fd;

	o->path = path;
	o->progress = isatty(STDERR_FILENO);
	if (!path) {
		o->f = stdout;
		return 0;
	}
	if (!(o->tmp = malloc(strlen(path) + 8)))
		return -ENOMEM;
	sprintf(o->tmp, "%s.XXXXXX", path);
	if ((fd = mkstemp(o->tmp)) < 0 || !(o->f = fdopen(fd, "w"))) {
		cli_error("report", "cannot create %s: %s", o->tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		return -EIO;
	}
	return 0;
}

/* Flushes; renames the temporary file into place if ok, else removes it. Says why it failed. */
static int output_close(struct output *o, bool ok)
{
	int rc = fflush(o->f) == 0 && !ferror(o->f) ? 0 : -EIO;

	if (o->progress)
		fputc('\n', stderr);
	if (o->tmp) {
		if (fclose(o->f) != 0)
			rc = -EIO;
		if (ok && rc == 0 && rename(o->tmp, o->path) < 0)
			rc = -errno;
		if (!ok || rc < 0)
			unlink(o->tmp);
		free(o->tmp);
	}
	if (ok && rc < 0)
		cli_error("report", "cannot write %s: %s", o->path ? o->path : "the report",
			  strerror(-rc));
	return rc;
}

static int run(PGconn *c, struct report_query *q, const char *path)
{
	struct output o = {0};
	struct store_report_sink sink = {write_chunk, &o};
	const char *field = "";
	char err[512] = "";
	int64_t today;
	int rc;

	if (output_open(&o, path) < 0)
		return CLI_FAILED;
	rc = store_report_run(c, q, &today, &sink, &field, err, sizeof(err));
	if (output_close(&o, rc == 0) < 0 && rc == 0)
		return CLI_FAILED;
	if (rc == -EDOM) {
		cli_error("report", "--%s: %s", field, err);
		return CLI_USAGE;
	}
	if (rc < 0) {
		cli_error("report", "%s", rc == -EIO ? err : strerror(-rc));
		return CLI_FAILED;
	}
	return CLI_OK;
}

/* The HTTP parameter an option sets ("due-within" -> "due_within"). */
static int set_option(struct report_query *q, const char *kind, const char *opt, const char *value)
{
	char name[32], why[200];
	int rc;

	snprintf(name, sizeof(name), "%s", opt);
	for (char *p = name; *p; p++)
		*p = *p == '-' ? '_' : *p;
	rc = report_query_set(q, name, value, why, sizeof(why));
	if (rc == -ENOENT)
		cli_error("report", "report %s does not take --%s", kind, opt);
	else if (rc < 0)
		cli_error("report", "--%s: %s", opt, why);
	return rc;
}

int cmd_report(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'p'},   {"to", required_argument, NULL, 'p'},
	    {"status", required_argument, NULL, 'p'}, {"due-within", required_argument, NULL, 'p'},
	    {"by", required_argument, NULL, 'p'},     {"format", required_argument, NULL, 'p'},
	    {"output", required_argument, NULL, 'o'}, {"conninfo", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	const char *conninfo = NULL, *path = NULL, *kind = argc > 1 ? argv[1] : "";
	struct report_query q;
	int opt, idx = 0, rc;
	PGconn *c;

	if (strcmp(kind, "data-rights") != 0 && strcmp(kind, "consent") != 0) {
		usage(cli_wants_help(argc, argv) ? stdout : stderr);
		return cli_wants_help(argc, argv) ? CLI_OK : CLI_USAGE;
	}
	report_query_init(&q, strcmp(kind, "consent") == 0 ? REPORT_CONSENT : REPORT_DATA_RIGHTS);
	while ((opt = getopt_long(argc - 1, argv + 1, "o:h", longopts, &idx)) != -1) {
		switch (opt) {
		case 'p':
			if (set_option(&q, kind, longopts[idx].name, optarg) < 0)
				return CLI_USAGE;
			break;
		case 'o':
			path = optarg;
			break;
		case 'd':
			conninfo = optarg;
			break;
		default:
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? CLI_OK : CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!(c = cli_connect(cli, conninfo)))
		return CLI_USAGE;
	rc = run(c, &q, path);
	PQfinish(c);
	return rc;
}
