/* kafka_produce: feeds consentd's Kafka source for the throughput benchmark (issue 6) and times
 * it. Produces --events workload events (packed consentd.v1.Event, bench/workload.c, occurred_at
 * now) round-robin over --partitions partitions of --topic, in chunks, while consentd consumes.
 *
 * librdkafka's mock cluster keeps only about 5 MiB or 100,000 messages per partition (some 16,000
 * of these events) and drops the oldest beyond that, consumed or not: so a chunk is produced only
 * while no partition would then hold more than --max-partition-backlog events past consentd's
 * group's committed offset (read from the mock with rd_kafka_committed; consentd commits an offset
 * only after the event's transaction committed, once a second), and no more than --max-backlog in
 * all past what the ledger holds (SELECT max(seq) FROM audit_log). The per-partition bound is the
 * one that keeps every event: consumption across partitions is uneven, and a total bound alone
 * let one partition fall behind by more than the mock keeps.
 *
 * The time runs from the first produce call until max(seq) (read every 20 ms) shows every event
 * appended.
 * Prints `result` lines (bench/stats.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"
#include "workload.h"

#define MAX_PARTS 64

struct options {
	const char *brokers;
	const char *topic;
	const char *group;
	const char *conninfo;
	int partitions;
	uint64_t events;
	uint64_t max_backlog;
	uint64_t max_part_backlog;
	uint64_t chunk;
	double stall_seconds;
	uint64_t seed;
};

static uint64_t delivery_errors;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err && delivery_errors++ < 5)
		fprintf(stderr, "kafka_produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/* Events in the ledger beyond base, or -1 on a database error. */
static int64_t appended(PGconn *c, uint64_t base)
{
	PGresult *r = PQexec(c, "SELECT coalesce(max(seq), 0) FROM audit_log");
	int64_t n = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = (int64_t)(strtoull(PQgetvalue(r, 0, 0), NULL, 10) - base);
	else
		fprintf(stderr, "kafka_produce: %s", PQresultErrorMessage(r));
	PQclear(r);
	return n;
}

static rd_kafka_t *client(const struct options *o, rd_kafka_type_t type)
{
	static const char *const producer_kv[][2] = {
		{ "linger.ms", "5" },
		{ "batch.num.messages", "10000" },
		{ "queue.buffering.max.messages", "1000000" },
		{ "queue.buffering.max.kbytes", "1048576" },
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];
	rd_kafka_t *rk;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "4", err, sizeof(err)) != RD_KAFKA_CONF_OK)
		goto bad;
	if (type == RD_KAFKA_PRODUCER) {
		for (size_t i = 0; i < sizeof(producer_kv) / sizeof(producer_kv[0]); i++)
			if (rd_kafka_conf_set(conf, producer_kv[i][0], producer_kv[i][1], err,
					      sizeof(err)) != RD_KAFKA_CONF_OK)
				goto bad;
		rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	} else if (rd_kafka_conf_set(conf, "group.id", o->group, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
		   rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) !=
			   RD_KAFKA_CONF_OK) {
		goto bad;
	}
	/* The consumer handle never subscribes: it only reads the group's committed offsets. */
	if ((rk = rd_kafka_new(type, conf, err, sizeof(err))))
		return rk;
	fprintf(stderr, "kafka_produce: %s\n", err);
	return NULL;
bad:
	fprintf(stderr, "kafka_produce: %s\n", err);
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* The group's committed offset of every partition (base[p] where none is committed yet). */
static int committed(rd_kafka_t *group, const struct options *o, const int64_t *base, int64_t *out)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(o->partitions);
	rd_kafka_resp_err_t err;

	for (int p = 0; p < o->partitions; p++)
		rd_kafka_topic_partition_list_add(l, o->topic, p);
	err = rd_kafka_committed(group, l, 10000);
	if (err) {
		fprintf(stderr, "kafka_produce: committed offsets: %s\n", rd_kafka_err2str(err));
	} else {
		for (int p = 0; p < o->partitions; p++) {
			int64_t off = l->elems[p].offset;

			out[p] = off >= 0 ? off : base[p];
		}
	}
	rd_kafka_topic_partition_list_destroy(l);
	return err ? -EIO : 0;
}

