/* consentctl token add|list|revoke: manage the hashed bearer tokens in auth.tokens_file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auth/tokens.h"
#include "cli/cli.h"
#include "util/util.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: consentctl token add NAME --scopes SCOPES\n"
		     "       consentctl token list\n"
		     "       consentctl token revoke NAME\n"
		     "SCOPES is a comma-separated list of ingest, read, admin. `add` prints the new token\n"
		     "once on standard output; only its SHA-256 is stored, in auth.tokens_file.\n"
		     "The daemon picks changes up on SIGHUP (systemctl reload consentd).\n");
}

static int add(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scopes", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scopes_txt = NULL;
	char token[AUTH_TOKEN_LEN + 1], err[512];
	unsigned scopes;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt != 's') {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? CLI_OK : CLI_USAGE;
		}
		scopes_txt = optarg;
	}
	if (optind + 1 != argc || !scopes_txt) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (auth_scopes_parse(scopes_txt, &scopes) < 0) {
		cli_error("token add", "--scopes %s: use ingest, read, admin", scopes_txt);
		return CLI_USAGE;
	}
	if (auth_tokens_add(cli->cfg.auth.tokens_file, argv[optind], scopes, token, err, sizeof(err)) < 0) {
		cli_error("token add", "%s", err);
		return CLI_FAILED;
	}
	printf("%s\n", token);
	return CLI_OK;
}

static int list(struct cli *cli)
{
	struct auth_tokens *t = NULL;
	char err[512], scopes[64], hex[17];

	if (auth_tokens_load(cli->cfg.auth.tokens_file, &t, err, sizeof(err)) < 0) {
		cli_error("token list", "%s", err);
		return CLI_FAILED;
	}
	for (size_t i = 0; i < t->n; i++) {
		auth_scopes_format(t->items[i].scopes, scopes, sizeof(scopes));
		hex_encode(t->items[i].hash, 8, hex);
		printf("%-24s %-20s sha256:%s...\n", t->items[i].name, scopes, hex);
	}
	auth_tokens_free(t);
	return CLI_OK;
}

int cmd_token(struct cli *cli, int argc, char **argv)
{
	char err[512];

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return add(cli, argc - 1, argv + 1);
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return list(cli);
	if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		if (auth_tokens_revoke(cli->cfg.auth.tokens_file, argv[2], err, sizeof(err)) < 0) {
			cli_error("token revoke", "%s", err);
			return CLI_FAILED;
		}
		printf("revoked %s (the daemon drops it on SIGHUP)\n", argv[2]);
		return CLI_OK;
	}
	usage(stderr);
	return CLI_USAGE;
}
