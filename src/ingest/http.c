/* The HTTP server: listener, request limits, routing, request ids, bearer-token checks and the
 * per-token rate limit. Connections (their count, deadlines, TLS) are http_conn.c's. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log/log.h"

/* What http.max_header_size counts of the request line besides the URI: the longest method,
 * two spaces and "HTTP/1.1". */
#define REQUEST_LINE_EXTRA 17

struct http_ingest {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *listener;
	struct http_deps deps;
	struct http_reports *reports;
	struct http_tls *tls;          /* NULL: plain HTTP */
	struct http_conns *conns;
	struct http_ratelimit *rate;
	size_t pending;
	uint8_t request_prefix[8]; /* random, drawn at start: generated request ids */
	uint64_t request_counter;
};

const struct http_deps *http_ingest_deps(const struct http_ingest *h)
{
	return &h->deps;
}

struct event_base *http_ingest_base(const struct http_ingest *h)
{
	return h->base;
}

struct http_reports *http_ingest_reports(const struct http_ingest *h)
{
	return h->reports;
}

struct http_conns *http_ingest_conns(const struct http_ingest *h)
{
	return h->conns;
}

void http_ingest_track(struct http_ingest *h, int delta)
{
	h->pending = (size_t)((long)h->pending + delta);
}

size_t http_ingest_pending(const struct http_ingest *h)
{
	return h->pending;
}

/* A caller's X-Request-Id is kept if it is short and printable, else one is generated: a
 * UUID-shaped id from a random per-process prefix and a counter, unique without drawing
 * random bytes per request (that draw was 4% of the event loop at one event per request). */
static void set_request_id(struct http_req *r)
{
	const char *id = evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Request-Id");
	bool ok = id && *id && strlen(id) < sizeof(r->request_id);
	uint64_t n = ++r->h->request_counter;
	uint8_t raw[UUID_LEN];

	for (const char *p = id; ok && *p; p++)
		ok = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
	if (ok) {
		snprintf(r->request_id, sizeof(r->request_id), "%s", id);
		return;
	}
	memcpy(raw, r->h->request_prefix, 8);
	for (int i = 0; i < 8; i++)
		raw[8 + i] = (uint8_t)(n >> (56 - 8 * i));
	raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x80); /* version 8 (RFC 9562: custom) */
	raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80); /* variant 10 */
	uuid_format(raw, r->request_id);
}

static struct http_req *req_new(struct http_ingest *h, struct evhttp_request *req)
{
	struct http_req *r = calloc(1, sizeof(*r));
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (!r)
		return NULL;
	r->req = req;
	r->h = h;
	if (con)
		evhttp_connection_get_peer(con, &addr, &port);
	snprintf(r->peer, sizeof(r->peer), "%s:%u", addr ? addr : "?", port);
	set_request_id(r);
	snprintf(r->ctx, sizeof(r->ctx), "request_id=%s peer=%s", r->request_id, r->peer);
	return r;
}

static int64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 429 with Retry-After (whole seconds, rounded up) once the token's budget is spent. */
static bool within_rate(struct http_req *r)
{
	int64_t wait_us = http_ratelimit_take(r->h->rate, r->token->name, monotonic_us());
	long long secs = (long long)((wait_us + 999999) / 1000000);
	char value[24];

	if (wait_us <= 0)
		return true;
	snprintf(value, sizeof(value), "%lld", secs);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", value);
	reply_error(r, 429, "rate_limited", "Authorization", -1,
		    "token %s made more than http.rate_limit (%lld) requests per second; retry in "
		    "%lld s",
		    r->token->name, (long long)r->h->deps.cfg->rate_limit, secs);
	return false;
}

/* 401 without a valid token, 429 beyond its rate, 403 without the scope; returns true if the
 * request may go on. */
static bool authorize(struct http_req *r, unsigned scope)
{
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
	struct auth_tokens *tokens = *r->h->deps.tokens;

	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate", "Bearer");
		reply_error(r, 401, "unauthorized", "Authorization", -1,
			    "missing bearer token: send Authorization: Bearer <token>");
		return false;
	}
	r->token = auth_tokens_find(tokens, auth + 7);
	if (!r->token) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate", "Bearer");
		reply_error(r, 401, "unauthorized", "Authorization", -1, "unknown or revoked token");
		return false;
	}
	snprintf(r->ctx + strlen(r->ctx), sizeof(r->ctx) - strlen(r->ctx), " token=%s", r->token->name);
	if (!within_rate(r))
		return false;
	if (!(r->token->scopes & scope)) {
		reply_error(r, 403, "forbidden", "Authorization", -1, "token %s lacks the scope this needs",
			    r->token->name);
		return false;
	}
	return true;
}

/* http.max_headers and http.max_header_size, answered 431 in the JSON shape. libevent measures
 * the same way (the request line and each header line, without line ends) and refuses twice
 * http.max_header_size itself, before the request reaches us. */
