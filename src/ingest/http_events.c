/* POST /v1/events: body -> events -> validate, pseudonymise, encode -> one writer unit (atomic)
 * -> answer when the unit's transaction has committed, or 503 at http.request_timeout. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log/log.h"
#include "metrics/metrics.h"

/* The events of one request, whichever encoding they came in. */
struct parsed {
	Consentd__V1__Event **events;
	size_t n;
	Consentd__V1__EventBatch *pb; /* owns events when the body was protobuf */
	bool batch;
};

static void parsed_free(struct parsed *p)
{
	if (p->pb) {
		consentd__v1__event_batch__free_unpacked(p->pb, NULL);
	} else {
		for (size_t i = 0; i < p->n; i++)
			event_release(p->events[i]);
		free(p->events);
	}
}

static const char *media_type(struct http_req *r, bool *json)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
	size_t len;

	*json = true;
	if (!ct)
		return "application/json";
	len = strcspn(ct, "; \t");
	if (len == 16 && strncasecmp(ct, "application/json", len) == 0)
		return ct;
	*json = false;
	if (len == 22 && strncasecmp(ct, "application/x-protobuf", len) == 0)
		return ct;
	return NULL;
}

static int parse_protobuf(struct http_req *r, const uint8_t *body, size_t len, struct parsed *p)
{
	p->pb = consentd__v1__event_batch__unpack(NULL, len, body);
	if (!p->pb) {
		reply_error(r, 400, "malformed_protobuf", "", -1, "body is not a consentd.v1.EventBatch");
		return -EINVAL;
	}
	p->events = p->pb->events;
	p->n = p->pb->n_events;
	p->batch = true;
	return 0;
}

static int json_events(struct http_req *r, json_t *root, struct parsed *p)
{
	size_t n = json_is_array(root) ? json_array_size(root) : 1;
	struct event_error err;

	p->batch = json_is_array(root);
	p->events = calloc(n ? n : 1, sizeof(*p->events));
	if (!p->events) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *obj = p->batch ? json_array_get(root, i) : root;

		p->events[i] = event_from_json(obj, &err);
		if (!p->events[i]) {
			reply_error(r, err.status, err.code, err.field, p->batch ? (long)i : -1, "%s",
				    err.message);
			return -EINVAL;
		}
		p->n = i + 1;
	}
	return 0;
}

static int parse_json(struct http_req *r, const char *body, size_t len, struct parsed *p)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	int rc;

	if (!root) {
		reply_error(r, 400, "malformed_json", "", -1, "body is not JSON: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(root) && !json_is_array(root)) {
		reply_error(r, 400, "wrong_type", "", -1, "body must be an event object or an array of events");
		json_decref(root);
		return -EINVAL;
	}
	rc = json_events(r, root, p);
	json_decref(root);
	return rc;
}

static int parse_body(struct http_req *r, struct parsed *p)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const struct config_http *cfg = http_ingest_deps(r->h)->cfg;
	const uint8_t *body;
	bool json;

	if ((int64_t)len > cfg->max_body) {
		reply_error(r, 413, "body_too_large", "", -1, "body of %zu bytes exceeds http.max_body (%lld)",
			    len, (long long)cfg->max_body);
		return -E2BIG;
	}
	if (!media_type(r, &json)) {
		reply_error(r, 415, "unsupported_media_type", "Content-Type", -1,
			    "send application/json or application/x-protobuf");
		return -EINVAL;
	}
	body = evbuffer_pullup(in, -1);
	if (!body && len) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return -ENOMEM;
	}
	return json ? parse_json(r, (const char *)body, len, p) : parse_protobuf(r, body, len, p);
}

static int check_count(struct http_req *r, const struct parsed *p)
{
	int64_t max = http_ingest_deps(r->h)->cfg->max_batch;

	if (p->n == 0) {
		reply_error(r, 422, "empty_batch", "", -1, "the batch holds no event");
		return -EINVAL;
	}
	if ((int64_t)p->n > max) {
		reply_error(r, 413, "batch_too_large", "", -1, "%zu events exceed http.max_batch (%lld)",
			    p->n, (long long)max);
		return -E2BIG;
	}
	return 0;
}

static bool repeated_id(const struct writer_unit *u, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (memcmp(u->items[i].event_id, u->items[k].event_id, UUID_LEN) == 0)
			return true;
	return false;
}

/* Validates, pseudonymises and encodes every event into the unit; answers on the first fault. */
static int prepare(struct http_req *r, struct parsed *p, struct writer_unit *u)
{
	const struct http_deps *d = http_ingest_deps(r->h);
	int64_t now = now_us();
	struct event_error err;

	for (size_t i = 0; i < p->n; i++) {
		long index = p->batch ? (long)i : -1;

		if (event_validate(p->events[i], d->policy, now, &err) < 0) {
			reply_error(r, err.status, err.code, err.field, index, "%s", err.message);
			return -EINVAL;
		}
		if (event_pseudonymize(p->events[i], d->keys) < 0 ||
		    writer_item_set(&u->items[i], p->events[i]) < 0) {
			reply_error(r, 503, "overloaded", "", index, "out of memory");
			return -ENOMEM;
		}
		if (repeated_id(u, i)) {
			reply_error(r, 422, "duplicate_event_id", "event_id", index,
				    "event_id %s appears twice in this batch", p->events[i]->event_id);
			return -EINVAL;
		}
	}
	return 0;
}

