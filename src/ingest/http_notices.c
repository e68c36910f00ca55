/* Notices: PUT /v1/notices/{sha256} (scope admin) stores the exact body as a ledger entry of its
 * own through the ledger writer, answering after commit; GET /v1/notices/{sha256} (scope read)
 * serves it back with its content type, read on the reader thread. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "store/subject.h"

#define PREFIX	"/v1/notices/"
#define HEX_LEN (2 * EVENT_HASH_LEN)

/* A lookup of one stored notice: for GET, and for a PUT whose notice was already stored. */
struct notice_job {
	struct reader_job job; /* first: the job is the notice_job */
	struct http_req *r;
	uint8_t sha[EVENT_HASH_LEN];
	bool put; /* answer as a PUT of an existing notice (200) */
	struct subject_entries found;
	Consentd__V1__LedgerEntry *e; /* the notice's entry, decoded */
	char err[256];
};

/* {sha256}: 0, or answered and -EINVAL. */
static int parse_path(struct http_req *r, const char *path, uint8_t sha[EVENT_HASH_LEN])
{
	const char *hex = path + strlen(PREFIX);

	if (strlen(hex) == HEX_LEN && hex_decode(hex, HEX_LEN, sha, EVENT_HASH_LEN) == 0)
		return 0;
	reply_error(r, 422, "invalid_value", "sha256", -1,
		    "the address is the SHA-256 of the notice's content, 64 hex digits");
	return -EINVAL;
}

static json_t *stored_json(const uint8_t sha[EVENT_HASH_LEN], uint64_t seq,
			   const uint8_t leaf_hash[WRITER_HASH_LEN])
{
	char hex[HEX_LEN + 1], leaf[2 * WRITER_HASH_LEN + 1], id[UUID_STR_LEN + 1];
	uint8_t raw[UUID_LEN];

	hex_encode(sha, EVENT_HASH_LEN, hex);
	hex_encode(leaf_hash, WRITER_HASH_LEN, leaf);
	event_notice_id(sha, raw);
	uuid_format(raw, id);
	return json_pack("{s:s, s:I, s:s, s:s}", "content_sha256", hex, "seq", (json_int_t)seq,
			 "leaf_hash", leaf, "event_id", id);
}

/* ---- lookups ------------------------------------------------------------------------------ */

static int notice_run(PGconn *c, struct reader_job *job)
{
	struct notice_job *n = (struct notice_job *)job;
	const struct subject_entry *it;
	int rc = store_notices(c, (const uint8_t(*)[EVENT_HASH_LEN])n->sha, 1, &n->found, n->err,
			       sizeof(n->err));

	if (rc < 0)
		return rc;
	if (n->found.n == 0) {
		snprintf(n->err, sizeof(n->err), "no notice with this SHA-256 is stored");
		return -ENOENT;
	}
	it = &n->found.items[0];
	n->e = consentd__v1__ledger_entry__unpack(NULL, it->len, it->entry);
	return n->e ? 0 : -ENOMEM;
}

static void answer_found(struct http_req *r, struct notice_job *n)
{
	const Consentd__V1__NoticeContent *nc = n->e->event->notice;

	if (n->put) {
		reply_json(r, 200,
			   stored_json(n->sha, n->found.items[0].seq, n->found.items[0].leaf_hash));
		return;
	}
	reply_text(r, 200, nc->content_type, (const char *)nc->content.data, nc->content.len);
}

static void notice_done(struct reader_job *job)
{
	struct notice_job *n = (struct notice_job *)job;
	struct http_req *r = n->r;

	http_ingest_track(r->h, -1);
	if (job->rc == 0)
		answer_found(r, n);
	else if (job->rc == -ENOENT && n->put)
		reply_error(r, 409, "event_id_conflict", "sha256", -1,
			    "the notice's event_id is "
			    "taken by an entry that is not this notice");
	else if (job->rc == -ENOENT)
		reply_error(r, 404, "not_found", "", -1, "%s", n->err);
	else if (job->rc == -ENOMEM)
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
	else
		reply_error(r, 503, "database_unavailable", "", -1, "the database is unreachable");
	if (n->e)
		consentd__v1__ledger_entry__free_unpacked(n->e, NULL);
	subject_entries_free(&n->found);
	free(n);
}

