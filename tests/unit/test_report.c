/* Report renderer tests: parameters and their defaults, day and month buckets, CSV quoting
 * (RFC 4180), HTML escaping, the JSON documents parsed back with jansson, and the SVG charts
 * (bars and points counted). */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"
#include "export/report.h"
#include "util/util.h"

static int64_t day_of(const char *s)
{
	int64_t d = 0;

	ck_assert_msg(deadline_day_parse(s, strlen(s), &d) == 0, "bad test date %s", s);
	return d;
}

/* The buffer as a NUL-terminated string (appends a NUL that len does not count). */
static const char *text(struct buf *b)
{
	ck_assert_int_eq(buf_append_u8(b, 0), 0);
	b->len--;
	return (const char *)b->data;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- parameters ----------------------------------------------------------------------------- */

START_TEST(test_query_parameters)
{
	struct report_query q;
	char why[200];

	report_query_init(&q, REPORT_DATA_RIGHTS);
	ck_assert_int_eq(report_query_set(&q, "from", "2026-02-28", why, sizeof(why)), 0);
	ck_assert_int_eq(q.from, day_of("2026-02-28"));
	ck_assert_int_eq(report_query_set(&q, "status", "overdue", why, sizeof(why)), 0);
	ck_assert_int_eq(q.status, REPORT_STATUS_OVERDUE);
	ck_assert_int_eq(report_query_set(&q, "due_within", "0", why, sizeof(why)), 0);
	ck_assert_int_eq(q.due_within, 0);
	ck_assert_int_eq(report_query_set(&q, "format", "html", why, sizeof(why)), 0);
	ck_assert_int_eq(q.format, REPORT_FORMAT_HTML);

	ck_assert_int_eq(report_query_set(&q, "from", "2026-02-30", why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "YYYY-MM-DD"));
	ck_assert_int_eq(report_query_set(&q, "to", "26-01-01", why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(report_query_set(&q, "status", "closed", why, sizeof(why)), -EINVAL);
	ck_assert_str_eq(why, "status must be one of all, open, overdue");
	ck_assert_int_eq(report_query_set(&q, "format", "xml", why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(report_query_set(&q, "due_within", "-1", why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(report_query_set(&q, "due_within", "1x", why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(report_query_set(&q, "due_within", "99999", why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(report_query_set(&q, "by", "day", why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(report_query_set(&q, "limit", "3", why, sizeof(why)), -ENOENT);
	/* A refused value leaves the query as it was. */
	ck_assert_int_eq(q.status, REPORT_STATUS_OVERDUE);
	ck_assert_int_eq(q.format, REPORT_FORMAT_HTML);

	report_query_init(&q, REPORT_CONSENT);
	ck_assert_int_eq(report_query_set(&q, "by", "month", why, sizeof(why)), 0);
	ck_assert_int_eq(q.by, REPORT_BY_MONTH);
	ck_assert_int_eq(report_query_set(&q, "by", "week", why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(report_query_set(&q, "status", "open", why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(report_query_set(&q, "due_within", "3", why, sizeof(why)), -ENOENT);
}
END_TEST

START_TEST(test_query_resolve)
{
	int64_t today = day_of("2026-11-29");
	const char *field = NULL;
	struct report_query q;
	char why[200];

	report_query_init(&q, REPORT_DATA_RIGHTS);
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), 0);
	ck_assert_int_eq(q.to, today);
	ck_assert_int_eq(q.from, day_of("2026-10-31")); /* 30 days, both ends included */

	report_query_init(&q, REPORT_DATA_RIGHTS);
	q.to = day_of("2026-03-31");
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), 0);
	ck_assert_int_eq(q.from, day_of("2026-03-02"));

	report_query_init(&q, REPORT_DATA_RIGHTS);
	q.from = day_of("2027-01-10"); /* after today: the 30 days from it */
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), 0);
	ck_assert_int_eq(q.to, day_of("2027-02-08"));

	report_query_init(&q, REPORT_DATA_RIGHTS);
	q.from = day_of("2026-05-02");
	q.to = day_of("2026-05-01");
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), -EDOM);
	ck_assert_str_eq(field, "from");

	/* Data-rights periods have no upper bound; consent ones do. */
	report_query_init(&q, REPORT_DATA_RIGHTS);
	q.from = day_of("2000-01-01");
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), 0);
	report_query_init(&q, REPORT_CONSENT);
	q.from = today - REPORT_CONSENT_MAX_DAYS + 1;
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), 0);
	report_query_init(&q, REPORT_CONSENT);
	q.from = today - REPORT_CONSENT_MAX_DAYS;
	ck_assert_int_eq(report_query_resolve(&q, today, &field, why, sizeof(why)), -EDOM);
	ck_assert_str_eq(field, "to");
}
END_TEST

START_TEST(test_buckets)
{
	char label[11];

	ck_assert_int_eq(report_bucket_start(REPORT_BY_MONTH, day_of("2024-02-29")),
			 day_of("2024-02-01"));
	ck_assert_int_eq(report_bucket_next(REPORT_BY_MONTH, day_of("2024-02-01")),
			 day_of("2024-03-01"));
	ck_assert_int_eq(report_bucket_next(REPORT_BY_MONTH, day_of("2025-12-01")),
			 day_of("2026-01-01"));
	ck_assert_int_eq(report_bucket_start(REPORT_BY_DAY, day_of("2024-02-29")),
			 day_of("2024-02-29"));
	ck_assert_int_eq(report_bucket_next(REPORT_BY_DAY, day_of("2024-02-29")),
			 day_of("2024-03-01"));
	report_bucket_label(REPORT_BY_MONTH, day_of("2026-03-01"), label);
	ck_assert_str_eq(label, "2026-03");
	report_bucket_label(REPORT_BY_DAY, day_of("2026-03-07"), label);
	ck_assert_str_eq(label, "2026-03-07");
}
END_TEST

/* ---- escaping ------------------------------------------------------------------------------- */

START_TEST(test_csv_quoting)
{
	struct buf b = {0};

	ck_assert_int_eq(report_csv_field(&b, "plain"), 0);
	ck_assert_str_eq(text(&b), "plain");
	buf_reset(&b);
	report_csv_field(&b, "a,b");
	ck_assert_str_eq(text(&b), "\"a,b\"");
	buf_reset(&b);
	report_csv_field(&b, "say \"hi\"");
	ck_assert_str_eq(text(&b), "\"say \"\"hi\"\"\"");
	buf_reset(&b);
	report_csv_field(&b, "two\r\nlines\n");
	ck_assert_str_eq(text(&b), "\"two\r\nlines\n\"");
	buf_reset(&b);
	report_csv_field(&b, "");
	ck_assert_str_eq(text(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_html_and_json_escaping)
{
	struct buf b = {0};

	report_html_escape(&b, "<script>alert('x')</script> & \"q\"\r\n");
	ck_assert_str_eq(text(&b), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
				   "&quot;q&quot;&#13;\n");
	buf_reset(&b);
	report_json_string(&b, "a\"b\\c\nd\x01\xc3\xa9");
	ck_assert_str_eq(text(&b), "\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\"");
	buf_free(&b);
}
END_TEST

/* ---- data-rights ---------------------------------------------------------------------------- */

static const char *const nasty_id = "DSR,\"1\"\n<b>&";

static void dr_fixture(struct report_dr_summary *s, struct report_dr_row rows[2])
{
	static struct report_dr_stats stats[2];

	stats[0] = (struct report_dr_stats){"access", 3, 1, 1, 2, 1, 12.5};
	stats[1] = (struct report_dr_stats){"<erasure>", 1, 1, 0, 0, 0, -1};
	s->rights = stats;
	s->n = 2;
	s->total = (struct report_dr_stats){"", 4, 2, 1, 2, 1, 12.5};
	rows[0] = (struct report_dr_row){
	    .request_id = nasty_id,
	    .right = "access",
	    .jurisdiction = "gdpr",
	    .state = "fulfilled",
	    .outcome = "fulfilled",
	    .received = day_of("2026-01-31"),
	    .due = day_of("2026-02-28"),
	    .extended_due = REPORT_NO_DAY,
	    .closed = day_of("2026-03-02"),
	    .on_time = 0,
	    .overdue = false,
	};
	rows[1] = (struct report_dr_row){
	    .request_id = "DSR-2",
	    .right = "<erasure>",
	    .jurisdiction = "ccpa",
	    .state = "extended",
	    .outcome = "",
	    .received = day_of("2026-01-01"),
	    .due = day_of("2026-02-15"),
	    .extended_due = day_of("2026-04-01"),
	    .closed = REPORT_NO_DAY,
	    .on_time = -1,
	    .overdue = true,
	};
}

static void render_dr(struct buf *b, enum report_format f)
{
	struct report_dr_summary s;
	struct report_dr_row rows[2];
	struct report_query q;

	dr_fixture(&s, rows);
	report_query_init(&q, REPORT_DATA_RIGHTS);
	q.format = f;
	q.from = day_of("2026-01-01");
	q.to = day_of("2026-01-31");
	ck_assert_int_eq(report_dr_begin(b, &q, day_of("2026-05-01"), &s), 0);
	for (uint64_t i = 0; i < 2; i++)
		ck_assert_int_eq(report_dr_row(b, &q, &rows[i], i), 0);
	ck_assert_int_eq(report_dr_end(b, &q, 2), 0);
}

START_TEST(test_dr_csv)
{
	struct buf b = {0};

	render_dr(&b, REPORT_FORMAT_CSV);
	ck_assert_str_eq(
	    text(&b),
	    "request_id,right,jurisdiction,state,received,due,extended_due,closed,"
	    "outcome,on_time,days_to_close,overdue\r\n"
	    "\"DSR,\"\"1\"\"\n<b>&\",access,gdpr,fulfilled,2026-01-31,2026-02-28,,"
	    "2026-03-02,fulfilled,false,30,false\r\n"
	    "DSR-2,<erasure>,ccpa,extended,2026-01-01,2026-02-15,2026-04-01,,,,,true\r\n");
	buf_free(&b);
}
END_TEST

START_TEST(test_dr_json)
{
	struct buf b = {0};
	json_error_t jerr;
	json_t *doc, *rows, *r0, *r1, *rights, *total;

	render_dr(&b, REPORT_FORMAT_JSON);
	doc = json_loadb((const char *)b.data, b.len, 0, &jerr);
	ck_assert_msg(doc != NULL, "not JSON: %s: %.*s", jerr.text, (int)b.len, b.data);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "report")), "data-rights");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "as_of")), "2026-05-01");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "from")), "2026-01-01");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "all");
	ck_assert(json_is_null(json_object_get(doc, "due_within")));
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "row_count")), 2);
	rights = json_object_get(json_object_get(doc, "summary"), "rights");
	ck_assert_int_eq(json_array_size(rights), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rights, 1), "right")),
			 "<erasure>");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rights, 0), "late")), 1);
	ck_assert(json_real_value(json_object_get(json_array_get(rights, 0), "on_time_rate")) ==
		  0.5);
	ck_assert(json_real_value(
		      json_object_get(json_array_get(rights, 0), "median_days_to_close")) == 12.5);
	ck_assert(json_is_null(json_object_get(json_array_get(rights, 1), "on_time_rate")));
	total = json_object_get(json_object_get(doc, "summary"), "total");
	ck_assert_int_eq(json_integer_value(json_object_get(total, "count")), 4);
	ck_assert_ptr_null(json_object_get(total, "right"));
	rows = json_object_get(doc, "rows");
	ck_assert_int_eq(json_array_size(rows), 2);
	r0 = json_array_get(rows, 0);
	r1 = json_array_get(rows, 1);
	ck_assert_str_eq(json_string_value(json_object_get(r0, "request_id")), nasty_id);
	ck_assert_int_eq(json_integer_value(json_object_get(r0, "days_to_close")), 30);
	ck_assert(json_is_false(json_object_get(r0, "on_time")));
	ck_assert(json_is_null(json_object_get(r0, "extended_due")));
	ck_assert(json_is_null(json_object_get(r1, "on_time")));
	ck_assert(json_is_null(json_object_get(r1, "outcome")));
	ck_assert(json_is_null(json_object_get(r1, "days_to_close")));
	ck_assert(json_is_true(json_object_get(r1, "overdue")));
	ck_assert_str_eq(json_string_value(json_object_get(r1, "extended_due")), "2026-04-01");
	json_decref(doc);
	buf_free(&b);
}
END_TEST

