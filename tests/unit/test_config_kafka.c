/* Unit tests for src/config's [kafka] section: its defaults, topic names, json_topics against
 * topics, and the property.<name> prefix map from the file and the environment. */
#include "config/config.h"
#include "util/util.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64], path[128], err[512];
static char *no_env[] = { NULL };

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/consentd-test-config-kafka-XXXXXX");
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
	char msg[768];
	const char *at;

	ck_assert_msg(load(&cfg, text, env) < 0, "accepted: %s", text ? text : env[0]);
	if ((at = strstr(want, "%s")))
		snprintf(msg, sizeof(msg), "%.*s%s%s", (int)(at - want), want, path, at + 2);
	else
		snprintf(msg, sizeof(msg), "%s", want);
	ck_assert_str_eq(err, msg);
	ck_assert_mem_eq(&cfg, &zero, sizeof(cfg)); /* left freed */
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

/* Asserts that map m holds exactly the n pairs kv (key, value, key, value, ...) in order. */
static void map_is(const struct config_map *m, const char *const *kv, size_t n)
{
	ck_assert_uint_eq(m->n, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(m->keys[i], kv[2 * i]);
		ck_assert_str_eq(m->values[i], kv[2 * i + 1]);
	}
}

START_TEST(kafka_defaults)
{
	struct config cfg;

	ck_assert_int_eq(load(&cfg, NULL, NULL), 0);
	ck_assert_str_eq(cfg.kafka.brokers, ""); /* Kafka off */
	ck_assert_uint_eq(cfg.kafka.topics.n, 1);
	ck_assert_str_eq(cfg.kafka.topics.items[0], "consent-events");
	ck_assert_str_eq(cfg.kafka.group_id, "consentd");
	ck_assert_str_eq(cfg.kafka.dead_letter_topic, "");
	ck_assert_uint_eq(cfg.kafka.json_topics.n, 0);
	ck_assert_int_eq(cfg.kafka.max_inflight, 10000);
	ck_assert_str_eq(cfg.kafka.checkpoint_topic, "");
	ck_assert_uint_eq(cfg.kafka.property.n, 0);
	ck_assert_ptr_null(cfg.kafka.property.keys);
	ck_assert_ptr_null(cfg.kafka.property.values);
	config_free(&cfg);
}
END_TEST

START_TEST(kafka_file_values)
{
	struct config cfg;

	ck_assert_int_eq(load(&cfg,
			      "[kafka]\n"
			      "brokers = k1:9092,k2:9092\n"
			      "topics = consent-events, Consent.JSON_v1\n"
			      "group_id = consentd-eu\n"
			      "dead_letter_topic = consent-dlq\n"
			      "json_topics = Consent.JSON_v1\n"
			      "max_inflight = 1\n"
			      "checkpoint_topic = consent-checkpoints\n",
			      NULL),
			 0);
	ck_assert_str_eq(cfg.kafka.brokers, "k1:9092,k2:9092");
	ck_assert_uint_eq(cfg.kafka.topics.n, 2);
	ck_assert_str_eq(cfg.kafka.topics.items[1], "Consent.JSON_v1");
	ck_assert_str_eq(cfg.kafka.group_id, "consentd-eu");
	ck_assert_str_eq(cfg.kafka.dead_letter_topic, "consent-dlq");
	ck_assert_uint_eq(cfg.kafka.json_topics.n, 1);
	ck_assert_int_eq(cfg.kafka.max_inflight, 1);
	ck_assert_str_eq(cfg.kafka.checkpoint_topic, "consent-checkpoints");
	config_free(&cfg);
}
END_TEST

/* Entries keep the file's order; a name set again keeps its place and takes the later value. */
START_TEST(property_from_file)
{
	static const char *const want[] = {
		"security.protocol", "SSL",	     "sasl.mechanisms",	    "PLAIN",
		"sasl.username",     " consentd ",   "ssl.ca.location",	    "/etc/ssl/a b.pem",
		"client.id",	     "",	     "queued.max.messages.kbytes", "65536",
	};
	struct config cfg;

	ck_assert_int_eq(load(&cfg,
			      "[kafka]\n"
			      "property.security.protocol = SASL_SSL\n"
			      "brokers = k:9092\n"
			      "property.sasl.mechanisms = PLAIN\n"
			      "property.sasl.username = \" consentd \"\n"
			      "property.ssl.ca.location =\n"
			      "    /etc/ssl/a b.pem\n"
			      "[http]\n"
			      "max_batch = 5\n"
			      "[kafka]\n"
			      "property.security.protocol = SSL\n"
			      "property.client.id =\n"
			      "property.queued.max.messages.kbytes = 65536\n",
			      NULL),
			 0);
	map_is(&cfg.kafka.property, want, ARRAY_SIZE(want) / 2);
	config_free(&cfg);
}
END_TEST

