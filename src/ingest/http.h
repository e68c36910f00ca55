/* The HTTP source (libevent evhttp): POST /v1/events, health and readiness. It validates and
 * encodes events, hands them to the ledger writer and answers once their transaction commits. */
#ifndef CONSENTD_HTTP_H
#define CONSENTD_HTTP_H

#include <event2/event.h>
#include <stddef.h>

#include "auth/tokens.h"
#include "config/config.h"
#include "event/event.h"
#include "ingest/kafka.h"
#include "store/reader.h"
#include "store/writer.h"

/* What the HTTP source borrows from the daemon; everything must outlive it. tokens points to
 * the daemon's current token set, which SIGHUP may swap. */
struct http_deps {
	const struct config_http *cfg;
	const struct event_policy *policy;
	const struct subject_keyring *keys;
	struct auth_tokens *const *tokens;
	struct writer *writer;
	const struct kafka_ingest *kafka; /* NULL when Kafka is off */
	struct reader *reader;            /* read queries (proofs, checkpoints) */
	const struct config_postgres *postgres; /* report streams open connections of their own */
	struct metrics *metrics;          /* NULL: no GET /metrics, nothing counted */
};

struct http_ingest;
struct metrics;

struct http_ingest *http_ingest_new(struct event_base *base, const struct http_deps *deps);
/* Binds http.listen; -errno with err naming the address on failure. With http.tls_cert_file
 * set, HTTPS only; a certificate, key or CA file that does not load is an error here. */
int http_ingest_start(struct http_ingest *h, char *err, size_t errlen);
/* SIGHUP: rereads the TLS certificate, key and CA files that cfg names, for new connections;
 * if they do not load, the error is logged and the running ones stay. The rest of cfg is not
 * applied (it needs a restart); turning TLS on or off is refused with a warning. */
void http_ingest_reload(struct http_ingest *h, const struct config_http *cfg);
/* Stops accepting connections (drain); requests in flight still get their answers. */
void http_ingest_stop_accepting(struct http_ingest *h);
/* Requests waiting for the writer. */
size_t http_ingest_pending(const struct http_ingest *h);
void http_ingest_free(struct http_ingest *h);

/* ---- internal to ingest/: shared by http.c, http_events.c and reply.c -------------------- */
struct evhttp_request;

/* Per-request context: created when a request arrives, freed when it is answered (or, if it
 * was handed to the writer and timed out, when the writer hands the unit back). */
struct http_req {
	struct evhttp_request *req;
	struct http_ingest *h;
	char request_id[64];
	char peer[64];
	char ctx[160];             /* "request_id=... peer=..." for log lines */
	const struct auth_token *token;
	struct event *timeout_ev;
	struct writer_unit *unit;  /* while the writer holds it */
	bool batch;                /* answer with {"results": [...]} */
	size_t events;             /* POST /v1/events: events an error answer refuses (metrics) */
};

const struct http_deps *http_ingest_deps(const struct http_ingest *h);
struct event_base *http_ingest_base(const struct http_ingest *h);
void http_ingest_track(struct http_ingest *h, int delta);

void http_events_post(struct http_req *r);
/* Hands u to the writer with done as its callback (on the loop, once the unit is durable or has
 * failed). Answers 503 at once if it cannot be queued, and 503 after http.request_timeout if the
 * writer has not answered by then (done then gets the unit with arg NULL and must only free it). */
void http_submit(struct http_req *r, struct writer_unit *u, writer_done_fn *done);
void http_evidence_get(struct http_req *r, const char *path);
/* GET /metrics (http_metrics.c). */
void http_metrics_get(struct http_req *r, const char *path);

/* Report streams (http_reports.c): GET /v1/reports/data-rights and /v1/reports/consent. */
struct http_reports;
struct http_reports *http_reports_new(struct http_ingest *h);
/* Cancels every stream and joins its thread; call before evhttp_free. Accepts NULL. */
void http_reports_free(struct http_reports *rep);
struct http_reports *http_ingest_reports(const struct http_ingest *h);
void http_reports_get(struct http_req *r, const char *path);
void http_subjects_lookup(struct http_req *r, const char *path);
void http_subjects_get(struct http_req *r, const char *path);
void http_notices_put(struct http_req *r, const char *path);
void http_notices_get(struct http_req *r, const char *path);

