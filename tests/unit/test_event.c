/* Unit tests of the event module: JSON mapping, every validation rule with its status, code and
 * field, canonical form and the protobuf round trip. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"

#define T0 INT64_C(1795860900000000) /* 2026-11-28T10:15:00Z, occurred_at of the samples */
#define NOW (T0 + INT64_C(3600000000))
#define SKEW INT64_C(300000000)
#define SHA_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define UUID "5f0c2b9e-8a1d-4c3e-9f00-123456789abc"

static char *purposes[] = { "essential", "analytics", "advertising", "functional" };
static char *vendors[] = { "google_analytics_4", "google_tag_manager", "meta_pixel" };
static const struct event_policy policy = { purposes, 4, vendors, 3, SKEW };

static const char CONSENT[] =
	"{\"event_id\":\"" UUID "\",\"occurred_at\":\"2026-11-28T10:15:00Z\","
	"\"tenant\":\"autogram\",\"subject\":{\"account_id\":\"u_123\","
	"\"email\":\"alice@example.com\"},\"consent\":{\"action\":\"customize\","
	"\"purposes\":{\"essential\":true,\"analytics\":false,\"advertising\":false,"
	"\"functional\":true},\"vendors\":{\"google_analytics_4\":false},"
	"\"notice\":{\"policy_version\":\"2026-11-01\",\"banner_version\":\"b7\","
	"\"language\":\"en\",\"content_sha256\":\"" SHA_HEX "\"},\"surface\":\"banner\","
	"\"gpc\":false}}";

/* CONSENT with every object's keys in another order. */
static const char CONSENT_REORDERED[] =
	"{\"consent\":{\"gpc\":false,\"surface\":\"banner\","
	"\"notice\":{\"content_sha256\":\"" SHA_HEX "\",\"language\":\"en\","
	"\"banner_version\":\"b7\",\"policy_version\":\"2026-11-01\"},"
	"\"vendors\":{\"google_analytics_4\":false},\"purposes\":{\"functional\":true,"
	"\"advertising\":false,\"analytics\":false,\"essential\":true},\"action\":\"customize\"},"
	"\"subject\":{\"email\":\"alice@example.com\",\"account_id\":\"u_123\"},"
	"\"tenant\":\"autogram\",\"occurred_at\":\"2026-11-28T10:15:00Z\","
	"\"event_id\":\"" UUID "\"}";

static const char DATA_RIGHTS[] =
	"{\"event_id\":\"" UUID "\",\"occurred_at\":\"2026-11-28T10:15:00Z\","
	"\"subject\":{\"email\":\"alice@example.com\"},\"data_rights\":{\"request_id\":\"dsr-1\","
	"\"right\":\"erasure\",\"stage\":\"received\",\"channel\":\"email\","
	"\"reason\":\"asked by mail\",\"actor\":\"support:bob\",\"jurisdiction\":\"gdpr\"}}";

static json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &jerr);

	ck_assert_msg(j != NULL, "test JSON does not parse: %s", jerr.text);
	return j;
}

/* Sets (v) or deletes (v == NULL) the member at a dotted path, creating objects on the way. */
static json_t *set(json_t *root, const char *path, json_t *v)
{
	char buf[128], *p = buf, *dot;
	json_t *obj = root;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strchr(p, '.'))) {
		json_t *next;

		*dot = '\0';
		next = json_object_get(obj, p);
		if (!next) {
			next = json_object();
			json_object_set_new(obj, p, next);
		}
		obj = next;
		p = dot + 1;
	}
	if (v)
		json_object_set_new(obj, p, v);
	else
		json_object_del(obj, p);
	return root;
}

static json_t *string_of_len(size_t len, char fill, const char *suffix)
{
	size_t n = len - strlen(suffix);
	char *s = malloc(len + 1);
	json_t *j;

	memset(s, fill, n);
	strcpy(s + n, suffix);
	j = json_string(s);
	free(s);
	return j;
}

static void check_err(const struct event_error *err, int status, const char *code,
		      const char *field)
{
	ck_assert_int_eq(err->status, status);
	ck_assert_str_eq(err->code, code);
	ck_assert_str_eq(err->field, field);
	ck_assert_msg(strstr(err->message, *field ? field : "event") != NULL,
		      "message \"%s\" does not name the field", err->message);
}

/* event_from_json must refuse j (consumed). */
static void reject_json(json_t *j, int status, const char *code, const char *field)
{
	struct event_error err = { 0 };
	Consentd__V1__Event *ev = event_from_json(j, &err);

	json_decref(j);
	ck_assert_ptr_null(ev);
	check_err(&err, status, code, field);
}

static Consentd__V1__Event *from_json(json_t *j)
{
	struct event_error err = { 0 };
	Consentd__V1__Event *ev = event_from_json(j, &err);

	json_decref(j);
	ck_assert_msg(ev != NULL, "event_from_json: %d %s %s", err.status, err.code, err.message);
	return ev;
}

