/* libFuzzer target: evidence bundle files as `consentctl verify-bundle FILE --key KEY` checks
 * them (bundle_verify), against a fixed key that signs the seeds (gen_bundle_seeds.c), so that
 * mutations reach the proofs, decoded forms, notices and the canonical comparison. A bundle that
 * verifies is checked again here with the ledger primitives alone: its signature, every proof,
 * every notice's hash, and the summary the verifier printed. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_parts.h"
#include "event/event.h"
#include "fuzz.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/proof.h"

#define HL BUNDLE_HASH_LEN

struct walk {
	uint64_t tree_size, prev;
	uint8_t root[HL];
	size_t covered;
	uint64_t first_uncovered;
};

/* A notice entry's content hashes to the content_sha256 it carries and the item names. */
static void check_notice(const json_t *o, const Consentd__V1__LedgerEntry *e)
{
	const Consentd__V1__NoticeContent *n = e->event->notice;
	const char *hex = json_string_value(json_object_get(o, "content_sha256"));
	uint8_t h[HL], named[HL];

	FUZZ_CHECK(event_is_notice(e->event));
	FUZZ_CHECK(EVP_Digest(n->content.data, n->content.len, h, NULL, EVP_sha256(), NULL));
	FUZZ_CHECK(memcmp(h, n->content_sha256.data, HL) == 0);
	FUZZ_CHECK(hex && hex_decode(hex, strlen(hex), named, HL) == 0 && !memcmp(h, named, HL));
}

/* One item: its bytes decode, ascend in seq, and a covered one's proof leads to the root. */
static void check_item(const json_t *o, struct walk *w, bool notice)
{
	const char *b64 = json_string_value(json_object_get(o, "entry"));
	const json_t *proof = json_object_get(o, "proof");
	Consentd__V1__LedgerEntry *e;
	struct proof_inclusion p;
	uint8_t *bytes, leaf[HL];
	char err[256];
	int len;

	FUZZ_CHECK(b64 && (bytes = malloc(strlen(b64) / 4 * 3 + 1)));
	len = b64_decode(b64, strlen(b64), bytes, strlen(b64) / 4 * 3 + 1);
	FUZZ_CHECK(len > 0);
	e = consentd__v1__ledger_entry__unpack(NULL, (size_t)len, bytes);
	FUZZ_CHECK(e && e->event && e->seq > w->prev);
	FUZZ_CHECK(json_integer_value(json_object_get(o, "seq")) == (json_int_t)e->seq);
	w->prev = e->seq;
	ledger_leaf_hash(bytes, (size_t)len, leaf);
	if (e->seq <= w->tree_size) {
		FUZZ_CHECK(proof_inclusion_parse(proof, &p, err, sizeof(err)) == 0);
		FUZZ_CHECK(p.seq == e->seq && p.tree_size == w->tree_size);
		FUZZ_CHECK(merkle_verify_inclusion(e->seq - 1, w->tree_size, leaf,
						   (const uint8_t(*)[HL])p.hashes, p.n,
						   w->root) == 0);
		w->covered += !notice;
	} else {
		FUZZ_CHECK(json_is_null(proof));
		if (!notice && !w->first_uncovered)
			w->first_uncovered = e->seq;
	}
	if (notice)
		check_notice(o, e);
	consentd__v1__ledger_entry__free_unpacked(e, NULL);
	free(bytes);
}

static void check_valid(const uint8_t *data, size_t size, const struct bundle_summary *sum)
{
	struct note_verifier *key = bundle_parts_verifier();
	json_t *j = json_loadb((const char *)data, size, 0, NULL), *cp, *a;
	struct walk w = {0};
	const char *note, *first;
	char *origin = NULL;
	size_t tlen;

	FUZZ_CHECK(j);
	cp = json_object_get(j, "checkpoint");
	note = json_string_value(json_object_get(cp, "note"));
	FUZZ_CHECK(note && note_open(note, json_string_length(json_object_get(cp, "note")), &key, 1,
				     &tlen, NULL) == 0);
	FUZZ_CHECK(checkpoint_parse(note, tlen, &origin, &w.tree_size, w.root) == 0);
	FUZZ_CHECK(strcmp(origin, BUNDLE_PARTS_ORIGIN) == 0 && strcmp(sum->key_name, origin) == 0);
	FUZZ_CHECK(sum->key_id == note_verifier_key_id(key) && sum->tree_size == w.tree_size);
	a = json_object_get(j, "entries");
	FUZZ_CHECK(json_array_size(a) == sum->entries);
	for (size_t i = 0; i < json_array_size(a); i++)
		check_item(json_array_get(a, i), &w, false);
	FUZZ_CHECK(w.covered == sum->covered && w.first_uncovered == sum->first_uncovered);
	a = json_object_get(j, "notices");
	FUZZ_CHECK(json_array_size(a) == sum->notices);
	w.prev = 0;
	for (size_t i = 0; i < json_array_size(a); i++)
		check_item(json_array_get(a, i), &w, true);
	FUZZ_CHECK(json_array_size(json_object_get(j, "notices_missing")) == sum->notices_missing);
	first = json_string_value(json_array_get(json_object_get(j, "subject"), 0));
	FUZZ_CHECK(first && strcmp(first, sum->subject) == 0);
	free(origin);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_summary sum;
	char err[512] = "";
	int rc;

	rc = bundle_verify(data, size, bundle_parts_verifier(), &sum, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EBADMSG);
	if (rc == 0)
		check_valid(data, size, &sum);
	else
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	return 0;
}
