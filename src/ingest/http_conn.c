/* Client connections: their bufferevents (plain or TLS), http.max_connections, http.read_timeout
 * and their close callbacks.
 *
 * libevent 2.1's evhttp says nothing when it accepts a connection; it only asks
 * evhttp_set_bevcb's callback for a bufferevent, before the evhttp_connection exists. So a
 * connection is born there (counted, its deadline armed) and attached on the next loop turn, or
 * when its first request arrives if that is sooner: evhttp has by then made the bufferevent's
 * callback argument its evhttp_connection, which gets our close callback. Until attached we hold
 * a reference on the bufferevent, so that one that evhttp freed meanwhile (bufferevent_free
 * clears the callbacks) is recognised by its NULL argument, not touched after its free.
 *
 * At http.max_connections the listener is disabled: further clients wait in the kernel's listen
 * backlog, not refused, until a connection closes.
 *
 * libevent's own timeout (http.idle_timeout) restarts with every byte read, so a client that
 * sends a request one byte at a time would hold its connection for ever. Hence the read
 * deadline: a request must arrive whole (line, headers, body) within http.read_timeout of the
 * connection's accept, or for later keep-alive requests of their first byte. Its states:
 * READING (deadline armed) -> BUSY (route() has the request; never closed by us) -> IDLE
 * (answered; libevent's idle timeout applies) -> READING on the next request's first byte. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "log/log.h"

#define FD_TABLE_MIN 1024
#define FD_TABLE_MAX (1 << 22)

enum conn_state { CONN_READING, CONN_BUSY, CONN_IDLE };

struct http_conn {
	struct http_conns *cs;
	struct http_conn *next;		 /* in cs->pending, or cs->unmapped once attached */
	struct bufferevent *bev;	 /* evhttp's; we hold a reference until attached */
	struct evhttp_connection *evcon; /* NULL until attached */
	struct evbuffer_cb_entry *input_cb;
	struct event *timer; /* attach, then the read deadline */
	evutil_socket_t fd;  /* -1 until attached */
	enum conn_state state;
	bool mapped; /* in cs->by_fd, else in cs->unmapped */
	bool served; /* a request came through (so did a TLS handshake) */
	void (*hook)(struct evhttp_connection *, void *);
	void *hook_arg;
};

struct http_conns {
	struct event_base *base;
	const struct config_http *cfg;
	struct http_tls *tls;
	struct evconnlistener *listener; /* NULL once draining */
	bool paused;
	size_t open;
	struct http_conn *pending; /* born, not yet attached */
	struct http_conn **by_fd;  /* attached connections by socket */
	size_t cap;
	struct http_conn *unmapped; /* attached, but by_fd could not grow to hold them */
};

