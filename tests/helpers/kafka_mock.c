/* A real Kafka-protocol cluster for tests: librdkafka's mock cluster (brokers on loopback TCP,
 * topics, consumer groups, offset commits), driven over stdin so that tests can inject faults.
 *
 *   kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Prints "BOOTSTRAP <host:port,...>" once ready, then answers each command line with "OK" or
 * "ERR <reason>":  topic NAME PARTITIONS | broker_down ID | broker_up ID | quit
 * Note: each mock partition keeps only about 5 MiB or 100,000 messages. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec)
{
	char name[256];
	int parts = 1;

	if (sscanf(spec, "%255[^:]:%d", name, &parts) < 1 || parts < 1)
		return -1;
	return rd_kafka_mock_topic_create(mc, name, parts, 1) ? -1 : 0;
}

static void serve(rd_kafka_mock_cluster_t *mc)
{
	char line[512], a[256];
	int n;

	while (fgets(line, sizeof(line), stdin)) {
		int ok = -1;

		if (sscanf(line, "topic %255s %d", a, &n) == 2) {
			char spec[300];

			snprintf(spec, sizeof(spec), "%s:%d", a, n);
			ok = create_topic(mc, spec);
		} else if (sscanf(line, "broker_down %d", &n) == 1) {
			ok = rd_kafka_mock_broker_set_down(mc, n) ? -1 : 0;
		} else if (sscanf(line, "broker_up %d", &n) == 1) {
			ok = rd_kafka_mock_broker_set_up(mc, n) ? -1 : 0;
		} else if (strncmp(line, "quit", 4) == 0) {
			printf("OK\n");
			fflush(stdout);
			return;
		}
		printf(ok == 0 ? "OK\n" : "ERR %s", ok == 0 ? "" : line);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	char err[256];
	rd_kafka_t *rk;
	int brokers = 3;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--brokers") == 0)
			brokers = atoi(argv[i + 1]);
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kafka-mock: %s\n", err);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
		return 1;
	}
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--topic") == 0 && create_topic(mc, argv[i + 1]) < 0) {
			fprintf(stderr, "kafka-mock: bad --topic %s\n", argv[i + 1]);
			return 2;
		}
	printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	serve(mc);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
