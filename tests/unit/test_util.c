/* Unit tests for src/util: buffers, hex, base64, UUIDs, RFC 3339 time, civil dates and secret
 * files. */
#include "util/util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- hex ---------------------------------------------------------------------------------- */

START_TEST(hex_round_trip)
{
	uint8_t in[256], out[256];
	char text[2 * sizeof(in) + 1];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	hex_encode(in, sizeof(in), text);
	ck_assert_uint_eq(strlen(text), 2 * sizeof(in));
	ck_assert(!strncmp(text, "000102", 6));
	ck_assert_str_eq(text + 2 * 250, "fafbfcfdfeff");
	ck_assert_int_eq(hex_decode(text, strlen(text), out, sizeof(out)), 0);
	ck_assert_mem_eq(in, out, sizeof(in));

	hex_encode(in, 0, text);
	ck_assert_str_eq(text, "");
	ck_assert_int_eq(hex_decode("DEADbeef", 8, out, 4), 0);
	ck_assert_mem_eq(out, "\xde\xad\xbe\xef", 4);
}
END_TEST

START_TEST(hex_bad_input)
{
	uint8_t out[4];

	ck_assert_int_eq(hex_decode("abc", 3, out, 2), -EINVAL);       /* odd length */
	ck_assert_int_eq(hex_decode("abcd", 4, out, 1), -EINVAL);      /* too long for out */
	ck_assert_int_eq(hex_decode("ab", 2, out, 2), -EINVAL);        /* too short for out */
	ck_assert_int_eq(hex_decode("abgd", 4, out, 2), -EINVAL);      /* not a digit */
	ck_assert_int_eq(hex_decode("ab d", 4, out, 2), -EINVAL);
	ck_assert_int_eq(hex_decode("0x12", 4, out, 2), -EINVAL);
	ck_assert_int_eq(hex_decode("ab\0d", 4, out, 2), -EINVAL);
}
END_TEST