/* event_validate must refuse ev (freed). */
static void reject_event(Consentd__V1__Event *ev, const struct event_policy *pol,
			 const char *code, const char *field)
{
	struct event_error err = { 0 };

	ck_assert_int_eq(event_validate(ev, pol, NOW, &err), -EINVAL);
	check_err(&err, 422, code, field);
	event_release(ev);
}

static void reject(json_t *j, const char *code, const char *field)
{
	reject_event(from_json(j), &policy, code, field);
}

static Consentd__V1__Event *valid_event(Consentd__V1__Event *ev, const struct event_policy *pol)
{
	struct event_error err = { 0 };

	ck_assert_msg(event_validate(ev, pol, NOW, &err) == 0, "event_validate: %s %s %s",
		      err.code, err.field, err.message);
	return ev;
}

static Consentd__V1__Event *valid_pol(json_t *j, const struct event_policy *pol)
{
	return valid_event(from_json(j), pol);
}

static Consentd__V1__Event *valid(json_t *j)
{
	return valid_pol(j, &policy);
}

static void accept(json_t *j)
{
	event_release(valid(j));
}

/* Encodes and decodes ev (freed): the event as it arrives in an application/x-protobuf body. */
static Consentd__V1__Event *as_protobuf(Consentd__V1__Event *ev)
{
	struct buf b = { 0 };
	Consentd__V1__Event *out;

	ck_assert_int_eq(event_encode(ev, &b), 0);
	event_release(ev);
	out = event_decode(b.data, b.len);
	buf_free(&b);
	ck_assert_ptr_nonnull(out);
	return out;
}

static void set_str(char **dst, const char *s)
{
	if (*dst != protobuf_c_empty_string)
		free(*dst);
	*dst = strdup(s);
}

static struct buf encoded(const Consentd__V1__Event *ev)
{
	struct buf b = { 0 };

	ck_assert_int_eq(event_encode(ev, &b), 0);
	ck_assert_uint_gt(b.len, 0);
	return b;
}

static void assert_same_bytes(Consentd__V1__Event *a, Consentd__V1__Event *b)
{
	struct buf x = encoded(a), y = encoded(b);

	ck_assert_uint_eq(x.len, y.len);
	ck_assert_mem_eq(x.data, y.data, x.len);
	buf_free(&x);
	buf_free(&y);
	event_release(a);
	event_release(b);
}

/* "name=1,other=0" for the purposes of ev, in stored order. */
static void assert_purposes(const Consentd__V1__Event *ev, const char *want)
{
	char got[256] = "";

	for (size_t i = 0; i < ev->consent->n_purposes; i++) {
		const Consentd__V1__PurposeDecision *p = ev->consent->purposes[i];

		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%d", i ? "," : "",
			 p->purpose, p->granted ? 1 : 0);
	}
	ck_assert_str_eq(got, want);
}

/* ---- mapping ----------------------------------------------------------------------------- */

START_TEST(test_round_trip_consent)
{
	Consentd__V1__Event *ev = valid(load(CONSENT)), *back;
	json_t *want = load("{\"event_id\":\"" UUID "\",\"occurred_at\":\"2026-11-28T10:15:00Z\","
			    "\"tenant\":\"autogram\",\"subject\":{\"account_id\":\"u_123\","
			    "\"email\":\"alice@example.com\"},"
			    "\"consent\":{\"action\":\"customize\","
			    "\"purposes\":{\"advertising\":false,\"analytics\":false,"
			    "\"essential\":true,\"functional\":true},"
			    "\"vendors\":{\"google_analytics_4\":false},\"notice\":{"
			    "\"policy_version\":\"2026-11-01\",\"banner_version\":\"b7\","
			    "\"language\":\"en\",\"content_sha256\":\"" SHA_HEX "\"},"
			    "\"surface\":\"banner\",\"gpc\":false}}");
	json_t *got;

	ck_assert_int_eq(ev->occurred_at, T0);
	ck_assert_uint_eq(ev->consent->notice->content_sha256.len, 32);
	ck_assert_uint_eq(ev->consent->notice->content_sha256.data[1], 0x11);
	ev = as_protobuf(ev);
	got = event_to_json(ev);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(json_equal(got, want), "to_json: %s", json_dumps(got, JSON_SORT_KEYS));
	/* The JSON view decodes back to the same bytes. */
	back = valid(got);
	json_decref(want);
	assert_same_bytes(ev, back);
}
END_TEST

