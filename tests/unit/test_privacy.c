/* Unit tests of src/privacy: field encryption (round trips, tampering, associated data, keys),
 * data key wrapping across master key versions, the master key file, and minimisation of IP
 * addresses and User-Agents. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privacy/privacy.h"

#define KEY1_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY2_HEX "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"
#define KEY3_HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"

static const uint8_t subject_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t subject_b[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};

static void data_key(uint8_t key[PRIVACY_KEY_LEN], uint8_t fill)
{
	memset(key, fill, PRIVACY_KEY_LEN);
}

static struct privacy_ad ad_of(const uint8_t *subject, size_t len, const char *field)
{
	struct privacy_ad ad = {.subject = subject, .subject_len = len, .field = field};

	return ad;
}

static struct privacy_keyring ring_of(const char *text)
{
	struct privacy_keyring ring;
	char err[128] = "";

	ck_assert_msg(privacy_keyring_parse(text, strlen(text), &ring, err, sizeof(err)) == 0,
		      "keyring: %s", err);
	return ring;
}

/* ---- Field encryption ---------------------------------------------------------------------- */

START_TEST(test_round_trip)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 255, 4096};
	struct privacy_ad ad = ad_of(subject_a, sizeof(subject_a), "ip");
	uint8_t key[PRIVACY_KEY_LEN], pt[4096];

	data_key(key, 7);
	for (size_t i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 31 + 5);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct buf blob = {0}, back = {0};

		ck_assert_int_eq(privacy_encrypt(key, &ad, pt, lens[i], &blob), 0);
		ck_assert_uint_eq(blob.len, lens[i] + PRIVACY_FIELD_OVERHEAD);
		ck_assert_uint_eq(blob.data[0], PRIVACY_FIELD_V1);
		ck_assert_int_eq(privacy_decrypt(key, &ad, blob.data, blob.len, &back), 0);
		ck_assert_uint_eq(back.len, lens[i]);
		ck_assert(lens[i] == 0 || memcmp(back.data, pt, lens[i]) == 0);
		buf_free(&blob);
		buf_free(&back);
	}
}
END_TEST

/* Appends after what out already holds, and a fresh nonce makes every blob different. */
START_TEST(test_appends_and_fresh_nonces)
{
	struct privacy_ad ad = ad_of(subject_a, sizeof(subject_a), "user_agent");
	struct buf out = {0}, back = {0};
	uint8_t key[PRIVACY_KEY_LEN];
	const char *msg = "Chrome 120";
	size_t blob_len = strlen(msg) + PRIVACY_FIELD_OVERHEAD;

	data_key(key, 9);
	ck_assert_int_eq(buf_append(&out, "xy", 2), 0);
	ck_assert_int_eq(privacy_encrypt(key, &ad, (const uint8_t *)msg, strlen(msg), &out), 0);
	ck_assert_int_eq(privacy_encrypt(key, &ad, (const uint8_t *)msg, strlen(msg), &out), 0);
	ck_assert_uint_eq(out.len, 2 + 2 * blob_len);
	ck_assert_int_eq(memcmp(out.data, "xy", 2), 0);
	ck_assert_int_ne(memcmp(out.data + 2, out.data + 2 + blob_len, blob_len), 0);
	ck_assert_int_eq(privacy_decrypt(key, &ad, out.data + 2 + blob_len, blob_len, &back), 0);
	ck_assert_uint_eq(back.len, strlen(msg));
	ck_assert_int_eq(memcmp(back.data, msg, back.len), 0);
	buf_free(&out);
	buf_free(&back);
}
END_TEST

/* Every single-byte change and every truncation of a blob is refused, and nothing is output. */
START_TEST(test_tampering_rejected)
{
	static const uint8_t flips[] = {0x01, 0x80, 0xff};
	struct privacy_ad ad = ad_of(subject_a, sizeof(subject_a), "ip");
	struct buf blob = {0}, back = {0};
	uint8_t key[PRIVACY_KEY_LEN];
	const char *msg = "203.0.113.0/24";

	data_key(key, 3);
	ck_assert_int_eq(privacy_encrypt(key, &ad, (const uint8_t *)msg, strlen(msg), &blob), 0);
	for (size_t i = 0; i < blob.len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			blob.data[i] ^= flips[f];
			ck_assert_int_eq(privacy_decrypt(key, &ad, blob.data, blob.len, &back),
					 -EBADMSG);
			ck_assert_uint_eq(back.len, 0);
			blob.data[i] ^= flips[f];
		}
	}
	for (size_t len = 0; len < blob.len; len++)
		ck_assert_int_eq(privacy_decrypt(key, &ad, blob.data, len, &back), -EBADMSG);
	ck_assert_int_eq(privacy_decrypt(key, &ad, blob.data, blob.len, &back), 0);
	buf_free(&blob);
	buf_free(&back);
}
END_TEST

