/* Binary PostgreSQL arrays for statement parameters (see pgarray.c). Build with begin, one add
 * per element, end; pass b.data / b.len as a binary parameter; free. */
#ifndef CONSENTD_PGARRAY_H
#define CONSENTD_PGARRAY_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

/* Element type OIDs (pg_type.oid, fixed in every PostgreSQL). */
#define PG_OID_BOOL 16
#define PG_OID_INT2 21
#define PG_OID_UUID 2950
#define PG_OID_TIMESTAMPTZ 1184
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_TEXT 25
#define PG_OID_DATE 1082
#define PG_OID_JSONB 3802

struct pg_array {
	struct buf b;
	size_t n;    /* elements */
	bool failed; /* an append ran out of memory */
};

void pg_array_begin(struct pg_array *a, uint32_t elem_oid);
void pg_array_add(struct pg_array *a, const void *data, size_t len); /* bytea, or raw bytes */
void pg_array_null(struct pg_array *a);
void pg_array_int8(struct pg_array *a, int64_t v);
void pg_array_int2(struct pg_array *a, int16_t v);
void pg_array_timestamptz(struct pg_array *a, int64_t unix_us);
void pg_array_bool(struct pg_array *a, bool v);
void pg_array_date(struct pg_array *a, int64_t unix_day); /* days since 1970-01-01 */
void pg_array_text(struct pg_array *a, const char *s);
void pg_array_jsonb(struct pg_array *a, const char *json);
/* Sets the element count; -ENOMEM if any append failed. */
int pg_array_end(struct pg_array *a);
void pg_array_free(struct pg_array *a);

#endif