static void lookup(struct http_req *r, const uint8_t sha[EVENT_HASH_LEN], bool put)
{
	struct notice_job *n = calloc(1, sizeof(*n));

	if (!n) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return;
	}
	memcpy(n->sha, sha, EVENT_HASH_LEN);
	n->r = r;
	n->put = put;
	n->job.run = notice_run;
	n->job.done = notice_done;
	http_ingest_track(r->h, +1);
	reader_submit(http_ingest_deps(r->h)->reader, &n->job);
}

void http_notices_get(struct http_req *r, const char *path)
{
	uint8_t sha[EVENT_HASH_LEN];

	if (parse_path(r, path, sha) == 0)
		lookup(r, sha, false);
}

/* ---- PUT: through the ledger writer, as POST /v1/events ----------------------------------- */

/* Writer -> loop: the unit's outcome is final. r is NULL if the request already timed out. */
static void unit_done(struct writer_unit *u, void *arg)
{
	struct http_req *r = arg;
	const char *path = r ? evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r->req)) : NULL;
	uint8_t sha[EVENT_HASH_LEN];

	if (!r) {
		writer_unit_free(u);
		return;
	}
	http_ingest_track(r->h, -1);
	r->unit = NULL;
	hex_decode(path + strlen(PREFIX), HEX_LEN, sha, EVENT_HASH_LEN); /* checked on arrival */
	if (u->status == WRITER_COMMITTED) {
		log_ev_info("http", r->ctx, "notice committed seq=%llu new=%s",
			    (unsigned long long)u->items[0].seq,
			    u->items[0].duplicate ? "no" : "yes");
		reply_json(r, u->items[0].duplicate ? 200 : 201,
			   stored_json(sha, u->items[0].seq, u->items[0].leaf_hash));
	} else if (u->status == WRITER_CONFLICT) {
		/* Stored before (at another time, so other bytes): the stored one is the answer. */
		evtimer_del(r->timeout_ev);
		lookup(r, sha, true);
	} else {
		reply_error(r, 503, "database_unavailable", "", -1,
			    "not confirmed as stored (%s); retry", u->error);
	}
	writer_unit_free(u);
}

/* The notice's event, or answered and NULL. */
static Consentd__V1__Event *notice_event(struct http_req *r, const uint8_t sha[EVENT_HASH_LEN])
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const int64_t max = http_ingest_deps(r->h)->cfg->max_body;
	const char *ct =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
	const uint8_t *body = len ? evbuffer_pullup(in, -1) : NULL;
	Consentd__V1__Event *ev = NULL;
	struct event_error err;

	if ((int64_t)len > max) {
		reply_error(r, 413, "body_too_large", "", -1,
			    "body of %zu bytes exceeds http.max_body "
			    "(%lld); larger notices: consentctl notice add",
			    len, (long long)max);
		return NULL;
	}
	if (len && !body) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return NULL;
	}
	if (event_notice_new(body, len, ct ? ct : "", sha, now_us(), &ev, &err) < 0)
		reply_error(r, err.status == 500 ? 503 : err.status, err.code, err.field, -1, "%s",
			    err.message);
	return ev;
}

void http_notices_put(struct http_req *r, const char *path)
{
	uint8_t sha[EVENT_HASH_LEN];
	Consentd__V1__Event *ev;
	struct writer_unit *u;

	if (parse_path(r, path, sha) < 0 || !(ev = notice_event(r, sha)))
		return;
	u = writer_unit_new(1);
	if (!u || writer_item_set(&u->items[0], ev) < 0) {
		writer_unit_free(u);
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
	} else {
		http_submit(r, u, unit_done);
	}
	event_release(ev);
}
