/* Report parameters, buckets, and the data-rights JSON, NDJSON and CSV renderers (consent:
 * report_consent.c; HTML: report_html.c).
 * Renderers append with buf_printf and OR the results together: every failure is negative, so
 * the OR is negative if any append failed, and the caller gets -ENOMEM once. */
#include "export/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"
#include "export/report_internal.h"

void report_query_init(struct report_query *q, enum report_kind kind)
{
	memset(q, 0, sizeof(*q));
	q->kind = kind;
	q->format = REPORT_FORMAT_JSON;
	q->from = q->to = REPORT_NO_DAY;
	q->status = REPORT_STATUS_ALL;
	q->due_within = -1;
	q->by = REPORT_BY_DAY;
}

/* The index of value in names (n of them), or -1. */
int report_pick(const char *value, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(value, names[i]) == 0)
			return i;
	return -1;
}

static int set_day(int64_t *day, const char *name, const char *value, char *why, size_t whylen)
{
	if (deadline_day_parse(value, strlen(value), day) < 0) {
		snprintf(why, whylen, "%s must be a date YYYY-MM-DD", name);
		return -EINVAL;
	}
	return 0;
}

static int set_due_within(struct report_query *q, const char *value, char *why, size_t whylen)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(value, &end, 10);
	if (*value < '0' || *value > '9' || *end || errno || n > REPORT_DUE_WITHIN_MAX) {
		snprintf(why, whylen, "due_within must be a whole number of days from 0 to %d",
			 REPORT_DUE_WITHIN_MAX);
		return -EINVAL;
	}
	q->due_within = n;
	return 0;
}

/* A choice among names; the message lists them. */
static int set_choice(int *out, const char *name, const char *value, const char *const *names,
		      int n, char *why, size_t whylen)
{
	int i = report_pick(value, names, n);

	if (i < 0) {
		snprintf(why, whylen, "%s must be one of ", name);
		for (int k = 0; k < n; k++)
			snprintf(why + strlen(why), whylen - strlen(why), "%s%s", k ? ", " : "",
				 names[k]);
		return -EINVAL;
	}
	*out = i;
	return 0;
}

int report_query_set(struct report_query *q, const char *name, const char *value, char *why,
		     size_t whylen)
{
	static const char *const formats[] = {"json", "csv", "html", "ndjson"};
	static const char *const statuses[] = {"all", "open", "overdue"};
	static const char *const buckets[] = {"day", "month"};
	bool dr = q->kind == REPORT_DATA_RIGHTS;
	int choice = 0, rc;

	if (strcmp(name, "from") == 0)
		return set_day(&q->from, name, value, why, whylen);
	if (strcmp(name, "to") == 0)
		return set_day(&q->to, name, value, why, whylen);
	if (strcmp(name, "format") == 0) {
		rc = set_choice(&choice, name, value, formats, 4, why, whylen);
		q->format = rc == 0 ? (enum report_format)choice : q->format;
		return rc;
	}
	if (dr && strcmp(name, "status") == 0) {
		rc = set_choice(&choice, name, value, statuses, 3, why, whylen);
		q->status = rc == 0 ? (enum report_status)choice : q->status;
		return rc;
	}
	if (dr && strcmp(name, "due_within") == 0)
		return set_due_within(q, value, why, whylen);
	if (!dr && strcmp(name, "by") == 0) {
		rc = set_choice(&choice, name, value, buckets, 2, why, whylen);
		q->by = rc == 0 ? (enum report_bucket)choice : q->by;
		return rc;
	}
	snprintf(why, whylen, "unknown parameter %s", name);
	return -ENOENT;
}

int report_query_resolve(struct report_query *q, int64_t today, const char **field, char *why,
			 size_t whylen)
{
	if (q->to == REPORT_NO_DAY)
		q->to = q->from == REPORT_NO_DAY || q->from <= today
			    ? today
			    : q->from + REPORT_DEFAULT_DAYS - 1;
	if (q->from == REPORT_NO_DAY)
		q->from = q->to - (REPORT_DEFAULT_DAYS - 1);
	if (q->from > q->to) {
		*field = "from";
		snprintf(why, whylen, "from must not be after to");
		return -EDOM;
	}
	if (q->kind == REPORT_CONSENT && q->to - q->from >= REPORT_CONSENT_MAX_DAYS) {
		*field = "to";
		snprintf(why, whylen, "a consent report covers at most %d days",
			 REPORT_CONSENT_MAX_DAYS);
		return -EDOM;
	}
	return 0;
}

