/* The projections in PostgreSQL. A batch's deltas go through session staging tables by binary
 * COPY, then one multi-statement upsert: at most four round trips whatever the batch size. */
#include "store/project.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"
#include "event/event.h"
#include "store/store.h"
#include "util/util.h"

#define REPLAY_FETCH "5000" /* rows per FETCH */
#define CALENDAR_MAX (1024 * 1024)
#define PROGRESS_EVERY 100000

static const char *const tables[PROJECT_TABLES] = {
	"notice", "consent_state", "consent_daily", "consent_purpose_daily", "rights_request",
};

static int fail_result(PGconn *c, PGresult *r, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return store_conn_lost(c) ? -ENOTCONN : -EIO;
}

/* ---- context --------------------------------------------------------------------------------- */

static int read_calendar(const char *path, struct deadline_calendar **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = malloc(CALENDAR_MAX + 1), why[200];
	size_t len = 0;
	int rc = 0;

	if (!f || !text) {
		snprintf(err, errlen, "[compliance] holiday_calendar: %s: %s", path, strerror(errno));
		rc = f ? -ENOMEM : -errno;
	} else {
		len = fread(text, 1, CALENDAR_MAX + 1, f);
		if (ferror(f) || len > CALENDAR_MAX) {
			snprintf(err, errlen, "[compliance] holiday_calendar: %s: %s", path,
				 ferror(f) ? "read error" : "larger than 1 MiB");
			rc = -EINVAL;
		} else if ((rc = deadline_calendar_parse(text, len, out, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "[compliance] holiday_calendar: %s: %s", path, why);
		}
	}
	if (f)
		fclose(f);
	free(text);
	return rc;
}

int store_project_context(const struct config_compliance *cfg, struct project_context *out,
			  char *err, size_t errlen)
{
	const struct deadline_policy *p;
	int rc;

	memset(out, 0, sizeof(*out));
	if (deadline_policy_find(cfg->default_jurisdiction, &p) < 0) {
		snprintf(err, errlen, "[compliance] default_jurisdiction: unknown \"%s\"",
			 cfg->default_jurisdiction);
		return -EINVAL;
	}
	snprintf(out->jurisdiction, sizeof(out->jurisdiction), "%s", p->name);
	if (cfg->holiday_calendar && cfg->holiday_calendar[0] &&
	    (rc = read_calendar(cfg->holiday_calendar, &out->calendar, err, errlen)) < 0)
		return rc;
	out->rights.default_jurisdiction = out->jurisdiction;
	out->rights.calendar = out->calendar;
	return 0;
}

void store_project_context_free(struct project_context *ctx)
{
	deadline_calendar_free(ctx->calendar);
	ctx->calendar = NULL;
}

/* ---- staging tables ------------------------------------------------------------------------ */

static const char stage_sql[] =
	"CREATE TEMP TABLE rights_stage (LIKE public.rights_request); "
	"CREATE TEMP TABLE consent_stage (LIKE public.consent_state); "
	"CREATE TEMP TABLE daily_stage (day date, policy_version text, banner_version text, "
	"notice_sha256 text, name text, is_purpose boolean, events bigint, granted bigint)";

int store_project_prepare(PGconn *c, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT complete FROM projection_state WHERE id = 1");
	bool complete;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return fail_result(c, r, "reading projection_state", err, errlen);
	complete = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!complete) {
		snprintf(err, errlen, "the compliance projections do not cover the ledger yet (it "
				      "predates schema 4): run `consentctl rebuild`");
		return -ESTALE;
	}
	return store_exec(c, stage_sql, err, errlen);
}

int store_project_temp_tables(PGconn *c, char *err, size_t errlen)
{
	struct buf sql = { 0 };
	int rc;

	for (size_t i = 0; i < PROJECT_TABLES; i++)
		buf_printf(&sql, "CREATE TEMP TABLE %s (LIKE public.%s INCLUDING ALL); ", tables[i],
			   tables[i]);
	if (buf_append(&sql, stage_sql, sizeof(stage_sql)) < 0)
		return -ENOMEM;
	rc = store_exec(c, (const char *)sql.data, err, errlen);
	buf_free(&sql);
	return rc;
}