START_TEST(test_round_trip_data_rights)
{
	Consentd__V1__Event *ev = as_protobuf(valid(load(DATA_RIGHTS)));
	json_t *want = load(DATA_RIGHTS), *got = event_to_json(ev);

	ck_assert_int_eq(ev->body_case, CONSENTD__V1__EVENT__BODY_DATA_RIGHTS);
	ck_assert_int_eq(ev->data_rights->right, CONSENTD__V1__RIGHT__RIGHT_ERASURE);
	ck_assert_msg(json_equal(got, want), "to_json: %s", json_dumps(got, JSON_SORT_KEYS));
	json_decref(want);
	assert_same_bytes(ev, valid(got));
}
END_TEST

START_TEST(test_occurred_at_offset_and_fraction)
{
	json_t *in = set(load(CONSENT), "occurred_at", json_string("2026-11-28T11:15:00.5+01:00"));
	Consentd__V1__Event *ev = from_json(in);
	json_t *j = event_to_json(ev);

	ck_assert_int_eq(ev->occurred_at, T0 + 500000);
	ck_assert_str_eq(json_string_value(json_object_get(j, "occurred_at")),
			 "2026-11-28T10:15:00.500000Z");
	json_decref(j);
	event_release(ev);
}
END_TEST

START_TEST(test_enum_names_both_ways)
{
	ck_assert_str_eq(event_action_name(CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_GPC),
			 "gpc");
	ck_assert_int_eq(event_action_value("accept_all"),
			 CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL);
	ck_assert_int_eq(event_right_value("automated_decision"),
			 CONSENTD__V1__RIGHT__RIGHT_AUTOMATED_DECISION);
	ck_assert_str_eq(event_stage_name(CONSENTD__V1__STAGE__STAGE_IDENTITY_VERIFIED),
			 "identity_verified");
	ck_assert_int_eq(event_channel_value("web"), CONSENTD__V1__CHANNEL__CHANNEL_WEB);
	ck_assert_str_eq(event_surface_name(CONSENTD__V1__SURFACE__SURFACE_ACCOUNT_SETTINGS),
			 "account_settings");
	ck_assert_str_eq(event_subject_kind_name(
				 CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID),
			 "device_id");
	ck_assert_ptr_null(event_action_name(0));
	ck_assert_ptr_null(event_right_name(10));
	ck_assert_int_eq(event_stage_value("unspecified"), -EINVAL);
	ck_assert_int_eq(event_surface_value("Banner"), -EINVAL);
}
END_TEST

START_TEST(test_wrong_types_are_400)
{
	reject_json(load("[1,2]"), 400, "wrong_type", "");
	reject_json(set(load(CONSENT), "event_id", json_integer(5)), 400, "wrong_type",
		    "event_id");
	reject_json(set(load(CONSENT), "occurred_at", json_integer(T0)), 400, "wrong_type",
		    "occurred_at");
	reject_json(set(load(CONSENT), "tenant", json_null()), 400, "wrong_type", "tenant");
	reject_json(set(load(CONSENT), "subject", json_string("alice")), 400, "wrong_type",
		    "subject");
	reject_json(set(load(CONSENT), "consent.purposes.analytics", json_string("no")), 400,
		    "wrong_type", "consent.purposes.analytics");
	reject_json(set(load(CONSENT), "consent.vendors", json_array()), 400, "wrong_type",
		    "consent.vendors");
	reject_json(set(load(CONSENT), "consent.gpc", json_integer(0)), 400, "wrong_type",
		    "consent.gpc");
	reject_json(set(load(CONSENT), "consent.action", json_integer(1)), 400, "wrong_type",
		    "consent.action");
	reject_json(set(load(DATA_RIGHTS), "data_rights", json_true()), 400, "wrong_type",
		    "data_rights");
}
END_TEST

START_TEST(test_unknown_fields_are_422)
{
	reject_json(set(load(CONSENT), "extra", json_true()), 422, "unknown_field", "extra");
	reject_json(set(load(CONSENT), "subject.phone", json_string("1")), 422, "unknown_field",
		    "subject.phone");
	reject_json(set(load(CONSENT), "consent.mood", json_string("x")), 422, "unknown_field",
		    "consent.mood");
	reject_json(set(load(CONSENT), "consent.notice.url", json_string("x")), 422,
		    "unknown_field", "consent.notice.url");
	reject_json(set(load(DATA_RIGHTS), "data_rights.due", json_string("x")), 422,
		    "unknown_field", "data_rights.due");
}
END_TEST

START_TEST(test_unknown_enum_names)
{
	reject_json(set(load(CONSENT), "consent.action", json_string("maybe")), 422,
		    "invalid_value", "consent.action");
	reject_json(set(load(CONSENT), "consent.surface", json_string("popup")), 422,
		    "invalid_value", "consent.surface");
	reject_json(set(load(DATA_RIGHTS), "data_rights.right", json_string("forget")), 422,
		    "invalid_value", "data_rights.right");
	reject_json(set(load(DATA_RIGHTS), "data_rights.stage", json_string("unspecified")), 422,
		    "invalid_value", "data_rights.stage");
	reject_json(set(load(DATA_RIGHTS), "data_rights.channel", json_string("fax")), 422,
		    "invalid_value", "data_rights.channel");
}
END_TEST

