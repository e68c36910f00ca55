/* Data-rights deadlines: per-jurisdiction response periods, their one extension, and an optional
 * working-day calendar that rolls a due date off weekends and holidays. Pure: no I/O, no clock.
 *
 * Dates are civil days: int64_t days since 1970-01-01 in the proleptic Gregorian calendar (the
 * numbering of days_from_civil in util/util.h). Days are UTC days; a caller that counts receipt
 * in another zone converts before calling.
 *
 * Legal reading (documented here because every report depends on it):
 *
 * - GDPR Art. 12(3): "within one month of receipt", periods computed as in Regulation (EEC,
 *   Euratom) No 1182/71 Art. 3 and EDPB Guidelines 01/2022: the period ends on the day of the
 *   following month with the same number as the day of receipt (5 March -> 5 April), or on the
 *   last day of that month when it has no such day (31 January -> 28 February, 29 in a leap
 *   year; 31 March -> 30 April). "Extended by two further months" is read as one period of three
 *   calendar months from receipt, with the same rule applied once (31 January -> 30 April), and
 *   not as two months added to the already clamped first due date (which would give 28 April and
 *   silently shorten the period the regulation grants).
 * - CCPA (Cal. Civ. Code 1798.130(a)(2)): 45 calendar days from receipt, the day of receipt not
 *   counted (Cal. Civ. Code 12), so due = receipt + 45; extended once by 45 more: receipt + 90.
 * - Both: the extension must be notified within the original period, i.e. recorded on or before
 *   the original due date (the period runs to the end of that day). When a calendar is given the
 *   original due date is the rolled one (Reg. 1182/71 Art. 3(4)).
 * - Calendar rolling applies to the final due date only: the extended period is counted from
 *   receipt, never from a rolled original due date.
 */
#ifndef CONSENTD_DEADLINE_H
#define CONSENTD_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DD" without the terminating NUL. */
#define DEADLINE_DAY_STR_LEN 10

enum deadline_unit {
	DEADLINE_UNIT_DAYS,
	DEADLINE_UNIT_MONTHS,
};

/* A response-period policy. The policies are static, read-only and never freed. */
struct deadline_policy {
	const char *name;	 /* lower-case jurisdiction name: "gdpr", "ccpa" */
	enum deadline_unit unit; /* how period and extension are counted */
	unsigned period;	 /* the response period from receipt */
	unsigned extension;	 /* added once by an extension; 0: the policy allows none */
};

/* The policy of a jurisdiction name (ASCII case-insensitive). 0, or -ENOENT for an unknown or
 * empty name, -EINVAL for NULL arguments. */
int deadline_policy_find(const char *jurisdiction, const struct deadline_policy **out);
/* As deadline_policy_find, but an empty or NULL jurisdiction means default_jurisdiction (the
 * configured default), and an empty or NULL default means "gdpr". */
int deadline_policy_resolve(const char *jurisdiction, const char *default_jurisdiction,
			    const struct deadline_policy **out);

/* A working-day calendar: a weekend (a set of weekdays) and a sorted set of holidays. Opaque;
 * created by deadline_calendar_parse, released by deadline_calendar_free. */
struct deadline_calendar;

/*
 * Parses calendar text (len bytes, need not be NUL-terminated). One item per line, blanks around
 * it ignored, '#' starts a comment (whole line or trailing):
 *   2026-12-25            a holiday
 *   weekend = sat,sun     the weekend days (mon..sun or monday..sunday, any case, comma
 *                         separated); "weekend = none" for no weekend; at most once
 * Without a weekend line the weekend is sat,sun. A weekend of all seven days is refused.
 * Returns 0 with *out owned by the caller, or -EINVAL with a message naming the line in err
 * (errlen > 0), or -ENOMEM.
 */
int deadline_calendar_parse(const char *text, size_t len, struct deadline_calendar **out, char *err,
			    size_t errlen);
/* Accepts NULL. */
void deadline_calendar_free(struct deadline_calendar *cal);
/* True if day is neither a weekend day nor a holiday of cal; every day is one if cal is NULL. */
bool deadline_is_working_day(const struct deadline_calendar *cal, int64_t day);
/* The first working day on or after day (day itself if cal is NULL). */
int64_t deadline_roll(const struct deadline_calendar *cal, int64_t day);

/* The due date (last day to answer, inclusive) of a request received on received_day: the
 * original period, or the extended one if extended (the same as the original for a policy
 * without extension), rolled to a working day when cal is not NULL. p must not be NULL. */
int64_t deadline_due(const struct deadline_policy *p, int64_t received_day, bool extended,
		     const struct deadline_calendar *cal);
/* True if the policy allows an extension and one recorded on extension_day is in time: not
 * before receipt, and on or before the original (rolled) due date. */
bool deadline_extension_in_time(const struct deadline_policy *p, int64_t received_day,
				int64_t extension_day, const struct deadline_calendar *cal);
/* True if a request closed on closed_day met due_day (the due date is inclusive). */
bool deadline_on_time(int64_t due_day, int64_t closed_day);
/* Calendar days from from_day to to_day (negative if to_day is earlier). */
int64_t deadline_days_between(int64_t from_day, int64_t to_day);

/* The UTC civil day of a time in microseconds since the epoch (floor, also before 1970). */
int64_t deadline_day_from_us(int64_t us);
/* Strict "YYYY-MM-DD" (exactly len == 10, a real calendar date, year 0000-9999); 0 or -EINVAL. */
int deadline_day_parse(const char *s, size_t len, int64_t *out);
/* Writes "YYYY-MM-DD" and a NUL into out (DEADLINE_DAY_STR_LEN + 1 bytes) for years 0-9999. */
void deadline_day_format(int64_t day, char out[DEADLINE_DAY_STR_LEN + 1]);

#endif
