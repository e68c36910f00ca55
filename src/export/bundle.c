/* Evidence bundles: the checks every bundle must pass, its canonical rendering, and offline
 * verification (parse, check the signature, render again from the verified parts, compare). */
#include "export/bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/proof.h"

#define HL	   BUNDLE_HASH_LEN
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY)
#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 EM DASH, space */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- the checkpoint, read without its signature ------------------------------------------- */

struct cp_info {
	char *origin;
	uint64_t size;
	uint8_t root[HL];
	uint32_t key_id; /* of the signature line named after the origin */
};

/* The note's text ends before its last blank line (c2sp.org/signed-note). */
static int note_text_len(const char *note, size_t len, size_t *tlen)
{
	for (size_t i = len; i >= 2; i--) {
		if (note[i - 2] == '\n' && note[i - 1] == '\n') {
			*tlen = i - 1;
			return 0;
		}
	}
	return -EINVAL;
}

/* The key ID of the first signature line whose key name is the origin. */
static int cp_key(const char *note, size_t len, size_t tlen, struct cp_info *cp)
{
	size_t plen = strlen(SIG_PREFIX), olen = strlen(cp->origin);
	uint8_t raw[256];

	for (size_t pos = tlen + 1; pos < len;) {
		const char *line = note + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		int got;

		pos += n + 1;
		if (n <= plen + olen + 1 || memcmp(line, SIG_PREFIX, plen) != 0 ||
		    memcmp(line + plen, cp->origin, olen) != 0 || line[plen + olen] != ' ')
			continue;
		got = b64_decode(line + plen + olen + 1, n - plen - olen - 1, raw, sizeof(raw));
		if (got < 4)
			return -EINVAL;
		cp->key_id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
			     (uint32_t)raw[2] << 8 | raw[3];
		return 0;
	}
	return -EINVAL;
}

static int cp_read(const char *note, size_t len, struct cp_info *cp, char *err, size_t errlen)
{
	size_t tlen;
	int rc;

	if (!note || memchr(note, '\0', len) || note_text_len(note, len, &tlen) < 0)
		return fail(err, errlen, "checkpoint: the note is not a signed note");
	rc = checkpoint_parse(note, tlen, &cp->origin, &cp->size, cp->root);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return fail(err, errlen, "checkpoint: the note is not a checkpoint");
	if (cp->size == 0 || cp->size > INT64_MAX)
		return fail(err, errlen, "checkpoint: tree size %" PRIu64 " out of range",
			    cp->size);
	if (cp_key(note, len, tlen, cp) < 0)
		return fail(err, errlen, "checkpoint: no signature line by the key named \"%s\"",
			    cp->origin);
	return 0;
}

/* ---- the checks --------------------------------------------------------------------------- */

/* An entry or notice, decoded, with its leaf hash. */
struct checked {
	Consentd__V1__LedgerEntry *e;
	uint8_t leaf[HL];
};

struct render {
	struct cp_info cp;
	struct checked *entries, *notices;
	uint8_t (*refs)[HL]; /* notices the entries reference, ascending */
	size_t n_refs;
	bool *ref_found;
	bool *subject_used;
};

static void render_free(struct render *r, const struct bundle *b)
{
	for (size_t i = 0; r->entries && i < b->n_entries; i++)
		if (r->entries[i].e)
			consentd__v1__ledger_entry__free_unpacked(r->entries[i].e, NULL);
	for (size_t i = 0; r->notices && i < b->n_notices; i++)
		if (r->notices[i].e)
			consentd__v1__ledger_entry__free_unpacked(r->notices[i].e, NULL);
	free(r->entries);
	free(r->notices);
	free(r->refs);
	free(r->ref_found);
	free(r->subject_used);
	free(r->cp.origin);
}

