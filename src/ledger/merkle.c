/* RFC 6962 / RFC 9162 Merkle tree: hashing, the append frontier, proofs assembled from stored
 * perfect-subtree nodes, and their verification. Pure: stored nodes come through a callback. */
#include "ledger/merkle.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A proof as a list of stored nodes: nodes[eph_begin, eph_end) are the perfect subtrees, left to
 * right, of the one incomplete (ephemeral) subtree that the proof carries as a single hash. */
struct plan {
	struct merkle_node_ref ref[MERKLE_MAX_NODE_REFS];
	size_t n;
	size_t eph_begin, eph_end;
};

static void sha256(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	/* Failing to hash is a broken libcrypto, not bad input: a wrong hash must never escape. */
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		abort();
}

void merkle_hash_leaf(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
	    (len && EVP_DigestUpdate(ctx, data, len) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
}

void merkle_hash_children(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
			  uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t in[1 + 2 * MERKLE_HASH_LEN];

	in[0] = 0x01;
	memcpy(in + 1, left, MERKLE_HASH_LEN);
	memcpy(in + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	sha256(in, sizeof(in), out);
}

void merkle_hash_empty(uint8_t out[MERKLE_HASH_LEN])
{
	sha256("", 0, out);
}

/* Largest power of two strictly below n, for n >= 2: where RFC 6962 splits a tree of n leaves. */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

void merkle_root_from_leaves(const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n,
			     uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t left[MERKLE_HASH_LEN], right[MERKLE_HASH_LEN];
	size_t k;

	if (n == 0) {
		merkle_hash_empty(out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], MERKLE_HASH_LEN);
		return;
	}
	k = (size_t)split_point(n);
	merkle_root_from_leaves(leaves, k, left);
	merkle_root_from_leaves(leaves + k, n - k, right);
	merkle_hash_children(left, right, out);
}

void merkle_frontier_init(struct merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

int merkle_frontier_append(struct merkle_frontier *f, const uint8_t leaf_hash[MERKLE_HASH_LEN],
			   merkle_emit_cb emit, void *arg)
{
	uint8_t carry[MERKLE_HASH_LEN];
	uint64_t index = f->size;
	unsigned level = 0;
	int rc;

	if (f->size == UINT64_MAX)
		return -EOVERFLOW;
	memcpy(carry, leaf_hash, MERKLE_HASH_LEN);
	/* Each set low bit of the old size is a left sibling that the new leaf now completes. The
	 * frontier is written only once every emit succeeded, so a failed append can be retried. */
	for (;;) {
		if (emit && (rc = emit(arg, level, index >> level, carry)) < 0)
			return rc;
		if (!(f->size >> level & 1))
			break;
		merkle_hash_children(f->hash[level], carry, carry);
		level++;
	}
	memcpy(f->hash[level], carry, MERKLE_HASH_LEN);
	f->size++;
	return 0;
}

void merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[MERKLE_HASH_LEN])
{
	bool have = false;

	if (f->size == 0) {
		merkle_hash_empty(out);
		return;
	}
	/* Fold from the smallest (rightmost) subtree up: each larger one is a left sibling. */
	for (unsigned l = 0; l < 64; l++) {
		if (!(f->size >> l & 1))
			continue;
		if (have) {
			merkle_hash_children(f->hash[l], out, out);
		} else {
			memcpy(out, f->hash[l], MERKLE_HASH_LEN);
			have = true;
		}
	}
}

int merkle_frontier_load(struct merkle_frontier *f, uint64_t size, merkle_node_fn node_fn,
			 void *arg)
{
	struct merkle_frontier tmp;
	int rc;

	merkle_frontier_init(&tmp);
	tmp.size = size;
	/* Highest level first, the order of merkle_subtree_nodes(0, size). Bit l set: size >> l
	 * is odd and the perfect subtree of that bit is the node just before it. */
	for (unsigned l = 64; l-- > 0;) {
		if ((size >> l & 1) && (rc = node_fn(arg, l, (size >> l) - 1, tmp.hash[l])) < 0)
			return rc;
	}
	*f = tmp;
	return 0;
}

/* Appends the perfect nodes covering [begin, end), left to right, each the largest aligned one. */
static int add_range(struct plan *p, uint64_t begin, uint64_t end)
{
	while (begin < end) {
		unsigned level = 63 - (unsigned)__builtin_clzll(end - begin);

		if (begin && (unsigned)__builtin_ctzll(begin) < level)
			level = (unsigned)__builtin_ctzll(begin);
		if (p->n == MERKLE_MAX_NODE_REFS)
			return -E2BIG;
		p->ref[p->n++] = (struct merkle_node_ref){level, begin >> level};
		begin += (uint64_t)1 << level;
	}
	return 0;
}

static int add_node(struct plan *p, unsigned level, uint64_t index)
{
	if (p->n == MERKLE_MAX_NODE_REFS)
		return -E2BIG;
	p->ref[p->n++] = (struct merkle_node_ref){level, index};
	return 0;
}

/*
 * Nodes proving that the perfect node (level, index) is in the tree of the given size. Going up
 * from it, the path meets the tree's right border at the "fork": below it the siblings are
 * perfect nodes; the fork's right sibling is the ephemeral subtree [end, size); above it every
 * sibling is a perfect node on the left, together covering [0, begin).
 */
static int plan_path(struct plan *p, unsigned level, uint64_t index, uint64_t size, bool seed)
{
	unsigned inner = 63 - (unsigned)__builtin_clzll(index ^ (size >> level));
	unsigned fork = level + inner;
	uint64_t begin = (index >> inner) << fork;
	uint64_t end = begin + ((uint64_t)1 << fork);
	size_t left_start;
	int rc = 0;

	p->n = 0;
	if (seed)
		rc = add_node(p, level, index);
	for (unsigned l = 0; l < inner && !rc; l++)
		rc = add_node(p, level + l, (index >> l) ^ 1);
	p->eph_begin = p->n;
	if (!rc)
		rc = add_range(p, end, size);
	p->eph_end = p->n;
	left_start = p->n;
	if (!rc)
		rc = add_range(p, 0, begin);
	/* The proof lists left siblings bottom up, i.e. right to left. */
	for (size_t i = left_start, j = p->n; !rc && i + 1 < j; i++, j--) {
		struct merkle_node_ref t = p->ref[i];

		p->ref[i] = p->ref[j - 1];
		p->ref[j - 1] = t;
	}
	return rc;
}

static int plan_inclusion(struct plan *p, uint64_t leaf_index, uint64_t tree_size)
{
	if (leaf_index >= tree_size)
		return -EINVAL;
	return plan_path(p, 0, leaf_index, tree_size, false);
}

static int plan_consistency(struct plan *p, uint64_t size1, uint64_t size2)
{
	unsigned level;
	uint64_t index;

	if (size1 == 0 || size1 > size2)
		return -EINVAL;
	p->n = p->eph_begin = p->eph_end = 0;
	if (size1 == size2)
		return 0;
	/* Start from the largest perfect subtree ending at size1; a verifier knows it already
	 * (it is root1) when size1 is a power of two, so it is then left out. */
	level = (unsigned)__builtin_ctzll(size1);
	index = (size1 - 1) >> level;
	return plan_path(p, level, index, size2, index != 0);
}

static int plan_subtree(struct plan *p, uint64_t begin, uint64_t end)
{
	p->n = p->eph_begin = p->eph_end = 0;
	if (begin > end)
		return -EINVAL;
	if (end - begin >= 2 && begin % split_point(end - begin))
		return -EINVAL;
	return add_range(p, begin, end);
}

static void copy_refs(const struct plan *p, struct merkle_node_ref *out, size_t *n_out)
{
	memcpy(out, p->ref, p->n * sizeof(p->ref[0]));
	*n_out = p->n;
}

int merkle_subtree_nodes(uint64_t begin, uint64_t end, struct merkle_node_ref *out, size_t *n_out)
{
	struct plan p;
	int rc = plan_subtree(&p, begin, end);

	if (rc == 0)
		copy_refs(&p, out, n_out);
	return rc;
}

int merkle_inclusion_nodes(uint64_t leaf_index, uint64_t tree_size, struct merkle_node_ref *out,
			   size_t *n_out)
{
	struct plan p;
	int rc = plan_inclusion(&p, leaf_index, tree_size);

	if (rc == 0)
		copy_refs(&p, out, n_out);
	return rc;
}

int merkle_consistency_nodes(uint64_t size1, uint64_t size2, struct merkle_node_ref *out,
			     size_t *n_out)
{
	struct plan p;
	int rc = plan_consistency(&p, size1, size2);

	if (rc == 0)
		copy_refs(&p, out, n_out);
	return rc;
}

/* Hash of the subtree made of perfect parts h[from, to), left to right and decreasing in size:
 * each larger part is the left child above the fold of the ones after it. */
static void fold_right(uint8_t (*h)[MERKLE_HASH_LEN], size_t from, size_t to,
		       uint8_t out[MERKLE_HASH_LEN])
{
	memcpy(out, h[to - 1], MERKLE_HASH_LEN);
	for (size_t i = to - 1; i > from; i--)
		merkle_hash_children(h[i - 1], out, out);
}

/* Fetches every planned node, then emits them in order with the ephemeral run folded into one. */
static int run_plan(const struct plan *p, merkle_node_fn node_fn, void *arg,
		    uint8_t (*out)[MERKLE_HASH_LEN], size_t *n_out)
{
	uint8_t h[MERKLE_MAX_NODE_REFS][MERKLE_HASH_LEN];
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < p->n; i++) {
		if ((rc = node_fn(arg, p->ref[i].level, p->ref[i].index, h[i])) < 0)
			return rc;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (n == MERKLE_MAX_PROOF)
			return -E2BIG;
		if (i == p->eph_begin && p->eph_end > p->eph_begin) {
			fold_right(h, p->eph_begin, p->eph_end, out[n++]);
			i = p->eph_end - 1;
			continue;
		}
		memcpy(out[n++], h[i], MERKLE_HASH_LEN);
	}
	*n_out = n;
	return 0;
}

