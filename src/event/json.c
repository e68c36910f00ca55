/* The JSON body of the HTTP API <-> Event: strict, table-driven decoding (wrong JSON types 400,
 * unknown fields and undecodable values 422) and the JSON view used by responses and exports. */
#include "event/event.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct field;
typedef int (*parse_fn)(const struct field *f, const json_t *v, void *msg, const char *path,
			struct event_error *err);

/* One JSON member of a message: its name, how to decode it, and where it goes. */
struct field {
	const char *name;
	parse_fn parse;
	size_t off;
	int (*value_of)(const char *name);
};

#define MEMBER(msg, off, type) ((type *)((char *)(msg) + (off)))

/* jansson's object iterator takes a non-const json_t although it does not modify it. */
static json_t *unconst(const json_t *j)
{
	return (json_t *)(uintptr_t)j;
}

static int wrong_type(const char *path, const char *want, struct event_error *err)
{
	event_error_set(err, 400, "wrong_type", path, "%s: must be %s", *path ? path : "event",
			want);
	return -EINVAL;
}

static int no_memory(const char *path, struct event_error *err)
{
	event_error_set(err, 500, "out_of_memory", path, "%s: out of memory",
			*path ? path : "event");
	return -ENOMEM;
}

/* A JSON string without embedded NUL (jansson can carry "\u0000"; C strings cannot). */
static const char *string_of(const json_t *v, const char *path, struct event_error *err)
{
	const char *s;

	if (!json_is_string(v)) {
		wrong_type(path, "a string", err);
		return NULL;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		event_error_set(err, 422, "invalid_value", path, "%s: contains a NUL character",
				path);
		return NULL;
	}
	return s;
}

