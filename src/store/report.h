/* Compliance reports read from the projections (sql/004_compliance.sql) and rendered by
 * export/report.h, streaming: one READ ONLY REPEATABLE READ transaction, so that the summary and
 * the rows come from the same snapshot; the small summary first, then the rows through a
 * server-side cursor, STORE_REPORT_FETCH_ROWS per FETCH, rendered into chunks of about
 * STORE_REPORT_CHUNK_BYTES handed to a sink. Memory stays constant whatever the number of rows.
 *
 * Blocking libpq: call from a thread that owns c (consentctl, or a report stream's thread in the
 * daemon), never from the event loop. "Today" is the database's current UTC date. */
#ifndef CONSENTD_STORE_REPORT_H
#define CONSENTD_STORE_REPORT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "export/report.h"
#include "util/util.h"

#define STORE_REPORT_FETCH_ROWS	 500
#define STORE_REPORT_CHUNK_BYTES (64 * 1024)

/* Where the rendered bytes go. write() gets a non-empty chunk and the rows rendered so far; it
 * may keep the bytes by swapping chunk's contents with an empty struct buf of its own. Whatever
 * chunk holds afterwards is reset and reused. Returns 0 to go on, or a negative errno to stop
 * the report (store_report_run then returns it). */
struct store_report_sink {
	int (*write)(struct buf *chunk, uint64_t rows, void *arg);
	void *arg;
};

/*
 * Runs the report q on c. q is resolved in place against today's date (report_query_resolve);
 * *today is set to it. Returns 0 once every byte went to the sink, or:
 *   -EDOM  the parameters are out of limits: *field names one, err says why; nothing was written
 *   -EIO   a database error (err says which; the connection may be lost)
 *   -ENOMEM
 *   or what the sink returned.
 * The transaction is always ended (commit or rollback) before returning.
 */
int store_report_run(PGconn *c, struct report_query *q, int64_t *today,
		     const struct store_report_sink *sink, const char **field, char *err,
		     size_t errlen);

#endif
