/* RFC 6962 / RFC 9162 Merkle tree over leaf hashes: the compact frontier a writer keeps in memory,
 * proofs built from stored perfect-subtree nodes, and their verification. Pure: no I/O. */
#ifndef CONSENTD_MERKLE_H
#define CONSENTD_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
/* Longest proof for 64-bit tree sizes: an inclusion proof has at most 64 hashes, a consistency
 * proof at most ceil(log2(size2)) + 1 = 65. */
#define MERKLE_MAX_PROOF 65
/* Most stored nodes any one proof, root or subtree hash needs (see merkle_*_nodes). */
#define MERKLE_MAX_NODE_REFS 128

/*
 * Storage model: the hash of every perfect subtree is addressed as (level, index) and is the root
 * of leaves [index * 2^level, (index + 1) * 2^level); level 0 holds the leaf hashes. Nothing
 * else is ever stored: roots and proof hashes of incomplete (right-border) subtrees are
 * recomputed from O(log n) perfect nodes.
 */
struct merkle_node_ref {
	unsigned level;
	uint64_t index;
};

/* Fetches a stored perfect node into out; returns 0 or a negative errno (-ENOENT if missing). */
typedef int (*merkle_node_fn)(void *arg, unsigned level, uint64_t index,
			      uint8_t out[MERKLE_HASH_LEN]);
/* Receives a perfect node completed by an append, to be persisted; 0 or a negative errno. */
typedef int (*merkle_emit_cb)(void *arg, unsigned level, uint64_t index,
			      const uint8_t hash[MERKLE_HASH_LEN]);

/* SHA-256(0x00 || data), SHA-256(0x01 || left || right), SHA-256("") (root of the empty tree).
 * out may alias left or right. Abort only if libcrypto cannot hash at all. */
void merkle_hash_leaf(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);
void merkle_hash_children(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
			  uint8_t out[MERKLE_HASH_LEN]);
void merkle_hash_empty(uint8_t out[MERKLE_HASH_LEN]);

/* Reference root of the tree over n leaf hashes, by the RFC's recursive definition. O(n). */
void merkle_root_from_leaves(const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n,
			     uint8_t out[MERKLE_HASH_LEN]);

/*
 * The compact range [0, size): hash[l] is the root of the perfect subtree of 2^l leaves for every
 * set bit l of size, the leftmost such subtree at the highest level. Entries for clear bits are
 * meaningless. Fixed size, no allocation; copy it by assignment.
 */
struct merkle_frontier {
	uint64_t size;
	uint8_t hash[64][MERKLE_HASH_LEN];
};

void merkle_frontier_init(struct merkle_frontier *f);
/* Appends one leaf hash. Calls emit (if not NULL) for every perfect node this append completes,
 * bottom up, starting with (0, old size) for the leaf itself. If emit fails the frontier is left
 * unchanged and its error returned; -EOVERFLOW when the tree is full. */
int merkle_frontier_append(struct merkle_frontier *f, const uint8_t leaf_hash[MERKLE_HASH_LEN],
			   merkle_emit_cb emit, void *arg);
/* Root of the whole tree (SHA-256("") when empty). */
void merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN]);
/* Rebuilds the frontier of a tree of the given size from stored nodes: one read per set bit of
 * size, the nodes of merkle_subtree_nodes(0, size) in that order. On failure f is left
 * unchanged and node_fn's error returned. */
int merkle_frontier_load(struct merkle_frontier *f, uint64_t size, merkle_node_fn node_fn,
			 void *arg);

/*
 * The node lists below name exactly the stored nodes, in the order, that the matching function
 * fetches through node_fn, so a caller can fetch them in one query and serve node_fn from memory.
 * out holds MERKLE_MAX_NODE_REFS entries. -EINVAL for impossible arguments.
 */
int merkle_subtree_nodes(uint64_t begin, uint64_t end, struct merkle_node_ref *out, size_t *n_out);
int merkle_inclusion_nodes(uint64_t leaf_index, uint64_t tree_size, struct merkle_node_ref *out,
			   size_t *n_out);
int merkle_consistency_nodes(uint64_t size1, uint64_t size2, struct merkle_node_ref *out,
			     size_t *n_out);

/*
 * RFC 6962 MTH of leaves [begin, end), computed from stored perfect nodes. Defined when every
 * subtree of that tree is a stored node: end - begin <= 1, or begin is a multiple of the largest
 * power of two below end - begin (this covers any tree root, [0, size), and any node, perfect or
 * on a right border). -EINVAL otherwise. begin == end gives SHA-256("").
 */
int merkle_subtree_hash(uint64_t begin, uint64_t end, merkle_node_fn node_fn, void *arg,
			uint8_t out[MERKLE_HASH_LEN]);

/* Proofs exactly as RFC 9162 2.1.3.1 (PATH) and 2.1.4.1 (PROOF), bottom up; out holds
 * MERKLE_MAX_PROOF hashes. Inclusion needs leaf_index < tree_size. Consistency needs
 * 0 < size1 <= size2 (size1 == size2 gives an empty proof): RFC 9162 defines no proof from the
 * empty tree, and the verifier below rejects one. */
int merkle_inclusion_proof(uint64_t leaf_index, uint64_t tree_size, merkle_node_fn node_fn,
			   void *arg, uint8_t (*out)[MERKLE_HASH_LEN], size_t *n_out);
int merkle_consistency_proof(uint64_t size1, uint64_t size2, merkle_node_fn node_fn, void *arg,
			     uint8_t (*out)[MERKLE_HASH_LEN], size_t *n_out);

/* Verification exactly as RFC 9162 2.1.3.2 and 2.1.4.2: 0 when the proof is valid, -EINVAL
 * otherwise, including leaf_index >= tree_size, missing or extra proof hashes, size1 > size2 and
 * size1 == 0. For size1 == size2 the proof must be empty and the roots equal. */
int merkle_verify_inclusion(uint64_t leaf_index, uint64_t tree_size,
			    const uint8_t leaf_hash[MERKLE_HASH_LEN],
			    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n,
			    const uint8_t root[MERKLE_HASH_LEN]);
int merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH_LEN],
			      const uint8_t root2[MERKLE_HASH_LEN],
			      const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n);

#endif
