/* Builds each event on the stack and packs it, as a producer would: the daemon's own decoding,
 * validation and pseudonymisation then run on the bytes (see gen_ledger.c). */
#include "workload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

static char *const purposes[] = { "analytics", "advertising", "functional", "personalization" };
static const char *const vendors[] = { "adform", "criteo", "google_ads", "hotjar",
				       "linkedin", "meta", "microsoft", "tiktok" };
static const char *const tenants[] = { "shop-eu", "shop-us", "news", "app" };
static const char *const languages[] = { "en", "de", "fr", "es", "nl", "it" };

static const struct event_policy policy = {
	.purposes = purposes,
	.n_purposes = ARRAY_SIZE(purposes),
	.max_future_skew_us = 5 * 60 * 1000000LL,
};

/* A fixed key: the pseudonyms are realistic HMACs, and reproducible. */
static const struct subject_keyring keyring = {
	.keys = { { .version = 1, .key = "consentd benchmark subject key!" } },
	.n = 1,
	.active = 0,
};

const struct event_policy *workload_policy(void)
{
	return &policy;
}

const struct subject_keyring *workload_keyring(void)
{
	return &keyring;
}

void workload_init(struct workload *w, uint64_t seed, uint64_t n_subjects)
{
	w->rng = seed;
	w->n_subjects = n_subjects ? n_subjects : 1;
}

/* A version 4 UUID from the benchmark's PRNG (reproducible, unlike uuid_random). */
static void random_uuid(struct workload *w, char out[UUID_STR_LEN + 1])
{
	uint8_t id[UUID_LEN];
	uint64_t a = bench_rand(&w->rng), b = bench_rand(&w->rng);

	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	uuid_format(id, out);
}

static int pick_action(struct workload *w)
{
	uint64_t r = bench_rand_below(&w->rng, 100);

	if (r < 55)
		return CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL;
	if (r < 75)
		return CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_REJECT_ALL;
	if (r < 95)
		return CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_CUSTOMIZE;
	if (r < 98)
		return CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_WITHDRAW;
	return CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_RENEW;
}

/* Everything a packed event points into lives here until it is packed. */
struct scratch {
	Consentd__V1__Subject subject;
	Consentd__V1__ConsentChange consent;
	Consentd__V1__Notice notice;
	Consentd__V1__DataRightsEvent rights;
	Consentd__V1__PurposeDecision pd[ARRAY_SIZE(purposes)];
	Consentd__V1__PurposeDecision *pp[ARRAY_SIZE(purposes)];
	Consentd__V1__VendorDecision vd[ARRAY_SIZE(vendors)];
	Consentd__V1__VendorDecision *vp[ARRAY_SIZE(vendors)];
	char account[32], email[48], device[40], request[48];
};

static void fill_subject(struct workload *w, struct scratch *s)
{
	uint64_t n = bench_rand_below(&w->rng, w->n_subjects);

	consentd__v1__subject__init(&s->subject);
	/* Device ids are stable per subject: a keyed-looking hex string. */
	snprintf(s->device, sizeof(s->device), "d-%016" PRIx64,
		 (uint64_t)(n * 0x9e3779b97f4a7c15ULL));
	s->subject.device_id = s->device;
	if (bench_rand_below(&w->rng, 100) < 30) {
		snprintf(s->account, sizeof(s->account), "u_%" PRIu64, n);
		snprintf(s->email, sizeof(s->email), "user%" PRIu64 "@example.com", n);
		s->subject.account_id = s->account;
		s->subject.email = s->email;
	}
}