static bool headers_fit(struct http_req *r)
{
	const struct config_http *cfg = r->h->deps.cfg;
	const struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *uri = evhttp_request_get_uri(r->req);
	size_t n = 0, size = (uri ? strlen(uri) : 0) + REQUEST_LINE_EXTRA;
	const struct evkeyval *kv;

	TAILQ_FOREACH(kv, in, next) {
		n++;
		size += strlen(kv->key) + 2 + strlen(kv->value);
	}
	if ((int64_t)n > cfg->max_headers) {
		reply_error(r, 431, "too_many_headers", "", -1,
			    "%zu header fields exceed http.max_headers (%lld)", n,
			    (long long)cfg->max_headers);
		return false;
	}
	if ((int64_t)size > cfg->max_header_size) {
		reply_error(r, 431, "headers_too_large", "", -1,
			    "request line and headers of about %zu bytes exceed http.max_header_size "
			    "(%lld)",
			    size, (long long)cfg->max_header_size);
		return false;
	}
	return true;
}

/* Ready means events can be made durable; Kafka's state is reported, not required, since
 * HTTP ingestion works without it. */
static void get_readyz(struct http_req *r)
{
	const struct kafka_ingest *k = r->h->deps.kafka;
	const char *kafka = !k ? "off" : kafka_ingest_brokers_up(k) ? "ok" : "brokers_unreachable";
	char why[200];

	if (writer_ready(r->h->deps.writer)) {
		reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "status", "ready", "database", "ok",
					     "kafka", kafka));
		return;
	}
	/* The detail (libpq's message: hosts, socket paths) goes to the log, not to anonymous callers. */
	writer_status_text(r->h->deps.writer, why, sizeof(why));
	log_ev_debug("http", r->ctx, "not ready: %s", why);
	reply_error(r, 503, "not_ready", "", -1, "the database is unreachable or its schema is not current");
}

static void get_healthz(struct http_req *r, const char *path)
{
	reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void get_readyz_route(struct http_req *r, const char *path)
{
	get_readyz(r);
}

static void post_events(struct http_req *r, const char *path)
{
	http_events_post(r);
}

/* The API: method, path (a prefix when it ends in '/': the handler parses the rest), scope
 * needed (0: none), handler. */
static const struct route {
	enum evhttp_cmd_type method;
	const char *path;
	unsigned scope;
	void (*handle)(struct http_req *r, const char *path);
} routes[] = {
	{ EVHTTP_REQ_GET, "/healthz", 0, get_healthz },
	{ EVHTTP_REQ_GET, "/readyz", 0, get_readyz_route },
	{ EVHTTP_REQ_GET, "/metrics", 0, http_metrics_get },
	{ EVHTTP_REQ_POST, "/v1/events", AUTH_SCOPE_INGEST, post_events },
	{ EVHTTP_REQ_GET, "/v1/checkpoints/latest", AUTH_SCOPE_READ, http_evidence_get },
	{ EVHTTP_REQ_GET, "/v1/proofs/inclusion", AUTH_SCOPE_READ, http_evidence_get },
	{ EVHTTP_REQ_GET, "/v1/proofs/consistency", AUTH_SCOPE_READ, http_evidence_get },
	{ EVHTTP_REQ_GET, "/v1/reports/data-rights", AUTH_SCOPE_READ, http_reports_get },
	{ EVHTTP_REQ_GET, "/v1/reports/consent", AUTH_SCOPE_READ, http_reports_get },
	/* exact before prefix: GET /v1/subjects/lookup falls through to the prefix route (405) */
	{ EVHTTP_REQ_POST, "/v1/subjects/lookup", AUTH_SCOPE_READ, http_subjects_lookup },
	{ EVHTTP_REQ_GET, "/v1/subjects/", AUTH_SCOPE_READ, http_subjects_get },
	{ EVHTTP_REQ_PUT, "/v1/notices/", AUTH_SCOPE_ADMIN, http_notices_put },
	{ EVHTTP_REQ_GET, "/v1/notices/", AUTH_SCOPE_READ, http_notices_get },
};

static bool route_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '/')
		return strncmp(path, pattern, n) == 0 && path[n] != '\0';
	return strcmp(path, pattern) == 0;
}

/* Answers that libevent writes in more than one piece (evidence bundles, reports, proofs) would
 * otherwise wait for the client's delayed ACK of the first (Nagle): 40 ms per bundle on a
 * keep-alive connection. Reads get TCP_NODELAY; event answers are small single writes. */
static void no_delay(struct evhttp_request *req)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct bufferevent *bev = con ? evhttp_connection_get_bufferevent(con) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
}

static void route(struct evhttp_request *req, void *arg)
{
	struct http_ingest *h = arg;
	struct http_req *r;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	bool path_known = false;

	http_conns_request_read(h->conns, req);
	r = req_new(h, req);
	if (!r) {
		evhttp_send_error(req, 503, "Out of memory");
		return;
	}
	if (!headers_fit(r))
		return;
	if (method == EVHTTP_REQ_GET)
		no_delay(req);
	if (!path)
		path = "/";
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!route_matches(routes[i].path, path))
			continue;
		path_known = true;
		if (routes[i].method != method)
			continue;
		if (!routes[i].scope || authorize(r, routes[i].scope))
			routes[i].handle(r, path);
		return;
	}
	if (path_known)
		reply_error(r, 405, "method_not_allowed", "", -1, "method not allowed on %s", path);
	else
		reply_error(r, 404, "not_found", "", -1, "no such endpoint");
}

