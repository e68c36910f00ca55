/* Binary array parameters (store/pgarray.c): the exact bytes array_recv expects, NULL elements,
 * and the element count patched in at the end. The server side is covered by the integration
 * suites, whose projections are written with these arrays. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgarray.h"

static const uint8_t int8_array[] = {
	0, 0, 0, 1,            /* ndim */
	0, 0, 0, 0,            /* flags */
	0, 0, 0, 20,           /* int8 */
	0, 0, 0, 3,            /* length */
	0, 0, 0, 1,            /* lower bound */
	0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,
	0xff, 0xff, 0xff, 0xff, /* NULL */
	0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
};

START_TEST(test_int8_with_null)
{
	struct pg_array a;

	pg_array_begin(&a, PG_OID_INT8);
	pg_array_int8(&a, 1);
	pg_array_null(&a);
	pg_array_int8(&a, -2);
	ck_assert_int_eq(pg_array_end(&a), 0);
	ck_assert_int_eq(a.b.len, sizeof(int8_array));
	ck_assert_mem_eq(a.b.data, int8_array, sizeof(int8_array));
	pg_array_free(&a);
}
END_TEST

START_TEST(test_date_text_jsonb_bool)
{
	static const uint8_t date[] = { 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff }; /* 1999-12-31 */
	static const uint8_t text[] = { 0, 0, 0, 2, 'h', 'i' };
	static const uint8_t jsonb[] = { 0, 0, 0, 3, 1, '{', '}' };
	static const uint8_t boolean[] = { 0, 0, 0, 1, 1 };
	struct pg_array d, t, j, b;

	pg_array_begin(&d, PG_OID_DATE);
	pg_array_date(&d, 10956);
	pg_array_begin(&t, PG_OID_TEXT);
	pg_array_text(&t, "hi");
	pg_array_begin(&j, PG_OID_JSONB);
	pg_array_jsonb(&j, "{}");
	pg_array_begin(&b, PG_OID_BOOL);
	pg_array_bool(&b, true);
	ck_assert_int_eq(pg_array_end(&d) | pg_array_end(&t) | pg_array_end(&j) | pg_array_end(&b), 0);
	ck_assert_mem_eq(d.b.data + 20, date, sizeof(date));
	ck_assert_mem_eq(t.b.data + 20, text, sizeof(text));
	ck_assert_mem_eq(j.b.data + 20, jsonb, sizeof(jsonb));
	ck_assert_mem_eq(b.b.data + 20, boolean, sizeof(boolean));
	ck_assert_int_eq(j.b.data[11], PG_OID_JSONB & 0xff);
	ck_assert_int_eq(j.b.data[10], PG_OID_JSONB >> 8);
	pg_array_free(&d);
	pg_array_free(&t);
	pg_array_free(&j);
	pg_array_free(&b);
}
END_TEST

START_TEST(test_int2_and_timestamptz)
{
	static const uint8_t int2[] = { 0, 0, 0, 2, 0x01, 0x02 };
	/* 2000-01-01T00:00:01Z: one second after PostgreSQL's epoch */
	static const uint8_t ts[] = { 0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40 };
	struct pg_array a, t;

	pg_array_begin(&a, PG_OID_INT2);
	pg_array_int2(&a, 0x0102);
	pg_array_begin(&t, PG_OID_TIMESTAMPTZ);
	pg_array_timestamptz(&t, 946684801000000LL);
	ck_assert_int_eq(pg_array_end(&a) | pg_array_end(&t), 0);
	ck_assert_mem_eq(a.b.data + 20, int2, sizeof(int2));
	ck_assert_mem_eq(t.b.data + 20, ts, sizeof(ts));
	pg_array_free(&a);
	pg_array_free(&t);
}
END_TEST

START_TEST(test_empty)
{
	struct pg_array a;

	pg_array_begin(&a, PG_OID_BYTEA);
	ck_assert_int_eq(pg_array_end(&a), 0);
	ck_assert_int_eq(a.b.len, 20);
	ck_assert_int_eq(a.b.data[15], 0);
	pg_array_free(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pgarray");
	TCase *tc = tcase_create("layout");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_int8_with_null);
	tcase_add_test(tc, test_date_text_jsonb_bool);
	tcase_add_test(tc, test_int2_and_timestamptz);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