/* ---- base64 ------------------------------------------------------------------------------- */

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *b64;
} b64_vectors[] = {
	{ "", "" },	    { "f", "Zg==" },	     { "fo", "Zm8=" },	       { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

START_TEST(b64_rfc4648_vectors)
{
	for (size_t i = 0; i < ARRAY_SIZE(b64_vectors); i++) {
		const char *plain = b64_vectors[i].plain, *b64 = b64_vectors[i].b64;
		char *enc = b64_encode((const uint8_t *)plain, strlen(plain));
		uint8_t out[16];

		ck_assert_ptr_nonnull(enc);
		ck_assert_str_eq(enc, b64);
		free(enc);
		ck_assert_int_eq(b64_decode(b64, strlen(b64), out, sizeof(out)),
				 (int)strlen(plain));
		ck_assert_mem_eq(out, plain, strlen(plain));
		/* exactly the decoded length is room enough */
		ck_assert_int_eq(b64_decode(b64, strlen(b64), out, strlen(plain)),
				 (int)strlen(plain));
	}
}
END_TEST

START_TEST(b64_binary_round_trip)
{
	uint8_t in[300], out[300];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(in); len += 37) {
		char *enc = b64_encode(in, len);

		ck_assert_ptr_nonnull(enc);
		ck_assert_uint_eq(strlen(enc), 4 * ((len + 2) / 3));
		ck_assert_int_eq(b64_decode(enc, strlen(enc), out, sizeof(out)), (int)len);
		ck_assert_mem_eq(in, out, len);
		free(enc);
	}
}
END_TEST

START_TEST(b64_strict)
{
	static const char *const bad[] = {
		"Zg",	    /* no padding */
		"Zg=",	    /* length not a multiple of 4 */
		"Zm9vY",    /* ditto */
		"Z===",	    /* three pad characters */
		"====",	    /* padding only */
		"Zg==Zg==", /* padding in the middle */
		"Zm=v",	    /* '=' inside a group */
		"=Zm9",	    /* '=' first */
		"Zh==",	    /* stray bits under the padding: 'h' = 100001 */
		"Zm9=",	    /* stray bits: '9' = 111101 */
		"Zm9v\n",   /* new line */
		"Zm 9",	    /* space */
		"Zm-_",	    /* base64url alphabet */
		"Zm9v!A==", /* not in the alphabet */
	};
	uint8_t out[16];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(b64_decode(bad[i], strlen(bad[i]), out, sizeof(out)) == -EINVAL,
			      "accepted \"%s\"", bad[i]);
	/* the same groups with zero stray bits are fine */
	ck_assert_int_eq(b64_decode("Zg==", 4, out, sizeof(out)), 1);
	ck_assert_int_eq(b64_decode("Zm8=", 4, out, sizeof(out)), 2);
	/* too small an output buffer */
	ck_assert_int_eq(b64_decode("Zm9vYmFy", 8, out, 5), -EINVAL);
	ck_assert_int_eq(b64_decode("Zm9vYg==", 8, out, 3), -EINVAL);
}
END_TEST

/* ---- UUID --------------------------------------------------------------------------------- */

START_TEST(uuid_parse_format)
{
	static const uint8_t want[UUID_LEN] = { 0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
						0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00 };
	uint8_t u[UUID_LEN];
	char text[UUID_STR_LEN + 1];

	ck_assert_int_eq(uuid_parse("123e4567-e89b-12d3-a456-426614174000", u), 0);
	ck_assert_mem_eq(u, want, UUID_LEN);
	uuid_format(u, text);
	ck_assert_str_eq(text, "123e4567-e89b-12d3-a456-426614174000");
	ck_assert_int_eq(uuid_parse("123E4567-E89B-12D3-A456-426614174000", u), 0);
	ck_assert_mem_eq(u, want, UUID_LEN);
	uuid_format(u, text);
	ck_assert_str_eq(text, "123e4567-e89b-12d3-a456-426614174000");
}
END_TEST

START_TEST(uuid_bad_input)
{
	static const char *const bad[] = {
		"",
		"123e4567e89b12d3a456426614174000",	 /* no dashes */
		"123e4567-e89b-12d3-a456-42661417400",	 /* short */
		"123e4567-e89b-12d3-a456-4266141740000", /* long */
		"123e4567-e89b-12d3-a456_426614174000",	 /* wrong separator */
		"123e456-7e89b-12d3-a456-426614174000",	 /* dash misplaced */
		"123e4567-e89b-12d3-a456-42661417400g",	 /* not hex */
		"{23e4567-e89b-12d3-a456-42661417400}",
	};
	uint8_t u[UUID_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(uuid_parse(bad[i], u) == -EINVAL, "accepted \"%s\"", bad[i]);
}
END_TEST

START_TEST(uuid_random_version)
{
	uint8_t a[UUID_LEN], b[UUID_LEN], back[UUID_LEN];
	char text[UUID_STR_LEN + 1];

	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(uuid_random(a), 0);
		ck_assert_uint_eq(a[6] >> 4, 4);      /* version 4 */
		ck_assert_uint_eq(a[8] >> 6, 2);      /* RFC 4122 variant 10xx */
		uuid_format(a, text);
		ck_assert_int_eq(text[14], '4');
		ck_assert(strchr("89ab", text[19]));
		ck_assert_int_eq(uuid_parse(text, back), 0);
		ck_assert_mem_eq(a, back, UUID_LEN);
	}
	ck_assert_int_eq(uuid_random(b), 0);
	ck_assert(memcmp(a, b, UUID_LEN) != 0);
}
END_TEST

/* ---- RFC 3339 ----------------------------------------------------------------------------- */

static int64_t parse_ok(const char *s)
{
	int64_t us = -1;

	ck_assert_msg(rfc3339_parse(s, &us) == 0, "rejected \"%s\"", s);
	return us;
}

START_TEST(rfc3339_valid)
{
	const int64_t t = INT64_C(1795860900) * 1000000; /* 2026-11-28T10:15:00Z */

	ck_assert_int_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00Z"), t);
	ck_assert_int_eq(parse_ok("2026-11-28t10:15:00z"), t); /* RFC 3339 5.6: case-insensitive */
	ck_assert_int_eq(parse_ok("2026-11-28T11:15:00+01:00"), t);
	ck_assert_int_eq(parse_ok("2026-11-28T04:45:00-05:30"), t);
	ck_assert_int_eq(parse_ok("2026-11-29T00:15:00+14:00"), t);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00+00:00"), t);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00-00:00"), t);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00.5Z"), t + 500000);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00.123Z"), t + 123000);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00.123456Z"), t + 123456);
	ck_assert_int_eq(parse_ok("2026-11-28T10:15:00.1234569Z"), t + 123456); /* truncated */
	ck_assert_int_eq(parse_ok("2026-11-28T11:15:00.25+01:00"), t + 250000);
	ck_assert_int_eq(parse_ok("2024-02-29T12:00:00Z"), INT64_C(1709208000) * 1000000);
	parse_ok("2000-02-29T00:00:00Z"); /* divisible by 400: leap */
	parse_ok("2026-12-31T23:59:59Z");
	/* a leap second is kept as the last representable second */
	ck_assert_int_eq(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2016-12-31T23:59:59Z"));
	ck_assert_int_eq(parse_ok("1969-12-31T23:59:59.5Z"), -500000);
}
END_TEST

