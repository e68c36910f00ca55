/* loadgen: an open-loop HTTP load generator for ack latency (issue 6), in the manner of wrk2.
 * Requests are scheduled at a fixed rate (--rate requests/s) whatever the server does, and sent
 * over --connections keep-alive HTTP/1.1 connections, one request in flight per connection; a
 * request that finds every connection busy waits in a queue. Its latency runs from its scheduled
 * time to the last byte of its answer, so a slow server is charged for the requests it delayed
 * (no coordinated omission). Bodies are JSON events built like bench/wrk_events.lua's (same mix,
 * fresh event_ids), --events per request (an array when more than one).
 *
 *   loadgen --port P [--host 127.0.0.1] [--path /v1/events] [--token T] --rate R
 *           [--connections 64] [--seconds 20] [--warmup 2] [--events 1] [--key loadgen]
 *
 * Requests scheduled during the warm-up are sent but not measured. Prints `result` lines
 * (bench/stats.h) under --key: p50, p90, p99, p999, max (µs), requests, achieved rate, errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "stats.h"

struct options {
	const char *host;
	int port;
	const char *path;
	const char *token;
	double rate;
	int connections;
	double seconds;
	double warmup;
	int events;
	const char *key;
};

struct conn;

struct gen {
	const struct options *o;
	struct event_base *base;
	struct event *tick;
	struct conn *conns;
	int64_t t0;        /* schedule origin */
	int64_t measure_from;
	int64_t measure_to;
	uint64_t scheduled; /* requests whose time has come */
	uint64_t total;     /* requests to schedule */
	uint64_t sent, answered, measured, errors, non2xx, reconnects;
	int64_t *queue;     /* scheduled times not yet sent, a ring */
	size_t q_head, q_len, q_cap;
	struct stats lat;      /* scheduled time -> answer */
	struct stats lat_sent; /* write -> answer: the server alone, without client lateness */
	uint64_t rng;
	uint64_t id_seq;
	struct buf_s { char *p; size_t len, cap; } body;
	char ts[32];
	time_t ts_sec;
	bool finishing;
};

struct conn {
	struct gen *g;
	struct bufferevent *bev;
	bool busy;
	bool connected;
	int64_t sched; /* the in-flight request's scheduled time */
	int64_t sent;  /* when it was handed to the socket */
	size_t head_len; /* response: header bytes, 0 until known */
	size_t body_len;
	int status;
};

/* ---- bodies: the workload's mix as JSON, like wrk_events.lua ---------------------------- */

static const char *const tenants[] = { "shop-eu", "shop-us", "news", "app" };
static const char *const languages[] = { "en", "de", "fr", "es", "nl", "it" };
static const char *const purposes[] = { "analytics", "advertising", "functional", "personalization" };
static const char *const vendors[] = { "adform", "criteo", "google_ads", "hotjar",
				       "linkedin", "meta", "microsoft", "tiktok" };
static const char *const rights[] = { "access", "erasure", "portability", "objection" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void out(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = g->body.cap - g->body.len;

		va_start(ap, fmt);
		n = vsnprintf(g->body.p + g->body.len, room, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			g->body.len += (size_t)n;
			return;
		}
		g->body.cap = g->body.cap * 2 + (size_t)n + 64;
		if (!(g->body.p = realloc(g->body.p, g->body.cap)))
			abort();
	}
}

static uint64_t rnd(struct gen *g, uint64_t below)
{
	return bench_rand_below(&g->rng, below);
}

