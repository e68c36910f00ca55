/* consentd's lifecycle. Owns every module instance; modules get what they need explicitly. */
#include "core/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "auth/tokens.h"
#include "config/config.h"
#include "core/signals.h"
#include "core/watchdog.h"
#include "event/event.h"
#include "ingest/http.h"
#include "ingest/kafka.h"
#include "ledger/note.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "store/project.h"
#include "store/reader.h"
#include "store/store.h"
#include "store/writer.h"

#define DRAIN_POLL_MS 20
#define SUBJECT_KEYFILE_MAX 4096

enum daemon_state { DAEMON_RUNNING, DAEMON_DRAINING, DAEMON_STOPPED };

struct daemon {
	const struct daemon_opts *opts;
	struct config cfg;
	struct event_policy policy;
	struct subject_keyring keys;
	struct auth_tokens *tokens;
	struct note_signer *signer;
	struct project_context compliance; /* data-rights rules: jurisdiction, holiday calendar */
	int checkpoint_fd;
	struct event_base *base;
	struct metrics *metrics;
	struct watchdog *watchdog;
	struct writer *writer;
	struct reader *reader;
	struct http_ingest *http;
	struct kafka_ingest *kafka;
	struct signals *signals;
	struct event *drain_ev;
	enum daemon_state state;
	int64_t drain_deadline_us;
};

static int load_keys(struct daemon *d)
{
	char text[SUBJECT_KEYFILE_MAX], err[512];
	int n = secretfile_read(d->cfg.ledger.subject_key_file, (uint8_t *)text, sizeof(text), err,
				sizeof(err));

	if (n < 0) {
		log_error("main", "[ledger] subject_key_file: %s", err);
		return n;
	}
	if (subject_keyring_parse(text, (size_t)n, &d->keys, err, sizeof(err)) < 0) {
		log_error("main", "[ledger] subject_key_file: %s: %s", d->cfg.ledger.subject_key_file, err);
		n = -EINVAL;
	}
	memset(text, 0, sizeof(text));
	return n < 0 ? n : 0;
}

static int load_compliance(struct daemon *d)
{
	char err[512];
	int rc = store_project_context(&d->cfg.compliance, &d->compliance, err, sizeof(err));

	if (rc < 0)
		log_error("main", "%s", err);
	return rc;
}

/* The checkpoint signing key: refused if others may read it; none configured = no checkpoints. */
static int load_signer(struct daemon *d)
{
	char text[1024], err[512];
	int n;

	if (!d->cfg.ledger.signing_key_file[0]) {
		log_warn("main", "[ledger] signing_key_file is not set: no signed checkpoints will be "
				 "written (create a key with `consentctl keygen %s`)", d->cfg.ledger.origin);
		return 0;
	}
	n = secretfile_read(d->cfg.ledger.signing_key_file, (uint8_t *)text, sizeof(text) - 1, err,
			    sizeof(err));
	if (n < 0) {
		log_error("main", "[ledger] signing_key_file: %s", err);
		return n;
	}
	text[n] = '\0';
	text[strcspn(text, "\r\n")] = '\0';
	n = note_signer_parse(text, &d->signer);
	memset(text, 0, sizeof(text));
	if (n < 0) {
		log_error("main", "[ledger] signing_key_file %s is not an Ed25519 signer key",
			  d->cfg.ledger.signing_key_file);
		return n;
	}
	if (strcmp(note_signer_name(d->signer), d->cfg.ledger.origin) != 0) {
		log_error("main", "[ledger] the signing key is named %s but origin is %s: they must match",
			  note_signer_name(d->signer), d->cfg.ledger.origin);
		return -EINVAL;
	}
	return 0;
}

