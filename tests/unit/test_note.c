/* Signed-note and checkpoint tests: RFC 8032 vectors through the OpenSSL wrapper, Go's
 * sumdb/note documentation example as a byte-exact known answer, and rejection of bad notes. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/checkpoint.h"
#include "ledger/note.h"
#include "util/util.h"

/* From the package documentation of golang.org/x/mod/sumdb/note. */
#define PN_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PN_SKEY "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define PN_TEXT                                                                                    \
	"If you think cryptography is the answer to your problem,\n"                               \
	"then you don't know what your problem is.\n"
#define PN_SIG                                                                                     \
	"x08go/ZJkuBS9UG/"                                                                         \
	"SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
#define PN_NOTE PN_TEXT "\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"

/* RFC 8032 section 7.1, TEST 1, 2 and 3: secret key (seed), public key, message, signature. */
static const struct {
	const char *seed, *pub, *msg, *sig;
} rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6594a7c15e9716ed28dc027beceea1ec40a"},
};

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	ck_assert_uint_eq(strlen(hex), 2 * len);
	ck_assert_int_eq(hex_decode(hex, 2 * len, out, len), 0);
}

START_TEST(test_rfc8032_vectors)
{
	uint8_t seed[32], pub[32], got_pub[32], msg[2] = {0}, sig[64], got[64];
	struct note_signer *s = NULL;
	struct note_verifier *v = NULL;
	size_t mlen = strlen(rfc8032[_i].msg) / 2;

	unhex(rfc8032[_i].seed, seed, 32);
	unhex(rfc8032[_i].pub, pub, 32);
	unhex(rfc8032[_i].msg, msg, mlen);
	unhex(rfc8032[_i].sig, sig, 64);
	ck_assert_int_eq(note_signer_from_seed("rfc8032", seed, &s), 0);
	note_signer_public_key(s, got_pub);
	ck_assert_mem_eq(got_pub, pub, 32);
	ck_assert_int_eq(note_ed25519_sign(s, msg, mlen, got), 0);
	ck_assert_mem_eq(got, sig, 64);
	ck_assert_int_eq(note_verifier_from_key("rfc8032", pub, &v), 0);
	ck_assert_int_eq(note_ed25519_verify(v, msg, mlen, sig), 0);
	sig[_i * 7] ^= 0x10;
	ck_assert_int_eq(note_ed25519_verify(v, msg, mlen, sig), -EBADMSG);
	sig[_i * 7] ^= 0x10;
	msg[0] ^= 1; /* a different message of the same length (or one byte for the empty one) */
	ck_assert_int_eq(note_ed25519_verify(v, msg, mlen ? mlen : 1, sig), -EBADMSG);
	note_signer_free(s);
	note_verifier_free(v);
}
END_TEST

START_TEST(test_go_known_answer)
{
	struct note_verifier *v = NULL;
	struct note_signer *s = NULL;
	struct buf out = {0};
	uint8_t raw[33];
	size_t text_len = 0, idx = 99;
	char *vt;

	/* The key ID is the hash of the name and the public key carried in the verifier text. */
	ck_assert_int_eq(b64_decode(strchr(PN_VKEY + 13, '+') + 1, 44, raw, sizeof(raw)), 33);
	ck_assert_uint_eq(raw[0], 0x01);
	ck_assert_uint_eq(note_key_id("PeterNeumann", raw + 1), 0xc74f20a3);

	ck_assert_int_eq(note_verifier_parse(PN_VKEY, &v), 0);
	ck_assert_str_eq(note_verifier_name(v), "PeterNeumann");
	ck_assert_uint_eq(note_verifier_key_id(v), 0xc74f20a3);
	ck_assert_int_eq(note_signer_parse(PN_SKEY, &s), 0);
	ck_assert_uint_eq(note_signer_key_id(s), 0xc74f20a3);
	vt = note_signer_verifier_text(s);
	ck_assert_str_eq(vt, PN_VKEY);
	free(vt);

	/* Go's note opens with its verifier; Ed25519 being deterministic, we sign it bytewise. */
	ck_assert_int_eq(note_open(PN_NOTE, strlen(PN_NOTE), &v, 1, &text_len, &idx), 0);
	ck_assert_uint_eq(text_len, strlen(PN_TEXT));
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(note_sign(s, PN_TEXT, strlen(PN_TEXT), &out), 0);
	ck_assert_uint_eq(out.len, strlen(PN_NOTE));
	ck_assert_mem_eq(out.data, PN_NOTE, out.len);
	buf_free(&out);
	note_signer_free(s);
	note_verifier_free(v);
}
END_TEST

