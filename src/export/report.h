/* Compliance reports: the data-rights register and consent analytics, rendered as JSON, CSV
 * (RFC 4180) or a self-contained HTML page (inline CSS and SVG charts, no script, printable).
 * Pure: parameters are parsed and rows rendered into a struct buf; no I/O, no clock, no libpq.
 *
 * A report is rendered in three steps so that it can stream with constant memory: begin (header,
 * summary and charts: everything that is small and known before the first row), one call per row,
 * end (trailer). docs/reports.md describes every format and field. */
#ifndef CONSENTD_EXPORT_REPORT_H
#define CONSENTD_EXPORT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

enum report_kind { REPORT_DATA_RIGHTS, REPORT_CONSENT };
enum report_format {
	REPORT_FORMAT_JSON,
	REPORT_FORMAT_CSV,
	REPORT_FORMAT_HTML,
	REPORT_FORMAT_NDJSON, /* the JSON document as lines: head, one row per line, row_count */
};
enum report_status { REPORT_STATUS_ALL, REPORT_STATUS_OPEN, REPORT_STATUS_OVERDUE };
enum report_bucket { REPORT_BY_DAY, REPORT_BY_MONTH };

/* A day not given: the default applies (report_query_resolve). */
#define REPORT_NO_DAY INT64_MIN
/* Days in the default period: the 30 days ending today. */
#define REPORT_DEFAULT_DAYS 30
/* Longest consent report period, in days (about ten years): its series is held in memory. */
#define REPORT_CONSENT_MAX_DAYS 3660
/* Largest due_within, in days. */
#define REPORT_DUE_WITHIN_MAX 3660

/* What a report asks for. Days are civil days (days_from_civil numbering, UTC). */
struct report_query {
	enum report_kind kind;
	enum report_format format;
	int64_t from, to;	   /* inclusive; REPORT_NO_DAY: default */
	enum report_status status; /* data-rights; default all */
	int64_t due_within;	   /* data-rights: open requests due by today + N; -1: no filter */
	enum report_bucket by;	   /* consent; default day */
};

/* The defaults for kind: format json, status all, by day, no days, no due_within. */
void report_query_init(struct report_query *q, enum report_kind kind);
/*
 * Sets one parameter by its HTTP name (from, to, status, due_within, by, format) from text.
 * Returns 0; -ENOENT for a name this kind of report does not take; -EINVAL for a bad value.
 * Both with a message for the caller in why (whylen > 0).
 */
int report_query_set(struct report_query *q, const char *name, const char *value, char *why,
		     size_t whylen);
/*
 * Fills the defaults against today (to = today, from = to - 29) and checks the period: from <= to,
 * and for consent at most REPORT_CONSENT_MAX_DAYS days. Returns 0, or -EDOM with the offending
 * parameter's name in *field and a message in why.
 */
int report_query_resolve(struct report_query *q, int64_t today, const char **field, char *why,
			 size_t whylen);

/* "application/json", "text/csv; charset=utf-8; header=present", "text/html; charset=utf-8". */
const char *report_content_type(enum report_format f);
/* "data-rights-2026-01-01-2026-01-31.csv": a file name for Content-Disposition (out >= 64). */
void report_file_name(const struct report_query *q, char *out, size_t outlen);

/* The first day of the bucket that holds day, and the first day of the next one. */
int64_t report_bucket_start(enum report_bucket by, int64_t day);
int64_t report_bucket_next(enum report_bucket by, int64_t start);
/* "2026-03-01" by day, "2026-03" by month; out holds 11 bytes. */
void report_bucket_label(enum report_bucket by, int64_t start, char out[11]);

/* ---- data-rights register ------------------------------------------------------------------- */

/* One request. Strings are borrowed for the call; outcome is "" while open. */
struct report_dr_row {
	const char *request_id, *right, *jurisdiction, *state, *outcome;
	int64_t received, due;
	int64_t extended_due, closed; /* REPORT_NO_DAY when not extended, still open */
	int on_time;		      /* 1, 0, or -1 while open */
	bool overdue;		      /* open and today is past the due date in force */
};

/* Figures for one right, or for all of them. */
struct report_dr_stats {
	char right[40];
	int64_t count, open, overdue, closed, on_time;
	double median_days; /* days from receipt to closing, median over closed; < 0: none closed */
};