const char *report_content_type(enum report_format f)
{
	switch (f) {
	case REPORT_FORMAT_CSV:
		return "text/csv; charset=utf-8; header=present";
	case REPORT_FORMAT_HTML:
		return "text/html; charset=utf-8";
	case REPORT_FORMAT_NDJSON:
		return "application/x-ndjson";
	default:
		return "application/json";
	}
}

void report_file_name(const struct report_query *q, char *out, size_t outlen)
{
	static const char *const ext[] = {"json", "csv", "html", "ndjson"};
	char from[11], to[11];

	report_day(q->from, from);
	report_day(q->to, to);
	snprintf(out, outlen, "%s-%s-%s.%s", q->kind == REPORT_CONSENT ? "consent" : "data-rights",
		 from, to, ext[q->format]);
}

void report_day(int64_t day, char out[11])
{
	if (day == REPORT_NO_DAY)
		out[0] = '\0';
	else
		deadline_day_format(day, out);
}

int64_t report_bucket_start(enum report_bucket by, int64_t day)
{
	int64_t y;
	unsigned m, d;

	if (by == REPORT_BY_DAY)
		return day;
	civil_from_days(day, &y, &m, &d);
	return days_from_civil(y, m, 1);
}

int64_t report_bucket_next(enum report_bucket by, int64_t start)
{
	int64_t y;
	unsigned m, d;

	if (by == REPORT_BY_DAY)
		return start + 1;
	civil_from_days(start, &y, &m, &d);
	return m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
}

void report_bucket_label(enum report_bucket by, int64_t start, char out[11])
{
	deadline_day_format(start, out);
	if (by == REPORT_BY_MONTH)
		out[7] = '\0';
}

/* ---- escaping ------------------------------------------------------------------------------ */

int report_json_string(struct buf *out, const char *s)
{
	int rc = buf_append_u8(out, '"');

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			rc = buf_printf(out, "\\%c", c);
		else if (c == '\n')
			rc = buf_append(out, "\\n", 2);
		else if (c < 0x20 || c == 0x7f)
			rc = buf_printf(out, "\\u%04x", c);
		else
			rc = buf_append_u8(out, c);
	}
	return rc < 0 ? rc : buf_append_u8(out, '"');
}

int report_csv_field(struct buf *out, const char *s)
{
	int rc;

	if (!strpbrk(s, ",\"\r\n"))
		return buf_append(out, s, strlen(s));
	rc = buf_append_u8(out, '"');
	for (; *s && rc == 0; s++)
		rc = *s == '"' ? buf_append(out, "\"\"", 2) : buf_append_u8(out, (uint8_t)*s);
	return rc < 0 ? rc : buf_append_u8(out, '"');
}

int report_html_escape(struct buf *out, const char *s)
{
	int rc = 0;

	for (; *s && rc == 0; s++) {
		switch (*s) {
		case '&':
			rc = buf_append(out, "&amp;", 5);
			break;
		case '<':
			rc = buf_append(out, "&lt;", 4);
			break;
		case '>':
			rc = buf_append(out, "&gt;", 4);
			break;
		case '"':
			rc = buf_append(out, "&quot;", 6);
			break;
		case '\'':
			rc = buf_append(out, "&#39;", 5);
			break;
		case '\r': /* a raw CR would be read as LF */
			rc = buf_append(out, "&#13;", 5);
			break;
		default:
			rc = buf_append_u8(out, (uint8_t)*s);
		}
	}
	return rc;
}

/* ---- small value writers -------------------------------------------------------------------- */

/* A JSON day string, or null. */
static int json_day(struct buf *out, int64_t day)
{
	char s[11];

	if (day == REPORT_NO_DAY)
		return buf_append(out, "null", 4);
	report_day(day, s);
	return buf_printf(out, "\"%s\"", s);
}

/* num / den with four decimals, or null (JSON) / "" (CSV) when den is 0. */
int report_rate(struct buf *out, int64_t num, int64_t den, bool json)
{
	if (den == 0)
		return json ? buf_append(out, "null", 4) : 0;
	return buf_printf(out, "%.4f", (double)num / (double)den);
}

