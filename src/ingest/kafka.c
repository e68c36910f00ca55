/* Kafka consumer group driven by the event loop: librdkafka signals its queue through a pipe,
 * the loop polls it, every message becomes a writer unit; offsets are stored for the periodic
 * commit only after the unit's transaction committed. Flow control pauses every partition while
 * the database is down or too many messages are in flight. */
#include "ingest/kafka_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics/metrics.h"

#define POLL_BURST 1000
#define TICK_MS 200
#define CLOSE_DEADLINE_MS 5000

struct kpart {
	char topic[256];
	int32_t partition;
	uint32_t gen;   /* bumped on (re)assignment, revocation and rewind */
	bool assigned;
};

struct kafka_ingest {
	struct event_base *base;
	struct kafka_deps deps;
	rd_kafka_t *consumer;
	rd_kafka_t *producer;
	rd_kafka_queue_t *queue;
	int pipefd[2];
	struct event *io_ev;
	struct event *tick_ev;
	struct kpart *parts;
	size_t n_parts;
	size_t inflight;
	bool paused;
	bool draining;
	atomic_bool brokers_up;
};

static struct kpart *part_get(struct kafka_ingest *k, const char *topic, int32_t partition)
{
	struct kpart *grown;

	for (size_t i = 0; i < k->n_parts; i++)
		if (k->parts[i].partition == partition && strcmp(k->parts[i].topic, topic) == 0)
			return &k->parts[i];
	grown = realloc(k->parts, (k->n_parts + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	k->parts = grown;
	memset(&k->parts[k->n_parts], 0, sizeof(*grown));
	snprintf(k->parts[k->n_parts].topic, sizeof(grown->topic), "%s", topic);
	k->parts[k->n_parts].partition = partition;
	return &k->parts[k->n_parts++];
}

static bool is_json_topic(const struct kafka_ingest *k, const char *topic)
{
	for (size_t i = 0; i < k->deps.cfg->json_topics.n; i++)
		if (strcmp(k->deps.cfg->json_topics.items[i], topic) == 0)
			return true;
	return false;
}

static void set_paused(struct kafka_ingest *k, bool pause)
{
	rd_kafka_topic_partition_list_t *list = NULL;

	if (k->paused == pause || rd_kafka_assignment(k->consumer, &list) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (pause)
		rd_kafka_pause_partitions(k->consumer, list);
	else
		rd_kafka_resume_partitions(k->consumer, list);
	rd_kafka_topic_partition_list_destroy(list);
	k->paused = pause;
	log_debug("kafka", "%s fetching (%zu in flight)", pause ? "paused" : "resumed", k->inflight);
}

/* Pause while the database is down, while too much is in flight, and for good when draining. */
static void flow_control(struct kafka_ingest *k)
{
	size_t max = (size_t)k->deps.cfg->max_inflight;
	bool down = !writer_ready(k->deps.writer);

	if (k->draining || down || k->inflight >= max)
		set_paused(k, true);
	else if (k->inflight <= max / 2)
		set_paused(k, false);
}

static void store_offset(struct kafka_ingest *k, const struct writer_unit *u)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(list, u->topic, u->partition)->offset = u->offset + 1;
	err = rd_kafka_offsets_store(k->consumer, list);
	if (err)
		log_warn("kafka", "offset %s[%d]@%lld not stored: %s", u->topic, u->partition,
			 (long long)u->offset + 1, rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(list);
}

/* A unit that could not be made durable: fetch its partition again from its offset, so that
 * nothing after it is committed first. */
static void rewind_partition(struct kafka_ingest *k, struct kpart *p, const struct writer_unit *u)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
	rd_kafka_error_t *error;

	p->gen++;
	rd_kafka_topic_partition_list_add(list, u->topic, u->partition)->offset = u->offset;
	error = rd_kafka_seek_partitions(k->consumer, list, 0);
	if (error) {
		log_warn("kafka", "seek %s[%d]@%lld: %s", u->topic, u->partition, (long long)u->offset,
			 rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
	rd_kafka_topic_partition_list_destroy(list);
}

static void unit_done(struct writer_unit *u, void *arg)
{
	struct kafka_ingest *k = arg;
	struct kpart *p = &k->parts[u->tag >> 32];
	bool current = p->assigned && p->gen == (uint32_t)u->tag;
	bool refused = u->status == WRITER_CONFLICT || u->status == WRITER_INVALID;
	bool durable = u->status == WRITER_COMMITTED || (refused && u->quarantine);
	char ctx[320];

	k->inflight--;
	snprintf(ctx, sizeof(ctx), "topic=%s partition=%d offset=%lld", u->topic, u->partition,
		 (long long)u->offset);
	if (durable && current)
		store_offset(k, u);
	if (durable)
		metrics_acked(k->deps.metrics, METRICS_SOURCE_KAFKA, u->n && !u->items[0].duplicate,
			      u->n && u->items[0].duplicate, now_us() - u->received_at_us);
	if (durable && (u->reject_code[0] || refused)) {
		metrics_rejected(k->deps.metrics, METRICS_SOURCE_KAFKA, writer_unit_reject_code(u),
				 1);
		log_ev_warn("kafka", ctx, "rejected %s: %s", writer_unit_reject_code(u),
			    writer_unit_reject_message(u));
		if (k->producer && k->deps.cfg->dead_letter_topic[0])
			kafka_dead_letter(k->producer, k->deps.cfg->dead_letter_topic, u);
	}
	if (!durable) {
		log_ev_error("kafka", ctx, "not stored (%s): the message will be consumed again", u->error);
		/* Later offsets of this partition must not be stored past it, even if they commit: fetch
		 * it again, or while draining store nothing more. A unit that is no longer current was
		 * fetched before the partition was rewound to an earlier offset (or reassigned), so it is
		 * being fetched again already; bumping gen for it would disown those new copies, and if
		 * they failed too nothing would rewind while later commits stored offsets past them. */
		if (current && !k->draining)
			rewind_partition(k, p, u);
		else if (current)
			p->gen++;
	}
	writer_unit_free(u);
	flow_control(k);
}

static void handle_message(struct kafka_ingest *k, rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct kpart *p = part_get(k, topic, m->partition);
	struct writer_unit *u;

	if (!p || !p->assigned || k->draining)
		return; /* not stored: consumed again by whoever holds the partition next */
	u = kafka_unit_from_message(m, is_json_topic(k, topic), k->deps.policy, k->deps.keys);
	if (!u) {
		log_error("kafka", "out of memory for %s[%d]@%lld", topic, m->partition, (long long)m->offset);
		set_paused(k, true);
		return;
	}
	u->done_cb = unit_done;
	u->arg = k;
	u->tag = (uint64_t)(p - k->parts) << 32 | p->gen;
	if (writer_submit(k->deps.writer, u) < 0) {
		rewind_partition(k, p, u); /* only while stopping: consumed again after restart */
		writer_unit_free(u);
		return;
	}
	k->inflight++;
}

static void poll_some(struct kafka_ingest *k)
{
	rd_kafka_message_t *m;
	int n = 0;

	while (n < POLL_BURST && (m = rd_kafka_consumer_poll(k->consumer, 0))) {
		n++;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				log_warn("kafka", "consumer: %s", rd_kafka_message_errstr(m));
		} else {
			atomic_store(&k->brokers_up, true);
			handle_message(k, m);
		}
		rd_kafka_message_destroy(m);
	}
	if (n == POLL_BURST)
		event_active(k->io_ev, EV_READ, 0); /* more waiting: continue after other work */
	flow_control(k);
}

static void io_cb(evutil_socket_t fd, short what, void *arg)
{
	char drain[64];

	while (read(fd, drain, sizeof(drain)) > 0)
		;
	poll_some(arg);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kafka_ingest *k = arg;

	if (k->producer)
		rd_kafka_poll(k->producer, 0);
	poll_some(k);
}

static void set_assigned(struct kafka_ingest *k, const rd_kafka_topic_partition_list_t *list, bool on)
{
	for (int i = 0; i < list->cnt; i++) {
		struct kpart *p = part_get(k, list->elems[i].topic, list->elems[i].partition);

		if (p) {
			p->gen++; /* completions from before this change store nothing */
			p->assigned = on;
		}
	}
}

/* Revocation abandons what is in flight (its completions store no offset) and commits what is
 * durable, so the next owner starts right after it; a duplicate is then recognised by event_id. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *list, void *opaque)
{
	struct kafka_ingest *k = opaque;
	bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_resp_err_t cerr;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		set_assigned(k, list, true);
		log_info("kafka", "assigned %d partitions", list->cnt);
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, list));
		else
			rd_kafka_assign(rk, list);
		/* librdkafka keeps a partition's pause flag across revoke and re-assign: start every
		 * assignment resumed, and let flow control pause it again if it must. */
		rd_kafka_resume_partitions(rk, list);
		k->paused = false;
		flow_control(k);
		return;
	}
	set_assigned(k, list, false);
	/* A lost assignment (session timed out) can no longer be committed: another member may
	 * own the partitions already, and a commit queued for the coordinator would hold up the
	 * unassign until it answers. */
	if (!rd_kafka_assignment_lost(rk)) {
		cerr = rd_kafka_commit(rk, NULL, 0);
		if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
			log_warn("kafka", "commit on revocation: %s", rd_kafka_err2str(cerr));
	}
	log_info("kafka", "revoked %d partitions%s", list->cnt,
		 rd_kafka_assignment_lost(rk) ? " (assignment lost)" : "");
	if (cooperative)
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, list));
	else
		rd_kafka_assign(rk, NULL);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_ingest *k = opaque;

	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		atomic_store(&k->brokers_up, false);
	log_warn("kafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static bool part_assigned(const struct kafka_ingest *k, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < k->n_parts; i++)
		if (k->parts[i].partition == partition && strcmp(k->parts[i].topic, topic) == 0)
			return k->parts[i].assigned;
	return false;
}

