/* PostgreSQL one-dimensional arrays in binary form, for parameters of INSERT ... SELECT FROM
 * unnest($1::type[], ...): a whole batch of rows in one statement, without COPY (which pipeline
 * mode does not allow). Layout (array_recv): ndim, flags, element type OID, then per dimension
 * its length and lower bound, then per element a 4-byte length (-1: NULL) and its bytes. */
#include "store/pgarray.h"

#include <string.h>

#define HEADER_LEN 20 /* ndim, flags, elemtype, dim, lbound */

static void put32(struct pg_array *a, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	if (buf_append(&a->b, x, 4) < 0)
		a->failed = true;
}

static void patch32(struct pg_array *a, size_t at, uint32_t v)
{
	a->b.data[at] = (uint8_t)(v >> 24);
	a->b.data[at + 1] = (uint8_t)(v >> 16);
	a->b.data[at + 2] = (uint8_t)(v >> 8);
	a->b.data[at + 3] = (uint8_t)v;
}

void pg_array_begin(struct pg_array *a, uint32_t elem_oid)
{
	memset(a, 0, sizeof(*a));
	put32(a, 1);
	put32(a, 0);
	put32(a, elem_oid);
	put32(a, 0); /* length, set by pg_array_end */
	put32(a, 1);
}

void pg_array_add(struct pg_array *a, const void *data, size_t len)
{
	put32(a, (uint32_t)len);
	if (len && buf_append(&a->b, data, len) < 0)
		a->failed = true;
	a->n++;
}

void pg_array_null(struct pg_array *a)
{
	put32(a, UINT32_MAX);
	a->n++;
}

void pg_array_int8(struct pg_array *a, int64_t v)
{
	uint8_t x[8];

	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	pg_array_add(a, x, 8);
}

void pg_array_int2(struct pg_array *a, int16_t v)
{
	uint8_t x[2] = { (uint8_t)((uint16_t)v >> 8), (uint8_t)v };

	pg_array_add(a, x, 2);
}

/* timestamptz: int8 microseconds since 2000-01-01 UTC. */
void pg_array_timestamptz(struct pg_array *a, int64_t unix_us)
{
	pg_array_int8(a, unix_us - 946684800000000LL);
}

void pg_array_bool(struct pg_array *a, bool v)
{
	uint8_t x = v;

	pg_array_add(a, &x, 1);
}

void pg_array_date(struct pg_array *a, int64_t unix_day)
{
	uint32_t d = (uint32_t)(int32_t)(unix_day - 10957); /* days since 2000-01-01 */
	uint8_t x[4] = { (uint8_t)(d >> 24), (uint8_t)(d >> 16), (uint8_t)(d >> 8), (uint8_t)d };

	pg_array_add(a, x, 4);
}

void pg_array_text(struct pg_array *a, const char *s)
{
	pg_array_add(a, s, strlen(s));
}

void pg_array_jsonb(struct pg_array *a, const char *json)
{
	size_t n = strlen(json);

	put32(a, (uint32_t)(n + 1));
	if (buf_append_u8(&a->b, 1) < 0 || buf_append(&a->b, json, n) < 0)
		a->failed = true;
	a->n++;
}

int pg_array_end(struct pg_array *a)
{
	if (a->failed || a->b.len < HEADER_LEN)
		return -ENOMEM;
	patch32(a, 12, (uint32_t)a->n);
	return 0;
}

void pg_array_free(struct pg_array *a)
{
	buf_free(&a->b);
}
