/* Unit tests for src/log: both line formats, escaping, level filtering, reopening, concurrent
 * writers. Each test runs in its own process (Check's fork mode), so log state starts fresh. */
#include "log/log.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64], logpath[128];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/consentd-test-log-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(logpath, sizeof(logpath), "%s/consentd.log", tmpdir);
}

static void teardown(void)
{
	char cmd[128];

	log_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* The whole file, NUL-terminated; the caller frees it. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	char *data;
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	data = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(data);
	n = fread(data, 1, (size_t)st.st_size, f);
	ck_assert_uint_eq(n, (size_t)st.st_size);
	data[n] = '\0';
	fclose(f);
	return data;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "\"%s\" does not match %s", text,
		      pattern);
	regfree(&re);
}

#define FFFD "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
#define TS_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"

START_TEST(parse_names)
{
	enum log_level level;
	enum log_format format;

	ck_assert_int_eq(log_level_parse("error", &level), 0);
	ck_assert_int_eq(level, LOG_LEVEL_ERROR);
	ck_assert_int_eq(log_level_parse("warn", &level), 0);
	ck_assert_int_eq(level, LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("info", &level), 0);
	ck_assert_int_eq(level, LOG_LEVEL_INFO);
	ck_assert_int_eq(log_level_parse("debug", &level), 0);
	ck_assert_int_eq(level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("warning", &level), -EINVAL);
	ck_assert_int_eq(log_level_parse("INFO", &level), -EINVAL);
	ck_assert_int_eq(log_level_parse("", &level), -EINVAL);
	ck_assert_int_eq(log_format_parse("logfmt", &format), 0);
	ck_assert_int_eq(format, LOG_FORMAT_LOGFMT);
	ck_assert_int_eq(log_format_parse("json", &format), 0);
	ck_assert_int_eq(format, LOG_FORMAT_JSON);
	ck_assert_int_eq(log_format_parse("text", &format), -EINVAL);
}
END_TEST

START_TEST(logfmt_line)
{
	char *out;
	int line;

	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	line = __LINE__ + 1;
	log_info("http", "listening on %s:%d", "127.0.0.1", 8080);
	log_msg(LOG_LEVEL_WARN, "ingest", "../src/ingest/http.c", 120,
		"request_id=r1 peer=10.0.0.1:5", "slow \"client\"");
	log_msg(LOG_LEVEL_ERROR, "store", "/build/consentd/src/store/writer.c", 7, "", "x");
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 3);
	assert_matches(out, "^ts=" TS_RE " level=info subsys=http src=tests/unit/test_log.c:[0-9]+ "
			    "msg=\"listening on 127.0.0.1:8080\"\n");
	ck_assert_ptr_nonnull(strstr(out, "test_log.c:"));
	{
		char want[64];

		snprintf(want, sizeof(want), "test_log.c:%d msg=", line);
		ck_assert_ptr_nonnull(strstr(out, want));
	}
	assert_matches(out, "\nts=" TS_RE " level=warn subsys=ingest src=ingest/http.c:120 "
			    "request_id=r1 peer=10.0.0.1:5 msg=\"slow \\\\\"client\\\\\"\"\n");
	assert_matches(out,
		       "\nts=" TS_RE " level=error subsys=store src=store/writer.c:7 msg=\"x\"\n$");
	free(out);
}
END_TEST

START_TEST(logfmt_escaping)
{
	char *out;

	ck_assert_int_eq(log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_LOGFMT, logpath), 0);
	log_info("t",
		 "a \"quoted\" back\\slash\nnew line\r\ttab \x01 \x7f caf\xc3\xa9 bad\xff end");
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 1); /* the new line did not split the record */
	ck_assert_ptr_nonnull(strstr(out, " msg=\"a \\\"quoted\\\" back\\\\slash\\nnew "
					  "line\\r\\ttab \\x01 \\x7f caf\xc3\xa9 "
					  "bad\\xff end\"\n"));
	free(out);
}
END_TEST

START_TEST(json_line)
{
	char *out, *nl;
	json_t *obj;
	json_error_t jerr;

	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON, logpath), 0);
	log_msg(LOG_LEVEL_ERROR, "ingest", "../src/ingest/http.c", 120, "request_id=\"r1\" peer=a",
		"bad \"event\" \\ at\nline 2\t\x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
		"bad\xff\xc0\xaf\xed\xa0\x80 end");
	log_info("http", "plain");
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 2);
	nl = strchr(out, '\n');
	*nl = '\0';
	obj = json_loads(out, 0, &jerr); /* jansson rejects invalid UTF-8 */
	ck_assert_msg(obj != NULL, "%s: %s", jerr.text, out);
	ck_assert_uint_eq(json_object_size(obj), 6);
	assert_matches(json_string_value(json_object_get(obj, "ts")), "^" TS_RE "$");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "level")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "subsys")), "ingest");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "src")), "ingest/http.c:120");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "ctx")),
			 "request_id=\"r1\" peer=a");
	ck_assert_str_eq(json_string_value(json_object_get(obj, "msg")),
			 "bad \"event\" \\ at\nline 2\t\x01 caf\xc3\xa9 \xe2\x82\xac "
			 "\xf0\x9f\x98\x80 bad" FFFD FFFD FFFD FFFD FFFD FFFD " end");
	json_decref(obj);
	/* no ctx: no "ctx" member, and keys in the documented order */
	assert_matches(nl + 1, "^\\{\"ts\":\"" TS_RE "\",\"level\":\"info\",\"subsys\":\"http\","
			       "\"src\":\"tests/unit/test_log.c:[0-9]+\",\"msg\":\"plain\"\\}\n$");
	free(out);
}
END_TEST

