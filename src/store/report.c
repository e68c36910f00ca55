/* The report queries: summaries with GROUP BY, rows through a cursor, days as integers (days since
 * 1970-01-01, the numbering of days_from_civil) so that no DateStyle is involved. Text is ordered
 * COLLATE "C" (by bytes), so that the order is the same whatever the database's collation. */
#include "store/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQL reads best laid out as SQL. */
/* clang-format off */
#define EPOCH "date '1970-01-01'"
#define DAY(col) "(" col " - " EPOCH ")"
#define DUE_IN_FORCE "coalesce(extended_due_on, due_on)"
#define OVERDUE "(closed_on IS NULL AND " DUE_IN_FORCE " < " EPOCH " + $3::int)"

/* $1 from, $2 to, $3 today (days), $4 status, $5 due_within (days or NULL). */
#define DR_WHERE \
	" FROM rights_request" \
	" WHERE received_on BETWEEN " EPOCH " + $1::int AND " EPOCH " + $2::int" \
	" AND ($4::text = 'all' OR closed_on IS NULL)" \
	" AND ($4::text <> 'overdue' OR " OVERDUE ")" \
	" AND ($5::int IS NULL OR (closed_on IS NULL" \
	"      AND " DUE_IN_FORCE " <= " EPOCH " + $3::int + $5::int))"

static const char dr_summary_sql[] =
	"SELECT right_name, count(*), count(*) FILTER (WHERE closed_on IS NULL),"
	" count(*) FILTER (WHERE " OVERDUE "), count(*) FILTER (WHERE closed_on IS NOT NULL),"
	" count(*) FILTER (WHERE on_time),"
	" percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - received_on)"
	"   FILTER (WHERE closed_on IS NOT NULL)"
	DR_WHERE
	" GROUP BY ROLLUP (right_name) ORDER BY right_name COLLATE \"C\" NULLS LAST";

static const char dr_cursor_sql[] =
	"DECLARE report_rows NO SCROLL CURSOR FOR"
	" SELECT request_id, right_name, jurisdiction, state, coalesce(outcome, ''),"
	" " DAY("received_on") ", " DAY("due_on") ", " DAY("extended_due_on") ","
	" " DAY("closed_on") ", on_time, " OVERDUE
	DR_WHERE
	" ORDER BY received_on, request_id COLLATE \"C\"";

/* $1 from, $2 to (days), $3 'day' or 'month'. */
#define IN_PERIOD " WHERE day BETWEEN " EPOCH " + $1::int AND " EPOCH " + $2::int"
#define BUCKET DAY("CASE WHEN $3::text = 'month' THEN date_trunc('month', day)::date ELSE day END")

static const char consent_actions_sql[] =
	"SELECT action, sum(events) FROM consent_daily" IN_PERIOD
	" GROUP BY action ORDER BY action COLLATE \"C\"";
static const char consent_purposes_sql[] =
	"SELECT purpose, sum(decisions), sum(granted) FROM consent_purpose_daily" IN_PERIOD
	" GROUP BY purpose ORDER BY purpose COLLATE \"C\"";
static const char consent_bucket_events_sql[] =
	"SELECT " BUCKET ", sum(events) FROM consent_daily" IN_PERIOD " GROUP BY 1";
static const char consent_bucket_purposes_sql[] =
	"SELECT " BUCKET ", purpose, sum(decisions), sum(granted) FROM consent_purpose_daily"
	IN_PERIOD " GROUP BY 1, 2";
/* Long form, one row per action or purpose, ordered so that a bucket and notice version's rows
 * are consecutive: kind 0 is an action (events), 1 a purpose (decisions, granted). */
