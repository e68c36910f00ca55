/* Evidence bundle tests: a small ledger built in memory (real events, pseudonyms, a notice, a
 * Merkle tree and a signed checkpoint), rendered and verified; then every single-byte change,
 * a changed decoded form, swapped entries, a wrong key, a proof for another tree size, entries
 * of another subject and notices that do not match are rejected. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "export/bundle.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/proof.h"
#include "util/util.h"

#define HL	  32
#define N_ENTRIES 9
#define CP_SIZE	  7
#define ORIGIN	  "test.example/ledger"
#define NOW	  1795982659000000LL
#define KEY_HEX	  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char *purposes[] = {"essential", "analytics", "advertising", "functional"};
static const struct event_policy policy = {purposes, 4, NULL, 0, 300000000LL};
static const char notice_html[] = "<p>We use cookies for analytics.</p>\n";

/* The ledger: entries 1..9; seq 2 is the notice; seqs 1, 3, 5 and 9 are alice's (email), the
 * others bob's. The checkpoint covers 1..7, so alice's seq 9 is not covered. */
static struct buf entries[N_ENTRIES + 1];
static uint8_t leaves[N_ENTRIES][HL];
static uint8_t alice[HL], bob[HL], notice_sha[HL];
static struct buf note;
static struct note_verifier *verifier;
static uint8_t proofs[N_ENTRIES + 1][MERKLE_MAX_PROOF][HL];
static size_t n_proofs[N_ENTRIES + 1];

static int node_from_leaves(void *arg, unsigned level, uint64_t index, uint8_t out[HL])
{
	uint64_t n = (uint64_t)1 << level, begin = index * n;

	(void)arg;
	if (begin + n > N_ENTRIES)
		return -ENOENT;
	merkle_root_from_leaves((const uint8_t(*)[HL])(leaves + begin), (size_t)n, out);
	return 0;
}

static Consentd__V1__Event *consent(const char *email, const char *action, const char *when,
				    bool with_notice, const struct subject_keyring *ring)
{
	char text[800], sha[2 * HL + 1], id[UUID_STR_LEN + 1];
	uint8_t raw[UUID_LEN];
	struct event_error err;
	Consentd__V1__Event *ev;
	json_t *j;

	hex_encode(notice_sha, HL, sha);
	ck_assert_int_eq(uuid_random(raw), 0);
	uuid_format(raw, id);
	snprintf(text, sizeof(text),
		 "{\"event_id\":\"%s\",\"occurred_at\":\"%s\",\"subject\":{\"email\":\"%s\"},"
		 "\"consent\":{\"action\":\"%s\",\"notice\":{\"policy_version\":\"v1\"%s%s%s}}}",
		 id, when, email, action, with_notice ? ",\"content_sha256\":\"" : "",
		 with_notice ? sha : "", with_notice ? "\"" : "");
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ev = event_from_json(j, &err);
	json_decref(j);
	ck_assert_msg(ev != NULL, "event_from_json: %s", err.message);
	ck_assert_msg(event_validate(ev, &policy, NOW, &err) == 0, "validate: %s", err.message);
	ck_assert_int_eq(event_pseudonymize(ev, ring), 0);
	return ev;
}

static void append(uint64_t seq, Consentd__V1__Event *ev)
{
	struct ledger_source src = {"http", "127.0.0.1:1234", "req-1", NULL, -1, -1};
	uint8_t prev[HL] = {0};
	struct buf ebytes = {0};

	if (seq > 1)
		memcpy(prev, leaves[seq - 2], HL);
	ck_assert_int_eq(event_encode(ev, &ebytes), 0);
	ck_assert_int_eq(ledger_entry_encode(seq, prev, NOW + (int64_t)seq, &src, ebytes.data,
					     ebytes.len, &entries[seq]),
			 0);
	ledger_leaf_hash(entries[seq].data, entries[seq].len, leaves[seq - 1]);
	buf_free(&ebytes);
	event_release(ev);
}

static void sign_checkpoint(void)
{
	static const uint8_t seed[NOTE_ED25519_SEED_LEN] = {7, 7, 7};
	struct note_signer *s;
	struct buf text = {0};
	uint8_t root[HL];
	char *vt;

	merkle_root_from_leaves((const uint8_t(*)[HL])leaves, CP_SIZE, root);
	ck_assert_int_eq(note_signer_from_seed(ORIGIN, seed, &s), 0);
	ck_assert_int_eq(checkpoint_format(ORIGIN, CP_SIZE, root, &text), 0);
	ck_assert_int_eq(note_sign(s, (const char *)text.data, text.len, &note), 0);
	vt = note_signer_verifier_text(s);
	ck_assert_int_eq(note_verifier_parse(vt, &verifier), 0);
	free(vt);
	buf_free(&text);
	note_signer_free(s);
}