/* A variable replaces the file's entry of its name in place; new names follow, in env order. */
START_TEST(property_from_env)
{
	static const char *const want[] = {
		"sasl.mechanisms", "PLAIN",   "security.protocol",	 "SASL_SSL",
		"sasl.username",   "file",    "sasl.password",		 "s3cret =;x",
		"client.id",	   "c2",      "topic.metadata.refresh.interval.ms", "1000",
	};
	char *env[] = {
		"CONSENTD_KAFKA_PROPERTY_SASL_PASSWORD=s3cret =;x",
		"CONSENTD_KAFKA_PROPERTY_SECURITY_PROTOCOL=SASL_SSL",
		"CONSENTD_KAFKA_PROPERTY_CLIENT_ID=c1",
		"CONSENTD_KAFKA_PROPERTY_CLIENT_ID=c2",
		"CONSENTD_KAFKA_PROPERTY_TOPIC_METADATA_REFRESH_INTERVAL_MS=1000",
		"CONSENTD_KAFKA_BROKERS=k:9092",
		NULL,
	};
	char *env_only[] = { "CONSENTD_KAFKA_PROPERTY_A1_B2=", NULL };
	struct config cfg;

	ck_assert_int_eq(load(&cfg,
			      "[kafka]\n"
			      "property.sasl.mechanisms = PLAIN\n"
			      "property.security.protocol = PLAINTEXT\n"
			      "property.sasl.username = file\n",
			      env),
			 0);
	map_is(&cfg.kafka.property, want, ARRAY_SIZE(want) / 2);
	ck_assert_str_eq(cfg.kafka.brokers, "k:9092");
	config_free(&cfg);

	ck_assert_int_eq(load(&cfg, NULL, env_only), 0);
	map_is(&cfg.kafka.property, (const char *const[]){ "a1.b2", "" }, 1);
	config_free(&cfg);
}
END_TEST

START_TEST(property_bad_names)
{
	char *env1[] = { "CONSENTD_KAFKA_PROPERTY_security_protocol=SSL", NULL };
	char *env2[] = { "CONSENTD_KAFKA_PROPERTY_=1", NULL };
	char *env3[] = { "CONSENTD_KAFKA_PROPERTY=1", NULL };
	char *env4[] = { "CONSENTD_KAFKA_PROPERTY_SASL-USERNAME=x", NULL };
	char *env5[] = { "CONSENTD_KAFKA_PROPERTIES_CLIENT_ID=x", NULL };

	load_fails("[kafka]\nproperty.Security.protocol = SSL\n", NULL,
		   "%s:2: [kafka] property.Security.protocol: \"Security.protocol\" is not a name "
		   "([a-z0-9.]+)");
	load_fails("[kafka]\nproperty.sasl_mechanisms = PLAIN\n", NULL,
		   "%s:2: [kafka] property.sasl_mechanisms: \"sasl_mechanisms\" is not a name "
		   "([a-z0-9.]+)");
	load_fails("[kafka]\nbrokers = k:1\n\nproperty. = 1\n", NULL,
		   "%s:4: [kafka] property.: \"\" is not a name ([a-z0-9.]+)");
	/* the map is only ever set entry by entry; anything else in [kafka] is unknown */
	load_fails("[kafka]\nproperty = x\n", NULL, "%s:2: [kafka] property: unknown key");
	load_fails("[kafka]\nproperties.client.id = x\n", NULL,
		   "%s:2: [kafka] properties.client.id: unknown key");
	load_fails("[kafka]\nbogus = 1\n", NULL, "%s:2: [kafka] bogus: unknown key");
	load_fails("[http]\nproperty.client.id = x\n", NULL,
		   "%s:2: [http] property.client.id: unknown key");

	load_fails(NULL, env1, "CONSENTD_KAFKA_PROPERTY_security_protocol: \"security_protocol\" "
			       "is not a name ([A-Z0-9_]+, '_' for '.')");
	load_fails(NULL, env2,
		   "CONSENTD_KAFKA_PROPERTY_: \"\" is not a name ([A-Z0-9_]+, '_' for '.')");
	load_fails(NULL, env3,
		   "CONSENTD_KAFKA_PROPERTY: unknown variable (CONSENTD_<SECTION>_<KEY> names a "
		   "config key)");
	load_fails(NULL, env4, "CONSENTD_KAFKA_PROPERTY_SASL-USERNAME: \"SASL-USERNAME\" is not a "
			       "name ([A-Z0-9_]+, '_' for '.')");
	load_fails(NULL, env5,
		   "CONSENTD_KAFKA_PROPERTIES_CLIENT_ID: unknown variable (CONSENTD_<SECTION>_<KEY> "
		   "names a config key)");
}
END_TEST

