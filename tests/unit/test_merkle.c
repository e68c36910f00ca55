/* Merkle tree tests: RFC 6962 known answers, the shared transparency-dev vectors, proofs checked
 * against the RFC's recursive definitions, and a randomized frontier/node-store property test. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/merkle.h"
#include "util/util.h"

#define HL MERKLE_HASH_LEN
/* The const view of a hash array that the API takes. */
#define CP(a) ((const uint8_t(*)[HL])(a))

/* The 8 reference leaf inputs of RFC 6962's test tree (Certificate Transparency) and the root of
 * every size 0..8, as published with google/certificate-transparency; checked again here against
 * a plain Python hashlib computation when they were written down. */
static const char *const kat_inputs[8] = {"",
					  "00",
					  "10",
					  "2021",
					  "3031",
					  "40414243",
					  "5051525354555657",
					  "606162636465666768696a6b6c6d6e6f"};
static const char *const kat_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* ---- an in-memory node store, filled by merkle_frontier_append's emit callback ---- */

struct store {
	uint8_t (*lv[64])[HL];
	uint64_t have[64], cap[64];
	/* Requests seen by store_get, to check the merkle_*_nodes lists against real fetches. */
	struct merkle_node_ref req[2 * MERKLE_MAX_NODE_REFS];
	size_t n_req;
	int fail_after; /* emit fails with -EIO once this many calls are made; < 0: never */
};

static int store_emit(void *arg, unsigned level, uint64_t index, const uint8_t hash[HL])
{
	struct store *s = arg;

	if (s->fail_after == 0)
		return -EIO;
	if (s->fail_after > 0)
		s->fail_after--;
	/* Perfect nodes complete left to right on every level. */
	ck_assert_uint_eq(index, s->have[level]);
	if (s->have[level] == s->cap[level]) {
		s->cap[level] = s->cap[level] ? 2 * s->cap[level] : 64;
		s->lv[level] = realloc(s->lv[level], s->cap[level] * HL);
		ck_assert_ptr_nonnull(s->lv[level]);
	}
	memcpy(s->lv[level][s->have[level]++], hash, HL);
	return 0;
}

static int store_get(void *arg, unsigned level, uint64_t index, uint8_t out[HL])
{
	struct store *s = arg;

	if (s->n_req < ARRAY_SIZE(s->req))
		s->req[s->n_req++] = (struct merkle_node_ref){level, index};
	if (level >= 64 || index >= s->have[level])
		return -ENOENT;
	memcpy(out, s->lv[level][index], HL);
	return 0;
}

static void store_free(struct store *s)
{
	for (int l = 0; l < 64; l++)
		free(s->lv[l]);
	memset(s, 0, sizeof(*s));
}

/* Appends n leaves through a frontier into a fresh store; the frontier is returned too. */
static void store_build(struct store *s, struct merkle_frontier *f, const uint8_t (*leaves)[HL],
			size_t n)
{
	memset(s, 0, sizeof(*s));
	s->fail_after = -1;
	merkle_frontier_init(f);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(merkle_frontier_append(f, leaves[i], store_emit, s), 0);
}

/* ---- RFC 9162 2.1.3.1 PATH and 2.1.4.1 PROOF, straight from their recursive definitions ---- */