/* NDJSON: the JSON document's head, rows and count, one object per line, same values. */
START_TEST(test_dr_ndjson)
{
	struct buf j = {0}, n = {0};
	json_t *doc, *rows, *line;
	char *save = NULL, *copy, *l;
	size_t i = 0;

	render_dr(&j, REPORT_FORMAT_JSON);
	render_dr(&n, REPORT_FORMAT_NDJSON);
	doc = json_loadb((const char *)j.data, j.len, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	rows = json_object_get(doc, "rows");
	copy = strndup((const char *)n.data, n.len);
	ck_assert_ptr_nonnull(copy);
	ck_assert_int_eq(count(copy, "\n"), 4);
	for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		line = json_loads(l, 0, NULL);
		ck_assert_msg(line != NULL, "line %zu is not JSON: %s", i, l);
		if (i == 0) {
			ck_assert(json_equal(json_object_get(line, "summary"),
					     json_object_get(doc, "summary")));
			ck_assert_str_eq(json_string_value(json_object_get(line, "report")), "data-rights");
			ck_assert_ptr_null(json_object_get(line, "rows"));
		} else if (i <= 2) {
			ck_assert(json_equal(line, json_array_get(rows, i - 1)));
		} else {
			ck_assert_int_eq(json_integer_value(json_object_get(line, "row_count")), 2);
		}
		json_decref(line);
	}
	ck_assert_int_eq(i, 4);
	free(copy);
	json_decref(doc);
	buf_free(&j);
	buf_free(&n);
}
END_TEST

