/* Projection deltas of one transaction: hash tables of the register rows and consent rows it
 * touches, a short list of daily aggregates and notices. See project.h for the rules. */
#include "compliance/project.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"
#include "event/event.h"
#include "util/util.h"

struct project_undo {
	char id[RIGHTS_REQUEST_ID_MAX + 1]; /* slots move when the table grows: keep the key */
	struct project_request prev;
};

static uint64_t fnv(const void *data, size_t len, uint64_t h)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

#define FNV_SEED 14695981039346656037ULL

void project_batch_init(struct project_batch *pb, const struct rights_context *ctx)
{
	memset(pb, 0, sizeof(*pb));
	pb->ctx = *ctx;
}

void project_batch_free(struct project_batch *pb)
{
	for (size_t i = 0; i < pb->n_daily; i++) {
		free(pb->daily[i].policy_version);
		free(pb->daily[i].banner_version);
		free(pb->daily[i].name);
	}
	for (size_t i = 0; i < pb->n_notices; i++)
		free(pb->notices[i].content_type);
	free(pb->requests);
	for (size_t i = 0; i < pb->con_cap; i++)
		free(pb->consent[i].d);
	free(pb->consent);
	free(pb->daily);
	free(pb->notices);
	free(pb->undo);
	memset(pb, 0, sizeof(*pb));
}

/* ---- the register rows --------------------------------------------------------------------- */

static size_t request_slot(const struct project_batch *pb, const char *id)
{
	size_t i = fnv(id, strlen(id), FNV_SEED) & (pb->req_cap - 1);

	while (pb->requests[i].row.request_id[0] && strcmp(pb->requests[i].row.request_id, id) != 0)
		i = (i + 1) & (pb->req_cap - 1);
	return i;
}

/* Keeps the table at most half full. Rows are never removed (a rolled-back new row stays as an
 * absent one, keeping its key), so linear probing needs no tombstone handling. */
static int requests_grow(struct project_batch *pb)
{
	struct project_request *old = pb->requests;
	size_t old_cap = pb->req_cap, cap = old_cap ? 2 * old_cap : 64;

	if (2 * (pb->req_used + 1) <= old_cap)
		return 0;
	pb->requests = calloc(cap, sizeof(*pb->requests));
	if (!pb->requests) {
		pb->requests = old;
		return -ENOMEM;
	}
	pb->req_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].row.request_id[0])
			pb->requests[request_slot(pb, old[i].row.request_id)] = old[i];
	free(old);
	return 0;
}

/* The slot of id, claimed (as an absent row) if the table does not hold it yet. */
static struct project_request *request_get(struct project_batch *pb, const char *id)
{
	struct project_request *req;

	if (requests_grow(pb) < 0)
		return NULL;
	req = &pb->requests[request_slot(pb, id)];
	if (!req->row.request_id[0]) {
		rights_row_init(&req->row);
		snprintf(req->row.request_id, sizeof(req->row.request_id), "%s", id);
		pb->req_used++;
	}
	return req;
}

int project_seed_request(struct project_batch *pb, const struct rights_row *row, uint64_t first_seq,
			 uint64_t last_seq)
{
	struct project_request *req = request_get(pb, row->request_id);

	if (!req)
		return -ENOMEM;
	*req = (struct project_request){ .row = *row, .first_seq = first_seq, .last_seq = last_seq,
					 .present = true };
	return 0;
}

const char *project_request_id(const Consentd__V1__Event *ev)
{
	if (ev->body_case != CONSENTD__V1__EVENT__BODY_DATA_RIGHTS || !ev->data_rights ||
	    !ev->data_rights->request_id || !ev->data_rights->request_id[0])
		return NULL;
	return ev->data_rights->request_id;
}