START_TEST(topic_names)
{
	char var[300], *env[] = { var, NULL }, want[600];
	struct config cfg;

	load_fails("[kafka]\ntopics = a, b c\n", NULL,
		   "%s:2: [kafka] topics: \"b c\" is not a topic name ([A-Za-z0-9._-], 1 to 249 "
		   "characters)");
	load_fails("[kafka]\ntopics = a/b\n", NULL,
		   "%s:2: [kafka] topics: \"a/b\" is not a topic name ([A-Za-z0-9._-], 1 to 249 "
		   "characters)");
	load_fails("[kafka]\ntopics = a, ..\n", NULL,
		   "%s:2: [kafka] topics: \"..\" is not a topic name (Kafka refuses \".\" and \"..\")");
	load_fails("[kafka]\ntopics = a, b, a\n", NULL, "%s:2: [kafka] topics: \"a\" is listed twice");
	load_fails("[kafka]\ndead_letter_topic = dlq!\n", NULL,
		   "%s:2: [kafka] dead_letter_topic: \"dlq!\" is not a topic name ([A-Za-z0-9._-], "
		   "1 to 249 characters)");
	load_fails("[kafka]\ncheckpoint_topic = .\n", NULL,
		   "%s:2: [kafka] checkpoint_topic: \".\" is not a topic name (Kafka refuses \".\" "
		   "and \"..\")");
	load_fails("[kafka]\ngroup_id =\n", NULL, "%s:2: [kafka] group_id: must not be empty");
	load_fails("[kafka]\nmax_inflight = 0\n", NULL,
		   "%s:2: [kafka] max_inflight: \"0\" is out of range (1 to 1000000)");
	load_fails("[kafka]\nmax_inflight = 1000001\n", NULL,
		   "%s:2: [kafka] max_inflight: \"1000001\" is out of range (1 to 1000000)");

	/* 249 characters is the limit; a file line holds under 200, so set it from the env */
	memset(var, 'a', sizeof(var));
	memcpy(var, "CONSENTD_KAFKA_TOPICS=", 22);
	var[22 + 249] = '\0';
	ck_assert_int_eq(load(&cfg, NULL, env), 0);
	ck_assert_uint_eq(strlen(cfg.kafka.topics.items[0]), 249);
	config_free(&cfg);
	var[22 + 249] = 'a';
	var[22 + 250] = '\0';
	snprintf(want, sizeof(want), "CONSENTD_KAFKA_TOPICS: \"%s\" is not a topic name "
		 "([A-Za-z0-9._-], 1 to 249 characters)", var + 22);
	load_fails(NULL, env, want);
}
END_TEST

