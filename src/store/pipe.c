/* libpq pipeline mode for the append transaction: statements go out back to back and their
 * results come back in order after one sync, one round trip for the lot. COPY is not allowed in
 * a pipeline, so COPYs stay between pipelines. */
#include "store/store.h"

#include <errno.h>
#include <string.h>

/* Most NULLs tolerated while draining to the sync point: one ends each statement's results. */
#define DRAIN_MAX 4096

static int pipe_error(PGconn *c, const char *what, const char *detail, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, detail && *detail ? detail : PQerrorMessage(c));
	return store_conn_lost(c) ? -ENOTCONN : -EIO;
}

int store_pipe_begin(PGconn *c, char *err, size_t errlen)
{
	int rc = store_stmt_prepare(c, err, errlen);

	if (rc < 0)
		return rc;
	if (!PQenterPipelineMode(c))
		return pipe_error(c, "entering pipeline mode", NULL, err, errlen);
	return 0;
}

int store_pipe_send(PGconn *c, const char *sql, int n, const char *const *values,
		    const int *lengths, const int *formats, int result_format, char *err,
		    size_t errlen)
{
	const char *name = store_stmt_name(c, sql, n);
	int ok = name ? PQsendQueryPrepared(c, name, n, values, lengths, formats, result_format)
		      : PQsendQueryParams(c, sql, n, NULL, values, lengths, formats, result_format);

	if (!ok)
		return pipe_error(c, "sending a statement", NULL, err, errlen);
	return 0;
}

int store_pipe_sync(PGconn *c, char *err, size_t errlen)
{
	if (!PQpipelineSync(c))
		return pipe_error(c, "pipeline sync", NULL, err, errlen);
	return 0;
}

int store_pipe_result(PGconn *c, ExecStatusType want, PGresult **out, char *err, size_t errlen)
{
	PGresult *r = PQgetResult(c), *tail;
	int rc = 0;

	*out = NULL;
	if (!r)
		return pipe_error(c, "reading a result", NULL, err, errlen);
	if (PQresultStatus(r) != want) {
		rc = pipe_error(c, "statement", PQresultStatus(r) == PGRES_PIPELINE_ABORTED
							? "not run: an earlier statement failed"
							: PQresultErrorMessage(r),
				err, errlen);
		if (rc == -ENOTCONN)
			rc = -EIO;
		PQclear(r);
		r = NULL;
	}
	while ((tail = PQgetResult(c))) /* up to the NULL that ends this statement's results */
		PQclear(tail);
	*out = r;
	return rc;
}

int store_pipe_ok(PGconn *c, size_t n, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		PGresult *r;

		rc = store_pipe_result(c, PGRES_COMMAND_OK, &r, err, errlen);
		PQclear(r);
	}
	return rc;
}

int store_pipe_end(PGconn *c, bool synced, int rc, char *err, size_t errlen)
{
	int nulls = 0;

	/* A connection that cannot finish its pipeline is given up (the writer reconnects). */
	if (!synced && !PQpipelineSync(c)) {
		if (rc == 0)
			pipe_error(c, "pipeline sync", NULL, err, errlen);
		return -ENOTCONN;
	}
	while (!store_conn_lost(c) && nulls < DRAIN_MAX) {
		PGresult *r = PQgetResult(c);
		bool sync;

		if (!r) {
			nulls++;
			continue;
		}
		sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(c) || store_conn_lost(c)) {
		if (rc == 0)
			pipe_error(c, "leaving pipeline mode", NULL, err, errlen);
		return -ENOTCONN;
	}
	return rc;
}
