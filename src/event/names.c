/* JSON names of the protobuf enums: one table per enum, read both ways, so that a name can never
 * decode to a value that would not encode back to the same name. */
#include "event/event.h"

#include <errno.h>
#include <string.h>

struct enum_name {
	int value;
	const char *name;
};

static const struct enum_name actions[] = {
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL, "accept_all" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_REJECT_ALL, "reject_all" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_CUSTOMIZE, "customize" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_WITHDRAW, "withdraw" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_DISMISS, "dismiss" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_RENEW, "renew" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_EXPIRE, "expire" },
	{ CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_GPC, "gpc" },
};

static const struct enum_name surfaces[] = {
	{ CONSENTD__V1__SURFACE__SURFACE_BANNER, "banner" },
	{ CONSENTD__V1__SURFACE__SURFACE_PREFERENCES, "preferences" },
	{ CONSENTD__V1__SURFACE__SURFACE_ACCOUNT_SETTINGS, "account_settings" },
	{ CONSENTD__V1__SURFACE__SURFACE_API, "api" },
	{ CONSENTD__V1__SURFACE__SURFACE_SUPPORT, "support" },
};

static const struct enum_name rights[] = {
	{ CONSENTD__V1__RIGHT__RIGHT_ACCESS, "access" },
	{ CONSENTD__V1__RIGHT__RIGHT_RECTIFICATION, "rectification" },
	{ CONSENTD__V1__RIGHT__RIGHT_ERASURE, "erasure" },
	{ CONSENTD__V1__RIGHT__RIGHT_RESTRICTION, "restriction" },
	{ CONSENTD__V1__RIGHT__RIGHT_PORTABILITY, "portability" },
	{ CONSENTD__V1__RIGHT__RIGHT_OBJECTION, "objection" },
	{ CONSENTD__V1__RIGHT__RIGHT_AUTOMATED_DECISION, "automated_decision" },
	{ CONSENTD__V1__RIGHT__RIGHT_WITHDRAW_CONSENT, "withdraw_consent" },
	{ CONSENTD__V1__RIGHT__RIGHT_COMPLAINT, "complaint" },
};

static const struct enum_name stages[] = {
	{ CONSENTD__V1__STAGE__STAGE_RECEIVED, "received" },
	{ CONSENTD__V1__STAGE__STAGE_IDENTITY_VERIFIED, "identity_verified" },
	{ CONSENTD__V1__STAGE__STAGE_EXTENDED, "extended" },
	{ CONSENTD__V1__STAGE__STAGE_FULFILLED, "fulfilled" },
	{ CONSENTD__V1__STAGE__STAGE_DENIED, "denied" },
	{ CONSENTD__V1__STAGE__STAGE_WITHDRAWN, "withdrawn" },
};

static const struct enum_name channels[] = {
	{ CONSENTD__V1__CHANNEL__CHANNEL_EMAIL, "email" },
	{ CONSENTD__V1__CHANNEL__CHANNEL_WEB, "web" },
	{ CONSENTD__V1__CHANNEL__CHANNEL_SUPPORT, "support" },
	{ CONSENTD__V1__CHANNEL__CHANNEL_API, "api" },
};

static const struct enum_name subject_kinds[] = {
	{ CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID, "account_id" },
	{ CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL, "email" },
	{ CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID, "device_id" },
};

/* The UNSPECIFIED (0) values are deliberately absent: they have no JSON name. */
static const char *name_of(const struct enum_name *t, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

static int value_of(const struct enum_name *t, size_t n, const char *name)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return t[i].value;
	return -EINVAL;
}

#define ENUM_NAMES(fn, table)                                                                      \
	const char *event_##fn##_name(int value)                                                   \
	{                                                                                          \
		return name_of(table, ARRAY_SIZE(table), value);                                   \
	}                                                                                          \
	int event_##fn##_value(const char *name)                                                   \
	{                                                                                          \
		return value_of(table, ARRAY_SIZE(table), name);                                   \
	}

ENUM_NAMES(action, actions)
ENUM_NAMES(surface, surfaces)
ENUM_NAMES(right, rights)
ENUM_NAMES(stage, stages)
ENUM_NAMES(channel, channels)
ENUM_NAMES(subject_kind, subject_kinds)
