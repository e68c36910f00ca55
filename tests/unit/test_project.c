/* Projection deltas (compliance/project.c): a refused transition rolls its whole unit back and
 * leaves earlier units alone; the register grows past its first table size in the middle of a
 * unit and still rolls back exactly; consent state keeps the latest (occurred_at, seq) per
 * pseudonym and purpose; daily aggregates count actions and grants per notice; notices are
 * indexed once; replay skips refused events and counts them. */
#include <check.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/project.h"
#include "event/event.h"
#include "util/util.h"

#define STAGE(x) CONSENTD__V1__STAGE__STAGE_##x
#define DAY_US (86400LL * 1000000)

static const struct rights_context ctx = { "gdpr", NULL };

/* 2026-03-05T12:00:00Z plus days. */
static int64_t at(int days)
{
	return days_from_civil(2026, 3, 5) * DAY_US + 12 * 3600LL * 1000000 + days * DAY_US;
}

static char *dup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static Consentd__V1__Event *rights_ev(const char *request_id, int stage, int64_t when)
{
	Consentd__V1__Event *ev = calloc(1, sizeof(*ev));
	Consentd__V1__DataRightsEvent *d = calloc(1, sizeof(*d));

	ck_assert(ev && d);
	consentd__v1__event__init(ev);
	consentd__v1__data_rights_event__init(d);
	d->request_id = dup(request_id);
	d->right = CONSENTD__V1__RIGHT__RIGHT_ERASURE;
	d->stage = stage;
	if (stage == STAGE(EXTENDED) || stage == STAGE(DENIED))
		d->reason = dup("complex request");
	ev->event_id = dup("00000000-0000-4000-8000-000000000000");
	ev->occurred_at = when;
	ev->body_case = CONSENTD__V1__EVENT__BODY_DATA_RIGHTS;
	ev->data_rights = d;
	return ev;
}

/* A consent event for the subject whose pseudonym is 32 bytes of `who`, with purposes given as
 * "name=1,name=0". */
static Consentd__V1__Event *consent_ev(uint8_t who, int action, const char *purposes,
				       int64_t when, const char *policy)
{
	Consentd__V1__Event *ev = calloc(1, sizeof(*ev));
	Consentd__V1__ConsentChange *c = calloc(1, sizeof(*c));
	Consentd__V1__Subject *s = calloc(1, sizeof(*s));
	Consentd__V1__Pseudonym *p = calloc(1, sizeof(*p));
	Consentd__V1__Notice *n = calloc(1, sizeof(*n));
	char *list = dup(purposes), *save = NULL;

	ck_assert(ev && c && s && p && n);
	consentd__v1__event__init(ev);
	consentd__v1__consent_change__init(c);
	consentd__v1__subject__init(s);
	consentd__v1__pseudonym__init(p);
	consentd__v1__notice__init(n);
	p->hmac.len = 32;
	p->hmac.data = malloc(32);
	memset(p->hmac.data, who, 32);
	s->pseudonyms = calloc(1, sizeof(*s->pseudonyms));
	s->pseudonyms[0] = p;
	s->n_pseudonyms = 1;
	n->policy_version = dup(policy);
	c->notice = n;
	c->action = action;
	c->purposes = calloc(8, sizeof(*c->purposes));
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		Consentd__V1__PurposeDecision *d = calloc(1, sizeof(*d));
		char *eq = strchr(tok, '=');

		ck_assert(d && eq);
		consentd__v1__purpose_decision__init(d);
		*eq = '\0';
		d->purpose = dup(tok);
		d->granted = eq[1] == '1';
		c->purposes[c->n_purposes++] = d;
	}
	free(list);
	ev->event_id = dup("00000000-0000-4000-8000-000000000001");
	ev->occurred_at = when;
	ev->subject = s;
	ev->body_case = CONSENTD__V1__EVENT__BODY_CONSENT;
	ev->consent = c;
	return ev;
}

static const struct project_request *find_request(const struct project_batch *pb, const char *id)
{
	const struct project_request *q;
	size_t i = 0;

	while ((q = project_request_next(pb, &i)))
		if (!strcmp(q->row.request_id, id))
			return q;
	return NULL;
}

