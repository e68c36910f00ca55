/* Configuration: the one table of every key (section, key, type, default, range, check, help),
 * loading defaults, then the INI file, then the environment, and writing the result back out.
 * The value types and checks the rows name are in config_types.c. */
#include "config/config_internal.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One key. Numeric types are range-checked against [min, max]; check, if set, validates the
 * parsed field further. Defaults go through the same parser and checks as user values. */
struct row {
	const char *section;
	const char *key;
	enum config_type type;
	size_t offset;
	const char *def;
	int64_t min, max;
	int (*check)(const void *field, char *why, size_t whylen);
	const char *help;
};

/* The key is the field name, so the two cannot drift apart. */
#define ROW(sec, name, type, def, min, max, check, help)                                         \
	{ #sec, #name, type, offsetof(struct config, sec.name), def, min, max, check, help }

static const struct row rows[] = {
	ROW(http, listen, T_STRING, "127.0.0.1:8080", 0, 0, config_check_listen,
	    "Address to accept HTTP on, as host:port; an IPv6 host in brackets, e.g. [::1]:8080."),
	ROW(http, max_body, T_SIZE, "1M", KIB, GIB, NULL,
	    "Largest request body accepted (1k to 1G); a larger one is answered 413."),
	ROW(http, max_batch, T_INT, "1000", 1, 100000, NULL,
	    "Most events accepted in one request (1 to 100000)."),
	ROW(http, request_timeout, T_DURATION_MS, "10s", 1, DAY, NULL,
	    "Answer 503 if the ledger has not committed a request's events within this time."),
	ROW(http, idle_timeout, T_DURATION_MS, "60s", 1, DAY, NULL,
	    "Close a connection that sends nothing for this long: between keep-alive requests,\n"
	    "or stalled inside one."),
	ROW(http, read_timeout, T_DURATION_MS, "30s", 1, DAY, NULL,
	    "A request's line, headers and body must all arrive within this long, counted from\n"
	    "the connection's accept (first request) or the request's first byte; else the\n"
	    "connection is closed. Cuts off clients that trickle a request byte by byte."),
	ROW(http, max_connections, T_INT, "1024", 1, 1000000, NULL,
	    "Most client connections open at once; further ones wait in the listen backlog\n"
	    "until one closes."),
	ROW(http, max_header_size, T_SIZE, "16k", KIB, MIB, NULL,
	    "Largest request line and header fields (1k to 1M); larger is answered 431, and\n"
	    "above twice this size libevent itself answers 400."),
	ROW(http, max_headers, T_INT, "100", 1, 10000, NULL,
	    "Most header fields in one request (1 to 10000); more is answered 431."),
	ROW(http, rate_limit, T_INT, "0", 0, 1000000, NULL,
	    "Requests per second each token may make on average (429 beyond it); 0: no limit."),
	ROW(http, rate_burst, T_INT, "0", 0, 1000000, NULL,
	    "Requests a token may make at once before rate_limit applies; 0: rate_limit."),
	ROW(http, tls_cert_file, T_STRING, "", 0, 0, NULL,
	    "PEM certificate (chain) to serve HTTPS with; empty: plain HTTP. Reread on SIGHUP."),
	ROW(http, tls_key_file, T_STRING, "", 0, 0, NULL,
	    "PEM private key of tls_cert_file; others may not read it. Reread on SIGHUP."),
	ROW(http, tls_client_ca_file, T_STRING, "", 0, 0, NULL,
	    "PEM CA certificates; when set, every client must present a certificate signed by\n"
	    "one of them (mutual TLS). Empty: no client certificate is asked for."),
	ROW(postgres, conninfo, T_STRING, "", 0, 0, NULL,
	    "libpq connection string or URI; empty uses libpq's defaults and PG* variables."),
	ROW(postgres, allow_superuser, T_BOOL, "false", 0, 0, NULL,
	    "Allow connecting as a superuser role; refused by default."),
	ROW(postgres, connect_timeout, T_DURATION_MS, "5s", 1, DAY, NULL,
	    "Give up on a connection attempt to PostgreSQL after this long."),
	ROW(auth, tokens_file, T_STRING, "/etc/consentd/tokens", 0, 0, NULL,
	    "Bearer tokens (lines \"name scopes sha256hex\"), managed with consentctl token;\n"
	    "reread on SIGHUP."),
	ROW(ledger, subject_key_file, T_STRING, "/etc/consentd/subject.key", 0, 0, NULL,
	    "Keys that pseudonymise subject identifiers; mode 0600 (owner only)."),
	ROW(ledger, max_future_skew, T_DURATION_MS, "5m", 0, DAY, NULL,
	    "Reject events whose timestamp is further than this in the future."),
	ROW(ledger, batch_max, T_INT, "1000", 1, 100000, NULL,
	    "Most events committed in one transaction (1 to 100000)."),
	ROW(ledger, batch_delay, T_DURATION_MS, "0", 0, DAY, NULL,
	    "How long to wait for more events before committing a batch; 0 commits at once."),
	ROW(ledger, queue_max, T_INT, "100000", 1, INT32_MAX, NULL,
	    "Events queued for the ledger writer before requests get 503; at least batch_max."),
	ROW(ledger, signing_key_file, T_STRING, "", 0, 0, NULL,
	    "Ed25519 key that signs checkpoints (made by consentctl keygen), mode 0600;\n"
	    "empty: no checkpoints."),
	ROW(ledger, origin, T_STRING, "consentd.local/ledger", 0, 0, config_check_origin,
	    "Names this ledger in its checkpoints and signatures; printable ASCII, no spaces or '+'."),
	ROW(ledger, checkpoint_interval, T_DURATION_MS, "1s", 10, DAY, NULL,
	    "Time between signed checkpoints (at least 10ms)."),
	ROW(ledger, checkpoint_dir, T_STRING, "", 0, 0, NULL,
	    "Directory that signed checkpoints are also appended to; empty: none."),
	ROW(consent, purposes, T_LIST, "essential, analytics, advertising, functional", 0, 0,
	    config_check_purposes,
	    "Purposes an event may name ([a-z0-9_], up to 64 characters); must include essential."),
	ROW(consent, vendors, T_LIST,
	    "google_tag_manager, google_analytics_4, microsoft_clarity, sentry, google_oauth, "
	    "stripe",
	    0, 0, config_check_names,
	    "Vendors an event may name, same form as purposes; empty allows any such name."),
	ROW(compliance, default_jurisdiction, T_STRING, "gdpr", 0, 0, config_check_jurisdiction,
	    "Deadline policy of data-rights requests that name no jurisdiction: gdpr or ccpa."),
	ROW(compliance, holiday_calendar, T_STRING, "", 0, 0, NULL,
	    "File of holidays (YYYY-MM-DD per line) and \"weekend = sat,sun\" that roll a due date\n"
	    "to the next working day; empty: calendar days. Changing it needs consentctl rebuild."),
	ROW(log, level, T_STRING, "info", 0, 0, config_check_level,
	    "Least severe level logged: error, warn, info or debug."),
	ROW(log, format, T_STRING, "logfmt", 0, 0, config_check_format,
	    "Log line format: logfmt or json."),
	ROW(log, file, T_STRING, "", 0, 0, NULL,
	    "Log to this file (reopened on SIGHUP); empty logs to stderr."),
	ROW(kafka, brokers, T_STRING, "", 0, 0, NULL,
	    "Bootstrap brokers, host:port[,host:port...]; empty turns Kafka off (HTTP only)."),
	ROW(kafka, topics, T_LIST, "consent-events", 0, 0, config_check_topics,
	    "Topics to consume events from ([A-Za-z0-9._-], up to 249 characters)."),
	ROW(kafka, group_id, T_STRING, "consentd", 0, 0, config_check_nonempty,
	    "Consumer group to consume the topics as; must not be empty."),
	ROW(kafka, dead_letter_topic, T_STRING, "", 0, 0, config_check_topic,
	    "Topic that rejected messages are produced to; empty: none."),
	ROW(kafka, json_topics, T_LIST, "", 0, 0, config_check_topics,
	    "Topics, each also in topics, whose messages are JSON rather than protobuf."),
	ROW(kafka, max_inflight, T_INT, "10000", 1, 1000000, NULL,
	    "Messages awaiting commit before fetching pauses (1 to 1000000)."),
	ROW(kafka, checkpoint_topic, T_STRING, "", 0, 0, config_check_topic,
	    "Topic that signed checkpoints are also produced to; empty: none."),
	ROW(kafka, property, T_MAP, "", 0, 0, NULL,
	    "librdkafka properties passed through, one per line as property.<name> = value\n"
	    "([a-z0-9.]), e.g.\n"
	    "  property.security.protocol = SASL_SSL\n"
	    "CONSENTD_KAFKA_PROPERTY_<NAME> sets one too (upper case, '_' for '.')."),
	ROW(daemon, shutdown_timeout, T_DURATION_MS, "30s", 1, DAY, NULL,
	    "After SIGTERM, exit after this long even if draining has not finished."),
	ROW(privacy, master_key_file, T_STRING, "", 0, 0, NULL,
	    "Master keys (lines \"<version> <64 hex digits>\", made by consentctl privacy keygen)\n"
	    "that wrap per-subject data keys, mode 0600; the highest version wraps, every version\n"
	    "unwraps. Empty: privacy features off."),
};

#define NROWS ARRAY_SIZE(rows)

static bool is_keyed(const struct row *r)
{
	return config_types[r->type].parse_entry != NULL;
}

/* text is the value as written, which says more than the number it parsed to. */
static int check_range(const struct row *r, const char *text, const void *field, char *why,
		       size_t whylen)
{
	char lo[32], hi[32];

	if (field && *(const int64_t *)field >= r->min && *(const int64_t *)field <= r->max)
		return 0;
	config_format_num(r->type, r->min, lo, sizeof(lo));
	config_format_num(r->type, r->max, hi, sizeof(hi));
	snprintf(why, whylen, "\"%s\" is out of range (%s to %s)", text, lo, hi);
	return -ERANGE;
}

/* ---- Loading ------------------------------------------------------------------------------ */

enum origin { FROM_DEFAULT, FROM_FILE, FROM_ENV };

struct load {
	struct config *cfg;
	const char *path;
	FILE *fp;
	char *err;
	size_t errlen;
	int rc;             /* the first error; only it is reported */
	int err_line;       /* its file line, 0 if none */
	int line;           /* the line the reader handed to inih last */
	bool indented;      /* that line starts with white space */
	bool after_key;     /* a key since the last [section]: indented lines continue it */
	const struct row *pend; /* the file value being read, applied when complete */
	char *pend_name;    /* its entry name if pend is keyed, else NULL */
	char *pend_text;
	int pend_line;
	bool pend_continued;
	enum origin origin[NROWS];
	int line_of[NROWS];
};

static int fail(struct load *st, int rc, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct load *st, int rc, int line, const char *fmt, ...)
{
	va_list ap;

	if (st->rc < 0)
		return st->rc;
	st->rc = rc;
	st->err_line = line;
	if (st->err && st->errlen) {
		va_start(ap, fmt);
		vsnprintf(st->err, st->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* CONSENTD_<SECTION>_<KEY>, and for an entry of a keyed row _<NAME> with '_' for '.'. */
static void env_name(const struct row *r, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "CONSENTD_%s_%s%s%s", r->section, r->key, name ? "_" : "",
		 name ? name : "");
	for (char *p = out; *p; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
}

/* The row of section and key; a keyed row takes "<key>.<name>" and sets *name to name. */
static const struct row *find_row(const char *section, const char *key, const char **name)
{
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		size_t len = strlen(r->key);

		if (strcmp(r->section, section))
			continue;
		if (!is_keyed(r) && !strcmp(r->key, key)) {
			*name = NULL;
			return r;
		}
		if (is_keyed(r) && !strncmp(r->key, key, len) && key[len] == '.') {
			*name = key + len + 1;
			return r;
		}
	}
	return NULL;
}

/* Reports a bad value of r (of its entry name, if keyed), prefixed by where it came from. */
static int fail_value(struct load *st, const struct row *r, const char *name, int rc,
		      const char *why)
{
	size_t i = (size_t)(r - rows);
	char var[256];

	switch (st->origin[i]) {
	case FROM_FILE:
		return fail(st, rc, st->line_of[i], "%s:%d: [%s] %s%s%s: %s", st->path,
			    st->line_of[i], r->section, r->key, name ? "." : "", name ? name : "",
			    why);
	case FROM_ENV:
		env_name(r, name, var, sizeof(var));
		return fail(st, rc, 0, "%s: %s", var, why);
	default:
		return fail(st, rc, 0, "[%s] %s: default: %s", r->section, r->key, why);
	}
}

/* Sets r's field from text, or with name its entry name. */
static int apply(struct load *st, const struct row *r, enum origin from, int line,
		 const char *name, const char *text)
{
	const struct config_type_ops *ops = &config_types[r->type];
	void *field = (char *)st->cfg + r->offset;
	char why[512] = "";
	int rc;

	st->origin[r - rows] = from;
	st->line_of[r - rows] = line;
	if (name)
		rc = ops->parse_entry(name, text, field, why, sizeof(why));
	else
		rc = ops->parse(text, field, why, sizeof(why));
	if (rc == -ERANGE) /* too large even for int64 */
		rc = check_range(r, text, NULL, why, sizeof(why));
	else if (rc == 0 && ops->numeric)
		rc = check_range(r, text, field, why, sizeof(why));
	if (rc == 0 && r->check)
		rc = r->check(field, why, sizeof(why));
	return rc < 0 ? fail_value(st, r, name, rc, why) : 0;
}

/* Applies the file value read so far; one pair of surrounding double quotes is dropped. */
static int flush(struct load *st)
{
	const struct row *r = st->pend;
	char *text = st->pend_text;
	size_t len = text ? strlen(text) : 0;
	bool first;
	int rc;

	if (!r)
		return 0;
	if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
		text[len - 1] = '\0';
		text++;
	}
	first = st->rc == 0;
	rc = apply(st, r, FROM_FILE, st->pend_line, st->pend_name, text);
	if (rc < 0 && first && st->pend_continued && st->err && st->errlen) {
		len = strlen(st->err);
		snprintf(st->err + len, st->errlen - len, " (indented lines continue the value)");
	}
	free(st->pend_text);
	free(st->pend_name);
	st->pend_text = NULL;
	st->pend_name = NULL;
	st->pend = NULL;
	st->pend_continued = false;
	return rc;
}

/* fgets for inih that counts lines, notes indentation, and refuses lines that would not fit
 * inih's line buffer (it would silently split them). */
static char *read_line(char *str, int num, void *stream)
{
	struct load *st = stream;
	size_t len;
	int c;

	if (st->rc < 0 || !fgets(str, num, st->fp))
		return NULL;
	st->line++;
	len = strlen(str);
	if (len && str[len - 1] != '\n' && (c = getc(st->fp)) != EOF && c != '\n') {
		fail(st, -EINVAL, st->line,
		     "%s:%d: line longer than %d characters; continue the value on indented lines",
		     st->path, st->line, num - 1);
		return NULL;
	}
	st->indented = str[0] == ' ' || str[0] == '\t';
	/* inih takes an indented line after a key as a continuation, even one starting with '[' */
	if (str[strspn(str, " \t")] == '[' && !(st->indented && st->after_key))
		st->after_key = false;
	return str;
}

/* "key =" followed by indented lines starts the value on the first of them. */
static int join_continuation(struct load *st, const char *value)
{
	size_t len = strlen(st->pend_text);
	char *text = realloc(st->pend_text, len + strlen(value) + 2);

	if (!text)
		return fail(st, -ENOMEM, st->line, "%s:%d: out of memory", st->path, st->line);
	if (len)
		text[len++] = ' ';
	strcpy(text + len, value);
	st->pend_text = text;
	st->pend_continued = true;
	return 0;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load *st = user;
	const struct row *r;
	const char *name;

	if (st->rc < 0)
		return 1; /* only the first error is reported */
	if (st->indented && st->after_key && st->pend)
		return join_continuation(st, value) == 0;
	if (flush(st) < 0)
		return 0;
	st->after_key = true;
	if (!*section)
		return !fail(st, -EINVAL, st->line, "%s:%d: %s: key outside of a [section]",
			     st->path, st->line, key);
	r = find_row(section, key, &name);
	if (!r)
		return !fail(st, -EINVAL, st->line, "%s:%d: [%s] %s: unknown key", st->path,
			     st->line, section, key);
	st->pend_text = strdup(value);
	st->pend_name = name ? strdup(name) : NULL;
	if (!st->pend_text || (name && !st->pend_name))
		return !fail(st, -ENOMEM, st->line, "%s:%d: out of memory", st->path, st->line);
	st->pend = r;
	st->pend_line = st->line;
	return 1;
}

static int load_file(struct load *st)
{
	int rc;

	st->fp = fopen(st->path, "re");
	if (!st->fp)
		return fail(st, -errno, 0, "%s: %s", st->path, strerror(errno));
	rc = ini_parse_stream(read_line, st, on_key, st);
	if (st->rc == 0 && ferror(st->fp))
		fail(st, -EIO, 0, "%s: read error", st->path);
	flush(st);
	fclose(st->fp);
	st->fp = NULL;
	if (rc == -2) {
		st->rc = 0;
		fail(st, -ENOMEM, 0, "%s: out of memory", st->path);
	} else if (rc > 0 && (st->rc == 0 || rc < st->err_line)) {
		st->rc = 0; /* inih found a malformed line before the first error of ours */
		fail(st, -EINVAL, rc, "%s:%d: expected \"key = value\", \"[section]\" or a comment",
		     st->path, rc);
	}
	return st->rc;
}

/* Tools set these; they are not configuration. */
static bool env_ignored(const char *name, size_t len)
{
	return (len == 15 && !strncmp(name, "CONSENTD_CONFIG", len)) ||
	       (len == 24 && !strncmp(name, "CONSENTD_SHARED_TESTDATA", len)) ||
	       !strncmp(name, "CONSENTD_TEST_", 14);
}

/* The row that variable var (len bytes of name) sets; for a keyed row *suffix is set to the
 * <NAME> after CONSENTD_<SECTION>_<KEY>_, else to NULL. */
static const struct row *find_env_row(const char *var, size_t len, const char **suffix)
{
	char name[96];

	*suffix = NULL;
	for (size_t i = 0; i < NROWS; i++) {
		env_name(&rows[i], NULL, name, sizeof(name));
		if (!is_keyed(&rows[i]) && strlen(name) == len && !memcmp(name, var, len))
			return &rows[i];
	}
	for (size_t i = 0; i < NROWS; i++) {
		size_t n;

		if (!is_keyed(&rows[i]))
			continue;
		env_name(&rows[i], "", name, sizeof(name)); /* with the trailing '_' */
		n = strlen(name);
		if (n <= len && !memcmp(name, var, n)) {
			*suffix = var + n;
			return &rows[i];
		}
	}
	return NULL;
}

/* Sets the entry of keyed row r that the variable's <NAME> (n bytes at s) names: upper case
 * letters and digits, '_' for '.'. */
static int apply_env_entry(struct load *st, const struct row *r, const char *var, size_t len,
			   const char *s, size_t n)
{
	char *name = strndup(s, n);
	bool valid = n > 0;
	int rc;

	if (!name)
		return fail(st, -ENOMEM, 0, "%.*s: out of memory", (int)len, var);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			name[i] = '.';
		else if (s[i] >= 'A' && s[i] <= 'Z')
			name[i] = (char)(s[i] - 'A' + 'a');
		else if (s[i] < '0' || s[i] > '9')
			valid = false;
	}
	if (valid)
		rc = apply(st, r, FROM_ENV, 0, name, var + len + 1);
	else
		rc = fail(st, -EINVAL, 0, "%.*s: \"%.*s\" is not a name ([A-Z0-9_]+, '_' for '.')",
			  (int)len, var, (int)n, s);
	free(name);
	return rc;
}

static int load_env(struct load *st, char *const *envp)
{
	for (; *envp; envp++) {
		const char *var = *envp, *eq = strchr(var, '='), *suffix;
		size_t len = eq ? (size_t)(eq - var) : 0;
		const struct row *r;

		if (!eq || strncmp(var, "CONSENTD_", 9) || env_ignored(var, len))
			continue;
		r = find_env_row(var, len, &suffix);
		if (!r)
			return fail(st, -EINVAL, 0,
				    "%.*s: unknown variable (%s names a config key)", (int)len,
				    var, "CONSENTD_<SECTION>_<KEY>");
		if (suffix && apply_env_entry(st, r, var, len, suffix, (size_t)(eq - suffix)) < 0)
			return st->rc;
		if (!suffix && apply(st, r, FROM_ENV, 0, NULL, eq + 1) < 0)
			return st->rc;
	}
	return 0;
}

static bool list_has(const struct config_list *l, const char *item)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], item))
			return true;
	return false;
}

