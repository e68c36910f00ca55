/* PostgreSQL binary COPY encoding: the fastest way libpq offers to load a batch of rows. */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Microseconds between the Unix epoch and PostgreSQL's epoch, 2000-01-01. */
#define PG_EPOCH_OFFSET_US 946684800000000LL

/* A buffer whose append failed is poisoned by dropping its data; copy_failed() reports it. */
static void put(struct buf *b, const void *data, size_t len)
{
	if (b->cap == SIZE_MAX)
		return;
	if (buf_append(b, data, len) < 0) {
		buf_free(b);
		b->cap = SIZE_MAX;
	}
}

static void put_be(struct buf *b, uint64_t v, int bytes)
{
	uint8_t x[8];

	for (int i = 0; i < bytes; i++)
		x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(b, x, (size_t)bytes);
}

bool copy_failed(const struct buf *b)
{
	return b->cap == SIZE_MAX;
}

void copy_begin(struct buf *b)
{
	static const uint8_t sig[] = { 'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0 };

	put(b, sig, sizeof(sig));
	put_be(b, 0, 4); /* flags */
	put_be(b, 0, 4); /* header extension length */
}

void copy_row(struct buf *b, uint16_t nfields)
{
	put_be(b, nfields, 2);
}

void copy_int2(struct buf *b, int16_t v)
{
	put_be(b, 2, 4);
	put_be(b, (uint16_t)v, 2);
}

void copy_int8(struct buf *b, int64_t v)
{
	put_be(b, 8, 4);
	put_be(b, (uint64_t)v, 8);
}

void copy_bytes(struct buf *b, const void *data, size_t len)
{
	put_be(b, (uint32_t)len, 4);
	put(b, data, len);
}

void copy_timestamptz(struct buf *b, int64_t unix_us)
{
	copy_int8(b, unix_us - PG_EPOCH_OFFSET_US);
}

void copy_end(struct buf *b)
{
	put_be(b, 0xffff, 2);
}

int copy_send(PGconn *c, const char *copy_sql, const struct buf *b, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, copy_sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		PQclear(r);
		return -EIO;
	}
	PQclear(r);
	if (PQputCopyData(c, (const char *)b->data, (int)b->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		rc = -EIO;
	}
	while ((r = PQgetResult(c))) {
		if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "%s", PQresultErrorMessage(r));
			rc = -EIO;
		}
		PQclear(r);
	}
	return rc;
}

int64_t store_get_int8(const PGresult *r, int row, int col)
{
	const uint8_t *p = (const uint8_t *)PQgetvalue(r, row, col);
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}
