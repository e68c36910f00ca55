/* Response-period arithmetic per jurisdiction and the working-day calendar (see deadline.h for
 * the legal reading). Pure: the only state is the calendar the caller owns. */
#include "compliance/deadline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Bit d (0 = Monday .. 6 = Sunday) set: weekday d is a weekend day. */
#define WEEKEND_SAT_SUN ((1u << 5) | (1u << 6))
#define WEEKEND_ALL	0x7fu

struct deadline_calendar {
	unsigned weekend;
	int64_t *holidays; /* sorted, unique */
	size_t n;
};

static const struct deadline_policy policies[] = {
    {"gdpr", DEADLINE_UNIT_MONTHS, 1, 2},
    {"ccpa", DEADLINE_UNIT_DAYS, 45, 45},
};

static const char *const weekday_names[7][2] = {
    {"mon", "monday"}, {"tue", "tuesday"},  {"wed", "wednesday"}, {"thu", "thursday"},
    {"fri", "friday"}, {"sat", "saturday"}, {"sun", "sunday"},
};

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive equality of s[0..len) and the NUL-terminated word. */
static bool word_eq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!word[i] || ascii_lower((unsigned char)s[i]) != word[i])
			return false;
	return word[len] == '\0';
}

int deadline_policy_find(const char *jurisdiction, const struct deadline_policy **out)
{
	size_t i;

	if (!jurisdiction || !out)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(policies); i++) {
		if (word_eq(jurisdiction, strlen(jurisdiction), policies[i].name)) {
			*out = &policies[i];
			return 0;
		}
	}
	return -ENOENT;
}

int deadline_policy_resolve(const char *jurisdiction, const char *default_jurisdiction,
			    const struct deadline_policy **out)
{
	if (jurisdiction && *jurisdiction)
		return deadline_policy_find(jurisdiction, out);
	if (default_jurisdiction && *default_jurisdiction)
		return deadline_policy_find(default_jurisdiction, out);
	return deadline_policy_find("gdpr", out);
}

static bool leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap_year(y) ? 29 : dim[m - 1];
}

/* The same day number n months later, or the last day of that month if it is shorter. */
static int64_t add_months(int64_t day, unsigned n)
{
	int64_t y;
	unsigned m, d, dim;

	civil_from_days(day, &y, &m, &d);
	y += (int64_t)((m - 1 + n) / 12);
	m = (m - 1 + n) % 12 + 1;
	dim = days_in_month(y, m);
	return days_from_civil(y, m, d < dim ? d : dim);
}

/* 0 = Monday .. 6 = Sunday; day 0 (1970-01-01) was a Thursday. */
static unsigned weekday(int64_t day)
{
	int64_t r = (day + 3) % 7;

	return (unsigned)(r < 0 ? r + 7 : r);
}

static int cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

bool deadline_is_working_day(const struct deadline_calendar *cal, int64_t day)
{
	if (!cal)
		return true;
	if (cal->weekend & (1u << weekday(day)))
		return false;
	return !cal->n || !bsearch(&day, cal->holidays, cal->n, sizeof(*cal->holidays), cmp_day);
}

int64_t deadline_roll(const struct deadline_calendar *cal, int64_t day)
{
	/* Terminates: at least one weekday is a working day (parse refuses an all-week weekend)
	 * and there are finitely many holidays. */
	while (!deadline_is_working_day(cal, day))
		day++;
	return day;
}

static int64_t period_end(const struct deadline_policy *p, int64_t received_day, unsigned amount)
{
	if (p->unit == DEADLINE_UNIT_MONTHS)
		return add_months(received_day, amount);
	return received_day + amount;
}

int64_t deadline_due(const struct deadline_policy *p, int64_t received_day, bool extended,
		     const struct deadline_calendar *cal)
{
	unsigned amount = p->period + (extended ? p->extension : 0);

	return deadline_roll(cal, period_end(p, received_day, amount));
}

bool deadline_extension_in_time(const struct deadline_policy *p, int64_t received_day,
				int64_t extension_day, const struct deadline_calendar *cal)
{
	if (!p->extension || extension_day < received_day)
		return false;
	return extension_day <= deadline_due(p, received_day, false, cal);
}

bool deadline_on_time(int64_t due_day, int64_t closed_day)
{
	return closed_day <= due_day;
}

int64_t deadline_days_between(int64_t from_day, int64_t to_day)
{
	return to_day - from_day;
}

int64_t deadline_day_from_us(int64_t us)
{
	const int64_t per_day = INT64_C(86400000000);
	int64_t q = us / per_day;

	return us % per_day < 0 ? q - 1 : q;
}

