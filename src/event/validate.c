/* The rules every input event obeys, whether it came from JSON or protobuf, and its canonical
 * form: the same logical event always encodes to the same bytes. */
#include "event/event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENANT_MAX 128
#define IDENTIFIER_MAX 256
#define EMAIL_MAX 254
#define POLICY_VERSION_MAX 256
#define BANNER_VERSION_MAX 64
#define LANGUAGE_MAX 35
#define VENDOR_NAME_MAX 64
#define REQUEST_ID_MAX 128
#define ACTOR_MAX 256
#define REASON_MAX 2000
/* Not a documented limit of the API, only a bound so that nothing stored is unbounded. */
#define JURISDICTION_MAX 64

#define ESSENTIAL "essential"
#define LANGUAGE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"
#define VENDOR_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

void event_error_set(struct event_error *err, int status, const char *code, const char *field,
		     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static int fail(struct event_error *err, const char *code, const char *field, const char *why)
{
	event_error_set(err, 422, code, field, "%s: %s", *field ? field : "event", why);
	return -EINVAL;
}

/* Continuation bytes after lead byte c and the range of the first one (which excludes overlong
 * forms, surrogates and code points past U+10FFFF); -1 for a byte that cannot lead. */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 0;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c >= 0xe0 && c <= 0xef) {
		*lo = c == 0xe0 ? 0xa0 : 0x80;
		*hi = c == 0xed ? 0x9f : 0xbf;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*lo = c == 0xf0 ? 0x90 : 0x80;
		*hi = c == 0xf4 ? 0x8f : 0xbf;
		return 3;
	}
	return -1;
}

/* protobuf-c does not check that strings are UTF-8, and jansson refuses to make JSON of them. */
static bool utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned char lo, hi;
		int n = utf8_lead(*s++, &lo, &hi);

		if (n < 0)
			return false;
		for (int i = 0; i < n; i++, s++) {
			if (*s < lo || *s > hi)
				return false;
			lo = 0x80;
			hi = 0xbf;
		}
	}
	return true;
}

