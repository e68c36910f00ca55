/* The JSON form of Merkle proofs, shared by the HTTP API and consentctl: building it and parsing
 * it strictly. Hashes are standard base64 with padding. Pure: no I/O.
 *
 *   {"type":"inclusion","seq":N,"leaf_index":N-1,"tree_size":M,"leaf_hash":"<b64>",
 *    "hashes":["<b64>",...]}
 *   {"type":"consistency","from":A,"to":B,"hashes":["<b64>",...]}
 */
#ifndef CONSENTD_PROOF_H
#define CONSENTD_PROOF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/merkle.h"

enum proof_type {
	PROOF_INCLUSION = 1,
	PROOF_CONSISTENCY,
};

struct proof_inclusion {
	uint64_t seq; /* ledger seq of the entry; leaf index seq - 1 */
	uint64_t tree_size;
	uint8_t leaf_hash[MERKLE_HASH_LEN];
	uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t n;
};

struct proof_consistency {
	uint64_t from;
	uint64_t to;
	uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t n;
};

/* New JSON objects (the caller owns the reference); NULL on allocation failure or for arguments
 * no proof can have: seq 0, a tree size above 2^63 - 1 (JSON integers are signed), n above
 * MERKLE_MAX_PROOF. */
json_t *proof_inclusion_json(uint64_t seq, uint64_t tree_size,
			     const uint8_t leaf_hash[MERKLE_HASH_LEN],
			     const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t n);
json_t *proof_consistency_json(uint64_t from, uint64_t to, const uint8_t (*hashes)[MERKLE_HASH_LEN],
			       size_t n);

/*
 * Strict parsers: an object with exactly the members above, of the right JSON types; integers
 * non-negative; every hash canonical base64 of exactly 32 bytes; at most MERKLE_MAX_PROOF hashes.
 * Inclusion also needs seq >= 1, leaf_index == seq - 1 and seq <= tree_size; consistency needs
 * 1 <= from <= to. Whether the hashes prove anything is merkle_verify_*'s job.
 * Return 0, or -EINVAL with the reason in err; out is written only on success.
 */
int proof_type_of(const json_t *j, enum proof_type *type, char *err, size_t errlen);
int proof_inclusion_parse(const json_t *j, struct proof_inclusion *out, char *err, size_t errlen);
int proof_consistency_parse(const json_t *j, struct proof_consistency *out, char *err,
			    size_t errlen);

/* Ties an inclusion proof to raw LedgerEntry bytes: the proof's leaf_hash must be
 * SHA-256(0x00 || entry) and the entry must decode and name the proof's seq. 0, or -EINVAL
 * with the reason in err. */
int proof_entry_check(const struct proof_inclusion *p, const uint8_t *entry, size_t len, char *err,
		      size_t errlen);

#endif