#define NOTICE_C "policy_version COLLATE \"C\", banner_version COLLATE \"C\", notice_sha256"
static const char consent_cursor_sql[] =
	"DECLARE report_rows NO SCROLL CURSOR FOR"
	" SELECT " BUCKET ", " NOTICE_C ", 0, action COLLATE \"C\", sum(events), 0"
	" FROM consent_daily" IN_PERIOD " GROUP BY 1, 2, 3, 4, 6"
	" UNION ALL"
	" SELECT " BUCKET ", " NOTICE_C ", 1, purpose COLLATE \"C\", sum(decisions), sum(granted)"
	" FROM consent_purpose_daily" IN_PERIOD " GROUP BY 1, 2, 3, 4, 6"
	" ORDER BY 1, 2, 3, 4, 5, 6";
/* clang-format on */

static const char fetch_sql[] = "FETCH 500 FROM report_rows";
_Static_assert(STORE_REPORT_FETCH_ROWS == 500, "fetch_sql spells the fetch size");

/* One report being run. */
struct run {
	PGconn *c;
	const struct report_query *q;
	const struct store_report_sink *sink;
	struct buf chunk;
	uint64_t rows;
	char p[5][24]; /* the text parameters */
	const char *params[5];
	char *err;
	size_t errlen;
};

static void set_error(struct run *run, const PGresult *r)
{
	size_t n;

	snprintf(run->err, run->errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(run->c));
	n = strlen(run->err);
	while (n && (run->err[n - 1] == '\n' || run->err[n - 1] == ' '))
		run->err[--n] = '\0';
}

/* Runs a statement with the first nparams parameters; NULL (err set) unless it returned want. */
static PGresult *query(struct run *run, const char *sql, int nparams, ExecStatusType want)
{
	PGresult *r = PQexecParams(run->c, sql, nparams, NULL, run->params, NULL, NULL, 0);

	if (PQresultStatus(r) == want)
		return r;
	set_error(run, r);
	PQclear(r);
	return NULL;
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int64_t get_day(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? REPORT_NO_DAY
					: strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Hands the chunk to the sink once it is large enough (or at the end, if anything is in it). */
static int flush(struct run *run, bool last)
{
	int rc;

	if (run->chunk.len == 0 || (!last && run->chunk.len < STORE_REPORT_CHUNK_BYTES))
		return 0;
	rc = run->sink->write(&run->chunk, run->rows, run->sink->arg);
	buf_reset(&run->chunk);
	return rc;
}

/* FETCHes every row of report_rows, passing each batch to emit; then flushes the rest. */
static int drain_cursor(struct run *run, int (*emit)(struct run *run, const PGresult *r, void *arg),
			void *arg)
{
	PGresult *r;
	int rc = 0, n;

	do {
		if (!(r = query(run, fetch_sql, 0, PGRES_TUPLES_OK)))
			return -EIO;
		n = PQntuples(r);
		rc = emit(run, r, arg);
		PQclear(r);
		if (rc == 0)
			rc = flush(run, false);
	} while (rc == 0 && n == STORE_REPORT_FETCH_ROWS);
	return rc;
}

/* ---- data-rights ---------------------------------------------------------------------------- */

static void dr_stats(const PGresult *r, int i, struct report_dr_stats *st)
{
	snprintf(st->right, sizeof(st->right), "%s", PQgetvalue(r, i, 0));
	st->count = get_i64(r, i, 1);
	st->open = get_i64(r, i, 2);
	st->overdue = get_i64(r, i, 3);
	st->closed = get_i64(r, i, 4);
	st->on_time = get_i64(r, i, 5);
	st->median_days = PQgetisnull(r, i, 6) ? -1 : strtod(PQgetvalue(r, i, 6), NULL);
}

static int dr_summary(struct run *run, struct report_dr_summary *s)
{
	PGresult *r = query(run, dr_summary_sql, 5, PGRES_TUPLES_OK);
	int n;

	if (!r)
		return -EIO;
	n = PQntuples(r);
	s->rights = calloc((size_t)n + 1, sizeof(*s->rights));
	if (!s->rights) {
		PQclear(r);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(r, i, 0))
			dr_stats(r, i, &s->total); /* the ROLLUP row */
		else
			dr_stats(r, i, &s->rights[s->n++]);
	}
	s->total.right[0] = '\0';
	PQclear(r);
	return 0;
}

static int dr_emit(struct run *run, const PGresult *r, void *arg)
{
	int rc = 0;

	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct report_dr_row row = {
		    .request_id = PQgetvalue(r, i, 0),
		    .right = PQgetvalue(r, i, 1),
		    .jurisdiction = PQgetvalue(r, i, 2),
		    .state = PQgetvalue(r, i, 3),
		    .outcome = PQgetvalue(r, i, 4),
		    .received = get_day(r, i, 5),
		    .due = get_day(r, i, 6),
		    .extended_due = get_day(r, i, 7),
		    .closed = get_day(r, i, 8),
		    .on_time = PQgetisnull(r, i, 9) ? -1 : PQgetvalue(r, i, 9)[0] == 't',
		    .overdue = PQgetvalue(r, i, 10)[0] == 't',
		};

		rc = report_dr_row(&run->chunk, run->q, &row, run->rows);
		run->rows++;
	}
	return rc;
}