/* Rules that tie two keys together, checked once every source is applied; a failure is blamed
 * on the key that was set (of two that must agree, the second), wherever it was set. */
static int check_across(struct load *st)
{
	const struct config *cfg = st->cfg;
	const char *name;
	char why[512];

	if (cfg->http.tls_cert_file[0] && !cfg->http.tls_key_file[0])
		return fail_value(st, find_row("http", "tls_cert_file", &name), NULL, -EINVAL,
				  "needs [http] tls_key_file too");
	if (!cfg->http.tls_cert_file[0] && cfg->http.tls_key_file[0])
		return fail_value(st, find_row("http", "tls_key_file", &name), NULL, -EINVAL,
				  "needs [http] tls_cert_file too");
	if (cfg->http.tls_client_ca_file[0] && !cfg->http.tls_cert_file[0])
		return fail_value(st, find_row("http", "tls_client_ca_file", &name), NULL, -EINVAL,
				  "needs [http] tls_cert_file (client certificates need TLS)");
	if (cfg->ledger.queue_max < cfg->ledger.batch_max) {
		snprintf(why, sizeof(why), "%lld is less than [ledger] batch_max (%lld)",
			 (long long)cfg->ledger.queue_max, (long long)cfg->ledger.batch_max);
		return fail_value(st, find_row("ledger", "queue_max", &name), NULL, -EINVAL, why);
	}
	for (size_t i = 0; i < cfg->kafka.json_topics.n; i++) {
		const char *topic = cfg->kafka.json_topics.items[i];

		if (list_has(&cfg->kafka.topics, topic))
			continue;
		snprintf(why, sizeof(why), "\"%s\" is not in [kafka] topics", topic);
		return fail_value(st, find_row("kafka", "json_topics", &name), NULL, -EINVAL, why);
	}
	return 0;
}