static int median(struct buf *out, double days, bool json)
{
	if (days < 0)
		return json ? buf_append(out, "null", 4) : 0;
	return buf_printf(out, "%.1f", days);
}

/* ---- data-rights: JSON and CSV -------------------------------------------------------------- */

static const char *const status_names[] = {"all", "open", "overdue"};

void report_dr_summary_free(struct report_dr_summary *s)
{
	if (!s)
		return;
	free(s->rights);
	memset(s, 0, sizeof(*s));
}

static int json_dr_stats(struct buf *out, const struct report_dr_stats *st, bool named)
{
	int rc = buf_append_u8(out, '{');

	if (named) {
		rc |= buf_append(out, "\"right\":", 8);
		rc |= report_json_string(out, st->right);
		rc |= buf_append_u8(out, ',');
	}
	rc |= buf_printf(
	    out,
	    "\"count\":%" PRId64 ",\"open\":%" PRId64 ",\"overdue\":%" PRId64 ",\"closed\":%" PRId64
	    ",\"on_time\":%" PRId64 ",\"late\":%" PRId64 ",\"on_time_rate\":",
	    st->count, st->open, st->overdue, st->closed, st->on_time, st->closed - st->on_time);
	rc |= report_rate(out, st->on_time, st->closed, true);
	rc |= buf_append(out, ",\"median_days_to_close\":", 24);
	rc |= median(out, st->median_days, true);
	rc |= buf_append_u8(out, '}');
	return rc;
}

int report_json_head(struct buf *out, const char *report, const struct report_query *q,
		     int64_t today)
{
	char as_of[11], from[11], to[11];

	report_day(today, as_of);
	report_day(q->from, from);
	report_day(q->to, to);
	return buf_printf(out, "{\"report\":\"%s\",\"as_of\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",",
			  report, as_of, from, to);
}

static int json_dr_begin(struct buf *out, const struct report_query *q, int64_t today,
			 const struct report_dr_summary *s)
{
	int rc = report_json_head(out, "data-rights", q, today);

	rc |= buf_printf(out, "\"status\":\"%s\",\"due_within\":", status_names[q->status]);
	rc |= q->due_within < 0 ? buf_append(out, "null", 4)
				: buf_printf(out, "%" PRId64, q->due_within);
	rc |= buf_append(out, ",\"summary\":{\"rights\":[", 22);
	for (size_t i = 0; i < s->n; i++) {
		rc |= buf_append(out, i ? "," : "", i ? 1 : 0);
		rc |= json_dr_stats(out, &s->rights[i], true);
	}
	rc |= buf_append(out, "],\"total\":", 10);
	rc |= json_dr_stats(out, &s->total, false);
	rc |= buf_append(out, "},\"rows\":[\n", 11);
	return rc;
}

static int json_dr_row(struct buf *out, const struct report_dr_row *row, uint64_t index)
{
	int rc = buf_append(out, index ? ",\n{" : "{", index ? 3 : 1);

	rc |= buf_append(out, "\"request_id\":", 13);
	rc |= report_json_string(out, row->request_id);
	rc |= buf_append(out, ",\"right\":", 9);
	rc |= report_json_string(out, row->right);
	rc |= buf_append(out, ",\"jurisdiction\":", 16);
	rc |= report_json_string(out, row->jurisdiction);
	rc |= buf_append(out, ",\"state\":", 9);
	rc |= report_json_string(out, row->state);
	rc |= buf_append(out, ",\"received\":", 12);
	rc |= json_day(out, row->received);
	rc |= buf_append(out, ",\"due\":", 7);
	rc |= json_day(out, row->due);
	rc |= buf_append(out, ",\"extended_due\":", 16);
	rc |= json_day(out, row->extended_due);
	rc |= buf_append(out, ",\"closed\":", 10);
	rc |= json_day(out, row->closed);
	rc |= buf_append(out, ",\"outcome\":", 11);
	rc |= *row->outcome ? report_json_string(out, row->outcome) : buf_append(out, "null", 4);
	rc |= buf_printf(out, ",\"on_time\":%s,\"days_to_close\":",
			 row->on_time < 0 ? "null"
			 : row->on_time	  ? "true"
					  : "false");
	rc |= row->closed == REPORT_NO_DAY
		  ? buf_append(out, "null", 4)
		  : buf_printf(out, "%" PRId64, row->closed - row->received);
	rc |= buf_printf(out, ",\"overdue\":%s}", row->overdue ? "true" : "false");
	return rc;
}

