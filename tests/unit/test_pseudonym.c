/* Unit tests of subject pseudonyms: key file parsing, normalisation, the HMAC against values
 * computed with openssl(1), and event_pseudonymize. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"

#define KEY1_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY2_HEX "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"

/* printf 'email:alice@example.com' | openssl dgst -sha256 -mac HMAC -macopt hexkey:KEY1_HEX */
#define KAT_EMAIL_KEY1 "d2f50c440d4fde50e73eaf12d5bc7e67022c85e3fad2a755f90b08f79a3fe03d"
/* The same message under KEY2_HEX. */
#define KAT_EMAIL_KEY2 "4c80cc3b7b68754758a1975a14f60ae63e5f6d94397d84f7bdd7a6fdc29a3a94"
/* printf 'account_id:u_123' | ... hexkey:KEY1_HEX */
#define KAT_ACCOUNT_KEY1 "bbb9d830e82c24cf41ddf99b35b04f20a43829865bc10fae844ef1d6931ae148"
/* printf 'device_id:dev-9' | ... hexkey:KEY1_HEX */
#define KAT_DEVICE_KEY1 "bbc1affe258843324f09037f21d38f38be48d9f50ed67159d357e6ab0ede1203"

#define EMAIL CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL
#define ACCOUNT CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID
#define DEVICE CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID

static struct subject_keyring ring_of(const char *text)
{
	struct subject_keyring ring;
	char err[128] = "";

	ck_assert_msg(subject_keyring_parse(text, strlen(text), &ring, err, sizeof(err)) == 0,
		      "keyring: %s", err);
	return ring;
}

static struct subject_key key_of(const char *hex, uint32_t version)
{
	struct subject_key key = { .version = version };

	ck_assert_int_eq(hex_decode(hex, strlen(hex), key.key, sizeof(key.key)), 0);
	return key;
}

static void assert_hex(const uint8_t *mac, size_t len, const char *want)
{
	char hex[2 * EVENT_HASH_LEN + 1];

	ck_assert_uint_eq(len, EVENT_HASH_LEN);
	hex_encode(mac, len, hex);
	ck_assert_str_eq(hex, want);
}

/* The error message of a bad key file, which must be refused. */
static void bad_keyring(const char *text, const char *want_in_err)
{
	struct subject_keyring ring;
	char err[128] = "";

	ck_assert_int_eq(subject_keyring_parse(text, strlen(text), &ring, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, want_in_err) != NULL, "error \"%s\" lacks \"%s\"", err,
		      want_in_err);
	ck_assert_uint_eq(ring.n, 0);
}

static Consentd__V1__Event *sample_event(const char *subject_json)
{
	char text[512];
	struct event_error err = { 0 };
	json_t *j;
	Consentd__V1__Event *ev;

	snprintf(text, sizeof(text),
		 "{\"event_id\":\"5f0c2b9e-8a1d-4c3e-9f00-123456789abc\","
		 "\"occurred_at\":\"2026-11-28T10:15:00Z\",\"subject\":%s,"
		 "\"data_rights\":{\"request_id\":\"dsr-1\",\"right\":\"access\","
		 "\"stage\":\"received\"}}",
		 subject_json);
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ev = event_from_json(j, &err);
	json_decref(j);
	ck_assert_msg(ev != NULL, "event_from_json: %s", err.message);
	return ev;
}

START_TEST(test_known_answers)
{
	struct subject_key k1 = key_of(KEY1_HEX, 1), k2 = key_of(KEY2_HEX, 2);
	uint8_t mac[EVENT_HASH_LEN];

	ck_assert_int_eq(subject_pseudonym(&k1, EMAIL, "alice@example.com", mac), 0);
	assert_hex(mac, sizeof(mac), KAT_EMAIL_KEY1);
	ck_assert_int_eq(subject_pseudonym(&k2, EMAIL, "alice@example.com", mac), 0);
	assert_hex(mac, sizeof(mac), KAT_EMAIL_KEY2);
	ck_assert_int_eq(subject_pseudonym(&k1, ACCOUNT, "u_123", mac), 0);
	assert_hex(mac, sizeof(mac), KAT_ACCOUNT_KEY1);
	ck_assert_int_eq(subject_pseudonym(&k1, DEVICE, "dev-9", mac), 0);
	assert_hex(mac, sizeof(mac), KAT_DEVICE_KEY1);
	ck_assert_int_eq(subject_pseudonym(&k1, 0, "u_123", mac), -EINVAL);
}
END_TEST