/* {"event_id","seq","leaf_hash","duplicate"}: every value is a UUID, a number, hex or a bool,
 * so the answer is written directly (jansson's object building was a seventh of the event
 * loop's time at one event per request). */
static void item_text(struct buf *out, const struct writer_item *it)
{
	char id[UUID_STR_LEN + 1], leaf[2 * WRITER_HASH_LEN + 1];

	uuid_format(it->event_id, id);
	hex_encode(it->leaf_hash, WRITER_HASH_LEN, leaf);
	buf_printf(out, "{\"event_id\":\"%s\",\"seq\":%llu,\"leaf_hash\":\"%s\",\"duplicate\":%s}",
		   id, (unsigned long long)it->seq, leaf, it->duplicate ? "true" : "false");
}

static void reply_committed(struct http_req *r, struct writer_unit *u)
{
	struct buf out = { 0 };
	bool any_new = false;
	size_t dups = 0;

	if (r->batch)
		buf_printf(&out, "{\"results\":[");
	for (size_t i = 0; i < u->n; i++) {
		if (i)
			buf_append_u8(&out, ',');
		item_text(&out, &u->items[i]);
		any_new |= !u->items[i].duplicate;
		dups += u->items[i].duplicate;
	}
	buf_printf(&out, "%s\n", r->batch ? "]}" : "");
	/* Every acknowledged event is in the ledger; this line is for debugging, not an audit log. */
	log_ev_debug("http", r->ctx, "committed events=%zu first_seq=%llu new=%s", u->n,
		     (unsigned long long)u->items[0].seq, any_new ? "yes" : "no");
	metrics_acked(http_ingest_deps(r->h)->metrics, METRICS_SOURCE_HTTP, u->n - dups, dups,
		      now_us() - u->received_at_us);
	r->events = 0; /* acknowledged: not a refusal, whatever the answer */
	if (!out.data || out.data[out.len - 1] != '\n')
		/* committed, but the answer could not be built: a retry is answered as a duplicate */
		reply_error(r, 503, "out_of_memory", "", -1, "stored, but no memory to answer; retry");
	else
		reply_text(r, any_new ? 201 : 200, "application/json", (const char *)out.data, out.len);
	buf_free(&out);
}

/* Writer -> loop: the unit's outcome is final. r is NULL if the request already timed out. */
static void unit_done(struct writer_unit *u, void *arg)
{
	struct http_req *r = arg;
	char id[UUID_STR_LEN + 1];

	if (!r) {
		writer_unit_free(u);
		return;
	}
	http_ingest_track(r->h, -1);
	r->unit = NULL;
	if (u->status == WRITER_COMMITTED) {
		reply_committed(r, u);
	} else if (u->status == WRITER_CONFLICT) {
		uuid_format(u->items[u->conflict_index].event_id, id);
		reply_error(r, 409, "event_id_conflict", "event_id", r->batch ? (long)u->conflict_index : -1,
			    "event_id %s is already stored with different content", id);
	} else if (u->status == WRITER_INVALID) {
		reply_error(r, 409, "invalid_transition", "data_rights.stage",
			    r->batch ? (long)u->conflict_index : -1, "%s", u->error);
	} else {
		reply_error(r, 503, "database_unavailable", "", -1,
			    "not confirmed as stored (%s); retry with the same event_id", u->error);
	}
	writer_unit_free(u);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_req *r = arg;

	r->unit->arg = NULL; /* the writer still owns the unit; its done callback will free it */
	r->unit = NULL;
	http_ingest_track(r->h, -1);
	reply_error(r, 503, "database_unavailable", "", -1,
		    "not committed within http.request_timeout; the outcome is unknown: retry with the same event_id");
}

void http_submit(struct http_req *r, struct writer_unit *u, writer_done_fn *done)
{
	const struct http_deps *d = http_ingest_deps(r->h);
	struct timeval tv = { d->cfg->request_timeout / 1000, (d->cfg->request_timeout % 1000) * 1000 };
	int rc;

	u->received_at_us = now_us();
	u->done_cb = done;
	u->arg = r;
	snprintf(u->peer, sizeof(u->peer), "%s", r->peer);
	snprintf(u->request_id, sizeof(u->request_id), "%s", r->request_id);
	r->timeout_ev = evtimer_new(http_ingest_base(r->h), timeout_cb, r);
	rc = r->timeout_ev ? writer_submit(d->writer, u) : -ENOMEM;
	if (rc < 0) {
		writer_unit_free(u);
		if (rc == -ENOTCONN)
			reply_error(r, 503, "database_unavailable", "", -1, "the database is unreachable");
		else
			reply_error(r, 503, "overloaded", "", -1, "the ledger writer queue is full");
		return;
	}
	r->unit = u;
	http_ingest_track(r->h, +1);
	evtimer_add(r->timeout_ev, &tv);
}

void http_events_post(struct http_req *r)
{
	struct parsed p = { 0 };
	struct writer_unit *u = NULL;

	r->events = 1; /* a body that does not parse counts as one refused event */
	if (parse_body(r, &p) < 0)
		goto out;
	r->events = p.n ? p.n : 1;
	if (check_count(r, &p) < 0)
		goto out;
	r->batch = p.batch;
	u = writer_unit_new(p.n);
	if (!u) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		goto out;
	}
	if (prepare(r, &p, u) < 0) {
		writer_unit_free(u);
		goto out;
	}
	http_submit(r, u, unit_done);
out:
	parsed_free(&p);
}