/* ---- loading register rows ----------------------------------------------------------------- */

/* '{"a","b"}' with '"' and '\' escaped: the text[] literal of the ids. */
static int ids_literal(const char *const *ids, size_t n, struct buf *out)
{
	buf_append_u8(out, '{');
	for (size_t i = 0; i < n; i++) {
		buf_append(out, i ? ",\"" : "\"", i ? 2 : 1);
		for (const char *p = ids[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_append_u8(out, '\\');
			buf_append_u8(out, (uint8_t)*p);
		}
		buf_append_u8(out, '"');
	}
	return buf_append(out, "}", 2);
}

static int64_t day_or_none(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? RIGHTS_NO_DAY : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* One stored row back into a rights_row; -EINVAL if a name is unknown to this consentd. */
static int row_from_result(const PGresult *r, int i, struct rights_row *row)
{
	enum rights_state state, outcome = RIGHTS_NONE;

	rights_row_init(row);
	snprintf(row->request_id, sizeof(row->request_id), "%s", PQgetvalue(r, i, 0));
	row->right = event_right_value(PQgetvalue(r, i, 1));
	if (row->right < 0 || deadline_policy_find(PQgetvalue(r, i, 2), &row->policy) < 0 ||
	    rights_state_from_name(PQgetvalue(r, i, 3), &state) < 0 ||
	    (!PQgetisnull(r, i, 9) && rights_state_from_name(PQgetvalue(r, i, 9), &outcome) < 0))
		return -EINVAL;
	row->state = state;
	row->extended = PQgetvalue(r, i, 4)[0] == 't';
	row->received_day = day_or_none(r, i, 5);
	row->due_day = day_or_none(r, i, 6);
	row->extended_due_day = day_or_none(r, i, 7);
	row->closed_day = day_or_none(r, i, 8);
	row->outcome = outcome;
	row->on_time = !PQgetisnull(r, i, 10) && PQgetvalue(r, i, 10)[0] == 't';
	return 0;
}

int store_project_load(PGconn *c, const char *schema, struct project_batch *pb,
		       const char *const *ids, size_t n, char *err, size_t errlen)
{
	struct buf lit = { 0 }, sql = { 0 };
	const char *param;
	PGresult *r;
	int rc = 0;

	if (n == 0)
		return 0;
	buf_printf(&sql,
		   "SELECT request_id, right_name, jurisdiction, state, extended, "
		   "received_on - date '1970-01-01', due_on - date '1970-01-01', "
		   "extended_due_on - date '1970-01-01', closed_on - date '1970-01-01', outcome, "
		   "on_time, first_seq, last_seq FROM %s.rights_request "
		   "WHERE request_id = ANY($1::text[])", schema);
	if (ids_literal(ids, n, &lit) < 0 || buf_append(&sql, "", 1) < 0) {
		buf_free(&lit);
		buf_free(&sql);
		return -ENOMEM;
	}
	param = (const char *)lit.data;
	r = PQexecParams(c, (const char *)sql.data, 1, NULL, &param, NULL, NULL, 0);
	buf_free(&lit);
	buf_free(&sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail_result(c, r, "loading data-rights requests", err, errlen);
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct rights_row row;

		if (row_from_result(r, i, &row) < 0) {
			snprintf(err, errlen, "rights_request %s holds a value this consentd does not "
					      "know", PQgetvalue(r, i, 0));
			rc = -EINVAL;
		} else {
			rc = project_seed_request(pb, &row, (uint64_t)strtoull(PQgetvalue(r, i, 11), NULL, 10),
						  (uint64_t)strtoull(PQgetvalue(r, i, 12), NULL, 10));
		}
	}
	PQclear(r);
	return rc;
}

/* The stored consent state of the pseudonyms (n of them, 32 bytes each, concatenated; duplicates
 * allowed), sent as one bytea and split on the server: one index probe each. */
int store_project_load_consent(PGconn *c, const char *schema, struct project_batch *pb,
			       const uint8_t *pseudonyms, size_t n, char *err, size_t errlen)
{
	const char *param = (const char *)pseudonyms;
	const int len = (int)(n * PROJECT_HASH_LEN), binary = 1;
	char sql[400];
	PGresult *r;
	int rc = 0;

	if (n == 0)
		return 0;
	snprintf(sql, sizeof(sql),
		 "SELECT pseudonym, state::text FROM %s.consent_state WHERE pseudonym = ANY (ARRAY("
		 "SELECT substring($1::bytea FROM i * 32 + 1 FOR 32) "
		 "FROM generate_series(0, length($1::bytea) / 32 - 1) AS i))", schema);
	r = PQexecParams(c, sql, 1, NULL, &param, &len, &binary, 1);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return fail_result(c, r, "loading consent state", err, errlen);
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct project_decision *d;
		size_t nd;

		if (PQgetlength(r, i, 0) != PROJECT_HASH_LEN ||
		    project_consent_parse(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), &d, &nd) < 0) {
			snprintf(err, errlen, "consent_state holds a row this consentd cannot read");
			rc = -EINVAL;
			break;
		}
		rc = project_seed_consent(pb, (const uint8_t *)PQgetvalue(r, i, 0), d, nd);
		free(d);
	}
	PQclear(r);
	return rc;
}

