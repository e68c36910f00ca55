/* bench_sink: the database's own limit for the ledger's rows (issue 6, "the sink limit"). Loads
 * audit_log-shaped rows (seq, uuid, timestamptz, the daemon's real ~370-byte entries, two 32-byte
 * hashes) into a table made with CREATE TABLE ... (LIKE audit_log INCLUDING ALL): the same columns,
 * constraints and indexes, no triggers, no chain head, no other table. One transaction per batch,
 * as fast as one connection goes:
 *   --mode copy     one binary COPY FROM STDIN per batch (autocommit: the COPY is the transaction)
 *   --mode insert   libpq pipeline mode: a prepared INSERT per row with binary parameters, then
 *                   one Sync (the batch runs as one implicit transaction)
 *   --mode copy3    not the raw sink but what the ledger's schema itself costs: per batch, BEGIN,
 *                   binary COPY into copies of audit_log, subject_entry (the events' real
 *                   pseudonyms, 1.6 per event) and merkle_node (the nodes the Merkle tree
 *                   completes, about one per event), COMMIT; no lock, no lookup, no head
 *   --mode schema   copy3 and, in the same transaction, a new consent_state row (jsonb state of
 *                   four purposes, as the writer's projection makes it) per pseudonym: the rows
 *                   the append transaction writes for every event, each by the cheapest path
 *                   (COPY of new rows, where the writer upserts), so a bound no writer of this
 *                   schema can pass
 * Prints `result` lines (bench/stats.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "stats.h"
#include "store/store.h"

#define POOL_MAX 20000

struct options {
	const char *conninfo;
	const char *mode;
	const char *table;
	size_t batch;
	size_t rows;
	uint64_t seed;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: bench_sink --conninfo CONNINFO --mode copy|insert|copy3|schema --batch N --rows N\n"
		     "                  [--table NAME] [--seed S]\n"
		     "Needs a database migrated by consentctl (the table copies audit_log's shape).\n");
}

static int exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "bench_sink: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -EIO;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Everything one row needs, in the binary forms both paths send. */
struct row {
	uint8_t seq[8];
	uint8_t id[16];
	uint8_t at[8];
	const struct sample_row *s;
};

static void make_row(struct row *r, uint64_t seq, uint64_t *rng, const struct sample_row *s,
		     int64_t pg_now)
{
	put_be64(r->seq, seq);
	sample_uuid(rng, r->id);
	put_be64(r->at, (uint64_t)pg_now);
	r->s = s;
}

static int load_copy(PGconn *c, const struct options *o, const char *copy_sql, const struct row *rows,
		     size_t n, struct buf *b)
{
	char err[512];
	int rc;

	buf_reset(b);
	copy_begin(b);
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		copy_row(b, 6);
		copy_bytes(b, r->seq, 8);
		copy_bytes(b, r->id, 16);
		copy_bytes(b, r->at, 8);
		copy_bytes(b, r->s->entry, r->s->entry_len);
		copy_bytes(b, r->s->leaf_hash, 32);
		copy_bytes(b, r->s->digest, 32);
	}
	copy_end(b);
	if (copy_failed(b))
		return -ENOMEM;
	if ((rc = copy_send(c, copy_sql, b, err, sizeof(err))) < 0)
		fprintf(stderr, "bench_sink: COPY into %s: %s", o->table, err);
	return rc;
}

/* A consent_state row per pseudonym, new (the cheapest write of one). The pseudonym's last
 * eight bytes are mixed with the seq so that a subject seen twice is a new key too, while the
 * keys stay as random in the index as the writer's. */
