/* Private to ingest/kafka*.c. */
#ifndef CONSENTD_KAFKA_INTERNAL_H
#define CONSENTD_KAFKA_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>

#include "ingest/kafka.h"
#include "log/log.h"

/* NULL only when memory runs out; a bad message gives a rejection unit, never NULL. */
struct writer_unit *kafka_unit_from_message(const rd_kafka_message_t *m, bool json_topic,
					    const struct event_policy *pol,
					    const struct subject_keyring *keys);
void kafka_dead_letter(rd_kafka_t *producer, const char *dlq, const struct writer_unit *u);

#endif