static int run_data_rights(struct run *run, int64_t today)
{
	static const char *const status[] = {"all", "open", "overdue"};
	struct report_dr_summary s = {0};
	PGresult *r;
	int rc;

	snprintf(run->p[3], sizeof(run->p[3]), "%s", status[run->q->status]);
	snprintf(run->p[4], sizeof(run->p[4]), "%" PRId64, run->q->due_within);
	run->params[4] = run->q->due_within < 0 ? NULL : run->p[4];
	if ((rc = dr_summary(run, &s)) < 0)
		return rc;
	rc = report_dr_begin(&run->chunk, run->q, today, &s);
	report_dr_summary_free(&s);
	if (rc < 0)
		return rc;
	if (!(r = query(run, dr_cursor_sql, 5, PGRES_COMMAND_OK)))
		return -EIO;
	PQclear(r);
	if ((rc = drain_cursor(run, dr_emit, NULL)) < 0)
		return rc;
	return report_dr_end(&run->chunk, run->q, run->rows);
}

/* ---- consent -------------------------------------------------------------------------------- */

/* The column names a summary query returned (column 0), borrowed from r. */
static const char **names_of(const PGresult *r)
{
	const char **names = calloc((size_t)PQntuples(r) + 1, sizeof(*names));

	for (int i = 0; names && i < PQntuples(r); i++)
		names[i] = PQgetvalue(r, i, 0);
	return names;
}

/* Columns and totals: actions and purposes present in the period. */
static int consent_columns(struct run *run, struct report_consent_summary *s)
{
	PGresult *ra = query(run, consent_actions_sql, 2, PGRES_TUPLES_OK);
	PGresult *rp = ra ? query(run, consent_purposes_sql, 2, PGRES_TUPLES_OK) : NULL;
	const char **actions = ra ? names_of(ra) : NULL, **purposes = rp ? names_of(rp) : NULL;
	int rc = -EIO;

	if (!ra || !rp)
		goto out;
	rc = -ENOMEM;
	if (!actions || !purposes ||
	    report_consent_summary_init(s, actions, (size_t)PQntuples(ra), purposes,
					(size_t)PQntuples(rp), run->q->by, run->q->from,
					run->q->to) < 0)
		goto out;
	for (int i = 0; i < PQntuples(ra); i++) {
		long a = report_consent_action_index(s, PQgetvalue(ra, i, 0));

		if (a < 0)
			continue;
		s->action_events[a] = get_i64(ra, i, 1);
		s->events += s->action_events[a];
	}
	for (int i = 0; i < PQntuples(rp); i++) {
		s->decisions[i] = get_i64(rp, i, 1);
		s->granted[i] = get_i64(rp, i, 2);
	}
	rc = 0;
out:
	free(actions);
	free(purposes);
	PQclear(ra);
	PQclear(rp);
	return rc;
}

