/* Report endpoints (scope read): GET /v1/reports/data-rights and GET /v1/reports/consent,
 * streamed with chunked transfer encoding.
 *
 * Each report runs on a thread of its own with a PostgreSQL connection of its own (store/report.h:
 * one snapshot, a cursor), never on the loop: a long export must not hold up the reader thread's
 * proofs, and a transaction with an open cursor cannot share a connection with them. At most
 * HTTP_REPORTS_MAX run at once; more get 503.
 *
 * Flow control: the thread hands rendered chunks to the loop through a slot of one chunk and
 * waits while the slot is full; the loop sends a chunk with evhttp_send_reply_chunk_with_cb and
 * empties the slot again only once the client has drained the previous chunk. Memory per report
 * is therefore about three chunks (one being rendered, one in the slot, one in the socket
 * buffer), whatever the report's size and the client's speed.
 *
 * The reply (200 and headers) starts with the first chunk, so what fails before any byte (a
 * period out of limits, the database unreachable) still gets the JSON error shape. A failure after
 * that closes the connection without the terminating chunk: the client sees a truncated transfer,
 * never a short report that looks complete.
 *
 * Lifetimes: the loop owns a stream. Its thread touches only the fields under mu and ready_ev,
 * and the loop frees the stream only after joining the thread. Every state change on the loop
 * happens in ready_cb (activated by the thread, by the drain callback and by the close
 * callback), never inside libevent's connection callbacks. A client that goes away (closecb)
 * cancels the stream; libevent has then detached the request, which ready_cb frees once the
 * thread has stopped. The close callback is cleared before every reply ends, so a keep-alive
 * connection never calls back into a freed stream. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "export/report.h"
#include "log/log.h"
#include "store/report.h"
#include "store/store.h"

#define HTTP_REPORTS_MAX 4

struct report_stream {
	struct http_reports *owner;
	struct report_stream *next;
	struct http_req *r;	       /* NULL once answered with an error */
	struct evhttp_connection *con; /* NULL once the client has gone */
	struct report_query q;	       /* resolved by the thread before its first chunk */
	struct event *ready_ev;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	struct buf slot; /* a rendered chunk waiting for the loop */
	bool cancelled;
	bool finished; /* the thread is done (rc, err, field set) */
	int rc;
	const char *field; /* static string */
	char err[256];
	uint64_t rows, bytes;
	/* loop only */
	struct buf out;
	bool started;	   /* 200 and headers sent */
	bool writing;	   /* a chunk is in the socket buffer, not yet drained */
	bool gone;	   /* the client closed the connection */
	bool req_detached; /* ...and libevent left the request to us */
};

struct http_reports {
	struct http_ingest *h;
	struct report_stream *streams;
	size_t n;
};

struct http_reports *http_reports_new(struct http_ingest *h)
{
	struct http_reports *rep = calloc(1, sizeof(*rep));

	if (rep)
		rep->h = h;
	return rep;
}

/* ---- the stream's thread ------------------------------------------------------------------- */

/* Waits until the loop has taken the previous chunk, then puts this one in the slot. */
static int sink_write(struct buf *chunk, uint64_t rows, void *arg)
{
	struct report_stream *s = arg;
	struct buf empty;

	pthread_mutex_lock(&s->mu);
	while (s->slot.len && !s->cancelled)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->cancelled) {
		pthread_mutex_unlock(&s->mu);
		return -ECANCELED;
	}
	empty = s->slot;
	s->slot = *chunk;
	*chunk = empty;
	s->rows = rows;
	s->bytes += s->slot.len;
	pthread_mutex_unlock(&s->mu);
	event_active(s->ready_ev, EV_READ, 0);
	return 0;
}

static void *stream_main(void *arg)
{
	struct report_stream *s = arg;
	const struct config_postgres *pg = http_ingest_deps(s->owner->h)->postgres;
	struct store_report_sink sink = {sink_write, s};
	const char *field = "";
	char err[sizeof(s->err)] = "";
	int64_t today;
	PGconn *c =
	    store_connect(pg->conninfo, pg->connect_timeout, "consentd-report", err, sizeof(err));
	int rc =
	    c ? store_report_run(c, &s->q, &today, &sink, &field, err, sizeof(err)) : -ENOTCONN;

	PQfinish(c);
	pthread_mutex_lock(&s->mu);
	s->rc = rc;
	s->field = field;
	memcpy(s->err, err, sizeof(err));
	s->finished = true;
	pthread_mutex_unlock(&s->mu);
	event_active(s->ready_ev, EV_READ, 0);
	return NULL;
}