START_TEST(test_wrong_ad_rejected)
{
	static const uint8_t ab[] = {'a', 'b'}, a[] = {'a'};
	struct privacy_ad ad = ad_of(subject_a, sizeof(subject_a), "ip");
	struct privacy_ad other_subject = ad_of(subject_b, sizeof(subject_b), "ip");
	struct privacy_ad shorter_subject = ad_of(subject_a, sizeof(subject_a) - 1, "ip");
	struct privacy_ad other_field = ad_of(subject_a, sizeof(subject_a), "user_agent");
	struct privacy_ad ab_c = ad_of(ab, 2, "c"), a_bc = ad_of(a, 1, "bc");
	struct buf blob = {0}, blob2 = {0}, back = {0};
	uint8_t key[PRIVACY_KEY_LEN];

	data_key(key, 4);
	ck_assert_int_eq(privacy_encrypt(key, &ad, (const uint8_t *)"x", 1, &blob), 0);
	ck_assert_int_eq(privacy_decrypt(key, &other_subject, blob.data, blob.len, &back),
			 -EBADMSG);
	ck_assert_int_eq(privacy_decrypt(key, &shorter_subject, blob.data, blob.len, &back),
			 -EBADMSG);
	ck_assert_int_eq(privacy_decrypt(key, &other_field, blob.data, blob.len, &back), -EBADMSG);
	/* the parts are length-prefixed: moving a byte from subject to field changes the AD */
	ck_assert_int_eq(privacy_encrypt(key, &ab_c, (const uint8_t *)"x", 1, &blob2), 0);
	ck_assert_int_eq(privacy_decrypt(key, &a_bc, blob2.data, blob2.len, &back), -EBADMSG);
	ck_assert_int_eq(privacy_decrypt(key, &ab_c, blob2.data, blob2.len, &back), 0);
	buf_free(&blob);
	buf_free(&blob2);
	buf_free(&back);
}
END_TEST

START_TEST(test_wrong_key_rejected)
{
	struct privacy_ad ad = ad_of(subject_a, sizeof(subject_a), "ip");
	struct buf blob = {0}, back = {0};
	uint8_t key[PRIVACY_KEY_LEN], other[PRIVACY_KEY_LEN];

	data_key(key, 5);
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	ck_assert_int_eq(privacy_encrypt(key, &ad, (const uint8_t *)"secret", 6, &blob), 0);
	ck_assert_int_eq(privacy_decrypt(other, &ad, blob.data, blob.len, &back), -EBADMSG);
	ck_assert_uint_eq(back.len, 0);
	buf_free(&blob);
	buf_free(&back);
}
END_TEST

START_TEST(test_bad_arguments)
{
	static const char long_field[] =
	    "a234567890123456789012345678901234567890123456789012345678901234x";
	uint8_t key[PRIVACY_KEY_LEN], big[256] = {0};
	struct privacy_ad bad[] = {
	    ad_of(subject_a, 0, "ip"),	  ad_of(NULL, 32, "ip"),
	    ad_of(big, 256, "ip"),	  ad_of(subject_a, 32, ""),
	    ad_of(subject_a, 32, NULL),	  ad_of(subject_a, 32, "a b"),
	    ad_of(subject_a, 32, "a\tb"), ad_of(subject_a, 32, long_field),
	};
	struct privacy_ad good = ad_of(big, 255, long_field + 1);
	struct buf out = {0};

	data_key(key, 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(privacy_encrypt(key, &bad[i], (const uint8_t *)"x", 1, &out),
				 -EINVAL);
		ck_assert_int_eq(privacy_decrypt(key, &bad[i], big, 64, &out), -EINVAL);
	}
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(privacy_encrypt(key, &good, NULL, 1, &out), -EINVAL);
	ck_assert_int_eq(privacy_encrypt(key, &good, NULL, 0, &out), 0);
	ck_assert_uint_eq(out.len, PRIVACY_FIELD_OVERHEAD);
	buf_free(&out);
}
END_TEST

