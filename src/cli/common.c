/* consentctl plumbing shared by every command. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

#define DEFAULT_CONFIG "/etc/consentd/consentd.conf"

int cli_load_config(struct cli *cli)
{
	extern char **environ;
	const char *path = cli->config_path;
	char err[1024];

	if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	if (config_load(&cli->cfg, path, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "consentctl: configuration: %s\n", err);
		return -1;
	}
	return 0;
}

PGconn *cli_connect(struct cli *cli, const char *conninfo)
{
	char err[512];
	PGconn *c = store_connect(conninfo ? conninfo : cli->cfg.postgres.conninfo,
				  cli->cfg.postgres.connect_timeout, "consentctl", err, sizeof(err));

	if (!c)
		fprintf(stderr, "consentctl: cannot connect to PostgreSQL: %s\n", err);
	return c;
}

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "consentctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}
