/* One Kafka message -> one writer unit: an event to append, or a rejection to record. The
 * same validation as HTTP; the raw bytes travel along for rejected_event and the DLQ. */
#include "ingest/kafka_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool wants_json(const rd_kafka_message_t *m, bool json_topic)
{
	rd_kafka_headers_t *hdrs = NULL;
	const void *value = NULL;
	size_t size = 0;

	if (json_topic)
		return true;
	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(hdrs, "content-type", &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return false;
	/* "application/json", optionally followed by parameters ("; charset=utf-8") */
	return value && size >= 16 && strncasecmp(value, "application/json", 16) == 0 &&
	       (size == 16 || ((const char *)value)[16] == ';' || ((const char *)value)[16] == ' ');
}

static Consentd__V1__Event *decode_json(const rd_kafka_message_t *m, struct event_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	Consentd__V1__Event *ev;

	if (!root) {
		event_error_set(err, 400, "malformed_json", "", "payload is not JSON: %s", jerr.text);
		return NULL;
	}
	ev = event_from_json(root, err);
	json_decref(root);
	return ev;
}

static Consentd__V1__Event *decode(const rd_kafka_message_t *m, bool json_topic, struct event_error *err)
{
	Consentd__V1__Event *ev;

	if (!m->payload || m->len == 0) {
		event_error_set(err, 400, "empty_message", "", "the message has no payload");
		return NULL;
	}
	if (wants_json(m, json_topic))
		return decode_json(m, err);
	ev = event_decode(m->payload, m->len);
	if (!ev)
		event_error_set(err, 400, "malformed_protobuf", "", "payload is not a consentd.v1.Event");
	return ev;
}

static void set_source(struct writer_unit *u, const rd_kafka_message_t *m)
{
	u->source_kind = "kafka";
	snprintf(u->topic, sizeof(u->topic), "%s", rd_kafka_topic_name(m->rkt));
	u->partition = m->partition;
	u->offset = m->offset;
	u->received_at_us = now_us();
	u->retry = true;
	u->quarantine = true;
}

static struct writer_unit *rejection(const struct event_error *err)
{
	struct writer_unit *u = writer_unit_new(0);

	if (!u)
		return NULL;
	u->n = 0;
	snprintf(u->reject_code, sizeof(u->reject_code), "%s", err->code);
	if (err->field[0] && !strstr(err->message, err->field))
		snprintf(u->reject_message, sizeof(u->reject_message), "%.80s: %.110s", err->field,
			 err->message);
	else
		snprintf(u->reject_message, sizeof(u->reject_message), "%s", err->message);
	return u;
}

struct writer_unit *kafka_unit_from_message(const rd_kafka_message_t *m, bool json_topic,
					    const struct event_policy *pol,
					    const struct subject_keyring *keys)
{
	struct event_error err = { 0 };
	Consentd__V1__Event *ev = decode(m, json_topic, &err);
	struct writer_unit *u = NULL;

	if (ev && event_validate(ev, pol, now_us(), &err) == 0) {
		u = writer_unit_new(1);
		if (u && (event_pseudonymize(ev, keys) < 0 || writer_item_set(&u->items[0], ev) < 0)) {
			writer_unit_free(u);
			u = NULL;
		}
	} else {
		u = rejection(&err);
	}
	event_release(ev);
	if (!u)
		return NULL;
	set_source(u, m);
	u->raw = malloc(m->len ? m->len : 1);
	if (!u->raw) {
		writer_unit_free(u);
		return NULL;
	}
	if (m->len)
		memcpy(u->raw, m->payload, m->len);
	u->raw_len = m->len;
	return u;
}

/* Best effort: the database row is the record; the DLQ is a convenience for producers. */
void kafka_dead_letter(rd_kafka_t *producer, const char *dlq, const struct writer_unit *u)
{
	char partition[16], offset[24];
	const char *code = writer_unit_reject_code(u);
	const char *msg = writer_unit_reject_message(u);
	rd_kafka_resp_err_t err;

	snprintf(partition, sizeof(partition), "%d", u->partition);
	snprintf(offset, sizeof(offset), "%lld", (long long)u->offset);
	err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(dlq),
				RD_KAFKA_V_VALUE((void *)(uintptr_t)u->raw, u->raw_len),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_HEADER("consentd-error-code", code, -1),
				RD_KAFKA_V_HEADER("consentd-error-message", msg, -1),
				RD_KAFKA_V_HEADER("consentd-source-topic", u->topic, -1),
				RD_KAFKA_V_HEADER("consentd-source-partition", partition, -1),
				RD_KAFKA_V_HEADER("consentd-source-offset", offset, -1), RD_KAFKA_V_END);
	if (err)
		log_warn("kafka", "dead-letter copy of %s[%d]@%lld not queued: %s", u->topic, u->partition,
			 (long long)u->offset, rd_kafka_err2str(err));
}