static size_t split_of(size_t n)
{
	size_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void ref_path(const uint8_t (*d)[HL], size_t m, size_t n, uint8_t (*out)[HL], size_t *k)
{
	size_t s;

	if (n <= 1)
		return;
	s = split_of(n);
	if (m < s) {
		ref_path(d, m, s, out, k);
		merkle_root_from_leaves(d + s, n - s, out[(*k)++]);
	} else {
		ref_path(d + s, m - s, n - s, out, k);
		merkle_root_from_leaves(d, s, out[(*k)++]);
	}
}

static void ref_subproof(const uint8_t (*d)[HL], size_t m, size_t n, bool b, uint8_t (*out)[HL],
			 size_t *k)
{
	size_t s;

	if (m == n) {
		if (!b)
			merkle_root_from_leaves(d, n, out[(*k)++]);
		return;
	}
	s = split_of(n);
	if (m <= s) {
		ref_subproof(d, m, s, b, out, k);
		merkle_root_from_leaves(d + s, n - s, out[(*k)++]);
	} else {
		ref_subproof(d + s, m - s, n - s, false, out, k);
		merkle_root_from_leaves(d, s, out[(*k)++]);
	}
}

static void make_leaves(uint8_t (*leaves)[HL], size_t n, uint32_t salt)
{
	struct buf in = {0};

	for (size_t i = 0; i < n; i++) {
		buf_reset(&in);
		ck_assert_int_eq(buf_append_be32(&in, (uint32_t)i), 0);
		ck_assert_int_eq(buf_append_be32(&in, salt), 0);
		merkle_hash_leaf(in.data, in.len, leaves[i]);
	}
	buf_free(&in);
}

/* Field by field: the struct has padding that nobody initializes. */
static void assert_same_refs(const struct merkle_node_ref *a, const struct merkle_node_ref *b,
			     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(a[i].level, b[i].level);
		ck_assert_uint_eq(a[i].index, b[i].index);
	}
}

static void hex32(const char *hex, uint8_t out[HL])
{
	ck_assert_int_eq(hex_decode(hex, strlen(hex), out, HL), 0);
}

/* ---- known answers ---- */

START_TEST(test_known_roots)
{
	uint8_t leaves[8][HL], want[HL], got[HL], in[16];
	struct merkle_frontier f;
	size_t len;

	merkle_frontier_init(&f);
	for (size_t n = 0; n <= 8; n++) {
		hex32(kat_roots[n], want);
		merkle_root_from_leaves(CP(leaves), n, got);
		ck_assert_mem_eq(got, want, HL);
		merkle_frontier_root(&f, got);
		ck_assert_mem_eq(got, want, HL);
		if (n == 8)
			break;
		len = strlen(kat_inputs[n]) / 2;
		ck_assert_int_eq(hex_decode(kat_inputs[n], 2 * len, in, len), 0);
		merkle_hash_leaf(in, len, leaves[n]);
		ck_assert_int_eq(merkle_frontier_append(&f, leaves[n], NULL, NULL), 0);
	}
	/* RFC 6962 leaf hash of the empty input, the first reference leaf. */
	hex32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want);
	ck_assert_mem_eq(leaves[0], want, HL);
	merkle_hash_empty(got);
	hex32(kat_roots[0], want);
	ck_assert_mem_eq(got, want, HL);
}
END_TEST

/* ---- proofs for every pair of sizes up to 64, against the RFC definitions ---- */

START_TEST(test_proofs_exhaustive)
{
	enum { N = 64 };
	uint8_t leaves[N][HL], proof[MERKLE_MAX_PROOF][HL], ref[MERKLE_MAX_PROOF][HL],
	    roots[N + 1][HL];
	const uint8_t(*lv)[HL] = CP(leaves);
	struct merkle_frontier f;
	struct store s;
	size_t n, k;

	make_leaves(leaves, N, 1);
	store_build(&s, &f, lv, N);
	for (size_t size = 0; size <= N; size++) {
		merkle_root_from_leaves(lv, size, roots[size]);
		ck_assert_int_eq(merkle_subtree_hash(0, size, store_get, &s, ref[0]), 0);
		ck_assert_mem_eq(ref[0], roots[size], HL);
	}
	for (size_t size = 1; size <= N; size++) {
		for (size_t m = 0; m < size; m++) {
			ck_assert_int_eq(merkle_inclusion_proof(m, size, store_get, &s, proof, &n),
					 0);
			k = 0;
			ref_path(lv, m, size, ref, &k);
			ck_assert_uint_eq(n, k);
			ck_assert_mem_eq(proof, ref, n * HL);
			ck_assert_int_eq(
			    merkle_verify_inclusion(m, size, leaves[m], CP(proof), n, roots[size]),
			    0);
		}
		for (size_t m = 1; m <= size; m++) {
			ck_assert_int_eq(
			    merkle_consistency_proof(m, size, store_get, &s, proof, &n), 0);
			k = 0;
			if (m < size)
				ref_subproof(lv, m, size, true, ref, &k);
			ck_assert_uint_eq(n, k);
			ck_assert_mem_eq(proof, ref, n * HL);
			ck_assert_int_eq(
			    merkle_verify_consistency(m, size, roots[m], roots[size], CP(proof), n),
			    0);
		}
	}
	store_free(&s);
}
END_TEST

