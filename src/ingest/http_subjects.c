/* Subject endpoints (scope read). POST /v1/subjects/lookup turns one identifier into its keyed
 * pseudonyms (on the loop: one HMAC per key, no I/O); GET /v1/subjects/{subject}/history,
 * /consent and /evidence read the ledger on the reader thread, which also renders the answer. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "store/subject.h"

#define PREFIX	"/v1/subjects/"
#define HEX_LEN (2 * SUBJECT_HASH_LEN)

enum subject_view { VIEW_HISTORY, VIEW_CONSENT, VIEW_EVIDENCE };

struct subject_job {
	struct reader_job job; /* first: the job is the subject_job */
	struct http_req *r;
	enum subject_view view;
	uint8_t pseudonyms[SUBJECT_MAX_PSEUDONYMS][SUBJECT_HASH_LEN];
	size_t n;
	int64_t at;
	const struct event_policy *policy;
	struct buf body; /* the answer, rendered on the reader thread */
	char err[256];
};

/* ---- POST /v1/subjects/lookup ------------------------------------------------------------- */

static const struct {
	const char *name;
	Consentd__V1__SubjectIdKind kind;
} id_kinds[] = {
    {"email", CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL},
    {"account_id", CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID},
    {"device_id", CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID},
};

/* The one identifier of the body: 0, or answered and -EINVAL. */
static int lookup_identifier(struct http_req *r, json_t *body, size_t *kind, const char **value)
{
	const char *key, *last = "";
	json_t *v;
	size_t found = 0;

	json_object_foreach(body, key, v)
	{
		size_t k = 0;

		while (k < ARRAY_SIZE(id_kinds) && strcmp(key, id_kinds[k].name) != 0)
			k++;
		if (k == ARRAY_SIZE(id_kinds)) {
			reply_error(r, 422, "unknown_field", key, -1, "%s: unknown field", key);
			return -EINVAL;
		}
		if (!json_is_string(v)) {
			reply_error(r, 400, "wrong_type", key, -1, "%s: must be a string", key);
			return -EINVAL;
		}
		*kind = k;
		*value = json_string_value(v);
		last = key;
		found++;
	}
	if (found == 1)
		return 0;
	reply_error(r, 422, found ? "invalid_value" : "missing_field", found ? last : "", -1,
		    "send exactly one of email, account_id, device_id");
	return -EINVAL;
}

static json_t *lookup_answer(size_t kind, const uint8_t (*p)[SUBJECT_HASH_LEN],
			     const uint32_t *versions, size_t n, size_t active)
{
	json_t *list = json_array();
	char hex[HEX_LEN + 1];

	for (size_t i = 0; list && i < n; i++) {
		hex_encode(p[i], SUBJECT_HASH_LEN, hex);
		if (json_array_append_new(list, json_pack("{s:I, s:s}", "key_version",
							  (json_int_t)versions[i], "hmac", hex)) <
		    0) {
			json_decref(list);
			return NULL;
		}
	}
	hex_encode(p[active], SUBJECT_HASH_LEN, hex);
	return list ? json_pack("{s:s, s:s, s:I, s:o}", "subject", hex, "kind", id_kinds[kind].name,
				"key_version", (json_int_t)versions[active], "pseudonyms", list)
		    : NULL;
}

