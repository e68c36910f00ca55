/* systemd's watchdog: when the service manager asks for one (WatchdogSec=, seen as
 * WATCHDOG_USEC), the event loop sends WATCHDOG=1 at half the interval, but only while the
 * ledger writer thread shows progress. A wedged loop or a wedged writer thus stops the pings,
 * and systemd restarts the daemon. */
#ifndef CONSENTD_WATCHDOG_H
#define CONSENTD_WATCHDOG_H

#include <event2/event.h>

#include "store/writer.h"

struct watchdog;

/* *out is NULL (and nothing runs) when no watchdog is asked for. The writer is borrowed and
 * must outlive the watchdog. Returns 0 or -ENOMEM. */
int watchdog_start(struct event_base *base, const struct writer *w, struct watchdog **out);
/* Stops pinging. Accepts NULL. */
void watchdog_free(struct watchdog *wd);

#endif