START_TEST(test_dr_html)
{
	struct buf b = {0};
	const char *h;

	render_dr(&b, REPORT_FORMAT_HTML);
	h = text(&b);
	ck_assert_ptr_nonnull(strstr(h, "<!DOCTYPE html>"));
	ck_assert_ptr_nonnull(strstr(h, "@media print"));
	ck_assert_ptr_nonnull(strstr(h, "default-src 'none'"));
	/* Self-contained: no script, no external reference. */
	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_ptr_null(strstr(h, "src="));
	ck_assert_ptr_null(strstr(h, "href="));
	ck_assert_ptr_null(strstr(h, "<b>&"));
	ck_assert_ptr_nonnull(strstr(h, "<td>DSR,&quot;1&quot;\n&lt;b&gt;&amp;</td>"));
	ck_assert_ptr_null(strstr(h, "<erasure>"));
	ck_assert_uint_eq(count(h, "<svg"), 2);
	ck_assert_uint_eq(count(h, "<rect class=\"bar\""), 2); /* requests by right */
	ck_assert_ptr_nonnull(strstr(h, "data-label=\"access\" data-value=\"3\""));
	/* access: 1 on time, 1 late, 1 open (overdue); <erasure>: 1 open not yet due. */
	ck_assert_uint_eq(count(h, "<rect class=\"seg on-time\" data-value=\"1\""), 1);
	ck_assert_uint_eq(count(h, "<rect class=\"seg late\" data-value=\"1\""), 1);
	ck_assert_uint_eq(count(h, "<rect class=\"seg overdue\" data-value=\"1\""), 1);
	ck_assert_uint_eq(count(h, "<rect class=\"seg open\""), 1);
	ck_assert_uint_eq(count(h, "<tr class=\"overdue\">"), 1);
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\">50.0%</td><td class=\"n\">12.5</td>"));
	ck_assert_ptr_nonnull(strstr(h, "data-value=\"2\">2 requests."));
	ck_assert_ptr_nonnull(strstr(h, "</html>\n"));
	buf_free(&b);
}
END_TEST