static int csv_day(struct buf *out, int64_t day)
{
	char s[11];

	report_day(day, s);
	return buf_append(out, s, strlen(s));
}

static int csv_dr_row(struct buf *out, const struct report_dr_row *row)
{
	const char *const text[] = {row->request_id, row->right, row->jurisdiction, row->state};
	const int64_t days[] = {row->received, row->due, row->extended_due, row->closed};
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(text); i++) {
		rc |= report_csv_field(out, text[i]);
		rc |= buf_append_u8(out, ',');
	}
	for (size_t i = 0; i < ARRAY_SIZE(days); i++) {
		rc |= csv_day(out, days[i]);
		rc |= buf_append_u8(out, ',');
	}
	rc |= report_csv_field(out, row->outcome);
	rc |= buf_printf(out, ",%s,", row->on_time < 0 ? "" : row->on_time ? "true" : "false");
	if (row->closed != REPORT_NO_DAY)
		rc |= buf_printf(out, "%" PRId64, row->closed - row->received);
	rc |= buf_printf(out, ",%s\r\n", row->overdue ? "true" : "false");
	return rc;
}

/* NDJSON is the JSON document cut into lines: its head (report, period, summary) as the first
 * object, one object per row, and {"row_count":n} last. The head is the JSON renderer's, with
 * the opening of "rows" replaced by the end of the object. */
int report_ndjson_head(struct buf *out, size_t start)
{
	static const char rows[] = ",\"rows\":[\n";

	if (out->len - start < sizeof(rows) - 1 ||
	    memcmp(out->data + out->len - (sizeof(rows) - 1), rows, sizeof(rows) - 1) != 0)
		return -EINVAL;
	out->len -= sizeof(rows) - 1;
	return buf_append(out, "}\n", 2);
}

int report_dr_begin(struct buf *out, const struct report_query *q, int64_t today,
		    const struct report_dr_summary *s)
{
	int rc = 0;

	size_t start = out->len;

	if (q->format == REPORT_FORMAT_JSON)
		rc = json_dr_begin(out, q, today, s);
	else if (q->format == REPORT_FORMAT_NDJSON)
		rc = json_dr_begin(out, q, today, s) < 0 ? -ENOMEM : report_ndjson_head(out, start);
	else if (q->format == REPORT_FORMAT_CSV)
		rc =
		    buf_printf(out, "request_id,right,jurisdiction,state,received,due,extended_due,"
				    "closed,outcome,on_time,days_to_close,overdue\r\n");
	else
		rc = report_html_dr_begin(out, q, today, s);
	return rc < 0 ? -ENOMEM : 0;
}

int report_dr_row(struct buf *out, const struct report_query *q, const struct report_dr_row *row,
		  uint64_t index)
{
	int rc;

	if (q->format == REPORT_FORMAT_JSON)
		rc = json_dr_row(out, row, index);
	else if (q->format == REPORT_FORMAT_NDJSON)
		rc = json_dr_row(out, row, 0) | buf_append_u8(out, '\n');
	else if (q->format == REPORT_FORMAT_CSV)
		rc = csv_dr_row(out, row);
	else
		rc = report_html_dr_row(out, row);
	return rc < 0 ? -ENOMEM : 0;
}

int report_dr_end(struct buf *out, const struct report_query *q, uint64_t rows)
{
	int rc = 0;

	if (q->format == REPORT_FORMAT_JSON)
		rc = buf_printf(out, "%s],\"row_count\":%" PRIu64 "}\n", rows ? "\n" : "", rows);
	else if (q->format == REPORT_FORMAT_NDJSON)
		rc = buf_printf(out, "{\"row_count\":%" PRIu64 "}\n", rows);
	else if (q->format == REPORT_FORMAT_HTML)
		rc = report_html_dr_end(out, rows);
	return rc < 0 ? -ENOMEM : 0;
}
