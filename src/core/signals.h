/* Signals delivered as libevent events, so that drain and reload run as ordinary loop code. */
#ifndef CONSENTD_SIGNALS_H
#define CONSENTD_SIGNALS_H

#include <event2/event.h>

struct signals;
typedef void signal_fn(int signo, void *arg);

/* SIGTERM and SIGINT call on_stop, SIGHUP calls on_reload; SIGPIPE is ignored. */
struct signals *signals_new(struct event_base *base, signal_fn *on_stop, signal_fn *on_reload, void *arg);
void signals_free(struct signals *s);

#endif
