/* consentctl keygen: a fresh Ed25519 checkpoint signing key, written once with mode 0600; the
 * verifier key an auditor needs is printed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ledger/note.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: consentctl keygen NAME [--out FILE]\n"
		"Generates an Ed25519 key that signs checkpoints. The signer key (secret) is\n"
		"written to FILE, default ledger.signing_key_file, with mode 0600; an existing\n"
		"file is never overwritten. The verifier key (NAME+KEYID+KEY) is printed on\n"
		"standard output: give it to auditors, for `consentctl verify --key` and\n"
		"`consentctl verify-proof --key`. NAME is the checkpoints' origin and should\n"
		"equal ledger.origin.\n");
}

/* Creates path exclusively, mode 0600 whatever the umask, holding signer + "\n". */
static int write_key(const char *path, const char *signer)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc;

	if (fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			cli_error("keygen", "%s exists: refusing to overwrite a key", path);
		else
			cli_error("keygen", "cannot create %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (rc == 0 && (rc = secretfile_write_all(fd, signer, strlen(signer))) == 0)
		rc = secretfile_write_all(fd, "\n", 1);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		cli_error("keygen", "cannot write %s: %s", path, strerror(-rc));
		unlink(path);
	}
	return rc;
}

int cmd_keygen(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = cli->cfg.ledger.signing_key_file, *name;
	char *signer = NULL, *verifier = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt != 'o') {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? CLI_OK : CLI_USAGE;
		}
		out = optarg;
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	name = argv[optind];
	if (!out || !out[0]) {
		cli_error("keygen",
			  "ledger.signing_key_file is not set: say where with --out FILE");
		return CLI_USAGE;
	}
	if ((rc = note_keygen(name, &signer, &verifier)) == -EINVAL) {
		cli_error("keygen",
			  "bad key name \"%s\": it must be non-empty, without spaces, '+' "
			  "or control characters",
			  name);
		return CLI_USAGE;
	}
	if (rc < 0) {
		cli_error("keygen", "cannot generate a key: %s", strerror(-rc));
		return CLI_FAILED;
	}
	if (strcmp(name, cli->cfg.ledger.origin) != 0)
		fprintf(stderr,
			"consentctl keygen: warning: the key name \"%s\" is not ledger.origin "
			"(\"%s\"): the daemon signs as its origin\n",
			name, cli->cfg.ledger.origin);
	rc = write_key(out, signer) < 0 ? CLI_FAILED : CLI_OK;
	if (rc == CLI_OK)
		printf("%s\n", verifier);
	note_secret_free(signer);
	free(verifier);
	return rc;
}
