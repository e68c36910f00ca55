/* GET /metrics: the daemon's metrics in the Prometheus text format, with the gauges that are
 * read from their owners (writer queue, database state, Kafka in flight) sampled now. */
#include "ingest/http.h"

#include "metrics/metrics.h"

void http_metrics_get(struct http_req *r, const char *path)
{
	const struct http_deps *d = http_ingest_deps(r->h);
	struct metrics_sample s = {
		.now_us = now_us(),
		.writer_queue_depth = writer_depth(d->writer),
		.postgres_up = writer_ready(d->writer),
		.writer_heartbeat_age_us = writer_heartbeat_age_us(d->writer),
		.kafka_on = d->kafka != NULL,
		.kafka_inflight = kafka_ingest_inflight(d->kafka),
	};
	struct buf out = { 0 };

	if (!d->metrics)
		reply_error(r, 404, "not_found", "", -1, "no such endpoint");
	else if (metrics_render(d->metrics, &s, &out) < 0)
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
	else
		reply_text(r, 200, METRICS_CONTENT_TYPE, (const char *)out.data, out.len);
	buf_free(&out);
}
