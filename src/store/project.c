/* The projections in PostgreSQL. A batch's reads are one query per kind (register rows, consent
 * states), its writes one pipelined round trip of INSERT ... SELECT FROM unnest(binary arrays),
 * whatever the batch size. */
#include "store/project.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "compliance/deadline.h"
#include "event/event.h"
#include "store/pgarray.h"
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

/* ---- readiness and temporary copies ---------------------------------------------------------- */

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
	return 0;
}

int store_project_temp_tables(PGconn *c, char *err, size_t errlen)
{
	struct buf sql = { 0 };
	int rc;

	for (size_t i = 0; i < PROJECT_TABLES; i++)
		buf_printf(&sql, "CREATE TEMP TABLE %s (LIKE public.%s INCLUDING ALL); ", tables[i],
			   tables[i]);
	if (buf_append(&sql, "", 1) < 0)
		return -ENOMEM;
	rc = store_exec(c, (const char *)sql.data, err, errlen);
	buf_free(&sql);
	return rc;
}

/* ---- loading register rows ----------------------------------------------------------------- */

/* One element of a text[] literal: "id" with '"' and '\\' escaped, after a comma if not first. */
static int ids_literal(const char *const *id, size_t n, struct buf *out, bool comma)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++, comma = true) {
		rc = buf_append(out, comma ? ",\"" : "\"", comma ? 2 : 1);
		for (const char *p = id[i]; *p && !rc; p++)
			rc = (*p == '"' || *p == '\\' ? buf_append_u8(out, '\\') : 0) ?:
			     buf_append_u8(out, (uint8_t)*p);
		rc = rc ?: buf_append_u8(out, '"');
	}
	return rc;
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

static int seed_requests(struct project_batch *pb, const PGresult *r, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct rights_row row;

		if (row_from_result(r, i, &row) < 0) {
			snprintf(err, errlen, "rights_request %s holds a value this consentd does not "
					      "know", PQgetvalue(r, i, 0));
			return -EINVAL;
		}
		rc = project_seed_request(pb, &row, strtoull(PQgetvalue(r, i, 11), NULL, 10),
					  strtoull(PQgetvalue(r, i, 12), NULL, 10));
	}
	return rc;
}

static int seed_consent(struct project_batch *pb, const PGresult *r, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct project_decision *d;
		size_t nd;

		if (PQgetlength(r, i, 0) != PROJECT_HASH_LEN ||
		    project_consent_parse(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), &d,
					  &nd) < 0) {
			snprintf(err, errlen, "consent_state holds a row this consentd cannot read");
			return -EINVAL;
		}
		rc = project_seed_consent(pb, (const uint8_t *)PQgetvalue(r, i, 0), d, nd);
		free(d);
	}
	return rc;
}

/* The request_ids (a text[] literal) and the consent events' pseudonyms (32 bytes each) of the
 * events. */
static int load_keys(Consentd__V1__Event *const *events, size_t n, struct buf *ids,
		     struct buf *keys, size_t *n_ids)
{
	int rc = buf_append_u8(ids, '{');

	*n_ids = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const Consentd__V1__Event *ev = events[i];

		if (!ev)
			continue;
		if (project_request_id(ev)) {
			const char *one = project_request_id(ev);

			rc = ids_literal(&one, 1, ids, (*n_ids)++ > 0);
		}
		if (ev->body_case != CONSENTD__V1__EVENT__BODY_CONSENT || !ev->subject)
			continue;
		for (size_t p = 0; p < ev->subject->n_pseudonyms && !rc; p++)
			if (ev->subject->pseudonyms[p]->hmac.len == PROJECT_HASH_LEN)
				rc = buf_append(keys, ev->subject->pseudonyms[p]->hmac.data,
						PROJECT_HASH_LEN);
	}
	return rc ? rc : buf_append(ids, "}", 2);
}

