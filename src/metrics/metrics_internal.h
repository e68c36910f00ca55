/* Private to metrics/: the layout that metrics.c updates and render.c reads. Every field that
 * two threads touch is atomic; slots of the two keyed tables are claimed once and never freed. */
#ifndef CONSENTD_METRICS_INTERNAL_H
#define CONSENTD_METRICS_INTERNAL_H

#include <stdatomic.h>

#include "metrics/metrics.h"

#define METRICS_BUCKETS_MAX 16

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY };

/* buckets[i] counts values in (bounds[i-1], bounds[i]]; buckets[n] those above the last bound.
 * Rendering makes them cumulative, so _count always equals the +Inf bucket. */
struct histogram {
	const uint64_t *bounds;
	size_t n;
	atomic_uint_fast64_t buckets[METRICS_BUCKETS_MAX + 1];
	atomic_uint_fast64_t sum; /* in the bounds' unit */
};

struct reason_slot {
	atomic_int state;
	enum metrics_source src;
	char reason[METRICS_REASON_MAX];
	atomic_uint_fast64_t count;
};

/* A partition is shown while gen equals the metrics' lag_gen: set in the latest report. */
struct lag_slot {
	atomic_int state;
	int32_t partition;
	char topic[256];
	atomic_int_fast64_t lag;
	atomic_uint_fast64_t gen;
};

struct metrics {
	char version[64];
	int64_t start_us;
	atomic_uint_fast64_t accepted[METRICS_SOURCES];
	atomic_uint_fast64_t duplicates[METRICS_SOURCES];
	atomic_uint_fast64_t rejected_other[METRICS_SOURCES];
	struct reason_slot reasons[METRICS_REASONS_MAX];
	struct histogram ack[METRICS_SOURCES];
	struct histogram commit;
	struct histogram batch;
	atomic_uint_fast64_t pg_errors;
	atomic_uint_fast64_t pg_reconnects;
	atomic_int_fast64_t checkpoint_us; /* 0: none stored yet */
	atomic_uint_fast64_t checkpoint_size;
	atomic_uint_fast64_t lag_gen;
	struct lag_slot lags[METRICS_PARTITIONS_MAX];
};

extern const char *const metrics_source_names[METRICS_SOURCES];

#endif
