/* Proof JSON tests: exact encoding, round trips of every proof of small trees that then verify
 * against the reference roots, every rejection of the strict parsers, and binding a proof to
 * LedgerEntry bytes. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/proof.h"
#include "util/util.h"

#define HL	   MERKLE_HASH_LEN
#define CP(a)	   ((const uint8_t(*)[HL])(a))
#define MAX_LEAVES 40

static uint8_t leaves[MAX_LEAVES][HL];

static void make_leaves(void)
{
	for (int i = 0; i < MAX_LEAVES; i++) {
		uint8_t data[4] = {'L', (uint8_t)i, (uint8_t)(i * 7), 0x5a};

		merkle_hash_leaf(data, sizeof(data), leaves[i]);
	}
}

/* node_fn over the leaves above: a perfect node is the reference root of its leaf range. */
static int node_from_leaves(void *arg, unsigned level, uint64_t index, uint8_t out[HL])
{
	uint64_t n = (uint64_t)1 << level, begin = index * n;

	(void)arg;
	if (begin + n > MAX_LEAVES)
		return -ENOENT;
	merkle_root_from_leaves(CP(leaves + begin), (size_t)n, out);
	return 0;
}

static json_t *reparse(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_t *back;

	ck_assert_ptr_nonnull(text);
	back = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(back);
	free(text);
	json_decref(j);
	return back;
}

START_TEST(test_exact_encoding)
{
	uint8_t leaf[HL], h[2][HL];
	json_t *j;
	char *text;

	memset(leaf, 0, HL);
	memset(h[0], 0xff, HL);
	memset(h[1], 0x01, HL);
	j = proof_inclusion_json(3, 5, leaf, CP(h), 2);
	text = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(text, "{\"type\":\"inclusion\",\"seq\":3,\"leaf_index\":2,\"tree_size\":5,"
			       "\"leaf_hash\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
			       "\"hashes\":[\"//////////////////////////////////////////8=\","
			       "\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"]}");
	free(text);
	json_decref(j);
	j = proof_consistency_json(4, 4, CP(h), 0);
	text = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(text, "{\"type\":\"consistency\",\"from\":4,\"to\":4,\"hashes\":[]}");
	free(text);
	json_decref(j);
}
END_TEST

START_TEST(test_builders_refuse_impossible)
{
	uint8_t h[MERKLE_MAX_PROOF + 1][HL] = {{0}};

	ck_assert_ptr_null(proof_inclusion_json(0, 5, h[0], CP(h), 1));
	ck_assert_ptr_null(proof_inclusion_json(1, (uint64_t)INT64_MAX + 1, h[0], CP(h), 1));
	ck_assert_ptr_null(proof_inclusion_json(1, 5, h[0], CP(h), MERKLE_MAX_PROOF + 1));
	ck_assert_ptr_null(proof_consistency_json(1, 5, CP(h), MERKLE_MAX_PROOF + 1));
	ck_assert_ptr_null(proof_consistency_json(1, (uint64_t)INT64_MAX + 1, CP(h), 1));
}
END_TEST

/* Every leaf of every tree size up to MAX_LEAVES: build, encode, decode, verify. */
START_TEST(test_inclusion_round_trip)
{
	uint64_t size = (uint64_t)_i;
	uint8_t root[HL], proof[MERKLE_MAX_PROOF][HL];
	struct proof_inclusion p;
	enum proof_type type;
	char err[160];
	size_t n;

	merkle_root_from_leaves(CP(leaves), (size_t)size, root);
	for (uint64_t i = 0; i < size; i++) {
		json_t *j;

		ck_assert_int_eq(merkle_inclusion_proof(i, size, node_from_leaves, NULL, proof, &n),
				 0);
		j = reparse(proof_inclusion_json(i + 1, size, leaves[i], CP(proof), n));
		ck_assert_int_eq(proof_type_of(j, &type, err, sizeof(err)), 0);
		ck_assert_int_eq(type, PROOF_INCLUSION);
		ck_assert_msg(proof_inclusion_parse(j, &p, err, sizeof(err)) == 0, "%s", err);
		ck_assert_uint_eq(p.seq, i + 1);
		ck_assert_uint_eq(p.tree_size, size);
		ck_assert_uint_eq(p.n, n);
		ck_assert_mem_eq(p.leaf_hash, leaves[i], HL);
		ck_assert(n == 0 || memcmp(p.hashes, proof, n * HL) == 0);
		ck_assert_int_eq(merkle_verify_inclusion(p.seq - 1, p.tree_size, p.leaf_hash,
							 CP(p.hashes), p.n, root),
				 0);
		/* Any flipped bit breaks it. */
		if (p.n) {
			p.hashes[p.n - 1][HL - 1] ^= 1;
			ck_assert_int_ne(merkle_verify_inclusion(p.seq - 1, p.tree_size,
								 p.leaf_hash, CP(p.hashes), p.n,
								 root),
					 0);
		}
		/* A consistency parser does not take it. */
		ck_assert_int_eq(
		    proof_consistency_parse(j, &(struct proof_consistency){0}, err, sizeof(err)),
		    -EINVAL);
		json_decref(j);
	}
}
END_TEST

