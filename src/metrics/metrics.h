/* consentd's metrics: counters, gauges and histograms that the event loop and the ledger writer
 * thread update without locks (C11 atomics), rendered for GET /metrics in the Prometheus text
 * exposition format 0.0.4. The daemon owns the one struct metrics and hands it explicitly to the
 * writer and to the HTTP and Kafka sources; nothing here is global. Every update function
 * accepts m == NULL and then does nothing (tests and tools that run without metrics). */
#ifndef CONSENTD_METRICS_H
#define CONSENTD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_source { METRICS_SOURCE_HTTP, METRICS_SOURCE_KAFKA, METRICS_SOURCES };

/* Distinct (source, reason) pairs and Kafka partitions kept; more are counted under
 * reason="other" and not shown, respectively. Reasons are cut to METRICS_REASON_MAX - 1 bytes. */
#define METRICS_REASONS_MAX 64
#define METRICS_REASON_MAX 48
#define METRICS_PARTITIONS_MAX 256

struct metrics;

/* version: the consentd_build_info label (copied); start_us: process start, Unix µs. */
struct metrics *metrics_new(const char *version, int64_t start_us);
void metrics_free(struct metrics *m);

/* ---- ingest outcomes (event loop) ------------------------------------------------------- */
/* Events acknowledged as durable: appended new, or already stored with the same content; and
 * the time from the unit's received_at to this acknowledgement. A Kafka rejection recorded in
 * rejected_event is acknowledged with appended = duplicates = 0. */
void metrics_acked(struct metrics *m, enum metrics_source src, uint64_t appended,
		   uint64_t duplicates, int64_t latency_us);
/* Events refused, by the JSON error code the source answered or recorded (reason is copied). */
void metrics_rejected(struct metrics *m, enum metrics_source src, const char *reason,
		      uint64_t events);

/* ---- the ledger writer thread ----------------------------------------------------------- */
/* A committed append transaction of `events` events that took duration_us. */
void metrics_committed(struct metrics *m, size_t events, int64_t duration_us);
/* A failed connection attempt, statement or transaction on the writer's connection. */
void metrics_postgres_error(struct metrics *m);
/* A connection established after an earlier one was lost or could not be made. */
void metrics_postgres_reconnect(struct metrics *m);
/* A checkpoint of tree_size is stored (by this process or, first, by another) at at_us. */
void metrics_checkpoint(struct metrics *m, uint64_t tree_size, int64_t at_us);

/* ---- Kafka statistics (librdkafka's statistics callback) -------------------------------- */
/* One partition's consumer lag from one statistics report; lag < 0 (unknown) hides it. */
void metrics_kafka_lag(struct metrics *m, const char *topic, int32_t partition, int64_t lag);
/* Ends a report: from now on exactly the partitions set since the last call are shown. */
void metrics_kafka_lag_done(struct metrics *m);

/* ---- rendering -------------------------------------------------------------------------- */
/* Gauges read from their owners when scraped. */
struct metrics_sample {
	int64_t now_us;                  /* Unix µs: checkpoint age */
	size_t writer_queue_depth;       /* events queued or in flight (writer_depth) */
	bool postgres_up;                /* writer_ready */
	int64_t writer_heartbeat_age_us; /* writer_heartbeat_age_us */
	bool kafka_on;
	size_t kafka_inflight;           /* kafka_ingest_inflight */
};

/* Appends the exposition text to out; 0 or -ENOMEM. */
int metrics_render(const struct metrics *m, const struct metrics_sample *s, struct buf *out);

/* The histograms' upper bounds (le), exposed for tests: latencies in µs, batches in events. A
 * value v falls in the first bucket whose bound is >= v, or in +Inf (index n). */
extern const uint64_t metrics_latency_bounds_us[];
extern const size_t metrics_latency_bounds_n;
extern const uint64_t metrics_batch_bounds[];
extern const size_t metrics_batch_bounds_n;
size_t metrics_bucket_index(const uint64_t *bounds, size_t n, uint64_t v);

#endif
