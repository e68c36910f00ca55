/* Subjects: their entries by pseudonym, history and consent-at-T views, evidence bundles with
 * every inclusion proof built from one batched node fetch; stored notices by content address. */
#include "store/subject.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/merkle.h"
#include "store/evidence.h"
#include "store/store.h"

#define HL SUBJECT_HASH_LEN

void subject_entries_free(struct subject_entries *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->items && i < s->n; i++)
		free(s->items[i].entry);
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

int subject_pseudonyms_of(const struct subject_keyring *ring, Consentd__V1__SubjectIdKind kind,
			  const char *value, uint8_t (*out)[HL], uint32_t *versions, size_t *n,
			  size_t *active)
{
	char norm[512];
	int rc;

	if (subject_normalize(kind, value, norm, sizeof(norm)) < 0 || ring->n == 0)
		return -EINVAL;
	for (size_t i = 0; i < ring->n; i++) {
		if ((rc = subject_pseudonym(&ring->keys[i], kind, norm, out[i])) < 0)
			return rc;
		versions[i] = ring->keys[i].version;
	}
	*n = ring->n;
	*active = ring->active;
	return 0;
}

/* ---- queries ------------------------------------------------------------------------------ */

static int query_failed(PGconn *c, PGresult *r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return store_conn_lost(c) ? -ENOTCONN : -EIO;
}

/* Rows (seq, entry, leaf_hash) of a binary result into out. */
static int take_rows(PGresult *r, struct subject_entries *out, char *err, size_t errlen)
{
	int rows = PQntuples(r);

	out->items = calloc((size_t)rows + 1, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	for (int i = 0; i < rows; i++) {
		struct subject_entry *e = &out->items[i];
		size_t len = (size_t)PQgetlength(r, i, 1);

		if (PQgetlength(r, i, 2) != HL) {
			snprintf(err, errlen, "audit_log row %d: leaf_hash is not 32 bytes", i);
			return -EIO;
		}
		e->seq = (uint64_t)store_get_int8(r, i, 0);
		e->entry = malloc(len ? len : 1);
		if (!e->entry)
			return -ENOMEM;
		memcpy(e->entry, PQgetvalue(r, i, 1), len);
		e->len = len;
		memcpy(e->leaf_hash, PQgetvalue(r, i, 2), HL);
		out->n = (size_t)i + 1;
	}
	return 0;
}

static int run_entries(PGconn *c, const char *sql, const char *param, struct subject_entries *out,
		       char *err, size_t errlen)
{
	PGresult *r = PQexecParams(c, sql, 1, NULL, &param, NULL, NULL, 1);
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return query_failed(c, r, err, errlen);
	rc = take_rows(r, out, err, errlen);
	PQclear(r);
	if (rc < 0)
		subject_entries_free(out);
	return rc;
}

int store_subject_entries(PGconn *c, const uint8_t (*pseudonyms)[HL], size_t n,
			  struct subject_entries *out, char *err, size_t errlen)
{
	struct buf arr = {0};
	char hex[2 * HL + 1];
	int rc;

	/* a bytea[] literal: {"\\x<hex>",...} */
	buf_append_u8(&arr, '{');
	for (size_t i = 0; i < n; i++) {
		hex_encode(pseudonyms[i], HL, hex);
		buf_printf(&arr, "%s\"\\\\x%s\"", i ? "," : "", hex);
	}
	if (buf_append(&arr, "}", 2) < 0)
		return -ENOMEM;
	rc =
	    run_entries(c,
			"SELECT a.seq, a.entry, a.leaf_hash FROM audit_log a WHERE a.seq IN "
			"(SELECT s.seq FROM subject_entry s WHERE s.pseudonym = ANY ($1::bytea[])) "
			"ORDER BY a.seq",
			(const char *)arr.data, out, err, errlen);
	buf_free(&arr);
	return rc;
}

/* True if the entry is the notice with one of the given addresses. */
static bool is_notice_of(const struct subject_entry *s, const uint8_t (*sha256)[HL], size_t n)
{
	Consentd__V1__LedgerEntry *e = consentd__v1__ledger_entry__unpack(NULL, s->len, s->entry);
	bool found = false;

	for (size_t i = 0; e && event_is_notice(e->event) && i < n && !found; i++)
		found = memcmp(e->event->notice->content_sha256.data, sha256[i], HL) == 0;
	if (e)
		consentd__v1__ledger_entry__free_unpacked(e, NULL);
	return found;
}

/* Keeps the entries that are notices of the given addresses (an event_id can be claimed by an
 * event that is not the notice; it does not count). */
static void keep_notices(struct subject_entries *s, const uint8_t (*sha256)[HL], size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (is_notice_of(&s->items[i], sha256, n))
			s->items[kept++] = s->items[i];
		else
			free(s->items[i].entry);
	}
	s->n = kept;
}

