/* consentctl: the admin and compliance tool. Global options, then one subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const struct command {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "migrate", cmd_migrate, "apply the schema migrations (idempotent)" },
	{ "token", cmd_token, "add, list or revoke API tokens" },
	{ "verify", cmd_verify, "check every entry, hash, link and checkpoint of the ledger" },
	{ "subject", cmd_subject, "find a subject's entries from an identifier" },
	{ "rejected", cmd_rejected, "list messages that could not become ledger entries" },
	{ "keygen", cmd_keygen, "generate the Ed25519 key that signs checkpoints" },
	{ "proof", cmd_proof, "print an inclusion or consistency proof, or the latest checkpoint" },
	{ "verify-proof", cmd_verify_proof, "check a proof offline against a signed checkpoint" },
	{ "export", cmd_export, "write a subject's evidence bundle (entries, notices, proofs)" },
	{ "verify-bundle", cmd_verify_bundle, "check an evidence bundle offline" },
	{ "notice", cmd_notice, "store the exact text of a notice in the ledger" },
	{ "report", cmd_report, "data-rights register and consent analytics (json, csv, html)" },
	{ "rebuild", cmd_rebuild, "recompute the compliance projections from the ledger" },
	{ "privacy", cmd_privacy, "add a master key to the field encryption key file" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: consentctl [-c FILE] COMMAND [ARGS]\n\n"
		     "  -c, --config FILE  configuration file (default /etc/consentd/consentd.conf\n"
		     "                     if present); CONSENTD_<SECTION>_<KEY> variables override it\n"
		     "      --version      print the version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`consentctl COMMAND --help` describes each. Exit status: 0 success, 1 check "
		     "failed, 2 usage or connection error.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { .prog = "consentctl", .config_path = getenv("CONSENTD_CONFIG") };
	int c, rc;

	/* "+": stop at the first non-option, which is the command. */
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.config_path = optarg;
			break;
		case 'V':
			printf("consentctl %s\n", CONSENTD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;

		if (cli_load_config(&cli) < 0)
			return CLI_USAGE;
		optind = 0; /* glibc: re-initialise getopt for the command's own options */
		rc = commands[i].run(&cli, sub_argc, sub_argv);
		config_free(&cli.cfg);
		return rc;
	}
	fprintf(stderr, "consentctl: unknown command %s\n", argv[optind]);
	usage(stderr);
	return CLI_USAGE;
}
