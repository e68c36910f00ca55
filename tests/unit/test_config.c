/* Unit tests for src/config: defaults, the INI file, environment overrides, value parsers, range
 * checks, error messages, config_write, and that config/consentd.conf matches the key table. */
#include "config/config.h"
#include "util/util.h"

#include <check.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static char tmpdir[64], path[128], err[512];
static char *no_env[] = { NULL };

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/consentd-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/consentd.conf", tmpdir);
	err[0] = '\0';
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads text as the config file (NULL: no file) with env; returns config_load's result. */
static int load(struct config *cfg, const char *text, char **env)
{
	if (text)
		write_text(path, text);
	return config_load(cfg, text ? path : NULL, env ? env : no_env, err, sizeof(err));
}

/* Expects text to fail with exactly the message want; "%s" in want stands for the file path. */
static void load_fails(const char *text, char **env, const char *want)
{
	struct config cfg, zero = { 0 };
	char msg[512];
	const char *at;

	ck_assert_msg(load(&cfg, text, env) < 0, "accepted: %s", text ? text : env[0]);
	if ((at = strstr(want, "%s")))
		snprintf(msg, sizeof(msg), "%.*s%s%s", (int)(at - want), want, path, at + 2);
	else
		snprintf(msg, sizeof(msg), "%s", want);
	ck_assert_str_eq(err, msg);
	ck_assert_mem_eq(&cfg, &zero, sizeof(cfg)); /* left freed */
}

static char *slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	char *text = calloc(1, 65536);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(text);
	n = fread(text, 1, 65535, f);
	ck_assert_uint_lt(n, 65535);
	fclose(f);
	return text;
}