/* The row of id, which must exist. */
static const struct project_request *get_request(const struct project_batch *pb, const char *id)
{
	const struct project_request *q = find_request(pb, id);

	ck_assert_ptr_nonnull(q);
	return q;
}

static size_t count_requests(const struct project_batch *pb)
{
	size_t i = 0, n = 0;

	while (project_request_next(pb, &i))
		n++;
	return n;
}

/* check one event and commit it, as a unit of one */
static int apply1(struct project_batch *pb, Consentd__V1__Event *ev, uint64_t seq)
{
	char why[200];
	int rc = project_check(pb, ev, seq, why, sizeof(why));

	if (rc)
		project_rollback(pb);
	else
		project_commit(pb);
	event_release(ev);
	return rc;
}

START_TEST(test_refused_unit_rolls_back)
{
	struct project_batch pb;
	Consentd__V1__Event *unit[3];
	const struct project_request *q;
	char why[200];

	project_batch_init(&pb, &ctx);
	ck_assert_int_eq(apply1(&pb, rights_ev("r1", STAGE(RECEIVED), at(0)), 1), 0);
	/* A unit: r2 received, r1 extended, r1 extended again (refused): nothing of it stays. */
	unit[0] = rights_ev("r2", STAGE(RECEIVED), at(1));
	unit[1] = rights_ev("r1", STAGE(EXTENDED), at(2));
	unit[2] = rights_ev("r1", STAGE(EXTENDED), at(3));
	ck_assert_int_eq(project_check(&pb, unit[0], 2, why, sizeof(why)), 0);
	ck_assert_int_eq(project_check(&pb, unit[1], 3, why, sizeof(why)), 0);
	ck_assert_int_ne(project_check(&pb, unit[2], 4, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "extended") != NULL, "why names the current state: %s", why);
	project_rollback(&pb);
	for (int i = 0; i < 3; i++)
		event_release(unit[i]);
	ck_assert_ptr_null(find_request(&pb, "r2"));
	q = find_request(&pb, "r1");
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(q->row.state, RIGHTS_RECEIVED);
	ck_assert(!q->row.extended);
	ck_assert_int_eq(q->first_seq, 1);
	ck_assert_int_eq(q->last_seq, 1);
	/* r2 can still be received afterwards, and fulfilled before anything: refused. */
	ck_assert_int_eq(apply1(&pb, rights_ev("r2", STAGE(RECEIVED), at(1)), 5), 0);
	ck_assert_int_eq(apply1(&pb, rights_ev("r3", STAGE(FULFILLED), at(1)), 6), -EINVAL);
	ck_assert_ptr_null(find_request(&pb, "r3"));
	ck_assert_int_eq(count_requests(&pb), 2);
	/* Anything after fulfilled is refused. */
	ck_assert_int_eq(apply1(&pb, rights_ev("r2", STAGE(FULFILLED), at(10)), 7), 0);
	ck_assert_int_eq(apply1(&pb, rights_ev("r2", STAGE(WITHDRAWN), at(11)), 8), -EINVAL);
	q = get_request(&pb, "r2");
	ck_assert_int_eq(q->row.state, RIGHTS_FULFILLED);
	ck_assert(q->row.on_time);
	ck_assert_int_eq(q->last_seq, 7);
	project_batch_free(&pb);
}
END_TEST

/* 300 new requests in one unit cross several table sizes; the last one is refused and the
 * rollback must restore exactly the seeded state. */