/* ---- edge cases the RFC algorithms must reject ---- */

START_TEST(test_verify_edges)
{
	uint8_t leaves[8][HL], root[HL], r1[HL], proof[MERKLE_MAX_PROOF + 1][HL];
	const uint8_t(*p)[HL] = CP(proof);
	struct merkle_frontier f;
	struct store s;
	size_t n;

	make_leaves(leaves, 8, 2);
	store_build(&s, &f, CP(leaves), 8);
	merkle_frontier_root(&f, root);
	ck_assert_int_eq(merkle_inclusion_proof(2, 7, store_get, &s, proof, &n), 0);
	ck_assert_int_eq(merkle_subtree_hash(0, 7, store_get, &s, r1), 0);
	ck_assert_int_eq(merkle_verify_inclusion(2, 7, leaves[2], p, n, r1), 0);
	ck_assert_int_eq(merkle_verify_inclusion(2, 7, leaves[2], p, n - 1, r1), -EINVAL);
	memcpy(proof[n], proof[0], HL); /* one trailing hash */
	ck_assert_int_eq(merkle_verify_inclusion(2, 7, leaves[2], p, n + 1, r1), -EINVAL);
	ck_assert_int_eq(merkle_verify_inclusion(3, 7, leaves[2], p, n, r1), -EINVAL);
	ck_assert_int_eq(merkle_verify_inclusion(2, 3, leaves[2], p, n, r1), -EINVAL);
	ck_assert_int_eq(merkle_verify_inclusion(7, 7, leaves[7], p, 0, r1), -EINVAL);
	ck_assert_int_eq(merkle_verify_inclusion(0, 0, leaves[0], p, 0, r1), -EINVAL);
	ck_assert_int_eq(merkle_inclusion_proof(7, 7, store_get, &s, proof, &n), -EINVAL);
	ck_assert_int_eq(merkle_inclusion_proof(0, 0, store_get, &s, proof, &n), -EINVAL);

	/* Equal sizes: empty proof and equal roots only. Size 0 has no proof (RFC 9162: 0 < m). */
	ck_assert_int_eq(merkle_verify_consistency(8, 8, root, root, p, 0), 0);
	ck_assert_int_eq(merkle_verify_consistency(8, 8, root, r1, p, 0), -EINVAL);
	ck_assert_int_eq(merkle_verify_consistency(8, 8, root, root, p, 1), -EINVAL);
	merkle_hash_empty(r1);
	ck_assert_int_eq(merkle_verify_consistency(0, 0, r1, r1, p, 0), -EINVAL);
	ck_assert_int_eq(merkle_verify_consistency(0, 8, r1, root, p, 0), -EINVAL);
	ck_assert_int_eq(merkle_consistency_proof(0, 8, store_get, &s, proof, &n), -EINVAL);
	ck_assert_int_eq(merkle_consistency_proof(8, 7, store_get, &s, proof, &n), -EINVAL);
	ck_assert_int_eq(merkle_consistency_proof(8, 8, store_get, &s, proof, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(merkle_subtree_hash(0, 7, store_get, &s, r1), 0);
	ck_assert_int_eq(merkle_consistency_proof(7, 8, store_get, &s, proof, &n), 0);
	ck_assert_int_eq(merkle_verify_consistency(7, 8, r1, root, p, n), 0);
	ck_assert_int_eq(merkle_verify_consistency(8, 7, root, r1, p, n), -EINVAL);
	ck_assert_int_eq(merkle_verify_consistency(7, 8, r1, root, p, n - 1), -EINVAL);
	ck_assert_int_eq(merkle_verify_consistency(7, 8, root, r1, p, n), -EINVAL);
	ck_assert_int_eq(merkle_verify_consistency(7, 8, r1, root, p, 0), -EINVAL);
	/* A missing stored node is the store's error, passed through. */
	ck_assert_int_eq(merkle_inclusion_proof(2, 9, store_get, &s, proof, &n), -ENOENT);
	store_free(&s);
}
END_TEST

/* ---- subtree hashes and node lists ---- */

START_TEST(test_subtree_and_node_lists)
{
	enum { N = 40 };
	uint8_t leaves[N][HL], got[HL], want[HL], proof[MERKLE_MAX_PROOF][HL];
	const uint8_t(*lv)[HL] = CP(leaves);
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS];
	struct merkle_frontier f;
	struct store s;
	size_t n, np, valid = 0;

	make_leaves(leaves, N, 3);
	store_build(&s, &f, lv, N);
	for (size_t b = 0; b < N; b++) {
		for (size_t e = b; e <= N; e++) {
			bool ok = e - b <= 1 || b % split_of(e - b) == 0;

			s.n_req = 0;
			ck_assert_int_eq(merkle_subtree_hash(b, e, store_get, &s, got),
					 ok ? 0 : -EINVAL);
			ck_assert_int_eq(merkle_subtree_nodes(b, e, refs, &n), ok ? 0 : -EINVAL);
			if (!ok)
				continue;
			valid++;
			merkle_root_from_leaves(lv + b, e - b, want);
			ck_assert_mem_eq(got, want, HL);
			ck_assert_uint_eq(n, s.n_req);
			assert_same_refs(refs, s.req, n);
		}
	}
	ck_assert_uint_gt(valid, N); /* the aligned ranges were exercised, not only rejected */
	for (size_t size = 1; size <= N; size++) {
		for (size_t m = 0; m < size; m++) {
			s.n_req = 0;
			ck_assert_int_eq(merkle_inclusion_nodes(m, size, refs, &n), 0);
			ck_assert_int_eq(merkle_inclusion_proof(m, size, store_get, &s, proof, &np),
					 0);
			ck_assert_uint_eq(n, s.n_req);
			assert_same_refs(refs, s.req, n);
			s.n_req = 0;
			ck_assert_int_eq(merkle_consistency_nodes(m + 1, size, refs, &n), 0);
			ck_assert_int_eq(
			    merkle_consistency_proof(m + 1, size, store_get, &s, proof, &np), 0);
			ck_assert_uint_eq(n, s.n_req);
			assert_same_refs(refs, s.req, n);
		}
	}
	store_free(&s);
}
END_TEST

/* Any node a huge tree may need: just a deterministic function of its address. */
static int fake_get(void *arg, unsigned level, uint64_t index, uint8_t out[HL])
{
	uint64_t *count = arg;

	(*count)++;
	memset(out, 0, HL);
	memcpy(out, &index, sizeof(index));
	out[31] = (uint8_t)level;
	return 0;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, so a failure can be replayed. */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

START_TEST(test_bounds_huge_trees)
{
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS];
	uint8_t proof[MERKLE_MAX_PROOF][HL];
	size_t n, np, max_refs = 0, max_proof = 0;
	uint64_t fetched;

	for (int i = 0; i < 20000; i++) {
		uint64_t a = rnd() >> (rnd() % 64), b = rnd() >> (rnd() % 64);
		uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

		if (i < 4) { /* the extremes */
			lo = i & 1 ? UINT64_MAX - 1 : 1;
			hi = i & 2 ? UINT64_MAX : ((uint64_t)1 << 63) + 1;
		}
		if (lo == 0)
			lo = 1;
		if (hi < lo)
			hi = lo;
		ck_assert_int_eq(merkle_consistency_nodes(lo, hi, refs, &n), 0);
		fetched = 0;
		ck_assert_int_eq(merkle_consistency_proof(lo, hi, fake_get, &fetched, proof, &np),
				 0);
		ck_assert_uint_eq(fetched, n);
		max_refs = n > max_refs ? n : max_refs;
		max_proof = np > max_proof ? np : max_proof;
		ck_assert_int_eq(merkle_inclusion_nodes(lo - 1, hi, refs, &n), 0);
		ck_assert_int_eq(merkle_inclusion_proof(lo - 1, hi, fake_get, &fetched, proof, &np),
				 0);
		ck_assert_uint_le(np, 64);
		max_refs = n > max_refs ? n : max_refs;
	}
	/* The limits are tight enough to matter: large trees come close to them. */
	ck_assert_uint_ge(max_proof, 64);
	ck_assert_uint_ge(max_refs, 100);
}
END_TEST

/* ---- randomized: frontier appends, store, reload, proofs between random sizes ---- */

/* Flips one random bit of h; calling it again with the returned bit restores h. */
static unsigned flip(uint8_t h[HL], unsigned bit)
{
	if (bit == UINT32_MAX)
		bit = (unsigned)(rnd() % (8 * HL));
	h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	return bit;
}

static void check_pair(struct store *s, const uint8_t (*lv)[HL], uint64_t m, uint64_t size,
		       uint64_t size1)
{
	uint8_t proof[MERKLE_MAX_PROOF][HL], root[HL], root1[HL];
	const uint8_t(*p)[HL] = CP(proof);
	size_t n;

	merkle_root_from_leaves(lv, size, root);
	merkle_root_from_leaves(lv, size1, root1);
	ck_assert_int_eq(merkle_inclusion_proof(m, size, store_get, s, proof, &n), 0);
	ck_assert_int_eq(merkle_verify_inclusion(m, size, lv[m], p, n, root), 0);
	for (size_t i = 0; i < n; i++) {
		unsigned bit = flip(proof[i], UINT32_MAX);

		ck_assert_int_eq(merkle_verify_inclusion(m, size, lv[m], p, n, root), -EINVAL);
		flip(proof[i], bit);
	}
	if (m + 1 < size)
		ck_assert_int_eq(merkle_verify_inclusion(m + 1, size, lv[m], p, n, root), -EINVAL);

	ck_assert_int_eq(merkle_consistency_proof(size1, size, store_get, s, proof, &n), 0);
	ck_assert_int_eq(merkle_verify_consistency(size1, size, root1, root, p, n), 0);
	for (size_t i = 0; i < n; i++) {
		unsigned bit = flip(proof[i], UINT32_MAX);

		ck_assert_int_eq(merkle_verify_consistency(size1, size, root1, root, p, n),
				 -EINVAL);
		flip(proof[i], bit);
	}
	if (n > 0)
		ck_assert_int_eq(merkle_verify_consistency(size1, size, root1, root, p, n - 1),
				 -EINVAL);
}

START_TEST(test_frontier_property)
{
	enum { N = 2500 };
	uint8_t(*leaves)[HL] = malloc(N * HL), root[HL], want[HL];
	const uint8_t(*lv)[HL] = CP(leaves);
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS];
	struct merkle_frontier f, g;
	struct store s;
	size_t checkpoints = 0, n;

	ck_assert_ptr_nonnull(leaves);
	printf("merkle property test: xorshift seed %#" PRIx64 "\n", rnd_state);
	memset(&s, 0, sizeof(s));
	s.fail_after = -1;
	merkle_frontier_init(&f);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t v = rnd();

		merkle_hash_leaf((const uint8_t *)&v, sizeof(v), leaves[i]);
		ck_assert_int_eq(merkle_frontier_append(&f, leaves[i], store_emit, &s), 0);
		if (i > 40 && rnd() % 23)
			continue;
		checkpoints++;
		merkle_frontier_root(&f, root);
		merkle_root_from_leaves(lv, f.size, want);
		ck_assert_mem_eq(root, want, HL);
		/* A restart: rebuild from the store at this size and at an earlier one. */
		for (int k = 0; k < 2; k++) {
			uint64_t size = k ? 1 + rnd() % f.size : f.size;

			s.n_req = 0;
			ck_assert_int_eq(merkle_frontier_load(&g, size, store_get, &s), 0);
			ck_assert_int_eq(merkle_subtree_nodes(0, size, refs, &n), 0);
			ck_assert_uint_eq(n, s.n_req);
			assert_same_refs(refs, s.req, n);
			merkle_frontier_root(&g, root);
			merkle_root_from_leaves(lv, size, want);
			ck_assert_mem_eq(root, want, HL);
		}
		for (int k = 0; k < 4; k++) {
			uint64_t size = 1 + rnd() % f.size, size1 = 1 + rnd() % size;

			check_pair(&s, lv, rnd() % size, size, size1);
		}
	}
	ck_assert_uint_gt(checkpoints, 100);
	/* Every stored node is the root of its block of leaves. */
	for (unsigned l = 0; l < 64 && s.have[l]; l++) {
		ck_assert_uint_eq(s.have[l], (uint64_t)N >> l);
		for (uint64_t j = 0; j < s.have[l]; j++) {
			merkle_root_from_leaves(lv + (j << l), (size_t)1 << l, want);
			ck_assert_mem_eq(s.lv[l][j], want, HL);
		}
	}
	/* A reloaded frontier keeps appending to the same roots. */
	ck_assert_int_eq(merkle_frontier_load(&g, N - 100, store_get, &s), 0);
	for (uint64_t i = N - 100; i < N; i++)
		ck_assert_int_eq(merkle_frontier_append(&g, leaves[i], NULL, NULL), 0);
	ck_assert_uint_eq(g.size, f.size);
	merkle_frontier_root(&g, root);
	merkle_frontier_root(&f, want);
	ck_assert_mem_eq(root, want, HL);
	ck_assert_int_eq(merkle_frontier_load(&g, N + 1, store_get, &s), -ENOENT);
	store_free(&s);
	free(leaves);
}
END_TEST