/* ---- Wrapped data keys ---------------------------------------------------------------------- */

START_TEST(test_keyring_versions)
{
	struct privacy_keyring ring = ring_of("# master keys\n2 " KEY2_HEX "\n\n1 " KEY1_HEX "\n");
	struct privacy_keyring bad;
	char err[128] = "";

	ck_assert_uint_eq(ring.n, 2);
	ck_assert_uint_eq(privacy_keyring_active(&ring)->version, 2);
	ck_assert_ptr_nonnull(privacy_keyring_find(&ring, 1));
	ck_assert_ptr_null(privacy_keyring_find(&ring, 3));
	ck_assert_int_eq(
	    privacy_keyring_parse("1 " KEY1_HEX "\n1 " KEY2_HEX "\n", 136, &bad, err, sizeof(err)),
	    -EINVAL);
	ck_assert_str_eq(err, "line 2: duplicate key version");
	ck_assert_int_eq(privacy_keyring_parse("1 abc\n", 6, &bad, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	ck_assert_int_eq(privacy_keyring_parse("# none\n", 7, &bad, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "no key in the file");
	privacy_keyring_clear(&ring);
	ck_assert_uint_eq(ring.n, 0);
	ck_assert_ptr_null(privacy_keyring_active(&ring));
}
END_TEST

START_TEST(test_wrap_unwrap)
{
	struct privacy_keyring ring = ring_of("1 " KEY1_HEX "\n2 " KEY2_HEX "\n");
	struct privacy_keyring only1 = ring_of("1 " KEY1_HEX "\n");
	uint8_t dk[PRIVACY_KEY_LEN], back[PRIVACY_KEY_LEN], w1[PRIVACY_WRAPPED_LEN],
	    w2[PRIVACY_WRAPPED_LEN], again[PRIVACY_WRAPPED_LEN];

	ck_assert_int_eq(privacy_data_key_new(dk), 0);
	ck_assert_int_eq(privacy_wrap(privacy_keyring_find(&ring, 1), dk, w1), 0);
	ck_assert_int_eq(privacy_wrap(privacy_keyring_active(&ring), dk, w2), 0);
	ck_assert_uint_eq(privacy_wrapped_version(w1, sizeof(w1)), 1);
	ck_assert_uint_eq(privacy_wrapped_version(w2, sizeof(w2)), 2);
	ck_assert_uint_eq(privacy_wrapped_version(w2, sizeof(w2) - 1), 0);
	ck_assert_int_eq(privacy_unwrap(&ring, w1, sizeof(w1), back), 0);
	ck_assert_int_eq(memcmp(back, dk, sizeof(dk)), 0);
	ck_assert_int_eq(privacy_unwrap(&ring, w2, sizeof(w2), back), 0);
	ck_assert_int_eq(memcmp(back, dk, sizeof(dk)), 0);
	/* a ring without the recorded version cannot unwrap */
	ck_assert_int_eq(privacy_unwrap(&only1, w2, sizeof(w2), back), -ENOKEY);
	/* fresh nonces: the same key wrapped twice differs */
	ck_assert_int_eq(privacy_wrap(privacy_keyring_active(&ring), dk, again), 0);
	ck_assert_int_ne(memcmp(again, w2, sizeof(w2)), 0);
	privacy_keyring_clear(&ring);
	privacy_keyring_clear(&only1);
}
END_TEST

/* Any changed byte is refused; changing the recorded version to another key's fails the tag. */
START_TEST(test_wrap_tampering_rejected)
{
	struct privacy_keyring ring = ring_of("1 " KEY1_HEX "\n2 " KEY2_HEX "\n");
	uint8_t dk[PRIVACY_KEY_LEN], back[PRIVACY_KEY_LEN], w[PRIVACY_WRAPPED_LEN];

	data_key(dk, 0x42);
	ck_assert_int_eq(privacy_wrap(privacy_keyring_find(&ring, 1), dk, w), 0);
	for (size_t i = 0; i < sizeof(w); i++) {
		int rc;

		w[i] ^= 0x01;
		rc = privacy_unwrap(&ring, w, sizeof(w), back);
		ck_assert_msg(rc == -EBADMSG || rc == -ENOKEY, "byte %zu: %d", i, rc);
		ck_assert_msg(i != 4 || rc == -EBADMSG, "version 1 -> 0 must be malformed");
		w[i] ^= 0x01;
	}
	w[4] = 2; /* a key that exists, but the header is authenticated */
	ck_assert_int_eq(privacy_unwrap(&ring, w, sizeof(w), back), -EBADMSG);
	for (size_t i = 0; i < sizeof(back); i++)
		ck_assert_uint_eq(back[i], 0);
	w[4] = 1;
	ck_assert_int_eq(privacy_unwrap(&ring, w, sizeof(w) - 1, back), -EBADMSG);
	ck_assert_int_eq(privacy_unwrap(&ring, w, sizeof(w), back), 0);
	privacy_keyring_clear(&ring);
}
END_TEST

/* Rotation: a data key rewrapped under a new master key still opens the fields it encrypted, and
 * the old master key can then be retired. */
START_TEST(test_rewrap_rotation)
{
	struct privacy_keyring old = ring_of("1 " KEY1_HEX "\n");
	struct privacy_keyring both = ring_of("1 " KEY1_HEX "\n3 " KEY3_HEX "\n");
	struct privacy_keyring only3 = ring_of("3 " KEY3_HEX "\n");
	struct privacy_ad ad = ad_of(subject_a, sizeof(subject_a), "ip");
	uint8_t dk[PRIVACY_KEY_LEN], back[PRIVACY_KEY_LEN], w1[PRIVACY_WRAPPED_LEN],
	    w3[PRIVACY_WRAPPED_LEN], w3b[PRIVACY_WRAPPED_LEN];
	struct buf field = {0}, clear = {0};

	ck_assert_int_eq(privacy_data_key_new(dk), 0);
	ck_assert_int_eq(privacy_encrypt(dk, &ad, (const uint8_t *)"198.51.100.0/24", 15, &field),
			 0);
	ck_assert_int_eq(privacy_wrap(privacy_keyring_active(&old), dk, w1), 0);
	ck_assert_uint_eq(privacy_keyring_active(&both)->version, 3);
	ck_assert_int_eq(privacy_rewrap(&both, privacy_keyring_active(&both), w1, sizeof(w1), w3),
			 0);
	ck_assert_uint_eq(privacy_wrapped_version(w3, sizeof(w3)), 3);
	ck_assert_int_eq(privacy_unwrap(&only3, w3, sizeof(w3), back), 0);
	ck_assert_int_eq(privacy_decrypt(back, &ad, field.data, field.len, &clear), 0);
	ck_assert_uint_eq(clear.len, 15);
	ck_assert_int_eq(memcmp(clear.data, "198.51.100.0/24", 15), 0);
	/* the old ring alone cannot rewrap what it does not hold */
	ck_assert_int_eq(privacy_rewrap(&old, privacy_keyring_active(&old), w3, sizeof(w3), w3b),
			 -ENOKEY);
	/* rewrapping is idempotent in effect: version 3 to version 3 */
	ck_assert_int_eq(
	    privacy_rewrap(&only3, privacy_keyring_active(&only3), w3, sizeof(w3), w3b), 0);
	ck_assert_int_eq(privacy_unwrap(&both, w3b, sizeof(w3b), back), 0);
	ck_assert_int_eq(memcmp(back, dk, sizeof(dk)), 0);
	buf_free(&field);
	buf_free(&clear);
	privacy_keyring_clear(&old);
	privacy_keyring_clear(&both);
	privacy_keyring_clear(&only3);
}
END_TEST

/* ---- The master key file ------------------------------------------------------------------ */

static char tmpdir[64];
static char keyfile[128];

static void file_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_privacy.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(keyfile, sizeof(keyfile), "%s/master.key", tmpdir);
}

static void file_teardown(void)
{
	unlink(keyfile);
	rmdir(tmpdir);
}

START_TEST(test_keyfile_add_and_load)
{
	struct privacy_keyring ring;
	struct stat st;
	char err[256] = "";
	uint32_t version = 0;

	ck_assert_int_eq(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)), -ENOENT);
	ck_assert_msg(privacy_keyfile_add(keyfile, &version, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(version, 1);
	ck_assert_int_eq(stat(keyfile, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_msg(privacy_keyfile_add(keyfile, &version, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(version, 2);
	ck_assert_msg(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ring.n, 2);
	ck_assert_uint_eq(privacy_keyring_active(&ring)->version, 2);
	ck_assert_int_ne(memcmp(ring.keys[0].key, ring.keys[1].key, PRIVACY_KEY_LEN), 0);
	privacy_keyring_clear(&ring);
}
END_TEST

/* A file whose last line lacks its newline still gets the new key on a line of its own. */
START_TEST(test_keyfile_append_without_newline)
{
	struct privacy_keyring ring;
	char err[256] = "";
	uint32_t version = 0;
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "7 " KEY1_HEX, 66), 66);
	close(fd);
	ck_assert_msg(privacy_keyfile_add(keyfile, &version, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(version, 8);
	ck_assert_msg(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ring.n, 2);
	ck_assert_uint_eq(privacy_keyring_active(&ring)->version, 8);
	ck_assert_ptr_nonnull(privacy_keyring_find(&ring, 7));
	privacy_keyring_clear(&ring);
}
END_TEST

START_TEST(test_keyfile_permissions_refused)
{
	struct privacy_keyring ring;
	char err[256] = "";
	uint32_t version = 0;

	ck_assert_int_eq(privacy_keyfile_add(keyfile, &version, err, sizeof(err)), 0);
	ck_assert_int_eq(chmod(keyfile, 0644), 0);
	ck_assert_int_eq(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "mode 644 lets group or others read it; chmod 600"));
	ck_assert_ptr_nonnull(strstr(err, keyfile));
	ck_assert_int_eq(privacy_keyfile_add(keyfile, &version, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(keyfile, 0640), 0);
	ck_assert_int_eq(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(keyfile, 0600), 0);
	ck_assert_int_eq(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)), 0);
	privacy_keyring_clear(&ring);
}
END_TEST

START_TEST(test_keyfile_bad_content)
{
	struct privacy_keyring ring;
	char err[256] = "";
	int fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "1 " KEY1_HEX "\nnot a key\n", 77), 77);
	close(fd);
	ck_assert_int_eq(privacy_keyfile_load(keyfile, &ring, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, keyfile));
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
}
END_TEST

/* ---- Minimisation --------------------------------------------------------------------------- */

START_TEST(test_ip_truncation)
{
	static const char *const table[][2] = {
	    {"203.0.113.77", "203.0.113.0/24"},
	    {"10.0.0.1", "10.0.0.0/24"},
	    {"0.0.0.0", "0.0.0.0/24"},
	    {"255.255.255.255", "255.255.255.0/24"},
	    {"2001:db8:1234:5678::1", "2001:db8:1234::/48"},
	    {"2001:0DB8:1234:FFFF:FFFF:FFFF:FFFF:FFFF", "2001:db8:1234::/48"},
	    {"2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"},
	    {"2001:db8::", "2001:db8::/48"},
	    {"::1", "::/48"},
	    {"fe80::1", "fe80::/48"},
	    {"::ffff:203.0.113.77", "203.0.113.0/24"},
	    {"::ffff:cb00:714d", "203.0.113.0/24"},
	    {"::FFFF:10.1.2.3", "10.1.2.0/24"},
	};
	char out[PRIVACY_IP_MAX], err[128];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(
		    privacy_ip_truncate(table[i][0], out, sizeof(out), err, sizeof(err)) == 0,
		    "%s: %s", table[i][0], err);
		ck_assert_str_eq(out, table[i][1]);
	}
}
END_TEST

START_TEST(test_ip_invalid)
{
	static const char *const table[][2] = {
	    {"", "empty address"},
	    {"203.0.113", "not a valid IPv4 address"},
	    {"203.0.113.256", "not a valid IPv4 address"},
	    {" 10.0.0.1", "not a valid IPv4 address"},
	    {"example.com", "not a valid IPv4 address"},
	    {"2001:db8::1::2", "not a valid IPv6 address"},
	    {"[::1]", "not a valid IPv6 address"},
	    {"2001:db8:1:2:3:4:5:6:7", "not a valid IPv6 address"},
	    {"fe80::1%eth0", "an IPv6 zone index is not an address"},
	    {"10.0.0.0/8", "a prefix, not an address"},
	    {"2001:db8:1234:5678:9abc:def0:1234:5678:9abc:def0", "too long to be an IP address"},
	};
	char out[PRIVACY_IP_MAX], err[128], small[8];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ck_assert_msg(
		    privacy_ip_truncate(table[i][0], out, sizeof(out), err, sizeof(err)) == -EINVAL,
		    "accepted %s", table[i][0]);
		ck_assert_str_eq(err, table[i][1]);
		ck_assert_str_eq(out, "");
	}
	ck_assert_int_eq(privacy_ip_truncate(NULL, out, sizeof(out), err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "empty address");
	ck_assert_int_eq(privacy_ip_truncate("203.0.113.7", small, sizeof(small), err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "output buffer too small");
}
END_TEST

START_TEST(test_user_agents)
{
	static const char *const table[][2] = {
	    /* Chrome: Windows, Android, iOS */
	    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	     "Chrome/120.0.0.0 Safari/537.36",
	     "Chrome 120"},
	    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
	     "Chrome/120.0.6099.144 Mobile Safari/537.36",
	     "Chrome 120"},
	    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
	     "like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
	     "Chrome 120"},
	    /* Edge: desktop, Android */
	    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	     "Edge 120"},
	    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
	     "Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
	     "Edge 120"},
	    /* Firefox: Windows, Linux, iOS */
	    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
	     "Firefox 121"},
	    {"Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0",
	     "Firefox 115"},
	    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
	     "like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
	     "Firefox 121"},
	    /* Safari: macOS, iOS */
	    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
	     "Gecko) Version/17.2 Safari/605.1.15",
	     "Safari 17"},
	    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
	     "(KHTML, "
	     "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
	     "Safari 17"},
	    /* Opera: Chromium-based, and Presto */
	    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	     "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
	     "Opera 106"},
	    {"Opera/9.80 (Windows NT 6.0) Presto/2.12.388 Version/12.14", "Opera 12"},
	    /* Samsung Internet */
	    {"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like "
	     "Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
	     "Samsung Internet 23"},
	    /* tools and crawlers */
	    {"curl/8.5.0", "curl 8"},
	    {"Wget/1.21.4", "Wget 1"},
	    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	     "Googlebot 2"},
	    {"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
	     "like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
	     "+http://www.google.com/bot.html)",
	     "Googlebot 2"},
	    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	     "bingbot 2"},
	    {"DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "bot"},
	    /* everything else */
	    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
	     "like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/443.0.0.32.112]",
	     "other"},
	    {"python-requests/2.31.0", "other"},
	    {"Firefox/", "Firefox"},
	    {"curl/123456789", "curl"},
	    {"", "other"},
	};
	char out[PRIVACY_UA_MAX], small[PRIVACY_UA_MAX - 1];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		ck_assert_int_eq(privacy_user_agent(table[i][0], out, sizeof(out)), 0);
		ck_assert_msg(strcmp(out, table[i][1]) == 0, "%s: got \"%s\", want \"%s\"",
			      table[i][0], out, table[i][1]);
	}
	ck_assert_int_eq(privacy_user_agent(NULL, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "other");
	ck_assert_int_eq(privacy_user_agent("curl/8.5.0", small, sizeof(small)), -EINVAL);
}
END_TEST

static Suite *privacy_suite(void)
{
	Suite *s = suite_create("privacy");
	TCase *tc = tcase_create("crypto");
	TCase *files = tcase_create("keyfile");
	TCase *min = tcase_create("minimise");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_appends_and_fresh_nonces);
	tcase_add_test(tc, test_tampering_rejected);
	tcase_add_test(tc, test_wrong_ad_rejected);
	tcase_add_test(tc, test_wrong_key_rejected);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_keyring_versions);
	tcase_add_test(tc, test_wrap_unwrap);
	tcase_add_test(tc, test_wrap_tampering_rejected);
	tcase_add_test(tc, test_rewrap_rotation);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(files, file_setup, file_teardown);
	tcase_add_test(files, test_keyfile_add_and_load);
	tcase_add_test(files, test_keyfile_append_without_newline);
	tcase_add_test(files, test_keyfile_permissions_refused);
	tcase_add_test(files, test_keyfile_bad_content);
	suite_add_tcase(s, files);
	tcase_add_test(min, test_ip_truncation);
	tcase_add_test(min, test_ip_invalid);
	tcase_add_test(min, test_user_agents);
	suite_add_tcase(s, min);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(privacy_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
