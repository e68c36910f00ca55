/* The ledger's pure core: canonical LedgerEntry bytes, RFC 6962 leaf hashes, and the
 * chain-verification state machine that consentctl verify drives row by row. No I/O. */
#ifndef CONSENTD_LEDGER_H
#define CONSENTD_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define LEDGER_HASH_LEN 32

/* Where an event came from; strings are borrowed and may be NULL. */
struct ledger_source {
	const char *kind; /* "http" | "kafka" */
	const char *peer;
	const char *request_id;
	const char *topic;
	int32_t partition;
	int64_t offset;
};

/* leaf_hash = SHA-256(0x00 || entry) */
void ledger_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[LEDGER_HASH_LEN]);

/* Appends the serialized LedgerEntry {seq, prev_hash, received_at, source, event} to out, where
 * event holds the canonical Event bytes. The result is byte-identical to protobuf-c packing the
 * whole message (event is the last field, so its bytes are appended, never re-encoded). */
int ledger_entry_encode(uint64_t seq, const uint8_t prev_hash[LEDGER_HASH_LEN], int64_t received_at_us,
			const struct ledger_source *src, const uint8_t *event, size_t event_len,
			struct buf *out);

/* What verification found wrong, in the order it is checked for each row. */
enum chain_problem {
	CHAIN_OK = 0,
	CHAIN_GAP,           /* a seq is missing (entry deleted) */
	CHAIN_HASH_MISMATCH, /* stored leaf_hash differs from SHA-256(0x00 || entry): entry modified */
	CHAIN_UNDECODABLE,   /* entry bytes are not a LedgerEntry */
	CHAIN_SEQ_MISMATCH,  /* the entry says another seq than its row: rows reordered or forged */
	CHAIN_BROKEN_LINK,   /* prev_hash differs from the previous entry's leaf hash */
};

const char *chain_problem_name(enum chain_problem p);

/* Streaming verifier: feed rows in seq order; constant memory. */
struct chain_verifier {
	uint64_t next_seq;                 /* seq expected next (starts at 1) */
	uint8_t prev_hash[LEDGER_HASH_LEN]; /* what the next row must link to */
	uint8_t leaf[LEDGER_HASH_LEN];      /* leaf hash recomputed from the last row's bytes */
	uint64_t bad_seq;                   /* first seq at fault, when a problem was found */
	enum chain_problem problem;
	char detail[160];
};

void chain_verifier_init(struct chain_verifier *v);
/* Checks one row. Returns CHAIN_OK, or the first problem (also kept in v; later rows are still
 * accepted so that the caller may go on counting, but v->problem keeps the first). */
enum chain_problem chain_verifier_step(struct chain_verifier *v, uint64_t row_seq, const uint8_t *entry,
				       size_t entry_len, const uint8_t *stored_leaf_hash, size_t stored_len);

#endif