static json_t *read_json_body(struct http_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const char *ct =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
	json_error_t jerr;
	json_t *j;

	if ((int64_t)len > http_ingest_deps(r->h)->cfg->max_body) {
		reply_error(r, 413, "body_too_large", "", -1,
			    "body of %zu bytes exceeds http.max_body", len);
		return NULL;
	}
	if (ct && (strcspn(ct, "; \t") != 16 || strncasecmp(ct, "application/json", 16) != 0)) {
		reply_error(r, 415, "unsupported_media_type", "Content-Type", -1,
			    "send application/json");
		return NULL;
	}
	j = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		reply_error(r, 400, "malformed_json", "", -1,
			    "body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			    jerr.column);
	else if (!json_is_object(j))
		reply_error(r, 400, "wrong_type", "", -1, "body must be a JSON object");
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

void http_subjects_lookup(struct http_req *r, const char *path)
{
	uint8_t p[SUBJECT_KEYS_MAX][SUBJECT_HASH_LEN];
	uint32_t versions[SUBJECT_KEYS_MAX];
	json_t *body = read_json_body(r), *answer;
	const char *value = NULL;
	size_t kind = 0, n, active;
	int rc;

	if (!body || lookup_identifier(r, body, &kind, &value) < 0)
		goto out;
	rc = subject_pseudonyms_of(http_ingest_deps(r->h)->keys, id_kinds[kind].kind, value, p,
				   versions, &n, &active);
	if (rc == -EINVAL) {
		reply_error(r, 422, "invalid_value", id_kinds[kind].name, -1,
			    "%s: blank or too long", id_kinds[kind].name);
	} else if (rc < 0 || !(answer = lookup_answer(kind, (const uint8_t(*)[SUBJECT_HASH_LEN])p,
						      versions, n, active))) {
		reply_error(r, 503, "overloaded", "", -1, "cannot compute the pseudonym");
	} else {
		reply_json(r, 200, answer);
	}
out:
	json_decref(body);
}

/* ---- GET /v1/subjects/{subject}/{view} ---------------------------------------------------- */

static int render_entries(struct subject_job *s, const struct subject_entries *es)
{
	char hex[HEX_LEN + 1];
	json_t *o = NULL;
	char *text;

	hex_encode(s->pseudonyms[0], SUBJECT_HASH_LEN, hex);
	if (s->view == VIEW_HISTORY) {
		o = json_pack("{s:s, s:o}", "subject", hex, "entries", subject_history_json(es));
	} else if (es->n == 0) {
		snprintf(s->err, sizeof(s->err),
			 "no ledger entry carries this subject's pseudonym");
		return -ENOENT;
	} else {
		json_t *state =
		    subject_consent_json(es, s->at, s->policy->purposes, s->policy->n_purposes);

		o = state ? json_pack("{s:s}", "subject", hex) : NULL;
		if (o && json_object_update(o, state) < 0) {
			json_decref(o);
			o = NULL;
		}
		json_decref(state);
	}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text || buf_printf(&s->body, "%s\n", text) < 0) {
		free(text);
		return -ENOMEM;
	}
	free(text);
	return 0;
}

static int subject_run(PGconn *c, struct reader_job *job)
{
	struct subject_job *s = (struct subject_job *)job;
	const uint8_t(*p)[SUBJECT_HASH_LEN] = (const uint8_t(*)[SUBJECT_HASH_LEN])s->pseudonyms;
	struct subject_entries es = {0};
	int rc;

	if (s->view == VIEW_EVIDENCE)
		return store_subject_bundle(c, p, s->n, &s->body, NULL, s->err, sizeof(s->err));
	if ((rc = store_subject_entries(c, p, s->n, &es, s->err, sizeof(s->err))) == 0)
		rc = render_entries(s, &es);
	subject_entries_free(&es);
	return rc;
}

static void subject_done(struct reader_job *job)
{
	struct subject_job *s = (struct subject_job *)job;
	struct http_req *r = s->r;
	char disposition[80], hex[HEX_LEN + 1];

	http_ingest_track(r->h, -1);
	if (job->rc == 0 && s->view == VIEW_EVIDENCE) {
		hex_encode(s->pseudonyms[0], SUBJECT_HASH_LEN, hex);
		snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"evidence-%.16s.json\"", hex);
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Disposition",
				  disposition);
	}
	if (job->rc == 0)
		reply_text(r, 200, "application/json", (const char *)s->body.data, s->body.len);
	else if (job->rc == -ENOENT)
		reply_error(r, 404, "not_found", "", -1, "%s", s->err);
	else if (job->rc == -ENOTCONN || job->rc == -ESHUTDOWN)
		reply_error(r, 503, "database_unavailable", "", -1, "the database is unreachable");
	else if (job->rc == -EINVAL)
		reply_error(r, 500, "evidence_invalid", "", -1,
			    "the stored ledger does not prove "
			    "this subject's entries: %s (run consentctl verify)",
			    s->err);
	else if (job->rc == -ENOMEM)
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
	else
		reply_error(r, 503, "database_unavailable", "", -1, "query failed: %s", s->err);
	buf_free(&s->body);
	free(s);
}