int merkle_subtree_hash(uint64_t begin, uint64_t end, merkle_node_fn node_fn, void *arg,
			uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t h[MERKLE_MAX_NODE_REFS][MERKLE_HASH_LEN];
	struct plan p;
	int rc = plan_subtree(&p, begin, end);

	if (rc < 0)
		return rc;
	if (p.n == 0) {
		merkle_hash_empty(out);
		return 0;
	}
	for (size_t i = 0; i < p.n; i++) {
		if ((rc = node_fn(arg, p.ref[i].level, p.ref[i].index, h[i])) < 0)
			return rc;
	}
	fold_right(h, 0, p.n, out);
	return 0;
}

int merkle_inclusion_proof(uint64_t leaf_index, uint64_t tree_size, merkle_node_fn node_fn,
			   void *arg, uint8_t (*out)[MERKLE_HASH_LEN], size_t *n_out)
{
	struct plan p;
	int rc = plan_inclusion(&p, leaf_index, tree_size);

	return rc < 0 ? rc : run_plan(&p, node_fn, arg, out, n_out);
}

int merkle_consistency_proof(uint64_t size1, uint64_t size2, merkle_node_fn node_fn, void *arg,
			     uint8_t (*out)[MERKLE_HASH_LEN], size_t *n_out)
{
	struct plan p;
	int rc = plan_consistency(&p, size1, size2);

	return rc < 0 ? rc : run_plan(&p, node_fn, arg, out, n_out);
}