/* Decodes an item, checks its order and its proof against the checkpoint's root. */
static int check_item(const struct bundle_item *it, const char *what, size_t i, uint64_t prev,
		      const struct cp_info *cp, struct checked *c, char *err, size_t errlen)
{
	uint64_t seq;

	c->e = consentd__v1__ledger_entry__unpack(NULL, it->len, it->entry);
	if (!c->e || !c->e->event)
		return fail(err, errlen, "%s %zu: the bytes are not a LedgerEntry with an event",
			    what, i + 1);
	seq = c->e->seq;
	if (seq == 0 || seq > INT64_MAX || seq <= prev)
		return fail(err, errlen,
			    "%s seq %" PRIu64 ": %ss must ascend in seq (after %" PRIu64 ")", what,
			    seq, what, prev);
	ledger_leaf_hash(it->entry, it->len, c->leaf);
	if (seq > cp->size) {
		if (it->n_proof)
			return fail(err, errlen,
				    "%s seq %" PRIu64 ": a proof, though the checkpoint "
				    "(tree size %" PRIu64 ") does not cover it",
				    what, seq, cp->size);
		return 0;
	}
	if (merkle_verify_inclusion(seq - 1, cp->size, c->leaf, it->proof, it->n_proof, cp->root) <
	    0)
		return fail(err, errlen,
			    "%s seq %" PRIu64 ": the inclusion proof does not lead from "
			    "its leaf hash to the checkpoint's root (tree size %" PRIu64 ")",
			    what, seq, cp->size);
	return 0;
}

/* The entry must carry a pseudonym of the subject; marks the ones it carries. */
static int check_subject(const struct bundle *b, const Consentd__V1__LedgerEntry *e, bool *used,
			 char *err, size_t errlen)
{
	const Consentd__V1__Subject *s = e->event->subject;
	bool found = false;

	for (size_t k = 0; s && k < s->n_pseudonyms; k++) {
		const ProtobufCBinaryData *h = &s->pseudonyms[k]->hmac;

		for (size_t j = 0; h->len == HL && j < b->n_subject; j++) {
			if (memcmp(h->data, b->subject[j], HL) == 0)
				found = used[j] = true;
		}
	}
	if (!found)
		return fail(err, errlen,
			    "entry seq %" PRIu64 ": carries no pseudonym of the subject", e->seq);
	return 0;
}

static int check_entries(const struct bundle *b, struct render *r, char *err, size_t errlen)
{
	uint64_t prev = 0;
	int rc;

	for (size_t j = 1; j < b->n_subject; j++)
		if (memcmp(b->subject[j - 1], b->subject[j], HL) >= 0)
			return fail(err, errlen,
				    "subject: pseudonyms must ascend, without repeats");
	if (b->n_subject == 0 || b->n_subject > BUNDLE_MAX_PSEUDONYMS)
		return fail(err, errlen, "subject: 1 to %d pseudonyms", BUNDLE_MAX_PSEUDONYMS);
	for (size_t i = 0; i < b->n_entries; i++) {
		struct checked *c = &r->entries[i];

		if ((rc = check_item(&b->entries[i], "entry", i, prev, &r->cp, c, err, errlen)) <
			0 ||
		    (rc = check_subject(b, c->e, r->subject_used, err, errlen)) < 0 ||
		    (rc = bundle_add_notice_refs(c->e, &r->refs, &r->n_refs)) < 0)
			return rc;
		prev = c->e->seq;
	}
	for (size_t j = 0; j < b->n_subject; j++)
		if (!r->subject_used[j])
			return fail(err, errlen, "subject: pseudonym %zu is carried by no entry",
				    j + 1);
	return 0;
}

static int ref_index(const struct render *r, const uint8_t sha[HL])
{
	for (size_t k = 0; k < r->n_refs; k++)
		if (memcmp(r->refs[k], sha, HL) == 0)
			return (int)k;
	return -1;
}

