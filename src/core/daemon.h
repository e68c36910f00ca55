/* The daemon's lifecycle: start modules in order, run the loop, drain on SIGTERM
 * (RUNNING -> DRAINING -> STOPPED), reload on SIGHUP, stop in reverse order. */
#ifndef CONSENTD_DAEMON_H
#define CONSENTD_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char *config_path; /* NULL: defaults and environment only */
	bool check_only;         /* --check-config: load everything, start nothing */
};

/* Returns the process exit code. */
int daemon_main(const struct daemon_opts *opts);

#endif