START_TEST(test_kinds_are_separated)
{
	struct subject_key k = key_of(KEY1_HEX, 1);
	uint8_t a[EVENT_HASH_LEN], b[EVENT_HASH_LEN], c[EVENT_HASH_LEN];

	ck_assert_int_eq(subject_pseudonym(&k, ACCOUNT, "same-value", a), 0);
	ck_assert_int_eq(subject_pseudonym(&k, EMAIL, "same-value", b), 0);
	ck_assert_int_eq(subject_pseudonym(&k, DEVICE, "same-value", c), 0);
	ck_assert_mem_ne(a, b, sizeof(a));
	ck_assert_mem_ne(a, c, sizeof(a));
	ck_assert_mem_ne(b, c, sizeof(b));
}
END_TEST

START_TEST(test_normalize)
{
	char out[64];
	struct subject_key k = key_of(KEY1_HEX, 1);
	uint8_t mac[EVENT_HASH_LEN];

	ck_assert_int_eq(subject_normalize(EMAIL, "  Alice@Example.COM \t\n", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "alice@example.com");
	ck_assert_int_eq(subject_pseudonym(&k, EMAIL, out, mac), 0);
	assert_hex(mac, sizeof(mac), KAT_EMAIL_KEY1);
	/* Only email is case-insensitive. */
	ck_assert_int_eq(subject_normalize(ACCOUNT, " U_123 ", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "U_123");
	ck_assert_int_eq(subject_normalize(DEVICE, "Dev 9", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "Dev 9");
}
END_TEST

START_TEST(test_normalize_refuses)
{
	char out[8];

	ck_assert_int_eq(subject_normalize(EMAIL, "", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(subject_normalize(EMAIL, " \t ", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(subject_normalize(ACCOUNT, "12345678", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(subject_normalize(ACCOUNT, " 1234567 ", out, sizeof(out)), 0);
	ck_assert_int_eq(subject_normalize(0, "x", out, sizeof(out)), -EINVAL);
}
END_TEST

START_TEST(test_keyring_versions)
{
	struct subject_keyring ring = ring_of("# subject keys\n"
					      "\n"
					      "3 " KEY1_HEX "\n"
					      "  7\t" KEY2_HEX "  \r\n"
					      "5 " KEY1_HEX);

	ck_assert_uint_eq(ring.n, 3);
	ck_assert_uint_eq(ring.keys[0].version, 3);
	ck_assert_uint_eq(ring.keys[2].version, 5);
	ck_assert_uint_eq(ring.active, 1);
	ck_assert_uint_eq(ring.keys[ring.active].version, 7);
	ck_assert_uint_eq(ring.keys[1].key[0], 0x1f);
}
END_TEST

START_TEST(test_keyring_bare_key)
{
	struct subject_keyring ring = ring_of(KEY1_HEX "\n");

	ck_assert_uint_eq(ring.n, 1);
	ck_assert_uint_eq(ring.active, 0);
	ck_assert_uint_eq(ring.keys[0].version, 1);
	ck_assert_uint_eq(ring.keys[0].key[31], 0x1f);
}
END_TEST

START_TEST(test_keyring_bad)
{
	char many[40 * 80] = "";

	bad_keyring("", "no key");
	bad_keyring("# only a comment\n\n", "no key");
	bad_keyring("1 " KEY1_HEX "\n2 " KEY1_HEX "00\n", "line 2");
	bad_keyring("1 " KEY1_HEX "\n\n# c\n2 " KEY1_HEX "x\n", "line 4");
	bad_keyring("1 " KEY1_HEX "\n2 " KEY2_HEX "\n2 " KEY1_HEX "\n", "line 3");
	bad_keyring(KEY1_HEX "\n1 " KEY2_HEX "\n", "line 2");
	bad_keyring("0 " KEY1_HEX "\n", "line 1");
	bad_keyring("v1 " KEY1_HEX "\n", "line 1");
	bad_keyring("4294967296 " KEY1_HEX "\n", "line 1");
	bad_keyring("1 " KEY1_HEX " extra\n", "line 1");
	for (int v = 1; v <= SUBJECT_KEYS_MAX + 1; v++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%d %s\n", v, KEY1_HEX);
	bad_keyring(many, "line 17");
}
END_TEST

START_TEST(test_keyring_max)
{
	char many[40 * 80] = "";
	struct subject_keyring ring;

	for (int v = 1; v <= SUBJECT_KEYS_MAX; v++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%d %s\n", v, KEY2_HEX);
	ring = ring_of(many);
	ck_assert_uint_eq(ring.n, SUBJECT_KEYS_MAX);
	ck_assert_uint_eq(ring.keys[ring.active].version, SUBJECT_KEYS_MAX);
}
END_TEST

START_TEST(test_pseudonymize_event)
{
	struct subject_keyring ring = ring_of("1 " KEY2_HEX "\n2 " KEY1_HEX "\n");
	Consentd__V1__Event *ev = sample_event("{\"device_id\":\"dev-9\","
					       "\"email\":\" Alice@Example.com\","
					       "\"account_id\":\"u_123\"}");
	Consentd__V1__Subject *s = ev->subject;
	struct buf b = { 0 };
	json_t *j, *p;

	ck_assert_int_eq(event_pseudonymize(ev, &ring), 0);
	ck_assert_uint_eq(s->n_pseudonyms, 3);
	ck_assert_int_eq(s->pseudonyms[0]->kind, ACCOUNT);
	ck_assert_int_eq(s->pseudonyms[1]->kind, EMAIL);
	ck_assert_int_eq(s->pseudonyms[2]->kind, DEVICE);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(s->pseudonyms[i]->key_version, 2);
	assert_hex(s->pseudonyms[0]->hmac.data, s->pseudonyms[0]->hmac.len, KAT_ACCOUNT_KEY1);
	assert_hex(s->pseudonyms[1]->hmac.data, s->pseudonyms[1]->hmac.len, KAT_EMAIL_KEY1);
	assert_hex(s->pseudonyms[2]->hmac.data, s->pseudonyms[2]->hmac.len, KAT_DEVICE_KEY1);
	ck_assert_str_eq(s->account_id, "");
	ck_assert_str_eq(s->email, "");
	ck_assert_str_eq(s->device_id, "");

	/* No clear identifier reaches the encoded bytes; the JSON view shows the pseudonyms. */
	ck_assert_int_eq(event_encode(ev, &b), 0);
	ck_assert_ptr_null(memmem(b.data, b.len, "lice", 4));
	ck_assert_ptr_null(memmem(b.data, b.len, "u_123", 5));
	ck_assert_ptr_null(memmem(b.data, b.len, "dev-9", 5));
	buf_free(&b);
	j = event_to_json(ev);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "subject"), "email"));
	p = json_array_get(json_object_get(json_object_get(j, "subject"), "pseudonyms"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(p, "kind")), "email");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "key_version")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(p, "hmac")), KAT_EMAIL_KEY1);
	json_decref(j);
	event_release(ev);
}
END_TEST

START_TEST(test_pseudonymize_only_present)
{
	struct subject_keyring ring = ring_of(KEY1_HEX);
	Consentd__V1__Event *ev = sample_event("{\"email\":\"alice@example.com\"}");

	ck_assert_int_eq(event_pseudonymize(ev, &ring), 0);
	ck_assert_uint_eq(ev->subject->n_pseudonyms, 1);
	ck_assert_int_eq(ev->subject->pseudonyms[0]->kind, EMAIL);
	ck_assert_uint_eq(ev->subject->pseudonyms[0]->key_version, 1);
	assert_hex(ev->subject->pseudonyms[0]->hmac.data, ev->subject->pseudonyms[0]->hmac.len,
		   KAT_EMAIL_KEY1);
	event_release(ev);
}
END_TEST

START_TEST(test_pseudonymize_refuses)
{
	struct subject_keyring empty = { 0 }, ring = ring_of(KEY1_HEX);
	Consentd__V1__Event *ev = sample_event("{\"account_id\":\"u_1\",\"email\":\"  \"}");

	ck_assert_int_eq(event_pseudonymize(ev, &empty), -EINVAL);
	ck_assert_str_eq(ev->subject->account_id, "u_1");
	/* A blank identifier has no pseudonym; nothing changes, not even account_id. */
	ck_assert_int_eq(event_pseudonymize(ev, &ring), -EINVAL);
	ck_assert_str_eq(ev->subject->account_id, "u_1");
	ck_assert_uint_eq(ev->subject->n_pseudonyms, 0);
	event_release(ev);
}
END_TEST

static Suite *pseudonym_suite(void)
{
	Suite *s = suite_create("pseudonym");
	TCase *tc = tcase_create("pseudonym");

	tcase_add_test(tc, test_known_answers);
	tcase_add_test(tc, test_kinds_are_separated);
	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_normalize_refuses);
	tcase_add_test(tc, test_keyring_versions);
	tcase_add_test(tc, test_keyring_bare_key);
	tcase_add_test(tc, test_keyring_bad);
	tcase_add_test(tc, test_keyring_max);
	tcase_add_test(tc, test_pseudonymize_event);
	tcase_add_test(tc, test_pseudonymize_only_present);
	tcase_add_test(tc, test_pseudonymize_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pseudonym_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