START_TEST(test_bad_time_and_hex)
{
	reject_json(set(load(CONSENT), "occurred_at", json_string("2026-11-28 10:15:00")), 422,
		    "invalid_value", "occurred_at");
	reject_json(set(load(CONSENT), "occurred_at", json_string("2026-02-30T10:15:00Z")), 422,
		    "invalid_value", "occurred_at");
	reject_json(set(load(CONSENT), "consent.notice.content_sha256", json_string("abcd")), 422,
		    "invalid_value", "consent.notice.content_sha256");
	reject_json(set(load(CONSENT), "consent.notice.content_sha256",
			string_of_len(64, 'g', "")),
		    422, "invalid_value", "consent.notice.content_sha256");
}
END_TEST

START_TEST(test_nul_in_string)
{
	reject_json(set(load(CONSENT), "tenant", json_stringn("auto\0gram", 9)), 422,
		    "invalid_value", "tenant");
	reject_json(load("{\"subject\":{\"email\":\"a@b\\u0000c\"}}"), 422, "invalid_value",
		    "subject.email");
}
END_TEST

START_TEST(test_both_bodies)
{
	json_t *j = load(CONSENT), *dr = load(DATA_RIGHTS);

	json_object_set(j, "data_rights", json_object_get(dr, "data_rights"));
	json_decref(dr);
	reject_json(j, 422, "invalid_value", "");
	/* Whichever comes first. */
	j = load(DATA_RIGHTS);
	dr = load(CONSENT);
	json_object_set(j, "consent", json_object_get(dr, "consent"));
	json_decref(dr);
	reject_json(j, 422, "invalid_value", "");
}
END_TEST

START_TEST(test_client_pseudonyms_in_json)
{
	reject_json(set(load(CONSENT), "subject.pseudonyms", json_array()), 422, "invalid_value",
		    "subject.pseudonyms");
}
END_TEST

/* ---- header and subject rules ------------------------------------------------------------ */

START_TEST(test_event_id_rules)
{
	Consentd__V1__Event *ev;

	reject(set(load(CONSENT), "event_id", NULL), "missing_field", "event_id");
	reject(set(load(CONSENT), "event_id", json_string("5f0c2b9e8a1d4c3e9f00123456789abc")),
	       "invalid_value", "event_id");
	reject(set(load(CONSENT), "event_id", json_string("5f0c2b9e-8a1d-4c3e-9f00-123456789abz")),
	       "invalid_value", "event_id");
	ev = valid(set(load(CONSENT), "event_id",
		       json_string("5F0C2B9E-8A1D-4C3E-9F00-123456789ABC")));
	ck_assert_str_eq(ev->event_id, UUID);
	event_release(ev);
}
END_TEST

START_TEST(test_occurred_at_missing)
{
	reject(set(load(CONSENT), "occurred_at", NULL), "missing_field", "occurred_at");
}
END_TEST

/* Protobuf input carries any int64: what RFC 3339 cannot write back is refused (found by
 * tests/fuzz: it made JSON views like "-001-12-31T23:59:00Z"). */
START_TEST(test_occurred_at_outside_rfc3339)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));

	ev->occurred_at = RFC3339_MIN_US - 1;
	reject_event(ev, &policy, "invalid_value", "occurred_at");
	ev = from_json(load(CONSENT));
	ev->occurred_at = INT64_MIN;
	reject_event(ev, &policy, "invalid_value", "occurred_at");
	ev = from_json(load(CONSENT));
	ev->occurred_at = RFC3339_MIN_US;
	event_release(valid_event(ev, &policy));
}
END_TEST

START_TEST(test_occurred_at_skew_boundary)
{
	struct event_error err = { 0 };
	Consentd__V1__Event *ev = from_json(load(CONSENT));

	ck_assert_int_eq(event_validate(ev, &policy, T0 - SKEW, &err), 0);
	event_release(ev);
	ev = from_json(load(CONSENT));
	ck_assert_int_eq(event_validate(ev, &policy, T0 - SKEW - 1, &err), -EINVAL);
	check_err(&err, 422, "occurred_at_in_future", "occurred_at");
	event_release(ev);
}
END_TEST

START_TEST(test_subject_missing_or_empty)
{
	reject(set(load(CONSENT), "subject", NULL), "missing_field", "subject");
	reject(set(load(CONSENT), "subject", json_object()), "missing_field", "subject");
	reject(set(load(CONSENT), "subject", load("{\"email\":\"\",\"account_id\":\"\"}")),
	       "missing_field", "subject");
}
END_TEST

