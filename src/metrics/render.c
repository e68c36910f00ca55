/* The Prometheus text exposition format 0.0.4: one HELP and one TYPE line per family, then its
 * samples; label values escaped; histograms as cumulative _bucket{le}, _sum and _count. */
#include "metrics/metrics_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define US 6 /* decimals of a value kept in µs and shown in seconds */

/* The output and the first error writing to it (sticky: the text is complete or refused). */
struct text {
	struct buf *b;
	int rc;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (t->rc == 0 && (n < 0 || (size_t)n >= sizeof(small)))
		t->rc = -EINVAL; /* every line part here is short: longer would be a bug */
	if (t->rc == 0)
		t->rc = buf_append(t->b, small, (size_t)n);
}

/* v / 10^decimals as a plain decimal without trailing zeros: 2500 (6) -> "0.0025". */
static void put_scaled(struct text *out, uint64_t v, unsigned decimals)
{
	uint64_t div = 1;
	char frac[24];
	int len;

	for (unsigned i = 0; i < decimals; i++)
		div *= 10;
	if (v % div == 0) {
		put(out, "%" PRIu64, v / div);
		return;
	}
	len = snprintf(frac, sizeof(frac), "%0*" PRIu64, (int)decimals, v % div);
	while (len > 0 && frac[len - 1] == '0')
		frac[--len] = '\0';
	put(out, "%" PRIu64 ".%s", v / div, frac);
}

/* Label values escape backslash, double quote and line feed. */
static void put_label_value(struct text *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(out, "\\\\");
		else if (*s == '"')
			put(out, "\\\"");
		else if (*s == '\n')
			put(out, "\\n");
		else
			put(out, "%c", *s);
	}
}