START_TEST(test_frontier_failures)
{
	uint8_t leaves[8][HL];
	struct merkle_frontier f, before;
	struct store s;

	make_leaves(leaves, 8, 4);
	store_build(&s, &f, CP(leaves), 7);
	before = f;
	/* Leaf 7 completes nodes at levels 0..3; the third emit fails: nothing changes. */
	s.fail_after = 2;
	ck_assert_int_eq(merkle_frontier_append(&f, leaves[7], store_emit, &s), -EIO);
	ck_assert_mem_eq(&f, &before, sizeof(f));
	f.size = UINT64_MAX;
	ck_assert_int_eq(merkle_frontier_append(&f, leaves[7], NULL, NULL), -EOVERFLOW);
	store_free(&s);
}
END_TEST

/* ---- shared vectors: $CONSENTD_SHARED_TESTDATA/merkle (transparency-dev/merkle data) ---- */

struct vec_stats {
	size_t accepted, rejected, substituted, bad_leaf_len;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *data = NULL;
	long n;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		ck_assert_ptr_nonnull(data);
		ck_assert_uint_eq(fread(data, 1, (size_t)n, fp), (size_t)n);
		data[n] = '\0';
		*len = (size_t)n;
	}
	fclose(fp);
	ck_assert_msg(data != NULL, "cannot read %s", path);
	return data;
}