START_TEST(test_consistency_round_trip)
{
	uint64_t to = (uint64_t)_i;
	uint8_t root1[HL], root2[HL], proof[MERKLE_MAX_PROOF][HL];
	static struct proof_consistency p;
	enum proof_type type;
	char err[160];
	size_t n;

	merkle_root_from_leaves(CP(leaves), (size_t)to, root2);
	for (uint64_t from = 1; from <= to; from++) {
		json_t *j;

		merkle_root_from_leaves(CP(leaves), (size_t)from, root1);
		ck_assert_int_eq(
		    merkle_consistency_proof(from, to, node_from_leaves, NULL, proof, &n), 0);
		j = reparse(proof_consistency_json(from, to, CP(proof), n));
		ck_assert_int_eq(proof_type_of(j, &type, err, sizeof(err)), 0);
		ck_assert_int_eq(type, PROOF_CONSISTENCY);
		ck_assert_msg(proof_consistency_parse(j, &p, err, sizeof(err)) == 0, "%s", err);
		ck_assert_uint_eq(p.from, from);
		ck_assert_uint_eq(p.to, to);
		ck_assert_uint_eq(p.n, n);
		ck_assert_int_eq(
		    merkle_verify_consistency(p.from, p.to, root1, root2, CP(p.hashes), p.n), 0);
		if (from < to) /* the wrong old root fails */
			ck_assert_int_ne(merkle_verify_consistency(p.from, p.to, root2, root2,
								   CP(p.hashes), p.n),
					 0);
		json_decref(j);
	}
}
END_TEST

#define H32	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""
#define INC(fields) "{\"type\":\"inclusion\"," fields "}"
#define CON(fields) "{\"type\":\"consistency\"," fields "}"

static const char *const bad_inclusion[] = {
    "[]",
    "{\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]}",
    "{\"type\":\"Inclusion\",\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32
    ",\"hashes\":[]}",
    "{\"type\":7,\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]}",
    CON("\"from\":1,\"to\":1,\"hashes\":[]"),
    /* missing members */
    INC("\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":1,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32),
    /* unknown member */
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[],\"x\":1"),
    /* wrong types and ranges */
    INC("\"seq\":\"1\",\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":1.0,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":-1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":-1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":{}"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[1]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":null,\"hashes\":[]"),
    /* seq 0, leaf_index != seq - 1, seq beyond the tree */
    INC("\"seq\":0,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":2,\"leaf_index\":2,\"tree_size\":3,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":2,\"leaf_index\":0,\"tree_size\":3,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    INC("\"seq\":4,\"leaf_index\":3,\"tree_size\":3,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    /* bad base64 and wrong lengths, in leaf_hash and in hashes */
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":"
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":"
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":"
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":"
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*=\",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":"
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":"
	"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \",\"hashes\":[]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":2,\"leaf_hash\":" H32 ",\"hashes\":[\"\"]"),
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":2,\"leaf_hash\":" H32
	",\"hashes\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]"),
};

static const char *const bad_consistency[] = {
    "null",
    "{\"from\":1,\"to\":2,\"hashes\":[]}",
    "{\"type\":\"consistent\",\"from\":1,\"to\":2,\"hashes\":[]}",
    INC("\"seq\":1,\"leaf_index\":0,\"tree_size\":1,\"leaf_hash\":" H32 ",\"hashes\":[]"),
    CON("\"to\":2,\"hashes\":[]"),
    CON("\"from\":1,\"hashes\":[]"),
    CON("\"from\":1,\"to\":2"),
    CON("\"from\":1,\"to\":2,\"hashes\":[],\"root\":" H32),
    CON("\"from\":true,\"to\":2,\"hashes\":[]"),
    CON("\"from\":1,\"to\":-2,\"hashes\":[]"),
    CON("\"from\":0,\"to\":2,\"hashes\":[]"),
    CON("\"from\":3,\"to\":2,\"hashes\":[]"),
    CON("\"from\":1,\"to\":2,\"hashes\":[\"AAAA\"]"),
    CON("\"from\":1,\"to\":2,\"hashes\":[null]"),
    CON("\"from\":1,\"to\":2,\"hashes\":\""
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""),
};

