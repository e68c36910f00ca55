/* consentctl rebuild: recomputes every compliance projection (data-rights register, consent state,
 * daily consent aggregates, notice index) from the ledger alone, in one transaction that holds
 * the ledger head lock, and marks them complete. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/project.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl rebuild [--conninfo CONNINFO]\n"
		"Empties the compliance projections (rights_request, consent_state, consent_daily,\n"
		"consent_purpose_daily, notice) and replays the whole ledger into them, in seq\n"
		"order, with the rules in [compliance] (default_jurisdiction, holiday_calendar).\n"
		"Appends wait until it commits. Needed once after upgrading a ledger to schema 4,\n"
		"and after changing the holiday calendar. Exit 0 when rebuilt, 2 on errors.\n");
}

int cmd_rebuild(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct project_context ctx;
	struct project_rebuild_stats st;
	const char *conninfo = NULL;
	char err[512];
	PGconn *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt != 'd') {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? CLI_OK : CLI_USAGE;
		}
		conninfo = optarg;
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (store_project_context(&cli->cfg.compliance, &ctx, err, sizeof(err)) < 0) {
		cli_error("rebuild", "%s", err);
		return CLI_USAGE;
	}
	if (!(c = cli_connect(cli, conninfo))) {
		store_project_context_free(&ctx);
		return CLI_USAGE;
	}
	rc = store_project_rebuild(c, &ctx.rights, isatty(STDERR_FILENO) ? stderr : NULL, &st, err,
				   sizeof(err));
	if (rc < 0)
		cli_error("rebuild", "%s", err);
	else
		printf("rebuild: OK: %" PRIu64 " entries replayed; %" PRIu64 " data-rights events "
		       "the rules refuse were left out of the register; %" PRIu64 " undecodable\n",
		       st.entries, st.skipped, st.undecodable);
	PQfinish(c);
	store_project_context_free(&ctx);
	return rc < 0 ? CLI_USAGE : CLI_OK;
}