static void tv_of_ms(struct timeval *tv, int64_t ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* ---- the listener at http.max_connections --------------------------------------------------- */

static void pause_if_full(struct http_conns *cs)
{
	if (!cs->listener || cs->paused || cs->open < (size_t)cs->cfg->max_connections)
		return;
	evconnlistener_disable(cs->listener);
	cs->paused = true;
	log_warn("http",
		 "%zu connections open (http.max_connections): not accepting more until "
		 "one closes",
		 cs->open);
}

static void resume_if_room(struct http_conns *cs)
{
	if (!cs->listener || !cs->paused || cs->open >= (size_t)cs->cfg->max_connections)
		return;
	evconnlistener_enable(cs->listener);
	cs->paused = false;
	log_info("http", "accepting connections again (%zu open)", cs->open);
}

void http_conns_listen(struct http_conns *cs, struct evconnlistener *listener)
{
	cs->listener = listener;
	cs->paused = false;
	pause_if_full(cs);
}

/* ---- birth, attachment, death --------------------------------------------------------------- */

/* Out of whichever list c is in: pending until attached, then unmapped if not in by_fd. */
static void unlink_conn(struct http_conn *c)
{
	struct http_conn **p = c->evcon ? &c->cs->unmapped : &c->cs->pending;

	while (*p && *p != c)
		p = &(*p)->next;
	if (*p)
		*p = c->next;
	c->next = NULL;
}

static void conn_free(struct http_conn *c)
{
	struct http_conns *cs = c->cs;

	if (c->input_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->input_cb);
	if (c->timer)
		event_free(c->timer);
	if (c->mapped)
		cs->by_fd[c->fd] = NULL;
	else
		unlink_conn(c);
	if (!c->evcon)
		bufferevent_decref(c->bev); /* ours; evhttp has let go of it */
	free(c);
	cs->open--;
	resume_if_room(cs);
}

static int map_put(struct http_conns *cs, struct http_conn *c)
{
	size_t ncap = cs->cap;
	struct http_conn **grown;

	if (c->fd < 0)
		return -EBADF;
	while ((size_t)c->fd >= ncap)
		ncap *= 2;
	if (ncap != cs->cap) {
		grown = realloc(cs->by_fd, ncap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + cs->cap, 0, (ncap - cs->cap) * sizeof(*grown));
		cs->by_fd = grown;
		cs->cap = ncap;
	}
	cs->by_fd[c->fd] = c;
	c->mapped = true;
	return 0;
}

/* A connection that closes before any request came through may have failed its handshake:
 * worth a line when debugging a client. Its socket is still open (closed when freed). */
static void log_tls_failure(struct http_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char why[256], host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (!c->cs->tls || c->served || !http_tls_failed(c->bev, why, sizeof(why)))
		return;
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
	log_debug("http", "peer=%s:%s: TLS handshake failed: %s", host, port, why);
}

static void closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *c = arg;

	if (c->hook)
		c->hook(evcon, c->hook_arg);
	log_tls_failure(c);
	conn_free(c);
}

/* 0 once c is attached; -1 if evhttp has already freed (or never made) its connection, and c
 * is freed. */
static int attach(struct http_conn *c)
{
	bufferevent_data_cb rd, wr;
	bufferevent_event_cb ev;
	void *arg = NULL;

	bufferevent_getcb(c->bev, &rd, &wr, &ev, &arg);
	if (!arg || evhttp_connection_get_bufferevent(arg) != c->bev) {
		/* no socket: evhttp failed before taking it; drop its reference too */
		if (bufferevent_getfd(c->bev) < 0)
			bufferevent_free(c->bev);
		else
			log_tls_failure(c); /* closed in its first loop turn */
		conn_free(c);
		return -1;
	}
	unlink_conn(c);
	c->evcon = arg;
	c->fd = bufferevent_getfd(c->bev);
	evhttp_connection_set_closecb(c->evcon, closed_cb, c);
	bufferevent_decref(c->bev);  /* evhttp's own reference keeps it now */
	if (map_put(c->cs, c) < 0) { /* slower to find, that is all */
		c->next = c->cs->unmapped;
		c->cs->unmapped = c;
	}
	return 0;
}

static void close_late(struct http_conn *c)
{
	char *addr = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(c->evcon, &addr, &port);
	log_info("http",
		 "peer=%s:%u: no complete request within http.read_timeout (%lld ms): "
		 "closing the connection",
		 addr ? addr : "?", port, (long long)c->cs->cfg->read_timeout);
	evhttp_connection_free(c->evcon); /* calls closed_cb, which frees c */
}

static void start_reading(struct http_conn *c)
{
	struct timeval tv;

	c->state = CONN_READING;
	tv_of_ms(&tv, c->cs->cfg->read_timeout);
	evtimer_add(c->timer, &tv);
}

/* The timer: first attaches c (its deadline then counts from here, one loop turn after the
 * accept), later is the deadline itself. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	if (!c->evcon) {
		if (attach(c) == 0 && c->state == CONN_READING)
			start_reading(c);
		return;
	}
	if (c->state == CONN_READING)
		close_late(c);
}

/* Bytes arrived: on an idle keep-alive connection they start the next request's deadline. */
static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;

	if (info->n_added && c->state == CONN_IDLE)
		start_reading(c);
}