int store_project_load_events(PGconn *c, const char *schema, struct project_batch *pb,
			      Consentd__V1__Event *const *events, size_t n, char *err, size_t errlen)
{
	const char **ids = calloc(n + 1, sizeof(*ids));
	struct buf keys = { 0 };
	size_t n_ids = 0;
	int rc = ids ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !rc; i++) {
		const Consentd__V1__Event *ev = events[i];

		if (!ev)
			continue;
		if (project_request_id(ev))
			ids[n_ids++] = project_request_id(ev);
		if (ev->body_case != CONSENTD__V1__EVENT__BODY_CONSENT || !ev->subject)
			continue;
		for (size_t p = 0; p < ev->subject->n_pseudonyms && !rc; p++)
			if (ev->subject->pseudonyms[p]->hmac.len == PROJECT_HASH_LEN)
				rc = buf_append(&keys, ev->subject->pseudonyms[p]->hmac.data,
						PROJECT_HASH_LEN);
	}
	if (!rc)
		rc = store_project_load(c, schema, pb, ids, n_ids, err, errlen);
	if (!rc)
		rc = store_project_load_consent(c, schema, pb, keys.data, keys.len / PROJECT_HASH_LEN,
						err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(ids);
	buf_free(&keys);
	return rc;
}

/* ---- writing a batch ------------------------------------------------------------------------ */

static void copy_day(struct buf *b, int64_t day)
{
	if (day == RIGHTS_NO_DAY)
		copy_null(b);
	else
		copy_date(b, day);
}

static size_t stage_requests(const struct project_batch *pb, struct buf *b)
{
	const struct project_request *q;
	size_t i = 0, n = 0;

	while ((q = project_request_next(pb, &i))) {
		const struct rights_row *row = &q->row;
		bool closed = row->closed_day != RIGHTS_NO_DAY;

		copy_row(b, 13);
		copy_text(b, row->request_id);
		copy_text(b, event_right_name(row->right) ? event_right_name(row->right) : "unspecified");
		copy_text(b, row->policy->name);
		copy_text(b, rights_state_name(row->state));
		copy_bool(b, row->extended);
		copy_date(b, row->received_day);
		copy_date(b, row->due_day);
		copy_day(b, row->extended_due_day);
		copy_day(b, row->closed_day);
		if (closed)
			copy_text(b, rights_state_name(row->outcome));
		else
			copy_null(b);
		if (closed)
			copy_bool(b, row->on_time);
		else
			copy_null(b);
		copy_int8(b, (int64_t)q->first_seq);
		copy_int8(b, (int64_t)q->last_seq);
		n++;
	}
	return n;
}