START_TEST(test_growth_inside_a_unit)
{
	struct project_batch pb;
	struct rights_row seeded;
	char id[32], why[200];
	int rc = 0;

	project_batch_init(&pb, &ctx);
	rights_row_init(&seeded);
	snprintf(seeded.request_id, sizeof(seeded.request_id), "seeded");
	ck_assert_int_eq(apply1(&pb, rights_ev("seeded", STAGE(RECEIVED), at(0)), 1), 0);
	for (int i = 0; i < 300 && rc == 0; i++) {
		Consentd__V1__Event *ev = rights_ev((snprintf(id, sizeof(id), "bulk-%d", i), id),
						    STAGE(RECEIVED), at(1));

		rc = project_check(&pb, ev, 2 + (uint64_t)i, why, sizeof(why));
		event_release(ev);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(count_requests(&pb), 301);
	{
		Consentd__V1__Event *bad = rights_ev("seeded", STAGE(RECEIVED), at(2));

		ck_assert_int_ne(project_check(&pb, bad, 400, why, sizeof(why)), 0);
		event_release(bad);
	}
	project_rollback(&pb);
	ck_assert_int_eq(count_requests(&pb), 1);
	ck_assert_ptr_nonnull(find_request(&pb, "seeded"));
	ck_assert_ptr_null(find_request(&pb, "bulk-0"));
	ck_assert_ptr_null(find_request(&pb, "bulk-299"));
	project_batch_free(&pb);
}
END_TEST

START_TEST(test_seeded_row_is_judged)
{
	struct project_batch pb;
	struct rights_row row;
	Consentd__V1__Event *ev = rights_ev("old", STAGE(RECEIVED), at(0));
	char why[200];

	/* A row as loaded from the database: already fulfilled. */
	rights_row_init(&row);
	ck_assert_int_eq(rights_apply(&row, ev->data_rights, at(0) / DAY_US, &ctx, why, sizeof(why)), 0);
	event_release(ev);
	ev = rights_ev("old", STAGE(FULFILLED), at(3));
	ck_assert_int_eq(rights_apply(&row, ev->data_rights, at(3) / DAY_US, &ctx, why, sizeof(why)), 0);
	event_release(ev);
	project_batch_init(&pb, &ctx);
	ck_assert_int_eq(project_seed_request(&pb, &row, 10, 12), 0);
	ck_assert_int_eq(count_requests(&pb), 0); /* seeded rows are not written back unchanged */
	ck_assert_int_eq(apply1(&pb, rights_ev("old", STAGE(DENIED), at(4)), 20), -EINVAL);
	ck_assert_int_eq(count_requests(&pb), 0);
	project_batch_free(&pb);
}
END_TEST

/* The decision in force for subject `who` and purpose, among the changed rows; NULL if none. */
static const struct project_decision *find_consent(const struct project_batch *pb, uint8_t who,
						   const char *purpose)
{
	const struct project_consent *c;
	size_t i = 0;

	while ((c = project_consent_next(pb, &i)))
		for (size_t k = 0; c->pseudonym[0] == who && k < c->n; k++)
			if (!strcmp(c->d[k].purpose, purpose))
				return &c->d[k];
	return NULL;
}

static const struct project_decision *get_consent(const struct project_batch *pb, uint8_t who,
						  const char *purpose)
{
	const struct project_decision *c = find_consent(pb, who, purpose);

	ck_assert_ptr_nonnull(c);
	return c;
}

static void add(struct project_batch *pb, Consentd__V1__Event *ev, uint64_t seq)
{
	ck_assert_int_eq(project_add(pb, ev, seq), 0);
	event_release(ev);
}

START_TEST(test_consent_state_latest_wins)
{
	struct project_batch pb;
	const struct project_decision *c;

	project_batch_init(&pb, &ctx);
	add(&pb, consent_ev(1, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1,essential=1", at(5), "v1"), 1);
	/* Arrives later (seq 2) but happened earlier: does not override. */
	add(&pb, consent_ev(1, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_REJECT_ALL,
			    "analytics=0,essential=1", at(4), "v1"), 2);
	c = find_consent(&pb, 1, "analytics");
	ck_assert_ptr_nonnull(c);
	ck_assert(c->granted);
	ck_assert_int_eq(c->seq, 1);
	/* Same instant: the higher seq wins. */
	add(&pb, consent_ev(1, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_WITHDRAW,
			    "analytics=0,essential=1", at(5), "v1"), 3);
	c = get_consent(&pb, 1, "analytics");
	ck_assert(!c->granted);
	ck_assert_int_eq(c->seq, 3);
	ck_assert_int_eq(c->occurred_at, at(5));
	/* Another subject is its own row. */
	add(&pb, consent_ev(2, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1", at(1), "v1"), 4);
	ck_assert(get_consent(&pb, 2, "analytics")->granted);
	ck_assert(!get_consent(&pb, 1, "analytics")->granted);
	project_batch_free(&pb);
}
END_TEST

/* 250 subjects x 3 purposes: the table grows several times and keeps every row. */
START_TEST(test_consent_state_grows)
{
	struct project_batch pb;
	const struct project_consent *c;
	size_t i = 0, rows = 0, decisions = 0;

	project_batch_init(&pb, &ctx);
	for (int s = 0; s < 250; s++)
		add(&pb, consent_ev((uint8_t)s, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_CUSTOMIZE,
				    "analytics=1,essential=1,functional=0", at(0), "v1"),
		    (uint64_t)s + 1);
	while ((c = project_consent_next(&pb, &i))) {
		rows++;
		decisions += c->n;
	}
	ck_assert_int_eq(rows, 250);
	ck_assert_int_eq(decisions, 750);
	ck_assert(get_consent(&pb, 249, "analytics")->granted);
	ck_assert(!get_consent(&pb, 17, "functional")->granted);
	project_batch_free(&pb);
}
END_TEST

/* A stored state is merged with the batch's events; a late event changes nothing, and the row
 * is not written back unchanged. The JSON form round-trips. */
START_TEST(test_consent_state_seeded_and_json)
{
	struct project_batch pb;
	struct project_decision stored[2] = {
		{ .purpose = "analytics", .granted = false, .seq = 40, .occurred_at = 0 },
		{ .purpose = "advertising", .granted = true, .seq = 41, .occurred_at = 0 },
	};
	const struct project_consent *c;
	struct project_decision *back;
	uint8_t who[32];
	size_t i = 0, n;
	char *json;

	stored[0].occurred_at = at(3);
	stored[1].occurred_at = at(3) + 1;
	memset(who, 7, sizeof(who));
	project_batch_init(&pb, &ctx);
	ck_assert_int_eq(project_seed_consent(&pb, who, stored, 2), 0);
	ck_assert_ptr_null(project_consent_next(&pb, &i)); /* seeded, not changed */
	add(&pb, consent_ev(7, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1,advertising=1", at(2), "v1"), 50); /* happened earlier */
	i = 0;
	ck_assert_ptr_null(project_consent_next(&pb, &i));
	add(&pb, consent_ev(7, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_CUSTOMIZE,
			    "functional=1,analytics=1", at(4), "v1"), 51);
	ck_assert(get_consent(&pb, 7, "analytics")->granted);
	ck_assert_int_eq(get_consent(&pb, 7, "advertising")->seq, 41);
	i = 0;
	c = project_consent_next(&pb, &i);
	ck_assert_ptr_nonnull(c);
	json = project_consent_json(c);
	ck_assert_ptr_nonnull(json);
	ck_assert_str_eq(json,
			 "{\"advertising\":{\"granted\":true,\"occurred_at\":\"2026-03-08T12:00:00.000001Z\","
			 "\"seq\":41},\"analytics\":{\"granted\":true,\"occurred_at\":"
			 "\"2026-03-09T12:00:00Z\",\"seq\":51},\"functional\":{\"granted\":true,"
			 "\"occurred_at\":\"2026-03-09T12:00:00Z\",\"seq\":51}}");
	ck_assert_int_eq(project_consent_parse(json, strlen(json), &back, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(back[0].purpose, "advertising");
	ck_assert_int_eq(back[0].occurred_at, at(3) + 1);
	ck_assert_int_eq(back[2].seq, 51);
	free(back);
	free(json);
	ck_assert_int_eq(project_consent_parse("[]", 2, &back, &n), -EINVAL);
	ck_assert_int_eq(project_consent_parse("{\"a\":{\"granted\":1}}", 20, &back, &n), -EINVAL);
	project_batch_free(&pb);
}
END_TEST

static const struct project_daily *find_daily(const struct project_batch *pb, const char *policy,
					      const char *name, bool is_purpose)
{
	for (size_t i = 0; i < pb->n_daily; i++)
		if (!strcmp(pb->daily[i].policy_version, policy) && !strcmp(pb->daily[i].name, name) &&
		    pb->daily[i].is_purpose == is_purpose)
			return &pb->daily[i];
	return NULL;
}

START_TEST(test_daily_aggregates)
{
	struct project_batch pb;
	const struct project_daily *d;

	project_batch_init(&pb, &ctx);
	add(&pb, consent_ev(1, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1,essential=1", at(0), "v1"), 1);
	add(&pb, consent_ev(2, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_REJECT_ALL,
			    "analytics=0,essential=1", at(0), "v1"), 2);
	add(&pb, consent_ev(3, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1,essential=1", at(0), "v1"), 3);
	add(&pb, consent_ev(4, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1,essential=1", at(0), "v2"), 4);
	d = find_daily(&pb, "v1", "accept_all", false);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->events, 2);
	ck_assert_int_eq(d->day, days_from_civil(2026, 3, 5));
	ck_assert_int_eq(find_daily(&pb, "v1", "reject_all", false)->events, 1);
	d = find_daily(&pb, "v1", "analytics", true);
	ck_assert_int_eq(d->events, 3);
	ck_assert_int_eq(d->granted, 2);
	d = find_daily(&pb, "v2", "analytics", true);
	ck_assert_int_eq(d->events, 1);
	ck_assert_int_eq(d->granted, 1);
	/* Another day is another row. */
	add(&pb, consent_ev(5, CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_ACCEPT_ALL,
			    "analytics=1", at(1), "v2"), 5);
	ck_assert_int_eq(find_daily(&pb, "v2", "analytics", true)->events, 1);
	ck_assert_int_eq(pb.n_daily, 9); /* day 0: 4 for v1, 3 for v2; day 1: 2 */
	project_batch_free(&pb);
}
END_TEST

START_TEST(test_notice_indexed_once)
{
	static const char text[] = "<p>We use cookies</p>";
	uint8_t sha[32];
	unsigned len = 0;
	struct project_batch pb;
	struct event_error err;
	Consentd__V1__Event *ev;

	ck_assert(EVP_Digest(text, strlen(text), sha, &len, EVP_sha256(), NULL));
	project_batch_init(&pb, &ctx);
	ck_assert_int_eq(event_notice_new((const uint8_t *)text, strlen(text), "text/html", sha, at(0),
					  &ev, &err), 0);
	ck_assert_int_eq(project_add(&pb, ev, 7), 0);
	ck_assert_int_eq(project_add(&pb, ev, 9), 0);
	event_release(ev);
	ck_assert_int_eq(pb.n_notices, 1);
	ck_assert_int_eq(pb.notices[0].seq, 7);
	ck_assert_int_eq(pb.notices[0].size, strlen(text));
	ck_assert_str_eq(pb.notices[0].content_type, "text/html");
	ck_assert_mem_eq(pb.notices[0].sha256, sha, 32);
	project_batch_free(&pb);
}
END_TEST

START_TEST(test_replay_skips_refused)
{
	struct project_batch pb;
	Consentd__V1__Event *evs[] = {
		rights_ev("a", STAGE(FULFILLED), at(0)), /* before receipt: skipped */
		rights_ev("a", STAGE(RECEIVED), at(1)),
		rights_ev("a", STAGE(RECEIVED), at(2)), /* twice: skipped */
		rights_ev("a", STAGE(FULFILLED), at(40)),
	};

	project_batch_init(&pb, &ctx);
	for (size_t i = 0; i < ARRAY_SIZE(evs); i++) {
		ck_assert_int_eq(project_replay(&pb, evs[i], i + 1), 0);
		event_release(evs[i]);
	}
	ck_assert_int_eq(pb.skipped, 2);
	ck_assert_int_eq(get_request(&pb, "a")->row.state, RIGHTS_FULFILLED);
	ck_assert(!get_request(&pb, "a")->row.on_time); /* 6 March + 1 month < 14 April */
	ck_assert_int_eq(get_request(&pb, "a")->first_seq, 2);
	project_batch_free(&pb);
}
END_TEST

static Suite *project_suite(void)
{
	Suite *s = suite_create("project");
	TCase *r = tcase_create("register");
	TCase *c = tcase_create("consent");

	tcase_add_test(r, test_refused_unit_rolls_back);
	tcase_add_test(r, test_growth_inside_a_unit);
	tcase_add_test(r, test_seeded_row_is_judged);
	tcase_add_test(r, test_replay_skips_refused);
	tcase_add_test(c, test_consent_state_latest_wins);
	tcase_add_test(c, test_consent_state_grows);
	tcase_add_test(c, test_consent_state_seeded_and_json);
	tcase_add_test(c, test_daily_aggregates);
	tcase_add_test(c, test_notice_indexed_once);
	suite_add_tcase(s, r);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(project_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