START_TEST(test_subject_email_rules)
{
	reject(set(load(CONSENT), "subject.email", json_string("alice.example.com")),
	       "invalid_value", "subject.email");
	reject(set(load(CONSENT), "subject.email", string_of_len(255, 'a', "@example.com")),
	       "invalid_value", "subject.email");
	accept(set(load(CONSENT), "subject.email", string_of_len(254, 'a', "@example.com")));
}
END_TEST

START_TEST(test_subject_identifier_rules)
{
	reject(set(load(CONSENT), "subject.account_id", string_of_len(257, 'u', "")),
	       "invalid_value", "subject.account_id");
	accept(set(load(CONSENT), "subject.account_id", string_of_len(256, 'u', "")));
	reject(set(load(CONSENT), "subject.device_id", json_string("dev\n1")), "invalid_value",
	       "subject.device_id");
	reject(set(load(CONSENT), "subject.device_id", json_string("dev\x7f")), "invalid_value",
	       "subject.device_id");
	reject(set(load(CONSENT), "subject.account_id", json_string("   ")), "invalid_value",
	       "subject.account_id");
}
END_TEST

START_TEST(test_client_pseudonyms_in_protobuf)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));
	Consentd__V1__Subject *s = ev->subject;
	Consentd__V1__Pseudonym *p = malloc(sizeof(*p));

	consentd__v1__pseudonym__init(p);
	p->kind = CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL;
	p->key_version = 1;
	p->hmac.data = calloc(1, 32);
	p->hmac.len = 32;
	s->pseudonyms = malloc(sizeof(*s->pseudonyms));
	s->pseudonyms[s->n_pseudonyms++] = p;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "subject.pseudonyms");
}
END_TEST

START_TEST(test_tenant_length)
{
	reject(set(load(CONSENT), "tenant", string_of_len(129, 't', "")), "invalid_value",
	       "tenant");
	accept(set(load(CONSENT), "tenant", string_of_len(128, 't', "")));
	accept(set(load(CONSENT), "tenant", NULL));
}
END_TEST

START_TEST(test_body_missing)
{
	reject(set(load(CONSENT), "consent", NULL), "missing_field", "consent");
}
END_TEST

START_TEST(test_invalid_utf8_from_protobuf)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));

	set_str(&ev->tenant, "auto\xffgram");
	reject_event(as_protobuf(ev), &policy, "invalid_value", "tenant");
	ev = from_json(load(CONSENT));
	set_str(&ev->consent->notice->banner_version, "\xc0\xaf"); /* overlong '/' */
	reject_event(as_protobuf(ev), &policy, "invalid_value", "consent.notice.banner_version");
	ev = from_json(load(DATA_RIGHTS));
	set_str(&ev->data_rights->actor, "\xe0\x80\xaf"); /* overlong '/' in three bytes */
	reject_event(as_protobuf(ev), &policy, "invalid_value", "data_rights.actor");
	ev = from_json(load(DATA_RIGHTS));
	set_str(&ev->data_rights->reason, "\xed\xa0\x80"); /* UTF-16 surrogate */
	reject_event(as_protobuf(ev), &policy, "invalid_value", "data_rights.reason");
	ev = from_json(load(DATA_RIGHTS));
	set_str(&ev->data_rights->reason, "caf\xc3\xa9 \xf0\x9f\x8d\xaa"); /* valid */
	event_release(valid_event(as_protobuf(ev), &policy));
}
END_TEST

/* protobuf-c would carry an unknown field into the ledger bytes. */
START_TEST(test_unknown_protobuf_field)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));
	struct buf b = encoded(ev);
	const uint8_t extra[] = { 0x98, 0x06, 0x01 }; /* field 99, varint 1 */

	event_release(ev);
	ck_assert_int_eq(buf_append(&b, extra, sizeof(extra)), 0);
	ev = event_decode(b.data, b.len);
	buf_free(&b);
	ck_assert_ptr_nonnull(ev);
	reject_event(ev, &policy, "unknown_field", "");
}
END_TEST

START_TEST(test_decode_garbage)
{
	const uint8_t junk[] = { 0x0a, 0x50, 'x' }; /* string field longer than the input */

	ck_assert_ptr_null(event_decode(junk, sizeof(junk)));
	event_release(NULL);
}
END_TEST

/* ---- consent rules ----------------------------------------------------------------------- */

START_TEST(test_action_missing)
{
	reject(set(load(CONSENT), "consent.action", NULL), "missing_field", "consent.action");
}
END_TEST

START_TEST(test_unknown_purpose)
{
	reject(set(load(CONSENT), "consent.purposes.profiling", json_false()), "unknown_purpose",
	       "consent.purposes.profiling");
}
END_TEST

