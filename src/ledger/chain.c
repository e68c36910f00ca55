/* Streaming verification of the hash chain: one row at a time, constant memory. */
#include "ledger/ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "consentd.pb-c.h"

const char *chain_problem_name(enum chain_problem p)
{
	switch (p) {
	case CHAIN_OK:
		return "ok";
	case CHAIN_GAP:
		return "gap";
	case CHAIN_HASH_MISMATCH:
		return "hash_mismatch";
	case CHAIN_UNDECODABLE:
		return "undecodable";
	case CHAIN_SEQ_MISMATCH:
		return "seq_mismatch";
	case CHAIN_BROKEN_LINK:
		return "broken_link";
	}
	return "unknown";
}

void chain_verifier_init(struct chain_verifier *v)
{
	memset(v, 0, sizeof(*v));
	v->next_seq = 1;
}

static enum chain_problem fail(struct chain_verifier *v, uint64_t seq, enum chain_problem p,
			       const char *detail)
{
	if (v->problem == CHAIN_OK) {
		v->problem = p;
		v->bad_seq = seq;
		snprintf(v->detail, sizeof(v->detail), "%s", detail);
	}
	return p;
}

/* Decodes just enough of the entry to check its seq and link. */
static enum chain_problem check_entry(struct chain_verifier *v, uint64_t row_seq, const uint8_t *entry,
				      size_t entry_len)
{
	Consentd__V1__LedgerEntry *e = consentd__v1__ledger_entry__unpack(NULL, entry_len, entry);
	enum chain_problem p = CHAIN_OK;
	char msg[160];

	if (!e)
		return fail(v, row_seq, CHAIN_UNDECODABLE, "entry bytes are not a LedgerEntry");
	if (e->seq != row_seq) {
		snprintf(msg, sizeof(msg), "row seq %" PRIu64 " holds the entry of seq %" PRIu64, row_seq,
			 e->seq);
		p = fail(v, row_seq, CHAIN_SEQ_MISMATCH, msg);
	} else if (e->prev_hash.len != LEDGER_HASH_LEN ||
		   memcmp(e->prev_hash.data, v->prev_hash, LEDGER_HASH_LEN) != 0) {
		p = fail(v, row_seq, CHAIN_BROKEN_LINK,
			 "prev_hash differs from the leaf hash of the previous entry");
	}
	consentd__v1__ledger_entry__free_unpacked(e, NULL);
	return p;
}

enum chain_problem chain_verifier_step(struct chain_verifier *v, uint64_t row_seq, const uint8_t *entry,
				       size_t entry_len, const uint8_t *stored_leaf_hash, size_t stored_len)
{
	uint8_t leaf[LEDGER_HASH_LEN];
	enum chain_problem p = CHAIN_OK;
	char msg[160];

	ledger_leaf_hash(entry, entry_len, leaf);
	memcpy(v->leaf, leaf, LEDGER_HASH_LEN);
	if (row_seq != v->next_seq) {
		snprintf(msg, sizeof(msg), "expected seq %" PRIu64 ", found %" PRIu64, v->next_seq,
			 row_seq);
		p = fail(v, v->next_seq, CHAIN_GAP, msg);
	} else if (stored_len != LEDGER_HASH_LEN || memcmp(leaf, stored_leaf_hash, LEDGER_HASH_LEN)) {
		p = fail(v, row_seq, CHAIN_HASH_MISMATCH,
			 "stored leaf_hash differs from SHA-256(0x00 || entry): entry modified");
	} else {
		p = check_entry(v, row_seq, entry, entry_len);
	}
	/* Go on from this row as if it were right, so that one fault does not cascade: after a
	 * modified entry the next one links to the hash that was stored, not the recomputed one. */
	v->next_seq = row_seq + 1;
	if (p == CHAIN_HASH_MISMATCH && stored_len == LEDGER_HASH_LEN)
		memcpy(v->prev_hash, stored_leaf_hash, LEDGER_HASH_LEN);
	else
		memcpy(v->prev_hash, leaf, LEDGER_HASH_LEN);
	return p;
}
