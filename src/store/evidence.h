/* Merkle nodes and checkpoints in PostgreSQL (blocking: writer and reader threads, consentctl).
 * Level-0 nodes are audit_log.leaf_hash (leaf i = seq i + 1); higher ones are merkle_node rows. */
#ifndef CONSENTD_EVIDENCE_H
#define CONSENTD_EVIDENCE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/merkle.h"

/* Fetches the listed nodes in one query, in order. -ENOENT (err says which) if one is missing:
 * the tree in the database does not reach that far, or rows were removed. */
int store_fetch_nodes(PGconn *c, const struct merkle_node_ref *refs, size_t n,
		      uint8_t (*out)[MERKLE_HASH_LEN], char *err, size_t errlen);
/* The committed tree size (the chain head's seq). */
int store_tree_size(PGconn *c, uint64_t *size, char *err, size_t errlen);
/* Root of the first size leaves, from stored nodes. */
int store_tree_root(PGconn *c, uint64_t size, uint8_t root[MERKLE_HASH_LEN], char *err, size_t errlen);
/* Proofs from stored nodes; proof holds MERKLE_MAX_PROOF hashes. leaf_hash receives leaf i's. */
int store_inclusion_proof(PGconn *c, uint64_t leaf_index, uint64_t tree_size,
			  uint8_t leaf_hash[MERKLE_HASH_LEN], uint8_t (*proof)[MERKLE_HASH_LEN], size_t *n,
			  char *err, size_t errlen);
int store_consistency_proof(PGconn *c, uint64_t size1, uint64_t size2,
			    uint8_t (*proof)[MERKLE_HASH_LEN], size_t *n, char *err, size_t errlen);
/* Rebuilds a frontier for the given size from stored nodes (one query). */
int store_load_frontier(PGconn *c, uint64_t size, struct merkle_frontier *f, char *err, size_t errlen);
/* The newest checkpoint: note text (malloc'd, caller frees) and its tree size; -ENOENT if none. */
int store_latest_checkpoint(PGconn *c, char **note, uint64_t *tree_size, char *err, size_t errlen);
/* Stores a checkpoint: 1 if stored, 0 if one existed for this size already (another writer's,
 * kept), or a negative errno. */
int store_insert_checkpoint(PGconn *c, uint64_t tree_size, const uint8_t root[MERKLE_HASH_LEN],
			    const char *note, char *err, size_t errlen);

#endif
