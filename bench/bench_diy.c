/* bench_diy: the do-it-yourself hash chain many teams write first (issue 6 baseline). One INSERT
 * per event, autocommit, from N concurrent clients (one thread and one connection each), into a
 * table whose BEFORE INSERT trigger locks a head row (SELECT ... FOR UPDATE), sets seq to the
 * head's + 1 and leaf_hash = digest(prev_hash || entry, 'sha256') with pgcrypto, and moves the
 * head. The rows are the same as everywhere else (the daemon's real entries, bench/sample.c).
 * Runs for a fixed time; prints `result` lines (bench/stats.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sample.h"
#include "stats.h"
#include "store/store.h"

#define POOL 20000

static const char schema_sql[] =
	"CREATE EXTENSION IF NOT EXISTS pgcrypto;\n"
	"DROP TABLE IF EXISTS diy_log, diy_head;\n"
	"DROP FUNCTION IF EXISTS diy_chain();\n"
	"CREATE TABLE diy_head (id int PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL,\n"
	"                       leaf_hash bytea NOT NULL);\n"
	"INSERT INTO diy_head VALUES (1, 0, '\\x0000000000000000000000000000000000000000000000000000000000000000');\n"
	"CREATE TABLE diy_log (\n"
	"  seq          bigint      PRIMARY KEY,\n"
	"  event_id     uuid        NOT NULL UNIQUE,\n"
	"  received_at  timestamptz NOT NULL DEFAULT now(),\n"
	"  entry        bytea       NOT NULL,\n"
	"  leaf_hash    bytea       NOT NULL,\n"
	"  event_digest bytea       NOT NULL);\n"
	"CREATE FUNCTION diy_chain() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	"DECLARE h diy_head%ROWTYPE;\n"
	"BEGIN\n"
	"  SELECT * INTO h FROM diy_head WHERE id = 1 FOR UPDATE;\n"
	"  NEW.seq := h.seq + 1;\n"
	"  NEW.leaf_hash := digest(h.leaf_hash || NEW.entry, 'sha256');\n"
	"  UPDATE diy_head SET seq = NEW.seq, leaf_hash = NEW.leaf_hash WHERE id = 1;\n"
	"  RETURN NEW;\n"
	"END $$;\n"
	"CREATE TRIGGER diy_chain BEFORE INSERT ON diy_log FOR EACH ROW EXECUTE FUNCTION diy_chain();\n";

static const char insert_sql[] =
	"INSERT INTO diy_log (event_id, received_at, entry, event_digest) VALUES ($1, $2, $3, $4)";

struct options {
	const char *conninfo;
	int clients;
	double seconds;
	uint64_t seed;
};

struct shared {
	const struct options *o;
	const struct sample_row *pool;
	pthread_barrier_t start;
	atomic_bool stop;
	atomic_int failed;
	int64_t t0;
};

struct client {
	struct shared *sh;
	int index;
	PGconn *conn;
	uint64_t rows;
	struct stats lat;
};

static void *client_main(void *arg)
{
	static const Oid types[4] = { 2950, 1184, 17, 17 };
	static const int formats[4] = { 1, 1, 1, 1 };
	struct client *cl = arg;
	struct shared *sh = cl->sh;
	uint64_t rng = bench_mix64(sh->o->seed ^ bench_mix64((uint64_t)bench_now_ns() + (uint64_t)cl->index));
	PGresult *r = PQprepare(cl->conn, "ins", insert_sql, 4, types);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok) {
		fprintf(stderr, "bench_diy: prepare: %s", PQresultErrorMessage(r));
		atomic_store(&sh->failed, 1);
	}
	PQclear(r);
	pthread_barrier_wait(&sh->start);
	for (uint64_t i = (uint64_t)cl->index * 7919; ok && !atomic_load(&sh->stop); i++) {
		const struct sample_row *s = &sh->pool[i % POOL];
		uint8_t id[16], at[8];
		int64_t pg_now = sample_pg_time(now_us()), t = bench_now_ns();
		const char *values[4] = { (const char *)id, (const char *)at, (const char *)s->entry,
					  (const char *)s->digest };
		const int lengths[4] = { 16, 8, (int)s->entry_len, 32 };

		sample_uuid(&rng, id);
		for (int k = 7; k >= 0; k--, pg_now >>= 8)
			at[k] = (uint8_t)pg_now;
		r = PQexecPrepared(cl->conn, "ins", 4, values, lengths, formats, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "bench_diy: insert: %s", PQresultErrorMessage(r));
			atomic_store(&sh->failed, 1);
			ok = false;
		} else if (!atomic_load(&sh->stop)) {
			cl->rows++;
			stats_add(&cl->lat, bench_now_ns() - t);
		}
		PQclear(r);
	}
	return NULL;
}

static int query_u64(PGconn *c, const char *sql, uint64_t *out)
{
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? 0 : -EIO;

	if (rc == 0)
		*out = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "bench_diy: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

static int run(const struct options *o)
{
	struct shared sh = { .o = o };
	struct client *cl = calloc((size_t)o->clients, sizeof(*cl));
	pthread_t *th = calloc((size_t)o->clients, sizeof(*th));
	struct sample_row *pool = sample_rows(POOL, o->seed);
	struct stats all = { 0 };
	PGconn *admin = NULL;
	char err[512];
	uint64_t rows = 0, count = 0, head = 0;
	int started = 0, rc = -EIO;
	int64_t elapsed;

	if (!cl || !th || !pool)
		goto out;
	sh.pool = pool;
	if (!(admin = store_connect(o->conninfo, 10000, "consentd-bench-diy", err, sizeof(err)))) {
		fprintf(stderr, "bench_diy: %s\n", err);
		goto out;
	}
	{
		PGresult *r = PQexec(admin, schema_sql);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "bench_diy: schema: %s", PQresultErrorMessage(r));
			PQclear(r);
			goto out;
		}
		PQclear(r);
	}
	for (int i = 0; i < o->clients; i++) {
		cl[i].sh = &sh;
		cl[i].index = i;
		if (!(cl[i].conn = store_connect(o->conninfo, 10000, "consentd-bench-diy", err,
						 sizeof(err)))) {
			fprintf(stderr, "bench_diy: client %d: %s\n", i, err);
			goto out;
		}
	}
	pthread_barrier_init(&sh.start, NULL, (unsigned)o->clients + 1);
	for (; started < o->clients; started++)
		if (pthread_create(&th[started], NULL, client_main, &cl[started]) != 0)
			abort(); /* the barrier would never open */
	pthread_barrier_wait(&sh.start);
	sh.t0 = bench_now_ns();
	usleep((useconds_t)(o->seconds * 1e6));
	atomic_store(&sh.stop, true);
	elapsed = bench_now_ns() - sh.t0;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&sh.start);
	if (atomic_load(&sh.failed))
		goto out;
	for (int i = 0; i < started; i++) {
		rows += cl[i].rows;
		for (size_t k = 0; k < cl[i].lat.n; k++)
			stats_add(&all, cl[i].lat.ns[k]);
	}
	/* The trigger must have produced one gapless chain of every row committed. */
	if (query_u64(admin, "SELECT count(*) FROM diy_log", &count) < 0 ||
	    query_u64(admin, "SELECT seq FROM diy_head", &head) < 0)
		goto out;
	if (count != head) {
		fprintf(stderr, "bench_diy: %" PRIu64 " rows but the head says %" PRIu64 "\n", count, head);
		goto out;
	}
	bench_result("diy.clients", o->clients, "clients", "concurrent clients, one INSERT per event");
	bench_result("diy.rows", (double)rows, "rows", "rows inserted within the timed window");
	bench_result("diy.seconds", (double)elapsed / 1e9, "s", "timed window");
	bench_result("diy.rows_per_s", (double)rows * 1e9 / (double)elapsed, "rows/s",
		     "trigger-chained INSERT, autocommit");
	bench_result("diy.entry_bytes", sample_mean_entry(pool, POOL), "bytes", "mean entry bytes");
	bench_result_latency("diy.insert", &all, "one INSERT (commit included)");
	rc = 0;
out:
	for (int i = 0; cl && i < o->clients; i++) {
		PQfinish(cl[i].conn);
		stats_free(&cl[i].lat);
	}
	PQfinish(admin);
	stats_free(&all);
	sample_rows_free(pool, pool ? POOL : 0);
	free(cl);
	free(th);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'd' }, { "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },  { "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	struct options o = { .clients = 64, .seconds = 20, .seed = 3 };
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o.conninfo = optarg; break;
		case 'c': o.clients = atoi(optarg); break;
		case 't': o.seconds = atof(optarg); break;
		case 's': o.seed = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: bench_diy --conninfo CONNINFO [--clients 64] [--seconds 20]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || !o.conninfo || o.clients < 1 || o.seconds <= 0) {
		fprintf(stderr, "usage: bench_diy --conninfo CONNINFO [--clients 64] [--seconds 20]\n");
		return 2;
	}
	return run(&o) < 0 ? 1 : 0;
}