static void build_ledger(void)
{
	struct subject_keyring ring;
	Consentd__V1__Event *n;
	struct event_error err;
	char e[512];

	ck_assert_int_eq(subject_keyring_parse(KEY_HEX, strlen(KEY_HEX), &ring, e, sizeof(e)), 0);
	subject_pseudonym(&ring.keys[0], CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL,
			  "alice@example.com", alice);
	subject_pseudonym(&ring.keys[0], CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL,
			  "bob@example.com", bob);
	EVP_Digest(notice_html, strlen(notice_html), notice_sha, NULL, EVP_sha256(), NULL);
	append(1, consent("alice@example.com", "accept_all", "2026-11-01T10:00:00Z", false, &ring));
	ck_assert_int_eq(event_notice_new((const uint8_t *)notice_html, strlen(notice_html),
					  "text/html; charset=utf-8", notice_sha, NOW, &n, &err),
			 0);
	append(2, n);
	append(3, consent("alice@example.com", "customize", "2026-11-02T10:00:00Z", true, &ring));
	append(4, consent("bob@example.com", "reject_all", "2026-11-02T11:00:00Z", true, &ring));
	append(5, consent("alice@example.com", "withdraw", "2026-11-03T10:00:00Z", false, &ring));
	append(6, consent("bob@example.com", "accept_all", "2026-11-03T11:00:00Z", false, &ring));
	append(7, consent("bob@example.com", "customize", "2026-11-04T11:00:00Z", false, &ring));
	append(8, consent("bob@example.com", "withdraw", "2026-11-05T11:00:00Z", false, &ring));
	append(9, consent("alice@example.com", "accept_all", "2026-11-06T10:00:00Z", false, &ring));
	for (uint64_t seq = 1; seq <= CP_SIZE; seq++)
		ck_assert_int_eq(merkle_inclusion_proof(seq - 1, CP_SIZE, node_from_leaves, NULL,
							proofs[seq], &n_proofs[seq]),
				 0);
	sign_checkpoint();
}

static void setup(void)
{
	memset(entries, 0, sizeof(entries));
	memset(&note, 0, sizeof(note));
	build_ledger();
}

static void teardown(void)
{
	for (size_t i = 0; i <= N_ENTRIES; i++)
		buf_free(&entries[i]);
	buf_free(&note);
	note_verifier_free(verifier);
	verifier = NULL;
}

static struct bundle_item item(uint64_t seq)
{
	return (struct bundle_item){entries[seq].data, entries[seq].len,
				    (const uint8_t(*)[HL])proofs[seq],
				    seq <= CP_SIZE ? n_proofs[seq] : 0};
}

/* alice's bundle: the given seqs as entries, the notice if with_notice. */
static int render(const uint64_t *seqs, size_t n, bool with_notice, struct buf *out, char *err,
		  size_t errlen)
{
	struct bundle_item items[N_ENTRIES], notices[1] = {item(2)};
	struct bundle b = {
	    (const uint8_t(*)[HL])alice, 1, (const char *)note.data, note.len, items, n, notices,
	    with_notice ? 1 : 0};

	for (size_t i = 0; i < n; i++)
		items[i] = item(seqs[i]);
	return bundle_render(&b, out, NULL, err, errlen);
}

static void render_alice(struct buf *out)
{
	static const uint64_t seqs[] = {1, 3, 5, 9};
	char err[256];

	ck_assert_msg(render(seqs, 4, true, out, err, sizeof(err)) == 0, "render: %s", err);
}

static int verify(const struct buf *b, char *err, size_t errlen)
{
	return bundle_verify(b->data, b->len, verifier, NULL, err, errlen);
}

