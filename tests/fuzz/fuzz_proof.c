/* libFuzzer target: what `consentctl verify-proof` runs offline on a proof file (the evidence
 * verifier of today; there is no bundle format yet): json_loadb as vp_load reads it, the strict
 * parsers of ledger/proof.h, merkle_verify_inclusion / merkle_verify_consistency against signed
 * roots, and proof_entry_check on the --entry bytes.
 *
 * Input: the proof file, optionally followed by a NUL byte and the entry bytes. The signed roots
 * are those of a fixed 16-entry ledger (any larger size gets a root no proof reaches), so that
 * seeds hold proofs and entries that verify; a proof that verifies must be the one
 * merkle_*_proof builds for that tree. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "consentd.pb-c.h"
#include "fuzz.h"
#include "ledger/ledger.h"
#include "ledger/proof.h"

#define LEAVES 16

/* A 16-entry ledger: entry i + 1 links to entry i, as the writer builds them. */
static struct buf entries[LEAVES];
static uint8_t leaves[LEAVES][MERKLE_HASH_LEN];
static uint8_t roots[LEAVES + 1][MERKLE_HASH_LEN];
static uint8_t unreachable_root[MERKLE_HASH_LEN];

/* Perfect subtrees of the fixed tree, for merkle_*_proof. */
static int node_cb(void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	uint64_t begin, end;

	if (level > 4 || index >= LEAVES)
		return -ENOENT;
	begin = index << level;
	end = begin + ((uint64_t)1 << level);
	if (end > LEAVES)
		return -ENOENT;
	merkle_root_from_leaves((const uint8_t(*)[MERKLE_HASH_LEN])leaves + begin, end - begin,
				out);
	return 0;
}

/* The event bytes of entry i: an Event holding only an event_id. */
static void event_bytes(size_t i, uint8_t *out, size_t *len)
{
	Consentd__V1__Event ev = CONSENTD__V1__EVENT__INIT;
	char id[UUID_STR_LEN + 1];

	snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zx", i + 1);
	ev.event_id = id;
	*len = consentd__v1__event__pack(&ev, out);
}

static void setup(void)
{
	static const struct ledger_source src = {
	    .kind = "http", .peer = "127.0.0.1", .request_id = "fuzz"};
	static bool ready;
	uint8_t prev[LEDGER_HASH_LEN] = {0}, ev[64];
	size_t ev_len;

	if (ready)
		return;
	for (size_t i = 0; i < LEAVES; i++) {
		event_bytes(i, ev, &ev_len);
		FUZZ_CHECK(ledger_entry_encode(i + 1, prev, INT64_C(1780272000000000) + (int64_t)i,
					       &src, ev, ev_len, &entries[i]) == 0);
		ledger_leaf_hash(entries[i].data, entries[i].len, leaves[i]);
		memcpy(prev, leaves[i], LEDGER_HASH_LEN);
	}
	for (size_t n = 0; n <= LEAVES; n++)
		merkle_root_from_leaves((const uint8_t(*)[MERKLE_HASH_LEN])leaves, n, roots[n]);
	merkle_hash_leaf((const uint8_t *)"unreachable", 11, unreachable_root);
	ready = true;
}

static const uint8_t *root_of(uint64_t size)
{
	return size <= LEAVES ? roots[size] : unreachable_root;
}

static bool same_hashes(const uint8_t (*a)[MERKLE_HASH_LEN], size_t na,
			const uint8_t (*b)[MERKLE_HASH_LEN], size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * MERKLE_HASH_LEN) == 0);
}

static void inclusion(const json_t *j, const uint8_t *entry, size_t entry_len)
{
	uint8_t want[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	struct proof_inclusion p, p2;
	char err[256];
	size_t n;
	json_t *j2;

	if (proof_inclusion_parse(j, &p, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(p.seq >= 1 && p.seq <= p.tree_size && p.n <= MERKLE_MAX_PROOF);
	/* The strict form is one text: what was parsed builds JSON that parses to the same. */
	j2 = proof_inclusion_json(p.seq, p.tree_size, p.leaf_hash,
				  (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n);
	FUZZ_CHECK(j2 && proof_inclusion_parse(j2, &p2, err, sizeof(err)) == 0);
	FUZZ_CHECK(p2.seq == p.seq && p2.tree_size == p.tree_size && p2.n == p.n);
	FUZZ_CHECK(memcmp(p2.leaf_hash, p.leaf_hash, MERKLE_HASH_LEN) == 0);
	FUZZ_CHECK(same_hashes((const uint8_t(*)[MERKLE_HASH_LEN])p2.hashes, p2.n,
			       (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n));
	json_decref(j2);
	if (merkle_verify_inclusion(p.seq - 1, p.tree_size, p.leaf_hash,
				    (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n,
				    root_of(p.tree_size)) == 0) {
		FUZZ_CHECK(p.tree_size <= LEAVES);
		FUZZ_CHECK(memcmp(p.leaf_hash, leaves[p.seq - 1], MERKLE_HASH_LEN) == 0);
		FUZZ_CHECK(
		    merkle_inclusion_proof(p.seq - 1, p.tree_size, node_cb, NULL, want, &n) == 0);
		FUZZ_CHECK(same_hashes((const uint8_t(*)[MERKLE_HASH_LEN])want, n,
				       (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n));
	}
	if (entry)
		(void)proof_entry_check(&p, entry, entry_len, err, sizeof(err));
}

static void consistency(const json_t *j)
{
	uint8_t want[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	struct proof_consistency p, p2;
	char err[256];
	size_t n;
	json_t *j2;

	if (proof_consistency_parse(j, &p, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(p.from >= 1 && p.from <= p.to && p.n <= MERKLE_MAX_PROOF);
	j2 = proof_consistency_json(p.from, p.to, (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n);
	FUZZ_CHECK(j2 && proof_consistency_parse(j2, &p2, err, sizeof(err)) == 0);
	FUZZ_CHECK(p2.from == p.from && p2.to == p.to);
	FUZZ_CHECK(same_hashes((const uint8_t(*)[MERKLE_HASH_LEN])p2.hashes, p2.n,
			       (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n));
	json_decref(j2);
	if (merkle_verify_consistency(p.from, p.to, root_of(p.from), root_of(p.to),
				      (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n) < 0)
		return;
	if (p.to > LEAVES) {
		/* Only the trivial proof: equal sizes, equal (unreachable) roots, no hashes. */
		FUZZ_CHECK(p.from == p.to && p.n == 0);
		return;
	}
	FUZZ_CHECK(merkle_consistency_proof(p.from, p.to, node_cb, NULL, want, &n) == 0);
	FUZZ_CHECK(same_hashes((const uint8_t(*)[MERKLE_HASH_LEN])want, n,
			       (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t json_len = nul ? (size_t)(nul - data) : size;
	enum proof_type type;
	json_error_t jerr;
	char err[256];
	json_t *j;

	setup();
	j = json_loadb((const char *)data, json_len, 0, &jerr);
	if (!j)
		return 0;
	if (proof_type_of(j, &type, err, sizeof(err)) == 0) {
		if (type == PROOF_INCLUSION)
			inclusion(j, nul ? nul + 1 : NULL, nul ? size - json_len - 1 : 0);
		else
			consistency(j);
	}
	json_decref(j);
	return 0;
}