START_TEST(rfc3339_invalid)
{
	static const char *const bad[] = {
		"",
		"2026-02-29T00:00:00Z", /* not a leap year */
		"1900-02-29T00:00:00Z", /* divisible by 100, not by 400 */
		"2026-13-01T00:00:00Z", /* month 13 */
		"2026-00-01T00:00:00Z", /* month 0 */
		"2026-04-31T00:00:00Z", /* April has 30 days */
		"2026-01-32T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-11-2810:15:00Z",	     /* missing T */
		"2026-11-28T10:15:00",	     /* missing offset */
		"2026-11-28",		     /* date only */
		"2026-11-28T24:00:00Z",	     /* hour 24 */
		"2026-11-28T10:60:00Z",
		"2026-11-28T10:15:61Z",
		"2026-11-28T10:15Z",	     /* no seconds */
		"2026-11-28T10:15:00.Z",     /* empty fraction */
		"2026-11-28T10:15:00+0100",  /* offset without colon */
		"2026-11-28T10:15:00+24:00", /* offset hour 24 */
		"2026-11-28T10:15:00+01:60",
		"2026-11-28T10:15:00Z ", /* trailing space */
		"2026-11-28T10:15:00ZZ",
		"26-11-28T10:15:00Z",
		"2026/11/28T10:15:00Z",
		"+2026-11-28T10:15:00Z",
		"0000-01-01T00:00:00+00:01", /* before year 0000 once the offset is applied */
		"9999-12-31T23:59:59-00:01", /* after year 9999 once the offset is applied */
	};
	int64_t us;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(rfc3339_parse(bad[i], &us) == -EINVAL, "accepted \"%s\"", bad[i]);
	/* the extremes themselves are fine */
	ck_assert_int_eq(rfc3339_parse("0000-01-01T00:00:00Z", &us), 0);
	ck_assert_int_eq(us, RFC3339_MIN_US);
	ck_assert_int_eq(rfc3339_parse("9999-12-31T23:59:59.999999Z", &us), 0);
	ck_assert_int_eq(us, RFC3339_MAX_US);
}
END_TEST