/* jansson refuses integers beyond int64 and the vectors hold 2^64 - 1: quote every bare number
 * of 19 or more digits so that it arrives as a string, parsed below with strtoull. */
static json_t *load_json(const char *path)
{
	size_t len, o = 0;
	char *in = slurp(path, &len), *out = malloc(2 * len + 1);
	bool in_str = false, esc = false;
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < len; i++) {
		size_t d = 0;

		while (!in_str && i + d < len && in[i + d] >= '0' && in[i + d] <= '9')
			d++;
		if (d >= 19) {
			o += (size_t)sprintf(out + o, "\"%.*s\"", (int)d, in + i);
			i += d - 1;
			continue;
		}
		if (in_str && esc)
			esc = false;
		else if (in_str && in[i] == '\\')
			esc = true;
		else if (in[i] == '"')
			in_str = !in_str;
		out[o++] = in[i];
	}
	j = json_loadb(out, o, 0, &err);
	ck_assert_msg(j != NULL, "%s: %s", path, err.text);
	free(in);
	free(out);
	return j;
}

static uint64_t get_u64(json_t *o, const char *key, const char *path)
{
	json_t *v = json_object_get(o, key);
	unsigned long long u;
	char *end;

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (uint64_t)json_integer_value(v);
	ck_assert_msg(json_is_string(v), "%s: %s is not a number", path, key);
	errno = 0;
	u = strtoull(json_string_value(v), &end, 10);
	ck_assert_msg(errno == 0 && *end == '\0', "%s: bad %s", path, key);
	return (uint64_t)u;
}