static bool digits_at(const char *s, size_t n, unsigned *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

int deadline_day_parse(const char *s, size_t len, int64_t *out)
{
	unsigned y, m, d;

	if (!s || !out || len != DEADLINE_DAY_STR_LEN || s[4] != '-' || s[7] != '-')
		return -EINVAL;
	if (!digits_at(s, 4, &y) || !digits_at(s + 5, 2, &m) || !digits_at(s + 8, 2, &d))
		return -EINVAL;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -EINVAL;
	*out = days_from_civil(y, m, d);
	return 0;
}

void deadline_day_format(int64_t day, char out[DEADLINE_DAY_STR_LEN + 1])
{
	int64_t y;
	unsigned m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(out, DEADLINE_DAY_STR_LEN + 1, "%04lld-%02u-%02u", (long long)y, m, d);
}

/* ---- calendar text ---- */

static int parse_fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int parse_fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err && errlen) {
		n = snprintf(err, errlen, "line %u: ", line);
		if (n >= 0 && (size_t)n < errlen) {
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Narrows [*s, *s + *len) to exclude leading and trailing blanks. */
static void trim(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_blank((*s)[*len - 1]))
		(*len)--;
}

static int parse_weekday(const char *s, size_t len)
{
	int i;

	for (i = 0; i < 7; i++)
		if (word_eq(s, len, weekday_names[i][0]) || word_eq(s, len, weekday_names[i][1]))
			return i;
	return -1;
}

/* The value of a "weekend = ..." line: a comma-separated list of weekdays, or "none". */
static int parse_weekend(const char *v, size_t len, unsigned line, unsigned *out, char *err,
			 size_t errlen)
{
	const char *end = v + len, *comma, *item;
	unsigned mask = 0;
	size_t n;
	int wd;

	trim(&v, &len);
	if (word_eq(v, len, "none")) {
		*out = 0;
		return 0;
	}
	while (v <= end) {
		comma = memchr(v, ',', (size_t)(end - v));
		n = (size_t)((comma ? comma : end) - v);
		item = v;
		trim(&item, &n);
		wd = parse_weekday(item, n);
		if (wd < 0)
			return parse_fail(err, errlen, line, "\"%.*s\" is not a weekday (mon..sun)",
					  (int)(n > 20 ? 20 : n), item);
		mask |= 1u << wd;
		if (!comma)
			break;
		v = comma + 1;
	}
	if (mask == WEEKEND_ALL)
		return parse_fail(err, errlen, line,
				  "a weekend of all seven days leaves no working day");
	*out = mask;
	return 0;
}

static int add_holiday(struct deadline_calendar *cal, size_t *cap, int64_t day)
{
	int64_t *grown;
	size_t ncap;

	if (cal->n == *cap) {
		ncap = *cap ? 2 * *cap : 16;
		grown = realloc(cal->holidays, ncap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		cal->holidays = grown;
		*cap = ncap;
	}
	cal->holidays[cal->n++] = day;
	return 0;
}

/* One line with its comment already cut off; seen_weekend guards against a second weekend. */
static int parse_line(struct deadline_calendar *cal, size_t *cap, const char *s, size_t len,
		      unsigned line, bool *seen_weekend, char *err, size_t errlen)
{
	const char *eq;
	const char *key;
	size_t klen;
	int64_t day;

	trim(&s, &len);
	if (!len)
		return 0;
	if (memchr(s, '\0', len))
		return parse_fail(err, errlen, line, "NUL byte in calendar text");
	eq = memchr(s, '=', len);
	if (!eq) {
		if (deadline_day_parse(s, len, &day))
			return parse_fail(err, errlen, line,
					  "\"%.*s\" is not a date (YYYY-MM-DD) or an option",
					  (int)(len > 40 ? 40 : len), s);
		return add_holiday(cal, cap, day);
	}
	key = s;
	klen = (size_t)(eq - s);
	trim(&key, &klen);
	if (!word_eq(key, klen, "weekend"))
		return parse_fail(err, errlen, line, "unknown option \"%.*s\" (only weekend)",
				  (int)(klen > 40 ? 40 : klen), key);
	if (*seen_weekend)
		return parse_fail(err, errlen, line, "weekend given twice");
	*seen_weekend = true;
	return parse_weekend(eq + 1, len - (size_t)(eq + 1 - s), line, &cal->weekend, err, errlen);
}

/* Sorts the holidays and drops repeats, so that lookups can bsearch. */
static void sort_unique(struct deadline_calendar *cal)
{
	size_t i, w = 0;

	if (!cal->n)
		return;
	qsort(cal->holidays, cal->n, sizeof(*cal->holidays), cmp_day);
	for (i = 1; i < cal->n; i++)
		if (cal->holidays[i] != cal->holidays[w])
			cal->holidays[++w] = cal->holidays[i];
	cal->n = w + 1;
}

int deadline_calendar_parse(const char *text, size_t len, struct deadline_calendar **out, char *err,
			    size_t errlen)
{
	struct deadline_calendar *cal;
	const char *p = text, *end = text + len, *nl, *hash;
	bool seen_weekend = false;
	unsigned line = 0;
	size_t cap = 0, n;
	int rc = 0;

	if ((!text && len) || !out)
		return -EINVAL;
	if (err && errlen)
		err[0] = '\0';
	cal = calloc(1, sizeof(*cal));
	if (!cal)
		return -ENOMEM;
	cal->weekend = WEEKEND_SAT_SUN;
	while (p < end && rc == 0) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		hash = memchr(p, '#', n);
		rc = parse_line(cal, &cap, p, hash ? (size_t)(hash - p) : n, line, &seen_weekend,
				err, errlen);
		p = nl ? nl + 1 : end;
	}
	if (rc) {
		deadline_calendar_free(cal);
		return rc;
	}
	sort_unique(cal);
	*out = cal;
	return 0;
}

void deadline_calendar_free(struct deadline_calendar *cal)
{
	if (!cal)
		return;
	free(cal->holidays);
	free(cal);
}
