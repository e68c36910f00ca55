/* Report parameters, buckets, summaries, and the JSON and CSV renderers (HTML: report_html.c).
 * Renderers append with buf_printf and OR the results together: every failure is negative, so
 * the OR is negative if any append failed, and the caller gets -ENOMEM once. */
#include "export/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"

static const char *const main_actions[] = {"accept_all", "reject_all", "customize", "withdraw"};

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
static int pick(const char *value, const char *const *names, int n)
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
	int i = pick(value, names, n);

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
static int rate(struct buf *out, int64_t num, int64_t den, bool json)
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
	rc |= rate(out, st->on_time, st->closed, true);
	rc |= buf_append(out, ",\"median_days_to_close\":", 24);
	rc |= median(out, st->median_days, true);
	rc |= buf_append_u8(out, '}');
	return rc;
}

static int json_dr_begin(struct buf *out, const struct report_query *q, int64_t today,
			 const struct report_dr_summary *s)
{
	char as_of[11], from[11], to[11];
	int rc;

	report_day(today, as_of);
	report_day(q->from, from);
	report_day(q->to, to);
	rc =
	    buf_printf(out,
		       "{\"report\":\"data-rights\",\"as_of\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
		       "\"status\":\"%s\",\"due_within\":",
		       as_of, from, to, status_names[q->status]);
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
static int ndjson_head(struct buf *out, size_t start)
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
		rc = json_dr_begin(out, q, today, s) < 0 ? -ENOMEM : ndjson_head(out, start);
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

/* ---- consent: summary ----------------------------------------------------------------------- */

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

void report_consent_summary_free(struct report_consent_summary *s)
{
	if (!s)
		return;
	free_names(s->actions, s->n_actions);
	free_names(s->purposes, s->n_purposes);
	free(s->action_events);
	free(s->decisions);
	free(s->granted);
	free(s->bucket_start);
	free(s->bucket_events);
	free(s->bucket_decisions);
	free(s->bucket_granted);
	memset(s, 0, sizeof(*s));
}

/* Copies names into a fresh array of n strings; NULL on failure (nothing left allocated). */
static char **copy_names(const char *const *names, size_t n)
{
	char **out = calloc(n ? n : 1, sizeof(*out));

	for (size_t i = 0; out && i < n; i++) {
		if (!(out[i] = strdup(names[i]))) {
			free_names(out, i);
			return NULL;
		}
	}
	return out;
}

/* The four main actions first, whether present or not, then the other ones present. */
static int set_actions(struct report_consent_summary *s, const char *const *extra, size_t n_extra)
{
	const char **names = calloc(ARRAY_SIZE(main_actions) + n_extra, sizeof(*names));
	size_t n = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(main_actions); i++)
		names[n++] = main_actions[i];
	for (size_t i = 0; i < n_extra; i++)
		if (pick(extra[i], main_actions, ARRAY_SIZE(main_actions)) < 0)
			names[n++] = extra[i];
	s->actions = copy_names(names, n);
	s->n_actions = s->actions ? n : 0;
	s->action_events = calloc(n, sizeof(int64_t));
	free(names);
	return s->actions && s->action_events ? 0 : -ENOMEM;
}

int report_consent_summary_init(struct report_consent_summary *s, const char *const *extra_actions,
				size_t n_extra, const char *const *purposes, size_t n_purposes,
				enum report_bucket by, int64_t from, int64_t to)
{
	size_t nb = 0, np = n_purposes ? n_purposes : 1;
	int64_t b;

	memset(s, 0, sizeof(*s));
	for (b = report_bucket_start(by, from); b <= to; b = report_bucket_next(by, b))
		nb++;
	if (set_actions(s, extra_actions, n_extra) < 0)
		goto fail;
	s->purposes = copy_names(purposes, n_purposes);
	s->n_purposes = s->purposes ? n_purposes : 0;
	s->decisions = calloc(np, sizeof(int64_t));
	s->granted = calloc(np, sizeof(int64_t));
	s->bucket_start = calloc(nb ? nb : 1, sizeof(int64_t));
	s->bucket_events = calloc(nb ? nb : 1, sizeof(int64_t));
	s->bucket_decisions = calloc(nb ? nb * np : 1, sizeof(int64_t));
	s->bucket_granted = calloc(nb ? nb * np : 1, sizeof(int64_t));
	if (!s->purposes || !s->decisions || !s->granted || !s->bucket_start || !s->bucket_events ||
	    !s->bucket_decisions || !s->bucket_granted)
		goto fail;
	for (b = report_bucket_start(by, from); b <= to; b = report_bucket_next(by, b))
		s->bucket_start[s->n_buckets++] = b;
	return 0;
fail:
	report_consent_summary_free(s);
	return -ENOMEM;
}

