/* Data-rights state machine tests: every (state, stage, already extended) combination against
 * a table written out here, terminal states, the double extension, and the register row built
 * event by event with its due dates, extension deadline and on-time verdict. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/rights.h"
#include "util/util.h"

#define STAGE(x) CONSENTD__V1__STAGE__STAGE_##x
#define RIGHT(x) CONSENTD__V1__RIGHT__RIGHT_##x

static int64_t day_of(const char *s)
{
	int64_t d = 0;

	ck_assert_msg(deadline_day_parse(s, strlen(s), &d) == 0, "bad test date %s", s);
	return d;
}

#define ck_assert_day(got, want)                                                                   \
	do {                                                                                       \
		char got_s_[DEADLINE_DAY_STR_LEN + 1];                                             \
		deadline_day_format((got), got_s_);                                                \
		ck_assert_str_eq(got_s_, (want));                                                  \
	} while (0)

/* ---- the state machine ---- */

START_TEST(test_state_names)
{
	static const char *const names[] = {"none",	"received",  "identity_verified",
					    "extended", "fulfilled", "denied",
					    "withdrawn"};
	enum rights_state s;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		ck_assert_str_eq(rights_state_name((enum rights_state)i), names[i]);
		ck_assert_int_eq(rights_state_from_name(names[i], &s), 0);
		ck_assert_int_eq(s, i);
	}
	ck_assert_ptr_null(rights_state_name((enum rights_state)7));
	ck_assert_ptr_null(rights_state_name((enum rights_state) - 1));
	ck_assert_int_eq(rights_state_from_name("closed", &s), -EINVAL);
	ck_assert_int_eq(rights_state_from_name("Received", &s), -EINVAL);
	ck_assert_int_eq(rights_state_from_name(NULL, &s), -EINVAL);
	/* The states carry the numbers of the protobuf stages. */
	ck_assert_int_eq(RIGHTS_RECEIVED, STAGE(RECEIVED));
	ck_assert_int_eq(RIGHTS_IDENTITY_VERIFIED, STAGE(IDENTITY_VERIFIED));
	ck_assert_int_eq(RIGHTS_EXTENDED, STAGE(EXTENDED));
	ck_assert_int_eq(RIGHTS_FULFILLED, STAGE(FULFILLED));
	ck_assert_int_eq(RIGHTS_DENIED, STAGE(DENIED));
	ck_assert_int_eq(RIGHTS_WITHDRAWN, STAGE(WITHDRAWN));
	ck_assert(!rights_state_final(RIGHTS_NONE));
	ck_assert(!rights_state_final(RIGHTS_RECEIVED));
	ck_assert(!rights_state_final(RIGHTS_IDENTITY_VERIFIED));
	ck_assert(!rights_state_final(RIGHTS_EXTENDED));
	ck_assert(rights_state_final(RIGHTS_FULFILLED));
	ck_assert(rights_state_final(RIGHTS_DENIED));
	ck_assert(rights_state_final(RIGHTS_WITHDRAWN));
}
END_TEST

/* The lawful transitions as rights.h documents them, "from>to", and those allowed only while
 * the request has not been extended yet. Everything not listed must be refused. */
static const char *const lawful[] = {
    "none>received",
    "received>identity_verified",
    "received>fulfilled",
    "received>denied",
    "received>withdrawn",
    "identity_verified>fulfilled",
    "identity_verified>denied",
    "identity_verified>withdrawn",
    "extended>identity_verified",
    "extended>fulfilled",
    "extended>denied",
    "extended>withdrawn",
};
static const char *const lawful_unless_extended[] = {
    "received>extended",
    "identity_verified>extended",
};

static bool listed(const char *const *list, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], key))
			return true;
	return false;
}

/* Every state (and one past the enum) x every stage (and the unknown ones around them) x
 * already extended or not. */
