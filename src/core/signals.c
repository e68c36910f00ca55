/* libevent signal events for TERM, INT and HUP; SIGPIPE ignored (peers close sockets). */
#include "core/signals.h"

#include <signal.h>
#include <stdlib.h>

struct signals {
	struct event *term, *intr, *hup;
	signal_fn *on_stop, *on_reload;
	void *arg;
};

static void fire(evutil_socket_t signo, short what, void *arg)
{
	struct signals *s = arg;

	if (signo == SIGHUP)
		s->on_reload((int)signo, s->arg);
	else
		s->on_stop((int)signo, s->arg);
}

struct signals *signals_new(struct event_base *base, signal_fn *on_stop, signal_fn *on_reload, void *arg)
{
	struct signals *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	signal(SIGPIPE, SIG_IGN);
	s->on_stop = on_stop;
	s->on_reload = on_reload;
	s->arg = arg;
	s->term = evsignal_new(base, SIGTERM, fire, s);
	s->intr = evsignal_new(base, SIGINT, fire, s);
	s->hup = evsignal_new(base, SIGHUP, fire, s);
	if (!s->term || !s->intr || !s->hup || evsignal_add(s->term, NULL) < 0 ||
	    evsignal_add(s->intr, NULL) < 0 || evsignal_add(s->hup, NULL) < 0) {
		signals_free(s);
		return NULL;
	}
	return s;
}

void signals_free(struct signals *s)
{
	if (!s)
		return;
	if (s->term)
		event_free(s->term);
	if (s->intr)
		event_free(s->intr);
	if (s->hup)
		event_free(s->hup);
	free(s);
}