static int stage_consent(const struct project_batch *pb, struct buf *b, size_t *n)
{
	const struct project_consent *c;
	size_t i = 0;

	*n = 0;
	while ((c = project_consent_next(pb, &i))) {
		char *state = project_consent_json(c);

		if (!state)
			return -ENOMEM;
		copy_row(b, 2);
		copy_bytes(b, c->pseudonym, PROJECT_HASH_LEN);
		copy_jsonb(b, state);
		free(state);
		(*n)++;
	}
	return 0;
}

static size_t stage_daily(const struct project_batch *pb, struct buf *b)
{
	for (size_t i = 0; i < pb->n_daily; i++) {
		const struct project_daily *d = &pb->daily[i];

		copy_row(b, 8);
		copy_date(b, d->day);
		copy_text(b, d->policy_version);
		copy_text(b, d->banner_version);
		copy_text(b, d->notice_sha256);
		copy_text(b, d->name);
		copy_bool(b, d->is_purpose);
		copy_int8(b, d->events);
		copy_int8(b, d->granted);
	}
	return pb->n_daily;
}

static int send_stage(PGconn *c, const char *table, struct buf *b, char *err, size_t errlen)
{
	char sql[80];

	copy_end(b);
	if (copy_failed(b))
		return -ENOMEM;
	snprintf(sql, sizeof(sql), "COPY pg_temp.%s FROM STDIN (FORMAT binary)", table);
	return copy_send(c, sql, b, err, errlen);
}

static void upsert_sql(struct buf *sql, const char *s, bool requests, bool consent, bool daily)
{
	if (requests)
		buf_printf(sql,
			   "INSERT INTO %s.rights_request AS t SELECT * FROM pg_temp.rights_stage "
			   "ON CONFLICT (request_id) DO UPDATE SET right_name = excluded.right_name, "
			   "jurisdiction = excluded.jurisdiction, state = excluded.state, "
			   "extended = excluded.extended, received_on = excluded.received_on, "
			   "due_on = excluded.due_on, extended_due_on = excluded.extended_due_on, "
			   "closed_on = excluded.closed_on, outcome = excluded.outcome, "
			   "on_time = excluded.on_time, last_seq = excluded.last_seq; ", s);
	if (consent)
		buf_printf(sql,
			   "INSERT INTO %s.consent_state AS t SELECT * FROM pg_temp.consent_stage "
			   "ON CONFLICT (pseudonym) DO UPDATE SET state = excluded.state; ", s);
	if (daily)
		buf_printf(sql,
			   "INSERT INTO %s.consent_daily AS t SELECT day, policy_version, "
			   "banner_version, notice_sha256, name, events FROM pg_temp.daily_stage "
			   "WHERE NOT is_purpose ON CONFLICT (day, policy_version, banner_version, "
			   "notice_sha256, action) DO UPDATE SET events = t.events + excluded.events; "
			   "INSERT INTO %s.consent_purpose_daily AS t SELECT day, policy_version, "
			   "banner_version, notice_sha256, name, events, granted FROM "
			   "pg_temp.daily_stage WHERE is_purpose ON CONFLICT (day, policy_version, "
			   "banner_version, notice_sha256, purpose) DO UPDATE SET "
			   "decisions = t.decisions + excluded.decisions, "
			   "granted = t.granted + excluded.granted; ", s, s);
	buf_printf(sql, "TRUNCATE pg_temp.rights_stage, pg_temp.consent_stage, pg_temp.daily_stage");
}