START_TEST(test_duplicate_purpose_and_vendor)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));
	Consentd__V1__ConsentChange *c = ev->consent;
	Consentd__V1__PurposeDecision *p = malloc(sizeof(*p));
	Consentd__V1__VendorDecision *v = malloc(sizeof(*v));

	consentd__v1__purpose_decision__init(p);
	p->purpose = strdup("analytics");
	c->purposes = realloc(c->purposes, (c->n_purposes + 1) * sizeof(*c->purposes));
	c->purposes[c->n_purposes++] = p;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "consent.purposes.analytics");

	ev = from_json(load(CONSENT));
	c = ev->consent;
	consentd__v1__vendor_decision__init(v);
	v->vendor = strdup("google_analytics_4");
	v->granted = 1;
	c->vendors = realloc(c->vendors, (c->n_vendors + 1) * sizeof(*c->vendors));
	c->vendors[c->n_vendors++] = v;
	reject_event(as_protobuf(ev), &policy, "invalid_value",
		     "consent.vendors.google_analytics_4");
}
END_TEST

START_TEST(test_essential_denied)
{
	reject(set(load(CONSENT), "consent.purposes.essential", json_false()), "essential_denied",
	       "consent.purposes.essential");
}
END_TEST

START_TEST(test_accept_all_with_denied_purpose)
{
	json_t *j = set(load(CONSENT), "consent.action", json_string("accept_all"));

	reject(j, "inconsistent_decision", "consent.purposes.advertising");
}
END_TEST

START_TEST(test_reject_all_with_granted_purpose)
{
	json_t *j = set(load(CONSENT), "consent.action", json_string("reject_all"));

	reject(j, "inconsistent_decision", "consent.purposes.functional");
}
END_TEST

START_TEST(test_withdraw_with_granted_purpose)
{
	json_t *j = set(load(CONSENT), "consent.action", json_string("withdraw"));

	set(j, "consent.purposes.functional", json_false());
	reject(set(j, "consent.purposes.analytics", json_true()), "inconsistent_decision",
	       "consent.purposes.analytics");
}
END_TEST

START_TEST(test_unknown_vendor)
{
	struct event_policy any = policy;
	Consentd__V1__Event *ev;

	reject(set(load(CONSENT), "consent.vendors.tracker_x", json_true()), "unknown_vendor",
	       "consent.vendors.tracker_x");
	/* Without a configured list any [a-z0-9_] name is allowed, nothing else. */
	any.n_vendors = 0;
	ev = valid_pol(set(load(CONSENT), "consent.vendors.tracker_x", json_true()), &any);
	ck_assert_uint_eq(ev->consent->n_vendors, 2);
	event_release(ev);
	reject_event(from_json(set(load(CONSENT), "consent.vendors.Tracker-X", json_true())), &any,
		     "invalid_value", "consent.vendors.Tracker-X");
}
END_TEST

START_TEST(test_notice_policy_version_missing)
{
	reject(set(load(CONSENT), "consent.notice", NULL), "missing_field",
	       "consent.notice.policy_version");
	reject(set(load(CONSENT), "consent.notice.policy_version", json_string("")),
	       "missing_field", "consent.notice.policy_version");
}
END_TEST

START_TEST(test_content_sha256_length)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));

	ev->consent->notice->content_sha256.len = 31;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "consent.notice.content_sha256");
	accept(set(load(CONSENT), "consent.notice.content_sha256", NULL));
}
END_TEST

START_TEST(test_language_rules)
{
	reject(set(load(CONSENT), "consent.notice.language", string_of_len(36, 'a', "")),
	       "invalid_value", "consent.notice.language");
	reject(set(load(CONSENT), "consent.notice.language", json_string("en_US")),
	       "invalid_value", "consent.notice.language");
	accept(set(load(CONSENT), "consent.notice.language", string_of_len(35, 'a', "")));
	accept(set(load(CONSENT), "consent.notice.language", json_string("zh-Hant-TW")));
}
END_TEST

START_TEST(test_enum_out_of_range_from_protobuf)
{
	Consentd__V1__Event *ev = from_json(load(CONSENT));

	ev->consent->surface = 6;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "consent.surface");
	ev = from_json(load(CONSENT));
	ev->consent->action = 9;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "consent.action");
	ev = from_json(load(DATA_RIGHTS));
	ev->data_rights->right = 10;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "data_rights.right");
	ev = from_json(load(DATA_RIGHTS));
	ev->data_rights->stage = 7;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "data_rights.stage");
	ev = from_json(load(DATA_RIGHTS));
	ev->data_rights->channel = 5;
	reject_event(as_protobuf(ev), &policy, "invalid_value", "data_rights.channel");
}
END_TEST

START_TEST(test_consent_string_limits)
{
	reject(set(load(CONSENT), "consent.notice.policy_version", string_of_len(257, 'p', "")),
	       "invalid_value", "consent.notice.policy_version");
	accept(set(load(CONSENT), "consent.notice.policy_version", string_of_len(256, 'p', "")));
	reject(set(load(CONSENT), "consent.notice.banner_version", string_of_len(65, 'b', "")),
	       "invalid_value", "consent.notice.banner_version");
	accept(set(load(CONSENT), "consent.notice.banner_version", string_of_len(64, 'b', "")));
}
END_TEST