int config_load(struct config *cfg, const char *path, char *const *envp, char *err, size_t errlen)
{
	struct load st = { .cfg = cfg, .path = path, .err = err, .errlen = errlen };

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	for (size_t i = 0; i < NROWS; i++)
		if (apply(&st, &rows[i], FROM_DEFAULT, 0, NULL, rows[i].def) < 0)
			goto out;
	if (path && load_file(&st) < 0)
		goto out;
	if (envp && load_env(&st, envp) < 0)
		goto out;
	check_across(&st);
out:
	free(st.pend_text);
	free(st.pend_name);
	if (st.rc < 0)
		config_free(cfg);
	return st.rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NROWS; i++)
		if (config_types[rows[i].type].release)
			config_types[rows[i].type].release((char *)cfg + rows[i].offset);
	memset(cfg, 0, sizeof(*cfg));
}

static void write_help(const char *help, FILE *out)
{
	while (*help) {
		size_t len = strcspn(help, "\n");

		fprintf(out, "# %.*s\n", (int)len, help);
		help += len + (help[len] == '\n');
	}
}

void config_write(const struct config *cfg, FILE *out)
{
	const char *section = NULL;

	fputs("# consentd configuration. Any key can also be set by the environment variable\n"
	      "# CONSENTD_<SECTION>_<KEY> (e.g. CONSENTD_HTTP_LISTEN), which overrides this\n"
	      "# file.\n",
	      out);
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];

		if (!section || strcmp(section, r->section))
			fprintf(out, "\n[%s]\n", r->section);
		else
			fputc('\n', out);
		section = r->section;
		write_help(r->help, out);
		config_types[r->type].write(r->key, (const char *)cfg + r->offset, out);
	}
}