static long index_of(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (long)i;
	return -1;
}

long report_consent_action_index(const struct report_consent_summary *s, const char *name)
{
	return index_of(s->actions, s->n_actions, name);
}

long report_consent_purpose_index(const struct report_consent_summary *s, const char *name)
{
	return index_of(s->purposes, s->n_purposes, name);
}

long report_consent_bucket_index(const struct report_consent_summary *s, int64_t start)
{
	size_t lo = 0, hi = s->n_buckets;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->bucket_start[mid] < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_buckets && s->bucket_start[lo] == start ? (long)lo : -1;
}

/* ---- consent: JSON and CSV ------------------------------------------------------------------ */

static const char *const bucket_names[] = {"day", "month"};

/* {"name":n,...} over the action columns. */
static int json_actions(struct buf *out, const struct report_consent_summary *s, const int64_t *n)
{
	int rc = buf_append_u8(out, '{');

	for (size_t i = 0; i < s->n_actions; i++) {
		rc |= buf_append(out, ",", i ? 1 : 0);
		rc |= report_json_string(out, s->actions[i]);
		rc |= buf_printf(out, ":%" PRId64, n[i]);
	}
	return rc | buf_append_u8(out, '}');
}

/* {"purpose":{"decisions":d,"granted":g,"opt_in_rate":r},...} */
static int json_purposes(struct buf *out, const struct report_consent_summary *s,
			 const int64_t *decisions, const int64_t *granted)
{
	int rc = buf_append_u8(out, '{');

	for (size_t i = 0; i < s->n_purposes; i++) {
		rc |= buf_append(out, ",", i ? 1 : 0);
		rc |= report_json_string(out, s->purposes[i]);
		rc |= buf_printf(
		    out, ":{\"decisions\":%" PRId64 ",\"granted\":%" PRId64 ",\"opt_in_rate\":",
		    decisions[i], granted[i]);
		rc |= rate(out, granted[i], decisions[i], true);
		rc |= buf_append_u8(out, '}');
	}
	return rc | buf_append_u8(out, '}');
}

static int json_series(struct buf *out, const struct report_query *q,
		       const struct report_consent_summary *s)
{
	int rc = buf_append(out, "\"series\":[", 10);
	char label[11];

	for (size_t b = 0; b < s->n_buckets; b++) {
		const int64_t *d = s->bucket_decisions + b * s->n_purposes;
		const int64_t *g = s->bucket_granted + b * s->n_purposes;

		report_bucket_label(q->by, s->bucket_start[b], label);
		rc |=
		    buf_printf(out, "%s{\"period\":\"%s\",\"events\":%" PRId64 ",\"opt_in_rate\":{",
			       b ? "," : "", label, s->bucket_events[b]);
		for (size_t p = 0; p < s->n_purposes; p++) {
			rc |= buf_append(out, ",", p ? 1 : 0);
			rc |= report_json_string(out, s->purposes[p]);
			rc |= buf_append_u8(out, ':');
			rc |= rate(out, g[p], d[p], true);
		}
		rc |= buf_append(out, "}}", 2);
	}
	return rc | buf_append_u8(out, ']');
}

static int json_consent_begin(struct buf *out, const struct report_query *q, int64_t today,
			      const struct report_consent_summary *s)
{
	char as_of[11], from[11], to[11];
	int rc;

	report_day(today, as_of);
	report_day(q->from, from);
	report_day(q->to, to);
	rc = buf_printf(out,
			"{\"report\":\"consent\",\"as_of\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
			"\"by\":\"%s\",\"summary\":{\"events\":%" PRId64 ",\"actions\":",
			as_of, from, to, bucket_names[q->by], s->events);
	rc |= json_actions(out, s, s->action_events);
	rc |= buf_append(out, ",\"purposes\":", 12);
	rc |= json_purposes(out, s, s->decisions, s->granted);
	rc |= buf_append_u8(out, ',');
	rc |= json_series(out, q, s);
	rc |= buf_append(out, "},\"rows\":[\n", 11);
	return rc;
}

static int64_t row_events(const struct report_consent_summary *s,
			  const struct report_consent_row *row)
{
	int64_t n = 0;

	for (size_t i = 0; i < s->n_actions; i++)
		n += row->action_events[i];
	return n;
}