static void fill_consent(struct workload *w, struct scratch *s, Consentd__V1__Event *ev)
{
	static const uint8_t notice_sha[EVENT_HASH_LEN] = "sha-256 of the banner text shown";
	Consentd__V1__ConsentChange *c = &s->consent;

	consentd__v1__consent_change__init(c);
	consentd__v1__notice__init(&s->notice);
	c->action = pick_action(w);
	c->surface = CONSENTD__V1__SURFACE__SURFACE_BANNER;
	if (bench_rand_below(&w->rng, 100) >= 85)
		c->surface = CONSENTD__V1__SURFACE__SURFACE_PREFERENCES;
	s->notice.policy_version = "2026-11-01";
	s->notice.banner_version = "b-42";
	s->notice.language = (char *)languages[bench_rand_below(&w->rng, ARRAY_SIZE(languages))];
	s->notice.content_sha256.data = (uint8_t *)notice_sha;
	s->notice.content_sha256.len = sizeof(notice_sha);
	c->notice = &s->notice;
	if (c->action == CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_CUSTOMIZE) {
		uint64_t bits = bench_rand(&w->rng);
		size_t nv = (size_t)bench_rand_below(&w->rng, 5);

		for (size_t i = 0; i < ARRAY_SIZE(purposes); i++) {
			consentd__v1__purpose_decision__init(&s->pd[i]);
			s->pd[i].purpose = purposes[i];
			s->pd[i].granted = (bits >> i) & 1;
			s->pp[i] = &s->pd[i];
		}
		c->purposes = s->pp;
		c->n_purposes = ARRAY_SIZE(purposes);
		for (size_t i = 0; i < nv; i++) {
			consentd__v1__vendor_decision__init(&s->vd[i]);
			s->vd[i].vendor = (char *)vendors[((bits >> 8) + i) % ARRAY_SIZE(vendors)];
			s->vd[i].granted = (bits >> (16 + i)) & 1;
			s->vp[i] = &s->vd[i];
		}
		c->vendors = s->vp;
		c->n_vendors = nv;
	}
	ev->body_case = CONSENTD__V1__EVENT__BODY_CONSENT;
	ev->consent = c;
}

static void fill_rights(struct workload *w, struct scratch *s, Consentd__V1__Event *ev)
{
	static const int rights[] = {
		CONSENTD__V1__RIGHT__RIGHT_ACCESS,
		CONSENTD__V1__RIGHT__RIGHT_ERASURE,
		CONSENTD__V1__RIGHT__RIGHT_PORTABILITY,
		CONSENTD__V1__RIGHT__RIGHT_OBJECTION,
	};
	Consentd__V1__DataRightsEvent *d = &s->rights;

	consentd__v1__data_rights_event__init(d);
	/* Two draws: a request_id must not repeat (the register refuses a second receipt). */
	snprintf(s->request, sizeof(s->request), "dsr-%" PRIu64 "-%" PRIu64,
		 bench_rand_below(&w->rng, 1000000000), bench_rand_below(&w->rng, 1000000000));
	d->request_id = s->request;
	d->right = rights[bench_rand_below(&w->rng, ARRAY_SIZE(rights))];
	d->stage = CONSENTD__V1__STAGE__STAGE_RECEIVED;
	d->channel = CONSENTD__V1__CHANNEL__CHANNEL_WEB;
	ev->body_case = CONSENTD__V1__EVENT__BODY_DATA_RIGHTS;
	ev->data_rights = d;
}

int workload_next(struct workload *w, int64_t now_us, struct buf *out)
{
	Consentd__V1__Event ev = CONSENTD__V1__EVENT__INIT;
	struct scratch s;
	char id[UUID_STR_LEN + 1];
	size_t len;
	int rc;

	random_uuid(w, id);
	ev.event_id = id;
	ev.occurred_at = now_us - (int64_t)bench_rand_below(&w->rng, 5000000);
	ev.tenant = (char *)tenants[bench_rand_below(&w->rng, ARRAY_SIZE(tenants))];
	fill_subject(w, &s);
	ev.subject = &s.subject;
	if (bench_rand_below(&w->rng, 100) < 97)
		fill_consent(w, &s, &ev);
	else
		fill_rights(w, &s, &ev);
	len = consentd__v1__event__get_packed_size(&ev);
	if ((rc = buf_reserve(out, len)) < 0)
		return rc;
	consentd__v1__event__pack(&ev, out->data + out->len);
	out->len += len;
	return 0;
}