static int undo_push(struct project_batch *pb, const struct project_request *req)
{
	struct project_undo *u;

	if (pb->n_undo == pb->undo_cap) {
		size_t cap = pb->undo_cap ? 2 * pb->undo_cap : 16;

		u = realloc(pb->undo, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		pb->undo = u;
		pb->undo_cap = cap;
	}
	u = &pb->undo[pb->n_undo++];
	snprintf(u->id, sizeof(u->id), "%s", req->row.request_id);
	u->prev = *req;
	return 0;
}

int project_check(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq,
		  char *why, size_t whylen)
{
	const char *id = project_request_id(ev);
	struct project_request *req;
	struct rights_row row;
	int rc;

	if (!id)
		return 0;
	if (strlen(id) > RIGHTS_REQUEST_ID_MAX) {
		snprintf(why, whylen, "request_id longer than %d bytes", RIGHTS_REQUEST_ID_MAX);
		return -EINVAL;
	}
	if (!(req = request_get(pb, id)))
		return -ENOMEM;
	if (req->present)
		row = req->row;
	else
		rights_row_init(&row);
	rc = rights_apply(&row, ev->data_rights, deadline_day_from_us(ev->occurred_at), &pb->ctx, why,
			  whylen);
	if (rc)
		return rc;
	if ((rc = undo_push(pb, req)) < 0)
		return rc;
	if (!req->present)
		req->first_seq = seq;
	req->present = true;
	req->row = row;
	req->last_seq = seq;
	req->dirty = true;
	return 0;
}

void project_rollback(struct project_batch *pb)
{
	while (pb->n_undo) {
		struct project_undo *u = &pb->undo[--pb->n_undo];

		pb->requests[request_slot(pb, u->id)] = u->prev;
	}
}

void project_commit(struct project_batch *pb)
{
	pb->n_undo = 0;
}

/* ---- consent state ------------------------------------------------------------------------- */

static size_t consent_slot(const struct project_batch *pb, const uint8_t *pseudonym)
{
	size_t i = fnv(pseudonym, PROJECT_HASH_LEN, FNV_SEED) & (pb->con_cap - 1);

	while (pb->consent[i].used && memcmp(pb->consent[i].pseudonym, pseudonym, PROJECT_HASH_LEN))
		i = (i + 1) & (pb->con_cap - 1);
	return i;
}

static int consent_grow(struct project_batch *pb)
{
	struct project_consent *old = pb->consent;
	size_t old_cap = pb->con_cap, cap = old_cap ? 2 * old_cap : 256;

	if (2 * (pb->con_used + 1) <= old_cap)
		return 0;
	pb->consent = calloc(cap, sizeof(*pb->consent));
	if (!pb->consent) {
		pb->consent = old;
		return -ENOMEM;
	}
	pb->con_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			pb->consent[consent_slot(pb, old[i].pseudonym)] = old[i];
	free(old);
	return 0;
}

/* The row of a pseudonym, created empty if the batch does not hold it yet; NULL on ENOMEM. */
static struct project_consent *consent_get(struct project_batch *pb, const uint8_t *pseudonym)
{
	struct project_consent *c;

	if (consent_grow(pb) < 0)
		return NULL;
	c = &pb->consent[consent_slot(pb, pseudonym)];
	if (!c->used) {
		c->used = true;
		memcpy(c->pseudonym, pseudonym, PROJECT_HASH_LEN);
		pb->con_used++;
	}
	return c;
}

static bool later(int64_t at, uint64_t seq, const struct project_decision *than)
{
	return at > than->occurred_at || (at == than->occurred_at && seq > than->seq);
}

/* Sets purpose's decision unless the row holds a later one. */
static int decision_put(struct project_consent *c, const char *purpose, bool granted, uint64_t seq,
			int64_t at, bool *changed)
{
	struct project_decision *d = NULL;

	if (strlen(purpose) > PROJECT_PURPOSE_MAX)
		return 0; /* validation refuses such names: nothing to project */
	for (size_t i = 0; i < c->n && !d; i++)
		if (!strcmp(c->d[i].purpose, purpose))
			d = &c->d[i];
	if (d && !later(at, seq, d))
		return 0;
	if (!d) {
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 8;
			struct project_decision *nd = realloc(c->d, cap * sizeof(*nd));

			if (!nd)
				return -ENOMEM;
			c->d = nd;
			c->cap = cap;
		}
		d = &c->d[c->n++];
		snprintf(d->purpose, sizeof(d->purpose), "%s", purpose);
	}
	d->granted = granted;
	d->seq = seq;
	d->occurred_at = at;
	*changed = true;
	return 0;
}