/* "h1,h2,...": more pseudonyms of the same subject (other key versions, other identifiers). */
static int parse_also(struct http_req *r, const char *v, struct subject_job *s)
{
	while (v && *v) {
		size_t len = strcspn(v, ",");

		if (s->n == SUBJECT_MAX_PSEUDONYMS) {
			reply_error(r, 422, "invalid_value", "also", -1, "at most %d pseudonyms",
				    SUBJECT_MAX_PSEUDONYMS);
			return -EINVAL;
		}
		if (len != HEX_LEN ||
		    hex_decode(v, len, s->pseudonyms[s->n], SUBJECT_HASH_LEN) < 0) {
			reply_error(r, 422, "invalid_value", "also", -1,
				    "also: comma-separated pseudonyms of 64 hex digits");
			return -EINVAL;
		}
		s->n++;
		v += len + (v[len] == ',');
	}
	return 0;
}

/* "at" may arrive with its '+' decoded to a space (form encoding): put it back. */
static int parse_at(struct http_req *r, const char *v, struct subject_job *s)
{
	char text[64];

	if (!v) {
		s->at = now_us();
		return 0;
	}
	snprintf(text, sizeof(text), "%s", v);
	for (char *p = text; *p; p++)
		*p = *p == ' ' ? '+' : *p;
	if (strlen(v) < sizeof(text) && rfc3339_parse(text, &s->at) == 0)
		return 0;
	reply_error(r, 422, "invalid_value", "at", -1,
		    "at: an RFC 3339 date-time such as 2026-11-28T10:15:00Z (encode '+' as %%2B)");
	return -EINVAL;
}

static int parse_query(struct http_req *r, struct subject_job *s)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	struct evkeyvalq q;
	struct evkeyval *kv;
	int rc = 0;

	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query ? query : "", &q) < 0) {
		reply_error(r, 400, "malformed_query", "", -1, "the query string cannot be parsed");
		return -EINVAL;
	}
	TAILQ_FOREACH(kv, &q, next)
	{
		bool known = strcmp(kv->key, "also") == 0 ||
			     (s->view == VIEW_CONSENT && strcmp(kv->key, "at") == 0);

		if (!known) {
			reply_error(r, 422, "unknown_field", kv->key, -1,
				    "query parameter %s is not "
				    "known here",
				    kv->key);
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0)
		rc = parse_also(r, evhttp_find_header(&q, "also"), s);
	if (rc == 0 && s->view == VIEW_CONSENT)
		rc = parse_at(r, evhttp_find_header(&q, "at"), s);
	evhttp_clear_headers(&q);
	return rc;
}

/* {subject}/{view}: 0, or answered and -EINVAL. */
static int parse_path(struct http_req *r, const char *path, struct subject_job *s)
{
	const char *id = path + strlen(PREFIX), *slash = strchr(id, '/');
	static const char *const views[] = {"history", "consent", "evidence"};

	if (strcmp(id, "lookup") == 0) {
		reply_error(r, 405, "method_not_allowed", "", -1, "lookup takes POST");
		return -EINVAL;
	}
	for (size_t v = 0; slash && v < ARRAY_SIZE(views); v++) {
		if (strcmp(slash + 1, views[v]) != 0)
			continue;
		if (slash - id != HEX_LEN ||
		    hex_decode(id, HEX_LEN, s->pseudonyms[0], SUBJECT_HASH_LEN) < 0) {
			reply_error(r, 422, "invalid_value", "subject", -1,
				    "the subject is a pseudonym of 64 hex digits (POST "
				    "/v1/subjects/lookup)");
			return -EINVAL;
		}
		s->view = (enum subject_view)v;
		s->n = 1;
		return 0;
	}
	reply_error(r, 404, "not_found", "", -1, "no such endpoint");
	return -EINVAL;
}

void http_subjects_get(struct http_req *r, const char *path)
{
	struct subject_job *s = calloc(1, sizeof(*s));

	if (!s) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return;
	}
	if (parse_path(r, path, s) < 0 || parse_query(r, s) < 0) {
		free(s);
		return;
	}
	s->r = r;
	s->policy = http_ingest_deps(r->h)->policy;
	s->job.run = subject_run;
	s->job.done = subject_done;
	http_ingest_track(r->h, +1);
	reader_submit(http_ingest_deps(r->h)->reader, &s->job);
}
