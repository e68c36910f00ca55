/* Merkle proofs as JSON: the one encoding the HTTP API serves and consentctl prints and reads. */
#include "ledger/proof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consentd.pb-c.h"
#include "ledger/ledger.h"
#include "util/util.h"

/* json_int_t is signed 64-bit: larger sizes cannot be represented. */
#define JSON_INT_MAX ((uint64_t)INT64_MAX)

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- building ----------------------------------------------------------------------------- */

static int set_new(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new(obj, key, value) : -1;
}

static json_t *b64_json(const uint8_t hash[MERKLE_HASH_LEN])
{
	char *s = b64_encode(hash, MERKLE_HASH_LEN);
	json_t *j = s ? json_string(s) : NULL;

	free(s);
	return j;
}

static json_t *hashes_json(const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, b64_json(hashes[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *proof_inclusion_json(uint64_t seq, uint64_t tree_size,
			     const uint8_t leaf_hash[MERKLE_HASH_LEN],
			     const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n)
{
	json_t *o;

	if (seq == 0 || tree_size > JSON_INT_MAX || n > MERKLE_MAX_PROOF)
		return NULL;
	o = json_object();
	if (!o || set_new(o, "type", json_string("inclusion")) < 0 ||
	    set_new(o, "seq", json_integer((json_int_t)seq)) < 0 ||
	    set_new(o, "leaf_index", json_integer((json_int_t)(seq - 1))) < 0 ||
	    set_new(o, "tree_size", json_integer((json_int_t)tree_size)) < 0 ||
	    set_new(o, "leaf_hash", b64_json(leaf_hash)) < 0 ||
	    set_new(o, "hashes", hashes_json(hashes, n)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *proof_consistency_json(uint64_t from, uint64_t to, const uint8_t (*hashes)[MERKLE_HASH_LEN],
			       size_t n)
{
	json_t *o;

	if (from > JSON_INT_MAX || to > JSON_INT_MAX || n > MERKLE_MAX_PROOF)
		return NULL;
	o = json_object();
	if (!o || set_new(o, "type", json_string("consistency")) < 0 ||
	    set_new(o, "from", json_integer((json_int_t)from)) < 0 ||
	    set_new(o, "to", json_integer((json_int_t)to)) < 0 ||
	    set_new(o, "hashes", hashes_json(hashes, n)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- parsing ------------------------------------------------------------------------------ */

/* Every member of j must be one of the NULL-terminated names. */
static int only_members(const json_t *j, const char *const *names, char *err, size_t errlen)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)j, key, value)
	{
		bool known = false;

		(void)value;
		for (size_t i = 0; names[i] && !known; i++)
			known = strcmp(key, names[i]) == 0;
		if (!known)
			return fail(err, errlen, "unknown member \"%s\"", key);
	}
	return 0;
}

static int get_uint(const json_t *j, const char *key, uint64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(j, key);

	if (!v)
		return fail(err, errlen, "member \"%s\" is missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(err, errlen, "\"%s\" is not a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_hash(const json_t *v, const char *what, uint8_t out[MERKLE_HASH_LEN], char *err,
		    size_t errlen)
{
	if (!json_is_string(v))
		return fail(err, errlen, "%s is not a string", what);
	if (b64_decode(json_string_value(v), json_string_length(v), out, MERKLE_HASH_LEN) !=
	    MERKLE_HASH_LEN)
		return fail(err, errlen, "%s is not base64 of a %d-byte hash", what,
			    MERKLE_HASH_LEN);
	return 0;
}

static int get_hashes(const json_t *j, uint8_t (*out)[MERKLE_HASH_LEN], size_t *n, char *err,
		      size_t errlen)
{
	json_t *a = json_object_get(j, "hashes");
	char what[32];
	int rc;

	if (!a)
		return fail(err, errlen, "member \"hashes\" is missing");
	if (!json_is_array(a))
		return fail(err, errlen, "\"hashes\" is not an array");
	if (json_array_size(a) > MERKLE_MAX_PROOF)
		return fail(err, errlen, "%zu hashes, more than any proof has (%d)",
			    json_array_size(a), MERKLE_MAX_PROOF);
	for (size_t i = 0; i < json_array_size(a); i++) {
		snprintf(what, sizeof(what), "hashes[%zu]", i);
		if ((rc = get_hash(json_array_get(a, i), what, out[i], err, errlen)) < 0)
			return rc;
	}
	*n = json_array_size(a);
	return 0;
}

int proof_type_of(const json_t *j, enum proof_type *type, char *err, size_t errlen)
{
	const char *t;

	if (!json_is_object(j))
		return fail(err, errlen, "a proof is a JSON object");
	t = json_string_value(json_object_get(j, "type"));
	if (!t)
		return fail(err, errlen, "member \"type\" is missing or not a string");
	if (strcmp(t, "inclusion") == 0)
		*type = PROOF_INCLUSION;
	else if (strcmp(t, "consistency") == 0)
		*type = PROOF_CONSISTENCY;
	else
		return fail(err, errlen, "unknown proof type \"%s\"", t);
	return 0;
}

static int expect_type(const json_t *j, enum proof_type want, char *err, size_t errlen)
{
	enum proof_type t;
	int rc = proof_type_of(j, &t, err, errlen);

	if (rc == 0 && t != want)
		return fail(err, errlen, "a %s proof where a%s was expected",
			    t == PROOF_INCLUSION ? "inclusion" : "consistency",
			    want == PROOF_INCLUSION ? "n inclusion" : " consistency");
	return rc;
}

int proof_inclusion_parse(const json_t *j, struct proof_inclusion *out, char *err, size_t errlen)
{
	static const char *const members[] = {"type",	   "seq",    "leaf_index", "tree_size",
					      "leaf_hash", "hashes", NULL};
	struct proof_inclusion p;
	uint64_t leaf_index = 0;
	int rc;

	if ((rc = expect_type(j, PROOF_INCLUSION, err, errlen)) < 0 ||
	    (rc = only_members(j, members, err, errlen)) < 0 ||
	    (rc = get_uint(j, "seq", &p.seq, err, errlen)) < 0 ||
	    (rc = get_uint(j, "leaf_index", &leaf_index, err, errlen)) < 0 ||
	    (rc = get_uint(j, "tree_size", &p.tree_size, err, errlen)) < 0 ||
	    (rc = get_hash(json_object_get(j, "leaf_hash"), "\"leaf_hash\"", p.leaf_hash, err,
			   errlen)) < 0 ||
	    (rc = get_hashes(j, p.hashes, &p.n, err, errlen)) < 0)
		return rc;
	if (p.seq == 0)
		return fail(err, errlen, "seq 0: seqs start at 1");
	if (leaf_index != p.seq - 1)
		return fail(err, errlen, "leaf_index %" PRIu64 " is not seq - 1 (seq %" PRIu64 ")",
			    leaf_index, p.seq);
	if (p.seq > p.tree_size)
		return fail(err, errlen, "seq %" PRIu64 " is beyond the tree size %" PRIu64, p.seq,
			    p.tree_size);
	*out = p;
	return 0;
}

int proof_consistency_parse(const json_t *j, struct proof_consistency *out, char *err,
			    size_t errlen)
{
	static const char *const members[] = {"type", "from", "to", "hashes", NULL};
	struct proof_consistency p;
	int rc;

	if ((rc = expect_type(j, PROOF_CONSISTENCY, err, errlen)) < 0 ||
	    (rc = only_members(j, members, err, errlen)) < 0 ||
	    (rc = get_uint(j, "from", &p.from, err, errlen)) < 0 ||
	    (rc = get_uint(j, "to", &p.to, err, errlen)) < 0 ||
	    (rc = get_hashes(j, p.hashes, &p.n, err, errlen)) < 0)
		return rc;
	if (p.from == 0)
		return fail(err, errlen,
			    "from 0: there is no consistency proof from the empty tree");
	if (p.from > p.to)
		return fail(err, errlen, "from %" PRIu64 " is beyond to %" PRIu64, p.from, p.to);
	*out = p;
	return 0;
}

int proof_entry_check(const struct proof_inclusion *p, const uint8_t *entry, size_t len, char *err,
		      size_t errlen)
{
	Consentd__V1__LedgerEntry *e;
	uint8_t leaf[LEDGER_HASH_LEN];
	uint64_t seq;

	ledger_leaf_hash(entry, len, leaf);
	if (memcmp(leaf, p->leaf_hash, LEDGER_HASH_LEN) != 0)
		return fail(err, errlen,
			    "the entry's leaf hash SHA-256(0x00 || entry) is not the "
			    "proof's leaf_hash");
	if (!(e = consentd__v1__ledger_entry__unpack(NULL, len, entry)))
		return fail(err, errlen, "the entry bytes are not a LedgerEntry");
	seq = e->seq;
	consentd__v1__ledger_entry__free_unpacked(e, NULL);
	if (seq != p->seq)
		return fail(err, errlen,
			    "the entry is seq %" PRIu64 ", the proof is for seq %" PRIu64, seq,
			    p->seq);
	return 0;
}