/*
 * A base64 hash. The API takes 32-byte hashes only, but some vectors carry other lengths (empty,
 * "don't care" strings) that Go's verifier compares or hashes as opaque bytes. Those map to
 * SHA-256 of a tag and the bytes: equal values stay equal, none can collide with a real hash,
 * so the verifier still has to do the rejecting. Returns the decoded length.
 */
static int get_hash(json_t *v, uint8_t out[HL], const char *path, bool *substituted)
{
	static const char tag[] = "consentd test: hash that is not 32 bytes";
	const char *s = json_string_value(v);
	uint8_t *raw, *tagged;
	int n;

	ck_assert_msg(s != NULL, "%s: hash is not a string", path);
	raw = malloc(strlen(s) + 1);
	ck_assert_ptr_nonnull(raw);
	n = b64_decode(s, strlen(s), raw, strlen(s) + 1);
	ck_assert_msg(n >= 0, "%s: bad base64 %s", path, s);
	if (n == HL) {
		memcpy(out, raw, HL);
	} else {
		tagged = malloc(sizeof(tag) + (size_t)n);
		ck_assert_ptr_nonnull(tagged);
		memcpy(tagged, tag, sizeof(tag));
		memcpy(tagged + sizeof(tag), raw, (size_t)n);
		merkle_hash_leaf(tagged, sizeof(tag) + (size_t)n, out);
		free(tagged);
		*substituted = true;
	}
	free(raw);
	return n;
}

