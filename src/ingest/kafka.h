/* The Kafka source (librdkafka consumer group). Messages become writer units in partition
 * order; an offset is stored for commit only once the transaction holding its message has
 * committed. Undecodable or invalid messages are recorded in rejected_event (same transaction)
 * and copied to the dead-letter topic. librdkafka's queue is watched by the event loop. */
#ifndef CONSENTD_KAFKA_H
#define CONSENTD_KAFKA_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "event/event.h"
#include "store/writer.h"

struct kafka_deps {
	const struct config_kafka *cfg;
	const struct event_policy *policy;
	const struct subject_keyring *keys;
	struct writer *writer;
	struct metrics *metrics; /* may be NULL */
};

struct kafka_ingest;
struct metrics;

/* Creates the consumer (and the dead-letter producer); NULL with err on a bad property. */
struct kafka_ingest *kafka_ingest_new(struct event_base *base, const struct kafka_deps *deps,
				      char *err, size_t errlen);
/* Subscribes to the topics and starts consuming. */
int kafka_ingest_start(struct kafka_ingest *k, char *err, size_t errlen);
/* Drain: stop fetching; messages in flight still complete. */
void kafka_ingest_drain(struct kafka_ingest *k);
/* Messages handed to the writer and not yet back. */
size_t kafka_ingest_inflight(const struct kafka_ingest *k);
/* Brokers reachable (as last reported by librdkafka's statistics). */
bool kafka_ingest_brokers_up(const struct kafka_ingest *k);
/* Produces bytes to a topic with the source's producer (checkpoint publication); best effort. */
int kafka_ingest_publish(struct kafka_ingest *k, const char *topic, const void *data, size_t len);
/* Commits stored offsets, leaves the group, flushes the producer. Accepts NULL. */
void kafka_ingest_free(struct kafka_ingest *k);

#endif