static int produce_one(rd_kafka_t *rk, const struct options *o, int32_t part, const struct buf *b)
{
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(part),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(b->data, b->len),
			RD_KAFKA_V_END);

		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			return 0;
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			fprintf(stderr, "kafka_produce: produce: %s\n", rd_kafka_err2str(err));
			return -EIO;
		}
		rd_kafka_poll(rk, 10);
	}
}

struct progress {
	uint64_t produced;
	int64_t next[MAX_PARTS]; /* offset the next message of each partition gets */
	int64_t base[MAX_PARTS]; /* high watermarks when we started */
	uint64_t waits_total, waits_partition, max_total_seen, max_part_seen;
};

/* Whether one more chunk keeps both bounds; updates the largest backlogs seen. */
static int room_for_chunk(const struct options *o, rd_kafka_t *group, struct progress *pr,
			  int64_t done, bool *room)
{
	int64_t com[MAX_PARTS];
	uint64_t per_part = (o->chunk + (uint64_t)o->partitions - 1) / (uint64_t)o->partitions;
	uint64_t total = pr->produced - (uint64_t)done;

	if (committed(group, o, pr->base, com) < 0)
		return -EIO;
	*room = total + o->chunk <= o->max_backlog;
	if (total > pr->max_total_seen)
		pr->max_total_seen = total;
	if (!*room)
		pr->waits_total++;
	for (int p = 0; p < o->partitions; p++) {
		uint64_t lag = pr->next[p] > com[p] ? (uint64_t)(pr->next[p] - com[p]) : 0;

		if (lag > pr->max_part_seen)
			pr->max_part_seen = lag;
		if (*room && lag + per_part > o->max_part_backlog) {
			*room = false;
			pr->waits_partition++;
		}
	}
	return 0;
}

