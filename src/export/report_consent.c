/* The consent analytics report: its summary (actions and purposes per period, notice-version
 * rows) and its JSON, NDJSON and CSV rendering; HTML is report_html.c's. Pure. */
#include "export/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"
#include "export/report_internal.h"

static const char *const main_actions[] = {"accept_all", "reject_all", "customize", "withdraw"};

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
		if (report_pick(extra[i], main_actions, ARRAY_SIZE(main_actions)) < 0)
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
		rc |= report_rate(out, granted[i], decisions[i], true);
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
			rc |= report_rate(out, g[p], d[p], true);
		}
		rc |= buf_append(out, "}}", 2);
	}
	return rc | buf_append_u8(out, ']');
}

static int json_consent_begin(struct buf *out, const struct report_query *q, int64_t today,
			      const struct report_consent_summary *s)
{
	int rc = report_json_head(out, "consent", q, today);

	rc |= buf_printf(out, "\"by\":\"%s\",\"summary\":{\"events\":%" PRId64 ",\"actions\":",
			 bucket_names[q->by], s->events);
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
		rc |= report_rate(out, row->granted[i], row->decisions[i], false);
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
		rc = json_consent_begin(out, q, today, s) < 0 ? -ENOMEM : report_ndjson_head(out, start);
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
