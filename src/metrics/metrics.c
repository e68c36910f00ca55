/* Metric updates: relaxed atomic adds on the hot path; the two keyed tables (rejection reasons,
 * Kafka partitions) claim a slot with one compare-and-swap the first time a key is seen. */
#include "metrics/metrics_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds: 1 ms to 10 s, the span of an append transaction and of an acknowledgement. */
const uint64_t metrics_latency_bounds_us[] = {
	1000,	2500,	5000,	 10000,	  25000,   50000,   100000,
	250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
const size_t metrics_latency_bounds_n = ARRAY_SIZE(metrics_latency_bounds_us);
/* Events per transaction: 1 up to twice ledger.batch_max's default. */
const uint64_t metrics_batch_bounds[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000 };
const size_t metrics_batch_bounds_n = ARRAY_SIZE(metrics_batch_bounds);

const char *const metrics_source_names[METRICS_SOURCES] = { "http", "kafka" };

#define RELAXED memory_order_relaxed

static void histogram_init(struct histogram *h, const uint64_t *bounds, size_t n)
{
	h->bounds = bounds;
	h->n = n < METRICS_BUCKETS_MAX ? n : METRICS_BUCKETS_MAX;
}

struct metrics *metrics_new(const char *version, int64_t start_us)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	snprintf(m->version, sizeof(m->version), "%s", version ? version : "");
	m->start_us = start_us;
	for (int i = 0; i < METRICS_SOURCES; i++)
		histogram_init(&m->ack[i], metrics_latency_bounds_us, metrics_latency_bounds_n);
	histogram_init(&m->commit, metrics_latency_bounds_us, metrics_latency_bounds_n);
	histogram_init(&m->batch, metrics_batch_bounds, metrics_batch_bounds_n);
	return m;
}

void metrics_free(struct metrics *m)
{
	free(m);
}

size_t metrics_bucket_index(const uint64_t *bounds, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) { /* the first bound >= v */
		size_t mid = lo + (hi - lo) / 2;

		if (bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void observe(struct histogram *h, int64_t v)
{
	uint64_t u = v > 0 ? (uint64_t)v : 0;
	size_t i = metrics_bucket_index(h->bounds, h->n, u);

	atomic_fetch_add_explicit(&h->buckets[i], 1, RELAXED);
	atomic_fetch_add_explicit(&h->sum, u, RELAXED);
}

void metrics_acked(struct metrics *m, enum metrics_source src, uint64_t appended,
		   uint64_t duplicates, int64_t latency_us)
{
	if (!m || src >= METRICS_SOURCES)
		return;
	if (appended)
		atomic_fetch_add_explicit(&m->accepted[src], appended, RELAXED);
	if (duplicates)
		atomic_fetch_add_explicit(&m->duplicates[src], duplicates, RELAXED);
	observe(&m->ack[src], latency_us);
}

/* Waits out another thread filling the slot (a few stores), then says whether it is ready. */
static bool slot_ready(atomic_int *state)
{
	int st;

	while ((st = atomic_load(state)) == SLOT_FILLING)
		sched_yield();
	return st == SLOT_READY;
}

/* The slot of (src, reason), claiming a free one if the pair is new; NULL when the table is
 * full. Slots are claimed in order and never released, so a scan meets the pair's slot first. */
static struct reason_slot *reason_slot(struct metrics *m, enum metrics_source src,
				       const char *reason)
{
	for (size_t i = 0; i < METRICS_REASONS_MAX; i++) {
		struct reason_slot *s = &m->reasons[i];
		int expect = SLOT_FREE;

		if (atomic_compare_exchange_strong(&s->state, &expect, SLOT_FILLING)) {
			s->src = src;
			snprintf(s->reason, sizeof(s->reason), "%s", reason);
			atomic_store(&s->state, SLOT_READY);
			return s;
		}
		if (slot_ready(&s->state) && s->src == src && strcmp(s->reason, reason) == 0)
			return s;
	}
	return NULL;
}

void metrics_rejected(struct metrics *m, enum metrics_source src, const char *reason,
		      uint64_t events)
{
	struct reason_slot *s;

	if (!m || src >= METRICS_SOURCES)
		return;
	if (!reason || !*reason)
		reason = "unknown";
	s = strlen(reason) < METRICS_REASON_MAX ? reason_slot(m, src, reason) : NULL;
	atomic_fetch_add_explicit(s ? &s->count : &m->rejected_other[src], events, RELAXED);
}

void metrics_committed(struct metrics *m, size_t events, int64_t duration_us)
{
	if (!m)
		return;
	observe(&m->commit, duration_us);
	observe(&m->batch, (int64_t)events);
}

void metrics_postgres_error(struct metrics *m)
{
	if (m)
		atomic_fetch_add_explicit(&m->pg_errors, 1, RELAXED);
}

void metrics_postgres_reconnect(struct metrics *m)
{
	if (m)
		atomic_fetch_add_explicit(&m->pg_reconnects, 1, RELAXED);
}

void metrics_checkpoint(struct metrics *m, uint64_t tree_size, int64_t at_us)
{
	if (!m)
		return;
	atomic_store(&m->checkpoint_size, tree_size);
	atomic_store(&m->checkpoint_us, at_us > 0 ? at_us : 1);
}

static struct lag_slot *lag_slot(struct metrics *m, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < METRICS_PARTITIONS_MAX; i++) {
		struct lag_slot *s = &m->lags[i];
		int expect = SLOT_FREE;

		if (atomic_compare_exchange_strong(&s->state, &expect, SLOT_FILLING)) {
			s->partition = partition;
			snprintf(s->topic, sizeof(s->topic), "%s", topic);
			atomic_store(&s->state, SLOT_READY);
			return s;
		}
		if (slot_ready(&s->state) && s->partition == partition &&
		    strcmp(s->topic, topic) == 0)
			return s;
	}
	return NULL;
}

void metrics_kafka_lag(struct metrics *m, const char *topic, int32_t partition, int64_t lag)
{
	struct lag_slot *s;

	if (!m || !topic || strlen(topic) >= sizeof(m->lags[0].topic) ||
	    !(s = lag_slot(m, topic, partition)))
		return;
	atomic_store(&s->lag, lag);
	atomic_store(&s->gen, atomic_load(&m->lag_gen) + 1);
}

void metrics_kafka_lag_done(struct metrics *m)
{
	if (m)
		atomic_fetch_add(&m->lag_gen, 1);
}