int project_seed_consent(struct project_batch *pb, const uint8_t pseudonym[PROJECT_HASH_LEN],
			 const struct project_decision *d, size_t n)
{
	struct project_consent *c = consent_get(pb, pseudonym);
	bool changed = false;
	int rc = c ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !rc; i++)
		rc = decision_put(c, d[i].purpose, d[i].granted, d[i].seq, d[i].occurred_at, &changed);
	return rc;
}

static int add_consent_state(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq)
{
	const Consentd__V1__Subject *s = ev->subject;
	const Consentd__V1__ConsentChange *c = ev->consent;
	int rc;

	if (!s)
		return 0;
	for (size_t p = 0; p < s->n_pseudonyms; p++) {
		const Consentd__V1__Pseudonym *ps = s->pseudonyms[p];
		struct project_consent *row;
		bool changed = false;

		if (!ps || ps->hmac.len != PROJECT_HASH_LEN)
			continue;
		if (!(row = consent_get(pb, ps->hmac.data)))
			return -ENOMEM;
		for (size_t i = 0; i < c->n_purposes; i++)
			if (c->purposes[i] && c->purposes[i]->purpose &&
			    (rc = decision_put(row, c->purposes[i]->purpose, c->purposes[i]->granted, seq,
					       ev->occurred_at, &changed)) < 0)
				return rc;
		row->dirty |= changed;
	}
	return 0;
}

static int cmp_decision(const void *a, const void *b)
{
	return strcmp(((const struct project_decision *)a)->purpose,
		      ((const struct project_decision *)b)->purpose);
}