START_TEST(test_transition_table)
{
	int from, stage, ext, rc, n_ok = 0, n_refused = 0;
	enum rights_state to;
	char key[64], why[200], prefix[64];
	bool want;

	for (from = 0; from <= 7; from++) {
		for (stage = -1; stage <= 7; stage++) {
			for (ext = 0; ext <= 1; ext++) {
				const char *f = rights_state_name((enum rights_state)from);
				const char *t = rights_state_name((enum rights_state)stage);

				snprintf(key, sizeof(key), "%s>%s", f ? f : "?",
					 t && stage ? t : "?");
				want = listed(lawful, ARRAY_SIZE(lawful), key) ||
				       (!ext && listed(lawful_unless_extended,
						       ARRAY_SIZE(lawful_unless_extended), key));
				to = (enum rights_state)99;
				why[0] = '\0';
				rc = rights_transition((enum rights_state)from, stage, ext, &to,
						       why, sizeof(why));
				if (want) {
					ck_assert_msg(rc == 0, "%s (ext %d) refused: %s", key, ext,
						      why);
					ck_assert_int_eq(to, stage);
					n_ok++;
					continue;
				}
				ck_assert_msg(rc == -EINVAL, "%s (ext %d) allowed", key, ext);
				ck_assert_int_eq(to, 99);
				/* The message names the current state for the 409 answer. */
				snprintf(prefix, sizeof(prefix), "request is %s",
					 f ? f : "in an unknown");
				ck_assert_msg(!strncmp(why, prefix, strlen(prefix)), "%s: \"%s\"",
					      key, why);
				n_refused++;
			}
		}
	}
	/* 12 lawful pairs both ways, 2 only when not yet extended. */
	ck_assert_int_eq(n_ok, 12 * 2 + 2);
	ck_assert_int_eq(n_ok + n_refused, 8 * 9 * 2);
}
END_TEST

START_TEST(test_transition_messages)
{
	enum rights_state to;
	char why[200];

	ck_assert_int_eq(
	    rights_transition(RIGHTS_NONE, STAGE(FULFILLED), false, &to, why, sizeof(why)),
	    -EINVAL);
	ck_assert_str_eq(why, "request is none (no event yet); its first stage must be received, "
			      "not fulfilled");
	ck_assert_int_eq(
	    rights_transition(RIGHTS_FULFILLED, STAGE(WITHDRAWN), false, &to, why, sizeof(why)),
	    -EINVAL);
	ck_assert_str_eq(why, "request is fulfilled, a final state; withdrawn may not follow");
	ck_assert_int_eq(rights_transition(RIGHTS_IDENTITY_VERIFIED, STAGE(EXTENDED), true, &to,
					   why, sizeof(why)),
			 -EINVAL);
	ck_assert_str_eq(why, "request is identity_verified and was already extended once; it may "
			      "not be extended again");
	/* The extended state itself implies the extension, whatever the flag says. */
	ck_assert_int_eq(
	    rights_transition(RIGHTS_EXTENDED, STAGE(EXTENDED), false, &to, why, sizeof(why)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "already extended"));
	ck_assert_int_eq(
	    rights_transition(RIGHTS_RECEIVED, STAGE(RECEIVED), false, &to, why, sizeof(why)),
	    -EINVAL);
	ck_assert_str_eq(why, "request is received; received may not follow it");
	ck_assert_int_eq(
	    rights_transition(RIGHTS_RECEIVED, STAGE(UNSPECIFIED), false, &to, why, sizeof(why)),
	    -EINVAL);
	ck_assert_str_eq(why, "request is received; stage 0 is unknown");
	/* No buffer for the message is fine; a short one is cut, not overflowed. */
	ck_assert_int_eq(rights_transition(RIGHTS_DENIED, STAGE(DENIED), false, &to, NULL, 0),
			 -EINVAL);
	ck_assert_int_eq(rights_transition(RIGHTS_DENIED, STAGE(DENIED), false, &to, why, 11),
			 -EINVAL);
	ck_assert_str_eq(why, "request is");
	ck_assert_int_eq(
	    rights_transition(RIGHTS_RECEIVED, STAGE(DENIED), false, NULL, why, sizeof(why)),
	    -EINVAL);
}
END_TEST

/* received -> extended -> identity_verified -> extended: the second extension is refused even
 * with a verification in between. */
START_TEST(test_double_extension)
{
	enum rights_state s = RIGHTS_NONE, to;
	bool extended = false;
	char why[200];

	ck_assert_int_eq(rights_transition(s, STAGE(RECEIVED), extended, &s, why, sizeof(why)), 0);
	ck_assert_int_eq(rights_transition(s, STAGE(EXTENDED), extended, &s, why, sizeof(why)), 0);
	extended = true;
	ck_assert_int_eq(
	    rights_transition(s, STAGE(IDENTITY_VERIFIED), extended, &s, why, sizeof(why)), 0);
	ck_assert_int_eq(s, RIGHTS_IDENTITY_VERIFIED);
	ck_assert_int_eq(rights_transition(s, STAGE(EXTENDED), extended, &to, why, sizeof(why)),
			 -EINVAL);
	ck_assert_int_eq(rights_transition(s, STAGE(FULFILLED), extended, &s, why, sizeof(why)), 0);
	ck_assert_int_eq(s, RIGHTS_FULFILLED);
}
END_TEST

