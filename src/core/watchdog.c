/* WATCHDOG=1 from the event loop, withheld while the ledger writer makes no progress. */
#include "core/watchdog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "log/log.h"

struct watchdog {
	struct event *tick;
	const struct writer *writer;
	int64_t interval_us; /* systemd's WatchdogSec */
	bool withheld;
};

/* The writer beats at least every second when idle, and on every retry while the database is
 * away; silence for a whole interval means it is stuck in a call (a hung connection, a lock
 * never granted). Then no ping: systemd restarts the daemon after WatchdogSec. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watchdog *wd = arg;
	int64_t age = writer_heartbeat_age_us(wd->writer);
	bool stuck = age >= wd->interval_us;

	if (!stuck)
		sd_notify(0, "WATCHDOG=1");
	if (stuck && !wd->withheld)
		log_error("main",
			  "the ledger writer has made no progress for %lld ms: withholding the "
			  "watchdog ping (systemd restarts consentd after WatchdogSec)",
			  (long long)(age / 1000));
	else if (!stuck && wd->withheld)
		log_warn("main", "the ledger writer is progressing again: watchdog pings resumed");
	wd->withheld = stuck;
}

int watchdog_start(struct event_base *base, const struct writer *w, struct watchdog **out)
{
	struct watchdog *wd;
	uint64_t usec = 0;
	struct timeval half;

	*out = NULL;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	wd = calloc(1, sizeof(*wd));
	if (!wd)
		return -ENOMEM;
	wd->writer = w;
	wd->interval_us = (int64_t)usec;
	half.tv_sec = (time_t)(usec / 2 / 1000000);
	half.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	wd->tick = event_new(base, -1, EV_PERSIST, tick_cb, wd);
	if (!wd->tick || event_add(wd->tick, &half) < 0) {
		watchdog_free(wd);
		return -ENOMEM;
	}
	log_info("main",
		 "systemd watchdog: WATCHDOG=1 every %llu ms while the ledger writer progresses",
		 (unsigned long long)(usec / 2000));
	*out = wd;
	return 0;
}

void watchdog_free(struct watchdog *wd)
{
	if (!wd)
		return;
	if (wd->tick)
		event_free(wd->tick);
	free(wd);
}