static int load_consent(PGconn *c, const struct options *o, const struct row *rows, size_t n,
			uint64_t first_seq, struct buf *b)
{
	static const char *const purposes[] = { "essential", "analytics", "advertising", "functional" };
	char sql[160], err[512], state[512];
	int rc;

	buf_reset(b);
	copy_begin(b);
	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < rows[i].s->n_pseudonyms; p++) {
			uint8_t key[32];
			uint64_t mix = (first_seq + i) << 2 | p, tail;
			/* jsonb's binary format: version 1, then the text */
			int len = snprintf(state, sizeof(state), "%c{", 1);

			memcpy(key, rows[i].s->pseudonyms[p], 32);
			memcpy(&tail, key + 24, 8);
			tail ^= mix;
			memcpy(key + 24, &tail, 8);
			for (size_t k = 0; k < ARRAY_SIZE(purposes); k++)
				len += snprintf(state + len, sizeof(state) - (size_t)len,
						"%s\"%s\": {\"seq\": %" PRIu64 ", \"granted\": %s, "
						"\"occurred_at\": \"2026-11-30T01:02:03.123456Z\"}",
						k ? ", " : "", purposes[k], first_seq + i,
						k % 2 ? "false" : "true");
			len += snprintf(state + len, sizeof(state) - (size_t)len, "}");
			copy_row(b, 2);
			copy_bytes(b, key, 32);
			copy_bytes(b, state, (size_t)len);
		}
	copy_end(b);
	snprintf(sql, sizeof(sql), "COPY %s_consent (pseudonym, state) FROM STDIN (FORMAT binary)",
		 o->table);
	if (copy_failed(b) || (rc = copy_send(c, sql, b, err, sizeof(err))) < 0) {
		fprintf(stderr, "bench_sink: COPY into %s_consent: %s", o->table, err);
		return -EIO;
	}
	return 0;
}

/* The ledger's three tables, as store_append writes them (without its lock, lookup and head). */
static int load_copy3(PGconn *c, const struct options *o, const struct row *rows, size_t n,
		      uint64_t first_seq, struct buf *b)
{
	char sql[256], err[512];
	int rc = 0;

	if (exec_ok(c, "BEGIN") < 0)
		return -EIO;
	snprintf(sql, sizeof(sql), "COPY %s (seq, event_id, received_at, entry, leaf_hash, event_digest) "
		 "FROM STDIN (FORMAT binary)", o->table);
	if ((rc = load_copy(c, o, sql, rows, n, b)) < 0)
		return rc;
	buf_reset(b);
	copy_begin(b);
	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < rows[i].s->n_pseudonyms; p++) {
			copy_row(b, 2);
			copy_bytes(b, rows[i].s->pseudonyms[p], 32);
			copy_int8(b, (int64_t)(first_seq + i));
		}
	copy_end(b);
	snprintf(sql, sizeof(sql), "COPY %s_subject (pseudonym, seq) FROM STDIN (FORMAT binary)", o->table);
	if (copy_failed(b) || (rc = copy_send(c, sql, b, err, sizeof(err))) < 0) {
		fprintf(stderr, "bench_sink: COPY into %s_subject: %s", o->table, err);
		return -EIO;
	}
	/* Leaf seq s (tree size s after it) completes the node (l, s / 2^l - 1) for every l >= 1
	 * with 2^l dividing s. */
	buf_reset(b);
	copy_begin(b);
	for (size_t i = 0; i < n; i++) {
		uint64_t size = first_seq + i;

		for (unsigned l = 1; l < 63 && size % (1ULL << l) == 0; l++) {
			copy_row(b, 3);
			copy_int2(b, (int16_t)l);
			copy_int8(b, (int64_t)(size / (1ULL << l) - 1));
			copy_bytes(b, rows[i].s->leaf_hash, 32);
		}
	}
	copy_end(b);
	snprintf(sql, sizeof(sql), "COPY %s_node (level, idx, hash) FROM STDIN (FORMAT binary)", o->table);
	if (copy_failed(b) || (rc = copy_send(c, sql, b, err, sizeof(err))) < 0) {
		fprintf(stderr, "bench_sink: COPY into %s_node: %s", o->table, err);
		return -EIO;
	}
	if (strcmp(o->mode, "schema") == 0 && (rc = load_consent(c, o, rows, n, first_seq, b)) < 0)
		return rc;
	return exec_ok(c, "COMMIT");
}