START_TEST(rfc3339_format_round_trip)
{
	static const int64_t values[] = {
		0,
		1,
		999999,
		1000000,
		INT64_C(1795860900) * 1000000,
		INT64_C(1795860900) * 1000000 + 123456,
		INT64_C(1709208000) * 1000000 + 1,
		INT64_C(253402300799) * 1000000 + 999999, /* 9999-12-31T23:59:59.999999Z */
		-1,
		-INT64_C(86400) * 1000000,
	};
	char text[40];

	rfc3339_format(0, text, sizeof(text));
	ck_assert_str_eq(text, "1970-01-01T00:00:00Z");
	rfc3339_format(INT64_C(1795860900) * 1000000 + 123456, text, sizeof(text));
	ck_assert_str_eq(text, "2026-11-28T10:15:00.123456Z");
	rfc3339_format(1, text, sizeof(text));
	ck_assert_str_eq(text, "1970-01-01T00:00:00.000001Z");
	rfc3339_format(-1, text, sizeof(text));
	ck_assert_str_eq(text, "1969-12-31T23:59:59.999999Z");
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		rfc3339_format(values[i], text, sizeof(text));
		ck_assert_msg(parse_ok(text) == values[i], "%s", text);
	}
	for (int64_t us = -3 * INT64_C(86400000000); us < INT64_C(4102444800000000);
	     us += INT64_C(7777777777777)) {
		rfc3339_format(us, text, sizeof(text));
		ck_assert_msg(parse_ok(text) == us, "%s", text);
	}
}
END_TEST

/* ---- civil dates -------------------------------------------------------------------------- */

START_TEST(civil_known_days)
{
	int64_t y;
	unsigned m, d;

	ck_assert_int_eq(days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(days_from_civil(1969, 12, 31), -1);
	ck_assert_int_eq(days_from_civil(2000, 3, 1), 11017);
	ck_assert_int_eq(days_from_civil(2026, 11, 29), 20786);
	ck_assert_int_eq(days_from_civil(1, 1, 1), -719162);
	ck_assert_int_eq(days_from_civil(9999, 12, 31), 2932896);
	civil_from_days(20786, &y, &m, &d);
	ck_assert_int_eq(y, 2026);
	ck_assert_uint_eq(m, 11);
	ck_assert_uint_eq(d, 29);
	civil_from_days(-1, &y, &m, &d);
	ck_assert_int_eq(y, 1969);
	ck_assert_uint_eq(m, 12);
	ck_assert_uint_eq(d, 31);
}
END_TEST

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Every day from year -400 to 4000 maps back to itself and follows the previous day. (Plain
 * comparisons in the loop: a Check assertion per day would take too long.) */
START_TEST(civil_round_trip)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t first = days_from_civil(-400, 1, 1), last = days_from_civil(4000, 12, 31);
	int64_t py, y;
	unsigned pm, pd, m, d;

	civil_from_days(first - 1, &py, &pm, &pd);
	ck_assert_int_eq(py, -401);
	ck_assert_int_eq(last - first + 1, 11 * 146097 + 366); /* 11 cycles + year 4000 */
	for (int64_t z = first; z <= last; z++) {
		bool month_end = pd == mdays[pm - 1] + (pm == 2 && is_leap(py));
		int64_t want_y = month_end && pm == 12 ? py + 1 : py;
		unsigned want_m = month_end ? pm % 12 + 1 : pm, want_d = month_end ? 1 : pd + 1;

		civil_from_days(z, &y, &m, &d);
		if (days_from_civil(y, m, d) != z || y != want_y || m != want_m || d != want_d)
			ck_abort_msg("day %lld: %lld-%u-%u", (long long)z, (long long)y, m, d);
		py = y;
		pm = m;
		pd = d;
	}
}
END_TEST

/* ---- secret files ------------------------------------------------------------------------- */

static char tmpdir[64];

static void tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/consentd-test-util-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