static void family(struct text *out, const char *name, const char *type, const char *help)
{
	put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_source(struct text *out, const char *name, const atomic_uint_fast64_t *v)
{
	for (int i = 0; i < METRICS_SOURCES; i++)
		put(out, "%s{source=\"%s\"} %" PRIu64 "\n", name, metrics_source_names[i],
			   (uint64_t)LOAD(v[i]));
}

/* labels: "" or `source="http"`; le follows them in the buckets. */
static void histogram(struct text *out, const char *name, const char *labels,
		      const struct histogram *h, unsigned decimals)
{
	const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
	uint64_t cum = 0;

	for (size_t i = 0; i <= h->n; i++) {
		cum += LOAD(h->buckets[i]);
		put(out, "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
		if (i < h->n)
			put_scaled(out, h->bounds[i], decimals);
		else
			put(out, "+Inf");
		put(out, "\"} %" PRIu64 "\n", cum);
	}
	put(out, "%s_sum%s%s%s ", name, open, labels, close);
	put_scaled(out, LOAD(h->sum), decimals);
	put(out, "\n%s_count%s%s%s %" PRIu64 "\n", name, open, labels, close, cum);
}

static void gauge_seconds(struct text *out, const char *name, int64_t us)
{
	put(out, "%s ", name);
	put_scaled(out, us > 0 ? (uint64_t)us : 0, US);
	put(out, "\n");
}

static void render_process(const struct metrics *m, struct text *out)
{
	family(out, "consentd_build_info", "gauge",
	       "The version of consentd running (label); always 1.");
	put(out, "consentd_build_info{version=\"");
	put_label_value(out, m->version);
	put(out, "\"} 1\n");
	family(out, "consentd_start_time_seconds", "gauge",
	       "When the process started, in seconds since the Unix epoch.");
	gauge_seconds(out, "consentd_start_time_seconds", m->start_us);
}

static void render_ingest(const struct metrics *m, struct text *out)
{
	family(out, "consentd_ingest_accepted_total", "counter",
	       "Events appended to the ledger and acknowledged, by source.");
	per_source(out, "consentd_ingest_accepted_total", m->accepted);
	family(out, "consentd_ingest_duplicates_total", "counter",
	       "Events acknowledged as already stored with identical content (not appended again), by source.");
	per_source(out, "consentd_ingest_duplicates_total", m->duplicates);
	family(out, "consentd_ingest_rejected_total", "counter",
	       "Events refused, by source and JSON error code.");
	for (size_t i = 0; i < METRICS_REASONS_MAX; i++) {
		const struct reason_slot *s = &m->reasons[i];

		if (atomic_load(&s->state) != SLOT_READY)
			continue;
		put(out, "consentd_ingest_rejected_total{source=\"%s\",reason=\"",
			   metrics_source_names[s->src]);
		put_label_value(out, s->reason);
		put(out, "\"} %" PRIu64 "\n", (uint64_t)LOAD(s->count));
	}
	for (int i = 0; i < METRICS_SOURCES; i++)
		if (LOAD(m->rejected_other[i]))
			put(out,
			    "consentd_ingest_rejected_total{source=\"%s\",reason=\"other\"} %" PRIu64 "\n",
			    metrics_source_names[i], (uint64_t)LOAD(m->rejected_other[i]));
	family(out, "consentd_ingest_ack_latency_seconds", "histogram",
	       "Time from an event's receipt to its acknowledgement as durable, by source.");
	for (int i = 0; i < METRICS_SOURCES; i++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "source=\"%s\"", metrics_source_names[i]);
		histogram(out, "consentd_ingest_ack_latency_seconds", labels, &m->ack[i], US);
	}
}

static void render_writer(const struct metrics *m, const struct metrics_sample *s, struct text *out)
{
	family(out, "consentd_writer_commit_latency_seconds", "histogram",
	       "Duration of committed append transactions.");
	histogram(out, "consentd_writer_commit_latency_seconds", "", &m->commit, US);
	family(out, "consentd_writer_batch_events", "histogram",
	       "Events per committed append transaction.");
	histogram(out, "consentd_writer_batch_events", "", &m->batch, 0);
	family(out, "consentd_writer_queue_depth", "gauge",
	       "Events queued to the ledger writer or in its transaction.");
	put(out, "consentd_writer_queue_depth %zu\n", s->writer_queue_depth);
	family(out, "consentd_writer_heartbeat_age_seconds", "gauge",
	       "Time since the ledger writer thread last showed progress (idle ticks included).");
	gauge_seconds(out, "consentd_writer_heartbeat_age_seconds", s->writer_heartbeat_age_us);
}

static void render_postgres(const struct metrics *m, const struct metrics_sample *s,
			    struct text *out)
{
	int64_t at = LOAD(m->checkpoint_us);

	family(out, "consentd_postgres_up", "gauge",
	       "1 while the ledger writer holds a working connection to a current schema.");
	put(out, "consentd_postgres_up %d\n", s->postgres_up ? 1 : 0);
	family(out, "consentd_postgres_errors_total", "counter",
	       "Failed connection attempts, statements and transactions on the writer's connection.");
	put(out, "consentd_postgres_errors_total %" PRIu64 "\n", (uint64_t)LOAD(m->pg_errors));
	family(out, "consentd_postgres_reconnects_total", "counter",
	       "Connections the ledger writer made after losing one or failing to make one.");
	put(out, "consentd_postgres_reconnects_total %" PRIu64 "\n",
		   (uint64_t)LOAD(m->pg_reconnects));
	family(out, "consentd_checkpoint_age_seconds", "gauge",
	       "Time since the last signed checkpoint was stored; absent before the first.");
	if (at)
		gauge_seconds(out, "consentd_checkpoint_age_seconds", s->now_us - at);
	family(out, "consentd_checkpoint_tree_size", "gauge",
	       "Tree size of the last stored checkpoint; absent before the first.");
	if (at)
		put(out, "consentd_checkpoint_tree_size %" PRIu64 "\n",
			   (uint64_t)LOAD(m->checkpoint_size));
}

static void render_kafka(const struct metrics *m, const struct metrics_sample *s, struct text *out)
{
	uint64_t gen = LOAD(m->lag_gen);

	family(out, "consentd_kafka_consumer_lag", "gauge",
	       "Messages between a partition's committed offset and its high watermark (librdkafka's "
	       "consumer_lag); absent while unknown.");
	for (size_t i = 0; gen && i < METRICS_PARTITIONS_MAX; i++) {
		const struct lag_slot *l = &m->lags[i];
		int64_t lag;

		if (atomic_load(&l->state) != SLOT_READY || LOAD(l->gen) != gen ||
		    (lag = LOAD(l->lag)) < 0)
			continue;
		put(out, "consentd_kafka_consumer_lag{topic=\"");
		put_label_value(out, l->topic);
		put(out, "\",partition=\"%" PRId32 "\"} %" PRId64 "\n", l->partition, lag);
	}
	family(out, "consentd_kafka_inflight_messages", "gauge",
	       "Kafka messages handed to the ledger writer and not yet back; absent without Kafka.");
	if (s->kafka_on)
		put(out, "consentd_kafka_inflight_messages %zu\n", s->kafka_inflight);
}

int metrics_render(const struct metrics *m, const struct metrics_sample *s, struct buf *out)
{
	struct text t = { out, 0 };
	size_t start = out->len;

	if (!m || !s)
		return -EINVAL;
	render_process(m, &t);
	render_ingest(m, &t);
	render_writer(m, s, &t);
	render_postgres(m, s, &t);
	render_kafka(m, s, &t);
	if (t.rc < 0)
		out->len = start;
	return t.rc;
}
