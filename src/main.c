/* consentd: arguments, then the daemon's lifecycle (core/daemon.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/daemon.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: consentd [-c FILE] [--check-config] [--version]\n"
		     "  -c, --config FILE   configuration file (INI); keys may also be set by\n"
		     "                      environment variables CONSENTD_<SECTION>_<KEY>\n"
		     "      --check-config  load configuration, keys and tokens, then exit\n"
		     "      --version       print the version and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts opts = { .config_path = getenv("CONSENTD_CONFIG") };
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'C':
			opts.check_only = true;
			break;
		case 'V':
			printf("consentd %s\n", CONSENTD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return daemon_main(&opts);
}