START_TEST(test_dr_empty)
{
	struct report_dr_summary s = {0};
	struct report_query q;
	struct buf b = {0};
	json_t *doc;

	report_query_init(&q, REPORT_DATA_RIGHTS);
	q.from = q.to = day_of("2026-01-01");
	ck_assert_int_eq(report_dr_begin(&b, &q, q.to, &s), 0);
	ck_assert_int_eq(report_dr_end(&b, &q, 0), 0);
	doc = json_loadb((const char *)b.data, b.len, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "rows")), 0);
	json_decref(doc);
	buf_reset(&b);
	q.format = REPORT_FORMAT_HTML;
	ck_assert_int_eq(report_dr_begin(&b, &q, q.to, &s), 0);
	ck_assert_int_eq(report_dr_end(&b, &q, 0), 0);
	ck_assert_uint_eq(count(text(&b), "<svg"), 0);
	ck_assert_uint_eq(count(text(&b), "No data in this period."), 2);
	buf_free(&b);
}
END_TEST

/* ---- consent -------------------------------------------------------------------------------- */

/* March 2026 by month: one bucket; or 3 days by day, with "gpc" as an extra action. */
static void consent_fixture(struct report_consent_summary *s, enum report_bucket by)
{
	static const char *const extra[] = {"accept_all", "gpc"};
	static const char *const purposes[] = {"a,\"b\"", "analytics"};
	int64_t from = day_of("2026-03-30"), to = day_of("2026-04-01");

	ck_assert_int_eq(report_consent_summary_init(s, extra, 2, purposes, 2, by, from, to), 0);
	s->action_events[0] = 6; /* accept_all */
	s->action_events[4] = 2; /* gpc */
	s->events = 8;
	s->decisions[0] = 8;
	s->granted[0] = 6;
	s->decisions[1] = 8;
	s->granted[1] = 6;
	/* analytics has decisions in the first and last bucket only. */
	s->bucket_decisions[0 * 2 + 1] = 4;
	s->bucket_granted[0 * 2 + 1] = 1;
	s->bucket_decisions[(s->n_buckets - 1) * 2 + 1] = 4;
	s->bucket_granted[(s->n_buckets - 1) * 2 + 1] = 4;
}