static void event_json(struct gen *g)
{
	time_t now = time(NULL);
	uint64_t a = bench_rand(&g->rng), b = bench_rand(&g->rng), n = rnd(g, 1000000);

	if (now != g->ts_sec) {
		struct tm tm;
		time_t t = now - 1;

		g->ts_sec = now;
		gmtime_r(&t, &tm);
		strftime(g->ts, sizeof(g->ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	g->id_seq++;
	out(g, "{\"event_id\":\"%08x-%04x-4%03x-%04x-%04x%08x\",\"occurred_at\":\"%s\",\"tenant\":\"%s\","
	       "\"subject\":{\"device_id\":\"d-%08x%04x\"",
	    (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
	    0x8000 | ((unsigned)(b >> 48) & 0x3fff), (unsigned)(b >> 32) & 0xffff,
	    (unsigned)(g->id_seq & 0xffffffff), g->ts, tenants[rnd(g, N(tenants))],
	    (unsigned)((n * 2654435761u) & 0xffffffff), (unsigned)(n & 0xffff));
	if (rnd(g, 100) < 30)
		out(g, ",\"account_id\":\"u_%" PRIu64 "\",\"email\":\"user%" PRIu64 "@example.com\"", n, n);
	out(g, "},");
	if (rnd(g, 100) < 97) {
		uint64_t r = rnd(g, 100);
		const char *action = r < 55 ? "accept_all" : r < 75 ? "reject_all" : r < 95 ? "customize"
					   : r < 98 ? "withdraw" : "renew";
		const char *surface = rnd(g, 100) < 85 ? "banner" : "preferences";

		out(g, "\"consent\":{\"action\":\"%s\"", action);
		if (r >= 75 && r < 95) { /* customize */
			uint64_t nv = rnd(g, 5), first = rnd(g, N(vendors));

			out(g, ",\"purposes\":{");
			for (size_t i = 0; i < N(purposes); i++)
				out(g, "%s\"%s\":%s", i ? "," : "", purposes[i], rnd(g, 2) ? "true" : "false");
			out(g, "}");
			if (nv) {
				out(g, ",\"vendors\":{");
				for (uint64_t i = 0; i < nv; i++)
					out(g, "%s\"%s\":%s", i ? "," : "", vendors[(first + i) % N(vendors)],
					    rnd(g, 2) ? "true" : "false");
				out(g, "}");
			}
		}
		out(g, ",\"notice\":{\"policy_version\":\"2026-11-01\",\"banner_version\":\"b-42\","
		       "\"language\":\"%s\",\"content_sha256\":"
		       "\"8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\"},"
		       "\"surface\":\"%s\"}}",
		    languages[rnd(g, N(languages))], surface);
	} else {
		/* Two draws: a request_id must not repeat (the register refuses a second receipt). */
		out(g, "\"data_rights\":{\"request_id\":\"dsr-%" PRIu64 "-%" PRIu64 "\","
		       "\"right\":\"%s\",\"stage\":\"received\",\"channel\":\"web\"}}",
		    rnd(g, 1000000000), rnd(g, 1000000000), rights[rnd(g, N(rights))]);
	}
}

static void build_body(struct gen *g)
{
	g->body.len = 0;
	if (g->o->events == 1) {
		event_json(g);
		return;
	}
	out(g, "[");
	for (int i = 0; i < g->o->events; i++) {
		if (i)
			out(g, ",");
		event_json(g);
	}
	out(g, "]");
}

/* ---- connections ------------------------------------------------------------------------ */

static void conn_open(struct conn *c);
static void dispatch(struct gen *g);

static void send_request(struct conn *c, int64_t sched)
{
	struct gen *g = c->g;
	struct evbuffer *o = bufferevent_get_output(c->bev);

	build_body(g);
	evbuffer_add_printf(o,
			    "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
			    "%s%s%sContent-Length: %zu\r\n\r\n",
			    g->o->path, g->o->host, g->o->port, g->o->token ? "Authorization: Bearer " : "",
			    g->o->token ? g->o->token : "", g->o->token ? "\r\n" : "", g->body.len);
	evbuffer_add(o, g->body.p, g->body.len);
	c->busy = true;
	c->sched = sched;
	c->sent = bench_now_ns();
	c->head_len = 0;
	g->sent++;
}

static void finish_request(struct conn *c, bool ok)
{
	struct gen *g = c->g;
	int64_t now = bench_now_ns();

	c->busy = false;
	g->answered++;
	if (!ok)
		g->errors++;
	else if (c->status < 200 || c->status > 299)
		g->non2xx++;
	if (c->sched >= g->measure_from && c->sched < g->measure_to) {
		g->measured++;
		stats_add(&g->lat, now - c->sched);
		stats_add(&g->lat_sent, now - c->sent);
	}
}

/* Parses what has arrived; returns true when one whole answer was consumed. */
static bool parse_response(struct conn *c, bool *close_after)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	*close_after = false;
	if (!c->head_len) {
		struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		char *head;

		if (p.pos < 0)
			return false;
		c->head_len = (size_t)p.pos + 4;
		head = (char *)evbuffer_pullup(in, (ev_ssize_t)c->head_len);
		c->status = 0;
		sscanf(head, "HTTP/1.%*d %d", &c->status);
		c->body_len = 0;
		/* headers are not NUL-terminated: search a bounded copy */
		{
			char *h = strndup(head, c->head_len);

			for (char *line = h ? strstr(h, "\r\n") : NULL; line && line[2];
			     line = strstr(line + 2, "\r\n")) {
				if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
					c->body_len = strtoul(line + 17, NULL, 10);
				else if (strncasecmp(line + 2, "Connection: close", 17) == 0)
					c->connected = false;
			}
			free(h);
		}
	}
	if (evbuffer_get_length(in) < c->head_len + c->body_len)
		return false;
	evbuffer_drain(in, c->head_len + c->body_len);
	*close_after = !c->connected;
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	bool close_after;

	while (c->busy && parse_response(c, &close_after)) {
		finish_request(c, true);
		if (close_after) {
			bufferevent_free(c->bev);
			c->bev = NULL;
			conn_open(c);
			break;
		}
	}
	dispatch(c->g);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		c->connected = true;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		dispatch(c->g);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->busy)
			finish_request(c, false);
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->connected = false;
		c->g->reconnects++;
		if (!c->g->finishing)
			conn_open(c);
	}
}

static void conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->g->o->port) };

	inet_pton(AF_INET, c->g->o->host, &sa.sin_addr);
	c->busy = false;
	c->connected = false;
	c->bev = bufferevent_socket_new(c->g->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev)
		abort();
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