/* ---- data-rights rules ------------------------------------------------------------------- */

START_TEST(test_request_id_rules)
{
	reject(set(load(DATA_RIGHTS), "data_rights.request_id", NULL), "missing_field",
	       "data_rights.request_id");
	reject(set(load(DATA_RIGHTS), "data_rights.request_id", string_of_len(129, 'r', "")),
	       "invalid_value", "data_rights.request_id");
	accept(set(load(DATA_RIGHTS), "data_rights.request_id", string_of_len(128, 'r', "")));
}
END_TEST

START_TEST(test_right_and_stage_missing)
{
	reject(set(load(DATA_RIGHTS), "data_rights.right", NULL), "missing_field",
	       "data_rights.right");
	reject(set(load(DATA_RIGHTS), "data_rights.stage", NULL), "missing_field",
	       "data_rights.stage");
}
END_TEST

START_TEST(test_reason_required)
{
	json_t *j = set(load(DATA_RIGHTS), "data_rights.reason", NULL);

	reject(set(j, "data_rights.stage", json_string("extended")), "reason_required",
	       "data_rights.reason");
	j = set(load(DATA_RIGHTS), "data_rights.reason", NULL);
	reject(set(j, "data_rights.stage", json_string("denied")), "reason_required",
	       "data_rights.reason");
	accept(set(load(DATA_RIGHTS), "data_rights.stage", json_string("denied")));
	accept(set(load(DATA_RIGHTS), "data_rights.reason", NULL));
}
END_TEST

START_TEST(test_data_rights_string_limits)
{
	reject(set(load(DATA_RIGHTS), "data_rights.actor", string_of_len(257, 'a', "")),
	       "invalid_value", "data_rights.actor");
	accept(set(load(DATA_RIGHTS), "data_rights.actor", string_of_len(256, 'a', "")));
	reject(set(load(DATA_RIGHTS), "data_rights.reason", string_of_len(2001, 'r', "")),
	       "invalid_value", "data_rights.reason");
	accept(set(load(DATA_RIGHTS), "data_rights.reason", string_of_len(2000, 'r', "")));
}
END_TEST

/* ---- canonical form ---------------------------------------------------------------------- */

START_TEST(test_sorted_by_name)
{
	json_t *j = set(load(CONSENT), "consent.vendors", load("{\"meta_pixel\":false,"
							      "\"google_tag_manager\":true,"
							      "\"google_analytics_4\":false}"));
	Consentd__V1__Event *ev = valid(j);
	Consentd__V1__ConsentChange *c = ev->consent;

	assert_purposes(ev, "advertising=0,analytics=0,essential=1,functional=1");
	ck_assert_uint_eq(c->n_vendors, 3);
	ck_assert_str_eq(c->vendors[0]->vendor, "google_analytics_4");
	ck_assert_str_eq(c->vendors[1]->vendor, "google_tag_manager");
	ck_assert_int_eq(c->vendors[1]->granted, 1);
	ck_assert_str_eq(c->vendors[2]->vendor, "meta_pixel");
	event_release(ev);
}
END_TEST

START_TEST(test_accept_all_fills_purposes)
{
	json_t *j = set(load(CONSENT), "consent.action", json_string("accept_all"));
	Consentd__V1__Event *ev = valid(set(j, "consent.purposes", json_object()));

	assert_purposes(ev, "advertising=1,analytics=1,essential=1,functional=1");
	event_release(ev);
}
END_TEST

START_TEST(test_reject_all_fills_purposes)
{
	json_t *j = set(load(CONSENT), "consent.action", json_string("reject_all"));
	Consentd__V1__Event *ev = valid(set(j, "consent.purposes", load("{\"analytics\":false}")));

	assert_purposes(ev, "advertising=0,analytics=0,essential=1,functional=0");
	event_release(ev);
}
END_TEST

START_TEST(test_withdraw_fills_only_when_empty)
{
	json_t *j = set(load(CONSENT), "consent.action", json_string("withdraw"));
	Consentd__V1__Event *ev = valid(set(j, "consent.purposes", NULL));

	assert_purposes(ev, "advertising=0,analytics=0,essential=1,functional=0");
	event_release(ev);
	j = set(load(CONSENT), "consent.action", json_string("withdraw"));
	ev = valid(set(j, "consent.purposes", load("{\"analytics\":false}")));
	assert_purposes(ev, "analytics=0,essential=1");
	event_release(ev);
}
END_TEST

START_TEST(test_essential_always_added)
{
	json_t *j = set(load(CONSENT), "consent.purposes", load("{\"functional\":true}"));
	Consentd__V1__Event *ev = valid(j);
	struct event_policy bare = policy;

	assert_purposes(ev, "essential=1,functional=1");
	event_release(ev);
	/* Also when the configuration does not list it. */
	bare.purposes = purposes + 1;
	bare.n_purposes = 3;
	ev = valid_pol(set(load(CONSENT), "consent.purposes.essential", NULL), &bare);
	assert_purposes(ev, "advertising=0,analytics=0,essential=1,functional=1");
	event_release(ev);
}
END_TEST