/* A notice entry: content that hashes to its address, referenced by an entry, listed once. */
static int check_notice(struct render *r, const Consentd__V1__LedgerEntry *e, char *err,
			size_t errlen)
{
	const Consentd__V1__NoticeContent *n = e->event->notice;
	uint8_t h[HL];
	int k;

	if (!event_is_notice(e->event))
		return fail(err, errlen, "notice seq %" PRIu64 ": the entry is not a notice",
			    e->seq);
	if (!EVP_Digest(n->content.data, n->content.len, h, NULL, EVP_sha256(), NULL))
		return -ENOMEM;
	if (memcmp(h, n->content_sha256.data, HL) != 0)
		return fail(err, errlen,
			    "notice seq %" PRIu64 ": its content does not hash to its "
			    "content_sha256",
			    e->seq);
	if ((k = ref_index(r, h)) < 0)
		return fail(err, errlen, "notice seq %" PRIu64 ": no entry references it", e->seq);
	if (r->ref_found[k])
		return fail(err, errlen, "notice seq %" PRIu64 ": listed twice", e->seq);
	r->ref_found[k] = true;
	return 0;
}

static int check_notices(const struct bundle *b, struct render *r, char *err, size_t errlen)
{
	uint64_t prev = 0;
	int rc;

	r->ref_found = calloc(r->n_refs ? r->n_refs : 1, sizeof(*r->ref_found));
	if (!r->ref_found)
		return -ENOMEM;
	for (size_t i = 0; i < b->n_notices; i++) {
		struct checked *c = &r->notices[i];

		if ((rc = check_item(&b->notices[i], "notice", i, prev, &r->cp, c, err, errlen)) <
			0 ||
		    (rc = check_notice(r, c->e, err, errlen)) < 0)
			return rc;
		prev = c->e->seq;
	}
	return 0;
}

/* ---- rendering ---------------------------------------------------------------------------- */

/* Appends prefix, the compact ASCII JSON of j (stolen) and suffix. */
static int dump(struct buf *out, const char *prefix, json_t *j, const char *suffix)
{
	char *s = j ? json_dumps(j, DUMP_FLAGS) : NULL;
	int rc = s ? 0 : -ENOMEM;

	if (s && (buf_append(out, prefix, strlen(prefix)) < 0 ||
		  buf_append(out, s, strlen(s)) < 0 || buf_append(out, suffix, strlen(suffix)) < 0))
		rc = -ENOMEM;
	free(s);
	json_decref(j);
	return rc;
}

static json_t *hex_json(const uint8_t *data, size_t len)
{
	char hex[2 * HL + 1];

	if (len != HL)
		return json_string("");
	hex_encode(data, len, hex);
	return json_string(hex);
}