char *project_consent_json(const struct project_consent *c)
{
	json_t *o = json_object();
	char when[40], *text = NULL;
	int rc = o ? 0 : -1;

	qsort(c->d, c->n, sizeof(*c->d), cmp_decision);
	for (size_t i = 0; i < c->n && !rc; i++) {
		rfc3339_format(c->d[i].occurred_at, when, sizeof(when));
		rc = json_object_set_new(o, c->d[i].purpose,
					 json_pack("{s:b, s:I, s:s}", "granted", c->d[i].granted,
						   "seq", (json_int_t)c->d[i].seq, "occurred_at", when));
	}
	if (!rc)
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

int project_consent_parse(const char *text, size_t len, struct project_decision **out, size_t *n)
{
	json_t *o = json_loadb(text, len, 0, NULL), *v;
	const char *purpose;
	size_t i = 0;
	int rc = json_is_object(o) ? 0 : -EINVAL;

	*out = NULL;
	*n = 0;
	if (!rc && !(*out = calloc(json_object_size(o) + 1, sizeof(**out))))
		rc = -ENOMEM;
	json_object_foreach(o, purpose, v) {
		struct project_decision *d = &(*out)[i];
		json_t *seq = json_object_get(v, "seq"), *at = json_object_get(v, "occurred_at");

		if (rc || strlen(purpose) > PROJECT_PURPOSE_MAX || !json_is_boolean(json_object_get(v, "granted")) ||
		    !json_is_integer(seq) || !json_is_string(at) ||
		    rfc3339_parse(json_string_value(at), &d->occurred_at) < 0) {
			rc = rc ? rc : -EINVAL;
			break;
		}
		snprintf(d->purpose, sizeof(d->purpose), "%s", purpose);
		d->granted = json_is_true(json_object_get(v, "granted"));
		d->seq = (uint64_t)json_integer_value(seq);
		i++;
	}
	json_decref(o);
	if (rc) {
		free(*out);
		*out = NULL;
		return rc;
	}
	*n = i;
	return 0;
}

/* ---- daily aggregates ---------------------------------------------------------------------- */

static struct project_daily *daily_find(struct project_batch *pb, int64_t day,
					const Consentd__V1__Notice *n, const char *hex,
					const char *name, bool is_purpose)
{
	const char *policy = n && n->policy_version ? n->policy_version : "";
	const char *banner = n && n->banner_version ? n->banner_version : "";
	struct project_daily *d;

	for (size_t i = pb->n_daily; i-- > 0;) {
		d = &pb->daily[i];
		if (d->day == day && d->is_purpose == is_purpose && !strcmp(d->name, name) &&
		    !strcmp(d->notice_sha256, hex) && !strcmp(d->policy_version, policy) &&
		    !strcmp(d->banner_version, banner))
			return d;
	}
	if (pb->n_daily == pb->daily_cap) {
		size_t cap = pb->daily_cap ? 2 * pb->daily_cap : 16;

		d = realloc(pb->daily, cap * sizeof(*d));
		if (!d)
			return NULL;
		pb->daily = d;
		pb->daily_cap = cap;
	}
	d = &pb->daily[pb->n_daily];
	*d = (struct project_daily){ .day = day, .is_purpose = is_purpose };
	snprintf(d->notice_sha256, sizeof(d->notice_sha256), "%s", hex);
	d->policy_version = strdup(policy);
	d->banner_version = strdup(banner);
	d->name = strdup(name);
	if (!d->policy_version || !d->banner_version || !d->name) {
		free(d->policy_version);
		free(d->banner_version);
		free(d->name);
		return NULL;
	}
	pb->n_daily++;
	return d;
}

static int add_daily(struct project_batch *pb, const Consentd__V1__Event *ev)
{
	const Consentd__V1__ConsentChange *c = ev->consent;
	const char *action = event_action_name(c->action);
	int64_t day = deadline_day_from_us(ev->occurred_at);
	char hex[2 * PROJECT_HASH_LEN + 1] = "";
	struct project_daily *d;

	if (c->notice && c->notice->content_sha256.len == PROJECT_HASH_LEN)
		hex_encode(c->notice->content_sha256.data, PROJECT_HASH_LEN, hex);
	if (!(d = daily_find(pb, day, c->notice, hex, action ? action : "unspecified", false)))
		return -ENOMEM;
	d->events++;
	for (size_t i = 0; i < c->n_purposes; i++) {
		if (!c->purposes[i] || !c->purposes[i]->purpose)
			continue;
		if (!(d = daily_find(pb, day, c->notice, hex, c->purposes[i]->purpose, true)))
			return -ENOMEM;
		d->events++;
		d->granted += c->purposes[i]->granted;
	}
	return 0;
}

/* ---- notices --------------------------------------------------------------------------------- */

static int add_notice(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq)
{
	struct project_notice *n;

	for (size_t i = 0; i < pb->n_notices; i++)
		if (!memcmp(pb->notices[i].sha256, ev->notice->content_sha256.data, PROJECT_HASH_LEN))
			return 0; /* the first entry of a content is the one indexed */
	if (pb->n_notices == pb->notices_cap) {
		size_t cap = pb->notices_cap ? 2 * pb->notices_cap : 4;

		n = realloc(pb->notices, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		pb->notices = n;
		pb->notices_cap = cap;
	}
	n = &pb->notices[pb->n_notices];
	memcpy(n->sha256, ev->notice->content_sha256.data, PROJECT_HASH_LEN);
	n->seq = seq;
	n->size = ev->notice->content.len;
	n->content_type = strdup(ev->notice->content_type ? ev->notice->content_type : "");
	if (!n->content_type)
		return -ENOMEM;
	pb->n_notices++;
	return 0;
}

int project_add(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq)
{
	int rc;

	if (event_is_notice(ev))
		return add_notice(pb, ev, seq);
	if (ev->body_case != CONSENTD__V1__EVENT__BODY_CONSENT || !ev->consent)
		return 0;
	if ((rc = add_consent_state(pb, ev, seq)) < 0)
		return rc;
	return add_daily(pb, ev);
}

int project_replay(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq)
{
	char why[200];
	int rc = project_check(pb, ev, seq, why, sizeof(why));

	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		project_rollback(pb);
		pb->skipped++;
		return 0;
	}
	project_commit(pb);
	return project_add(pb, ev, seq);
}

const struct project_consent *project_consent_next(const struct project_batch *pb, size_t *i)
{
	for (; *i < pb->con_cap; (*i)++)
		if (pb->consent[*i].used && pb->consent[*i].dirty)
			return &pb->consent[(*i)++];
	return NULL;
}

const struct project_request *project_request_next(const struct project_batch *pb, size_t *i)
{
	for (; *i < pb->req_cap; (*i)++)
		if (pb->requests[*i].present && pb->requests[*i].dirty)
			return &pb->requests[(*i)++];
	return NULL;
}