/* The per-bucket series behind the opt-in chart. */
static int consent_series(struct run *run, struct report_consent_summary *s)
{
	PGresult *re = query(run, consent_bucket_events_sql, 3, PGRES_TUPLES_OK);
	PGresult *rp = re ? query(run, consent_bucket_purposes_sql, 3, PGRES_TUPLES_OK) : NULL;
	int rc = re && rp ? 0 : -EIO;

	for (int i = 0; rc == 0 && i < PQntuples(re); i++) {
		long b = report_consent_bucket_index(s, get_i64(re, i, 0));

		if (b >= 0)
			s->bucket_events[b] = get_i64(re, i, 1);
	}
	for (int i = 0; rc == 0 && i < PQntuples(rp); i++) {
		long b = report_consent_bucket_index(s, get_i64(rp, i, 0));
		long p = report_consent_purpose_index(s, PQgetvalue(rp, i, 1));

		if (b < 0 || p < 0)
			continue;
		s->bucket_decisions[(size_t)b * s->n_purposes + (size_t)p] = get_i64(rp, i, 2);
		s->bucket_granted[(size_t)b * s->n_purposes + (size_t)p] = get_i64(rp, i, 3);
	}
	PQclear(re);
	PQclear(rp);
	return rc;
}

/* The bucket and notice version being gathered from consecutive cursor rows. Owns its strings
 * (a group may span two FETCH batches) and its arrays (sized from the summary). */
struct group {
	const struct report_consent_summary *s;
	bool open;
	int64_t bucket;
	char *policy, *banner, *sha;
	int64_t *actions, *decisions, *granted;
};

static void group_clear(struct group *g)
{
	free(g->policy);
	free(g->banner);
	free(g->sha);
	g->policy = g->banner = g->sha = NULL;
	memset(g->actions, 0, g->s->n_actions * sizeof(int64_t));
	memset(g->decisions, 0, g->s->n_purposes * sizeof(int64_t));
	memset(g->granted, 0, g->s->n_purposes * sizeof(int64_t));
	g->open = false;
}

static bool group_same(const struct group *g, const PGresult *r, int i)
{
	return g->open && g->bucket == get_i64(r, i, 0) &&
	       strcmp(g->policy, PQgetvalue(r, i, 1)) == 0 &&
	       strcmp(g->banner, PQgetvalue(r, i, 2)) == 0 &&
	       strcmp(g->sha, PQgetvalue(r, i, 3)) == 0;
}

/* Renders the gathered row, if any, and empties the group. */
static int group_emit(struct run *run, struct group *g)
{
	struct report_consent_row row = {
	    .bucket = g->bucket,
	    .policy_version = g->policy,
	    .banner_version = g->banner,
	    .notice_sha256 = g->sha,
	    .action_events = g->actions,
	    .decisions = g->decisions,
	    .granted = g->granted,
	};
	int rc;

	if (!g->open)
		return 0;
	rc = report_consent_row(&run->chunk, run->q, g->s, &row, run->rows);
	run->rows++;
	group_clear(g);
	return rc;
}

static int group_start(struct group *g, const PGresult *r, int i)
{
	g->open = true;
	g->bucket = get_i64(r, i, 0);
	g->policy = strdup(PQgetvalue(r, i, 1));
	g->banner = strdup(PQgetvalue(r, i, 2));
	g->sha = strdup(PQgetvalue(r, i, 3));
	return g->policy && g->banner && g->sha ? 0 : -ENOMEM;
}