static json_t *subject_json(const struct bundle *b)
{
	json_t *a = json_array();

	for (size_t j = 0; a && j < b->n_subject; j++) {
		if (json_array_append_new(a, hex_json(b->subject[j], HL)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *checkpoint_json(const struct bundle *b, const struct cp_info *cp)
{
	char *root = b64_encode(cp->root, HL), id[9];
	json_t *note = json_stringn(b->note, b->note_len), *o = NULL;

	snprintf(id, sizeof(id), "%08" PRIx32, cp->key_id);
	if (root && note)
		o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:O}", "origin", cp->origin, "tree_size",
			      (json_int_t)cp->size, "root", root, "key_name", cp->origin, "key_id",
			      id, "note", note);
	json_decref(note);
	free(root);
	return o;
}

/* {"content_sha256" (notices only),"seq","leaf_hash","entry","proof","decoded"} */
static json_t *item_json(const struct bundle_item *it, const struct checked *c, uint64_t tree_size,
			 bool notice)
{
	uint64_t seq = c->e->seq;
	char leaf[2 * HL + 1], sha[2 * HL + 1];
	char *b64 = b64_encode(it->entry, it->len);
	json_t *proof = seq > tree_size
			    ? json_null()
			    : proof_inclusion_json(seq, tree_size, c->leaf, it->proof, it->n_proof);
	json_t *decoded = bundle_entry_json(c->e), *o = NULL;

	hex_encode(c->leaf, HL, leaf);
	if (notice)
		hex_encode(c->e->event->notice->content_sha256.data, HL, sha);
	if (b64 && proof && decoded)
		o = json_pack("{s:s*, s:I, s:s, s:s, s:O, s:O}", "content_sha256",
			      notice ? sha : NULL, "seq", (json_int_t)seq, "leaf_hash", leaf,
			      "entry", b64, "proof", proof, "decoded", decoded);
	json_decref(proof);
	json_decref(decoded);
	free(b64);
	return o;
}

static int write_items(struct buf *out, const char *name, const struct bundle_item *items,
		       const struct checked *c, size_t n, uint64_t tree_size, bool notice)
{
	int rc = buf_printf(out, "\"%s\":[\n", name) < 0 ? -ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *j = item_json(&items[i], &c[i], tree_size, notice);

		/* NULL: out of memory, or a decoded string that is not UTF-8 */
		rc = j ? dump(out, "", j, i + 1 < n ? ",\n" : "\n") : -EINVAL;
	}
	if (rc == 0 && buf_printf(out, "],\n") < 0)
		rc = -ENOMEM;
	return rc;
}

static json_t *missing_json(const struct render *r)
{
	json_t *a = json_array();

	for (size_t k = 0; a && k < r->n_refs; k++) {
		if (!r->ref_found[k] && json_array_append_new(a, hex_json(r->refs[k], HL)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int write_all(const struct bundle *b, const struct render *r, struct buf *out, char *err,
		     size_t errlen)
{
	json_t *cp = checkpoint_json(b, &r->cp);
	int rc;

	if (!cp)
		return fail(err, errlen, "checkpoint: the note is not UTF-8");
	rc = dump(out, "{\"format\":", json_string(BUNDLE_FORMAT), ",\n");
	rc = rc ? rc : dump(out, "\"subject\":", subject_json(b), ",\n");
	rc = rc ? rc : dump(out, "\"checkpoint\":", cp, ",\n");
	if (rc)
		return rc;
	rc = write_items(out, "entries", b->entries, r->entries, b->n_entries, r->cp.size, false);
	rc = rc ? rc
		: write_items(out, "notices", b->notices, r->notices, b->n_notices, r->cp.size,
			      true);
	rc = rc ? rc : dump(out, "\"notices_missing\":", missing_json(r), "\n}\n");
	if (rc == -EINVAL)
		return fail(err, errlen,
			    "an entry's decoded form cannot be written as JSON (text "
			    "that is not UTF-8)");
	return rc;
}

static void summarize(const struct bundle *b, const struct render *r, struct bundle_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->tree_size = r->cp.size;
	sum->entries = b->n_entries;
	for (size_t i = 0; i < b->n_entries; i++) {
		if (r->entries[i].e->seq <= r->cp.size)
			sum->covered++;
		else if (!sum->first_uncovered)
			sum->first_uncovered = r->entries[i].e->seq;
	}
	sum->notices = b->n_notices;
	for (size_t k = 0; k < r->n_refs; k++)
		sum->notices_missing += !r->ref_found[k];
	hex_encode(b->subject[0], HL, sum->subject);
	snprintf(sum->key_name, sizeof(sum->key_name), "%s", r->cp.origin);
	sum->key_id = r->cp.key_id;
}

int bundle_render(const struct bundle *b, struct buf *out, struct bundle_summary *sum, char *err,
		  size_t errlen)
{
	struct render r = {0};
	size_t start = out->len;
	int rc;

	r.entries = calloc(b->n_entries + 1, sizeof(*r.entries));
	r.notices = calloc(b->n_notices + 1, sizeof(*r.notices));
	r.subject_used = calloc(b->n_subject + 1, sizeof(*r.subject_used));
	rc = r.entries && r.notices && r.subject_used ? 0 : -ENOMEM;
	rc = rc ? rc : cp_read(b->note, b->note_len, &r.cp, err, errlen);
	rc = rc ? rc : check_entries(b, &r, err, errlen);
	rc = rc ? rc : check_notices(b, &r, err, errlen);
	rc = rc ? rc : write_all(b, &r, out, err, errlen);
	if (rc == 0 && sum)
		summarize(b, &r, sum);
	if (rc < 0)
		out->len = start;
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	render_free(&r, b);
	return rc;
}

/* ---- decoded forms and references --------------------------------------------------------- */

static const char *str(const char *s)
{
	return s ? s : "";
}

json_t *bundle_entry_json(const Consentd__V1__LedgerEntry *e)
{
	const Consentd__V1__Source *s = e->source;
	json_t *prev = hex_json(e->prev_hash.data, e->prev_hash.len), *src, *ev, *o = NULL;
	char when[40];

	rfc3339_format(e->received_at, when, sizeof(when));
	src = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "kind", str(s ? s->kind : NULL), "peer",
			str(s ? s->peer : NULL), "request_id", str(s ? s->request_id : NULL),
			"topic", str(s ? s->topic : NULL), "partition", s ? (int)s->partition : 0,
			"offset", (json_int_t)(s ? s->offset : 0));
	ev = e->event ? event_to_json(e->event) : json_null();
	if (prev && src && ev)
		o = json_pack("{s:I, s:O, s:s, s:O, s:O}", "seq", (json_int_t)e->seq, "prev_hash",
			      prev, "received_at", when, "source", src, "event", ev);
	json_decref(prev);
	json_decref(src);
	json_decref(ev);
	return o;
}

int bundle_add_notice_refs(const Consentd__V1__LedgerEntry *e, uint8_t (**refs)[HL], size_t *n)
{
	const Consentd__V1__Event *ev = e->event;
	const ProtobufCBinaryData *h;
	uint8_t(*grown)[HL];
	size_t at = 0;

	if (!ev || ev->body_case != CONSENTD__V1__EVENT__BODY_CONSENT || !ev->consent ||
	    !ev->consent->notice || ev->consent->notice->content_sha256.len != HL)
		return 0;
	h = &ev->consent->notice->content_sha256;
	while (at < *n && memcmp((*refs)[at], h->data, HL) < 0)
		at++;
	if (at < *n && memcmp((*refs)[at], h->data, HL) == 0)
		return 0;
	grown = realloc(*refs, (*n + 1) * HL);
	if (!grown)
		return -ENOMEM;
	memmove(grown[at + 1], grown[at], (*n - at) * HL);
	memcpy(grown[at], h->data, HL);
	*refs = grown;
	(*n)++;
	return 0;
}

/* ---- verification ------------------------------------------------------------------------- */

/* One item of the file: its bytes, its proof as written, and its decoded form as written. */
struct vitem {
	uint8_t *bytes;
	size_t len;
	bool has_proof;
	struct proof_inclusion p;
	json_t *decoded; /* borrowed from the parsed file */
};

struct vfile {
	json_t *root;
	uint8_t (*subject)[HL];
	size_t n_subject;
	const char *note;
	size_t note_len;
	struct vitem *entries, *notices;
	size_t n_entries, n_notices;
	struct bundle_item *e_items, *n_items;
	uint64_t size;
	uint8_t root_hash[HL];
};

static void vfile_free(struct vfile *v)
{
	for (size_t i = 0; v->entries && i < v->n_entries; i++)
		free(v->entries[i].bytes);
	for (size_t i = 0; v->notices && i < v->n_notices; i++)
		free(v->notices[i].bytes);
	free(v->entries);
	free(v->notices);
	free(v->e_items);
	free(v->n_items);
	free(v->subject);
	json_decref(v->root);
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int parse_subject(struct vfile *v, char *err, size_t errlen)
{
	json_t *a = json_object_get(v->root, "subject");
	size_t n = json_array_size(a);

	if (!json_is_array(a) || n == 0 || n > BUNDLE_MAX_PSEUDONYMS)
		return bad(err, errlen, "subject: needs 1 to %d pseudonyms", BUNDLE_MAX_PSEUDONYMS);
	v->subject = calloc(n, HL);
	if (!v->subject)
		return -ENOMEM;
	for (size_t j = 0; j < n; j++) {
		const char *h = json_string_value(json_array_get(a, j));

		if (!h || hex_decode(h, strlen(h), v->subject[j], HL) < 0)
			return bad(err, errlen, "subject: pseudonym %zu is not 64 hex digits",
				   j + 1);
	}
	v->n_subject = n;
	return 0;
}

static int parse_item(json_t *o, const char *what, size_t i, struct vitem *it, char *err,
		      size_t errlen)
{
	const char *b64 = json_string_value(json_object_get(o, "entry"));
	json_t *proof = json_object_get(o, "proof");
	char why[200];
	int n;

	if (!json_is_object(o) || !b64)
		return bad(err, errlen, "%s %zu: not an object with \"entry\"", what, i + 1);
	it->bytes = malloc(strlen(b64) / 4 * 3 + 1);
	if (!it->bytes)
		return -ENOMEM;
	if ((n = b64_decode(b64, strlen(b64), it->bytes, strlen(b64) / 4 * 3 + 1)) <= 0)
		return bad(err, errlen, "%s %zu: \"entry\" is not base64", what, i + 1);
	it->len = (size_t)n;
	it->decoded = json_object_get(o, "decoded");
	it->has_proof = proof && !json_is_null(proof);
	if (it->has_proof && proof_inclusion_parse(proof, &it->p, why, sizeof(why)) < 0)
		return bad(err, errlen, "%s %zu: proof: %s", what, i + 1, why);
	return 0;
}

static int parse_items(struct vfile *v, const char *key, const char *what, struct vitem **items,
		       struct bundle_item **views, size_t *n, char *err, size_t errlen)
{
	json_t *a = json_object_get(v->root, key);
	int rc;

	if (!json_is_array(a))
		return bad(err, errlen, "\"%s\" is not an array", key);
	*items = calloc(json_array_size(a) + 1, sizeof(**items));
	*views = calloc(json_array_size(a) + 1, sizeof(**views));
	if (!*items || !*views)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(a); i++) {
		struct vitem *it = &(*items)[i];

		*n = i + 1;
		if ((rc = parse_item(json_array_get(a, i), what, i, it, err, errlen)) < 0)
			return rc;
		(*views)[i] = (struct bundle_item){
		    it->bytes, it->len, (const uint8_t(*)[HL])(it->has_proof ? it->p.hashes : NULL),
		    it->has_proof ? it->p.n : 0};
	}
	return 0;
}

static int parse_file(const uint8_t *data, size_t len, struct vfile *v, char *err, size_t errlen)
{
	const char *format;
	json_error_t jerr;
	json_t *cp;
	int rc;

	v->root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v->root)
		return bad(err, errlen, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
			   jerr.column);
	format = json_string_value(json_object_get(v->root, "format"));
	if (!format || strcmp(format, BUNDLE_FORMAT) != 0)
		return bad(err, errlen, "not a consentd evidence bundle (\"format\" is not \"%s\")",
			   BUNDLE_FORMAT);
	cp = json_object_get(v->root, "checkpoint");
	v->note = json_string_value(json_object_get(cp, "note"));
	v->note_len = json_string_length(json_object_get(cp, "note"));
	if (!v->note)
		return bad(err, errlen, "checkpoint: no \"note\"");
	if ((rc = parse_subject(v, err, errlen)) < 0 ||
	    (rc = parse_items(v, "entries", "entry", &v->entries, &v->e_items, &v->n_entries, err,
			      errlen)) < 0)
		return rc;
	return parse_items(v, "notices", "notice", &v->notices, &v->n_items, &v->n_notices, err,
			   errlen);
}

static int check_signature(struct vfile *v, struct note_verifier *key, char *err, size_t errlen)
{
	char *origin = NULL;
	size_t tlen;
	int rc = note_open(v->note, v->note_len, &key, 1, &tlen, NULL);

	if (rc == -ENOMEM)
		return rc;
	if (rc == -EBADMSG || rc == -ENOKEY)
		return bad(err, errlen, "checkpoint: %s",
			   rc == -EBADMSG ? "the signature does not verify with the key"
					  : "no signature by the key");
	if (rc < 0)
		return bad(err, errlen, "checkpoint: not a well-formed signed note");
	rc = checkpoint_parse(v->note, tlen, &origin, &v->size, v->root_hash);
	if (rc == 0 && strcmp(origin, note_verifier_name(key)) != 0)
		rc = bad(err, errlen, "checkpoint: origin \"%s\" is not the key's name \"%s\"",
			 origin, note_verifier_name(key));
	else if (rc < 0 && rc != -ENOMEM)
		rc = bad(err, errlen, "checkpoint: signed, but not a checkpoint");
	free(origin);
	return rc;
}

/* What the renderer would only report as a byte difference, named precisely. */
static int precheck(const struct vfile *v, const struct vitem *it, const char *what, char *err,
		    size_t errlen)
{
	Consentd__V1__LedgerEntry *e = consentd__v1__ledger_entry__unpack(NULL, it->len, it->bytes);
	uint8_t leaf[HL];
	json_t *want;
	int rc = 0;

	if (!e)
		return 0; /* bundle_render names it */
	ledger_leaf_hash(it->bytes, it->len, leaf);
	want = bundle_entry_json(e);
	if (it->has_proof && it->p.tree_size != v->size)
		rc = bad(err, errlen,
			 "%s seq %" PRIu64 ": its proof is for tree size %" PRIu64
			 ", the checkpoint for %" PRIu64,
			 what, e->seq, it->p.tree_size, v->size);
	else if (it->has_proof && (it->p.seq != e->seq || memcmp(it->p.leaf_hash, leaf, HL) != 0))
		rc = bad(err, errlen, "%s seq %" PRIu64 ": its proof is not for these entry bytes",
			 what, e->seq);
	else if (!it->has_proof && e->seq <= v->size)
		rc = bad(err, errlen,
			 "%s seq %" PRIu64 ": no inclusion proof, though the checkpoint "
			 "covers it",
			 what, e->seq);
	else if (!want || !json_equal(want, it->decoded))
		rc = bad(err, errlen,
			 "%s seq %" PRIu64 ": the decoded form is not the decoding of "
			 "its bytes",
			 what, e->seq);
	json_decref(want);
	consentd__v1__ledger_entry__free_unpacked(e, NULL);
	return rc;
}

static int prechecks(const struct vfile *v, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < v->n_entries; i++)
		rc = precheck(v, &v->entries[i], "entry", err, errlen);
	for (size_t i = 0; rc == 0 && i < v->n_notices; i++)
		rc = precheck(v, &v->notices[i], "notice", err, errlen);
	return rc;
}

static int compare(const struct buf *canon, const uint8_t *data, size_t len, char *err,
		   size_t errlen)
{
	size_t at = 0, line = 1, col = 1;

	while (at < len && at < canon->len && data[at] == canon->data[at]) {
		col = data[at] == '\n' ? 1 : col + 1;
		line += data[at] == '\n';
		at++;
	}
	if (at == len && at == canon->len)
		return 0;
	return bad(err, errlen,
		   "byte %zu (line %zu, column %zu) differs from the canonical "
		   "rendering of what the bundle proves",
		   at, line, col);
}

int bundle_verify(const uint8_t *data, size_t len, struct note_verifier *key,
		  struct bundle_summary *sum, char *err, size_t errlen)
{
	struct bundle_summary s;
	struct vfile v = {0};
	struct buf canon = {0};
	struct bundle b;
	int rc;

	if ((rc = parse_file(data, len, &v, err, errlen)) < 0 ||
	    (rc = check_signature(&v, key, err, errlen)) < 0 ||
	    (rc = prechecks(&v, err, errlen)) < 0)
		goto out;
	b = (struct bundle){(const uint8_t(*)[HL])v.subject,
			    v.n_subject,
			    v.note,
			    v.note_len,
			    v.e_items,
			    v.n_entries,
			    v.n_items,
			    v.n_notices};
	if ((rc = bundle_render(&b, &canon, &s, err, errlen)) < 0) {
		rc = rc == -EINVAL ? -EBADMSG : rc;
		goto out;
	}
	if (strcmp(s.key_name, note_verifier_name(key)) != 0 ||
	    s.key_id != note_verifier_key_id(key))
		rc = bad(err, errlen,
			 "checkpoint: the bundle names key %s+%08" PRIx32 ", not the "
			 "given key",
			 s.key_name, s.key_id);
	rc = rc ? rc : compare(&canon, data, len, err, errlen);
	if (rc == 0 && sum)
		*sum = s;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	buf_free(&canon);
	vfile_free(&v);
	return rc;
}
