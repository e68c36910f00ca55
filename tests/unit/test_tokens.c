/* Token store tests: scope text, adding (0600 file holding only the hash), loading and lookup,
 * revocation, and the refusals (taken name, malformed line, unsafe mode). Each test works in its
 * own mkdtemp directory under one per run, which main removes (a failed test skips teardown). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/tokens.h"
#include "util/util.h"

#define ALL_SCOPES (AUTH_SCOPE_INGEST | AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN)

static char base[64], dir[96], path[128], tmp_path[160];
static char err[512];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/tXXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tokens", dir);
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
	err[0] = '\0';
}

static void teardown(void)
{
	unlink(path);
	unlink(tmp_path);
	ck_assert_msg(rmdir(dir) == 0, "%s: stray files left", dir);
}

static void write_file(const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0); /* not subject to the umask */
	close(fd);
}

/* The whole file as a string; caller frees. */
static char *read_file(void)
{
	FILE *f = fopen(path, "re");
	char *s;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void sha256_hex(const char *text, char out[65])
{
	uint8_t h[32];

	ck_assert_int_eq(EVP_Digest(text, strlen(text), h, NULL, EVP_sha256(), NULL), 1);
	hex_encode(h, sizeof(h), out);
}

static void add_ok(const char *name, unsigned scopes, char token[AUTH_TOKEN_LEN + 1])
{
	int rc = auth_tokens_add(path, name, scopes, token, err, sizeof(err));

	ck_assert_msg(rc == 0, "add %s: %d %s", name, rc, err);
}

static struct auth_tokens *load_ok(void)
{
	struct auth_tokens *t = NULL;
	int rc = auth_tokens_load(path, &t, err, sizeof(err));

	ck_assert_msg(rc == 0, "load: %d %s", rc, err);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---- scopes ---- */

START_TEST(test_scopes_parse_valid)
{
	static const struct {
		const char *text;
		unsigned mask;
	} ok[] = {
	    {"ingest", AUTH_SCOPE_INGEST},
	    {"read", AUTH_SCOPE_READ},
	    {"admin", AUTH_SCOPE_ADMIN},
	    {"ingest,read", AUTH_SCOPE_INGEST | AUTH_SCOPE_READ},
	    {"read,ingest", AUTH_SCOPE_INGEST | AUTH_SCOPE_READ},
	    {"admin,ingest", AUTH_SCOPE_INGEST | AUTH_SCOPE_ADMIN},
	    {"ingest,read,admin", ALL_SCOPES},
	    {"ingest, read", AUTH_SCOPE_INGEST | AUTH_SCOPE_READ},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		unsigned mask = 0xdead;

		ck_assert_msg(auth_scopes_parse(ok[i].text, &mask) == 0, "\"%s\" refused",
			      ok[i].text);
		ck_assert_uint_eq(mask, ok[i].mask);
	}
}
END_TEST

START_TEST(test_scopes_parse_invalid)
{
	static const char *const bad[] = {"",	    ",",    " ",     "write", "ingest,write",
					  "Ingest", "READ", "readx", "rea",   "ingest;read"};
	char longer[200];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned mask = 0xdead;

		ck_assert_msg(auth_scopes_parse(bad[i], &mask) == -EINVAL, "\"%s\" accepted",
			      bad[i]);
		ck_assert_uint_eq(mask, 0xdead); /* untouched on error */
	}
	/* too long to be any scope list: refused, not silently truncated */
	memset(longer, 0, sizeof(longer));
	while (strlen(longer) + sizeof("read,") + sizeof("write") <= sizeof(longer))
		strcat(longer, "read,");
	strcat(longer, "write");
	{
		unsigned mask = 0xdead;

		ck_assert_int_eq(auth_scopes_parse(longer, &mask), -EINVAL);
		ck_assert_uint_eq(mask, 0xdead);
	}
}
END_TEST

/* A scope named twice counts once. */
START_TEST(test_scopes_parse_duplicates)
{
	unsigned mask = 0;

	ck_assert_int_eq(auth_scopes_parse("read,read", &mask), 0);
	ck_assert_uint_eq(mask, AUTH_SCOPE_READ);
	ck_assert_int_eq(auth_scopes_parse("ingest,read,ingest", &mask), 0);
	ck_assert_uint_eq(mask, AUTH_SCOPE_INGEST | AUTH_SCOPE_READ);
}
END_TEST

START_TEST(test_scopes_format)
{
	static const char *const want[8] = {
	    "",	     "ingest",	     "read",	   "ingest,read",
	    "admin", "ingest,admin", "read,admin", "ingest,read,admin",
	};
	char out[64], small[16];

	for (unsigned m = 0; m < 8; m++) {
		unsigned back = 0;

		memset(out, 'X', sizeof(out));
		auth_scopes_format(m, out, sizeof(out));
		ck_assert_str_eq(out, want[m]);
		if (m) {
			ck_assert_int_eq(auth_scopes_parse(out, &back), 0);
			ck_assert_uint_eq(back, m);
		}
	}
	/* bits that are no scope are left out */
	auth_scopes_format(AUTH_SCOPE_READ | 0x100, out, sizeof(out));
	ck_assert_str_eq(out, "read");
	/* a short buffer is truncated and terminated, and nothing past it is written */
	memset(small, 'X', sizeof(small));
	auth_scopes_format(ALL_SCOPES, small, 5);
	ck_assert_str_eq(small, "inge");
	for (size_t i = 5; i < sizeof(small); i++)
		ck_assert_int_eq(small[i], 'X');
}
END_TEST

/* ---- add ---- */

START_TEST(test_add_creates_private_file)
{
	char token[AUTH_TOKEN_LEN + 1];
	mode_t old = umask(0); /* the 0600 must come from the code, not from the umask */
	struct stat st;

	memset(token, 'X', sizeof(token));
	add_ok("ci", AUTH_SCOPE_INGEST, token);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(strlen(token), AUTH_TOKEN_LEN);
	ck_assert_int_eq(strncmp(token, "cdt_", 4), 0);
	for (size_t i = 4; i < AUTH_TOKEN_LEN; i++)
		ck_assert_msg(
		    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			   token[i]) != NULL,
		    "token char %zu is '%c'", i, token[i]);
}
END_TEST

