/* consentctl's shared plumbing: configuration, connections, exit codes, and the commands. */
#ifndef CONSENTD_CLI_H
#define CONSENTD_CLI_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
int cmd_report(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_notice(struct cli *cli, int argc, char **argv);
int cmd_verify_bundle(struct cli *cli, int argc, char **argv);
int cmd_rebuild(struct cli *cli, int argc, char **argv);
int cmd_privacy(struct cli *cli, int argc, char **argv);

/* The subject options of subject and export (cmd_subject.c): --email, --account-id or
 * --device-id (its pseudonym under every key of ledger.subject_key_file), or --subject HEX
 * (repeatable: several pseudonyms of one subject). */
#define CLI_SUBJECT_MAX 64
struct cli_subject {
	int kind;          /* Consentd__V1__SubjectIdKind of value; 0: none */
	const char *value;
	uint8_t pseudonyms[CLI_SUBJECT_MAX][32];
	size_t n;
};
/* getopt_long entries for them (values 'e', 'a', 'v', 'S'). */
#define CLI_SUBJECT_LONGOPTS                                                                      \
	{ "email", required_argument, NULL, 'e' }, { "account-id", required_argument, NULL, 'a' }, \
	{ "device-id", required_argument, NULL, 'v' }, { "subject", required_argument, NULL, 'S' }
/* 1 if opt was a subject option (taken), 0 if not one, -1 after saying why its value is bad. */
int cli_subject_opt(struct cli_subject *s, const char *cmd, int opt, const char *arg);
/* Turns the options into pseudonyms: 0, or -1 after saying why (neither or both given, key file). */
int cli_subject_resolve(struct cli *cli, const char *cmd, struct cli_subject *s);

#endif
