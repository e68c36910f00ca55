/* Configuration shared by consentd and consentctl: an INI file (inih) whose every key can be
 * overridden by the environment variable CONSENTD_<SECTION>_<KEY>. The keys are declared once,
 * in a table in config.c (section, key, type, default, help), and equal the struct field names.
 * Unknown keys and bad values are errors naming the key. No globals: the caller owns the struct. */
#ifndef CONSENTD_CONFIG_H
#define CONSENTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A list value: "a, b, c" in the file or the environment. */
struct config_list {
	char **items;
	size_t n;
};

/* A prefix map: "property.a.b = v" lines in a section, in file order. */
struct config_map {
	char **keys;   /* without the prefix: "a.b" */
	char **values;
	size_t n;
};

struct config_http {
	char *listen;             /* "host:port"; default 127.0.0.1:8080 */
	int64_t max_body;         /* bytes; default 1 MiB */
	int64_t max_batch;        /* events per request; default 1000 */
	int64_t request_timeout;  /* ms; default 10 s: answer 503 if the ledger has not committed */
	int64_t idle_timeout;     /* ms; default 60 s: close connections that send nothing this long */
	int64_t read_timeout;     /* ms; default 30 s: a whole request must arrive within it */
	int64_t max_connections;  /* default 1024; more wait in the listen backlog */
	int64_t max_header_size;  /* bytes; default 16 KiB: request line and header fields, 431 */
	int64_t max_headers;      /* header fields per request; default 100: 431 */
	int64_t rate_limit;       /* requests per second per token; default 0 = no limit: 429 */
	int64_t rate_burst;       /* requests a token may send at once; default 0 = rate_limit */
	char *tls_cert_file;      /* PEM certificate chain; default "" = plain HTTP */
	char *tls_key_file;       /* PEM private key of tls_cert_file */
	char *tls_client_ca_file; /* PEM CAs that client certificates must chain to; "" = none asked */
};

struct config_postgres {
	char *conninfo;           /* libpq connection string; default "" (libpq's own defaults) */
	bool allow_superuser;     /* default false: refuse to run as a superuser role */
	int64_t connect_timeout;  /* ms; default 5 s */
};

struct config_auth {
	char *tokens_file;        /* default "/etc/consentd/tokens" */
};

struct config_ledger {
	char *subject_key_file;   /* default "/etc/consentd/subject.key" */
	int64_t max_future_skew;  /* ms; default 5 min */
	int64_t batch_max;        /* events per transaction; default 1000 */
	int64_t batch_delay;      /* ms to wait for more events before committing; default 0 */
	int64_t queue_max;        /* events queued to the writer before 503; default 100000 */
	char *signing_key_file;   /* Ed25519 checkpoint key (consentctl keygen); "" = no checkpoints */
	char *origin;             /* checkpoint origin line and key name; default "consentd.local/ledger" */
	int64_t checkpoint_interval; /* ms; default 1 s */
	char *checkpoint_dir;     /* where signed checkpoints are appended; "" = none */
};

/* No brokers: Kafka is off and consentd takes HTTP only. */
struct config_kafka {
	char *brokers;                 /* bootstrap servers; default "" (disabled) */
	struct config_list topics;     /* default "consent-events" */
	char *group_id;                /* default "consentd" */
	char *dead_letter_topic;       /* default "" (none) */
	struct config_list json_topics; /* topics whose payload is JSON; default "" */
	int64_t max_inflight;          /* messages awaiting commit before fetching pauses; 10000 */
	char *checkpoint_topic;        /* signed checkpoints are also produced here; default "" */
	struct config_map property;    /* librdkafka properties passed through (property.X = v) */
};

struct config_daemon {
	int64_t shutdown_timeout;      /* ms; default 30 s: drain deadline after SIGTERM */
};

struct config_consent {
	struct config_list purposes; /* default essential, analytics, advertising, functional */
	struct config_list vendors;  /* default google_tag_manager, google_analytics_4, ... */
};

struct config_compliance {
	char *default_jurisdiction; /* gdpr | ccpa; default gdpr */
	char *holiday_calendar;     /* path; default "" = none */
};

struct config_log {
	char *level;              /* error | warn | info | debug; default info */
	char *format;             /* logfmt | json; default logfmt */
	char *file;               /* default "" = stderr */
};

/* Field encryption under per-subject data keys wrapped by these master keys (docs/privacy.md). */
struct config_privacy {
	char *master_key_file;    /* lines "<version> <64 hex>", mode 0600; default "" = off */
};

struct config {
	struct config_http http;
	struct config_postgres postgres;
	struct config_auth auth;
	struct config_ledger ledger;
	struct config_consent consent;
	struct config_compliance compliance;
	struct config_log log;
	struct config_kafka kafka;
	struct config_daemon daemon;
	struct config_privacy privacy;
};

/* Fills cfg with defaults, then the file (path may be NULL: defaults and environment only), then
 * the environment (envp: NULL-terminated "NAME=value" strings, usually environ). On error returns
 * a negative errno, writes "file:line: [section] key: reason" or "CONSENTD_X_Y: reason" into err,
 * and leaves cfg freed. */
int config_load(struct config *cfg, const char *path, char *const *envp, char *err, size_t errlen);
void config_free(struct config *cfg);
/* Writes the effective configuration as INI (for --check-config and docs). */
void config_write(const struct config *cfg, FILE *out);

/* Parsers used by the table, exposed for tests: "250ms", "5s", "10m", "2h", "1d", bare = seconds. */
int config_parse_duration_ms(const char *s, int64_t *out);
/* "1048576", "512k", "1M", "1MiB", "2G" (binary multiples). */
int config_parse_size(const char *s, int64_t *out);
/* "true|false|yes|no|on|off|1|0". */
int config_parse_bool(const char *s, bool *out);

#endif