int merkle_verify_inclusion(uint64_t leaf_index, uint64_t tree_size,
			    const uint8_t leaf_hash[MERKLE_HASH_LEN],
			    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n,
			    const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn = leaf_index, sn;

	if (leaf_index >= tree_size || (n && !proof))
		return -EINVAL;
	sn = tree_size - 1;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		/* sn at 0 means the path is complete: any further hash is trailing garbage. */
		if (sn == 0)
			return -EINVAL;
		if ((fn & 1) || fn == sn) {
			merkle_hash_children(proof[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_hash_children(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MERKLE_HASH_LEN) == 0 ? 0 : -EINVAL;
}

int merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH_LEN],
			      const uint8_t root2[MERKLE_HASH_LEN],
			      const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	bool pow2;
	size_t i;

	/* RFC 9162 defines proofs for 0 < size1 < size2 only; equal sizes need equal roots. */
	if (size1 == 0 || size1 > size2 || (n && !proof))
		return -EINVAL;
	if (size1 == size2)
		return n == 0 && memcmp(root1, root2, MERKLE_HASH_LEN) == 0 ? 0 : -EINVAL;
	if (n == 0)
		return -EINVAL;
	/* When size1 is a power of two the proof omits root1, which the RFC prepends. */
	pow2 = (size1 & (size1 - 1)) == 0;
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, pow2 ? root1 : proof[0], MERKLE_HASH_LEN);
	memcpy(sr, fr, MERKLE_HASH_LEN);
	for (i = pow2 ? 0 : 1; i < n; i++) {
		if (sn == 0)
			return -EINVAL;
		if ((fn & 1) || fn == sn) {
			merkle_hash_children(proof[i], fr, fr);
			merkle_hash_children(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_hash_children(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, root1, MERKLE_HASH_LEN) || memcmp(sr, root2, MERKLE_HASH_LEN))
		return -EINVAL;
	return 0;
}