static int write_notices(PGconn *c, const char *schema, const struct project_batch *pb, char *err,
			 size_t errlen)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "INSERT INTO %s.notice (content_sha256, seq, content_type, size) "
				   "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", schema);
	for (size_t i = 0; i < pb->n_notices; i++) {
		const struct project_notice *n = &pb->notices[i];
		char seq[24], size[24];
		const char *params[] = { (const char *)n->sha256, seq, n->content_type, size };
		const int lengths[] = { PROJECT_HASH_LEN, 0, 0, 0 }, formats[] = { 1, 0, 0, 0 };
		PGresult *r;

		snprintf(seq, sizeof(seq), "%" PRIu64, n->seq);
		snprintf(size, sizeof(size), "%zu", n->size);
		r = PQexecParams(c, sql, 4, NULL, params, lengths, formats, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return fail_result(c, r, "indexing a notice", err, errlen);
		PQclear(r);
	}
	return 0;
}

int store_project_write(PGconn *c, const char *schema, const struct project_batch *pb, char *err,
			size_t errlen)
{
	struct buf req = { 0 }, con = { 0 }, day = { 0 }, sql = { 0 };
	size_t n_req, n_con, n_day;
	int rc = 0;

	copy_begin(&req);
	copy_begin(&con);
	copy_begin(&day);
	n_req = stage_requests(pb, &req);
	rc = stage_consent(pb, &con, &n_con);
	n_day = stage_daily(pb, &day);
	if (!rc && n_req)
		rc = send_stage(c, "rights_stage", &req, err, errlen);
	if (!rc && n_con)
		rc = send_stage(c, "consent_stage", &con, err, errlen);
	if (!rc && n_day)
		rc = send_stage(c, "daily_stage", &day, err, errlen);
	if (!rc && (n_req || n_con || n_day)) {
		upsert_sql(&sql, schema, n_req, n_con, n_day);
		rc = buf_append(&sql, "", 1) < 0 ? -ENOMEM
						 : store_exec(c, (const char *)sql.data, err, errlen);
	}
	if (!rc)
		rc = write_notices(c, schema, pb, err, errlen);
	buf_free(&req);
	buf_free(&con);
	buf_free(&day);
	buf_free(&sql);
	return rc;
}

/* ---- replay ---------------------------------------------------------------------------------- */