/* ---- connections (http_conn.c) ------------------------------------------------------------
 * Every connection's bufferevent (plain, or TLS from tls), http.max_connections (the listener
 * pauses at the limit), http.read_timeout (a request must arrive whole within it), and every
 * connection's close callback, which handlers reach through http_conns_on_close only. */
struct bufferevent;
struct evconnlistener;
struct evhttp;
struct evhttp_connection;
struct http_conns;
struct http_tls;

/* Registers itself as evhttp's bufferevent callback. tls (NULL: plain HTTP) and cfg are
 * borrowed and must outlive the table. */
struct http_conns *http_conns_new(struct event_base *base, struct evhttp *http,
				  const struct config_http *cfg, struct http_tls *tls);
/* The listener to pause at http.max_connections; NULL once it is gone (draining). */
void http_conns_listen(struct http_conns *cs, struct evconnlistener *listener);
/* route(): req has arrived whole; its read deadline stops until it is answered. */
void http_conns_request_read(struct http_conns *cs, struct evhttp_request *req);
/* cb(con, arg) runs when con closes, before libevent frees it; cb NULL clears it. Handlers use
 * this, never evhttp_connection_set_closecb, which would unhook the table's own. */
void http_conns_on_close(struct http_conns *cs, struct evhttp_connection *con,
			 void (*cb)(struct evhttp_connection *, void *), void *arg);
size_t http_conns_open(const struct http_conns *cs);
/* After evhttp_free, which closes the connections. Accepts NULL. */
void http_conns_free(struct http_conns *cs);
struct http_conns *http_ingest_conns(const struct http_ingest *h);

/* ---- TLS (http_tls.c): an OpenSSL context from http.tls_*_file, one bufferevent per
 * connection. A connection keeps the context it started with. */
/* NULL with err ("[http] tls_key_file: ...") if a file does not load. */
struct http_tls *http_tls_new(const struct config_http *cfg, char *err, size_t errlen);
/* Builds a context from cfg's files for the connections to come; on failure -errno with err,
 * and the previous context stays. */
int http_tls_reload(struct http_tls *t, const struct config_http *cfg, char *err, size_t errlen);
/* A bufferevent that accepts a TLS handshake on the socket evhttp will set; NULL if out of
 * memory. */
struct bufferevent *http_tls_bufferevent(struct http_tls *t, struct event_base *base);
/* True, with OpenSSL's reason, if bev (of http_tls_bufferevent) ended on a TLS error such as
 * a refused handshake; a client closing without close_notify is no error. */
bool http_tls_failed(struct bufferevent *bev, char *why, size_t whylen);
void http_tls_free(struct http_tls *t);

/* ---- per-token rate limit (http_ratelimit.c): a token bucket per token name, refilled at
 * rate requests per second up to burst. Pure: the caller passes a monotonic time. */
struct http_ratelimit;

/* rate 0: no limit (take always allows); burst 0: burst = rate. NULL if out of memory. */
struct http_ratelimit *http_ratelimit_new(int64_t rate, int64_t burst);
/* Takes one request of name's budget: 0 if allowed, else the microseconds until one will be
 * (nothing taken). A name it cannot allocate a bucket for is allowed. */
int64_t http_ratelimit_take(struct http_ratelimit *rl, const char *name, int64_t now_us);
void http_ratelimit_free(struct http_ratelimit *rl);

/* Answers and frees r. body is stolen. */
void reply_json(struct http_req *r, int status, json_t *body);
void reply_error(struct http_req *r, int status, const char *code, const char *field, long index,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void reply_text(struct http_req *r, int status, const char *content_type, const char *body, size_t len);
void http_req_free(struct http_req *r);

#endif