/* Sends queued requests on idle connections. */
static void dispatch(struct gen *g)
{
	for (int i = 0; i < g->o->connections && g->q_len; i++) {
		struct conn *c = &g->conns[i];

		if (!c->bev || !c->connected || c->busy)
			continue;
		send_request(c, g->queue[g->q_head]);
		g->q_head = (g->q_head + 1) % g->q_cap;
		g->q_len--;
	}
}

static bool all_idle(const struct gen *g)
{
	for (int i = 0; i < g->o->connections; i++)
		if (g->conns[i].busy)
			return false;
	return true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct gen *g = arg;
	int64_t now = bench_now_ns();
	/* request k is due at t0 + k / rate: every one whose time has come */
	uint64_t due = (uint64_t)((double)(now - g->t0) * g->o->rate / 1e9) + 1;

	if (due > g->total)
		due = g->total;
	for (; g->scheduled < due; g->scheduled++) {
		if (g->q_len == g->q_cap)
			abort(); /* sized for the whole run */
		g->queue[(g->q_head + g->q_len++) % g->q_cap] =
			g->t0 + (int64_t)((double)g->scheduled * 1e9 / g->o->rate);
	}
	dispatch(g);
	if (g->scheduled == g->total) {
		g->finishing = true;
		/* drain: wait for what is queued and in flight, at most 30 s past the end */
		if ((g->q_len == 0 && all_idle(g)) || now - g->measure_to > 30 * 1000000000LL)
			event_base_loopexit(g->base, NULL);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: loadgen --port P --rate R [--host 127.0.0.1] [--path /v1/events]\n"
		   "               [--token T] [--connections 64] [--seconds 20] [--warmup 2]\n"
		   "               [--events 1] [--key loadgen]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },   { "port", required_argument, NULL, 'p' },
		{ "path", required_argument, NULL, 'P' },   { "token", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },   { "connections", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' }, { "warmup", required_argument, NULL, 'w' },
		{ "events", required_argument, NULL, 'e' }, { "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	struct options o = { .host = "127.0.0.1", .path = "/v1/events", .connections = 64,
			     .seconds = 20, .warmup = 2, .events = 1, .key = "loadgen" };
	struct gen g = { .o = &o };
	struct timeval tick = { 0, 1000 };
	char k[160], label[200];
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'P': o.path = optarg; break;
		case 't': o.token = optarg; break;
		case 'r': o.rate = atof(optarg); break;
		case 'c': o.connections = atoi(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'e': o.events = atoi(optarg); break;
		case 'k': o.key = optarg; break;
		default: usage(opt == 'h' ? stdout : stderr); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || o.port <= 0 || o.rate <= 0 || o.connections < 1 || o.seconds <= 0 ||
	    o.warmup < 0 || o.events < 1) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	g.rng = bench_mix64((uint64_t)bench_now_ns() ^ (uint64_t)time(NULL) << 20);
	g.total = (uint64_t)((o.warmup + o.seconds) * o.rate);
	g.q_cap = g.total + 1;
	g.queue = calloc(g.q_cap, sizeof(*g.queue));
	g.conns = calloc((size_t)o.connections, sizeof(*g.conns));
	{
		/* timerfd-backed timers: the 1 ms tick must not be rounded to a coarser wake-up */
		struct event_config *cfg = event_config_new();

		if (cfg)
			event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		g.base = cfg ? event_base_new_with_config(cfg) : NULL;
		event_config_free(cfg);
	}
	if (!g.queue || !g.conns || !g.base)
		return 1;
	for (int i = 0; i < o.connections; i++) {
		g.conns[i].g = &g;
		conn_open(&g.conns[i]);
	}
	/* give the connections a moment to open before the schedule starts */
	{
		struct timeval settle = { 0, 200000 };

		event_base_loopexit(g.base, &settle);
		event_base_dispatch(g.base);
	}
	g.t0 = bench_now_ns();
	g.measure_from = g.t0 + (int64_t)(o.warmup * 1e9);
	g.measure_to = g.measure_from + (int64_t)(o.seconds * 1e9);
	/* one tick per scheduled request, between 100 µs and 1 ms apart */
	tick.tv_usec = (suseconds_t)(1e6 / o.rate);
	if (tick.tv_usec < 100)
		tick.tv_usec = 100;
	if (tick.tv_usec > 1000)
		tick.tv_usec = 1000;
	g.tick = event_new(g.base, -1, EV_PERSIST, on_tick, &g);
	event_add(g.tick, &tick);
	event_base_dispatch(g.base);

	snprintf(label, sizeof(label), "open loop at %.0f requests/s, %d events each, %d connections",
		 o.rate, o.events, o.connections);
#define R(suffix, v, unit)                                       \
	do {                                                     \
		snprintf(k, sizeof(k), "%s.%s", o.key, suffix);  \
		bench_result(k, (v), unit, label);               \
	} while (0)
	R("rate", o.rate, "requests/s");
	R("events_per_request", o.events, "events");
	R("connections", o.connections, "connections");
	R("requests", (double)g.measured, "requests");
	R("achieved_rps", (double)g.measured / o.seconds, "requests/s");
	R("errors", (double)g.errors, "requests");
	R("non2xx", (double)g.non2xx, "requests");
	R("unanswered", (double)(g.total - g.answered), "requests");
	R("p50", (double)stats_quantile(&g.lat, 0.50) / 1e3, "us");
	R("p90", (double)stats_quantile(&g.lat, 0.90) / 1e3, "us");
	R("p99", (double)stats_quantile(&g.lat, 0.99) / 1e3, "us");
	R("p999", (double)stats_quantile(&g.lat, 0.999) / 1e3, "us");
	R("max", (double)stats_quantile(&g.lat, 1.0) / 1e3, "us");
	R("sent.p50", (double)stats_quantile(&g.lat_sent, 0.50) / 1e3, "us");
	R("sent.p99", (double)stats_quantile(&g.lat_sent, 0.99) / 1e3, "us");
	R("sent.p999", (double)stats_quantile(&g.lat_sent, 0.999) / 1e3, "us");
#undef R
	fprintf(stderr, "loadgen: %" PRIu64 " sent, %" PRIu64 " answered, %" PRIu64 " errors, %" PRIu64
			" non-2xx, %" PRIu64 " reconnects\n",
		g.sent, g.answered, g.errors, g.non2xx, g.reconnects);
	return 0;
}