/* Projects one FETCH worth of entries (binary rows: seq, entry). */
static int replay_rows(PGconn *c, const char *schema, const struct rights_context *ctx,
		       const PGresult *r, struct project_rebuild_stats *st, char *err, size_t errlen)
{
	size_t rows = (size_t)PQntuples(r);
	Consentd__V1__LedgerEntry **entries = calloc(rows + 1, sizeof(*entries));
	Consentd__V1__Event **events = calloc(rows + 1, sizeof(*events));
	struct project_batch pb;
	int rc = entries && events ? 0 : -ENOMEM;

	project_batch_init(&pb, ctx);
	for (size_t i = 0; !rc && i < rows; i++) {
		entries[i] = consentd__v1__ledger_entry__unpack(NULL, (size_t)PQgetlength(r, (int)i, 1),
								(const uint8_t *)PQgetvalue(r, (int)i, 1));
		events[i] = entries[i] ? entries[i]->event : NULL;
		if (!events[i])
			st->undecodable++;
	}
	if (!rc)
		rc = store_project_load_events(c, schema, &pb, events, rows, err, errlen);
	for (size_t i = 0; !rc && i < rows; i++) {
		if (!events[i])
			continue;
		rc = project_replay(&pb, events[i], (uint64_t)store_get_int8(r, (int)i, 0));
		st->entries++;
	}
	if (!rc)
		rc = store_project_write(c, schema, &pb, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	st->skipped += pb.skipped;
	project_batch_free(&pb);
	for (size_t i = 0; entries && i < rows; i++)
		if (entries[i])
			consentd__v1__ledger_entry__free_unpacked(entries[i], NULL);
	free(entries);
	free(events);
	return rc;
}

static int empty_projections(PGconn *c, const char *schema, char *err, size_t errlen)
{
	struct buf sql = { 0 };
	int rc;

	for (size_t i = 0; i < PROJECT_TABLES; i++)
		buf_printf(&sql, "DELETE FROM %s.%s; ", schema, tables[i]);
	if (buf_append(&sql, "", 1) < 0)
		return -ENOMEM;
	rc = store_exec(c, (const char *)sql.data, err, errlen);
	buf_free(&sql);
	return rc;
}

int store_project_replay(PGconn *c, const char *schema, const struct rights_context *ctx,
			 FILE *progress, struct project_rebuild_stats *st, char *err, size_t errlen)
{
	uint64_t next_report = PROGRESS_EVERY;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = empty_projections(c, schema, err, errlen)) < 0 ||
	    (rc = store_exec(c, "DECLARE consentd_replay BINARY NO SCROLL CURSOR FOR "
				"SELECT seq, entry FROM audit_log ORDER BY seq", err, errlen)) < 0)
		return rc;
	for (;;) {
		PGresult *r = PQexecParams(c, "FETCH " REPLAY_FETCH " FROM consentd_replay",
					   0, NULL, NULL, NULL, NULL, 1);

		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			return fail_result(c, r, "reading the ledger", err, errlen);
		if (PQntuples(r) == 0) {
			PQclear(r);
			break;
		}
		rc = replay_rows(c, schema, ctx, r, st, err, errlen);
		PQclear(r);
		if (rc < 0)
			return rc;
		if (progress && st->entries >= next_report) {
			fprintf(progress, "  %" PRIu64 " entries replayed\n", st->entries);
			next_report += PROGRESS_EVERY;
		}
	}
	return store_exec(c, "CLOSE consentd_replay", err, errlen);
}

int store_project_rebuild(PGconn *c, const struct rights_context *ctx, FILE *progress,
			  struct project_rebuild_stats *st, char *err, size_t errlen)
{
	int rc;

	if ((rc = store_exec(c, "BEGIN", err, errlen)) < 0)
		return rc;
	/* Appends wait for the head lock until the rebuild commits. */
	if ((rc = store_exec(c, "SELECT seq FROM ledger_head WHERE id = 1 FOR UPDATE", err,
			     errlen)) < 0 ||
	    (rc = store_exec(c, stage_sql, err, errlen)) < 0 ||
	    (rc = store_project_replay(c, "public", ctx, progress, st, err, errlen)) < 0 ||
	    (rc = store_exec(c, "UPDATE projection_state SET complete = true, rebuilt_at = now() "
				"WHERE id = 1", err, errlen)) < 0 ||
	    (rc = store_exec(c, "COMMIT", err, errlen)) < 0) {
		PQclear(PQexec(c, "ROLLBACK"));
		return rc;
	}
	return 0;
}

int store_project_compare(PGconn *c, const struct rights_context *ctx, FILE *progress,
			  struct project_diff diffs[PROJECT_TABLES], struct project_rebuild_stats *st,
			  char *err, size_t errlen)
{
	int rc;

	if ((rc = store_project_temp_tables(c, err, errlen)) < 0 ||
	    (rc = store_project_replay(c, "pg_temp", ctx, progress, st, err, errlen)) < 0)
		return rc;
	for (size_t i = 0; i < PROJECT_TABLES; i++) {
		char sql[400];
		PGresult *r;

		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM ((TABLE public.%s EXCEPT ALL TABLE pg_temp.%s) "
			 "UNION ALL (TABLE pg_temp.%s EXCEPT ALL TABLE public.%s)) d",
			 tables[i], tables[i], tables[i], tables[i]);
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			return fail_result(c, r, "comparing projections", err, errlen);
		diffs[i].table = tables[i];
		diffs[i].differing = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	return 0;
}