static int load_pipeline(PGconn *c, const struct row *rows, size_t n)
{
	static const int formats[6] = { 1, 1, 1, 1, 1, 1 };
	PGresult *r;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct row *row = &rows[i];
		const char *values[6] = { (const char *)row->seq, (const char *)row->id,
					  (const char *)row->at, (const char *)row->s->entry,
					  (const char *)row->s->leaf_hash, (const char *)row->s->digest };
		const int lengths[6] = { 8, 16, 8, (int)row->s->entry_len, 32, 32 };

		if (!PQsendQueryPrepared(c, "ins", 6, values, lengths, formats, 0)) {
			fprintf(stderr, "bench_sink: send: %s", PQerrorMessage(c));
			return -EIO;
		}
	}
	if (!PQpipelineSync(c)) {
		fprintf(stderr, "bench_sink: sync: %s", PQerrorMessage(c));
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		while ((r = PQgetResult(c))) {
			if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
				fprintf(stderr, "bench_sink: insert: %s", PQresultErrorMessage(r));
				rc = -EIO;
			}
			PQclear(r);
		}
	}
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		fprintf(stderr, "bench_sink: expected the pipeline's sync, got %s\n",
			PQresStatus(PQresultStatus(r)));
		rc = -EIO;
	}
	PQclear(r);
	return rc;
}

static int prepare_insert(PGconn *c, const char *table)
{
	static const Oid types[6] = { 20, 2950, 1184, 17, 17, 17 }; /* int8 uuid timestamptz bytea */
	char sql[512];
	PGresult *r;
	int rc = 0;

	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s (seq, event_id, received_at, entry, leaf_hash, event_digest) "
		 "VALUES ($1, $2, $3, $4, $5, $6)", table);
	r = PQprepare(c, "ins", sql, 6, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bench_sink: prepare: %s", PQresultErrorMessage(r));
		rc = -EIO;
	}
	PQclear(r);
	if (rc == 0 && !PQenterPipelineMode(c)) {
		fprintf(stderr, "bench_sink: cannot enter pipeline mode: %s", PQerrorMessage(c));
		rc = -EIO;
	}
	return rc;
}

static int run(PGconn *c, const struct options *o)
{
	size_t pool_n = o->rows < POOL_MAX ? o->rows : POOL_MAX;
	struct sample_row *pool = sample_rows(pool_n, o->seed);
	struct row *rows = calloc(o->batch, sizeof(*rows));
	bool copy = strcmp(o->mode, "copy") == 0, schema = strcmp(o->mode, "schema") == 0;
	bool copy3 = schema || strcmp(o->mode, "copy3") == 0;
	uint64_t rng = bench_mix64(o->seed ^ (uint64_t)bench_now_ns());
	struct stats txn = { 0 };
	struct buf b = { 0 };
	char sql[512], key[128], label[192];
	uint64_t done = 0;
	int64_t t0, t1;
	int rc = 0;

	if (!pool || !rows) {
		fprintf(stderr, "bench_sink: cannot prepare %zu sample rows\n", pool_n);
		rc = -ENOMEM;
		goto out;
	}
	snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s; CREATE TABLE %s (LIKE audit_log INCLUDING ALL)",
		 o->table, o->table);
	if ((rc = exec_ok(c, sql)) < 0)
		goto out;
	if (copy3) {
		snprintf(sql, sizeof(sql),
			 "DROP TABLE IF EXISTS %s_subject, %s_node; "
			 "CREATE TABLE %s_subject (LIKE subject_entry INCLUDING ALL); "
			 "CREATE TABLE %s_node (LIKE merkle_node INCLUDING ALL)",
			 o->table, o->table, o->table, o->table);
		if ((rc = exec_ok(c, sql)) < 0)
			goto out;
	}
	if (schema) {
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s_consent; "
			 "CREATE TABLE %s_consent (LIKE consent_state INCLUDING ALL) WITH (fillfactor = 80)",
			 o->table, o->table);
		if ((rc = exec_ok(c, sql)) < 0)
			goto out;
	}
	if (!copy && !copy3 && (rc = prepare_insert(c, o->table)) < 0)
		goto out;
	snprintf(sql, sizeof(sql), "COPY %s (seq, event_id, received_at, entry, leaf_hash, event_digest) "
		 "FROM STDIN (FORMAT binary)", o->table);
	t0 = bench_now_ns();
	while (rc == 0 && done < o->rows) {
		size_t n = o->rows - done < o->batch ? (size_t)(o->rows - done) : o->batch;
		int64_t t = bench_now_ns(), pg_now = sample_pg_time(now_us());

		for (size_t i = 0; i < n; i++)
			make_row(&rows[i], done + i + 1, &rng, &pool[(done + i) % pool_n], pg_now);
		rc = copy    ? load_copy(c, o, sql, rows, n, &b)
		     : copy3 ? load_copy3(c, o, rows, n, done + 1, &b)
			     : load_pipeline(c, rows, n);
		stats_add(&txn, bench_now_ns() - t);
		done += n;
	}
	t1 = bench_now_ns();
	if (rc < 0)
		goto out;
	snprintf(key, sizeof(key), "sink.%s.%zu", o->mode, o->batch);
	snprintf(label, sizeof(label), "%s, %zu rows per transaction",
		 copy     ? "binary COPY"
		 : schema ? "binary COPY into the four tables written per event"
		 : copy3  ? "binary COPY into the ledger's three tables"
					      : "pipelined prepared INSERT", o->batch);