int store_notices(PGconn *c, const uint8_t (*sha256)[HL], size_t n, struct subject_entries *out,
		  char *err, size_t errlen)
{
	struct buf arr = {0};
	uint8_t id[UUID_LEN];
	char text[UUID_STR_LEN + 1];
	int rc;

	/* A notice's event_id is derived from its address (event_notice_id): the unique index on
	 * audit_log.event_id finds it, straight from the ledger. */
	buf_append_u8(&arr, '{');
	for (size_t i = 0; i < n; i++) {
		event_notice_id(sha256[i], id);
		uuid_format(id, text);
		buf_printf(&arr, "%s%s", i ? "," : "", text);
	}
	if (buf_append(&arr, "}", 2) < 0)
		return -ENOMEM;
	rc = run_entries(c,
			 "SELECT seq, entry, leaf_hash FROM audit_log "
			 "WHERE event_id = ANY ($1::uuid[]) ORDER BY seq",
			 (const char *)arr.data, out, err, errlen);
	buf_free(&arr);
	if (rc == 0)
		keep_notices(out, sha256, n);
	return rc;
}

/* ---- views -------------------------------------------------------------------------------- */

json_t *subject_history_json(const struct subject_entries *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n; i++) {
		const struct subject_entry *it = &s->items[i];
		Consentd__V1__LedgerEntry *e =
		    consentd__v1__ledger_entry__unpack(NULL, it->len, it->entry);
		json_t *decoded = e ? bundle_entry_json(e) : NULL;
		char leaf[2 * HL + 1];
		json_t *o = json_object();

		hex_encode(it->leaf_hash, HL, leaf);
		if (!o || json_object_set_new(o, "seq", json_integer((json_int_t)it->seq)) < 0 ||
		    json_object_set_new(o, "leaf_hash", json_string(leaf)) < 0 || !decoded ||
		    json_object_update(o, decoded) < 0 || json_array_append_new(a, o) < 0) {
			json_decref(o);
			json_decref(a);
			a = NULL;
		}
		json_decref(decoded);
		if (e)
			consentd__v1__ledger_entry__free_unpacked(e, NULL);
	}
	return a;
}

/* A consent decision in replay order. */
struct decision {
	int64_t occurred_at;
	uint64_t seq;
	const Consentd__V1__ConsentChange *c;
};