static int open_checkpoint_file(struct daemon *d)
{
	char path[4096];

	d->checkpoint_fd = -1;
	if (!d->cfg.ledger.checkpoint_dir[0])
		return 0;
	snprintf(path, sizeof(path), "%s/checkpoints", d->cfg.ledger.checkpoint_dir);
	d->checkpoint_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (d->checkpoint_fd < 0) {
		log_error("main", "[ledger] checkpoint_dir: cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Writer thread: copies of every checkpoint outside the database, where a DBA cannot reach. */
static void publish_checkpoint(const char *note, uint64_t tree_size, void *arg)
{
	struct daemon *d = arg;
	size_t len = strlen(note);

	if (d->checkpoint_fd >= 0 &&
	    (write(d->checkpoint_fd, note, len) != (ssize_t)len || fdatasync(d->checkpoint_fd) < 0))
		log_error("checkpoint", "appending checkpoint %llu to %s/checkpoints: %s",
			  (unsigned long long)tree_size, d->cfg.ledger.checkpoint_dir, strerror(errno));
	if (d->kafka && d->cfg.kafka.checkpoint_topic[0] &&
	    kafka_ingest_publish(d->kafka, d->cfg.kafka.checkpoint_topic, note, len) < 0)
		log_warn("checkpoint", "checkpoint %llu not queued to Kafka topic %s",
			 (unsigned long long)tree_size, d->cfg.kafka.checkpoint_topic);
}

static int load_tokens(struct daemon *d)
{
	struct auth_tokens *t = NULL;
	char err[512] = "";
	int rc = auth_tokens_load(d->cfg.auth.tokens_file, &t, err, sizeof(err));

	if (rc < 0) {
		log_error("main", "[auth] tokens_file: %s", err);
		return rc;
	}
	if (t->n == 0)
		log_warn("main", "[auth] tokens_file %s holds no token: every request will get 401; "
				 "add one with `consentctl token add NAME --scopes ingest`",
			 d->cfg.auth.tokens_file);
	auth_tokens_free(d->tokens);
	d->tokens = t;
	return 0;
}

static int load_config(struct daemon *d)
{
	extern char **environ;
	char err[1024];
	enum log_level level;
	enum log_format format;

	if (config_load(&d->cfg, d->opts->config_path, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "consentd: configuration: %s\n", err);
		return -EINVAL;
	}
	log_level_parse(d->cfg.log.level, &level);
	log_format_parse(d->cfg.log.format, &format);
	if (log_setup(level, format, d->cfg.log.file) < 0) {
		fprintf(stderr, "consentd: [log] file: cannot open %s\n", d->cfg.log.file);
		return -EINVAL;
	}
	d->policy.purposes = d->cfg.consent.purposes.items;
	d->policy.n_purposes = d->cfg.consent.purposes.n;
	d->policy.vendors = d->cfg.consent.vendors.items;
	d->policy.n_vendors = d->cfg.consent.vendors.n;
	d->policy.max_future_skew_us = d->cfg.ledger.max_future_skew * 1000;
	return 0;
}

/* A database that is reachable but wrong (old schema, superuser) is a start-up error; one that
 * is unreachable is not: the writer keeps trying and /readyz says so. */
static int check_database(struct daemon *d)
{
	char err[512];
	PGconn *c = store_connect(d->cfg.postgres.conninfo, d->cfg.postgres.connect_timeout,
				  "consentd-startup", err, sizeof(err));
	int rc;

	if (!c) {
		log_warn("main", "database unreachable at start-up, will keep trying: %s", err);
		return 0;
	}
	rc = store_check_ready(c, d->cfg.postgres.allow_superuser, err, sizeof(err));
	if (rc == 0)
		rc = store_project_prepare(c, err, sizeof(err));
	PQfinish(c);
	if (rc == -ESTALE || rc == -EPERM) {
		log_error("main", "%s", err);
		return rc;
	}
	return 0;
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
	size_t pending = http_ingest_pending(d->http) + kafka_ingest_inflight(d->kafka);
	size_t depth = writer_depth(d->writer);

	if ((pending == 0 && depth == 0) || now_us() > d->drain_deadline_us) {
		if (pending || depth)
			log_error("main", "drain deadline passed with %zu requests and %zu events pending",
				  pending, depth);
		event_base_loopexit(d->base, NULL);
		return;
	}
	evtimer_add(d->drain_ev, &tv);
}

static void on_stop(int signo, void *arg)
{
	struct daemon *d = arg;

	if (d->state == DAEMON_DRAINING) {
		/* Safe: nothing is acknowledged before it is committed, so nothing acknowledged is lost;
		 * what was in flight is answered by no one and will be retried by its source. */
		log_warn("main", "second signal %d: exiting now, without draining", signo);
		log_close();
		_exit(1);
	}
	log_info("main", "signal %d: draining (stop accepting, commit what is queued)", signo);
	sd_notify(0, "STOPPING=1");
	d->state = DAEMON_DRAINING;
	d->drain_deadline_us = now_us() + d->cfg.daemon.shutdown_timeout * 1000;
	http_ingest_stop_accepting(d->http);
	kafka_ingest_drain(d->kafka);
	drain_tick(-1, 0, d);
}

/* nginx-style: read the whole file again; on any error keep running with what we have. Only
 * tokens, logging and the HTTP listener's TLS certificate, key and CA files change live (the
 * files are reread even if the configuration does not load); the rest needs a restart. */
static void on_reload(int signo, void *arg)
{
	extern char **environ;
	struct daemon *d = arg;
	struct config fresh = { 0 };
	enum log_level level;
	enum log_format format;
	char err[1024];

	sd_notify(0, "RELOADING=1");
	log_info("main", "SIGHUP: reloading configuration, tokens and log");
	if (config_load(&fresh, d->opts->config_path, environ, err, sizeof(err)) < 0) {
		log_error("main", "reload: %s; keeping the running configuration", err);
		http_ingest_reload(d->http, &d->cfg.http);
	} else {
		log_level_parse(fresh.log.level, &level);
		log_format_parse(fresh.log.format, &format);
		if (log_setup(level, format, fresh.log.file) < 0)
			log_error("main", "reload: cannot open log file %s", fresh.log.file);
		http_ingest_reload(d->http, &fresh.http);
		config_free(&fresh);
	}
	if (load_tokens(d) < 0)
		log_error("main", "reload: keeping the previous tokens");
	sd_notify(0, "READY=1");
}

static int start_kafka(struct daemon *d)
{
	struct kafka_deps kd = {
		.cfg = &d->cfg.kafka, .policy = &d->policy, .keys = &d->keys, .writer = d->writer,
		.metrics = d->metrics,
	};
	char err[512];
	int rc;

	if (!d->cfg.kafka.brokers[0])
		return 0;
	d->kafka = kafka_ingest_new(d->base, &kd, err, sizeof(err));
	if (!d->kafka) {
		log_error("main", "%s", err);
		return -EINVAL;
	}
	if ((rc = kafka_ingest_start(d->kafka, err, sizeof(err))) < 0)
		log_error("main", "%s", err);
	return rc;
}

static int start(struct daemon *d)
{
	struct writer_config wc = {
		.conninfo = d->cfg.postgres.conninfo,
		.connect_timeout_ms = d->cfg.postgres.connect_timeout,
		.allow_superuser = d->cfg.postgres.allow_superuser,
		.batch_max = (size_t)d->cfg.ledger.batch_max,
		.batch_delay_ms = d->cfg.ledger.batch_delay,
		.queue_max = (size_t)d->cfg.ledger.queue_max,
		.signer = d->signer,
		.origin = d->cfg.ledger.origin,
		.checkpoint_interval_ms = d->cfg.ledger.checkpoint_interval,
		.publish = publish_checkpoint,
		.publish_arg = d,
		.rights = &d->compliance.rights,
	};
	struct http_deps hd = {
		.cfg = &d->cfg.http, .policy = &d->policy, .keys = &d->keys,
		.tokens = &d->tokens, .postgres = &d->cfg.postgres,
	};
	char err[512];
	int rc;

	if (evthread_use_pthreads() < 0 || !(d->base = event_base_new()) ||
	    !(d->metrics = metrics_new(CONSENTD_VERSION, now_us())))
		return -ENOMEM;
	wc.metrics = hd.metrics = d->metrics;
	if ((rc = check_database(d)) < 0)
		return rc;
	d->writer = writer_new(d->base, &wc);
	if (!d->writer || (rc = writer_start(d->writer)) < 0)
		return rc < 0 ? rc : -ENOMEM;
	hd.writer = d->writer;
	if ((rc = start_kafka(d)) < 0)
		return rc;
	d->reader = reader_new(d->base, d->cfg.postgres.conninfo, d->cfg.postgres.connect_timeout);
	if (!d->reader || (rc = reader_start(d->reader)) < 0)
		return rc < 0 ? rc : -ENOMEM;
	hd.reader = d->reader;
	hd.kafka = d->kafka;
	d->http = http_ingest_new(d->base, &hd);
	if (!d->http)
		return -ENOMEM;
	if ((rc = http_ingest_start(d->http, err, sizeof(err))) < 0) {
		log_error("main", "%s", err);
		return rc;
	}
	d->signals = signals_new(d->base, on_stop, on_reload, d);
	d->drain_ev = evtimer_new(d->base, drain_tick, d);
	if (!d->signals || !d->drain_ev)
		return -ENOMEM;
	return watchdog_start(d->base, d->writer, &d->watchdog);
}

/* Stop in reverse order. The writer hands back what it finished; a few loop turns flush replies. */
static void stop(struct daemon *d)
{
	http_ingest_stop_accepting(d->http);
	kafka_ingest_drain(d->kafka);
	reader_stop(d->reader);
	writer_stop(d->writer);
	if (d->base)
		for (int i = 0; i < 10; i++)
			event_base_loop(d->base, EVLOOP_NONBLOCK);
	kafka_ingest_free(d->kafka); /* after the writer handed back every unit: final commit */
	watchdog_free(d->watchdog);
	signals_free(d->signals);
	if (d->drain_ev)
		event_free(d->drain_ev);
	http_ingest_free(d->http);
	reader_free(d->reader);
	writer_free(d->writer);
	metrics_free(d->metrics); /* after everything that counts into it */
	note_signer_free(d->signer);
	store_project_context_free(&d->compliance);
	if (d->checkpoint_fd >= 0)
		close(d->checkpoint_fd);
	if (d->base)
		event_base_free(d->base);
	auth_tokens_free(d->tokens);
	memset(&d->keys, 0, sizeof(d->keys));
	config_free(&d->cfg);
}

int daemon_main(const struct daemon_opts *opts)
{
	struct daemon d = { .opts = opts };
	int rc;

	if (load_config(&d) < 0)
		return 1;
	d.checkpoint_fd = -1;
	if ((rc = load_keys(&d)) < 0 || (rc = load_tokens(&d)) < 0 || (rc = load_signer(&d)) < 0 ||
	    (rc = load_compliance(&d)) < 0 || (!opts->check_only && (rc = open_checkpoint_file(&d)) < 0))
		goto out;
	if (opts->check_only) {
		config_write(&d.cfg, stdout);
		fprintf(stderr, "consentd: configuration OK\n");
		goto out;
	}
	if ((rc = start(&d)) < 0)
		goto out;
	log_info("main", "consentd %s ready", CONSENTD_VERSION);
	sd_notify(0, "READY=1");
	event_base_dispatch(d.base);
	log_info("main", "stopped");
out:
	stop(&d);
	log_close();
	return rc < 0 ? 1 : 0;
}