int store_project_send_loads(PGconn *c, const char *schema, Consentd__V1__Event *const *events,
			     size_t n, struct project_loads *ld, char *err, size_t errlen)
{
	struct buf ids = { 0 }, keys = { 0 };
	char sql[480];
	size_t n_ids;
	int rc = load_keys(events, n, &ids, &keys, &n_ids);

	memset(ld, 0, sizeof(*ld));
	if (rc == 0 && n_ids) {
		const char *param = (const char *)ids.data;

		snprintf(sql, sizeof(sql),
			 "SELECT request_id, right_name, jurisdiction, state, extended, "
			 "received_on - date '1970-01-01', due_on - date '1970-01-01', "
			 "extended_due_on - date '1970-01-01', closed_on - date '1970-01-01', outcome, "
			 "on_time, first_seq, last_seq FROM %s.rights_request "
			 "WHERE request_id = ANY($1::text[])", schema);
		rc = store_pipe_send(c, sql, 1, &param, NULL, NULL, 0, err, errlen);
		ld->rights = rc == 0;
	}
	if (rc == 0 && keys.len) {
		const char *param = (const char *)keys.data;
		const int len = (int)keys.len, binary = 1;

		/* one bytea split on the server: an index probe per pseudonym */
		snprintf(sql, sizeof(sql),
			 "SELECT pseudonym, state::text FROM %s.consent_state WHERE pseudonym = ANY "
			 "(ARRAY(SELECT substring($1::bytea FROM i * 32 + 1 FOR 32) "
			 "FROM generate_series(0, length($1::bytea) / 32 - 1) AS i))", schema);
		rc = store_pipe_send(c, sql, 1, &param, &len, &binary, 1, err, errlen);
		ld->consent = rc == 0;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	buf_free(&ids);
	buf_free(&keys);
	return rc;
}

int store_project_recv_loads(PGconn *c, struct project_batch *pb, const struct project_loads *ld,
			     char *err, size_t errlen)
{
	PGresult *r;
	int rc = 0;

	if (ld->rights && (rc = store_pipe_result(c, PGRES_TUPLES_OK, &r, err, errlen)) == 0) {
		rc = seed_requests(pb, r, err, errlen);
		PQclear(r);
	}
	if (rc == 0 && ld->consent &&
	    (rc = store_pipe_result(c, PGRES_TUPLES_OK, &r, err, errlen)) == 0) {
		rc = seed_consent(pb, r, err, errlen);
		PQclear(r);
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int store_project_load_events(PGconn *c, const char *schema, struct project_batch *pb,
			      Consentd__V1__Event *const *events, size_t n, char *err, size_t errlen)
{
	struct project_loads ld;
	bool synced = false;
	int rc = store_pipe_begin(c, err, errlen);

	if (rc < 0)
		return rc;
	rc = store_project_send_loads(c, schema, events, n, &ld, err, errlen);
	if (rc == 0)
		synced = (rc = store_pipe_sync(c, err, errlen)) == 0;
	if (rc == 0)
		rc = store_project_recv_loads(c, pb, &ld, err, errlen);
	return store_pipe_end(c, synced, rc, err, errlen);
}

/* ---- writing a batch ------------------------------------------------------------------------ */

/* One statement of a batch's write: INSERT ... SELECT FROM unnest($1::t[], ...), each
 * parameter a binary array (pgarray.h) with one element per row. */
#define WRITE_PARAMS_MAX 13

struct write_stmt {
	char sql[1200];
	struct pg_array a[WRITE_PARAMS_MAX];
	int n;
	size_t rows;
};

static void stmt_begin(struct write_stmt *w, const uint32_t *oids, int n)
{
	w->n = n;
	w->rows = 0;
	for (int i = 0; i < n; i++)
		pg_array_begin(&w->a[i], oids[i]);
}

static void stmt_free(struct write_stmt *w)
{
	for (int i = 0; i < w->n; i++)
		pg_array_free(&w->a[i]);
}

static void array_day(struct pg_array *a, int64_t day)
{
	if (day == RIGHTS_NO_DAY)
		pg_array_null(a);
	else
		pg_array_date(a, day);
}

static void build_requests(const struct project_batch *pb, const char *schema,
			   struct write_stmt *w)
{
	static const uint32_t oids[] = { PG_OID_TEXT, PG_OID_TEXT, PG_OID_TEXT, PG_OID_TEXT,
					 PG_OID_BOOL, PG_OID_DATE, PG_OID_DATE, PG_OID_DATE,
					 PG_OID_DATE, PG_OID_TEXT, PG_OID_BOOL, PG_OID_INT8,
					 PG_OID_INT8 };
	const struct project_request *q;
	size_t i = 0;

	stmt_begin(w, oids, 13);
	snprintf(w->sql, sizeof(w->sql),
		 "INSERT INTO %s.rights_request AS t (request_id, right_name, jurisdiction, state, "
		 "extended, received_on, due_on, extended_due_on, closed_on, outcome, on_time, "
		 "first_seq, last_seq) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
		 "$4::text[], $5::bool[], $6::date[], $7::date[], $8::date[], $9::date[], $10::text[], "
		 "$11::bool[], $12::int8[], $13::int8[]) ON CONFLICT (request_id) DO UPDATE SET "
		 "right_name = excluded.right_name, jurisdiction = excluded.jurisdiction, "
		 "state = excluded.state, extended = excluded.extended, "
		 "received_on = excluded.received_on, due_on = excluded.due_on, "
		 "extended_due_on = excluded.extended_due_on, closed_on = excluded.closed_on, "
		 "outcome = excluded.outcome, on_time = excluded.on_time, last_seq = excluded.last_seq",
		 schema);
	while ((q = project_request_next(pb, &i))) {
		const struct rights_row *row = &q->row;
		const char *right = event_right_name(row->right);

		pg_array_text(&w->a[0], row->request_id);
		pg_array_text(&w->a[1], right ? right : "unspecified");
		pg_array_text(&w->a[2], row->policy->name);
		pg_array_text(&w->a[3], rights_state_name(row->state));
		pg_array_bool(&w->a[4], row->extended);
		pg_array_date(&w->a[5], row->received_day);
		pg_array_date(&w->a[6], row->due_day);
		array_day(&w->a[7], row->extended_due_day);
		array_day(&w->a[8], row->closed_day);
		if (row->closed_day == RIGHTS_NO_DAY) {
			pg_array_null(&w->a[9]);
			pg_array_null(&w->a[10]);
		} else {
			pg_array_text(&w->a[9], rights_state_name(row->outcome));
			pg_array_bool(&w->a[10], row->on_time);
		}
		pg_array_int8(&w->a[11], (int64_t)q->first_seq);
		pg_array_int8(&w->a[12], (int64_t)q->last_seq);
		w->rows++;
	}
}

static int build_consent(const struct project_batch *pb, const char *schema, struct write_stmt *w)
{
	static const uint32_t oids[] = { PG_OID_BYTEA, PG_OID_JSONB };
	const struct project_consent *c;
	size_t i = 0;

	stmt_begin(w, oids, 2);
	snprintf(w->sql, sizeof(w->sql),
		 "INSERT INTO %s.consent_state AS t (pseudonym, state) SELECT * FROM "
		 "unnest($1::bytea[], $2::jsonb[]) ON CONFLICT (pseudonym) DO UPDATE SET "
		 "state = excluded.state", schema);
	while ((c = project_consent_next(pb, &i))) {
		char *state = project_consent_json(c);

		if (!state)
			return -ENOMEM;
		pg_array_add(&w->a[0], c->pseudonym, PROJECT_HASH_LEN);
		pg_array_jsonb(&w->a[1], state);
		free(state);
		w->rows++;
	}
	return 0;
}

/* Actions (is_purpose false) or purposes: the two daily tables. */
static void build_daily(const struct project_batch *pb, const char *schema, bool purposes,
			struct write_stmt *w)
{
	static const uint32_t oids[] = { PG_OID_DATE, PG_OID_TEXT, PG_OID_TEXT, PG_OID_TEXT,
					 PG_OID_TEXT, PG_OID_INT8, PG_OID_INT8 };

	stmt_begin(w, oids, purposes ? 7 : 6);
	if (purposes)
		snprintf(w->sql, sizeof(w->sql),
			 "INSERT INTO %s.consent_purpose_daily AS t (day, policy_version, "
			 "banner_version, notice_sha256, purpose, decisions, granted) SELECT * FROM "
			 "unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], "
			 "$6::int8[], $7::int8[]) ON CONFLICT (day, policy_version, banner_version, "
			 "notice_sha256, purpose) DO UPDATE SET decisions = t.decisions + "
			 "excluded.decisions, granted = t.granted + excluded.granted", schema);
	else
		snprintf(w->sql, sizeof(w->sql),
			 "INSERT INTO %s.consent_daily AS t (day, policy_version, banner_version, "
			 "notice_sha256, action, events) SELECT * FROM unnest($1::date[], $2::text[], "
			 "$3::text[], $4::text[], $5::text[], $6::int8[]) ON CONFLICT (day, "
			 "policy_version, banner_version, notice_sha256, action) DO UPDATE SET "
			 "events = t.events + excluded.events", schema);
	for (size_t i = 0; i < pb->n_daily; i++) {
		const struct project_daily *d = &pb->daily[i];

		if (d->is_purpose != purposes)
			continue;
		pg_array_date(&w->a[0], d->day);
		pg_array_text(&w->a[1], d->policy_version);
		pg_array_text(&w->a[2], d->banner_version);
		pg_array_text(&w->a[3], d->notice_sha256);
		pg_array_text(&w->a[4], d->name);
		pg_array_int8(&w->a[5], d->events);
		if (purposes)
			pg_array_int8(&w->a[6], d->granted);
		w->rows++;
	}
}

static void build_notices(const struct project_batch *pb, const char *schema, struct write_stmt *w)
{
	static const uint32_t oids[] = { PG_OID_BYTEA, PG_OID_INT8, PG_OID_TEXT, PG_OID_INT8 };

	stmt_begin(w, oids, 4);
	snprintf(w->sql, sizeof(w->sql),
		 "INSERT INTO %s.notice (content_sha256, seq, content_type, size) SELECT h, s, t, "
		 "z::integer FROM unnest($1::bytea[], $2::int8[], $3::text[], $4::int8[]) AS "
		 "u(h, s, t, z) ON CONFLICT DO NOTHING", schema);
	for (size_t i = 0; i < pb->n_notices; i++) {
		pg_array_add(&w->a[0], pb->notices[i].sha256, PROJECT_HASH_LEN);
		pg_array_int8(&w->a[1], (int64_t)pb->notices[i].seq);
		pg_array_text(&w->a[2], pb->notices[i].content_type);
		pg_array_int8(&w->a[3], (int64_t)pb->notices[i].size);
		w->rows++;
	}
}

static int send_stmt(PGconn *c, struct write_stmt *w, char *err, size_t errlen)
{
	const char *values[WRITE_PARAMS_MAX];
	int lengths[WRITE_PARAMS_MAX], formats[WRITE_PARAMS_MAX];

	for (int i = 0; i < w->n; i++) {
		if (pg_array_end(&w->a[i]) < 0) {
			snprintf(err, errlen, "writing projections: out of memory");
			return -ENOMEM;
		}
		values[i] = (const char *)w->a[i].b.data;
		lengths[i] = (int)w->a[i].b.len;
		formats[i] = 1;
	}
	return store_pipe_send(c, w->sql, w->n, values, lengths, formats, 0, err, errlen);
}

int store_project_send_writes(PGconn *c, const char *schema, const struct project_batch *pb,
			      size_t *sent, char *err, size_t errlen)
{
	struct write_stmt w[5];
	int rc;

	*sent = 0;
	build_requests(pb, schema, &w[0]);
	rc = build_consent(pb, schema, &w[1]);
	build_daily(pb, schema, false, &w[2]);
	build_daily(pb, schema, true, &w[3]);
	build_notices(pb, schema, &w[4]);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "writing projections: out of memory");
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(w); i++)
		if (w[i].rows && (rc = send_stmt(c, &w[i], err, errlen)) == 0)
			(*sent)++;
	for (size_t i = 0; i < ARRAY_SIZE(w); i++)
		stmt_free(&w[i]);
	return rc;
}

int store_project_recv_writes(PGconn *c, size_t sent, char *err, size_t errlen)
{
	return store_pipe_ok(c, sent, err, errlen);
}

int store_project_write(PGconn *c, const char *schema, const struct project_batch *pb, char *err,
			size_t errlen)
{
	bool synced = false;
	size_t sent;
	int rc = store_pipe_begin(c, err, errlen);

	if (rc < 0)
		return rc;
	rc = store_project_send_writes(c, schema, pb, &sent, err, errlen);
	if (rc == 0)
		synced = (rc = store_pipe_sync(c, err, errlen)) == 0;
	if (rc == 0)
		rc = store_project_recv_writes(c, sent, err, errlen);
	return store_pipe_end(c, synced, rc, err, errlen);
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

	/* The replay's temporary tables and their indexes live in temp_buffers (8 MB by default),
	 * which can only be raised before the session's first temporary table. */
	if ((rc = store_exec(c, "SET temp_buffers = '1GB'", err, errlen)) < 0 ||
	    (rc = store_project_temp_tables(c, err, errlen)) < 0 ||
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