static char *written(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	config_write(cfg, f);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

/* ---- defaults, file, environment ---------------------------------------------------------- */

START_TEST(defaults)
{
	static const char *const purposes[] = { "essential", "analytics", "advertising",
						"functional" };
	static const char *const vendors[] = { "google_tag_manager", "google_analytics_4",
					       "microsoft_clarity",  "sentry",
					       "google_oauth",	     "stripe" };
	struct config cfg;

	ck_assert_int_eq(load(&cfg, NULL, NULL), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.http.listen, "127.0.0.1:8080");
	ck_assert_int_eq(cfg.http.max_body, 1048576);
	ck_assert_int_eq(cfg.http.max_batch, 1000);
	ck_assert_int_eq(cfg.http.request_timeout, 10000);
	ck_assert_int_eq(cfg.http.idle_timeout, 60000);
	ck_assert_int_eq(cfg.http.read_timeout, 30000);
	ck_assert_int_eq(cfg.http.max_connections, 1024);
	ck_assert_int_eq(cfg.http.max_header_size, 16384);
	ck_assert_int_eq(cfg.http.max_headers, 100);
	ck_assert_int_eq(cfg.http.rate_limit, 0);
	ck_assert_int_eq(cfg.http.rate_burst, 0);
	ck_assert_str_eq(cfg.http.tls_cert_file, "");
	ck_assert_str_eq(cfg.http.tls_key_file, "");
	ck_assert_str_eq(cfg.http.tls_client_ca_file, "");
	ck_assert_str_eq(cfg.postgres.conninfo, "");
	ck_assert(!cfg.postgres.allow_superuser);
	ck_assert_int_eq(cfg.postgres.connect_timeout, 5000);
	ck_assert_str_eq(cfg.auth.tokens_file, "/etc/consentd/tokens");
	ck_assert_str_eq(cfg.ledger.subject_key_file, "/etc/consentd/subject.key");
	ck_assert_str_eq(cfg.privacy.master_key_file, ""); /* privacy features off */
	ck_assert_int_eq(cfg.ledger.max_future_skew, 300000);
	ck_assert_int_eq(cfg.ledger.batch_max, 1000);
	ck_assert_int_eq(cfg.ledger.batch_delay, 0);
	ck_assert_int_eq(cfg.ledger.queue_max, 100000);
	ck_assert_str_eq(cfg.ledger.signing_key_file, "");
	ck_assert_str_eq(cfg.ledger.origin, "consentd.local/ledger");
	ck_assert_int_eq(cfg.ledger.checkpoint_interval, 1000);
	ck_assert_str_eq(cfg.ledger.checkpoint_dir, "");
	ck_assert_int_eq(cfg.daemon.shutdown_timeout, 30000);
	ck_assert_uint_eq(cfg.consent.purposes.n, ARRAY_SIZE(purposes));
	for (size_t i = 0; i < cfg.consent.purposes.n; i++)
		ck_assert_str_eq(cfg.consent.purposes.items[i], purposes[i]);
	ck_assert_uint_eq(cfg.consent.vendors.n, ARRAY_SIZE(vendors));
	for (size_t i = 0; i < cfg.consent.vendors.n; i++)
		ck_assert_str_eq(cfg.consent.vendors.items[i], vendors[i]);
	ck_assert_str_eq(cfg.log.level, "info");
	ck_assert_str_eq(cfg.log.format, "logfmt");
	ck_assert_str_eq(cfg.log.file, "");
	config_free(&cfg);
}
END_TEST

START_TEST(file_values)
{
	struct config cfg;

	ck_assert_int_eq(load(&cfg,
			      "; comment\n"
			      "# another\n"
			      "[http]\n"
			      "listen = [::1]:9090\n"
			      "max_body = 512k\n"
			      "max_batch=50\n"
			      "request_timeout = 250ms\n"
			      "idle_timeout = 2m ; inline comment\n"
			      "\n"
			      "[postgres]\n"
			      "conninfo = host=db dbname=consent user=consentd\n"
			      "allow_superuser = yes\n"
			      "connect_timeout = 3\n"
			      "[ledger]\n"
			      "max_future_skew = 1h\n"
			      "batch_delay = 5ms\n"
			      "batch_max = 10\n"
			      "queue_max = 10\n"
			      "origin = example.com/consent-ledger\n"
			      "checkpoint_interval = 10ms\n"
			      "[daemon]\n"
			      "shutdown_timeout = 2m\n"
			      "[consent]\n"
			      "vendors =\n"
			      "[log]\n"
			      "level = debug\n"
			      "format = json\n"
			      "file = /var/log/consentd.log\n"
			      "[http]\n"
			      "max_batch = 60\n", /* a key set twice: the later wins */
			      NULL),
			 0);
	ck_assert_str_eq(cfg.http.listen, "[::1]:9090");
	ck_assert_int_eq(cfg.http.max_body, 512 * 1024);
	ck_assert_int_eq(cfg.http.max_batch, 60);
	ck_assert_int_eq(cfg.http.request_timeout, 250);
	ck_assert_int_eq(cfg.http.idle_timeout, 120000);
	ck_assert_int_eq(cfg.http.max_connections, 1024); /* not in the file: default */
	ck_assert_str_eq(cfg.postgres.conninfo, "host=db dbname=consent user=consentd");
	ck_assert(cfg.postgres.allow_superuser);
	ck_assert_int_eq(cfg.postgres.connect_timeout, 3000);
	ck_assert_int_eq(cfg.ledger.max_future_skew, 3600000);
	ck_assert_int_eq(cfg.ledger.batch_delay, 5);
	ck_assert_int_eq(cfg.ledger.batch_max, 10);
	ck_assert_int_eq(cfg.ledger.queue_max, 10);
	ck_assert_str_eq(cfg.ledger.origin, "example.com/consent-ledger");
	ck_assert_int_eq(cfg.ledger.checkpoint_interval, 10);
	ck_assert_int_eq(cfg.daemon.shutdown_timeout, 120000);
	ck_assert_uint_eq(cfg.consent.vendors.n, 0);
	ck_assert_ptr_null(cfg.consent.vendors.items);
	ck_assert_uint_eq(cfg.consent.purposes.n, 4);
	ck_assert_str_eq(cfg.log.level, "debug");
	ck_assert_str_eq(cfg.log.format, "json");
	ck_assert_str_eq(cfg.log.file, "/var/log/consentd.log");
	config_free(&cfg);
}
END_TEST

START_TEST(env_overrides_file)
{
	char *env[] = {
		"PATH=/usr/bin",
		"CONSENTD_HTTP_LISTEN=0.0.0.0:80",
		"CONSENTD_LEDGER_BATCH_MAX=20",
		"CONSENTD_POSTGRES_CONNINFO=postgresql://u@h/db?sslmode=verify-full",
		"CONSENTD_CONSENT_PURPOSES=essential,x",
		"CONSENTD_POSTGRES_ALLOW_SUPERUSER=on",
		"CONSENTD_PRIVACY_MASTER_KEY_FILE=/etc/consentd/master.key",
		"CONSENTD_CONFIG=/etc/consentd/other.conf", /* used by tools, not a key */
		"CONSENTD_TEST_ANYTHING=1",
		"CONSENTD_SHARED_TESTDATA=/x",
		"CONSENTD_LEDGER_BATCH_DELAY=1", /* set twice: the later wins */
		"CONSENTD_LEDGER_BATCH_DELAY=2",
		"consentd_http_listen=ignored:1", /* names are case-sensitive */
		NULL,
	};
	struct config cfg;

	ck_assert_int_eq(load(&cfg, "[http]\nlisten = 10.0.0.1:8080\nmax_batch = 7\n[ledger]\n"
				    "batch_max = 5\n",
			      env),
			 0);
	ck_assert_str_eq(cfg.http.listen, "0.0.0.0:80");
	ck_assert_int_eq(cfg.http.max_batch, 7); /* file value, no variable */
	ck_assert_int_eq(cfg.ledger.batch_max, 20);
	ck_assert_int_eq(cfg.ledger.batch_delay, 2000);
	ck_assert_str_eq(cfg.postgres.conninfo, "postgresql://u@h/db?sslmode=verify-full");
	ck_assert_uint_eq(cfg.consent.purposes.n, 2);
	ck_assert_str_eq(cfg.consent.purposes.items[1], "x");
	ck_assert(cfg.postgres.allow_superuser);
	ck_assert_str_eq(cfg.privacy.master_key_file, "/etc/consentd/master.key");
	config_free(&cfg);

	/* the test's own environment (CONSENTD_TEST_*, CONSENTD_SHARED_TESTDATA) is fine */
	ck_assert_int_eq(config_load(&cfg, NULL, environ, err, sizeof(err)), 0);
	config_free(&cfg);
	ck_assert_int_eq(config_load(&cfg, NULL, NULL, err, sizeof(err)), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(env_empty_value)
{
	char *env[] = { "CONSENTD_CONSENT_VENDORS=", "CONSENTD_LOG_FILE=", NULL };
	struct config cfg;

	ck_assert_int_eq(load(&cfg, "[log]\nfile = /tmp/x.log\n", env), 0);
	ck_assert_uint_eq(cfg.consent.vendors.n, 0);
	ck_assert_str_eq(cfg.log.file, "");
	config_free(&cfg);
}
END_TEST

/* ---- value parsers ------------------------------------------------------------------------ */

START_TEST(parse_duration)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{ "250ms", 250 },     { "5s", 5000 },	      { "10m", 600000 },  { "2h", 7200000 },
		{ "1d", 86400000 },   { "30", 30000 },	      { "0", 0 },	  { "0ms", 0 },
		{ "007s", 7000 },     { "1500ms", 1500 },
		{ "106751991167d", INT64_C(106751991167) * 86400000 },
	};
	static const char *const bad[] = { "",	  "5x",	  "-5s",  "1.5s", " 5s", "5s ", "5 s",
					   "5S",  "5sec", "ms",	  "s",	  "5us",  "1h30m", "+5s",
					   "0x10" };
	int64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		ck_assert_msg(config_parse_duration_ms(ok[i].text, &v) == 0, "%s", ok[i].text);
		ck_assert_int_eq(v, ok[i].ms);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(config_parse_duration_ms(bad[i], &v) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(config_parse_duration_ms("106751991168d", &v), -ERANGE);
	ck_assert_int_eq(config_parse_duration_ms("99999999999999999999ms", &v), -ERANGE);
}
END_TEST

START_TEST(parse_size)
{
	static const struct {
		const char *text;
		int64_t bytes;
	} ok[] = {
		{ "1048576", 1048576 }, { "512k", 524288 },   { "512K", 524288 },
		{ "512KiB", 524288 },	{ "1kB", 1024 },      { "1M", 1048576 },
		{ "1MiB", 1048576 },	{ "1mib", 1048576 },
		{ "2G", 2147483648 },	{ "2GiB", 2147483648 }, { "1T", INT64_C(1) << 40 },
		{ "0", 0 },		{ "100B", 100 },
	};
	static const char *const bad[] = { "",	   "12x", "1.5M", "-1",	 "1 M", " 1M", "1M ",
					   "1Mi",  "M",	  "1MM",  "1Mb2", "1iB", "1KK", "0x10" };
	int64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		ck_assert_msg(config_parse_size(ok[i].text, &v) == 0, "%s", ok[i].text);
		ck_assert_int_eq(v, ok[i].bytes);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(config_parse_size(bad[i], &v) == -EINVAL, "%s", bad[i]);
	ck_assert_int_eq(config_parse_size("8589934592G", &v), -ERANGE);
	ck_assert_int_eq(config_parse_size("99999999999999999999", &v), -ERANGE);
}
END_TEST

START_TEST(parse_bool)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes" };
	static const char *const no[] = { "false", "no", "off", "0", "False", "OFF" };
	static const char *const bad[] = { "", "maybe", "2", "y", "n", "t", "true ", "enabled" };
	bool v;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		v = false;
		ck_assert_int_eq(config_parse_bool(yes[i], &v), 0);
		ck_assert(v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		v = true;
		ck_assert_int_eq(config_parse_bool(no[i], &v), 0);
		ck_assert(!v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(config_parse_bool(bad[i], &v) == -EINVAL, "%s", bad[i]);
}
END_TEST

START_TEST(list_parsing)
{
	struct config cfg;

	ck_assert_int_eq(load(&cfg, "[consent]\n"
				    "purposes =   analytics ,essential,\tads_2  ,, \n"
				    "vendors = ,\n",
			      NULL),
			 0);
	ck_assert_uint_eq(cfg.consent.purposes.n, 3);
	ck_assert_str_eq(cfg.consent.purposes.items[0], "analytics");
	ck_assert_str_eq(cfg.consent.purposes.items[1], "essential");
	ck_assert_str_eq(cfg.consent.purposes.items[2], "ads_2");
	ck_assert_uint_eq(cfg.consent.vendors.n, 0);
	config_free(&cfg);
}
END_TEST

/* Indented lines continue the value before them, joined by a space; quotes are dropped. */
START_TEST(continuation_and_quotes)
{
	struct config cfg;

	ck_assert_int_eq(load(&cfg, "[postgres]\n"
				    "conninfo = host=db\n"
				    "    dbname=consent\n"
				    "\tuser=consentd\n"
				    "# a comment does not end the value\n"
				    "    sslmode=require\n"
				    "[consent]\n"
				    "vendors = a,\n"
				    "  b,\n"
				    "  c\n"
				    "[http]\n"
				    "  listen = \"127.0.0.1:9\"\n" /* indented, first in [http] */
				    "[log]\n"
				    "file = \" /tmp/odd name.log\"\n"
				    "[auth]\n"
				    "tokens_file =\n"
				    "    /etc/x/tokens\n",
			      NULL),
			 0);
	ck_assert_str_eq(cfg.postgres.conninfo,
			 "host=db dbname=consent user=consentd sslmode=require");
	ck_assert_uint_eq(cfg.consent.vendors.n, 3);
	ck_assert_str_eq(cfg.consent.vendors.items[2], "c");
	ck_assert_str_eq(cfg.http.listen, "127.0.0.1:9");
	ck_assert_str_eq(cfg.log.file, " /tmp/odd name.log");
	ck_assert_str_eq(cfg.auth.tokens_file, "/etc/x/tokens");
	config_free(&cfg);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------- */

START_TEST(unknown_key)
{
	load_fails("[http]\nlisten = 127.0.0.1:1\n\nbogus = 1\n", NULL,
		   "%s:4: [http] bogus: unknown key");
	load_fails("# x\n[nope]\nlisten = 1\n", NULL, "%s:3: [nope] listen: unknown key");
	load_fails("[http]\nListen = 127.0.0.1:1\n", NULL, "%s:2: [http] Listen: unknown key");
	load_fails("listen = 127.0.0.1:1\n", NULL, "%s:1: listen: key outside of a [section]");
	/* an error after a bad line is reported for the first one */
	load_fails("[http]\nmax_body = 1x\nbogus = 2\n", NULL,
		   "%s:2: [http] max_body: \"1x\" is not a size (use bytes or k, M, G)");
	load_fails("[http]\nbogus = 2\nmax_body = 1x\n", NULL, "%s:2: [http] bogus: unknown key");
}
END_TEST

START_TEST(unknown_env)
{
	char *env1[] = { "CONSENTD_HTTP_LISTN=127.0.0.1:1", NULL };
	char *env2[] = { "CONSENTD_CONFIGFILE=/x", NULL };
	char *env3[] = { "CONSENTD_=1", NULL };

	load_fails(NULL, env1,
		   "CONSENTD_HTTP_LISTN: unknown variable (CONSENTD_<SECTION>_<KEY> names a config "
		   "key)");
	load_fails(NULL, env2,
		   "CONSENTD_CONFIGFILE: unknown variable (CONSENTD_<SECTION>_<KEY> names a config "
		   "key)");
	load_fails(NULL, env3,
		   "CONSENTD_: unknown variable (CONSENTD_<SECTION>_<KEY> names a config key)");
}
END_TEST

START_TEST(bad_values)
{
	char *env1[] = { "CONSENTD_HTTP_MAX_BODY=12x", NULL };
	char *env2[] = { "CONSENTD_POSTGRES_ALLOW_SUPERUSER=maybe", NULL };

	load_fails("[http]\nmax_body = 12x\n", NULL,
		   "%s:2: [http] max_body: \"12x\" is not a size (use bytes or k, M, G)");
	load_fails(NULL, env1,
		   "CONSENTD_HTTP_MAX_BODY: \"12x\" is not a size (use bytes or k, M, G)");
	load_fails(NULL, env2, "CONSENTD_POSTGRES_ALLOW_SUPERUSER: \"maybe\" is not a boolean "
			       "(use true or false)");
	load_fails("[http]\nrequest_timeout = 10 s\n", NULL,
		   "%s:2: [http] request_timeout: \"10 s\" is not a duration "
		   "(use ms, s, m, h or d; a bare number is seconds)");
	load_fails("[http]\nmax_batch = 1e3\n", NULL,
		   "%s:2: [http] max_batch: \"1e3\" is not an integer");
	load_fails("[log]\nlevel = verbose\n", NULL,
		   "%s:2: [log] level: \"verbose\" is not a log level "
		   "(use error, warn, info or debug)");
	load_fails("[log]\nformat = xml\n", NULL,
		   "%s:2: [log] format: \"xml\" is not a log format (use logfmt or json)");
	load_fails("[daemon]\nshutdown_timeout = soon\n", NULL,
		   "%s:2: [daemon] shutdown_timeout: \"soon\" is not a duration "
		   "(use ms, s, m, h or d; a bare number is seconds)");
	/* the error names the line where the value starts */
	load_fails("[consent]\nvendors = a,\n  B\n", NULL,
		   "%s:2: [consent] vendors: \"B\" is not a name ([a-z0-9_], 1 to 64 characters) "
		   "(indented lines continue the value)");
	/* an indented key continues the value above it, as in Python's configparser */
	load_fails("[http]\nmax_batch = 50\n  request_timeout = 250ms\n", NULL,
		   "%s:2: [http] max_batch: \"50 request_timeout = 250ms\" is not an integer "
		   "(indented lines continue the value)");
}
END_TEST

START_TEST(range_checks)
{
	struct config cfg;
	char *env[] = { "CONSENTD_LEDGER_QUEUE_MAX=999", NULL };

	load_fails("[http]\nmax_body = 1023\n", NULL,
		   "%s:2: [http] max_body: \"1023\" is out of range (1k to 1G)");
	load_fails("[http]\nmax_body = 1025M\n", NULL,
		   "%s:2: [http] max_body: \"1025M\" is out of range (1k to 1G)");
	load_fails("[http]\nmax_body = 99999999999G\n", NULL,
		   "%s:2: [http] max_body: \"99999999999G\" is out of range (1k to 1G)");
	ck_assert_int_eq(load(&cfg, "[http]\nmax_body = 1k\n", NULL), 0);
	config_free(&cfg);
	ck_assert_int_eq(load(&cfg, "[http]\nmax_body = 1GiB\n", NULL), 0);
	config_free(&cfg);

	load_fails("[http]\nmax_batch = 0\n", NULL,
		   "%s:2: [http] max_batch: \"0\" is out of range (1 to 100000)");
	load_fails("[http]\nmax_batch = 100001\n", NULL,
		   "%s:2: [http] max_batch: \"100001\" is out of range (1 to 100000)");
	load_fails("[http]\nmax_batch = -1\n", NULL,
		   "%s:2: [http] max_batch: \"-1\" is out of range (1 to 100000)");
	load_fails("[ledger]\nbatch_max = 0\n", NULL,
		   "%s:2: [ledger] batch_max: \"0\" is out of range (1 to 100000)");
	load_fails("[ledger]\nbatch_max = 100001\nqueue_max = 200000\n", NULL,
		   "%s:2: [ledger] batch_max: \"100001\" is out of range (1 to 100000)");
	load_fails("[http]\nrequest_timeout = 0\n", NULL,
		   "%s:2: [http] request_timeout: \"0\" is out of range (1ms to 1d)");
	load_fails("[http]\nidle_timeout = 0s\n", NULL,
		   "%s:2: [http] idle_timeout: \"0s\" is out of range (1ms to 1d)");
	load_fails("[postgres]\nconnect_timeout = 0ms\n", NULL,
		   "%s:2: [postgres] connect_timeout: \"0ms\" is out of range (1ms to 1d)");
	load_fails("[ledger]\ncheckpoint_interval = 9ms\n", NULL,
		   "%s:2: [ledger] checkpoint_interval: \"9ms\" is out of range (10ms to 1d)");
	load_fails("[daemon]\nshutdown_timeout = 0\n", NULL,
		   "%s:2: [daemon] shutdown_timeout: \"0\" is out of range (1ms to 1d)");
	load_fails("[http]\nmax_connections = 0\n", NULL,
		   "%s:2: [http] max_connections: \"0\" is out of range (1 to 1000000)");
	ck_assert_int_eq(load(&cfg, "[ledger]\nbatch_delay = 0\nmax_future_skew = 0\n", NULL), 0);
	config_free(&cfg);

	load_fails("[http]\nmax_header_size = 1023\n", NULL,
		   "%s:2: [http] max_header_size: \"1023\" is out of range (1k to 1M)");
	load_fails("[http]\nrate_limit = -1\n", NULL,
		   "%s:2: [http] rate_limit: \"-1\" is out of range (0 to 1000000)");

	/* a TLS certificate and its key go together; client CAs need TLS */
	load_fails("[http]\ntls_cert_file = /c.pem\n", NULL,
		   "%s:2: [http] tls_cert_file: needs [http] tls_key_file too");
	load_fails("[http]\ntls_key_file = /k.pem\n", NULL,
		   "%s:2: [http] tls_key_file: needs [http] tls_cert_file too");
	load_fails("[http]\ntls_client_ca_file = /ca.pem\n", NULL,
		   "%s:2: [http] tls_client_ca_file: needs [http] tls_cert_file (client "
		   "certificates need TLS)");
	ck_assert_int_eq(load(&cfg, "[http]\ntls_cert_file = /c.pem\ntls_key_file = /k.pem\n"
				    "tls_client_ca_file = /ca.pem\n", NULL),
			 0);
	config_free(&cfg);

	/* queue_max must hold a batch; blamed on queue_max, wherever it was set */
	load_fails("[ledger]\nbatch_max = 1000\nqueue_max = 999\n", NULL,
		   "%s:3: [ledger] queue_max: 999 is less than [ledger] batch_max (1000)");
	load_fails(NULL, env,
		   "CONSENTD_LEDGER_QUEUE_MAX: 999 is less than [ledger] batch_max (1000)");
	ck_assert_int_eq(load(&cfg, "[ledger]\nbatch_max = 100000\n", NULL), 0); /* equal is fine */
	config_free(&cfg);
}
END_TEST

START_TEST(listen_values)
{
	static const char *const ok[] = { "127.0.0.1:8080", "0.0.0.0:1",  "[::1]:8080",
					  "[::]:65535",	    "localhost:80", "[fe80::1%eth0]:80" };
	static const char *const bad[] = { "8080",	 ":8080",      "host:0",      "host:65536",
					   "::1:8080",	 "[::1]8080",  "[]:80",	      "host:",
					   "host:80x",	 "[::1]:",     "host:080000", "host:-1",
					   "[::1:8080" };
	struct config cfg;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		snprintf(text, sizeof(text), "[http]\nlisten = %s\n", ok[i]);
		ck_assert_msg(load(&cfg, text, NULL) == 0, "%s: %s", ok[i], err);
		ck_assert_str_eq(cfg.http.listen, ok[i]);
		config_free(&cfg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[256];

		snprintf(text, sizeof(text), "[http]\nlisten = %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "%%s:2: [http] listen: \"%s\" is not host:port (port 1 to 65535; IPv6 in "
			 "brackets, e.g. [::1]:8080)",
			 bad[i]);
		load_fails(text, NULL, want);
	}
}
END_TEST

START_TEST(name_lists)
{
	struct config cfg;
	char text[256];

	load_fails("[consent]\npurposes = analytics, advertising\n", NULL,
		   "%s:2: [consent] purposes: must include \"essential\"");
	load_fails("[consent]\npurposes =\n", NULL,
		   "%s:2: [consent] purposes: must include \"essential\"");
	load_fails("[consent]\npurposes = essential, Analytics\n", NULL,
		   "%s:2: [consent] purposes: \"Analytics\" is not a name ([a-z0-9_], 1 to 64 "
		   "characters)");
	load_fails("[consent]\npurposes = essential, ads, ads\n", NULL,
		   "%s:2: [consent] purposes: \"ads\" is listed twice");
	load_fails("[consent]\nvendors = a-b\n", NULL,
		   "%s:2: [consent] vendors: \"a-b\" is not a name "
		   "([a-z0-9_], 1 to 64 characters)");
	load_fails("[consent]\nvendors = x, y, x\n", NULL,
		   "%s:2: [consent] vendors: \"x\" is listed twice");
	load_fails("[consent]\nvendors = a b\n", NULL,
		   "%s:2: [consent] vendors: \"a b\" is not a name "
		   "([a-z0-9_], 1 to 64 characters)");
	/* 64 characters is the limit */
	snprintf(text, sizeof(text), "[consent]\nvendors = %064d\n", 0);
	ck_assert_int_eq(load(&cfg, text, NULL), 0);
	ck_assert_uint_eq(strlen(cfg.consent.vendors.items[0]), 64);
	config_free(&cfg);
	snprintf(text, sizeof(text), "[consent]\nvendors = %065d\n", 0);
	ck_assert_int_lt(load(&cfg, text, NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, "is not a name"));
}
END_TEST

/* The origin names the checkpoint's log and its key in signed notes: no spaces, no '+'. */
START_TEST(origin_values)
{
	static const char *const bad[] = { "a b", "a+b", "caf\xc3\xa9", "a\x7f" };
	char *env[] = { "CONSENTD_LEDGER_ORIGIN=", NULL }, text[128], want[256];
	struct config cfg;

	ck_assert_int_eq(load(&cfg, "[ledger]\norigin = !~a.b/c-d_e:1@\n", NULL), 0);
	ck_assert_str_eq(cfg.ledger.origin, "!~a.b/c-d_e:1@");
	config_free(&cfg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "[ledger]\norigin = %s\n", bad[i]);
		snprintf(want, sizeof(want), "%%s:2: [ledger] origin: \"%s\" is not an origin "
			 "(printable ASCII without spaces or '+')", bad[i]);
		load_fails(text, NULL, want);
	}
	load_fails(NULL, env, "CONSENTD_LEDGER_ORIGIN: \"\" is not an origin "
			      "(printable ASCII without spaces or '+')");
}
END_TEST

START_TEST(file_errors)
{
	struct config cfg, zero = { 0 };
	char longline[400];

	load_fails("[http]\nthis line has no equals sign\n", NULL,
		   "%s:2: expected \"key = value\", \"[section]\" or a comment");
	load_fails("[http\nlisten = 1.2.3.4:5\n", NULL,
		   "%s:1: expected \"key = value\", \"[section]\" or a comment");
	/* a syntax error before a bad value is reported first, and the other way round */
	load_fails("[http]\nnonsense\nmax_body = 1x\n", NULL,
		   "%s:2: expected \"key = value\", \"[section]\" or a comment");
	load_fails("[http]\nmax_body = 1x\nnonsense\n", NULL,
		   "%s:2: [http] max_body: \"1x\" is not a size (use bytes or k, M, G)");

	/* a line longer than inih's buffer would be split silently: refuse it */
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "[postgres]\nconninfo = ", 22);
	strcpy(longline + sizeof(longline) - 2, "\n");
	ck_assert_int_lt(load(&cfg, longline, NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, ":2: line longer than "));
	ck_assert_mem_eq(&cfg, &zero, sizeof(cfg));

	snprintf(longline, sizeof(longline), "%s/missing.conf", tmpdir);
	ck_assert_int_eq(config_load(&cfg, longline, no_env, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, longline));
	ck_assert_mem_eq(&cfg, &zero, sizeof(cfg));

	/* no room for a message is fine */
	ck_assert_int_eq(config_load(&cfg, longline, no_env, NULL, 0), -ENOENT);
}
END_TEST

START_TEST(free_is_safe)
{
	struct config cfg = { 0 }, zero = { 0 };

	config_free(&cfg);
	config_free(NULL);
	ck_assert_int_eq(load(&cfg, NULL, NULL), 0);
	config_free(&cfg);
	ck_assert_mem_eq(&cfg, &zero, sizeof(cfg));
	config_free(&cfg);
}
END_TEST

/* ---- config_write and the example file ---------------------------------------------------- */

START_TEST(write_round_trip)
{
	char *env[] = { "CONSENTD_POSTGRES_CONNINFO=host=db  user=x ", NULL };
	struct config a, b;
	char *first, *second;

	ck_assert_int_eq(load(&a, "[http]\nmax_body = 1536\nidle_timeout = 90s\n"
				  "[ledger]\nbatch_delay = 1500ms\n[consent]\nvendors =\n"
				  "[postgres]\nallow_superuser = true\n",
			      env),
			 0);
	first = written(&a);
	ck_assert_ptr_nonnull(strstr(first, "\n[http]\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nmax_body = 1536\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nidle_timeout = 90s\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nrequest_timeout = 10s\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nbatch_delay = 1500ms\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nmax_future_skew = 5m\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nconninfo = \"host=db  user=x \"\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nallow_superuser = true\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nvendors =\n"));
	ck_assert_ptr_nonnull(strstr(first, "\npurposes = essential, analytics, advertising, "
					    "functional\n"));
	ck_assert_ptr_nonnull(strstr(first, "CONSENTD_<SECTION>_<KEY>"));
	ck_assert_ptr_nonnull(strstr(first, "\n# Address to accept HTTP on"));

	ck_assert_int_eq(load(&b, first, NULL), 0);
	second = written(&b);
	ck_assert_str_eq(first, second);
	ck_assert_str_eq(b.postgres.conninfo, "host=db  user=x ");
	free(first);
	free(second);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* A long list is written over indented lines that inih reads back as one value. */
START_TEST(write_wraps_long_lists)
{
	char var[2048] = "CONSENTD_CONSENT_VENDORS=", *env[] = { var, NULL }, *text, *line;
	struct config a, b;

	for (int i = 0; i < 60; i++)
		snprintf(var + strlen(var), sizeof(var) - strlen(var), "%svendor_number_%02d",
			 i ? ", " : "", i);
	ck_assert_int_eq(load(&a, NULL, env), 0);
	ck_assert_uint_eq(a.consent.vendors.n, 60);
	text = written(&a);
	for (line = text; line; line = strchr(line + 1, '\n'))
		ck_assert_uint_le(strcspn(line + 1, "\n"), 100);
	ck_assert_ptr_nonnull(strstr(text, ",\n    vendor_number_"));
	ck_assert_int_eq(load(&b, text, NULL), 0);
	ck_assert_uint_eq(b.consent.vendors.n, 60);
	for (size_t i = 0; i < 60; i++)
		ck_assert_str_eq(a.consent.vendors.items[i], b.consent.vendors.items[i]);
	free(text);
	config_free(&a);
	config_free(&b);
}
END_TEST

/* Collects "section.key" of every key line, in order, into a growing string. */
static int collect_key(void *user, const char *section, const char *name, const char *value)
{
	char **keys = user;
	size_t len = *keys ? strlen(*keys) : 0;
	char *p = realloc(*keys, len + strlen(section) + strlen(name) + 3);

	if (!p)
		return 0;
	snprintf(p + len, strlen(section) + strlen(name) + 3, "%s.%s\n", section, name);
	*keys = p;
	return 1;
}

/* The keys of an INI text in order; indented continuation lines, for which inih repeats the key
 * before them, are left out. */
static char *keys_of(const char *text)
{
	char *keys = NULL, *copy = strdup(text);

	ck_assert_ptr_nonnull(copy);
	for (char *line = copy; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (*line == ' ' || *line == '\t')
			*line = '#';
	}
	ck_assert_int_eq(ini_parse_string(copy, collect_key, &keys), 0);
	ck_assert_ptr_nonnull(keys);
	free(copy);
	return keys;
}

/* config/consentd.conf sets every key of the table, each once, to its default. */
START_TEST(example_config)
{
	const char *srcdir = getenv("CONSENTD_TEST_SRCDIR");
	char example[512], *want_keys, *have_keys, *defaults_text, *example_text, *raw;
	struct config def, cfg;

	ck_assert_msg(srcdir != NULL, "CONSENTD_TEST_SRCDIR is not set (run through meson test)");
	snprintf(example, sizeof(example), "%s/config/consentd.conf", srcdir);
	ck_assert_msg(config_load(&cfg, example, no_env, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(config_load(&def, NULL, no_env, err, sizeof(err)), 0);

	defaults_text = written(&def);
	example_text = written(&cfg);
	ck_assert_str_eq(example_text, defaults_text);

	/* the same keys in the same order */
	want_keys = keys_of(defaults_text);
	raw = slurp(example);
	have_keys = keys_of(raw);
	free(raw);
	ck_assert_str_eq(have_keys, want_keys);
	free(want_keys);
	free(have_keys);
	free(defaults_text);
	free(example_text);
	config_free(&def);
	config_free(&cfg);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, file_values);
	tcase_add_test(tc, env_overrides_file);
	tcase_add_test(tc, env_empty_value);
	tcase_add_test(tc, parse_duration);
	tcase_add_test(tc, parse_size);
	tcase_add_test(tc, parse_bool);
	tcase_add_test(tc, list_parsing);
	tcase_add_test(tc, continuation_and_quotes);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, unknown_env);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, range_checks);
	tcase_add_test(tc, listen_values);
	tcase_add_test(tc, name_lists);
	tcase_add_test(tc, origin_values);
	tcase_add_test(tc, file_errors);
	tcase_add_test(tc, free_is_safe);
	tcase_add_test(tc, write_round_trip);
	tcase_add_test(tc, write_wraps_long_lists);
	tcase_add_test(tc, example_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
