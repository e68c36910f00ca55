/* gen_ledger: fills the ledger with N entries through the daemon's own code, as fast as it goes.
 * Events from the workload take the Kafka source's path (event_decode, event_validate,
 * event_pseudonymize, writer_item_set); batches of them go through store_append, the writer's
 * append transaction (binary COPY into audit_log, subject_entry and merkle_node, head moved,
 * commit); signed checkpoints are written by the writer's checkpointer. So the bytes stored are
 * exactly the daemon's. A producer thread prepares the next batch while one commits. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/event.h"
#include "ledger/note.h"
#include "sample.h"
#include "stats.h"
#include "store/checkpointer.h"
#include "store/evidence.h"
#include "store/project.h"
#include "store/store.h"
#include "store/writer.h"
#include "workload.h"

#define QUEUE_DEPTH 2
#define PROGRESS_EVERY 1000000

/* A fixed Ed25519 seed: checkpoints of benchmark ledgers are reproducible and worthless. */
static const uint8_t bench_seed[NOTE_ED25519_SEED_LEN] = "consentd benchmark signing key!";

struct options {
	const char *conninfo;
	uint64_t entries;
	size_t batch;
	uint64_t seed;
	uint64_t subjects;
	const char *origin;
	const char *verifier_out;
	const char *subject_key_out;
	int64_t checkpoint_interval_ms;
	const char *prefix; /* of the result keys */
};

struct batch {
	struct writer_unit **units;
	size_t n;
};

/* Batches from the producer to the committing thread; bounded, so memory stays flat. */
struct gen {
	const struct options *opt;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *slots[QUEUE_DEPTH];
	size_t head, count;
	bool finished; /* producer: no more batches */
	bool stop;     /* consumer: give up */
	char error[600];
	uint64_t start_size;
	int64_t prepare_ns; /* producer thread time spent preparing events */
	struct workload w;
	struct buf wire;
	uint64_t kafka_offset[4];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gen_ledger --conninfo CONNINFO --entries N [--batch 10000] [--seed S]\n"
		"                  [--subjects 1000000] [--origin NAME] [--verifier-out FILE]\n"
		"                  [--subject-key-out FILE] [--checkpoint-interval-ms 1000]\n"
		"                  [--prefix gen]\n"
		"Appends N synthetic events to a migrated consentd database with the daemon's own\n"
		"encoding and append transaction; prints `result` lines (see bench/stats.h).\n"
		"--verifier-out writes the checkpoint verifier key; --subject-key-out the subject key\n"
		"the pseudonyms were made with, as a ledger.subject_key_file (mode 0600), so that a\n"
		"consentd reading this ledger can look its subjects up.\n");
}

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		writer_unit_free(b->units[i]);
	free(b->units);
	free(b);
}

static void set_source(struct gen *g, struct writer_unit *u, uint64_t n)
{
	uint64_t r = bench_rand(&g->w.rng);

	if (r & 1) {
		int32_t part = (int32_t)((r >> 1) & 3);

		u->source_kind = "kafka";
		snprintf(u->topic, sizeof(u->topic), "consent-events");
		u->partition = part;
		u->offset = (int64_t)g->kafka_offset[part]++;
	} else {
		u->source_kind = "http";
		snprintf(u->peer, sizeof(u->peer), "198.51.100.%u:%u", (unsigned)(r >> 8) % 254 + 1,
			 (unsigned)(r >> 16) % 28000 + 32768);
		snprintf(u->request_id, sizeof(u->request_id), "%016" PRIx64,
			 (uint64_t)(n * 0xd1342543de82ef95ULL));
	}
}

/* One event, as the Kafka source turns a message into a writer unit. */
static struct writer_unit *prepare_unit(struct gen *g, uint64_t n)
{
	struct writer_unit *u = sample_unit(&g->w, now_us(), &g->wire, g->error, sizeof(g->error));

	if (u)
		set_source(g, u, n);
	return u;
}

static struct batch *prepare_batch(struct gen *g, uint64_t first, size_t n)
{
	struct batch *b = calloc(1, sizeof(*b));
	int64_t t0 = bench_now_ns();

	if (!b || !(b->units = calloc(n, sizeof(*b->units)))) {
		free(b);
		return NULL;
	}
	for (; b->n < n; b->n++) {
		b->units[b->n] = prepare_unit(g, first + b->n);
		if (!b->units[b->n]) {
			batch_free(b);
			return NULL;
		}
	}
	g->prepare_ns += bench_now_ns() - t0;
	return b;
}