/* ---- the loop side -------------------------------------------------------------------------- */

static void cancel(struct report_stream *s)
{
	pthread_mutex_lock(&s->mu);
	s->cancelled = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Frees a stream whose thread has been joined and whose request is answered or released. */
static void stream_free(struct report_stream *s)
{
	struct report_stream **p = &s->owner->streams;

	while (*p != s)
		p = &(*p)->next;
	*p = s->next;
	s->owner->n--;
	http_ingest_track(s->owner->h, -1);
	event_free(s->ready_ev);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	buf_free(&s->slot);
	buf_free(&s->out);
	http_req_free(s->r);
	free(s);
}

static void release_connection(struct report_stream *s)
{
	if (s->con)
		http_conns_on_close(http_ingest_conns(s->owner->h), s->con, NULL, NULL);
}

static void drained_cb(struct evhttp_connection *con, void *arg)
{
	struct report_stream *s = arg;

	s->writing = false;
	event_active(s->ready_ev, EV_READ, 0);
}

/* libevent detached the request from the connection (EOF or timeout) and is freeing the latter. */
static void close_cb(struct evhttp_connection *con, void *arg)
{
	struct report_stream *s = arg;

	s->gone = true;
	s->req_detached = evhttp_request_get_connection(s->r->req) == NULL;
	s->con = NULL;
	cancel(s);
	event_active(s->ready_ev, EV_READ, 0);
}

static void start_reply(struct report_stream *s)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(s->r->req);
	char name[96], disposition[128];

	report_file_name(&s->q, name, sizeof(name));
	snprintf(disposition, sizeof(disposition), "%s; filename=\"%s\"",
		 s->q.format == REPORT_FORMAT_CSV ? "attachment" : "inline", name);
	evhttp_add_header(out, "Content-Type", report_content_type(s->q.format));
	evhttp_add_header(out, "Content-Disposition", disposition);
	evhttp_add_header(out, "X-Request-Id", s->r->request_id);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	if (s->q.format == REPORT_FORMAT_HTML)
		evhttp_add_header(out, "Content-Security-Policy",
				  "default-src 'none'; style-src 'unsafe-inline'");
	evhttp_send_reply_start(s->r->req, 200, "OK");
	s->started = true;
}

static void send_chunk(struct report_stream *s)
{
	struct evbuffer *b = evbuffer_new();

	if (!s->started)
		start_reply(s);
	if (b && evbuffer_add(b, s->out.data, s->out.len) == 0) {
		evhttp_send_reply_chunk_with_cb(s->r->req, b, drained_cb, s);
		s->writing = true;
	} else {
		log_ev_warn("http", s->r->ctx, "report: out of memory, closing the connection");
		cancel(s);
	}
	if (b)
		evbuffer_free(b);
	buf_reset(&s->out);
}

/* Before any byte: the JSON error shape. */
static void reply_failure(struct report_stream *s)
{
	struct http_req *r = s->r;

	s->r = NULL; /* reply_error frees it */
	if (s->rc == -EDOM) {
		reply_error(r, 422, "invalid_value", s->field, -1, "%s", s->err);
		return;
	}
	if (s->rc == -ENOTCONN) {
		reply_error(r, 503, "database_unavailable", "", -1, "the database is unreachable");
		return;
	}
	/* The detail (libpq's message) goes to the log only. */
	log_ev_warn("http", r->ctx, "report: %s", s->rc == -EIO ? s->err : strerror(-s->rc));
	reply_error(r, 503, "database_unavailable", "", -1, "the report query failed");
}