START_TEST(test_add_stores_only_hash)
{
	char token[AUTH_TOKEN_LEN + 1], hex[65], want[256];
	char *text;

	add_ok("ci-runner.1", AUTH_SCOPE_INGEST | AUTH_SCOPE_READ, token);
	text = read_file();
	sha256_hex(token, hex);
	snprintf(want, sizeof(want), "ci-runner.1 ingest,read %s\n", hex);
	ck_assert_str_eq(text, want);
	ck_assert_ptr_null(strstr(text, token));
	ck_assert_ptr_null(strstr(text, token + 4)); /* nor its random part */
	free(text);
}
END_TEST

START_TEST(test_load_and_find)
{
	char ta[AUTH_TOKEN_LEN + 1], tb[AUTH_TOKEN_LEN + 1], probe[AUTH_TOKEN_LEN + 2];
	char hex[65];
	const struct auth_token *e;
	struct auth_tokens *t;

	add_ok("ingester", AUTH_SCOPE_INGEST, ta);
	add_ok("auditor", AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN, tb);
	ck_assert_str_ne(ta, tb);
	t = load_ok();
	ck_assert_uint_eq(t->n, 2);

	e = auth_tokens_find(t, ta);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "ingester");
	ck_assert_uint_eq(e->scopes, AUTH_SCOPE_INGEST);
	e = auth_tokens_find(t, tb);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "auditor");
	ck_assert_uint_eq(e->scopes, AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN);

	/* one character changed */
	snprintf(probe, sizeof(probe), "%s", ta);
	probe[AUTH_TOKEN_LEN - 1] = probe[AUTH_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
	ck_assert_ptr_null(auth_tokens_find(t, probe));
	/* truncated, and one character longer */
	snprintf(probe, sizeof(probe), "%s", ta);
	probe[AUTH_TOKEN_LEN - 1] = '\0';
	ck_assert_ptr_null(auth_tokens_find(t, probe));
	snprintf(probe, sizeof(probe), "%sA", ta);
	ck_assert_ptr_null(auth_tokens_find(t, probe));
	/* the random part alone, the stored hash itself, nothing */
	ck_assert_ptr_null(auth_tokens_find(t, ta + 4));
	sha256_hex(ta, hex);
	ck_assert_ptr_null(auth_tokens_find(t, hex));
	ck_assert_ptr_null(auth_tokens_find(t, ""));
	ck_assert_ptr_null(auth_tokens_find(t, NULL));
	ck_assert_ptr_null(auth_tokens_find(NULL, ta));
	auth_tokens_free(t);
}
END_TEST