/* Producer thread: prepares batches and queues them; NULL in the queue means the end. */
static void *produce(void *arg)
{
	struct gen *g = arg;
	uint64_t done = 0;

	while (done < g->opt->entries) {
		size_t n = g->opt->entries - done < g->opt->batch ? (size_t)(g->opt->entries - done)
								   : g->opt->batch;
		struct batch *b = prepare_batch(g, g->start_size + done, n);

		pthread_mutex_lock(&g->mu);
		while (g->count == QUEUE_DEPTH && !g->stop)
			pthread_cond_wait(&g->cv, &g->mu);
		if (!b && !g->error[0])
			snprintf(g->error, sizeof(g->error), "out of memory preparing events");
		if (!b || g->stop) {
			g->stop = true;
			pthread_cond_broadcast(&g->cv);
			pthread_mutex_unlock(&g->mu);
			batch_free(b);
			break;
		}
		g->slots[(g->head + g->count++) % QUEUE_DEPTH] = b;
		pthread_cond_broadcast(&g->cv);
		pthread_mutex_unlock(&g->mu);
		done += n;
	}
	pthread_mutex_lock(&g->mu);
	g->finished = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* The next batch, or NULL when the producer is done (or failed: g->error says why). */
static struct batch *next_batch(struct gen *g)
{
	struct batch *b = NULL;

	pthread_mutex_lock(&g->mu);
	while (g->count == 0 && !g->finished && !g->stop)
		pthread_cond_wait(&g->cv, &g->mu);
	if (g->count && !g->stop) {
		b = g->slots[g->head];
		g->head = (g->head + 1) % QUEUE_DEPTH;
		g->count--;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return b;
}

static void abandon(struct gen *g, const char *why)
{
	pthread_mutex_lock(&g->mu);
	if (why)
		snprintf(g->error, sizeof(g->error), "%s", why);
	g->stop = true;
	while (g->count) {
		batch_free(g->slots[g->head]);
		g->head = (g->head + 1) % QUEUE_DEPTH;
		g->count--;
	}
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static int check_batch(const struct batch *b, char *err, size_t errlen)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct writer_unit *u = b->units[i];

		if (u->status != WRITER_COMMITTED || u->items[0].duplicate) {
			snprintf(err, errlen, "unit %zu not appended (status %d%s)", i, u->status,
				 u->items[0].duplicate ? ", duplicate event_id" : "");
			return -EPROTO;
		}
	}
	return 0;
}

/* The committing side: the writer thread's loop without the queue and the retries. */
static int commit_all(struct gen *g, PGconn *c, struct checkpointer *cp, struct stats *lat,
		      uint64_t *appended)
{
	struct append_state st = { 0 };
	struct batch *b;
	char err[512];
	int64_t t0 = bench_now_ns();
	int rc = 0;

	while (rc == 0 && (b = next_batch(g))) {
		int64_t t = bench_now_ns();

		rc = store_append(c, &st, b->units, b->n, err, sizeof(err));
		if (rc == 0)
			rc = check_batch(b, err, sizeof(err));
		if (rc == 0)
			stats_add(lat, bench_now_ns() - t);
		if (rc == 0 && (rc = checkpointer_run(cp, c, &st.tree, false)) < 0)
			snprintf(err, sizeof(err), "storing a checkpoint failed");
		if (rc == 0 && (*appended + b->n) / PROGRESS_EVERY != *appended / PROGRESS_EVERY)
			fprintf(stderr,
				"gen_ledger: %" PRIu64 " of %" PRIu64 " entries, %.0f rows/s\n",
				*appended + b->n, g->opt->entries,
				(double)(*appended + b->n) * 1e9 / (double)(bench_now_ns() - t0));
		if (rc == 0)
			*appended += b->n;
		batch_free(b);
	}
	if (rc == 0 && st.tree_valid && (rc = checkpointer_run(cp, c, &st.tree, true)) < 0)
		snprintf(err, sizeof(err), "storing the final checkpoint failed");
	if (rc < 0)
		abandon(g, err);
	return rc;
}

static int write_verifier(const struct note_signer *s, const char *path)
{
	char *text = note_signer_verifier_text(s);
	FILE *f;
	int rc = -EIO;

	if (!text)
		return -ENOMEM;
	if ((f = fopen(path, "w"))) {
		fprintf(f, "%s\n", text);
		rc = fclose(f) == 0 ? 0 : -EIO;
	}
	free(text);
	return rc;
}

/* The workload's subject keyring in the daemon's key file format ("<version> <64 hex>"). */
static int write_subject_key(const char *path)
{
	const struct subject_keyring *ring = workload_keyring();
	FILE *f;
	int fd, rc = 0;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		return -EIO;
	}
	fprintf(f, "# the benchmark workload's subject key (bench/workload.c); worthless\n");
	for (size_t i = 0; i < ring->n; i++) {
		fprintf(f, "%" PRIu32 " ", ring->keys[i].version);
		for (size_t j = 0; j < SUBJECT_KEY_LEN; j++)
			fprintf(f, "%02x", ring->keys[i].key[j]);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		rc = -EIO;
	return rc;
}

static void report(const struct gen *g, uint64_t appended, int64_t elapsed_ns, struct stats *lat)
{
	const char *p = g->opt->prefix;
	double secs = (double)elapsed_ns / 1e9;
	char k[128];

#define KEY(name) (snprintf(k, sizeof(k), "%s.%s", p, name), k)
	bench_result(KEY("entries"), (double)appended, "entries", "entries generated");
	bench_result(KEY("batch"), (double)g->opt->batch, "entries",
		     "entries per append transaction");
	bench_result(KEY("seconds"), secs, "s", "generation wall time");
	bench_result(KEY("rows_per_s"), (double)appended / secs, "rows/s",
		     "generation rate (audit_log rows, via store_append)");
	bench_result(KEY("prepare_us"),
		     appended ? (double)g->prepare_ns / 1e3 / (double)appended : 0, "us",
		     "decode+validate+pseudonymize+encode per event (producer thread)");
	bench_result(KEY("append_mean_us"),
		     lat->n ? (double)lat->sum / 1e3 / (double)lat->n : 0, "us",
		     "store_append per batch, mean");
	bench_result_latency(KEY("append"), lat, "store_append per batch");
#undef KEY
}

static int generate(const struct options *opt, PGconn *c, const struct note_signer *signer)
{
	struct gen g = { .opt = opt };
	struct checkpointer cp = { .signer = signer, .origin = opt->origin,
				   .interval_us = opt->checkpoint_interval_ms * 1000 };
	struct stats lat = { 0 };
	uint64_t appended = 0;
	char err[256];
	pthread_t thread;
	int64_t t0;
	int rc;

	if ((rc = store_tree_size(c, &g.start_size, err, sizeof(err))) < 0) {
		fprintf(stderr, "gen_ledger: reading the chain head: %s", err);
		return rc;
	}
	/* Appending to an existing ledger must not repeat its event_ids. */
	workload_init(&g.w, bench_mix64(opt->seed) ^ bench_mix64(g.start_size + 1), opt->subjects);
	pthread_mutex_init(&g.mu, NULL);
	pthread_cond_init(&g.cv, NULL);
	t0 = bench_now_ns();
	if ((rc = -pthread_create(&thread, NULL, produce, &g)) == 0) {
		rc = commit_all(&g, c, &cp, &lat, &appended);
		pthread_join(thread, NULL);
	}
	if (rc == 0 && g.error[0])
		rc = -EIO;
	if (rc < 0)
		fprintf(stderr, "gen_ledger: %s\n", g.error[0] ? g.error : strerror(-rc));
	else
		report(&g, appended, bench_now_ns() - t0, &lat);
	stats_free(&lat);
	buf_free(&g.wire);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
	return rc;
}

static int parse_args(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "conninfo", required_argument, NULL, 'd' },
		{ "entries", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "subjects", required_argument, NULL, 'S' },
		{ "origin", required_argument, NULL, 'o' },
		{ "verifier-out", required_argument, NULL, 'v' },
		{ "subject-key-out", required_argument, NULL, 'k' },
		{ "checkpoint-interval-ms", required_argument, NULL, 'i' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case 'd':
			opt->conninfo = optarg;
			break;
		case 'n':
			opt->entries = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			opt->batch = strtoull(optarg, NULL, 10);
			break;
		case 's':
			opt->seed = strtoull(optarg, NULL, 10);
			break;
		case 'S':
			opt->subjects = strtoull(optarg, NULL, 10);
			break;
		case 'o':
			opt->origin = optarg;
			break;
		case 'v':
			opt->verifier_out = optarg;
			break;
		case 'k':
			opt->subject_key_out = optarg;
			break;
		case 'i':
			opt->checkpoint_interval_ms = strtoll(optarg, NULL, 10);
			break;
		case 'p':
			opt->prefix = optarg;
			break;
		default:
			return o == 'h' ? 1 : -EINVAL;
		}
	}
	if (optind != argc || !opt->conninfo || !opt->entries || !opt->batch || !opt->subjects)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = {
		.batch = 10000,
		.seed = 1,
		.subjects = 1000000,
		.origin = "bench.consentd.example/ledger",
		.checkpoint_interval_ms = 1000, /* the daemon's default */
		.prefix = "gen",
	};
	struct note_signer *signer = NULL;
	PGconn *c = NULL;
	char err[512];
	int rc = parse_args(argc, argv, &opt);

	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (note_signer_from_seed(opt.origin, bench_seed, &signer) < 0) {
		fprintf(stderr, "gen_ledger: bad origin %s\n", opt.origin);
		rc = -EINVAL;
	} else if (opt.verifier_out && (rc = write_verifier(signer, opt.verifier_out)) < 0) {
		fprintf(stderr, "gen_ledger: cannot write %s\n", opt.verifier_out);
	} else if (opt.subject_key_out && (rc = write_subject_key(opt.subject_key_out)) < 0) {
		fprintf(stderr, "gen_ledger: cannot write %s: %s\n", opt.subject_key_out,
			strerror(-rc));
	} else if (!(c = store_connect(opt.conninfo, 10000, "consentd-gen-ledger", err,
				       sizeof(err)))) {
		fprintf(stderr, "gen_ledger: %s\n", err);
		rc = -ENOTCONN;
	} else if ((rc = store_project_prepare(c, err, sizeof(err))) < 0 ||
		   (rc = store_stmt_cache(c, err, sizeof(err))) < 0) {
		/* the projections must cover the ledger, and statements are prepared, as for the
		 * daemon's writer */
		fprintf(stderr, "gen_ledger: %s\n", err);
	} else {
		rc = generate(&opt, c, signer);
	}
	PQfinish(c);
	note_signer_free(signer);
	return rc < 0 ? 1 : 0;
}