START_TEST(test_consent_summary_columns)
{
	struct report_consent_summary s;

	consent_fixture(&s, REPORT_BY_DAY);
	ck_assert_uint_eq(s.n_actions, 5);
	ck_assert_str_eq(s.actions[0], "accept_all");
	ck_assert_str_eq(s.actions[3], "withdraw");
	ck_assert_str_eq(s.actions[4], "gpc");
	ck_assert_int_eq(report_consent_action_index(&s, "gpc"), 4);
	ck_assert_int_eq(report_consent_action_index(&s, "renew"), -1);
	ck_assert_int_eq(report_consent_purpose_index(&s, "analytics"), 1);
	ck_assert_uint_eq(s.n_buckets, 3);
	ck_assert_int_eq(report_consent_bucket_index(&s, day_of("2026-03-31")), 1);
	ck_assert_int_eq(report_consent_bucket_index(&s, day_of("2026-04-02")), -1);
	report_consent_summary_free(&s);
	consent_fixture(&s, REPORT_BY_MONTH);
	ck_assert_uint_eq(s.n_buckets, 2); /* March (from the 30th) and April */
	ck_assert_int_eq(s.bucket_start[0], day_of("2026-03-01"));
	ck_assert_int_eq(s.bucket_start[1], day_of("2026-04-01"));
	report_consent_summary_free(&s);
}
END_TEST

static void render_consent(struct buf *b, enum report_format f, enum report_bucket by,
			   struct report_consent_summary *s)
{
	static const int64_t actions[5] = {6, 0, 0, 0, 2};
	static const int64_t decisions[2] = {8, 8}, granted[2] = {6, 3};
	struct report_consent_row row = {
	    .bucket = day_of("2026-03-01"),
	    .policy_version = "v1,\"x\"",
	    .banner_version = "<b>",
	    .notice_sha256 = "",
	    .action_events = actions,
	    .decisions = decisions,
	    .granted = granted,
	};
	struct report_query q;

	consent_fixture(s, by);
	report_query_init(&q, REPORT_CONSENT);
	q.format = f;
	q.by = by;
	q.from = day_of("2026-03-30");
	q.to = day_of("2026-04-01");
	ck_assert_int_eq(report_consent_begin(b, &q, day_of("2026-04-02"), s), 0);
	ck_assert_int_eq(report_consent_row(b, &q, s, &row, 0), 0);
	ck_assert_int_eq(report_consent_end(b, &q, s, 1), 0);
}