/* evhttp_set_bevcb: a connection is being accepted. On failure evhttp makes a plain
 * bufferevent of its own, which escapes the limits; for a TLS listener the client's handshake
 * then reads as a malformed request, answered 400. Only when out of memory. */
static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
	static const struct timeval now = {0, 0};
	struct http_conns *cs = arg;
	struct http_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev =
	    cs->tls ? http_tls_bufferevent(cs->tls, base) : bufferevent_socket_new(base, -1, 0);

	if (c && bev) {
		c->cs = cs;
		c->bev = bev;
		c->fd = -1;
		c->state = CONN_READING;
		c->timer = evtimer_new(base, timer_cb, c);
		c->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), input_cb, c);
	}
	if (!c || !bev || !c->timer || !c->input_cb) {
		log_error("http", "out of memory accepting a connection");
		if (c && c->input_cb)
			evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->input_cb);
		if (c && c->timer)
			event_free(c->timer);
		if (bev)
			bufferevent_free(bev);
		free(c);
		return NULL;
	}
	bufferevent_incref(bev);
	c->next = cs->pending;
	cs->pending = c;
	cs->open++;
	evtimer_add(c->timer, &now);
	pause_if_full(cs);
	return bev;
}

/* ---- what handlers see ---------------------------------------------------------------------- */

/* The connection of evcon, attaching it if its first request came before the timer. */
static struct http_conn *find(struct http_conns *cs, struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	struct http_conn *c;

	if (fd >= 0 && (size_t)fd < cs->cap && cs->by_fd[fd] && cs->by_fd[fd]->evcon == evcon)
		return cs->by_fd[fd];
	for (c = cs->unmapped; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	for (c = cs->pending; c && c->bev != bev; c = c->next)
		;
	return c && attach(c) == 0 ? c : NULL;
}

/* evhttp_send_done: the answer is written; the connection waits for its next request. */
static void answered_cb(struct evhttp_request *req, void *arg)
{
	struct http_conn *c = arg;

	c->state = CONN_IDLE;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)))
		start_reading(c); /* the next request came with this one */
}

void http_conns_request_read(struct http_conns *cs, struct evhttp_request *req)
{
	struct http_conn *c = find(cs, evhttp_request_get_connection(req));

	if (!c)
		return;
	c->state = CONN_BUSY;
	c->served = true;
	evtimer_del(c->timer);
	evhttp_request_set_on_complete_cb(req, answered_cb, c);
}

void http_conns_on_close(struct http_conns *cs, struct evhttp_connection *con,
			 void (*cb)(struct evhttp_connection *, void *), void *arg)
{
	struct http_conn *c = find(cs, con);

	if (!c) { /* evhttp's own bufferevent (bev_cb ran out of memory): its callback is free */
		evhttp_connection_set_closecb(con, cb, arg);
		return;
	}
	c->hook = cb;
	c->hook_arg = arg;
}

size_t http_conns_open(const struct http_conns *cs)
{
	return cs->open;
}

/* ---- the table ------------------------------------------------------------------------------ */

struct http_conns *http_conns_new(struct event_base *base, struct evhttp *http,
				  const struct config_http *cfg, struct http_tls *tls)
{
	struct http_conns *cs = calloc(1, sizeof(*cs));
	struct rlimit rl;

	if (!cs)
		return NULL;
	/* one slot per possible socket: the table never grows while serving */
	cs->cap = FD_TABLE_MIN;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > cs->cap)
		cs->cap = rl.rlim_cur < FD_TABLE_MAX ? (size_t)rl.rlim_cur : FD_TABLE_MAX;
	cs->by_fd = calloc(cs->cap, sizeof(*cs->by_fd));
	if (!cs->by_fd) {
		free(cs);
		return NULL;
	}
	cs->base = base;
	cs->cfg = cfg;
	cs->tls = tls;
	evhttp_set_bevcb(http, bev_cb, cs);
	return cs;
}

void http_conns_free(struct http_conns *cs)
{
	if (!cs)
		return;
	while (cs->pending)
		conn_free(cs->pending);
	free(cs->by_fd);
	free(cs);
}