/* proof: null or an array of hashes; *out is malloc'd (at least one slot). */
static size_t get_proof(json_t *o, uint8_t (**out)[HL], const char *path, bool *substituted)
{
	json_t *p = json_object_get(o, "proof");
	size_t n = json_is_array(p) ? json_array_size(p) : 0;

	ck_assert_msg(json_is_null(p) || json_is_array(p), "%s: proof", path);
	*out = malloc((n ? n : 1) * HL);
	ck_assert_ptr_nonnull(*out);
	for (size_t i = 0; i < n; i++)
		get_hash(json_array_get(p, i), (*out)[i], path, substituted);
	return n;
}

static void tally(struct vec_stats *st, json_t *j, const char *path, int rc, bool sub)
{
	json_t *w = json_object_get(j, "wantErr");
	const char *desc = json_string_value(json_object_get(j, "desc"));

	ck_assert_msg(json_is_boolean(w), "%s: wantErr", path);
	ck_assert_msg(rc == (json_is_true(w) ? -EINVAL : 0), "%s (%s): got %d, wantErr %d", path,
		      desc, rc, json_is_true(w));
	*(json_is_true(w) ? &st->rejected : &st->accepted) += 1;
	st->substituted += sub;
}

static void inclusion_case(const char *path, json_t *j, struct vec_stats *st)
{
	uint8_t root[HL], leaf[HL], (*proof)[HL];
	bool sub = false;
	int rc, leaf_len;
	size_t n;

	get_hash(json_object_get(j, "root"), root, path, &sub);
	leaf_len = get_hash(json_object_get(j, "leafHash"), leaf, path, &sub);
	n = get_proof(j, &proof, path, &sub);
	rc = merkle_verify_inclusion(get_u64(j, "leafIdx", path), get_u64(j, "treeSize", path),
				     leaf, CP(proof), n, root);
	/* Go rejects a leaf hash of the wrong size up front; here the 32-byte parameter type is
	 * that check, so such a case counts as rejected whatever the substitute would give. */
	if (leaf_len != HL) {
		rc = -EINVAL;
		st->bad_leaf_len++;
	}
	tally(st, j, path, rc, sub);
	free(proof);
}

static void consistency_case(const char *path, json_t *j, struct vec_stats *st)
{
	uint8_t root1[HL], root2[HL], (*proof)[HL];
	bool sub = false;
	size_t n;
	int rc;

	get_hash(json_object_get(j, "root1"), root1, path, &sub);
	get_hash(json_object_get(j, "root2"), root2, path, &sub);
	n = get_proof(j, &proof, path, &sub);
	rc = merkle_verify_consistency(get_u64(j, "size1", path), get_u64(j, "size2", path), root1,
				       root2, CP(proof), n);
	tally(st, j, path, rc, sub);
	free(proof);
}

typedef void (*case_cb)(const char *path, json_t *j, struct vec_stats *st);