/* The thread is done and every chunk sent: end the reply one way or another, free the stream. */
static void finish(struct report_stream *s)
{
	const char *ctx = s->r->ctx;

	pthread_join(s->thread, NULL);
	release_connection(s);
	if (s->gone) {
		log_ev_info("http", ctx,
			    "report cancelled: the client went away after %" PRIu64 " bytes",
			    s->bytes);
		if (s->req_detached)
			evhttp_request_free(s->r->req);
	} else if (s->rc == 0) {
		log_ev_info("http", ctx, "200 report: %" PRIu64 " rows, %" PRIu64 " bytes", s->rows,
			    s->bytes);
		if (!s->started)
			start_reply(s);
		evhttp_send_reply_end(s->r->req);
	} else if (s->started) {
		log_ev_warn("http", ctx,
			    "report failed after %" PRIu64 " bytes (%s): closing the "
			    "connection",
			    s->bytes, s->rc == -EIO ? s->err : strerror(-s->rc));
		evhttp_connection_free(s->con); /* frees the request too */
	} else {
		reply_failure(s);
	}
	stream_free(s);
}

static void ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct report_stream *s = arg;
	bool take = false, done;

	if (s->writing && !s->gone)
		return; /* drained_cb activates us again */
	pthread_mutex_lock(&s->mu);
	if (s->slot.len) {
		struct buf empty = s->out;

		s->out = s->slot;
		s->slot = empty;
		take = !s->gone && !s->cancelled;
		pthread_cond_signal(&s->cv);
	}
	done = s->finished && s->slot.len == 0;
	pthread_mutex_unlock(&s->mu);
	if (take) {
		send_chunk(s);
		return;
	}
	buf_reset(&s->out); /* nobody to send it to */
	if (done)
		finish(s);
}

/* ---- the request ---------------------------------------------------------------------------- */

/* Parses the query string into q; answers 400/422 and returns false on a bad one. */
static bool parse_query(struct http_req *r, struct report_query *q)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	struct evkeyvalq params;
	struct evkeyval *kv;
	char why[200];
	int rc = 0;

	TAILQ_INIT(&params);
	if (evhttp_parse_query_str(query ? query : "", &params) < 0) {
		reply_error(r, 400, "malformed_query", "", -1, "the query string cannot be parsed");
		return false;
	}
	for (kv = TAILQ_FIRST(&params); kv; kv = TAILQ_NEXT(kv, next)) {
		if ((rc = report_query_set(q, kv->key, kv->value, why, sizeof(why))) < 0) {
			reply_error(r, 422, rc == -ENOENT ? "unknown_parameter" : "invalid_value",
				    kv->key, -1, "%s", why);
			break;
		}
	}
	evhttp_clear_headers(&params);
	return rc == 0;
}

static struct report_stream *stream_new(struct http_reports *rep, struct http_req *r)
{
	struct report_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->owner = rep;
	s->r = r;
	s->con = evhttp_request_get_connection(r->req);
	s->ready_ev = event_new(http_ingest_base(rep->h), -1, 0, ready_cb, s);
	if (!s->ready_ev) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

void http_reports_get(struct http_req *r, const char *path)
{
	struct http_reports *rep = http_ingest_reports(r->h);
	bool consent = strcmp(path, "/v1/reports/consent") == 0;
	struct report_query q;
	struct report_stream *s;

	report_query_init(&q, consent ? REPORT_CONSENT : REPORT_DATA_RIGHTS);
	if (!parse_query(r, &q))
		return;
	if (rep->n >= HTTP_REPORTS_MAX) {
		reply_error(r, 503, "too_many_reports", "", -1,
			    "%d reports are being produced; try again shortly", HTTP_REPORTS_MAX);
		return;
	}
	if (!(s = stream_new(rep, r))) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return;
	}
	s->q = q;
	if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
		event_free(s->ready_ev);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		free(s);
		reply_error(r, 503, "overloaded", "", -1, "cannot start the report");
		return;
	}
	s->next = rep->streams;
	rep->streams = s;
	rep->n++;
	http_ingest_track(r->h, +1);
	if (s->con)
		http_conns_on_close(http_ingest_conns(r->h), s->con, close_cb, s);
}

/* Shutdown, before evhttp_free: stop every thread; evhttp_free then frees the connections and
 * the requests still attached to them. */
void http_reports_free(struct http_reports *rep)
{
	if (!rep)
		return;
	while (rep->streams) {
		struct report_stream *s = rep->streams;

		cancel(s);
		pthread_join(s->thread, NULL);
		release_connection(s);
		if (s->gone && s->req_detached)
			evhttp_request_free(s->r->req);
		stream_free(s);
	}
	free(rep);
}