static int json_consent_row(struct buf *out, const struct report_query *q,
			    const struct report_consent_summary *s,
			    const struct report_consent_row *row, uint64_t index)
{
	char label[11];
	int rc = buf_append(out, index ? ",\n{" : "{", index ? 3 : 1);

	report_bucket_label(q->by, row->bucket, label);
	rc |= buf_printf(out, "\"period\":\"%s\",\"policy_version\":", label);
	rc |= report_json_string(out, row->policy_version);
	rc |= buf_append(out, ",\"banner_version\":", 18);
	rc |= report_json_string(out, row->banner_version);
	rc |= buf_append(out, ",\"notice_sha256\":", 17);
	rc |= report_json_string(out, row->notice_sha256);
	rc |= buf_printf(out, ",\"events\":%" PRId64 ",\"actions\":", row_events(s, row));
	rc |= json_actions(out, s, row->action_events);
	rc |= buf_append(out, ",\"purposes\":", 12);
	rc |= json_purposes(out, s, row->decisions, row->granted);
	return rc | buf_append_u8(out, '}');
}

static int csv_consent_header(struct buf *out, const struct report_consent_summary *s)
{
	struct buf name = {0};
	int rc = buf_printf(out, "period,policy_version,banner_version,notice_sha256");

	for (size_t i = 0; i < s->n_actions; i++) {
		rc |= buf_append_u8(out, ',');
		rc |= report_csv_field(out, s->actions[i]);
	}
	rc |= buf_printf(out, ",events");
	for (size_t i = 0; i < s->n_purposes; i++) {
		static const char *const suffix[] = {"decisions", "granted", "opt_in_rate"};

		for (size_t k = 0; k < ARRAY_SIZE(suffix); k++) {
			buf_reset(&name);
			rc |= buf_printf(&name, "%s_%s", s->purposes[i], suffix[k]);
			rc |= buf_append_u8(out, ',');
			rc |= name.data ? report_csv_field(out, (const char *)name.data) : -ENOMEM;
		}
	}
	buf_free(&name);
	return rc | buf_append(out, "\r\n", 2);
}

static int csv_consent_row(struct buf *out, const struct report_query *q,
			   const struct report_consent_summary *s,
			   const struct report_consent_row *row)
{
	char label[11];
	int rc;

	report_bucket_label(q->by, row->bucket, label);
	rc = buf_printf(out, "%s,", label);
	rc |= report_csv_field(out, row->policy_version);
	rc |= buf_append_u8(out, ',');
	rc |= report_csv_field(out, row->banner_version);
	rc |= buf_append_u8(out, ',');
	rc |= report_csv_field(out, row->notice_sha256);
	for (size_t i = 0; i < s->n_actions; i++)
		rc |= buf_printf(out, ",%" PRId64, row->action_events[i]);
	rc |= buf_printf(out, ",%" PRId64, row_events(s, row));
	for (size_t i = 0; i < s->n_purposes; i++) {
		rc |= buf_printf(out, ",%" PRId64 ",%" PRId64 ",", row->decisions[i],
				 row->granted[i]);
		rc |= rate(out, row->granted[i], row->decisions[i], false);
	}
	return rc | buf_append(out, "\r\n", 2);
}

int report_consent_begin(struct buf *out, const struct report_query *q, int64_t today,
			 const struct report_consent_summary *s)
{
	size_t start = out->len;
	int rc;

	if (q->format == REPORT_FORMAT_JSON)
		rc = json_consent_begin(out, q, today, s);
	else if (q->format == REPORT_FORMAT_NDJSON)
		rc = json_consent_begin(out, q, today, s) < 0 ? -ENOMEM : ndjson_head(out, start);
	else if (q->format == REPORT_FORMAT_CSV)
		rc = csv_consent_header(out, s);
	else
		rc = report_html_consent_begin(out, q, today, s);
	return rc < 0 ? -ENOMEM : 0;
}

int report_consent_row(struct buf *out, const struct report_query *q,
		       const struct report_consent_summary *s, const struct report_consent_row *row,
		       uint64_t index)
{
	int rc;

	if (q->format == REPORT_FORMAT_JSON)
		rc = json_consent_row(out, q, s, row, index);
	else if (q->format == REPORT_FORMAT_NDJSON)
		rc = json_consent_row(out, q, s, row, 0) | buf_append_u8(out, '\n');
	else if (q->format == REPORT_FORMAT_CSV)
		rc = csv_consent_row(out, q, s, row);
	else
		rc = report_html_consent_row(out, q, s, row);
	return rc < 0 ? -ENOMEM : 0;
}

int report_consent_end(struct buf *out, const struct report_query *q,
		       const struct report_consent_summary *s, uint64_t rows)
{
	int rc = 0;

	(void)s;
	if (q->format == REPORT_FORMAT_JSON)
		rc = buf_printf(out, "%s],\"row_count\":%" PRIu64 "}\n", rows ? "\n" : "", rows);
	else if (q->format == REPORT_FORMAT_NDJSON)
		rc = buf_printf(out, "{\"row_count\":%" PRIu64 "}\n", rows);
	else if (q->format == REPORT_FORMAT_HTML)
		rc = report_html_consent_end(out, rows);
	return rc < 0 ? -ENOMEM : 0;
}