struct http_ingest *http_ingest_new(struct event_base *base, const struct http_deps *deps)
{
	struct http_ingest *h = calloc(1, sizeof(*h));
	struct timeval idle;
	uint8_t seed[UUID_LEN];

	if (!h)
		return NULL;
	h->base = base;
	h->deps = *deps;
	if (uuid_random(seed) < 0) {
		free(h);
		return NULL;
	}
	memcpy(h->request_prefix, seed, sizeof(h->request_prefix));
	h->http = evhttp_new(base);
	h->reports = http_reports_new(h);
	h->rate = http_ratelimit_new(deps->cfg->rate_limit, deps->cfg->rate_burst);
	if (!h->http || !h->reports || !h->rate) {
		if (h->http)
			evhttp_free(h->http);
		http_reports_free(h->reports);
		http_ratelimit_free(h->rate);
		free(h);
		return NULL;
	}
	/* libevent's timeout: restarted by every byte, so it only catches silent connections;
	 * http_conn.c bounds a whole request with http.read_timeout */
	idle.tv_sec = deps->cfg->idle_timeout / 1000;
	idle.tv_usec = (deps->cfg->idle_timeout % 1000) * 1000;
	evhttp_set_timeout_tv(h->http, &idle);
	/* evhttp answers a body or header block over its own limits with an HTML 413 or 400 that
	 * we cannot shape, so its limits are twice ours: sizes between the two get the JSON errors
	 * of parse_body() and headers_fit(). */
	evhttp_set_max_body_size(h->http, 2 * deps->cfg->max_body);
	evhttp_set_max_headers_size(h->http, 2 * deps->cfg->max_header_size);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						    EVHTTP_REQ_HEAD);
	evhttp_set_default_content_type(h->http, "application/json");
	evhttp_set_gencb(h->http, route, h);
	return h;
}

/* "host:port", "[v6]:port". */
static int split_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
	const char *colon = strrchr(listen, ':');
	const char *start = listen, *end = colon;
	char *tail;
	unsigned long p;

	if (!colon)
		return -EINVAL;
	if (*start == '[' && end > start && end[-1] == ']') {
		start++;
		end--;
	}
	if ((size_t)(end - start) >= hostlen)
		return -EINVAL;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	p = strtoul(colon + 1, &tail, 10);
	if (*tail || p == 0 || p > 65535)
		return -EINVAL;
	*port = (unsigned)p;
	return 0;
}

int http_ingest_start(struct http_ingest *h, char *err, size_t errlen)
{
	const struct config_http *cfg = h->deps.cfg;
	char host[256];
	unsigned port;

	if (split_listen(cfg->listen, host, sizeof(host), &port) < 0) {
		snprintf(err, errlen, "[http] listen: \"%s\" is not host:port", cfg->listen);
		return -EINVAL;
	}
	if (cfg->tls_cert_file[0] && !(h->tls = http_tls_new(cfg, err, errlen)))
		return -EINVAL;
	h->conns = http_conns_new(h->base, h->http, cfg, h->tls);
	if (!h->conns) {
		snprintf(err, errlen, "[http] out of memory");
		return -ENOMEM;
	}
	h->listener = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
	if (!h->listener) {
		snprintf(err, errlen, "[http] listen: cannot listen on %s: %s", cfg->listen,
			 strerror(errno ? errno : EADDRINUSE));
		return -EADDRINUSE;
	}
	http_conns_listen(h->conns, evhttp_bound_socket_get_listener(h->listener));
	log_info("http", "listening on %s (%s)", cfg->listen, h->tls ? "https" : "http");
	return 0;
}

void http_ingest_reload(struct http_ingest *h, const struct config_http *cfg)
{
	char err[512];

	if (!h)
		return;
	if (!h->tls != !cfg->tls_cert_file[0]) {
		log_warn("http", "reload: turning TLS %s needs a restart; kept as it is",
			 h->tls ? "off" : "on");
		return;
	}
	if (h->tls && http_tls_reload(h->tls, cfg, err, sizeof(err)) < 0)
		log_error("http", "reload: %s; new connections keep the previous certificate", err);
}

void http_ingest_stop_accepting(struct http_ingest *h)
{
	if (h && h->listener) {
		http_conns_listen(h->conns, NULL);
		evhttp_del_accept_socket(h->http, h->listener);
		h->listener = NULL;
	}
}

void http_ingest_free(struct http_ingest *h)
{
	if (!h)
		return;
	http_ingest_stop_accepting(h);
	http_reports_free(h->reports); /* before the connections its streams answer on go */
	evhttp_free(h->http);          /* closes every connection: http_conn.c's close callbacks */
	http_conns_free(h->conns);
	http_tls_free(h->tls);
	http_ratelimit_free(h->rate);
	free(h);
}