START_TEST(test_add_existing_name)
{
	char token[AUTH_TOKEN_LEN + 1], again[AUTH_TOKEN_LEN + 1];
	char *before, *after;

	add_ok("ci", AUTH_SCOPE_INGEST, token);
	before = read_file();
	ck_assert_int_eq(auth_tokens_add(path, "ci", AUTH_SCOPE_ADMIN, again, err, sizeof(err)),
			 -EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "ci"));
	after = read_file();
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_add_invalid_name)
{
	static const char *const bad[] = {"", "two words", "a/b", "tab\there", "ü", "x:y"};
	char token[AUTH_TOKEN_LEN + 1], name[AUTH_NAME_MAX + 2];
	struct auth_tokens *t;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(auth_tokens_add(path, bad[i], AUTH_SCOPE_READ, token, err,
					      sizeof(err)) == -EINVAL,
			      "name \"%s\" accepted", bad[i]);
	memset(name, 'n', AUTH_NAME_MAX + 1);
	name[AUTH_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(auth_tokens_add(path, name, AUTH_SCOPE_READ, token, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(access(path, F_OK), -1); /* nothing written */
	name[AUTH_NAME_MAX] = '\0';		  /* the longest allowed */
	add_ok(name, AUTH_SCOPE_READ, token);
	t = load_ok();
	ck_assert_str_eq(auth_tokens_find(t, token)->name, name);
	auth_tokens_free(t);
}
END_TEST

/* A file refused by load is not appended to either. */
START_TEST(test_add_to_bad_file)
{
	char token[AUTH_TOKEN_LEN + 1], *after;

	write_file("garbage\n", 0600);
	ck_assert_int_eq(auth_tokens_add(path, "ci", AUTH_SCOPE_READ, token, err, sizeof(err)),
			 -EINVAL);
	after = read_file();
	ck_assert_str_eq(after, "garbage\n");
	free(after);
	write_file("", 0660);
	ck_assert_int_eq(auth_tokens_add(path, "ci", AUTH_SCOPE_READ, token, err, sizeof(err)),
			 -EPERM);
	after = read_file();
	ck_assert_str_eq(after, "");
	free(after);
}
END_TEST

/* ---- revoke ---- */

START_TEST(test_revoke)
{
	char tci[AUTH_TOKEN_LEN + 1], tci2[AUTH_TOKEN_LEN + 1], tb[AUTH_TOKEN_LEN + 1];
	char *text, *before;
	struct auth_tokens *t;
	struct stat st;
	FILE *f;

	add_ok("ci", AUTH_SCOPE_INGEST, tci);
	add_ok("ci2", AUTH_SCOPE_INGEST, tci2); /* shares a prefix with "ci" */
	f = fopen(path, "ae");
	ck_assert_ptr_nonnull(f);
	fputs("# rotated 2026-11-28\n", f);
	fclose(f);
	add_ok("backup", AUTH_SCOPE_READ, tb);

	ck_assert_int_eq(auth_tokens_revoke(path, "ci", err, sizeof(err)), 0);
	t = load_ok();
	ck_assert_uint_eq(t->n, 2);
	ck_assert_ptr_null(auth_tokens_find(t, tci));
	ck_assert_str_eq(auth_tokens_find(t, tci2)->name, "ci2");
	ck_assert_str_eq(auth_tokens_find(t, tb)->name, "backup");
	auth_tokens_free(t);
	text = read_file();
	ck_assert_ptr_nonnull(strstr(text, "# rotated 2026-11-28\n"));
	ck_assert_ptr_null(strstr(text, "ci "));
	free(text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(access(tmp_path, F_OK), -1);

	/* a second time, or a name never added: -ENOENT, file unchanged */
	before = read_file();
	ck_assert_int_eq(auth_tokens_revoke(path, "ci", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "ci"));
	ck_assert_int_eq(auth_tokens_revoke(path, "nobody", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "nobody"));
	text = read_file();
	ck_assert_str_eq(text, before);
	ck_assert_int_eq(access(tmp_path, F_OK), -1);
	free(text);
	free(before);
}
END_TEST

START_TEST(test_revoke_missing_file)
{
	ck_assert_int_eq(auth_tokens_revoke(path, "ci", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(access(tmp_path, F_OK), -1);
}
END_TEST

/* ---- load ---- */

#define HASH_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char *const malformed[] = {
    "name read",		  /* no hash */
    "name read " HASH_A " extra", /* a fourth field */
    "name read " HASH_A "0",	  /* 65 hex digits */
    "name read 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0",  /* 63 */
    "name read zf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", /* not hex */
    "name write " HASH_A, /* unknown scope */
    "name , " HASH_A,	  /* no scope */
    "na/me read " HASH_A, /* bad name */
    "name",		  /* one field */
};

START_TEST(test_load_malformed_line)
{
	struct auth_tokens *t = (struct auth_tokens *)&t; /* must be overwritten */
	char text[512], where[200];

	snprintf(text, sizeof(text), "# tokens\n\nok read %s\n%s\nlater admin %s\n", HASH_A,
		 malformed[_i], HASH_A);
	write_file(text, 0600);
	ck_assert_int_eq(auth_tokens_load(path, &t, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(t);
	snprintf(where, sizeof(where), "%s:4:", path);
	ck_assert_msg(strstr(err, where) != NULL, "\"%s\": error \"%s\" does not name line 4",
		      malformed[_i], err);
}
END_TEST

START_TEST(test_load_unsafe_mode)
{
	static const mode_t unsafe[] = {0620, 0602, 0622, 0666};
	struct auth_tokens *t;
	char text[128];

	snprintf(text, sizeof(text), "ok read %s\n", HASH_A);
	for (size_t i = 0; i < ARRAY_SIZE(unsafe); i++) {
		write_file(text, unsafe[i]);
		t = (struct auth_tokens *)&t;
		ck_assert_msg(auth_tokens_load(path, &t, err, sizeof(err)) == -EPERM,
			      "mode %o loaded", (unsigned)unsafe[i]);
		ck_assert_ptr_null(t);
		ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	}
	/* others may read the hashes, only writing is refused */
	write_file(text, 0644);
	t = load_ok();
	ck_assert_uint_eq(t->n, 1);
	auth_tokens_free(t);
}
END_TEST

START_TEST(test_load_missing_file)
{
	struct auth_tokens *t;
	char token[AUTH_TOKEN_LEN + 1];

	t = load_ok();
	ck_assert_uint_eq(t->n, 0);
	ck_assert_ptr_null(auth_tokens_find(t, "cdt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	auth_tokens_free(t);
	ck_assert_int_eq(access(path, F_OK), -1); /* loading creates nothing */
	/* and a token added later to that missing file is found */
	add_ok("first", AUTH_SCOPE_ADMIN, token);
	t = load_ok();
	ck_assert_uint_eq(t->n, 1);
	ck_assert_ptr_nonnull(auth_tokens_find(t, token));
	auth_tokens_free(t);
	auth_tokens_free(NULL);
}
END_TEST

/* ---- bugs found while writing these tests (they fail until tokens.c is fixed) ---- */

/* auth_tokens_add with no scope writes "name  hash", a line that auth_tokens_load then refuses:
 * the whole file, every other token with it, stops loading. */
START_TEST(test_add_refuses_empty_scopes)
{
	char token[AUTH_TOKEN_LEN + 1], *before, *after;
	bool unchanged;
	int rc;

	add_ok("keep", AUTH_SCOPE_READ, token);
	before = read_file();
	rc = auth_tokens_add(path, "none", 0, token, err, sizeof(err));
	after = read_file();
	unchanged = strcmp(after, before) == 0;
	free(before); /* before asserting, so that a failure leaks nothing under CK_FORK=no */
	free(after);
	ck_assert_msg(rc == -EINVAL, "a token without any scope was added (%d)", rc);
	ck_assert(unchanged);
}
END_TEST

/* A file whose last line has no newline (edited by hand): the added line must not be glued to
 * it, or both entries become one malformed line. */
START_TEST(test_add_after_unterminated_line)
{
	char token[AUTH_TOKEN_LEN + 1], text[128];
	struct auth_tokens *t;

	snprintf(text, sizeof(text), "old read %s", HASH_A);
	write_file(text, 0600);
	add_ok("new", AUTH_SCOPE_INGEST, token);
	t = load_ok();
	ck_assert_uint_eq(t->n, 2);
	ck_assert_str_eq(auth_tokens_find(t, token)->name, "new");
	auth_tokens_free(t);
}
END_TEST

/* One physical line longer than the reader's 512-byte buffer is read as several lines: a line
 * holding two entries apart by padding loads as two tokens instead of being refused. */
START_TEST(test_load_overlong_line)
{
	struct auth_tokens *t = NULL;
	char text[1024], where[200];
	size_t n;
	int rc;

	snprintf(text, sizeof(text), "a read %s%*sb admin %s\n", HASH_A, 500, "", HASH_A);
	write_file(text, 0600);
	rc = auth_tokens_load(path, &t, err, sizeof(err));
	n = t ? t->n : 0;
	auth_tokens_free(t);
	ck_assert_msg(rc == -EINVAL, "a line with six fields loaded as %zu tokens", n);
	snprintf(where, sizeof(where), "%s:1:", path);
	ck_assert_ptr_nonnull(strstr(err, where));
}
END_TEST

static Suite *tokens_suite(void)
{
	Suite *s = suite_create("tokens");
	TCase *tc = tcase_create("tokens");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scopes_parse_valid);
	tcase_add_test(tc, test_scopes_parse_invalid);
	tcase_add_test(tc, test_scopes_parse_duplicates);
	tcase_add_test(tc, test_scopes_format);
	tcase_add_test(tc, test_add_creates_private_file);
	tcase_add_test(tc, test_add_stores_only_hash);
	tcase_add_test(tc, test_load_and_find);
	tcase_add_test(tc, test_add_existing_name);
	tcase_add_test(tc, test_add_invalid_name);
	tcase_add_test(tc, test_add_to_bad_file);
	tcase_add_test(tc, test_revoke);
	tcase_add_test(tc, test_revoke_missing_file);
	tcase_add_loop_test(tc, test_load_malformed_line, 0, (int)ARRAY_SIZE(malformed));
	tcase_add_test(tc, test_load_unsafe_mode);
	tcase_add_test(tc, test_load_missing_file);
	tcase_add_test(tc, test_add_refuses_empty_scopes);
	tcase_add_test(tc, test_add_after_unterminated_line);
	tcase_add_test(tc, test_load_overlong_line);
	suite_add_tcase(s, tc);
	return s;
}

static int remove_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int main(void)
{
	SRunner *sr = srunner_create(tokens_suite());
	int failed;

	snprintf(base, sizeof(base), "%s/consentd-tokens-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base)) {
		perror(base);
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(base, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
