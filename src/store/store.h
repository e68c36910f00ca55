/* PostgreSQL access with libpq. These calls block: they are made only by the ledger writer
 * thread (which owns its connection), at daemon start-up, and by consentctl. Parameterised
 * statements only. */
#ifndef CONSENTD_STORE_H
#define CONSENTD_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/util.h"

/* The schema version this build needs: the highest migration compiled in. */
int store_schema_expected(void);

/* Connects with a bounded timeout and sets the session up (UTC, application_name). NULL with
 * err filled on failure. */
PGconn *store_connect(const char *conninfo, int64_t timeout_ms, const char *app, char *err,
		      size_t errlen);

/* Reads the applied schema version (0 when never migrated). */
int store_schema_version(PGconn *c, int *version, char *err, size_t errlen);

/* Startup checks for the daemon: schema current, not a superuser role unless allowed. */
int store_check_ready(PGconn *c, bool allow_superuser, char *err, size_t errlen);

/* Applies every migration newer than the database's version, each in its own transaction,
 * under an advisory lock; prints one line per migration to progress. Idempotent. */
int store_migrate(PGconn *c, FILE *progress, char *err, size_t errlen);

/* Runs a statement that returns no rows; -EIO with err on failure. */
int store_exec(PGconn *c, const char *sql, char *err, size_t errlen);

/* True if the connection is gone (the caller should reconnect). */
bool store_conn_lost(PGconn *c);

/* ---- binary COPY rows (copy.c) ------------------------------------------------------------ */
/* ---- pipeline mode (pipe.c) ----------------------------------------------------------------
 * begin; send each statement; sync; for each statement, in order, store_pipe_result; then
 * store_pipe_end, always, with the first error and whether the sync was sent. */
int store_pipe_begin(PGconn *c, char *err, size_t errlen);
int store_pipe_send(PGconn *c, const char *sql, int n, const char *const *values,
		    const int *lengths, const int *formats, int result_format, char *err,
		    size_t errlen);
/* Marks the end of the statements sent: the server answers them all. Results can be read only
 * after it. */
int store_pipe_sync(PGconn *c, char *err, size_t errlen);
/* The next statement's result, which must have status want: 0 with *out (the caller clears it),
 * or -EIO with err (also for a statement not run because an earlier one failed). */
int store_pipe_result(PGconn *c, ExecStatusType want, PGresult **out, char *err, size_t errlen);
/* The next n results, each of a command (INSERT, UPDATE, COMMIT ...) that must have succeeded. */
int store_pipe_ok(PGconn *c, size_t n, char *err, size_t errlen);
/* Reads what is left up to the sync point and leaves pipeline mode. Returns rc, or -ENOTCONN if
 * the connection is lost (err set if rc was 0). */
int store_pipe_end(PGconn *c, bool synced, int rc, char *err, size_t errlen);

/* ---- prepared statements (stmt.c) ----------------------------------------------------------
 * For a connection that runs the same statements in every transaction. After store_stmt_cache,
 * a statement store_pipe_send sends as text is prepared at the next store_pipe_begin (once per
 * connection) and sent prepared from then on: not parsed or planned again. The cache belongs to
 * the connection and is freed by PQfinish. */
int store_stmt_cache(PGconn *c, char *err, size_t errlen);
/* The prepared name of sql, or NULL (then it is remembered, to be prepared). */
const char *store_stmt_name(PGconn *c, const char *sql, int nparams);
/* Prepares what was remembered; outside pipeline mode. */
int store_stmt_prepare(PGconn *c, char *err, size_t errlen);

void copy_begin(struct buf *b);
void copy_row(struct buf *b, uint16_t nfields);
void copy_int2(struct buf *b, int16_t v);
void copy_int8(struct buf *b, int64_t v);
void copy_bytes(struct buf *b, const void *data, size_t len);
void copy_timestamptz(struct buf *b, int64_t unix_us);
void copy_end(struct buf *b);
/* Sends "COPY ... FROM STDIN (FORMAT binary)" with the buffer's rows. */
int copy_send(PGconn *c, const char *copy_sql, const struct buf *b, char *err, size_t errlen);
/* True if a buffer operation above failed to allocate; checked once before sending. */
bool copy_failed(const struct buf *b);

/* Big-endian int8 from a binary result field. */
int64_t store_get_int8(const PGresult *r, int row, int col);

#endif