#define R(suffix, v, unit)                                                   \
	do {                                                                 \
		char k_[160];                                                \
		snprintf(k_, sizeof(k_), "%s.%s", key, suffix);              \
		bench_result(k_, (v), unit, label);                          \
	} while (0)
	R("rows", (double)done, "rows");
	R("seconds", (double)(t1 - t0) / 1e9, "s");
	R("rows_per_s", (double)done * 1e9 / (double)(t1 - t0), "rows/s");
	R("entry_bytes", sample_mean_entry(pool, pool_n), "bytes");
#undef R
	snprintf(key, sizeof(key), "sink.%s.%zu.txn", o->mode, o->batch);
	bench_result_latency(key, &txn, label);
out:
	stats_free(&txn);
	buf_free(&b);
	free(rows);
	sample_rows_free(pool, pool_n);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'd' }, { "mode", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },    { "rows", required_argument, NULL, 'n' },
		{ "table", required_argument, NULL, 't' },    { "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	struct options o = { .table = NULL, .seed = 1 };
	char err[512], table[64];
	PGconn *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.conninfo = optarg; break;
		case 'm': o.mode = optarg; break;
		case 'b': o.batch = strtoull(optarg, NULL, 10); break;
		case 'n': o.rows = strtoull(optarg, NULL, 10); break;
		case 't': o.table = optarg; break;
		case 's': o.seed = strtoull(optarg, NULL, 10); break;
		default: usage(opt == 'h' ? stdout : stderr); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || !o.conninfo || !o.mode || !o.batch || !o.rows ||
	    (strcmp(o.mode, "copy") != 0 && strcmp(o.mode, "insert") != 0 &&
	     strcmp(o.mode, "copy3") != 0 && strcmp(o.mode, "schema") != 0)) {
		usage(stderr);
		return 2;
	}
	if (!o.table) {
		snprintf(table, sizeof(table), "sink_%s_%zu", o.mode, o.batch);
		o.table = table;
	}
	if (!(c = store_connect(o.conninfo, 10000, "consentd-bench-sink", err, sizeof(err)))) {
		fprintf(stderr, "bench_sink: %s\n", err);
		return 1;
	}
	rc = run(c, &o);
	PQfinish(c);
	return rc < 0 ? 1 : 0;
}
