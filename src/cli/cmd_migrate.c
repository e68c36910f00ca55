/* consentctl migrate: apply the compiled-in schema migrations. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "store/store.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: consentctl migrate [--conninfo CONNINFO]\n"
		     "Applies every migration newer than the database's schema, each in its own\n"
		     "transaction. Run it as a role that may create tables and roles (the database\n"
		     "owner or a superuser); --conninfo overrides postgres.conninfo.\n");
}

int cmd_migrate(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conninfo = NULL;
	char err[1024];
	PGconn *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'd') {
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
	c = cli_connect(cli, conninfo);
	if (!c)
		return CLI_USAGE;
	rc = store_migrate(c, stdout, err, sizeof(err));
	PQfinish(c);
	if (rc < 0) {
		cli_error("migrate", "%s", err);
		return CLI_FAILED;
	}
	return CLI_OK;
}