START_TEST(test_render_and_verify)
{
	struct bundle_summary sum;
	struct buf b = {0}, again = {0};
	char err[256], hex[2 * HL + 1];

	render_alice(&b);
	ck_assert_msg(bundle_verify(b.data, b.len, verifier, &sum, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_uint_eq(sum.tree_size, CP_SIZE);
	ck_assert_uint_eq(sum.entries, 4);
	ck_assert_uint_eq(sum.covered, 3);
	ck_assert_uint_eq(sum.first_uncovered, 9);
	ck_assert_uint_eq(sum.notices, 1);
	ck_assert_uint_eq(sum.notices_missing, 0);
	ck_assert_str_eq(sum.key_name, ORIGIN);
	ck_assert_uint_eq(sum.key_id, note_verifier_key_id(verifier));
	hex_encode(alice, HL, hex);
	ck_assert_str_eq(sum.subject, hex);
	/* deterministic: the same parts give the same bytes */
	render_alice(&again);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_int_eq(memcmp(again.data, b.data, b.len), 0);
	buf_free(&b);
	buf_free(&again);
}
END_TEST

START_TEST(test_layout)
{
	struct buf b = {0};
	json_t *j;
	char *text;

	render_alice(&b);
	ck_assert_uint_eq(b.data[b.len - 1], '\n');
	text = strndup((const char *)b.data, b.len);
	ck_assert_ptr_nonnull(strstr(text, "{\"format\":\"" BUNDLE_FORMAT "\",\n\"subject\":[\""));
	ck_assert_ptr_nonnull(strstr(text, "\n\"entries\":[\n{\"seq\":1,\"leaf_hash\":\""));
	ck_assert_ptr_nonnull(strstr(text, "\n\"notices\":[\n{\"content_sha256\":\""));
	ck_assert_ptr_nonnull(strstr(text, "\n\"notices_missing\":[]\n}\n"));
	for (size_t i = 0; i < b.len; i++)
		ck_assert_msg(b.data[i] < 0x80, "byte %zu is not ASCII", i);
	j = json_loadb((const char *)b.data, b.len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_array_size(json_object_get(j, "entries")), 4);
	/* seq 9 is beyond the checkpoint: no proof */
	ck_assert(json_is_null(
	    json_object_get(json_array_get(json_object_get(j, "entries"), 3), "proof")));
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(j, "checkpoint"), "tree_size")),
	    CP_SIZE);
	json_decref(j);
	free(text);
	buf_free(&b);
}
END_TEST

START_TEST(test_every_byte_flip_rejected)
{
	static const uint8_t masks[] = {0x01, 0x20, 0x80};
	struct buf b = {0};
	char err[256];
	size_t checked = 0;

	render_alice(&b);
	for (size_t i = 0; i < b.len; i++) {
		for (size_t m = 0; m < ARRAY_SIZE(masks); m++) {
			/* every position with the low bit; the others at a stride */
			if (m && i % 7)
				continue;
			b.data[i] ^= masks[m];
			ck_assert_msg(verify(&b, err, sizeof(err)) == -EBADMSG,
				      "flipping byte %zu with 0x%02x was not caught", i, masks[m]);
			b.data[i] ^= masks[m];
			checked++;
		}
	}
	ck_assert_int_eq(verify(&b, err, sizeof(err)), 0);
	ck_assert_uint_gt(checked, b.len);
	buf_free(&b);
}
END_TEST

START_TEST(test_truncated_or_extended_rejected)
{
	struct buf b = {0};
	char err[256];

	render_alice(&b);
	b.len--;
	ck_assert_int_eq(verify(&b, err, sizeof(err)), -EBADMSG);
	b.len++;
	buf_append(&b, "\n", 1);
	ck_assert_int_eq(verify(&b, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "differs from the canonical"));
	buf_free(&b);
}
END_TEST

/* Replaces the first occurrence of from (after offset at) by to. */
static void replace(struct buf *b, size_t at, const char *from, const char *to)
{
	char *text = strndup((const char *)b->data, b->len), *p = strstr(text + at, from);
	struct buf out = {0};

	ck_assert_ptr_nonnull(p);
	buf_append(&out, text, (size_t)(p - text));
	buf_append(&out, to, strlen(to));
	buf_append(&out, p + strlen(from), strlen(p + strlen(from)));
	buf_free(b);
	*b = out;
	free(text);
}

START_TEST(test_changed_decoded_form)
{
	struct buf b = {0};
	char err[256];

	render_alice(&b);
	/* seq 3's decoded event says customize; claim accept_all */
	replace(&b, 0, "\"action\":\"customize\"", "\"action\":\"accept_all\"");
	ck_assert_int_eq(verify(&b, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "entry seq 3: the decoded form") != NULL, "%s", err);
	buf_free(&b);
}
END_TEST

