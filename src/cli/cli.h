/* consentctl's shared plumbing: configuration, connections, exit codes, and the commands. */
#ifndef CONSENTD_CLI_H
#define CONSENTD_CLI_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "config/config.h"

/* Exit codes: 0 success, 1 the check failed (verify), 2 usage or connection error. */
enum cli_exit { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

struct cli {
	const char *config_path;
	struct config cfg;
	const char *prog;
};

/* Loads configuration (file if given or present at the default path, then environment). */
int cli_load_config(struct cli *cli);
/* Connects with --conninfo if given, else postgres.conninfo; NULL after printing why. */
PGconn *cli_connect(struct cli *cli, const char *conninfo);
/* Prints "consentctl CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);

int cmd_migrate(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_subject(struct cli *cli, int argc, char **argv);
int cmd_rejected(struct cli *cli, int argc, char **argv);
int cmd_keygen(struct cli *cli, int argc, char **argv);
int cmd_proof(struct cli *cli, int argc, char **argv);
int cmd_verify_proof(struct cli *cli, int argc, char **argv);
int cmd_rebuild(struct cli *cli, int argc, char **argv);

#endif