/* ---- the register row ---- */

struct fixture {
	Consentd__V1__DataRightsEvent ev;
	struct rights_row row;
	struct rights_context ctx;
	char why[256];
};

static void fx_init(struct fixture *fx, const char *request_id, int right, const char *jur)
{
	Consentd__V1__DataRightsEvent init = CONSENTD__V1__DATA_RIGHTS_EVENT__INIT;

	memset(fx, 0, sizeof(*fx));
	fx->ev = init;
	fx->ev.request_id = (char *)request_id;
	fx->ev.right = (Consentd__V1__Right)right;
	fx->ev.jurisdiction = (char *)jur;
	rights_row_init(&fx->row);
}

/* Applies stage on the day "YYYY-MM-DD". */
static int fx_apply(struct fixture *fx, int stage, const char *day)
{
	fx->ev.stage = (Consentd__V1__Stage)stage;
	fx->why[0] = '\0';
	return rights_apply(&fx->row, &fx->ev, day_of(day), &fx->ctx, fx->why, sizeof(fx->why));
}

static void ck_rows_equal(const struct rights_row *a, const struct rights_row *b)
{
	ck_assert_str_eq(a->request_id, b->request_id);
	ck_assert_int_eq(a->right, b->right);
	ck_assert_ptr_eq(a->policy, b->policy);
	ck_assert_int_eq(a->state, b->state);
	ck_assert_int_eq(a->extended, b->extended);
	ck_assert_int_eq(a->received_day, b->received_day);
	ck_assert_int_eq(a->due_day, b->due_day);
	ck_assert_int_eq(a->extended_due_day, b->extended_due_day);
	ck_assert_int_eq(a->closed_day, b->closed_day);
	ck_assert_int_eq(a->outcome, b->outcome);
	ck_assert_int_eq(a->on_time, b->on_time);
}

START_TEST(test_row_init)
{
	struct rights_row row;

	memset(&row, 0x5a, sizeof(row));
	rights_row_init(&row);
	ck_assert_str_eq(row.request_id, "");
	ck_assert_ptr_null(row.policy);
	ck_assert_int_eq(row.state, RIGHTS_NONE);
	ck_assert_int_eq(row.outcome, RIGHTS_NONE);
	ck_assert(!row.extended);
	ck_assert(!row.on_time);
	ck_assert_int_eq(row.received_day, RIGHTS_NO_DAY);
	ck_assert_int_eq(row.due_day, RIGHTS_NO_DAY);
	ck_assert_int_eq(row.extended_due_day, RIGHTS_NO_DAY);
	ck_assert_int_eq(row.closed_day, RIGHTS_NO_DAY);
	ck_assert_int_eq(rights_row_due(&row), RIGHTS_NO_DAY);
	ck_assert(!rights_row_overdue(&row, day_of("2999-01-01")));
}
END_TEST

/* GDPR, the hard case: received 31 January, verified, extended on the last day of
 * February, fulfilled on 30 April. */