START_TEST(test_consent_csv)
{
	struct report_consent_summary s;
	struct buf b = {0};

	render_consent(&b, REPORT_FORMAT_CSV, REPORT_BY_MONTH, &s);
	ck_assert_str_eq(
	    text(&b),
	    "period,policy_version,banner_version,notice_sha256,accept_all,reject_all,"
	    "customize,withdraw,gpc,events,\"a,\"\"b\"\"_decisions\",\"a,\"\"b\"\"_granted\","
	    "\"a,\"\"b\"\"_opt_in_rate\",analytics_decisions,analytics_granted,"
	    "analytics_opt_in_rate\r\n"
	    "2026-03,\"v1,\"\"x\"\"\",<b>,,6,0,0,0,2,8,8,6,0.7500,8,3,0.3750\r\n");
	report_consent_summary_free(&s);
	buf_free(&b);
}
END_TEST

START_TEST(test_consent_json)
{
	struct report_consent_summary s;
	struct buf b = {0};
	json_error_t jerr;
	json_t *doc, *sum, *series, *row;

	render_consent(&b, REPORT_FORMAT_JSON, REPORT_BY_DAY, &s);
	doc = json_loadb((const char *)b.data, b.len, 0, &jerr);
	ck_assert_msg(doc != NULL, "not JSON: %s", jerr.text);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "by")), "day");
	sum = json_object_get(doc, "summary");
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "events")), 8);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(sum, "actions"), "gpc")), 2);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(sum, "actions"), "withdraw")), 0);
	series = json_object_get(sum, "series");
	ck_assert_int_eq(json_array_size(series), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(series, 1), "period")),
			 "2026-03-31");
	ck_assert(json_real_value(json_object_get(
		      json_object_get(json_array_get(series, 0), "opt_in_rate"), "analytics")) ==
		  0.25);
	ck_assert(json_is_null(json_object_get(
	    json_object_get(json_array_get(series, 1), "opt_in_rate"), "analytics")));
	row = json_array_get(json_object_get(doc, "rows"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(row, "policy_version")), "v1,\"x\"");
	ck_assert_int_eq(json_integer_value(json_object_get(row, "events")), 8);
	ck_assert(json_real_value(json_object_get(
		      json_object_get(json_object_get(row, "purposes"), "analytics"),
		      "opt_in_rate")) == 0.375);
	json_decref(doc);
	report_consent_summary_free(&s);
	buf_free(&b);
}
END_TEST

START_TEST(test_consent_html)
{
	struct report_consent_summary s;
	struct buf b = {0};
	const char *h;

	render_consent(&b, REPORT_FORMAT_HTML, REPORT_BY_DAY, &s);
	h = text(&b);
	ck_assert_uint_eq(count(h, "<svg"), 2);
	ck_assert_uint_eq(count(h, "<path class=\"series\""), 2);
	/* analytics: points on the first and last day, none on the day without decisions. */
	ck_assert_uint_eq(count(h, "<circle class=\"point\" data-purpose=\"analytics\""), 2);
	ck_assert_ptr_nonnull(strstr(h, "data-period=\"2026-03-30\" data-value=\"0.2500\""));
	ck_assert_ptr_nonnull(strstr(h, "data-period=\"2026-04-01\" data-value=\"1.0000\""));
	ck_assert_uint_eq(count(h, "<circle class=\"point\" data-purpose=\"a,&quot;b&quot;\""), 0);
	/* the path is broken where there is no decision: two separate moves */
	ck_assert_uint_eq(count(h, "data-purpose=\"analytics\" fill=\"none\""), 1);
	ck_assert_uint_eq(count(h, "<rect class=\"bar\""), 5); /* decisions by action */
	ck_assert_ptr_nonnull(strstr(h, "<td>v1,&quot;x&quot;</td><td>&lt;b&gt;</td>"));
	ck_assert_ptr_null(strstr(h, "<b>"));
	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\">37.5%</td>"));
	report_consent_summary_free(&s);
	buf_free(&b);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_query_parameters);
	tcase_add_test(tc, test_query_resolve);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_csv_quoting);
	tcase_add_test(tc, test_html_and_json_escaping);
	tcase_add_test(tc, test_dr_csv);
	tcase_add_test(tc, test_dr_json);
	tcase_add_test(tc, test_dr_ndjson);
	tcase_add_test(tc, test_dr_html);
	tcase_add_test(tc, test_dr_empty);
	tcase_add_test(tc, test_consent_summary_columns);
	tcase_add_test(tc, test_consent_csv);
	tcase_add_test(tc, test_consent_json);
	tcase_add_test(tc, test_consent_html);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