START_TEST(test_inclusion_rejects)
{
	struct proof_inclusion p;
	json_error_t jerr;
	json_t *j = json_loads(bad_inclusion[_i], JSON_DECODE_ANY, &jerr);
	char err[160] = "";

	ck_assert_msg(j != NULL, "case %d: %s", _i, jerr.text);
	ck_assert_msg(proof_inclusion_parse(j, &p, err, sizeof(err)) == -EINVAL,
		      "case %d accepted: %s", _i, bad_inclusion[_i]);
	ck_assert_msg(err[0] != '\0', "case %d: no reason given", _i);
	json_decref(j);
}
END_TEST

START_TEST(test_consistency_rejects)
{
	struct proof_consistency p;
	json_error_t jerr;
	json_t *j = json_loads(bad_consistency[_i], JSON_DECODE_ANY, &jerr);
	char err[160] = "";

	ck_assert_msg(j != NULL, "case %d: %s", _i, jerr.text);
	ck_assert_msg(proof_consistency_parse(j, &p, err, sizeof(err)) == -EINVAL,
		      "case %d accepted: %s", _i, bad_consistency[_i]);
	ck_assert_msg(err[0] != '\0', "case %d: no reason given", _i);
	json_decref(j);
}
END_TEST

/* One hash more than any proof may have is refused; exactly MERKLE_MAX_PROOF is accepted. */
START_TEST(test_too_many_hashes)
{
	static uint8_t h[MERKLE_MAX_PROOF + 1][HL];
	static struct proof_consistency p;
	json_t *j = proof_consistency_json(1, 2, CP(h), MERKLE_MAX_PROOF), *a;
	char err[160];

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(proof_consistency_parse(j, &p, err, sizeof(err)), 0);
	ck_assert_uint_eq(p.n, MERKLE_MAX_PROOF);
	a = json_object_get(j, "hashes");
	json_array_append(a, json_array_get(a, 0));
	ck_assert_int_eq(proof_consistency_parse(j, &p, err, sizeof(err)), -EINVAL);
	json_decref(j);
}
END_TEST

START_TEST(test_entry_binding)
{
	static const uint8_t event[] = {0x0a, 0x03, 'a', 'b', 'c'};
	struct ledger_source src = {.kind = "http"};
	struct proof_inclusion p = {.seq = 7, .tree_size = 9};
	uint8_t prev[LEDGER_HASH_LEN] = {1};
	struct buf entry = {0};
	char err[160];

	ck_assert_int_eq(ledger_entry_encode(7, prev, 1000, &src, event, sizeof(event), &entry), 0);
	ledger_leaf_hash(entry.data, entry.len, p.leaf_hash);
	ck_assert_msg(proof_entry_check(&p, entry.data, entry.len, err, sizeof(err)) == 0, "%s",
		      err);
	p.seq = 6; /* the right bytes, but another seq's proof */
	ck_assert_int_eq(proof_entry_check(&p, entry.data, entry.len, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "seq 7"));
	p.seq = 7;
	entry.data[entry.len - 1] ^= 1; /* modified bytes */
	ck_assert_int_eq(proof_entry_check(&p, entry.data, entry.len, err, sizeof(err)), -EINVAL);
	/* bytes with the right leaf hash that are no LedgerEntry */
	ledger_leaf_hash((const uint8_t *)"\xff\xff", 2, p.leaf_hash);
	ck_assert_int_eq(proof_entry_check(&p, (const uint8_t *)"\xff\xff", 2, err, sizeof(err)),
			 -EINVAL);
	buf_free(&entry);
}
END_TEST

static Suite *proof_suite(void)
{
	Suite *s = suite_create("proof");
	TCase *tc = tcase_create("proof");

	make_leaves();
	tcase_add_test(tc, test_exact_encoding);
	tcase_add_test(tc, test_builders_refuse_impossible);
	tcase_add_loop_test(tc, test_inclusion_round_trip, 1, MAX_LEAVES + 1);
	tcase_add_loop_test(tc, test_consistency_round_trip, 1, MAX_LEAVES + 1);
	tcase_add_loop_test(tc, test_inclusion_rejects, 0, (int)ARRAY_SIZE(bad_inclusion));
	tcase_add_loop_test(tc, test_consistency_rejects, 0, (int)ARRAY_SIZE(bad_consistency));
	tcase_add_test(tc, test_too_many_hashes);
	tcase_add_test(tc, test_entry_binding);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proof_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