static void walk(const char *dir, case_cb fn, struct vec_stats *st)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	size_t len;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = strlen(path);
		if (len > 5 && strcmp(path + len - 5, ".json") == 0) {
			json_t *j = load_json(path);

			fn(path, j, st);
			json_decref(j);
		} else {
			DIR *sub = opendir(path);

			if (sub) {
				closedir(sub);
				walk(path, fn, st);
			}
		}
	}
	closedir(d);
}

/* The shared file or folder, or NULL after saying why the shared cases are skipped. */
static const char *shared_path(const char *rel, char *buf, size_t cap)
{
	const char *base = getenv("CONSENTD_SHARED_TESTDATA");

	snprintf(buf, cap, "%s/merkle/%s", base ? base : "(CONSENTD_SHARED_TESTDATA unset)", rel);
	if (base && access(buf, R_OK) == 0)
		return buf;
	printf("SKIPPED: shared Merkle vectors not found at %s\n", buf);
	return NULL;
}

static void run_shared(const char *rel, case_cb fn)
{
	struct vec_stats st = {0};
	char dir[4096];

	if (!shared_path(rel, dir, sizeof(dir)))
		return;
	walk(dir, fn, &st);
	printf("%s: %zu valid accepted, %zu invalid rejected (%zu with non-32-byte hashes, %zu of "
	       "them a leaf hash refused by type)\n",
	       rel, st.accepted, st.rejected, st.substituted, st.bad_leaf_len);
	ck_assert_uint_gt(st.accepted, 0);
	ck_assert_uint_gt(st.rejected, 0);
}

START_TEST(test_shared_inclusion)
{
	run_shared("testdata/inclusion", inclusion_case);
}
END_TEST

START_TEST(test_shared_consistency)
{
	run_shared("testdata/consistency", consistency_case);
}
END_TEST

/* rfc6962-tree.json: {"leaf_inputs_hex": [...8], "root_by_size_hex": [...9, sizes 0..8]}. */
START_TEST(test_shared_tree)
{
	uint8_t leaves[64][HL], in[256], want[HL], got[HL];
	char path[4096];
	json_t *j, *inputs, *roots;
	size_t n_in;

	if (!shared_path("rfc6962-tree.json", path, sizeof(path)))
		return;
	j = load_json(path);
	inputs = json_object_get(j, "leaf_inputs_hex");
	roots = json_object_get(j, "root_by_size_hex");
	n_in = json_array_size(inputs);
	ck_assert_uint_gt(n_in, 0);
	ck_assert_uint_le(n_in, ARRAY_SIZE(leaves));
	ck_assert_uint_eq(json_array_size(roots), n_in + 1);
	for (size_t i = 0; i < n_in; i++) {
		const char *h = json_string_value(json_array_get(inputs, i));
		size_t len = h ? strlen(h) / 2 : 0;

		ck_assert_ptr_nonnull(h);
		ck_assert_uint_le(len, sizeof(in));
		ck_assert_int_eq(hex_decode(h, strlen(h), in, len), 0);
		merkle_hash_leaf(in, len, leaves[i]);
	}
	for (size_t n = 0; n <= n_in; n++) {
		hex32(json_string_value(json_array_get(roots, n)), want);
		merkle_root_from_leaves(CP(leaves), n, got);
		ck_assert_msg(memcmp(got, want, HL) == 0, "root of size %zu differs", n);
		if (n < ARRAY_SIZE(kat_roots)) { /* the file and the constants agree */
			hex32(kat_roots[n], got);
			ck_assert_mem_eq(got, want, HL);
		}
	}
	json_decref(j);
}
END_TEST

static Suite *merkle_suite(void)
{
	Suite *s = suite_create("merkle");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_known_roots);
	tcase_add_test(tc, test_proofs_exhaustive);
	tcase_add_test(tc, test_verify_edges);
	tcase_add_test(tc, test_subtree_and_node_lists);
	tcase_add_test(tc, test_bounds_huge_trees);
	tcase_add_test(tc, test_frontier_property);
	tcase_add_test(tc, test_frontier_failures);
	tcase_add_test(tc, test_shared_tree);
	tcase_add_test(tc, test_shared_inclusion);
	tcase_add_test(tc, test_shared_consistency);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(merkle_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