static int decision_cmp(const void *a, const void *b)
{
	const struct decision *x = a, *y = b;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int set_state(json_t *o, const char *name, bool granted, const struct decision *d)
{
	char when[40];

	rfc3339_format(d->occurred_at, when, sizeof(when));
	return json_object_set_new(o, name,
				   json_pack("{s:b, s:I, s:s}", "granted", granted, "seq",
					     (json_int_t)d->seq, "occurred_at", when));
}

static int apply(json_t *purposes, json_t *vendors, const struct decision *d)
{
	int rc = 0;

	for (size_t k = 0; rc == 0 && k < d->c->n_purposes; k++)
		rc = set_state(purposes, d->c->purposes[k]->purpose, d->c->purposes[k]->granted, d);
	for (size_t k = 0; rc == 0 && k < d->c->n_vendors; k++)
		rc = set_state(vendors, d->c->vendors[k]->vendor, d->c->vendors[k]->granted, d);
	return rc;
}

static json_t *unset_states(char *const *purposes, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		if (json_object_set_new(
			o, purposes[i],
			json_pack("{s:n, s:n, s:n}", "granted", "seq", "occurred_at")) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static json_t *replay(struct decision *d, size_t n, int64_t at, char *const *purposes,
		      size_t n_purposes)
{
	json_t *p = unset_states(purposes, n_purposes), *v = json_object();
	char when[40];
	int rc = p && v ? 0 : -ENOMEM;

	qsort(d, n, sizeof(*d), decision_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = apply(p, v, &d[i]);
	rfc3339_format(at, when, sizeof(when));
	if (rc == 0)
		return json_pack("{s:s, s:o, s:o}", "at", when, "purposes", p, "vendors", v);
	json_decref(p);
	json_decref(v);
	return NULL;
}

json_t *subject_consent_json(const struct subject_entries *s, int64_t at, char *const *purposes,
			     size_t n_purposes)
{
	Consentd__V1__LedgerEntry **e = calloc(s->n + 1, sizeof(*e));
	struct decision *d = calloc(s->n + 1, sizeof(*d));
	json_t *out = NULL;
	size_t n = 0;

	for (size_t i = 0; e && d && i < s->n; i++) {
		const Consentd__V1__Event *ev;

		e[i] = consentd__v1__ledger_entry__unpack(NULL, s->items[i].len, s->items[i].entry);
		ev = e[i] ? e[i]->event : NULL;
		if (!ev || ev->body_case != CONSENTD__V1__EVENT__BODY_CONSENT || !ev->consent ||
		    ev->occurred_at > at)
			continue;
		d[n++] = (struct decision){ev->occurred_at, s->items[i].seq, ev->consent};
	}
	if (e && d)
		out = replay(d, n, at, purposes, n_purposes);
	for (size_t i = 0; e && i < s->n; i++)
		if (e[i])
			consentd__v1__ledger_entry__free_unpacked(e[i], NULL);
	free(e);
	free(d);
	return out;
}

/* ---- the evidence bundle ------------------------------------------------------------------ */

struct gather {
	char *note;
	uint64_t size;
	struct subject_entries entries, notices;
	uint8_t (*subject)[HL]; /* the asked pseudonyms the entries carry, ascending */
	size_t n_subject;
	uint8_t (*refs)[HL]; /* notices the entries reference, ascending */
	size_t n_refs;
	struct bundle_item *items; /* entries, then notices */
	uint8_t (*proofs)[MERKLE_MAX_PROOF][HL];
};

static void gather_free(struct gather *g)
{
	free(g->note);
	subject_entries_free(&g->entries);
	subject_entries_free(&g->notices);
	free(g->subject);
	free(g->refs);
	free(g->items);
	free(g->proofs);
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, HL);
}

/* Which asked pseudonyms the entries carry, and which notices they reference. */
static int scan_entries(struct gather *g, const uint8_t (*asked)[HL], size_t n_asked)
{
	int rc = 0;

	g->subject = calloc(n_asked + 1, HL);
	if (!g->subject)
		return -ENOMEM;
	for (size_t i = 0; rc == 0 && i < g->entries.n; i++) {
		struct subject_entry *it = &g->entries.items[i];
		Consentd__V1__LedgerEntry *e =
		    consentd__v1__ledger_entry__unpack(NULL, it->len, it->entry);
		const Consentd__V1__Subject *s = e && e->event ? e->event->subject : NULL;

		for (size_t k = 0; s && k < s->n_pseudonyms; k++) {
			const ProtobufCBinaryData *h = &s->pseudonyms[k]->hmac;

			for (size_t j = 0; h->len == HL && j < n_asked; j++)
				if (memcmp(h->data, asked[j], HL) == 0 &&
				    !bsearch(h->data, g->subject, g->n_subject, HL, hash_cmp)) {
					memcpy(g->subject[g->n_subject++], h->data, HL);
					qsort(g->subject, g->n_subject, HL, hash_cmp);
				}
		}
		rc = e ? bundle_add_notice_refs(e, &g->refs, &g->n_refs) : 0;
		if (e)
			consentd__v1__ledger_entry__free_unpacked(e, NULL);
	}
	return rc;
}

/* Serves a proof builder's node_fn from nodes fetched beforehand, in the order it asks. */
struct served {
	const struct merkle_node_ref *refs;
	uint8_t (*hashes)[HL];
	size_t n, next;
};

static int served_node(void *arg, unsigned level, uint64_t index, uint8_t out[HL])
{
	struct served *s = arg;

	if (s->next >= s->n || s->refs[s->next].level != level || s->refs[s->next].index != index)
		return -EPROTO;
	memcpy(out, s->hashes[s->next++], HL);
	return 0;
}

/* Every covered item's proof from one node fetch; start[i]..start[i + 1] are item i's nodes. */
static int build_proofs(PGconn *c, struct gather *g, size_t n, char *err, size_t errlen)
{
	struct merkle_node_ref *refs = calloc(n * MERKLE_MAX_NODE_REFS + 1, sizeof(*refs));
	size_t *start = calloc(n + 1, sizeof(*start)), total = 0, k;
	uint8_t(*hashes)[HL] = NULL;
	int rc = refs && start ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t seq = i < g->entries.n ? g->entries.items[i].seq
						: g->notices.items[i - g->entries.n].seq;

		start[i] = total;
		if (seq <= g->size &&
		    (rc = merkle_inclusion_nodes(seq - 1, g->size, refs + total, &k)) == 0)
			total += k;
	}
	start[n] = total;
	if (rc == 0 && !(hashes = calloc(total + 1, HL)))
		rc = -ENOMEM;
	rc = rc ? rc : store_fetch_nodes(c, refs, total, hashes, err, errlen);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct served s = {refs + start[i], hashes + start[i], start[i + 1] - start[i], 0};
		uint64_t seq = i < g->entries.n ? g->entries.items[i].seq
						: g->notices.items[i - g->entries.n].seq;

		if (seq <= g->size)
			rc = merkle_inclusion_proof(seq - 1, g->size, served_node, &s, g->proofs[i],
						    &g->items[i].n_proof);
		g->items[i].proof = (const uint8_t(*)[HL])g->proofs[i];
	}
	free(refs);
	free(start);
	free(hashes);
	return rc;
}

static int gather(PGconn *c, struct gather *g, const uint8_t (*asked)[HL], size_t n_asked,
		  char *err, size_t errlen)
{
	size_t n;
	int rc;

	if ((rc = store_latest_checkpoint(c, &g->note, &g->size, err, errlen)) < 0 ||
	    (rc = store_subject_entries(c, asked, n_asked, &g->entries, err, errlen)) < 0)
		return rc;
	if (g->entries.n == 0) {
		snprintf(err, errlen, "no ledger entry carries this subject's pseudonym");
		return -ENOENT;
	}
	if ((rc = scan_entries(g, asked, n_asked)) < 0 ||
	    (g->n_refs && (rc = store_notices(c, (const uint8_t(*)[HL])g->refs, g->n_refs,
					      &g->notices, err, errlen)) < 0))
		return rc;
	n = g->entries.n + g->notices.n;
	g->items = calloc(n, sizeof(*g->items));
	g->proofs = calloc(n, sizeof(*g->proofs));
	if (!g->items || !g->proofs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct subject_entry *s =
		    i < g->entries.n ? &g->entries.items[i] : &g->notices.items[i - g->entries.n];

		g->items[i].entry = s->entry;
		g->items[i].len = s->len;
	}
	return build_proofs(c, g, n, err, errlen);
}

int store_subject_bundle(PGconn *c, const uint8_t (*pseudonyms)[HL], size_t n, struct buf *out,
			 struct bundle_summary *sum, char *err, size_t errlen)
{
	struct gather g = {0};
	struct bundle b;
	int rc = gather(c, &g, pseudonyms, n, err, errlen);

	if (rc == 0) {
		b = (struct bundle){(const uint8_t(*)[HL])g.subject,
				    g.n_subject,
				    g.note,
				    strlen(g.note),
				    g.items,
				    g.entries.n,
				    g.items + g.entries.n,
				    g.notices.n};
		rc = bundle_render(&b, out, sum, err, errlen);
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	gather_free(&g);
	return rc;
}