/* json_topics must be a subset of topics, checked once every source is applied. */
START_TEST(json_topics_in_topics)
{
	char *env1[] = { "CONSENTD_KAFKA_JSON_TOPICS=x", NULL };
	char *env2[] = { "CONSENTD_KAFKA_TOPICS=a", NULL };
	char *env3[] = { "CONSENTD_KAFKA_TOPICS=c, b", NULL };
	struct config cfg;

	load_fails("[kafka]\ntopics = a, b\njson_topics = b, c\n", NULL,
		   "%s:3: [kafka] json_topics: \"c\" is not in [kafka] topics");
	load_fails(NULL, env1, "CONSENTD_KAFKA_JSON_TOPICS: \"x\" is not in [kafka] topics");
	/* blamed on json_topics even when topics is what changed */
	load_fails("[kafka]\njson_topics = b\ntopics = a, b\n", env2,
		   "%s:2: [kafka] json_topics: \"b\" is not in [kafka] topics");
	load_fails("[kafka]\njson_topics = consent-events, consent-events\n", NULL,
		   "%s:2: [kafka] json_topics: \"consent-events\" is listed twice");

	ck_assert_int_eq(load(&cfg, "[kafka]\njson_topics = b\ntopics = a, b\n", env3), 0);
	ck_assert_str_eq(cfg.kafka.json_topics.items[0], "b");
	config_free(&cfg);
	ck_assert_int_eq(load(&cfg, "[kafka]\njson_topics = consent-events\n", NULL), 0);
	config_free(&cfg);
}
END_TEST

/* config_write prints each entry as property.<name> = value and reads back the same, except
 * secrets (names with "password" or "secret"), which it never prints. */
START_TEST(property_write_round_trip)
{
	char *env[] = { "CONSENTD_KAFKA_PROPERTY_SASL_USERNAME= padded ", NULL };
	struct config a, b;
	char *first, *second;

	ck_assert_int_eq(load(&a, "[kafka]\nproperty.security.protocol = SASL_SSL\n"
				  "property.client.id =\nproperty.ssl.key.password = \"q\n",
			      env),
			 0);
	first = written(&a);
	ck_assert_ptr_nonnull(strstr(first, "\n[kafka]\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nproperty.security.protocol = SASL_SSL\n"
					    "property.client.id =\n"
					    "property.ssl.key.password = (redacted)\n"
					    "property.sasl.username = \" padded \"\n"));
	ck_assert_ptr_null(strstr(first, "\"q"));
	ck_assert_ptr_null(strstr(first, "\nproperty ="));
	ck_assert_ptr_nonnull(strstr(first, "\n[daemon]\n"));

	ck_assert_int_eq(load(&b, first, NULL), 0);
	second = written(&b);
	ck_assert_str_eq(first, second);
	ck_assert_str_eq(b.kafka.property.values[2], "(redacted)");
	ck_assert_str_eq(b.kafka.property.values[3], " padded ");
	free(first);
	free(second);
	config_free(&a);
	config_free(&b);

	/* an empty map writes no key line, only its help */
	ck_assert_int_eq(load(&a, NULL, NULL), 0);
	first = written(&a);
	ck_assert_ptr_null(strstr(first, "\nproperty"));
	ck_assert_ptr_nonnull(strstr(first, "\n#   property.security.protocol = SASL_SSL\n"));
	free(first);
	config_free(&a);
}
END_TEST

/* The commented property.* examples in config/consentd.conf are valid once uncommented. */
START_TEST(example_properties)
{
	const char *srcdir = getenv("CONSENTD_TEST_SRCDIR");
	char example[512], line[512], *text = NULL;
	size_t len = 0;
	struct config cfg;
	FILE *in, *out;

	ck_assert_msg(srcdir != NULL, "CONSENTD_TEST_SRCDIR is not set (run through meson test)");
	snprintf(example, sizeof(example), "%s/config/consentd.conf", srcdir);
	in = fopen(example, "r");
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), in))
		fputs(strncmp(line, "# property.", 11) ? line : line + 2, out);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_msg(load(&cfg, text, NULL) == 0, "%s", err);
	ck_assert_uint_ge(cfg.kafka.property.n, 1);
	ck_assert_str_eq(cfg.kafka.property.keys[0], "security.protocol");
	free(text);
	config_free(&cfg);
}
END_TEST

static Suite *config_kafka_suite(void)
{
	Suite *s = suite_create("config_kafka");
	TCase *tc = tcase_create("config_kafka");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, kafka_defaults);
	tcase_add_test(tc, kafka_file_values);
	tcase_add_test(tc, property_from_file);
	tcase_add_test(tc, property_from_env);
	tcase_add_test(tc, property_bad_names);
	tcase_add_test(tc, topic_names);
	tcase_add_test(tc, json_topics_in_topics);
	tcase_add_test(tc, property_write_round_trip);
	tcase_add_test(tc, example_properties);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_kafka_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