static int parse_object(const json_t *obj, const struct field *fields, size_t n, void *msg,
			const char *prefix, struct event_error *err)
{
	const char *key;
	json_t *v;
	char path[96];

	if (!json_is_object(obj))
		return wrong_type(prefix, "an object", err);
	json_object_foreach(unconst(obj), key, v) {
		const struct field *f = NULL;
		int rc;

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
		for (size_t i = 0; i < n && !f; i++)
			if (!strcmp(fields[i].name, key))
				f = &fields[i];
		if (!f) {
			event_error_set(err, 422, "unknown_field", path, "%s: unknown field", path);
			return -EINVAL;
		}
		rc = f->parse(f, v, msg, path, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Empty strings stay protobuf_c_empty_string, as in an unpacked message. */
static int parse_string(const struct field *f, const json_t *v, void *msg, const char *path,
			struct event_error *err)
{
	const char *s = string_of(v, path, err);
	char **dst = MEMBER(msg, f->off, char *);
	char *copy;

	if (!s)
		return -EINVAL;
	if (!*s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return no_memory(path, err);
	if (*dst != protobuf_c_empty_string)
		free(*dst);
	*dst = copy;
	return 0;
}

static int parse_enum(const struct field *f, const json_t *v, void *msg, const char *path,
		      struct event_error *err)
{
	const char *s = string_of(v, path, err);
	int value;

	if (!s)
		return -EINVAL;
	value = f->value_of(s);
	if (value < 0) {
		event_error_set(err, 422, "invalid_value", path, "%s: unknown value \"%.60s\"",
				path, s);
		return -EINVAL;
	}
	/* protobuf-c enums are int-sized (PROTOBUF_C__FORCE_ENUM_TO_BE_INT_SIZE). */
	*MEMBER(msg, f->off, int) = value;
	return 0;
}

static int parse_bool(const struct field *f, const json_t *v, void *msg, const char *path,
		      struct event_error *err)
{
	if (!json_is_boolean(v))
		return wrong_type(path, "true or false", err);
	*MEMBER(msg, f->off, protobuf_c_boolean) = json_is_true(v);
	return 0;
}

static int parse_time(const struct field *f, const json_t *v, void *msg, const char *path,
		      struct event_error *err)
{
	const char *s = string_of(v, path, err);

	if (!s)
		return -EINVAL;
	if (rfc3339_parse(s, MEMBER(msg, f->off, int64_t)) < 0) {
		event_error_set(err, 422, "invalid_value", path,
				"%s: not an RFC 3339 date-time (2026-11-28T10:15:00Z)", path);
		return -EINVAL;
	}
	return 0;
}

static int parse_sha256(const struct field *f, const json_t *v, void *msg, const char *path,
			struct event_error *err)
{
	const char *s = string_of(v, path, err);
	ProtobufCBinaryData *dst = MEMBER(msg, f->off, ProtobufCBinaryData);
	uint8_t *data;

	if (!s)
		return -EINVAL;
	data = malloc(EVENT_HASH_LEN);
	if (!data)
		return no_memory(path, err);
	if (hex_decode(s, strlen(s), data, EVENT_HASH_LEN) < 0) {
		free(data);
		event_error_set(err, 422, "invalid_value", path, "%s: must be 64 hex digits", path);
		return -EINVAL;
	}
	free(dst->data);
	dst->data = data;
	dst->len = EVENT_HASH_LEN;
	return 0;
}

static int reject_pseudonyms(const struct field *f, const json_t *v, void *msg, const char *path,
			     struct event_error *err)
{
	event_error_set(err, 422, "invalid_value", path,
			"%s: pseudonyms are computed by the server; send clear identifiers", path);
	return -EINVAL;
}

/* name -> bool members of "purposes" and "vendors", appended in object order; event_validate
 * sorts them. The array is attached before it is filled so that event_release() can clean up. */
static int parse_decisions(const json_t *v, Consentd__V1__ConsentChange *c, bool vendors,
			   const char *prefix, struct event_error *err)
{
	size_t n = json_object_size(v);
	const char *key;
	json_t *granted;
	char path[96];
	void **arr;

	if (!json_is_object(v))
		return wrong_type(prefix, "an object of booleans", err);
	arr = calloc(n ? n : 1, sizeof(*arr));
	if (!arr)
		return no_memory(prefix, err);
	if (vendors)
		c->vendors = (Consentd__V1__VendorDecision **)arr;
	else
		c->purposes = (Consentd__V1__PurposeDecision **)arr;
	json_object_foreach(unconst(v), key, granted) {
		char *name;

		snprintf(path, sizeof(path), "%s.%s", prefix, key);
		if (!json_is_boolean(granted))
			return wrong_type(path, "true or false", err);
		name = strdup(key);
		if (!name)
			return no_memory(path, err);
		if (vendors) {
			Consentd__V1__VendorDecision *d = malloc(sizeof(*d));

			if (!d) {
				free(name);
				return no_memory(path, err);
			}
			consentd__v1__vendor_decision__init(d);
			d->vendor = name;
			d->granted = json_is_true(granted);
			c->vendors[c->n_vendors++] = d;
		} else {
			Consentd__V1__PurposeDecision *d = malloc(sizeof(*d));

			if (!d) {
				free(name);
				return no_memory(path, err);
			}
			consentd__v1__purpose_decision__init(d);
			d->purpose = name;
			d->granted = json_is_true(granted);
			c->purposes[c->n_purposes++] = d;
		}
	}
	return 0;
}

static int parse_purposes(const struct field *f, const json_t *v, void *msg, const char *path,
			  struct event_error *err)
{
	return parse_decisions(v, msg, false, path, err);
}

static int parse_vendors(const struct field *f, const json_t *v, void *msg, const char *path,
			 struct event_error *err)
{
	return parse_decisions(v, msg, true, path, err);
}

static const struct field notice_fields[] = {
	{ "policy_version", parse_string, offsetof(Consentd__V1__Notice, policy_version), NULL },
	{ "banner_version", parse_string, offsetof(Consentd__V1__Notice, banner_version), NULL },
	{ "language", parse_string, offsetof(Consentd__V1__Notice, language), NULL },
	{ "content_sha256", parse_sha256, offsetof(Consentd__V1__Notice, content_sha256), NULL },
};

/* A JSON object into a new sub-message (*out is set whenever it was allocated, even if parsing
 * then fails, so that its parent frees it). */
static int parse_child(const json_t *v, const ProtobufCMessageDescriptor *desc,
		       const struct field *fields, size_t n, const char *path, struct event_error *err,
		       void **out)
{
	if (!json_is_object(v))
		return wrong_type(path, "an object", err);
	*out = malloc(desc->sizeof_message);
	if (!*out)
		return no_memory(path, err);
	protobuf_c_message_init(desc, *out);
	return parse_object(v, fields, n, *out, path, err);
}

static int parse_notice(const struct field *f, const json_t *v, void *msg, const char *path,
			struct event_error *err)
{
	Consentd__V1__ConsentChange *c = msg;
	void *child = NULL;
	int rc = parse_child(v, &consentd__v1__notice__descriptor, notice_fields,
			     ARRAY_SIZE(notice_fields), path, err, &child);

	c->notice = child;
	return rc;
}

static const struct field consent_fields[] = {
	{ "action", parse_enum, offsetof(Consentd__V1__ConsentChange, action), event_action_value },
	{ "purposes", parse_purposes, 0, NULL },
	{ "vendors", parse_vendors, 0, NULL },
	{ "notice", parse_notice, 0, NULL },
	{ "surface", parse_enum, offsetof(Consentd__V1__ConsentChange, surface),
	  event_surface_value },
	{ "gpc", parse_bool, offsetof(Consentd__V1__ConsentChange, gpc), NULL },
};

static const struct field data_rights_fields[] = {
	{ "request_id", parse_string, offsetof(Consentd__V1__DataRightsEvent, request_id), NULL },
	{ "right", parse_enum, offsetof(Consentd__V1__DataRightsEvent, right), event_right_value },
	{ "stage", parse_enum, offsetof(Consentd__V1__DataRightsEvent, stage), event_stage_value },
	{ "channel", parse_enum, offsetof(Consentd__V1__DataRightsEvent, channel),
	  event_channel_value },
	{ "reason", parse_string, offsetof(Consentd__V1__DataRightsEvent, reason), NULL },
	{ "actor", parse_string, offsetof(Consentd__V1__DataRightsEvent, actor), NULL },
	{ "jurisdiction", parse_string, offsetof(Consentd__V1__DataRightsEvent, jurisdiction),
	  NULL },
};

static int both_bodies(struct event_error *err)
{
	event_error_set(err, 422, "invalid_value", "",
			"event: carries both consent and data_rights; send one per event");
	return -EINVAL;
}

static int parse_consent(const struct field *f, const json_t *v, void *msg, const char *path,
			 struct event_error *err)
{
	Consentd__V1__Event *ev = msg;
	void *child = NULL;
	int rc;

	if (ev->body_case != CONSENTD__V1__EVENT__BODY__NOT_SET)
		return both_bodies(err);
	rc = parse_child(v, &consentd__v1__consent_change__descriptor, consent_fields,
			 ARRAY_SIZE(consent_fields), path, err, &child);
	if (child) {
		ev->consent = child;
		ev->body_case = CONSENTD__V1__EVENT__BODY_CONSENT;
	}
	return rc;
}

static int parse_data_rights(const struct field *f, const json_t *v, void *msg, const char *path,
			     struct event_error *err)
{
	Consentd__V1__Event *ev = msg;
	void *child = NULL;
	int rc;

	if (ev->body_case != CONSENTD__V1__EVENT__BODY__NOT_SET)
		return both_bodies(err);
	rc = parse_child(v, &consentd__v1__data_rights_event__descriptor, data_rights_fields,
			 ARRAY_SIZE(data_rights_fields), path, err, &child);
	if (child) {
		ev->data_rights = child;
		ev->body_case = CONSENTD__V1__EVENT__BODY_DATA_RIGHTS;
	}
	return rc;
}

static const struct field subject_fields[] = {
	{ "account_id", parse_string, offsetof(Consentd__V1__Subject, account_id), NULL },
	{ "email", parse_string, offsetof(Consentd__V1__Subject, email), NULL },
	{ "device_id", parse_string, offsetof(Consentd__V1__Subject, device_id), NULL },
	{ "pseudonyms", reject_pseudonyms, 0, NULL },
};

static int parse_subject(const struct field *f, const json_t *v, void *msg, const char *path,
			 struct event_error *err)
{
	Consentd__V1__Event *ev = msg;
	void *child = NULL;
	int rc = parse_child(v, &consentd__v1__subject__descriptor, subject_fields,
			     ARRAY_SIZE(subject_fields), path, err, &child);

	ev->subject = child;
	return rc;
}

static const struct field event_fields[] = {
	{ "event_id", parse_string, offsetof(Consentd__V1__Event, event_id), NULL },
	{ "occurred_at", parse_time, offsetof(Consentd__V1__Event, occurred_at), NULL },
	{ "tenant", parse_string, offsetof(Consentd__V1__Event, tenant), NULL },
	{ "subject", parse_subject, 0, NULL },
	{ "consent", parse_consent, 0, NULL },
	{ "data_rights", parse_data_rights, 0, NULL },
};

Consentd__V1__Event *event_from_json(const json_t *obj, struct event_error *err)
{
	Consentd__V1__Event *ev = malloc(sizeof(*ev));

	if (!ev) {
		no_memory("", err);
		return NULL;
	}
	consentd__v1__event__init(ev);
	if (parse_object(obj, event_fields, ARRAY_SIZE(event_fields), ev, "", err) < 0) {
		event_release(ev);
		return NULL;
	}
	return ev;
}

/* ---- Event -> JSON: empty strings and unnamed enum values are left out. ------------------- */

/* Takes the reference to v; a NULL v (failed allocation) is reported as an error. */
static int put(json_t *obj, const char *key, json_t *v)
{
	return json_object_set_new(obj, key, v) < 0 ? -ENOMEM : 0;
}

static int put_str(json_t *obj, const char *key, const char *s)
{
	return s && *s ? put(obj, key, json_string(s)) : 0;
}

static int put_enum(json_t *obj, const char *key, const char *name)
{
	return name ? put(obj, key, json_string(name)) : 0;
}

static int put_hex(json_t *obj, const char *key, const ProtobufCBinaryData *b)
{
	char *hex;
	int rc;

	if (!b->len)
		return 0;
	hex = malloc(2 * b->len + 1);
	if (!hex)
		return -ENOMEM;
	hex_encode(b->data, b->len, hex);
	rc = put(obj, key, json_string(hex));
	free(hex);
	return rc;
}

static json_t *pseudonyms_to_json(const Consentd__V1__Subject *s)
{
	json_t *arr = json_array();
	int rc = arr ? 0 : -ENOMEM;

	for (size_t i = 0; i < s->n_pseudonyms && !rc; i++) {
		const Consentd__V1__Pseudonym *p = s->pseudonyms[i];
		json_t *o = json_object();

		rc = json_array_append_new(arr, o) < 0 ? -ENOMEM : 0;
		rc = rc ? rc : put_enum(o, "kind", event_subject_kind_name(p->kind));
		rc = rc ? rc : put(o, "key_version", json_integer(p->key_version));
		rc = rc ? rc : put_hex(o, "hmac", &p->hmac);
	}
	if (rc) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *subject_to_json(const Consentd__V1__Subject *s)
{
	json_t *o = json_object();
	int rc = o ? 0 : -ENOMEM;

	rc = rc ? rc : put_str(o, "account_id", s->account_id);
	rc = rc ? rc : put_str(o, "email", s->email);
	rc = rc ? rc : put_str(o, "device_id", s->device_id);
	if (!rc && s->n_pseudonyms)
		rc = put(o, "pseudonyms", pseudonyms_to_json(s));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *decisions_to_json(const Consentd__V1__ConsentChange *c, bool vendors)
{
	size_t n = vendors ? c->n_vendors : c->n_purposes;
	json_t *o = json_object();
	int rc = o ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !rc; i++) {
		const char *name = vendors ? c->vendors[i]->vendor : c->purposes[i]->purpose;
		bool granted = vendors ? c->vendors[i]->granted : c->purposes[i]->granted;

		rc = put(o, name, json_boolean(granted));
	}
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *notice_to_json(const Consentd__V1__Notice *n)
{
	json_t *o = json_object();
	int rc = o ? 0 : -ENOMEM;

	rc = rc ? rc : put_str(o, "policy_version", n->policy_version);
	rc = rc ? rc : put_str(o, "banner_version", n->banner_version);
	rc = rc ? rc : put_str(o, "language", n->language);
	rc = rc ? rc : put_hex(o, "content_sha256", &n->content_sha256);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *consent_to_json(const Consentd__V1__ConsentChange *c)
{
	json_t *o = json_object();
	int rc = o ? 0 : -ENOMEM;

	rc = rc ? rc : put_enum(o, "action", event_action_name(c->action));
	rc = rc ? rc : put(o, "purposes", decisions_to_json(c, false));
	if (!rc && c->n_vendors)
		rc = put(o, "vendors", decisions_to_json(c, true));
	if (!rc && c->notice)
		rc = put(o, "notice", notice_to_json(c->notice));
	rc = rc ? rc : put_enum(o, "surface", event_surface_name(c->surface));
	rc = rc ? rc : put(o, "gpc", json_boolean(c->gpc));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *data_rights_to_json(const Consentd__V1__DataRightsEvent *d)
{
	json_t *o = json_object();
	int rc = o ? 0 : -ENOMEM;

	rc = rc ? rc : put_str(o, "request_id", d->request_id);
	rc = rc ? rc : put_enum(o, "right", event_right_name(d->right));
	rc = rc ? rc : put_enum(o, "stage", event_stage_name(d->stage));
	rc = rc ? rc : put_enum(o, "channel", event_channel_name(d->channel));
	rc = rc ? rc : put_str(o, "reason", d->reason);
	rc = rc ? rc : put_str(o, "actor", d->actor);
	rc = rc ? rc : put_str(o, "jurisdiction", d->jurisdiction);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *notice_content_to_json(const Consentd__V1__NoticeContent *n)
{
	json_t *o = json_object();
	char hex[2 * EVENT_HASH_LEN + 1] = "";
	json_t *text = NULL;
	int rc = o ? 0 : -ENOMEM;

	if (n->content_sha256.len == EVENT_HASH_LEN)
		hex_encode(n->content_sha256.data, EVENT_HASH_LEN, hex);
	rc = rc ? rc : put_str(o, "content_sha256", hex);
	rc = rc ? rc : put_str(o, "content_type", n->content_type);
	rc = rc ? rc : put(o, "size", json_integer((json_int_t)n->content.len));
	if (!rc && n->content.len)
		text = json_stringn((const char *)n->content.data, n->content.len); /* NULL: not UTF-8 */
	if (!rc && text) {
		rc = put(o, "content", text);
	} else if (!rc) {
		char *b64 = b64_encode(n->content.data, n->content.len);

		rc = b64 ? put(o, "content_base64", json_string(b64)) : -ENOMEM;
		free(b64);
	}
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *event_to_json(const Consentd__V1__Event *ev)
{
	json_t *o = json_object();
	char when[40];
	int rc = o ? 0 : -ENOMEM;

	rfc3339_format(ev->occurred_at, when, sizeof(when));
	rc = rc ? rc : put_str(o, "event_id", ev->event_id);
	rc = rc ? rc : put(o, "occurred_at", json_string(when));
	rc = rc ? rc : put_str(o, "tenant", ev->tenant);
	if (!rc && ev->subject)
		rc = put(o, "subject", subject_to_json(ev->subject));
	if (!rc && ev->body_case == CONSENTD__V1__EVENT__BODY_CONSENT && ev->consent)
		rc = put(o, "consent", consent_to_json(ev->consent));
	if (!rc && ev->body_case == CONSENTD__V1__EVENT__BODY_DATA_RIGHTS && ev->data_rights)
		rc = put(o, "data_rights", data_rights_to_json(ev->data_rights));
	if (!rc && event_is_notice(ev))
		rc = put(o, "notice", notice_content_to_json(ev->notice));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}