START_TEST(test_gdpr_lifecycle)
{
	struct fixture fx;

	fx_init(&fx, "req-1", RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-01-31"), 0);
	ck_assert_str_eq(fx.row.request_id, "req-1");
	ck_assert_int_eq(fx.row.right, RIGHT(ACCESS));
	ck_assert_str_eq(fx.row.policy->name, "gdpr");
	ck_assert_int_eq(fx.row.state, RIGHTS_RECEIVED);
	ck_assert_day(fx.row.received_day, "2025-01-31");
	ck_assert_day(fx.row.due_day, "2025-02-28");
	ck_assert_int_eq(fx.row.extended_due_day, RIGHTS_NO_DAY);
	ck_assert_int_eq(fx.row.closed_day, RIGHTS_NO_DAY);
	ck_assert_int_eq(fx.row.outcome, RIGHTS_NONE);
	ck_assert_day(rights_row_due(&fx.row), "2025-02-28");
	ck_assert(!rights_row_overdue(&fx.row, day_of("2025-02-28")));
	ck_assert(rights_row_overdue(&fx.row, day_of("2025-03-01")));

	ck_assert_int_eq(fx_apply(&fx, STAGE(IDENTITY_VERIFIED), "2025-02-10"), 0);
	ck_assert_int_eq(fx.row.state, RIGHTS_IDENTITY_VERIFIED);
	ck_assert_int_eq(fx_apply(&fx, STAGE(EXTENDED), "2025-02-28"), 0);
	ck_assert_int_eq(fx.row.state, RIGHTS_EXTENDED);
	ck_assert(fx.row.extended);
	ck_assert_day(fx.row.due_day, "2025-02-28");
	ck_assert_day(fx.row.extended_due_day, "2025-04-30");
	ck_assert_day(rights_row_due(&fx.row), "2025-04-30");
	ck_assert(!rights_row_overdue(&fx.row, day_of("2025-04-30")));
	ck_assert(rights_row_overdue(&fx.row, day_of("2025-05-01")));

	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-04-30"), 0);
	ck_assert_int_eq(fx.row.state, RIGHTS_FULFILLED);
	ck_assert_int_eq(fx.row.outcome, RIGHTS_FULFILLED);
	ck_assert_day(fx.row.closed_day, "2025-04-30");
	ck_assert(fx.row.on_time);
	ck_assert(!rights_row_overdue(&fx.row, day_of("2025-06-01")));
	ck_assert_int_eq(deadline_days_between(fx.row.received_day, fx.row.closed_day), 89);
}
END_TEST

/* Closed one day late, no extension; the same day is on time when the calendar rolls the due
 * date off the weekend. */
START_TEST(test_late_and_rolled)
{
	struct fixture fx;
	struct deadline_calendar *cal = NULL;

	fx_init(&fx, "req-2", RIGHT(ERASURE), "gdpr");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-03-05"), 0);
	ck_assert_day(fx.row.due_day, "2025-04-05");
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-04-06"), 0);
	ck_assert(!fx.row.on_time);
	ck_assert_int_eq(fx.row.outcome, RIGHTS_FULFILLED);

	ck_assert_int_eq(deadline_calendar_parse("weekend = sat,sun", 17, &cal, NULL, 0), 0);
	fx_init(&fx, "req-2", RIGHT(ERASURE), "gdpr");
	fx.ctx.calendar = cal;
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-03-05"), 0);
	ck_assert_day(fx.row.due_day, "2025-04-07");
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-04-07"), 0);
	ck_assert(fx.row.on_time);
	deadline_calendar_free(cal);
}
END_TEST

START_TEST(test_late_extension_refused)
{
	struct fixture fx;
	struct rights_row before;

	fx_init(&fx, "req-3", RIGHT(PORTABILITY), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2024-01-31"), 0);
	ck_assert_day(fx.row.due_day, "2024-02-29");
	before = fx.row;
	ck_assert_int_eq(fx_apply(&fx, STAGE(EXTENDED), "2024-03-01"), -ETIME);
	ck_assert_str_eq(fx.why, "request is received; an extension must be recorded by the "
				 "original due date 2024-02-29 under gdpr");
	ck_rows_equal(&fx.row, &before);
	/* Still open, and overdue from 1 March. */
	ck_assert(rights_row_overdue(&fx.row, day_of("2024-03-01")));
	ck_assert_int_eq(fx_apply(&fx, STAGE(DENIED), "2024-03-02"), 0);
	ck_assert(!fx.row.on_time);
	ck_assert_int_eq(fx.row.outcome, RIGHTS_DENIED);
	ck_assert(!fx.row.extended);
	ck_assert_int_eq(fx.row.extended_due_day, RIGHTS_NO_DAY);
}
END_TEST

START_TEST(test_double_extension_row)
{
	struct fixture fx;
	struct rights_row before;

	fx_init(&fx, "req-4", RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-10-31"), 0);
	ck_assert_int_eq(fx_apply(&fx, STAGE(EXTENDED), "2025-11-02"), 0);
	ck_assert_day(fx.row.extended_due_day, "2026-01-31");
	ck_assert_int_eq(fx_apply(&fx, STAGE(IDENTITY_VERIFIED), "2025-11-20"), 0);
	ck_assert_int_eq(fx.row.state, RIGHTS_IDENTITY_VERIFIED);
	ck_assert(fx.row.extended);
	ck_assert_day(rights_row_due(&fx.row), "2026-01-31");
	before = fx.row;
	ck_assert_int_eq(fx_apply(&fx, STAGE(EXTENDED), "2025-11-21"), -EINVAL);
	ck_assert_str_eq(fx.why, "request is identity_verified and was already extended once; it "
				 "may not be extended again");
	ck_rows_equal(&fx.row, &before);
	/* Fulfilled a day after the extended due date: late. */
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2026-02-01"), 0);
	ck_assert(!fx.row.on_time);
}
END_TEST

START_TEST(test_ccpa_row)
{
	struct fixture fx;
	struct deadline_calendar *cal = NULL;

	/* The configured default decides when the event names no jurisdiction. */
	fx_init(&fx, "ca-1", RIGHT(ACCESS), "");
	fx.ctx.default_jurisdiction = "ccpa";
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-11-20"), 0);
	ck_assert_str_eq(fx.row.policy->name, "ccpa");
	ck_assert_day(fx.row.due_day, "2026-01-04");
	ck_assert_int_eq(fx_apply(&fx, STAGE(EXTENDED), "2026-01-04"), 0);
	ck_assert_day(fx.row.extended_due_day, "2026-02-18");
	ck_assert_int_eq(fx_apply(&fx, STAGE(WITHDRAWN), "2026-01-10"), 0);
	ck_assert_int_eq(fx.row.outcome, RIGHTS_WITHDRAWN);
	ck_assert(fx.row.on_time);

	/* An explicit jurisdiction beats the default; a calendar rolls both due dates. */
	ck_assert_int_eq(deadline_calendar_parse("2026-01-05\n", 11, &cal, NULL, 0), 0);
	fx_init(&fx, "ca-2", RIGHT(ERASURE), "CCPA");
	fx.ctx.default_jurisdiction = "gdpr";
	fx.ctx.calendar = cal;
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-11-20"), 0);
	ck_assert_str_eq(fx.row.policy->name, "ccpa");
	ck_assert_day(fx.row.due_day, "2026-01-06"); /* Sun 4 -> Mon 5 holiday -> Tue 6 */
	ck_assert_int_eq(fx_apply(&fx, STAGE(EXTENDED), "2026-01-06"), 0);
	ck_assert_day(fx.row.extended_due_day, "2026-02-18");
	ck_assert_int_eq(fx_apply(&fx, STAGE(DENIED), "2026-02-19"), 0);
	ck_assert(!fx.row.on_time);
	ck_assert_int_eq(fx.row.outcome, RIGHTS_DENIED);
	deadline_calendar_free(cal);
}
END_TEST

START_TEST(test_row_refusals)
{
	struct fixture fx;
	struct rights_row before;
	char id[RIGHTS_REQUEST_ID_MAX + 2];

	/* The first event must be received; an unknown jurisdiction is -ENOENT. */
	fx_init(&fx, "r", RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-01-01"), -EINVAL);
	ck_assert_str_eq(fx.why, "request is none (no event yet); its first stage must be "
				 "received, not fulfilled");
	ck_assert_int_eq(fx.row.state, RIGHTS_NONE);
	fx.ev.jurisdiction = "lgpd";
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-01-01"), -ENOENT);
	ck_assert_str_eq(fx.why, "unknown jurisdiction \"lgpd\" (gdpr or ccpa)");
	ck_assert_int_eq(fx.row.state, RIGHTS_NONE);
	ck_assert_ptr_null(fx.row.policy);
	fx.ev.jurisdiction = "";
	fx.ctx.default_jurisdiction = "nowhere";
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-01-01"), -ENOENT);
	ck_assert_str_eq(fx.why, "unknown jurisdiction \"nowhere\" (gdpr or ccpa)");

	/* request_id: 1 to 128 bytes. */
	memset(id, 'x', sizeof(id));
	id[RIGHTS_REQUEST_ID_MAX + 1] = '\0';
	fx_init(&fx, id, RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-01-01"), -EINVAL);
	fx_init(&fx, "", RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-01-01"), -EINVAL);
	id[RIGHTS_REQUEST_ID_MAX] = '\0';
	fx_init(&fx, id, RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-01-01"), 0);
	ck_assert_str_eq(fx.row.request_id, id);

	/* Later events must match the request. */
	fx_init(&fx, "r-9", RIGHT(ACCESS), "");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-06-10"), 0);
	before = fx.row;
	fx.ev.request_id = "r-8";
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-06-11"), -EINVAL);
	ck_assert_str_eq(fx.why, "event of request \"r-8\" applied to request \"r-9\"");
	fx.ev.request_id = "r-9";
	fx.ev.right = RIGHT(ERASURE);
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-06-11"), -EINVAL);
	ck_assert_str_eq(fx.why, "request is received for right access; the event names right erasure");
	fx.ev.right = RIGHT(ACCESS);
	fx.ev.jurisdiction = "ccpa";
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-06-11"), -EINVAL);
	ck_assert_str_eq(fx.why, "request is received under gdpr; the event names jurisdiction "
				 "\"ccpa\"");
	fx.ev.jurisdiction = "mars";
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-06-11"), -EINVAL);
	fx.ev.jurisdiction = "";
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-06-09"), -EINVAL);
	ck_assert_str_eq(fx.why, "request is received; the event is dated before receipt");
	ck_rows_equal(&fx.row, &before);
	/* Naming the same jurisdiction again is fine, in any case. */
	fx.ev.jurisdiction = "GDPR";
	ck_assert_int_eq(fx_apply(&fx, STAGE(FULFILLED), "2025-06-10"), 0);
	ck_assert(fx.row.on_time);
	ck_assert_int_eq(deadline_days_between(fx.row.received_day, fx.row.closed_day), 0);

	/* Nothing after a final state; the row stays closed as it was. */
	before = fx.row;
	ck_assert_int_eq(fx_apply(&fx, STAGE(WITHDRAWN), "2025-06-12"), -EINVAL);
	ck_assert_str_eq(fx.why, "request is fulfilled, a final state; withdrawn may not follow");
	ck_assert_int_eq(fx_apply(&fx, STAGE(RECEIVED), "2025-06-12"), -EINVAL);
	ck_rows_equal(&fx.row, &before);

	ck_assert_int_eq(rights_apply(NULL, &fx.ev, 0, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(rights_apply(&fx.row, NULL, 0, NULL, NULL, 0), -EINVAL);
}
END_TEST

/* A rebuild from the ledger replays the same events with the same days: the same row. A NULL
 * context means gdpr without a calendar. */
START_TEST(test_replay_is_deterministic)
{
	static const struct {
		int stage;
		const char *day;
	} events[] = {
	    {STAGE(RECEIVED), "2023-11-30"},
	    {STAGE(EXTENDED), "2023-12-01"},
	    {STAGE(IDENTITY_VERIFIED), "2024-01-15"},
	    {STAGE(FULFILLED), "2024-02-29"},
	};
	struct fixture a, b;
	size_t i;

	fx_init(&a, "replay", RIGHT(RECTIFICATION), "");
	fx_init(&b, "replay", RIGHT(RECTIFICATION), "");
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		ck_assert_int_eq(fx_apply(&a, events[i].stage, events[i].day), 0);
		b.ev.stage = (Consentd__V1__Stage)events[i].stage;
		ck_assert_int_eq(rights_apply(&b.row, &b.ev, day_of(events[i].day), NULL, NULL, 0),
				 0);
		ck_rows_equal(&a.row, &b.row);
	}
	ck_assert_day(a.row.extended_due_day, "2024-02-29");
	ck_assert(a.row.on_time);
}
END_TEST

static Suite *rights_suite(void)
{
	Suite *s = suite_create("rights");
	TCase *sm = tcase_create("machine");
	TCase *rg = tcase_create("register");

	tcase_add_test(sm, test_state_names);
	tcase_add_test(sm, test_transition_table);
	tcase_add_test(sm, test_transition_messages);
	tcase_add_test(sm, test_double_extension);
	tcase_add_test(rg, test_row_init);
	tcase_add_test(rg, test_gdpr_lifecycle);
	tcase_add_test(rg, test_late_and_rolled);
	tcase_add_test(rg, test_late_extension_refused);
	tcase_add_test(rg, test_double_extension_row);
	tcase_add_test(rg, test_ccpa_row);
	tcase_add_test(rg, test_row_refusals);
	tcase_add_test(rg, test_replay_is_deterministic);
	suite_add_tcase(s, sm);
	suite_add_tcase(s, rg);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rights_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
