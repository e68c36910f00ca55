/* Per-token rate limit (ingest/http_ratelimit.c): the burst, the refill rate, the wait it
 * reports, separate budgets per token, "0 = off", and long idle times (no overflow). The time
 * is passed in, so nothing here sleeps. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ingest/http.h"

#define SEC INT64_C(1000000)

START_TEST(burst_then_rate)
{
	struct http_ratelimit *rl = http_ratelimit_new(2, 5); /* 2/s, 5 at once */
	int64_t t = 1000 * SEC;

	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(http_ratelimit_take(rl, "a", t), 0);
	/* empty: the next request is half a second away at 2/s */
	ck_assert_int_eq(http_ratelimit_take(rl, "a", t), SEC / 2);
	ck_assert_int_eq(http_ratelimit_take(rl, "a", t + SEC / 4), SEC / 4);
	ck_assert_int_eq(http_ratelimit_take(rl, "a", t + SEC / 2), 0);
	ck_assert_int_gt(http_ratelimit_take(rl, "a", t + SEC / 2), 0);
	/* a refused request takes nothing: one second later two are available, not fewer */
	ck_assert_int_eq(http_ratelimit_take(rl, "a", t + 3 * SEC / 2), 0);
	ck_assert_int_eq(http_ratelimit_take(rl, "a", t + 3 * SEC / 2), 0);
	ck_assert_int_gt(http_ratelimit_take(rl, "a", t + 3 * SEC / 2), 0);
	http_ratelimit_free(rl);
}
END_TEST

START_TEST(refill_stops_at_burst)
{
	struct http_ratelimit *rl = http_ratelimit_new(1, 3);
	int64_t t = 0;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(http_ratelimit_take(rl, "a", t), 0);
	/* a day idle (and a year: elapsed * rate must not overflow) refills to 3, not more */
	for (int64_t idle = 86400 * SEC; idle <= 365 * 86400 * SEC; idle *= 365) {
		t += idle;
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(http_ratelimit_take(rl, "a", t), 0);
		ck_assert_int_eq(http_ratelimit_take(rl, "a", t), SEC);
	}
	http_ratelimit_free(rl);
}
END_TEST

START_TEST(per_token_and_defaults)
{
	struct http_ratelimit *rl = http_ratelimit_new(1, 0); /* burst 0: burst = rate */
	struct http_ratelimit *off = http_ratelimit_new(0, 0);

	ck_assert_int_eq(http_ratelimit_take(rl, "a", 0), 0);
	ck_assert_int_eq(http_ratelimit_take(rl, "a", 0), SEC);
	ck_assert_int_eq(http_ratelimit_take(rl, "b", 0), 0); /* b has a budget of its own */
	for (int i = 0; i < 40; i++) { /* more names than the first allocation holds */
		char name[8];

		snprintf(name, sizeof(name), "t%02d", i);
		ck_assert_int_eq(http_ratelimit_take(rl, name, 0), 0);
	}
	ck_assert_int_eq(http_ratelimit_take(rl, "a", 0), SEC);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(http_ratelimit_take(off, "a", 0), 0);
	ck_assert_int_eq(http_ratelimit_take(NULL, "a", 0), 0);
	http_ratelimit_free(rl);
	http_ratelimit_free(off);
	http_ratelimit_free(NULL);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("http_ratelimit");
	TCase *tc = tcase_create("http_ratelimit");

	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, refill_stops_at_burst);
	tcase_add_test(tc, per_token_and_defaults);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