START_TEST(secretfile_modes)
{
	char path[128], err[256] = "";
	uint8_t out[64];

	snprintf(path, sizeof(path), "%s/key", tmpdir);
	write_file(path, "s3cret\n", 0640);
	ck_assert_int_eq(secretfile_read(path, out, sizeof(out), err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(secretfile_read(path, out, sizeof(out), err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(secretfile_read(path, out, sizeof(out), err, sizeof(err)), 7);
	ck_assert_mem_eq(out, "s3cret\n", 7);
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(secretfile_read(path, out, sizeof(out), err, sizeof(err)), 7);
}
END_TEST

START_TEST(secretfile_limits)
{
	char path[128], link[128], err[256] = "";
	uint8_t out[8];

	snprintf(path, sizeof(path), "%s/key", tmpdir);
	write_file(path, "12345678", 0600);
	ck_assert_int_eq(secretfile_read(path, out, 8, err, sizeof(err)), 8); /* exactly fits */
	ck_assert_mem_eq(out, "12345678", 8);
	ck_assert_int_eq(secretfile_read(path, out, 7, err, sizeof(err)), -EFBIG);
	write_file(path, "", 0600);
	ck_assert_int_eq(secretfile_read(path, out, 8, err, sizeof(err)), 0);

	snprintf(link, sizeof(link), "%s/missing", tmpdir);
	ck_assert_int_eq(secretfile_read(link, out, 8, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, link));
	ck_assert_int_eq(secretfile_read(tmpdir, out, 8, err, sizeof(err)) < 0, 1); /* directory */
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(secretfile_read(link, out, 8, err, sizeof(err)), -ELOOP); /* O_NOFOLLOW */
}
END_TEST

/* ---- buf ---------------------------------------------------------------------------------- */

START_TEST(buf_growth)
{
	struct buf b = { 0 };
	uint8_t chunk[100];

	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	for (int i = 0; i < 1000; i++) {
		size_t cap = b.cap;

		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
		ck_assert_uint_le(b.len, b.cap);
		if (b.cap != cap) /* grows by doubling from 256, not byte by byte */
			ck_assert_uint_eq(b.cap, cap ? 2 * cap : 256);
	}
	ck_assert_uint_eq(b.len, 100000);
	for (size_t i = 0; i < b.len; i++)
		ck_assert_uint_eq(b.data[i], i % 100);
	ck_assert_int_eq(buf_append(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), -ENOMEM);

	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_ge(b.cap, 100000);
	ck_assert_int_eq(buf_reserve(&b, 1000000), 0);
	ck_assert_uint_ge(b.cap, 1000000);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len + b.cap, 0);
	buf_free(&b);
	buf_free(NULL);
}
END_TEST

START_TEST(buf_encodings)
{
	struct buf b = { 0 };
	char big[1000];

	ck_assert_int_eq(buf_append_u8(&b, 0xab), 0);
	ck_assert_int_eq(buf_append_be16(&b, 0x0102), 0);
	ck_assert_int_eq(buf_append_be32(&b, 0x03040506), 0);
	ck_assert_int_eq(buf_append_be64(&b, UINT64_C(0x0708090a0b0c0d0e)), 0);
	ck_assert_uint_eq(b.len, 15);
	ck_assert_mem_eq(b.data, "\xab\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e",
			 15);

	buf_reset(&b);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "n", 42), 0);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, "n=42", 4);
	ck_assert_int_eq(b.data[b.len], '\0'); /* terminated, though len excludes it */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "[%s]", big), 0);
	ck_assert_uint_eq(b.len, 4 + 1001);
	ck_assert_int_eq(b.data[4], '[');
	ck_assert_int_eq(b.data[b.len - 1], ']');
	buf_free(&b);
}
END_TEST

START_TEST(ct_equal_works)
{
	ck_assert(ct_equal("abcd", "abcd", 4));
	ck_assert(!ct_equal("abcd", "abce", 4));
	ck_assert(ct_equal("a", "b", 0));
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("pure");
	TCase *files = tcase_create("secretfile");

	tcase_add_test(tc, hex_round_trip);
	tcase_add_test(tc, hex_bad_input);
	tcase_add_test(tc, b64_rfc4648_vectors);
	tcase_add_test(tc, b64_binary_round_trip);
	tcase_add_test(tc, b64_strict);
	tcase_add_test(tc, uuid_parse_format);
	tcase_add_test(tc, uuid_bad_input);
	tcase_add_test(tc, uuid_random_version);
	tcase_add_test(tc, rfc3339_valid);
	tcase_add_test(tc, rfc3339_invalid);
	tcase_add_test(tc, rfc3339_format_round_trip);
	tcase_add_test(tc, civil_known_days);
	tcase_add_test(tc, civil_round_trip);
	tcase_add_test(tc, buf_growth);
	tcase_add_test(tc, buf_encodings);
	tcase_add_test(tc, ct_equal_works);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(files, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(files, secretfile_modes);
	tcase_add_test(files, secretfile_limits);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