/* Opens note (a C string) with the PeterNeumann verifier. */
static int open_pn(const char *note)
{
	struct note_verifier *v = NULL;
	int rc;

	ck_assert_int_eq(note_verifier_parse(PN_VKEY, &v), 0);
	rc = note_open(note, strlen(note), &v, 1, NULL, NULL);
	note_verifier_free(v);
	return rc;
}

/* The PeterNeumann note with its signature line's decoded bytes edited at byte i. */
static char *edit_sig(size_t i, uint8_t x)
{
	uint8_t raw[68];
	char *b64, *note;

	ck_assert_int_eq(b64_decode(PN_SIG, strlen(PN_SIG), raw, sizeof(raw)), 68);
	raw[i] ^= x;
	b64 = b64_encode(raw, sizeof(raw));
	note = malloc(strlen(PN_NOTE) + 1);
	ck_assert_ptr_nonnull(b64);
	ck_assert_ptr_nonnull(note);
	snprintf(note, strlen(PN_NOTE) + 1, "%s\n\xe2\x80\x94 PeterNeumann %s\n", PN_TEXT, b64);
	free(b64);
	return note;
}

START_TEST(test_open_rejects)
{
	char *note;

	ck_assert_int_eq(open_pn(PN_NOTE), 0);
	note =
	    edit_sig(3, 0x01); /* key ID c74f20a2: an unknown key, ignored, so nothing verified */
	ck_assert_int_eq(open_pn(note), -ENOKEY);
	free(note);
	note = edit_sig(40, 0x20); /* the known key's signature is wrong */
	ck_assert_int_eq(open_pn(note), -EBADMSG);
	free(note);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumanN " PN_SIG "\n"), -ENOKEY);
	ck_assert_int_eq(open_pn("If you think cryptography is the answer to your problem!\n"
				 "then you don't know what your problem is.\n"
				 "\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"),
			 -EBADMSG);
	/* Framing. */
	ck_assert_int_eq(open_pn(PN_NOTE "x"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_NOTE "x\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_NOTE "\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\xe2\x80\x94 PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumann " PN_SIG), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT), -EINVAL);
	ck_assert_int_eq(open_pn(""), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n- PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumann  " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94  PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumann\n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumann \n"), -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 Peter+Neumann " PN_SIG "\n"), -EINVAL);
	/* Base64: bad character, missing padding, too short to hold a key ID and a signature. */
	ck_assert_int_eq(
	    open_pn(
		PN_TEXT
		"\n\xe2\x80\x94 PeterNeumann "
		"x08go*ZJkuBS9UG/"
		"SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
	    -EINVAL);
	ck_assert_int_eq(
	    open_pn(
		PN_TEXT
		"\n\xe2\x80\x94 PeterNeumann "
		"x08go/ZJkuBS9UG/"
		"SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n"),
	    -EINVAL);
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumann x08goA==\n"), -EINVAL);
	/* A known key's signature of the wrong length cannot verify. */
	ck_assert_int_eq(open_pn(PN_TEXT "\n\xe2\x80\x94 PeterNeumann x08go/ZJ\n"), -EBADMSG);
	/* Control characters and invalid UTF-8 anywhere. */
	ck_assert_int_eq(open_pn("a\rb\n\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn("a\tb\n\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn("a\xff\n\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn("a\xc0\xaf\n\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"), -EINVAL);
	ck_assert_int_eq(open_pn("a\xed\xa0\x80\n\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"),
			 -EINVAL);
	ck_assert_int_eq(open_pn("a\xe2\x80\n\n\xe2\x80\x94 PeterNeumann " PN_SIG "\n"), -EINVAL);
	/* A valid note without its final newline. */
	ck_assert_int_eq(note_open(PN_NOTE, strlen(PN_NOTE) - 1, NULL, 0, NULL, NULL), -EINVAL);
}
END_TEST

/* A note signed by a fresh key, then n_unknown extra lines from a key nobody knows. */
static void make_note(struct note_signer *s, size_t n_unknown, struct buf *out)
{
	static const char text[] = "body\n";

	ck_assert_int_eq(note_sign(s, text, strlen(text), out), 0);
	for (size_t i = 0; i < n_unknown; i++)
		ck_assert_int_eq(buf_printf(out, "\xe2\x80\x94 other.example/%zu AAAAAAAA\n", i),
				 0);
}

START_TEST(test_keygen_roundtrip)
{
	static const char text[] = "example.com/log\n\nsecond paragraph \xc3\xa9\xe2\x82\xac\n";
	struct note_verifier *va = NULL, *vb = NULL, *vs[3];
	struct note_signer *a = NULL, *b = NULL;
	char *sa, *pa, *sb, *pb;
	struct buf na = {0}, nb = {0};
	size_t tl, idx;

	ck_assert_int_eq(note_keygen("example.com/log", &sa, &pa), 0);
	ck_assert_int_eq(note_keygen("example.com/log", &sb, &pb), 0);
	ck_assert_int_eq(strncmp(sa, "PRIVATE+KEY+example.com/log+", 28), 0);
	ck_assert_int_eq(strncmp(pa, "example.com/log+", 16), 0);
	ck_assert_str_ne(pa, pb);
	ck_assert_int_eq(note_signer_parse(sa, &a), 0);
	ck_assert_int_eq(note_signer_parse(sb, &b), 0);
	ck_assert_int_eq(note_verifier_parse(pa, &va), 0);
	ck_assert_int_eq(note_verifier_parse(pb, &vb), 0);
	ck_assert_int_eq(note_sign(a, text, strlen(text), &na), 0);
	ck_assert_int_eq(note_sign(b, text, strlen(text), &nb), 0);
	/* A doubly signed note: a's note followed by b's signature line. */
	ck_assert_int_eq(buf_append(&na, nb.data + strlen(text) + 1, nb.len - strlen(text) - 1), 0);

	vs[0] = vb;
	vs[1] = va;
	ck_assert_int_eq(note_open((char *)na.data, na.len, vs, 2, &tl, &idx), 0);
	ck_assert_uint_eq(tl, strlen(text));
	ck_assert_uint_eq(idx, 1); /* a signed first */
	ck_assert_int_eq(note_open((char *)na.data, na.len, &vb, 1, &tl, &idx), 0);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(note_open((char *)nb.data, nb.len, &va, 1, NULL, NULL), -ENOKEY);
	ck_assert_int_eq(note_open((char *)nb.data, nb.len, NULL, 0, NULL, NULL), -ENOKEY);
	vs[2] = va; /* two verifiers with one name and key ID: ambiguous */
	ck_assert_int_eq(note_open((char *)na.data, na.len, vs + 1, 2, NULL, NULL), -EINVAL);

	/* Signature count: 100 lines are accepted, 101 are not. */
	buf_reset(&na);
	make_note(a, 99, &na);
	ck_assert_int_eq(note_open((char *)na.data, na.len, &va, 1, NULL, NULL), 0);
	buf_reset(&na);
	make_note(a, 100, &na);
	ck_assert_int_eq(note_open((char *)na.data, na.len, &va, 1, NULL, NULL), -EINVAL);

	/* What cannot be signed leaves the buffer as it was. */
	buf_reset(&na);
	ck_assert_int_eq(note_sign(a, "no newline", 10, &na), -EINVAL);
	ck_assert_int_eq(note_sign(a, "", 0, &na), -EINVAL);
	ck_assert_int_eq(note_sign(a, "tab\there\n", 9, &na), -EINVAL);
	ck_assert_int_eq(note_sign(a, "bad \xff\n", 6, &na), -EINVAL);
	ck_assert_uint_eq(na.len, 0);

	note_secret_free(sa);
	note_secret_free(sb);
	free(pa);
	free(pb);
	buf_free(&na);
	buf_free(&nb);
	note_signer_free(a);
	note_signer_free(b);
	note_verifier_free(va);
	note_verifier_free(vb);
}
END_TEST

/* Key texts that must not parse, and the error each gives. */
static const struct {
	const char *text;
	int rc;
} bad_verifiers[] = {
    {"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", -EINVAL}, /* key ID */
    {"PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", -EINVAL},
    {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T=", -EINVAL},
    {"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n", -EINVAL},
    {"Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", -EINVAL},
    {"+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", -EINVAL},
    {"PeterNeumann+c74f20a3", -EINVAL},
    {"PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", -ENOTSUP}, /* 0x02 */
    {PN_SKEY, -EINVAL},
};
static const char *const bad_signers[] = {
    PN_VKEY,
    "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    "PRIVATE+KEY+PeterNeuman+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF=",
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz ",
};

START_TEST(test_key_text_rejects)
{
	static const char *const bad_names[] = {"a b",
						"a+b",
						"",
						"a\tb",
						"a\xc2\xa0"
						"b",
						"a\xff"};
	struct note_verifier *v = NULL;
	struct note_signer *s = NULL;
	char *st, *vt;

	for (size_t i = 0; i < ARRAY_SIZE(bad_verifiers); i++) {
		ck_assert_msg(note_verifier_parse(bad_verifiers[i].text, &v) == bad_verifiers[i].rc,
			      "verifier %zu", i);
		ck_assert_ptr_null(v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_signers); i++) {
		ck_assert_msg(note_signer_parse(bad_signers[i], &s) == -EINVAL, "signer %zu", i);
		ck_assert_ptr_null(s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) /* U+00A0 is a Unicode space */
		ck_assert_int_eq(note_keygen(bad_names[i], &st, &vt), -EINVAL);
	/* Go accepts the key ID in upper case too. */
	ck_assert_int_eq(
	    note_verifier_parse(
		"PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v),
	    0);
	note_verifier_free(v);
	note_signer_free(NULL);
	note_verifier_free(NULL);
	note_secret_free(NULL);
}
END_TEST

/* ---- checkpoint ---- */

#define SOFA "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

static int parse(const char *text)
{
	uint8_t root[32];
	uint64_t size;

	return checkpoint_parse(text, strlen(text), NULL, &size, root);
}

START_TEST(test_checkpoint)
{
	uint8_t root[32], got[32];
	struct buf out = {0};
	char *origin = NULL;
	uint64_t size = 0;

	/* The example of c2sp.org/tlog-checkpoint, formatted back byte for byte. */
	ck_assert_int_eq(checkpoint_parse(SOFA, strlen(SOFA), &origin, &size, root), 0);
	ck_assert_str_eq(origin, "example.com/behind-the-sofa");
	ck_assert_uint_eq(size, 20852163);
	ck_assert_int_eq(checkpoint_format(origin, size, root, &out), 0);
	ck_assert_uint_eq(out.len, strlen(SOFA));
	ck_assert_mem_eq(out.data, SOFA, out.len);
	free(origin);

	buf_reset(&out);
	memset(root, 0xab, sizeof(root));
	ck_assert_int_eq(checkpoint_format("o", UINT64_MAX, root, &out), 0);
	ck_assert_int_eq(checkpoint_parse((char *)out.data, out.len, NULL, &size, got), 0);
	ck_assert_uint_eq(size, UINT64_MAX);
	ck_assert_mem_eq(got, root, 32);
	ck_assert_int_eq(checkpoint_format("", 1, root, &out), -EINVAL);
	ck_assert_int_eq(checkpoint_format("a\nb", 1, root, &out), -EINVAL);
	ck_assert_uint_eq(out.len, strlen("o\n18446744073709551615\n") + 45);
	buf_free(&out);

	ck_assert_int_eq(parse("o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), 0);
	ck_assert_int_eq(parse(SOFA "ext one\nx\n"), 0);
	ck_assert_int_eq(parse(SOFA "\n"), -EINVAL);
	ck_assert_int_eq(parse(SOFA "ext"), -EINVAL);
	ck_assert_int_eq(parse("o\n00\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n+1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n1 \nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(
	    parse("o\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"),
	    -EINVAL);
	ck_assert_int_eq(parse("\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n"), -EINVAL);
	ck_assert_int_eq(parse("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="), -EINVAL);
	ck_assert_int_eq(parse("o\n1\n"), -EINVAL);
}
END_TEST

START_TEST(test_signed_checkpoint)
{
	struct note_verifier *v = NULL;
	struct note_signer *s = NULL;
	struct buf body = {0}, note = {0};
	uint8_t root[32], got[32];
	char *origin = NULL;
	uint64_t size;
	size_t tl;

	memset(root, 0x5a, sizeof(root));
	ck_assert_int_eq(note_signer_parse(PN_SKEY, &s), 0);
	ck_assert_int_eq(note_verifier_parse(PN_VKEY, &v), 0);
	ck_assert_int_eq(checkpoint_format("PeterNeumann", 42, root, &body), 0);
	ck_assert_int_eq(note_sign(s, (char *)body.data, body.len, &note), 0);
	ck_assert_int_eq(note_open((char *)note.data, note.len, &v, 1, &tl, NULL), 0);
	ck_assert_int_eq(checkpoint_parse((char *)note.data, tl, &origin, &size, got), 0);
	ck_assert_str_eq(origin, "PeterNeumann");
	ck_assert_uint_eq(size, 42);
	ck_assert_mem_eq(got, root, 32);
	free(origin);
	buf_free(&body);
	buf_free(&note);
	note_signer_free(s);
	note_verifier_free(v);
}
END_TEST

static Suite *note_suite(void)
{
	Suite *s = suite_create("note");
	TCase *tc = tcase_create("note");
	TCase *cp = tcase_create("checkpoint");

	tcase_add_loop_test(tc, test_rfc8032_vectors, 0, (int)ARRAY_SIZE(rfc8032));
	tcase_add_test(tc, test_go_known_answer);
	tcase_add_test(tc, test_open_rejects);
	tcase_add_test(tc, test_keygen_roundtrip);
	tcase_add_test(tc, test_key_text_rejects);
	tcase_add_test(cp, test_checkpoint);
	tcase_add_test(cp, test_signed_checkpoint);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, cp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(note_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