START_TEST(level_filter)
{
	char *out;

	ck_assert_int_eq(log_setup(LOG_LEVEL_WARN, LOG_FORMAT_LOGFMT, logpath), 0);
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_WARN);
	log_debug("t", "debug");
	log_info("t", "info");
	log_warn("t", "warn");
	log_error("t", "error");
	log_ev_info("t", "k=v", "ev info");
	log_ev_warn("t", "k=v", "ev warn");
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 3);
	ck_assert_ptr_null(strstr(out, "msg=\"debug\""));
	ck_assert_ptr_null(strstr(out, "msg=\"info\""));
	ck_assert_ptr_nonnull(strstr(out, "level=warn subsys=t"));
	ck_assert_ptr_nonnull(strstr(out, "level=error subsys=t"));
	ck_assert_ptr_nonnull(strstr(out, " k=v msg=\"ev warn\""));
	free(out);

	ck_assert_int_eq(log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_LOGFMT, logpath), 0);
	log_debug("t", "debug");
	out = slurp(logpath);
	ck_assert_ptr_nonnull(strstr(out, "level=debug subsys=t"));
	free(out);
}
END_TEST

START_TEST(long_message)
{
	static char big[100000];
	char *out;

	memset(big, 'y', sizeof(big) - 1);
	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	log_info("t", "<%s>", big);
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "msg=\"<yyyy"));
	ck_assert_ptr_nonnull(strstr(out, "yyyy>\"\n"));
	ck_assert_uint_gt(strlen(out), sizeof(big));
	free(out);
}
END_TEST

START_TEST(preserves_errno)
{
	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	errno = EPIPE;
	log_info("t", "%s", strerror(errno));
	ck_assert_int_eq(errno, EPIPE);
	log_debug("t", "filtered");
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

START_TEST(reopen)
{
	char rotated[160], *out;

	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	log_info("t", "before");
	snprintf(rotated, sizeof(rotated), "%s.1", logpath);
	ck_assert_int_eq(rename(logpath, rotated), 0);
	log_info("t", "after rename"); /* still the old file until reopened */
	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON, logpath), 0);
	log_info("t", "after reopen");

	out = slurp(rotated);
	ck_assert_uint_eq(count_lines(out), 2);
	ck_assert_ptr_nonnull(strstr(out, "msg=\"before\""));
	ck_assert_ptr_nonnull(strstr(out, "msg=\"after rename\""));
	free(out);
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "\"msg\":\"after reopen\""));
	free(out);
}
END_TEST

START_TEST(failed_open_keeps_destination)
{
	char bad[160], *out;

	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	snprintf(bad, sizeof(bad), "%s/no/such/dir.log", tmpdir);
	ck_assert_int_eq(log_setup(LOG_LEVEL_DEBUG, LOG_FORMAT_JSON, bad), -ENOENT);
	ck_assert_int_eq(log_get_level(), LOG_LEVEL_INFO); /* nothing changed */
	log_info("t", "still here");
	log_debug("t", "filtered");
	out = slurp(logpath);
	assert_matches(out, "^ts=" TS_RE " level=info subsys=t "); /* still logfmt */
	ck_assert_uint_eq(count_lines(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "msg=\"still here\""));
	free(out);
}
END_TEST

START_TEST(stderr_destination)
{
	char *out;
	int saved = dup(STDERR_FILENO);
	FILE *f = fopen(logpath, "w");

	/* point fd 2 at a file to capture what goes to "stderr" */
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, "-"), 0);
	log_info("t", "to stderr");
	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, NULL), 0);
	log_info("t", "again");
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	fclose(f);
	out = slurp(logpath);
	ck_assert_uint_eq(count_lines(out), 2);
	ck_assert_ptr_nonnull(strstr(out, "msg=\"to stderr\""));
	free(out);
}
END_TEST

/* Records from many threads come out whole, one per line, while the file is being reopened. */
#define THREADS 8
#define PER_THREAD 2000

static void *writer(void *arg)
{
	for (int i = 0; i < PER_THREAD; i++)
		log_ev_info("thr", "worker=x", "thread %ld record %d %s", (long)(intptr_t)arg, i,
			    "padding padding padding padding padding padding padding padding");
	return NULL;
}

START_TEST(concurrent_writers)
{
	pthread_t th[THREADS];
	char *out, *line, *save = NULL;
	size_t n = 0;

	ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	for (intptr_t i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer, (void *)i), 0);
	for (int i = 0; i < 20; i++) /* reopening the same path must not lose or split records */
		ck_assert_int_eq(log_setup(LOG_LEVEL_INFO, LOG_FORMAT_LOGFMT, logpath), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	out = slurp(logpath);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		if (strncmp(line, "ts=", 3) || !strstr(line, " worker=x msg=\"thread ") ||
		    !strstr(line, " padding\"") || strstr(line + 3, "ts="))
			ck_abort_msg("mangled line: %s", line);
	}
	ck_assert_uint_eq(n, THREADS * PER_THREAD);
	free(out);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_names);
	tcase_add_test(tc, logfmt_line);
	tcase_add_test(tc, logfmt_escaping);
	tcase_add_test(tc, json_line);
	tcase_add_test(tc, level_filter);
	tcase_add_test(tc, long_message);
	tcase_add_test(tc, preserves_errno);
	tcase_add_test(tc, reopen);
	tcase_add_test(tc, failed_open_keeps_destination);
	tcase_add_test(tc, stderr_destination);
	tcase_add_test(tc, concurrent_writers);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
