/* consentctl privacy: the master key file of field encryption (docs/privacy.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "privacy/privacy.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl privacy keygen [FILE]\n"
		"Adds a fresh random 256-bit master key to FILE, default privacy.master_key_file:\n"
		"version 1 in a new file created with mode 0600, else the highest version + 1\n"
		"appended to the existing file, which must be mode 0600. The new version wraps new\n"
		"data keys; keep the older versions until every data key has been rewrapped. The\n"
		"key itself is never printed.\n");
}

static int keygen(struct cli *cli, int argc, char **argv)
{
	const char *path = argc == 3 ? argv[2] : cli->cfg.privacy.master_key_file;
	char err[512] = "";
	uint32_t version = 0;

	if (argc > 3) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!path || !path[0]) {
		cli_error("privacy keygen", "privacy.master_key_file is not set: name the FILE");
		return CLI_USAGE;
	}
	if (privacy_keyfile_add(path, &version, err, sizeof(err)) < 0) {
		cli_error("privacy keygen", "%s", err);
		return CLI_FAILED;
	}
	printf("%s: added master key version %" PRIu32 "\n", path, version);
	return CLI_OK;
}

int cmd_privacy(struct cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return CLI_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen(cli, argc, argv);
	usage(stderr);
	return CLI_USAGE;
}