struct report_dr_summary {
	struct report_dr_stats *rights; /* by right name; owned */
	size_t n;
	struct report_dr_stats total;
};

void report_dr_summary_free(struct report_dr_summary *s);

/* Each returns 0 or -ENOMEM (out may then hold part of the text). */
int report_dr_begin(struct buf *out, const struct report_query *q, int64_t today,
		    const struct report_dr_summary *s);
int report_dr_row(struct buf *out, const struct report_query *q, const struct report_dr_row *row,
		  uint64_t index);
int report_dr_end(struct buf *out, const struct report_query *q, uint64_t rows);

/* ---- consent analytics ---------------------------------------------------------------------- */

/* The columns of a consent report and its totals, computed before the rows: the actions (the
 * four main ones always, then any other present, by name), the purposes present, and the series
 * of every bucket of the period (for the opt-in chart). */
struct report_consent_summary {
	char **actions;		/* owned */
	int64_t *action_events; /* per action, over the period */
	size_t n_actions;
	char **purposes;	      /* owned, by name */
	int64_t *decisions, *granted; /* per purpose, over the period */
	size_t n_purposes;
	int64_t *bucket_start;			    /* n_buckets first days */
	int64_t *bucket_events;			    /* consent events per bucket */
	int64_t *bucket_decisions, *bucket_granted; /* [bucket * n_purposes + purpose] */
	size_t n_buckets;
	int64_t events; /* every consent event of the period */
};

/* Sets the action columns (the four main ones, plus extra names not among them, copied) and the
 * purposes (copied), and allocates a zeroed series for every bucket from..to. -ENOMEM. */
int report_consent_summary_init(struct report_consent_summary *s, const char *const *extra_actions,
				size_t n_extra, const char *const *purposes, size_t n_purposes,
				enum report_bucket by, int64_t from, int64_t to);
/* The column of an action or purpose name, or -1. */
long report_consent_action_index(const struct report_consent_summary *s, const char *name);
long report_consent_purpose_index(const struct report_consent_summary *s, const char *name);
/* The series index of a bucket start, or -1. */
long report_consent_bucket_index(const struct report_consent_summary *s, int64_t start);
void report_consent_summary_free(struct report_consent_summary *s);

/* One bucket and notice version; the arrays follow the summary's columns. */
struct report_consent_row {
	int64_t bucket;
	const char *policy_version, *banner_version, *notice_sha256;
	const int64_t *action_events;	    /* n_actions */
	const int64_t *decisions, *granted; /* n_purposes */
};

int report_consent_begin(struct buf *out, const struct report_query *q, int64_t today,
			 const struct report_consent_summary *s);
int report_consent_row(struct buf *out, const struct report_query *q,
		       const struct report_consent_summary *s, const struct report_consent_row *row,
		       uint64_t index);
int report_consent_end(struct buf *out, const struct report_query *q,
		       const struct report_consent_summary *s, uint64_t rows);

/* ---- internal to export/: shared by report.c and report_html.c ------------------------------ */

/* Appends text escaped for HTML content and double-quoted attribute values; CR as a character
 * reference, since HTML parsers turn a raw CR (or CR LF) into LF. */
int report_html_escape(struct buf *out, const char *s);
/* Appends s as a JSON string (quotes included). */
int report_json_string(struct buf *out, const char *s);
/* Appends s as one CSV field: quoted (quotes doubled) if it holds a comma, quote, CR or LF. */
int report_csv_field(struct buf *out, const char *s);
/* "YYYY-MM-DD" of a day, "" for REPORT_NO_DAY; out holds 11 bytes. */
void report_day(int64_t day, char out[11]);

int report_html_dr_begin(struct buf *out, const struct report_query *q, int64_t today,
			 const struct report_dr_summary *s);
int report_html_dr_row(struct buf *out, const struct report_dr_row *row);
int report_html_dr_end(struct buf *out, uint64_t rows);
int report_html_consent_begin(struct buf *out, const struct report_query *q, int64_t today,
			      const struct report_consent_summary *s);
int report_html_consent_row(struct buf *out, const struct report_query *q,
			    const struct report_consent_summary *s,
			    const struct report_consent_row *row);
int report_html_consent_end(struct buf *out, uint64_t rows);

#endif