static int run(const struct options *o, PGconn *c, rd_kafka_t *rk, rd_kafka_t *group)
{
	struct workload w;
	struct buf b = { 0 };
	struct progress pr = { 0 };
	uint64_t base;
	int64_t done = 0, last_done = -1, t0 = 0, t_produced = 0, t_end, last_poll = 0,
		last_change = bench_now_ns();
	PGresult *r = PQexec(c, "SELECT coalesce(max(seq), 0) FROM audit_log");

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "kafka_produce: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -EIO;
	}
	base = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	for (int p = 0; p < o->partitions; p++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, o->topic, p, &lo, &hi, 10000);

		if (err) {
			fprintf(stderr, "kafka_produce: watermarks of %s[%d]: %s\n", o->topic, p,
				rd_kafka_err2str(err));
			return -EIO;
		}
		pr.base[p] = pr.next[p] = hi;
	}
	workload_init(&w, bench_mix64(o->seed) ^ bench_mix64((uint64_t)bench_now_ns()), 1000000);
	while (pr.produced < o->events || (uint64_t)done < o->events) {
		int64_t now;
		bool room = false;

		/* The ledger is read at most every 20 ms: the poll is a query on the database under
		 * test, competing with consentd's writer for the same two cores. */
		now = bench_now_ns();
		if (now - last_poll >= 20000000 || last_done < 0) {
			if ((done = appended(c, base)) < 0)
				return -EIO;
			last_poll = now;
		}
		if (done != last_done) {
			last_done = done;
			last_change = now;
		} else if ((double)(now - last_change) / 1e9 > o->stall_seconds) {
			fprintf(stderr, "kafka_produce: no progress for %.0f s: %" PRId64
					" of %" PRIu64 " appended, %" PRIu64 " produced\n",
				o->stall_seconds, done, o->events, pr.produced);
			return -ETIMEDOUT;
		}
		if (pr.produced < o->events && room_for_chunk(o, group, &pr, done, &room) < 0)
			return -EIO;
		if (!room) {
			rd_kafka_poll(rk, pr.produced >= o->events ? 10 : 5);
			continue;
		}
		if (!t0)
			t0 = bench_now_ns();
		for (uint64_t i = 0; i < o->chunk && pr.produced < o->events; i++, pr.produced++) {
			int32_t part = (int32_t)(pr.produced % (uint64_t)o->partitions);

			buf_reset(&b);
			if (workload_next(&w, now_us(), &b) < 0 || produce_one(rk, o, part, &b) < 0) {
				buf_free(&b);
				return -EIO;
			}
			pr.next[part]++;
		}
		rd_kafka_poll(rk, 0);
		if (pr.produced >= o->events) {
			rd_kafka_flush(rk, 60000);
			t_produced = bench_now_ns();
		}
	}
	t_end = bench_now_ns();
	buf_free(&b);
	if (delivery_errors) {
		fprintf(stderr, "kafka_produce: %" PRIu64 " deliveries failed\n", delivery_errors);
		return -EIO;
	}
	bench_result("kafka.events", (double)o->events, "events", "events produced and appended");
	bench_result("kafka.partitions", o->partitions, "partitions", "partitions of the topic");
	bench_result("kafka.seconds", (double)(t_end - t0) / 1e9, "s",
		     "first produce to max(seq) showing the last event");
	bench_result("kafka.events_per_s", (double)o->events * 1e9 / (double)(t_end - t0), "events/s",
		     "consentd over Kafka, end to end");
	bench_result("kafka.produce_seconds", (double)(t_produced - t0) / 1e9, "s",
		     "first produce to the last message delivered to the mock");
	bench_result("kafka.max_backlog", (double)o->max_backlog, "events",
		     "bound: produced - appended, all partitions");
	bench_result("kafka.max_partition_backlog", (double)o->max_part_backlog, "events",
		     "bound: produced - committed offset, per partition");
	bench_result("kafka.backlog_seen", (double)pr.max_total_seen, "events",
		     "largest backlog seen (produced - appended)");
	bench_result("kafka.partition_backlog_seen", (double)pr.max_part_seen, "events",
		     "largest partition backlog seen (produced - committed offset)");
	bench_result("kafka.waits_total", (double)pr.waits_total, "polls",
		     "polls waiting on the total bound");
	bench_result("kafka.waits_partition", (double)pr.waits_partition, "polls",
		     "polls waiting on the per-partition bound");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brokers", required_argument, NULL, 'b' },
		{ "topic", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "conninfo", required_argument, NULL, 'd' },
		{ "partitions", required_argument, NULL, 'p' },
		{ "events", required_argument, NULL, 'n' },
		{ "max-backlog", required_argument, NULL, 'm' },
		{ "max-partition-backlog", required_argument, NULL, 'M' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "stall-seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .topic = "consent-events", .group = "consentd-bench", .partitions = 4,
			     .events = 1000000, .max_backlog = 40000, .max_part_backlog = 8000,
			     .chunk = 2000, .stall_seconds = 60, .seed = 7 };
	rd_kafka_t *rk, *group;
	PGconn *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': o.brokers = optarg; break;
		case 't': o.topic = optarg; break;
		case 'g': o.group = optarg; break;
		case 'd': o.conninfo = optarg; break;
		case 'p': o.partitions = atoi(optarg); break;
		case 'n': o.events = strtoull(optarg, NULL, 10); break;
		case 'm': o.max_backlog = strtoull(optarg, NULL, 10); break;
		case 'M': o.max_part_backlog = strtoull(optarg, NULL, 10); break;
		case 'c': o.chunk = strtoull(optarg, NULL, 10); break;
		case 's': o.stall_seconds = atof(optarg); break;
		case 'S': o.seed = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: kafka_produce --brokers B --conninfo C [--topic consent-events]\n"
				"       [--group consentd-bench] [--partitions 4] [--events 1000000]\n"
				"       [--max-backlog 40000] [--max-partition-backlog 8000]\n"
				"       [--chunk 2000] [--stall-seconds 60]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || !o.brokers || !o.conninfo || o.partitions < 1 ||
	    o.partitions > MAX_PARTS || !o.events || !o.chunk || o.max_backlog < o.chunk ||
	    o.max_part_backlog < (o.chunk + (uint64_t)o.partitions - 1) / (uint64_t)o.partitions) {
		fprintf(stderr, "kafka_produce: bad arguments (see --help)\n");
		return 2;
	}
	c = PQconnectdb(o.conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "kafka_produce: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	rk = client(&o, RD_KAFKA_PRODUCER);
	group = rk ? client(&o, RD_KAFKA_CONSUMER) : NULL;
	if (!rk || !group) {
		if (rk)
			rd_kafka_destroy(rk);
		PQfinish(c);
		return 1;
	}
	rc = run(&o, c, rk, group);
	rd_kafka_flush(rk, 10000);
	rd_kafka_destroy(rk);
	rd_kafka_destroy(group);
	PQfinish(c);
	return rc < 0 ? 1 : 0;
}
