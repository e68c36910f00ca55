/* Deadline tests: GDPR calendar-month periods at month ends and in leap years, the extension
 * read as three months from receipt, CCPA day counts, the working-day calendar (parsing and
 * rolling), and a sweep over three centuries against an oracle built on libc's timegm. */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compliance/deadline.h"
#include "util/util.h"

#define NO_DAY INT64_MIN

/* The civil day of "YYYY-MM-DD"; aborts the test on a malformed literal. */
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

static const struct deadline_policy *policy(const char *name)
{
	const struct deadline_policy *p = NULL;

	ck_assert_int_eq(deadline_policy_find(name, &p), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct deadline_calendar *calendar(const char *text)
{
	struct deadline_calendar *cal = NULL;
	char err[160] = "";

	ck_assert_msg(deadline_calendar_parse(text, strlen(text), &cal, err, sizeof(err)) == 0,
		      "calendar refused: %s", err);
	ck_assert_ptr_nonnull(cal);
	return cal;
}

/* receipt, due, extended due */
static const char *const gdpr_cases[][3] = {
    {"2025-03-05", "2025-04-05", "2025-06-05"}, /* the regulation's own example */
    {"2025-01-31", "2025-02-28", "2025-04-30"}, /* 31 Jan: last day of Feb; ext. 30 Apr */
    {"2024-01-31", "2024-02-29", "2024-04-30"}, /* leap year */
    {"2025-01-30", "2025-02-28", "2025-04-30"},
    {"2024-01-30", "2024-02-29", "2024-04-30"},
    {"2025-01-29", "2025-02-28", "2025-04-29"},
    {"2024-01-29", "2024-02-29", "2024-04-29"},
    {"2025-01-28", "2025-02-28", "2025-04-28"},
    {"2025-02-28", "2025-03-28", "2025-05-28"}, /* same number, not "last day" */
    {"2024-02-29", "2024-03-29", "2024-05-29"},
    {"2025-03-31", "2025-04-30", "2025-06-30"},
    {"2025-05-31", "2025-06-30", "2025-08-31"}, /* ext. not 30 Jun + 2 = 30 Aug */
    {"2025-10-31", "2025-11-30", "2026-01-31"}, /* ext. not 30 Nov + 2 = 30 Jan */
    {"2025-11-30", "2025-12-30", "2026-02-28"}, /* across the year end */
    {"2023-11-30", "2023-12-30", "2024-02-29"},
    {"2025-12-31", "2026-01-31", "2026-03-31"},
    {"2023-12-31", "2024-01-31", "2024-03-31"},
    {"2025-12-01", "2026-01-01", "2026-03-01"},
    {"2100-01-31", "2100-02-28", "2100-04-30"}, /* 2100 is not a leap year */
    {"2099-11-29", "2099-12-29", "2100-02-28"},
    {"2000-01-31", "2000-02-29", "2000-04-30"}, /* 2000 is */
    {"1999-11-30", "1999-12-30", "2000-02-29"},
    {"1969-12-31", "1970-01-31", "1970-03-31"}, /* before the epoch */
};

START_TEST(test_gdpr_months)
{
	const struct deadline_policy *p = policy("gdpr");
	int64_t rcv = day_of(gdpr_cases[_i][0]);

	ck_assert_day(deadline_due(p, rcv, false, NULL), gdpr_cases[_i][1]);
	ck_assert_day(deadline_due(p, rcv, true, NULL), gdpr_cases[_i][2]);
}
END_TEST

static const char *const ccpa_cases[][3] = {
    {"2025-01-01", "2025-02-15", "2025-04-01"}, {"2025-12-01", "2026-01-15", "2026-03-01"},
    {"2025-11-20", "2026-01-04", "2026-02-18"}, /* across the year end */
    {"2024-02-01", "2024-03-17", "2024-05-01"}, /* through 29 Feb */
    {"2025-02-01", "2025-03-18", "2025-05-02"}, {"2023-12-31", "2024-02-14", "2024-03-30"},
    {"2024-12-31", "2025-02-14", "2025-03-31"}, {"2025-02-14", "2025-03-31", "2025-05-15"},
};

START_TEST(test_ccpa_days)
{
	const struct deadline_policy *p = policy("ccpa");
	int64_t rcv = day_of(ccpa_cases[_i][0]);

	ck_assert_day(deadline_due(p, rcv, false, NULL), ccpa_cases[_i][1]);
	ck_assert_day(deadline_due(p, rcv, true, NULL), ccpa_cases[_i][2]);
	ck_assert_int_eq(deadline_days_between(rcv, deadline_due(p, rcv, false, NULL)), 45);
	ck_assert_int_eq(deadline_days_between(rcv, deadline_due(p, rcv, true, NULL)), 90);
}
END_TEST

START_TEST(test_policy_find)
{
	const struct deadline_policy *p = NULL, *g = policy("gdpr"), *c = policy("ccpa");

	ck_assert_str_eq(g->name, "gdpr");
	ck_assert_int_eq(g->unit, DEADLINE_UNIT_MONTHS);
	ck_assert_uint_eq(g->period, 1);
	ck_assert_uint_eq(g->extension, 2);
	ck_assert_str_eq(c->name, "ccpa");
	ck_assert_int_eq(c->unit, DEADLINE_UNIT_DAYS);
	ck_assert_uint_eq(c->period, 45);
	ck_assert_uint_eq(c->extension, 45);

	ck_assert_int_eq(deadline_policy_find("GDPR", &p), 0);
	ck_assert_ptr_eq(p, g);
	ck_assert_int_eq(deadline_policy_find("Ccpa", &p), 0);
	ck_assert_ptr_eq(p, c);
	ck_assert_int_eq(deadline_policy_find("lgpd", &p), -ENOENT);
	ck_assert_int_eq(deadline_policy_find("gdp", &p), -ENOENT);
	ck_assert_int_eq(deadline_policy_find("gdprx", &p), -ENOENT);
	ck_assert_int_eq(deadline_policy_find("", &p), -ENOENT);
	ck_assert_int_eq(deadline_policy_find(NULL, &p), -EINVAL);
	ck_assert_int_eq(deadline_policy_find("gdpr", NULL), -EINVAL);

	p = NULL;
	ck_assert_int_eq(deadline_policy_resolve("", NULL, &p), 0);
	ck_assert_ptr_eq(p, g);
	ck_assert_int_eq(deadline_policy_resolve(NULL, "", &p), 0);
	ck_assert_ptr_eq(p, g);
	ck_assert_int_eq(deadline_policy_resolve("", "ccpa", &p), 0);
	ck_assert_ptr_eq(p, c);
	ck_assert_int_eq(deadline_policy_resolve("gdpr", "ccpa", &p), 0);
	ck_assert_ptr_eq(p, g);
	ck_assert_int_eq(deadline_policy_resolve("", "nope", &p), -ENOENT);
	ck_assert_int_eq(deadline_policy_resolve("nope", "gdpr", &p), -ENOENT);
}
END_TEST

START_TEST(test_extension_in_time)
{
	const struct deadline_policy *g = policy("gdpr"), *c = policy("ccpa");
	const struct deadline_policy none = {"none", DEADLINE_UNIT_DAYS, 30, 0};
	struct deadline_calendar *cal = calendar("weekend = sat,sun\n");
	int64_t rcv = day_of("2025-01-31"), due = day_of("2025-02-28");

	/* GDPR: on or before the original due date, not before receipt. */
	ck_assert(deadline_extension_in_time(g, rcv, rcv, NULL));
	ck_assert(deadline_extension_in_time(g, rcv, due - 1, NULL));
	ck_assert(deadline_extension_in_time(g, rcv, due, NULL));
	ck_assert(!deadline_extension_in_time(g, rcv, due + 1, NULL));
	ck_assert(!deadline_extension_in_time(g, rcv, rcv - 1, NULL));

	/* 5 March 2025 -> Saturday 5 April, rolled to Monday 7 April: the rolled day is the
	 * deadline the extension must meet. */
	rcv = day_of("2025-03-05");
	ck_assert(!deadline_extension_in_time(g, rcv, day_of("2025-04-07"), NULL));
	ck_assert(deadline_extension_in_time(g, rcv, day_of("2025-04-07"), cal));
	ck_assert(!deadline_extension_in_time(g, rcv, day_of("2025-04-08"), cal));

	/* CCPA: within the first 45 days. */
	rcv = day_of("2025-12-01");
	ck_assert(deadline_extension_in_time(c, rcv, rcv + 45, NULL));
	ck_assert(!deadline_extension_in_time(c, rcv, rcv + 46, NULL));

	/* A policy without an extension never grants one, and "extended" changes nothing. */
	ck_assert(!deadline_extension_in_time(&none, rcv, rcv, NULL));
	ck_assert_int_eq(deadline_due(&none, rcv, true, NULL), rcv + 30);
	ck_assert_int_eq(deadline_due(&none, rcv, false, NULL), rcv + 30);
	deadline_calendar_free(cal);
}
END_TEST

START_TEST(test_on_time_and_between)
{
	int64_t due = day_of("2025-04-30");

	ck_assert(deadline_on_time(due, due));
	ck_assert(deadline_on_time(due, due - 1));
	ck_assert(!deadline_on_time(due, due + 1));
	ck_assert_int_eq(deadline_days_between(day_of("2024-12-31"), day_of("2025-01-01")), 1);
	ck_assert_int_eq(deadline_days_between(day_of("2024-01-01"), day_of("2025-01-01")), 366);
	ck_assert_int_eq(deadline_days_between(day_of("2025-01-01"), day_of("2026-01-01")), 365);
	ck_assert_int_eq(deadline_days_between(day_of("2025-03-01"), day_of("2025-02-01")), -28);
	ck_assert_int_eq(deadline_days_between(due, due), 0);
}
END_TEST

START_TEST(test_day_conversions)
{
	const int64_t us_day = INT64_C(86400000000);
	int64_t us = 0, d = 0;
	char s[DEADLINE_DAY_STR_LEN + 1];

	ck_assert_int_eq(deadline_day_from_us(0), 0);
	ck_assert_int_eq(deadline_day_from_us(us_day - 1), 0);
	ck_assert_int_eq(deadline_day_from_us(us_day), 1);
	ck_assert_int_eq(deadline_day_from_us(-1), -1);
	ck_assert_int_eq(deadline_day_from_us(-us_day), -1);
	ck_assert_int_eq(deadline_day_from_us(-us_day - 1), -2);
	ck_assert_int_eq(rfc3339_parse("2025-03-05T23:59:59.999999Z", &us), 0);
	ck_assert_day(deadline_day_from_us(us), "2025-03-05");
	/* Receipt is counted in UTC: 00:30 in UTC+1 is still the previous UTC day. */
	ck_assert_int_eq(rfc3339_parse("2025-03-06T00:30:00+01:00", &us), 0);
	ck_assert_day(deadline_day_from_us(us), "2025-03-05");
	ck_assert_int_eq(rfc3339_parse("1969-12-31T23:59:59Z", &us), 0);
	ck_assert_day(deadline_day_from_us(us), "1969-12-31");

	ck_assert_int_eq(deadline_day_parse("1970-01-01", 10, &d), 0);
	ck_assert_int_eq(d, 0);
	ck_assert_int_eq(deadline_day_parse("2024-02-29", 10, &d), 0);
	ck_assert_int_eq(d, days_from_civil(2024, 2, 29));
	ck_assert_int_eq(deadline_day_parse("2000-02-29", 10, &d), 0);
	/* The length bounds the text: a date followed by more bytes parses when len says 10. */
	ck_assert_int_eq(deadline_day_parse("2025-01-02junk", 10, &d), 0);
	ck_assert_int_eq(d, days_from_civil(2025, 1, 2));
	d = 7;
	ck_assert_int_eq(deadline_day_parse("2025-02-29", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2100-02-29", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-13-01", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-00-10", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-04-31", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-04-00", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025/04/01", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-4-01", 9, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-04-0a", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("+025-04-01", 10, &d), -EINVAL);
	ck_assert_int_eq(deadline_day_parse("2025-04-011", 11, &d), -EINVAL);
	ck_assert_int_eq(d, 7);

	deadline_day_format(0, s);
	ck_assert_str_eq(s, "1970-01-01");
	deadline_day_format(days_from_civil(2100, 12, 31), s);
	ck_assert_str_eq(s, "2100-12-31");
	deadline_day_format(-1, s);
	ck_assert_str_eq(s, "1969-12-31");
}
END_TEST

START_TEST(test_calendar_parse)
{
	static const char text[] = "# public holidays, Germany (federal)\r\n"
				   "2025-12-26   # Boxing Day, listed out of order\r\n"
				   "\r\n"
				   "  2025-12-25\t\r\n"
				   "2025-12-25\n"
				   "WEEKEND = Fri , saturday\n"
				   "   # indented comment\n"
				   "2026-01-01";
	struct deadline_calendar *cal = calendar(text);

	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-25")));
	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-26")));
	ck_assert(!deadline_is_working_day(cal, day_of("2026-01-01")));
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-24")));
	/* The weekend is exactly Friday and Saturday now. */
	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-12"))); /* Friday */
	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-13"))); /* Saturday */
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-14")));	/* Sunday */
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-15")));	/* Monday */
	deadline_calendar_free(cal);

	/* Defaults: an empty text is a Saturday-Sunday weekend without holidays. */
	cal = calendar("");
	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-13")));
	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-14")));
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-12")));
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-25")));
	deadline_calendar_free(cal);

	cal = calendar("weekend = none\n");
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-13")));
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-14")));
	deadline_calendar_free(cal);

	/* Every day is a working day without a calendar. */
	ck_assert(deadline_is_working_day(NULL, day_of("2025-12-13")));
	ck_assert_int_eq(deadline_roll(NULL, day_of("2025-12-13")), day_of("2025-12-13"));
}
END_TEST

START_TEST(test_calendar_len_bounds_text)
{
	static const char text[] = "2025-12-25\n2025-12-26\n";
	struct deadline_calendar *cal = NULL;

	/* Only the first line is inside len; the rest must not be read. */
	ck_assert_int_eq(deadline_calendar_parse(text, 11, &cal, NULL, 0), 0);
	ck_assert(!deadline_is_working_day(cal, day_of("2025-12-25")));
	ck_assert(deadline_is_working_day(cal, day_of("2025-12-26")));
	deadline_calendar_free(cal);
	/* A cut in the middle of a date is an error. */
	cal = NULL;
	ck_assert_int_eq(deadline_calendar_parse(text, 15, &cal, NULL, 0), -EINVAL);
	ck_assert_ptr_null(cal);
}
END_TEST

/* text, the start of the expected message */
static const char *const bad_calendars[][2] = {
    {"2025-02-29\n", "line 1: \"2025-02-29\" is not a date"},
    {"2025-01-01\n# ok\n2025-13-01\n", "line 3: \"2025-13-01\" is not a date"},
    {"25-12-25\n", "line 1: \"25-12-25\" is not a date"},
    {"2025-12-25 2025-12-26\n", "line 1: \"2025-12-25 2025-12-26\" is not a date"},
    {"holidays = 2025-12-25\n", "line 1: unknown option \"holidays\""},
    {"weekend = sat\nweekend = sun\n", "line 2: weekend given twice"},
    {"weekend = sat,sonntag\n", "line 1: \"sonntag\" is not a weekday"},
    {"weekend = sat,,sun\n", "line 1: \"\" is not a weekday"},
    {"weekend =\n", "line 1: \"\" is not a weekday"},
    {"weekend = mon,tue,wed,thu,fri,sat,sun\n", "line 1: a weekend of all seven days"},
    {"\n\n2025-12-25\0\n", "line 3: NUL byte"},
};

START_TEST(test_calendar_rejects)
{
	const char *text = bad_calendars[_i][0], *want = bad_calendars[_i][1];
	struct deadline_calendar *cal = NULL;
	char err[160] = "";
	/* The NUL case needs its length from the literal, not strlen. */
	size_t len = strstr(want, "NUL") ? 14 : strlen(text);

	ck_assert_int_eq(deadline_calendar_parse(text, len, &cal, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(cal);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "got \"%s\", want \"%s...\"", err, want);
}
END_TEST

START_TEST(test_calendar_args)
{
	struct deadline_calendar *cal = NULL;
	char err[8];

	ck_assert_int_eq(deadline_calendar_parse(NULL, 3, &cal, NULL, 0), -EINVAL);
	ck_assert_int_eq(deadline_calendar_parse("", 0, NULL, NULL, 0), -EINVAL);
	/* A message longer than err is cut, not overflowed. */
	ck_assert_int_eq(deadline_calendar_parse("bogus", 5, &cal, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "line 1:");
	ck_assert_ptr_null(cal);
	deadline_calendar_free(NULL);
}
END_TEST

START_TEST(test_rolling)
{
	const struct deadline_policy *g = policy("gdpr"), *c = policy("ccpa");
	struct deadline_calendar *cal = calendar("2025-04-18 # Good Friday\n"
						 "2025-04-21 # Easter Monday\n"
						 "2025-12-25\n2025-12-26\n"
						 "2026-01-01\n2026-01-02\n");

	/* Due on a Saturday: Monday. Without a calendar: the Saturday. */
	ck_assert_day(deadline_due(g, day_of("2025-03-05"), false, NULL), "2025-04-05");
	ck_assert_day(deadline_due(g, day_of("2025-03-05"), false, cal), "2025-04-07");
	/* The extension counts from receipt, not from the rolled day (Thursday 5 June). */
	ck_assert_day(deadline_due(g, day_of("2025-03-05"), true, cal), "2025-06-05");
	/* Due on a Saturday whose Monday is a holiday: Tuesday. */
	ck_assert_day(deadline_due(g, day_of("2025-03-19"), false, cal), "2025-04-22");
	/* Due on a holiday Friday, then weekend, then a holiday Monday: Tuesday. */
	ck_assert_day(deadline_due(g, day_of("2025-03-18"), false, cal), "2025-04-22");
	/* Consecutive holidays Thursday and Friday, then the weekend: Monday. */
	ck_assert_day(deadline_due(g, day_of("2025-11-25"), false, cal), "2025-12-29");
	/* Extended due on Saturday 31 January 2026: Monday 2 February. */
	ck_assert_day(deadline_due(g, day_of("2025-10-31"), true, cal), "2026-02-02");
	/* A working day stays. */
	ck_assert_day(deadline_due(g, day_of("2025-05-31"), false, cal), "2025-06-30");
	/* CCPA: 45 days land on Saturday 15 February 2025: Monday 17. */
	ck_assert_day(deadline_due(c, day_of("2025-01-01"), false, cal), "2025-02-17");
	/* 45 days from 18 November 2025 land on Friday 2 January 2026, a holiday after a holiday;
	 * then the weekend: Monday 5 January. */
	ck_assert_day(deadline_due(c, day_of("2025-11-18"), false, cal), "2026-01-05");
	ck_assert_day(deadline_roll(cal, day_of("2025-12-24")), "2025-12-24");
	deadline_calendar_free(cal);
}
END_TEST

/* The GDPR rule restated with libc: timegm's normalisation of "same day, n months later", and
 * when that overflows into the month after, day 0 of it (the last day of the target month). */
static int64_t oracle_add_months(int64_t day, int n)
{
	int64_t y;
	unsigned m, d;
	struct tm tm = {0};
	time_t t;

	civil_from_days(day, &y, &m, &d);
	tm.tm_year = (int)y - 1900;
	tm.tm_mon = (int)m - 1 + n;
	tm.tm_mday = (int)d;
	tm.tm_hour = 12;
	t = timegm(&tm);
	if (tm.tm_mday != (int)d) {
		tm = (struct tm){0};
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)m + n; /* the month after the target */
		tm.tm_mday = 0;
		tm.tm_hour = 12;
		t = timegm(&tm);
	}
	return ((int64_t)t - 43200) / 86400; /* noon: exact also before 1970 */
}

/* libc's weekday (0 = Sunday) of a civil day. */
static int oracle_wday(int64_t day)
{
	time_t t = (time_t)(day * 86400 + 43200);
	struct tm tm;

	gmtime_r(&t, &tm);
	return tm.tm_wday;
}

/* Every day of three centuries. Plain comparisons in the loop (a passing ck_assert records a
 * mark point each time), one failing assertion naming the first day that disagrees. */
START_TEST(test_sweep_against_oracle)
{
	const struct deadline_policy *g = policy("gdpr"), *c = policy("ccpa");
	struct deadline_calendar *cal = calendar("2000-01-03\n2050-06-06\n2050-06-07\n");
	int64_t first = days_from_civil(1900, 1, 1), last = days_from_civil(2200, 12, 31);
	int64_t h1 = days_from_civil(2000, 1, 3), h2 = days_from_civil(2050, 6, 6), h3 = h2 + 1;
	int64_t d, due, ext, rolled, k, bad = NO_DAY;
	int wd;
	bool ok, working;
	char s[DEADLINE_DAY_STR_LEN + 1];

	for (d = first; d <= last && bad == NO_DAY; d++) {
		due = deadline_due(g, d, false, NULL);
		ext = deadline_due(g, d, true, NULL);
		ok = due == oracle_add_months(d, 1) && ext == oracle_add_months(d, 3) &&
		     due >= d + 28 && due <= d + 31 && ext >= due + 59 && ext <= due + 62 &&
		     deadline_due(c, d, false, NULL) == d + 45 &&
		     deadline_due(c, d, true, NULL) == d + 90;
		/* Rolling: the first working day on or after the unrolled due date. */
		rolled = deadline_due(g, d, false, cal);
		ok = ok && rolled >= due && rolled <= due + 4 &&
		     deadline_is_working_day(cal, rolled);
		for (k = due; ok && k < rolled; k++)
			ok = !deadline_is_working_day(cal, k);
		/* Saturday and Sunday by libc's reckoning, and the three holidays, are the only
		 * days off. */
		wd = oracle_wday(d);
		working = wd != 0 && wd != 6 && d != h1 && d != h2 && d != h3;
		ok = ok && deadline_is_working_day(cal, d) == working;
		if (!ok)
			bad = d;
	}
	if (bad != NO_DAY) {
		deadline_day_format(bad, s);
		ck_abort_msg("first disagreement at receipt %s", s);
	}
	ck_assert_int_eq(d, last + 1);
	deadline_calendar_free(cal);
}
END_TEST

static Suite *deadline_suite(void)
{
	Suite *s = suite_create("deadline");
	TCase *ar = tcase_create("arithmetic");
	TCase *ca = tcase_create("calendar");

	tcase_add_loop_test(ar, test_gdpr_months, 0, (int)ARRAY_SIZE(gdpr_cases));
	tcase_add_loop_test(ar, test_ccpa_days, 0, (int)ARRAY_SIZE(ccpa_cases));
	tcase_add_test(ar, test_policy_find);
	tcase_add_test(ar, test_extension_in_time);
	tcase_add_test(ar, test_on_time_and_between);
	tcase_add_test(ar, test_day_conversions);
	tcase_add_test(ar, test_sweep_against_oracle);
	tcase_set_timeout(ar, 60);
	tcase_add_test(ca, test_calendar_parse);
	tcase_add_test(ca, test_calendar_len_bounds_text);
	tcase_add_loop_test(ca, test_calendar_rejects, 0, (int)ARRAY_SIZE(bad_calendars));
	tcase_add_test(ca, test_calendar_args);
	tcase_add_test(ca, test_rolling);
	suite_add_tcase(s, ar);
	suite_add_tcase(s, ca);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(deadline_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