/* Length and encoding of a free-text string; NULL counts as empty. */
static int check_text(const char *s, size_t max, const char *field, struct event_error *err)
{
	char why[64];

	if (!s)
		return 0;
	if (strlen(s) > max) {
		snprintf(why, sizeof(why), "longer than %zu bytes", max);
		return fail(err, "invalid_value", field, why);
	}
	if (!utf8_valid(s))
		return fail(err, "invalid_value", field, "not valid UTF-8");
	return 0;
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* protobuf-c keeps fields it does not know and packs them again: they would reach the ledger
 * unvalidated, so input carrying them is refused like an unknown JSON field. */
static int check_known(const ProtobufCMessage *m, const char *field, struct event_error *err)
{
	if (m->n_unknown_fields == 0)
		return 0;
	event_error_set(err, 422, "unknown_field", field, "%s: unknown protobuf field number %u",
			*field ? field : "event", m->unknown_fields[0].tag);
	return -EINVAL;
}

static int check_header(Consentd__V1__Event *ev, const struct event_policy *pol, int64_t now,
			struct event_error *err)
{
	uint8_t uuid[UUID_LEN];
	int64_t ahead;

	if (check_known(&ev->base, "", err))
		return -EINVAL;
	if (empty(ev->event_id))
		return fail(err, "missing_field", "event_id", "required");
	if (uuid_parse(ev->event_id, uuid) < 0)
		return fail(err, "invalid_value", "event_id", "not a UUID (8-4-4-4-12 hex digits)");
	if (ev->occurred_at == 0)
		return fail(err, "missing_field", "occurred_at", "required");
	/* Protobuf input can carry any int64; only what RFC 3339 can write back is accepted. */
	if (ev->occurred_at < RFC3339_MIN_US || ev->occurred_at > RFC3339_MAX_US)
		return fail(err, "invalid_value", "occurred_at",
			    "outside 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z");
	if (__builtin_sub_overflow(ev->occurred_at, now, &ahead) ||
	    ahead > pol->max_future_skew_us) {
		event_error_set(err, 422, "occurred_at_in_future", "occurred_at",
				"occurred_at: more than %lld ms after the server's clock",
				(long long)(pol->max_future_skew_us / 1000));
		return -EINVAL;
	}
	return check_text(ev->tenant, TENANT_MAX, "tenant", err);
}

static int check_identifier(Consentd__V1__SubjectIdKind kind, const char *s, const char *field,
			    struct event_error *err)
{
	if (empty(s))
		return 0;
	if (strlen(s) > IDENTIFIER_MAX)
		return fail(err, "invalid_value", field, "longer than 256 bytes");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return fail(err, "invalid_value", field, "contains a control character");
	if (!utf8_valid(s))
		return fail(err, "invalid_value", field, "not valid UTF-8");
	if (kind == CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL &&
	    (strlen(s) > EMAIL_MAX || !strchr(s, '@')))
		return fail(err, "invalid_value", field, "not an email address");
	/* Only blanks (control characters are already out): it would have no pseudonym. */
	if (!s[strspn(s, " ")])
		return fail(err, "invalid_value", field, "blank");
	return 0;
}

static int check_subject(const Consentd__V1__Subject *s, struct event_error *err)
{
	if (!s)
		return fail(err, "missing_field", "subject", "required");
	if (check_known(&s->base, "subject", err))
		return -EINVAL;
	if (s->n_pseudonyms)
		return fail(err, "invalid_value", "subject.pseudonyms",
			    "computed by the server; send clear identifiers");
	if (empty(s->account_id) && empty(s->email) && empty(s->device_id))
		return fail(err, "missing_field", "subject",
			    "needs one of account_id, email, device_id");
	if (check_identifier(CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID,
			     s->account_id, "subject.account_id", err) ||
	    check_identifier(CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL, s->email,
			     "subject.email", err) ||
	    check_identifier(CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID,
			     s->device_id, "subject.device_id", err))
		return -EINVAL;
	return 0;
}

static int check_notice(const Consentd__V1__Notice *n, struct event_error *err)
{
	if (!n || empty(n->policy_version))
		return fail(err, "missing_field", "consent.notice.policy_version", "required");
	if (check_known(&n->base, "consent.notice", err) ||
	    check_text(n->policy_version, POLICY_VERSION_MAX, "consent.notice.policy_version",
		       err) ||
	    check_text(n->banner_version, BANNER_VERSION_MAX, "consent.notice.banner_version", err))
		return -EINVAL;
	if (n->content_sha256.len != 0 && n->content_sha256.len != EVENT_HASH_LEN)
		return fail(err, "invalid_value", "consent.notice.content_sha256",
			    "must be 32 bytes (64 hex digits)");
	if (!empty(n->language) &&
	    (strlen(n->language) > LANGUAGE_MAX ||
	     strspn(n->language, LANGUAGE_CHARS) != strlen(n->language)))
		return fail(err, "invalid_value", "consent.notice.language",
			    "must be a language tag ([A-Za-z0-9-], at most 35 characters)");
	return 0;
}

static bool in_list(char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

static int cmp_purpose(const void *a, const void *b)
{
	const Consentd__V1__PurposeDecision *x = *(const Consentd__V1__PurposeDecision *const *)a;
	const Consentd__V1__PurposeDecision *y = *(const Consentd__V1__PurposeDecision *const *)b;

	return strcmp(x->purpose, y->purpose);
}

static int cmp_vendor(const void *a, const void *b)
{
	const Consentd__V1__VendorDecision *x = *(const Consentd__V1__VendorDecision *const *)a;
	const Consentd__V1__VendorDecision *y = *(const Consentd__V1__VendorDecision *const *)b;

	return strcmp(x->vendor, y->vendor);
}

/* Sorted first (the canonical order anyway), so that duplicates are neighbours and the first
 * error reported does not depend on the order the client sent. */
static int check_purposes(Consentd__V1__ConsentChange *c, const struct event_policy *pol,
			  struct event_error *err)
{
	bool denies_all = c->action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_REJECT_ALL ||
			  c->action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_WITHDRAW;
	char field[96];

	if (c->n_purposes > 1)
		qsort(c->purposes, c->n_purposes, sizeof(*c->purposes), cmp_purpose);
	for (size_t i = 0; i < c->n_purposes; i++) {
		const Consentd__V1__PurposeDecision *p = c->purposes[i];
		bool essential = !strcmp(p->purpose, ESSENTIAL);

		snprintf(field, sizeof(field), "consent.purposes.%s", p->purpose);
		if (check_known(&p->base, field, err))
			return -EINVAL;
		if (!essential && !in_list(pol->purposes, pol->n_purposes, p->purpose))
			return fail(err, "unknown_purpose", field, "not a configured purpose");
		if (i && !strcmp(p->purpose, c->purposes[i - 1]->purpose))
			return fail(err, "invalid_value", field, "given more than once");
		if (essential && !p->granted)
			return fail(err, "essential_denied", field, "essential cannot be denied");
		if (c->action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL &&
		    !p->granted)
			return fail(err, "inconsistent_decision", field, "denied under accept_all");
		if (denies_all && !essential && p->granted)
			return fail(err, "inconsistent_decision", field,
				    "granted under reject_all or withdraw");
	}
	return 0;
}

static int check_vendors(Consentd__V1__ConsentChange *c, const struct event_policy *pol,
			 struct event_error *err)
{
	char field[96];

	if (c->n_vendors > 1)
		qsort(c->vendors, c->n_vendors, sizeof(*c->vendors), cmp_vendor);
	for (size_t i = 0; i < c->n_vendors; i++) {
		const char *name = c->vendors[i]->vendor;

		snprintf(field, sizeof(field), "consent.vendors.%s", name);
		if (check_known(&c->vendors[i]->base, field, err))
			return -EINVAL;
		if (pol->n_vendors && !in_list(pol->vendors, pol->n_vendors, name))
			return fail(err, "unknown_vendor", field, "not a configured vendor");
		if (!pol->n_vendors &&
		    (!*name || strlen(name) > VENDOR_NAME_MAX ||
		     strspn(name, VENDOR_CHARS) != strlen(name)))
			return fail(err, "invalid_value", field,
				    "vendor names are [a-z0-9_], at most 64 characters");
		if (i && !strcmp(name, c->vendors[i - 1]->vendor))
			return fail(err, "invalid_value", field, "given more than once");
	}
	return 0;
}

static int check_consent(Consentd__V1__ConsentChange *c, const struct event_policy *pol,
			 struct event_error *err)
{
	if (check_known(&c->base, "consent", err))
		return -EINVAL;
	if (c->action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_UNSPECIFIED)
		return fail(err, "missing_field", "consent.action", "required");
	if (!event_action_name(c->action))
		return fail(err, "invalid_value", "consent.action", "unknown action");
	if (c->surface != CONSENTD__V1__SURFACE__SURFACE_UNSPECIFIED &&
	    !event_surface_name(c->surface))
		return fail(err, "invalid_value", "consent.surface", "unknown surface");
	if (check_notice(c->notice, err) || check_purposes(c, pol, err) ||
	    check_vendors(c, pol, err))
		return -EINVAL;
	return 0;
}

static int check_data_rights(const Consentd__V1__DataRightsEvent *d, struct event_error *err)
{
	if (check_known(&d->base, "data_rights", err))
		return -EINVAL;
	if (empty(d->request_id))
		return fail(err, "missing_field", "data_rights.request_id", "required");
	if (check_text(d->request_id, REQUEST_ID_MAX, "data_rights.request_id", err))
		return -EINVAL;
	if (d->right == CONSENTD__V1__RIGHT__RIGHT_UNSPECIFIED)
		return fail(err, "missing_field", "data_rights.right", "required");
	if (!event_right_name(d->right))
		return fail(err, "invalid_value", "data_rights.right", "unknown right");
	if (d->stage == CONSENTD__V1__STAGE__STAGE_UNSPECIFIED)
		return fail(err, "missing_field", "data_rights.stage", "required");
	if (!event_stage_name(d->stage))
		return fail(err, "invalid_value", "data_rights.stage", "unknown stage");
	if (d->channel != CONSENTD__V1__CHANNEL__CHANNEL_UNSPECIFIED &&
	    !event_channel_name(d->channel))
		return fail(err, "invalid_value", "data_rights.channel", "unknown channel");
	if ((d->stage == CONSENTD__V1__STAGE__STAGE_EXTENDED ||
	     d->stage == CONSENTD__V1__STAGE__STAGE_DENIED) &&
	    empty(d->reason))
		return fail(err, "reason_required", "data_rights.reason",
			    "required when the stage is extended or denied");
	if (check_text(d->reason, REASON_MAX, "data_rights.reason", err) ||
	    check_text(d->actor, ACTOR_MAX, "data_rights.actor", err) ||
	    check_text(d->jurisdiction, JURISDICTION_MAX, "data_rights.jurisdiction", err))
		return -EINVAL;
	return 0;
}

static Consentd__V1__PurposeDecision *find_purpose(const Consentd__V1__ConsentChange *c,
						   const char *name)
{
	for (size_t i = 0; i < c->n_purposes; i++)
		if (!strcmp(c->purposes[i]->purpose, name))
			return c->purposes[i];
	return NULL;
}

/* Appends into spare capacity reserved by the caller; n_purposes grows with every entry so
 * that event_release() stays correct if a later allocation fails. */
static int add_purpose(Consentd__V1__ConsentChange *c, const char *name, bool granted)
{
	Consentd__V1__PurposeDecision *p;

	if (find_purpose(c, name))
		return 0;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	consentd__v1__purpose_decision__init(p);
	p->purpose = strdup(name);
	if (!p->purpose) {
		free(p);
		return -ENOMEM;
	}
	p->granted = granted;
	c->purposes[c->n_purposes++] = p;
	return 0;
}

static int fill_purposes(Consentd__V1__ConsentChange *c, const struct event_policy *pol)
{
	int action = c->action;
	bool all = action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL ||
		   action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_REJECT_ALL ||
		   (action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_WITHDRAW &&
		    c->n_purposes == 0);
	bool grant = action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL;
	size_t cap = c->n_purposes + (all ? pol->n_purposes : 0) + 1;
	Consentd__V1__PurposeDecision **arr = realloc(c->purposes, cap * sizeof(*arr));
	int rc = 0;

	if (!arr)
		return -ENOMEM;
	c->purposes = arr;
	for (size_t i = 0; all && i < pol->n_purposes && !rc; i++)
		rc = add_purpose(c, pol->purposes[i],
				 grant || !strcmp(pol->purposes[i], ESSENTIAL));
	if (!rc)
		rc = add_purpose(c, ESSENTIAL, true);
	if (c->n_purposes > 1)
		qsort(c->purposes, c->n_purposes, sizeof(*c->purposes), cmp_purpose);
	return rc;
}

int event_validate(Consentd__V1__Event *ev, const struct event_policy *pol, int64_t now_us,
		   struct event_error *err)
{
	uint8_t uuid[UUID_LEN];
	int rc;

	if (!ev || !pol)
		return fail(err, "invalid_value", "", "no event");
	if (ev->body_case == CONSENTD__V1__EVENT__BODY_NOTICE)
		return fail(err, "invalid_value", "notice",
			    "notices are stored with PUT /v1/notices/{sha256}, not sent as events");
	if (check_header(ev, pol, now_us, err) || check_subject(ev->subject, err))
		return -EINVAL;
	if (ev->body_case == CONSENTD__V1__EVENT__BODY_CONSENT && ev->consent)
		rc = check_consent(ev->consent, pol, err);
	else if (ev->body_case == CONSENTD__V1__EVENT__BODY_DATA_RIGHTS && ev->data_rights)
		rc = check_data_rights(ev->data_rights, err);
	else
		rc = fail(err, "missing_field", "consent", "needs consent or data_rights");
	if (rc < 0)
		return rc;

	/* Canonical form. The UUID text has a fixed length, so it is rewritten in place. */
	uuid_parse(ev->event_id, uuid);
	uuid_format(uuid, ev->event_id);
	if (ev->body_case == CONSENTD__V1__EVENT__BODY_CONSENT &&
	    fill_purposes(ev->consent, pol) < 0) {
		event_error_set(err, 500, "out_of_memory", "", "event: out of memory");
		return -ENOMEM;
	}
	return 0;
}