static int consent_emit(struct run *run, const PGresult *r, void *arg)
{
	struct group *g = arg;
	int rc = 0;

	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		long k;

		if (!group_same(g, r, i) &&
		    ((rc = group_emit(run, g)) < 0 || (rc = group_start(g, r, i)) < 0))
			break;
		if (get_i64(r, i, 4) == 0) {
			if ((k = report_consent_action_index(g->s, PQgetvalue(r, i, 5))) >= 0)
				g->actions[k] += get_i64(r, i, 6);
		} else if ((k = report_consent_purpose_index(g->s, PQgetvalue(r, i, 5))) >= 0) {
			g->decisions[k] += get_i64(r, i, 6);
			g->granted[k] += get_i64(r, i, 7);
		}
	}
	return rc;
}

static int consent_rows(struct run *run, const struct report_consent_summary *s)
{
	struct group g = {
	    .s = s,
	    .actions = calloc(s->n_actions + 1, sizeof(int64_t)),
	    .decisions = calloc(s->n_purposes + 1, sizeof(int64_t)),
	    .granted = calloc(s->n_purposes + 1, sizeof(int64_t)),
	};
	PGresult *r = NULL;
	int rc = -ENOMEM;

	if (!g.actions || !g.decisions || !g.granted)
		goto out;
	rc = -EIO;
	if (!(r = query(run, consent_cursor_sql, 3, PGRES_COMMAND_OK)))
		goto out;
	if ((rc = drain_cursor(run, consent_emit, &g)) == 0)
		rc = group_emit(run, &g);
out:
	PQclear(r);
	if (g.actions && g.decisions && g.granted)
		group_clear(&g);
	free(g.actions);
	free(g.decisions);
	free(g.granted);
	return rc;
}

static int run_consent(struct run *run, int64_t today)
{
	struct report_consent_summary s = {0};
	int rc;

	snprintf(run->p[2], sizeof(run->p[2]), "%s",
		 run->q->by == REPORT_BY_MONTH ? "month" : "day");
	if ((rc = consent_columns(run, &s)) < 0)
		return rc;
	if ((rc = consent_series(run, &s)) == 0 &&
	    (rc = report_consent_begin(&run->chunk, run->q, today, &s)) == 0 &&
	    (rc = consent_rows(run, &s)) == 0)
		rc = report_consent_end(&run->chunk, run->q, &s, run->rows);
	report_consent_summary_free(&s);
	return rc;
}

/* ---- the transaction ------------------------------------------------------------------------ */

static int current_day(struct run *run, int64_t *today)
{
	PGresult *r = PQexec(run->c, "SELECT (now() AT TIME ZONE 'UTC')::date - " EPOCH);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_error(run, r);
		PQclear(r);
		return -EIO;
	}
	*today = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int store_report_run(PGconn *c, struct report_query *q, int64_t *today,
		     const struct store_report_sink *sink, const char **field, char *err,
		     size_t errlen)
{
	struct run run = {.c = c, .q = q, .sink = sink, .err = err, .errlen = errlen};
	PGresult *r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -EIO;

	if (rc < 0)
		set_error(&run, r);
	PQclear(r);
	if (rc == 0 && (rc = current_day(&run, today)) == 0 &&
	    (rc = report_query_resolve(q, *today, field, err, errlen)) == 0) {
		for (int i = 0; i < 5; i++)
			run.params[i] = run.p[i];
		snprintf(run.p[0], sizeof(run.p[0]), "%" PRId64, q->from);
		snprintf(run.p[1], sizeof(run.p[1]), "%" PRId64, q->to);
		snprintf(run.p[2], sizeof(run.p[2]), "%" PRId64, *today);
		rc = q->kind == REPORT_CONSENT ? run_consent(&run, *today)
					       : run_data_rights(&run, *today);
		if (rc == 0)
			rc = flush(&run, true);
	}
	/* Read only: COMMIT and ROLLBACK are the same; ROLLBACK also ends an aborted one. */
	r = PQexec(c, rc == 0 ? "COMMIT" : "ROLLBACK");
	if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
		set_error(&run, r);
		rc = -EIO;
	}
	PQclear(r);
	buf_free(&run.chunk);
	return rc;
}
