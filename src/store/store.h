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