START_TEST(test_swapped_entries)
{
	struct buf b = {0};
	char err[256], *text, *l1, *l2, *l3;
	struct buf out = {0};

	render_alice(&b);
	/* the lines of entries seq 1 and seq 3, both ending in ",\n" */
	text = strndup((const char *)b.data, b.len);
	l1 = strstr(text, "\n{\"seq\":1,") + 1;
	l2 = strchr(l1, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	buf_append(&out, text, (size_t)(l1 - text));
	buf_append(&out, l2, (size_t)(l3 - l2));
	buf_append(&out, l1, (size_t)(l2 - l1));
	buf_append(&out, l3, strlen(l3));
	ck_assert_uint_eq(out.len, b.len);
	ck_assert_int_eq(verify(&out, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "ascend") != NULL, "%s", err);
	free(text);
	buf_free(&out);
	buf_free(&b);
}
END_TEST

START_TEST(test_wrong_key)
{
	static const uint8_t other_seed[NOTE_ED25519_SEED_LEN] = {9};
	struct note_signer *s;
	struct note_verifier *v;
	struct buf b = {0};
	char err[256], *vt;

	render_alice(&b);
	ck_assert_int_eq(note_signer_from_seed(ORIGIN, other_seed, &s), 0);
	vt = note_signer_verifier_text(s);
	ck_assert_int_eq(note_verifier_parse(vt, &v), 0);
	ck_assert_int_eq(bundle_verify(b.data, b.len, v, NULL, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "no signature by the key") != NULL, "%s", err);
	note_verifier_free(v);
	note_signer_free(s);
	free(vt);
	ck_assert_int_eq(note_signer_from_seed("another.example/log", other_seed, &s), 0);
	vt = note_signer_verifier_text(s);
	ck_assert_int_eq(note_verifier_parse(vt, &v), 0);
	ck_assert_int_eq(bundle_verify(b.data, b.len, v, NULL, err, sizeof(err)), -EBADMSG);
	note_verifier_free(v);
	note_signer_free(s);
	free(vt);
	buf_free(&b);
}
END_TEST

START_TEST(test_proof_for_another_tree_size)
{
	uint8_t hashes[MERKLE_MAX_PROOF][HL];
	struct buf b = {0}, out = {0};
	json_t *j, *e;
	char err[256], *text;
	size_t n;

	render_alice(&b);
	j = json_loadb((const char *)b.data, b.len, 0, NULL);
	e = json_array_get(json_object_get(j, "entries"), 1); /* seq 3 */
	ck_assert_int_eq(merkle_inclusion_proof(2, 8, node_from_leaves, NULL, hashes, &n), 0);
	json_object_set_new(e, "proof",
			    proof_inclusion_json(3, 8, leaves[2], (const uint8_t(*)[HL])hashes, n));
	text = json_dumps(j, JSON_COMPACT);
	buf_append(&out, text, strlen(text));
	ck_assert_int_eq(verify(&out, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "entry seq 3: its proof is for tree size 8") != NULL, "%s", err);
	free(text);
	json_decref(j);
	buf_free(&out);
	buf_free(&b);
}
END_TEST

START_TEST(test_render_refuses_inconsistent_parts)
{
	static const uint64_t with_bob[] = {1, 4}, unordered[] = {3, 1}, ok[] = {1, 3};
	struct bundle_item bad_proof = item(3);
	struct bundle b = {(const uint8_t(*)[HL])alice,
			   1,
			   (const char *)note.data,
			   note.len,
			   &bad_proof,
			   1,
			   NULL,
			   0};
	uint8_t wrong[MERKLE_MAX_PROOF][HL];
	struct buf out = {0};
	char err[256];

	ck_assert_int_eq(render(with_bob, 2, false, &out, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "entry seq 4: carries no pseudonym") != NULL, "%s", err);
	ck_assert_int_eq(render(unordered, 2, false, &out, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(out.len, 0);
	/* a notice no entry references: seq 1 alone does not reference it */
	ck_assert_int_eq(render(ok, 1, true, &out, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "notice seq 2: no entry references it") != NULL, "%s", err);
	/* without the notice, it is listed as missing */
	ck_assert_int_eq(render(ok, 2, false, &out, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(memmem(out.data, out.len, "\"notices_missing\":[\"", 20));
	buf_reset(&out);
	/* a proof that does not lead to the root */
	memcpy(wrong, proofs[3], sizeof(wrong));
	wrong[0][0] ^= 1;
	bad_proof.proof = (const uint8_t(*)[HL])wrong;
	ck_assert_int_eq(bundle_render(&b, &out, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "entry seq 3: the inclusion proof") != NULL, "%s", err);
	buf_free(&out);
}
END_TEST

START_TEST(test_not_json_or_not_a_bundle)
{
	struct buf b = {0};
	char err[256];

	buf_append(&b, "{\"format\":\"something else\"}", 27);
	ck_assert_int_eq(verify(&b, err, sizeof(err)), -EBADMSG);
	buf_reset(&b);
	buf_append(&b, "not json", 8);
	ck_assert_int_eq(verify(&b, err, sizeof(err)), -EBADMSG);
	buf_free(&b);
}
END_TEST

static Suite *bundle_suite(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("bundle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_render_and_verify);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_every_byte_flip_rejected);
	tcase_add_test(tc, test_truncated_or_extended_rejected);
	tcase_add_test(tc, test_changed_decoded_form);
	tcase_add_test(tc, test_swapped_entries);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_proof_for_another_tree_size);
	tcase_add_test(tc, test_render_refuses_inconsistent_parts);
	tcase_add_test(tc, test_not_json_or_not_a_bundle);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bundle_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