START_TEST(test_key_order_independent_bytes)
{
	assert_same_bytes(valid(load(CONSENT)), valid(load(CONSENT_REORDERED)));
}
END_TEST

START_TEST(test_implied_purposes_same_bytes)
{
	json_t *a = set(load(CONSENT), "consent.action", json_string("accept_all"));
	json_t *b = set(load(CONSENT), "consent.action", json_string("accept_all"));

	set(a, "consent.purposes", json_object());
	set(b, "consent.purposes", load("{\"functional\":true,\"analytics\":true,"
					"\"advertising\":true,\"essential\":true}"));
	set(b, "event_id", json_string("5F0C2B9E-8A1D-4C3E-9F00-123456789ABC"));
	assert_same_bytes(valid(a), valid(b));
}
END_TEST

START_TEST(test_validate_is_idempotent)
{
	Consentd__V1__Event *ev = valid(load(CONSENT));
	struct event_error err = { 0 };
	struct buf before = encoded(ev), after;

	ck_assert_int_eq(event_validate(ev, &policy, NOW, &err), 0);
	after = encoded(ev);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert_mem_eq(before.data, after.data, before.len);
	buf_free(&before);
	buf_free(&after);
	event_release(ev);
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *map = tcase_create("mapping"), *rules = tcase_create("rules");
	TCase *canon = tcase_create("canonical");

	tcase_add_test(map, test_round_trip_consent);
	tcase_add_test(map, test_round_trip_data_rights);
	tcase_add_test(map, test_occurred_at_offset_and_fraction);
	tcase_add_test(map, test_enum_names_both_ways);
	tcase_add_test(map, test_wrong_types_are_400);
	tcase_add_test(map, test_unknown_fields_are_422);
	tcase_add_test(map, test_unknown_enum_names);
	tcase_add_test(map, test_bad_time_and_hex);
	tcase_add_test(map, test_nul_in_string);
	tcase_add_test(map, test_both_bodies);
	tcase_add_test(map, test_client_pseudonyms_in_json);
	tcase_add_test(map, test_decode_garbage);
	suite_add_tcase(s, map);

	tcase_add_test(rules, test_event_id_rules);
	tcase_add_test(rules, test_occurred_at_missing);
	tcase_add_test(rules, test_occurred_at_skew_boundary);
	tcase_add_test(rules, test_occurred_at_outside_rfc3339);
	tcase_add_test(rules, test_subject_missing_or_empty);
	tcase_add_test(rules, test_subject_email_rules);
	tcase_add_test(rules, test_subject_identifier_rules);
	tcase_add_test(rules, test_client_pseudonyms_in_protobuf);
	tcase_add_test(rules, test_tenant_length);
	tcase_add_test(rules, test_body_missing);
	tcase_add_test(rules, test_invalid_utf8_from_protobuf);
	tcase_add_test(rules, test_unknown_protobuf_field);
	tcase_add_test(rules, test_action_missing);
	tcase_add_test(rules, test_unknown_purpose);
	tcase_add_test(rules, test_duplicate_purpose_and_vendor);
	tcase_add_test(rules, test_essential_denied);
	tcase_add_test(rules, test_accept_all_with_denied_purpose);
	tcase_add_test(rules, test_reject_all_with_granted_purpose);
	tcase_add_test(rules, test_withdraw_with_granted_purpose);
	tcase_add_test(rules, test_unknown_vendor);
	tcase_add_test(rules, test_notice_policy_version_missing);
	tcase_add_test(rules, test_content_sha256_length);
	tcase_add_test(rules, test_language_rules);
	tcase_add_test(rules, test_enum_out_of_range_from_protobuf);
	tcase_add_test(rules, test_consent_string_limits);
	tcase_add_test(rules, test_request_id_rules);
	tcase_add_test(rules, test_right_and_stage_missing);
	tcase_add_test(rules, test_reason_required);
	tcase_add_test(rules, test_data_rights_string_limits);
	suite_add_tcase(s, rules);

	tcase_add_test(canon, test_sorted_by_name);
	tcase_add_test(canon, test_accept_all_fills_purposes);
	tcase_add_test(canon, test_reject_all_fills_purposes);
	tcase_add_test(canon, test_withdraw_fills_only_when_empty);
	tcase_add_test(canon, test_essential_always_added);
	tcase_add_test(canon, test_key_order_independent_bytes);
	tcase_add_test(canon, test_implied_purposes_same_bytes);
	tcase_add_test(canon, test_validate_is_idempotent);
	suite_add_tcase(s, canon);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(event_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