/* consumer_lag of every partition this member holds, for /metrics; -1 (unknown) until an offset
 * of the partition is committed. */
static void report_lag(struct kafka_ingest *k, json_t *root)
{
	json_t *topics = json_object_get(root, "topics"), *t, *p, *lag;
	const char *topic, *id;

	json_object_foreach(topics, topic, t) {
		json_object_foreach(json_object_get(t, "partitions"), id, p) {
			int32_t n = (int32_t)json_integer_value(json_object_get(p, "partition"));
			int64_t v;

			lag = json_object_get(p, "consumer_lag");
			if (n < 0 || !json_is_integer(lag) || !part_assigned(k, topic, n))
				continue;
			v = json_integer_value(lag);
			metrics_kafka_lag(k->deps.metrics, topic, n, v);
		}
	}
	metrics_kafka_lag_done(k->deps.metrics);
}

/* librdkafka's statistics say, once a second, whether any broker connection is up, and each
 * partition's lag. They arrive through rd_kafka_consumer_poll, on the loop thread. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct kafka_ingest *k = opaque;
	json_t *root = json_loadb(json, len, 0, NULL), *brokers, *b;
	const char *name;
	bool up = false, was;

	brokers = json_object_get(root, "brokers");
	json_object_foreach(brokers, name, b)
		if (json_is_string(json_object_get(b, "state")) &&
		    strcmp(json_string_value(json_object_get(b, "state")), "UP") == 0 &&
		    json_integer_value(json_object_get(b, "nodeid")) >= 0)
			up = true;
	report_lag(k, root);
	json_decref(root);
	was = atomic_exchange(&k->brokers_up, up);
	if (was != up)
		log_msg(up ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "kafka", __FILE__, __LINE__, NULL,
			"brokers %s", up ? "reachable again" : "unreachable: retrying");
	return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	log_msg(level <= 3 ? LOG_LEVEL_ERROR : level <= 4 ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
		"rdkafka", __FILE__, __LINE__, NULL, "%s: %s", fac, buf);
}

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errlen)
{
	char why[256];

	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "[kafka] %s: %s", name, why);
		return -EINVAL;
	}
	return 0;
}

/* Our settings first, then property.* so that an operator may override any of them. */
static rd_kafka_conf_t *make_conf(struct kafka_ingest *k, bool consumer, char *err, size_t errlen)
{
	static const char *const consumer_defaults[][2] = {
		{ "enable.auto.commit", "true" },      { "enable.auto.offset.store", "false" },
		{ "auto.commit.interval.ms", "1000" }, { "auto.offset.reset", "earliest" },
		{ "enable.partition.eof", "false" },   { "statistics.interval.ms", "1000" },
	};
	const struct config_kafka *cfg = k->deps.cfg;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int rc = conf_set(conf, "bootstrap.servers", cfg->brokers, err, errlen);

	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	if (consumer) {
		rc = rc ?: conf_set(conf, "group.id", cfg->group_id, err, errlen);
		for (size_t i = 0; i < ARRAY_SIZE(consumer_defaults) && rc == 0; i++)
			rc = conf_set(conf, consumer_defaults[i][0], consumer_defaults[i][1], err, errlen);
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
		rd_kafka_conf_set_stats_cb(conf, stats_cb);
	}
	for (size_t i = 0; i < cfg->property.n && rc == 0; i++)
		rc = conf_set(conf, cfg->property.keys[i], cfg->property.values[i], err, errlen);
	if (rc < 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	return conf;
}

static rd_kafka_t *make_client(struct kafka_ingest *k, rd_kafka_type_t type, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = make_conf(k, type == RD_KAFKA_CONSUMER, err, errlen);
	char why[512];
	rd_kafka_t *rk;

	if (!conf)
		return NULL;
	rk = rd_kafka_new(type, conf, why, sizeof(why)); /* takes conf on success */
	if (!rk) {
		snprintf(err, errlen, "[kafka] %s", why);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

static int watch_queue(struct kafka_ingest *k)
{
	struct timeval tick = { 0, TICK_MS * 1000 };

	if (pipe2(k->pipefd, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	k->queue = rd_kafka_queue_get_consumer(k->consumer);
	rd_kafka_queue_io_event_enable(k->queue, k->pipefd[1], "1", 1);
	k->io_ev = event_new(k->base, k->pipefd[0], EV_READ | EV_PERSIST, io_cb, k);
	k->tick_ev = event_new(k->base, -1, EV_PERSIST, tick_cb, k);
	if (!k->io_ev || !k->tick_ev || event_add(k->io_ev, NULL) < 0 || event_add(k->tick_ev, &tick) < 0)
		return -ENOMEM;
	return 0;
}

struct kafka_ingest *kafka_ingest_new(struct event_base *base, const struct kafka_deps *deps,
				      char *err, size_t errlen)
{
	struct kafka_ingest *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->base = base;
	k->deps = *deps;
	k->pipefd[0] = k->pipefd[1] = -1;
	k->consumer = make_client(k, RD_KAFKA_CONSUMER, err, errlen);
	if (k->consumer && (deps->cfg->dead_letter_topic[0] || deps->cfg->checkpoint_topic[0]))
		k->producer = make_client(k, RD_KAFKA_PRODUCER, err, errlen);
	if (!k->consumer || ((deps->cfg->dead_letter_topic[0] || deps->cfg->checkpoint_topic[0]) &&
			     !k->producer)) {
		kafka_ingest_free(k);
		return NULL;
	}
	rd_kafka_poll_set_consumer(k->consumer);
	if (watch_queue(k) < 0) {
		snprintf(err, errlen, "[kafka] cannot watch the consumer queue");
		kafka_ingest_free(k);
		return NULL;
	}
	return k;
}

int kafka_ingest_start(struct kafka_ingest *k, char *err, size_t errlen)
{
	const struct config_list *topics = &k->deps.cfg->topics;
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)topics->n);
	rd_kafka_resp_err_t e;

	for (size_t i = 0; i < topics->n; i++)
		rd_kafka_topic_partition_list_add(list, topics->items[i], RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(k->consumer, list);
	rd_kafka_topic_partition_list_destroy(list);
	if (e) {
		snprintf(err, errlen, "[kafka] subscribe: %s", rd_kafka_err2str(e));
		return -EINVAL;
	}
	log_info("kafka", "consuming %zu topics from %s as group %s", topics->n, k->deps.cfg->brokers,
		 k->deps.cfg->group_id);
	return 0;
}

void kafka_ingest_drain(struct kafka_ingest *k)
{
	if (!k)
		return;
	k->draining = true;
	set_paused(k, true);
}

size_t kafka_ingest_inflight(const struct kafka_ingest *k)
{
	return k ? k->inflight : 0;
}

bool kafka_ingest_brokers_up(const struct kafka_ingest *k)
{
	return k && atomic_load(&k->brokers_up);
}

int kafka_ingest_publish(struct kafka_ingest *k, const char *topic, const void *data, size_t len)
{
	rd_kafka_resp_err_t e;

	if (!k || !k->producer)
		return -ENOTCONN;
	e = rd_kafka_producev(k->producer, RD_KAFKA_V_TOPIC(topic),
			      RD_KAFKA_V_VALUE((void *)(uintptr_t)data, len),
			      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
	return e ? -EIO : 0;
}

/* Leaving the group needs the coordinator; with every broker gone a blocking close would never
 * return. Close asynchronously and give up after CLOSE_DEADLINE_MS: the group then notices the
 * member's departure by its session timeout, and nothing uncommitted was acknowledged. */
static void close_consumer(rd_kafka_t *rk)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_error_t *error = rd_kafka_consumer_close_queue(rk, q);
	int64_t deadline = now_us() + (int64_t)CLOSE_DEADLINE_MS * 1000;
	rd_kafka_event_t *ev;

	if (error) {
		log_warn("kafka", "close: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
	while (!error && !rd_kafka_consumer_closed(rk) && now_us() < deadline) {
		ev = rd_kafka_queue_poll(q, 100);
		if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
			if (strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0)
				rd_kafka_error_destroy(rd_kafka_incremental_unassign(
					rk, rd_kafka_event_topic_partition_list(ev)));
			else
				rd_kafka_assign(rk, NULL);
		}
		rd_kafka_event_destroy(ev);
	}
	if (!rd_kafka_consumer_closed(rk))
		log_warn("kafka", "left the group without the coordinator's answer (brokers unreachable)");
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

/* Commit what is durable, leave the group (the others rebalance at once), flush the producer. */
void kafka_ingest_free(struct kafka_ingest *k)
{
	rd_kafka_resp_err_t e;

	if (!k)
		return;
	if (k->queue) {
		rd_kafka_queue_io_event_enable(k->queue, -1, NULL, 0);
		rd_kafka_queue_destroy(k->queue);
	}
	if (k->consumer) {
		/* Asynchronous: closing commits the stored offsets again and waits (bounded) for it. */
		e = rd_kafka_commit(k->consumer, NULL, 1);
		if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
			log_warn("kafka", "final commit: %s", rd_kafka_err2str(e));
		close_consumer(k->consumer);
	}
	if (k->producer) {
		rd_kafka_flush(k->producer, 5000);
		rd_kafka_destroy(k->producer);
	}
	if (k->io_ev)
		event_free(k->io_ev);
	if (k->tick_ev)
		event_free(k->tick_ev);
	for (int i = 0; i < 2; i++)
		if (k->pipefd[i] >= 0)
			close(k->pipefd[i]);
	free(k->parts);
	free(k);
}
