/* Configuration: the one table of every key (section, key, type, default, range, check, help),
 * the parsers of its value types, and loading defaults, then the INI file, then the environment. */
#include "config/config.h"
#include "log/log.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIB (INT64_C(1) << 10)
#define MIB (INT64_C(1) << 20)
#define GIB (INT64_C(1) << 30)
#define SEC INT64_C(1000)
#define DAY (86400 * SEC)
#define NAME_MAX_LEN 64
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"

enum type { T_STRING, T_INT, T_BOOL, T_DURATION_MS, T_SIZE, T_LIST };

/* One key. Numeric types are range-checked against [min, max]; check, if set, validates the
 * parsed field further. Defaults go through the same parser and checks as user values. */
struct row {
	const char *section;
	const char *key;
	enum type type;
	size_t offset;
	const char *def;
	int64_t min, max;
	int (*check)(const void *field, char *why, size_t whylen);
	const char *help;
};

/* parse replaces the field's value (freeing the old one) only on success; why says what is wrong.
 * A new type (such as a prefix map) is one more entry here. */
struct type_ops {
	int (*parse)(const char *text, void *field, char *why, size_t whylen);
	void (*write)(const void *field, FILE *out);
	void (*release)(void *field); /* NULL: nothing to free */
};

static int check_listen(const void *field, char *why, size_t whylen);
static int check_purposes(const void *field, char *why, size_t whylen);
static int check_names(const void *field, char *why, size_t whylen);
static int check_level(const void *field, char *why, size_t whylen);
static int check_format(const void *field, char *why, size_t whylen);

/* The key is the field name, so the two cannot drift apart. */
#define ROW(sec, name, type, def, min, max, check, help)                                         \
	{ #sec, #name, type, offsetof(struct config, sec.name), def, min, max, check, help }

static const struct row rows[] = {
	ROW(http, listen, T_STRING, "127.0.0.1:8080", 0, 0, check_listen,
	    "Address to accept HTTP on, as host:port; an IPv6 host in brackets, e.g. [::1]:8080."),
	ROW(http, max_body, T_SIZE, "1M", KIB, GIB, NULL,
	    "Largest request body accepted (1k to 1G); a larger one is answered 413."),
	ROW(http, max_batch, T_INT, "1000", 1, 100000, NULL,
	    "Most events accepted in one request (1 to 100000)."),
	ROW(http, request_timeout, T_DURATION_MS, "10s", 1, DAY, NULL,
	    "Answer 503 if the ledger has not committed a request's events within this time."),
	ROW(http, idle_timeout, T_DURATION_MS, "60s", 1, DAY, NULL,
	    "Close keep-alive connections that stay idle this long."),
	ROW(http, max_connections, T_INT, "1024", 1, 1000000, NULL,
	    "Most client connections open at once."),
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
	ROW(consent, purposes, T_LIST, "essential, analytics, advertising, functional", 0, 0,
	    check_purposes,
	    "Purposes an event may name ([a-z0-9_], up to 64 characters); must include essential."),
	ROW(consent, vendors, T_LIST,
	    "google_tag_manager, google_analytics_4, microsoft_clarity, sentry, google_oauth, "
	    "stripe",
	    0, 0, check_names,
	    "Vendors an event may name, same form as purposes; empty allows any such name."),
	ROW(log, level, T_STRING, "info", 0, 0, check_level,
	    "Least severe level logged: error, warn, info or debug."),
	ROW(log, format, T_STRING, "logfmt", 0, 0, check_format,
	    "Log line format: logfmt or json."),
	ROW(log, file, T_STRING, "", 0, 0, NULL,
	    "Log to this file (reopened on SIGHUP); empty logs to stderr."),
};

#define NROWS ARRAY_SIZE(rows)

/* ---- Value parsers ------------------------------------------------------------------------ */

/* Unsigned decimal digits at s; *end is set past them. -EINVAL if none, -ERANGE on overflow. */
static int parse_digits(const char *s, const char **end, int64_t *out)
{
	int64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	if (p == s)
		return -EINVAL;
	*end = p;
	*out = v;
	return 0;
}

int config_parse_duration_ms(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = { { "ms", 1 }, { "", SEC }, { "s", SEC }, { "m", 60 * SEC },
		      { "h", 3600 * SEC }, { "d", DAY } };
	const char *end;
	int64_t v;
	int rc = parse_digits(s, &end, &v);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v > INT64_MAX / units[i].ms)
			return -ERANGE;
		*out = v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

int config_parse_size(const char *s, int64_t *out)
{
	static const char units[] = "kmgt";
	const char *end, *unit;
	int64_t v, mult = 1;
	int rc = parse_digits(s, &end, &v);

	if (rc < 0)
		return rc;
	if (*end && (unit = strchr(units, tolower((unsigned char)*end)))) {
		mult <<= 10 * (unit - units + 1);
		end++;
		if (tolower((unsigned char)*end) == 'i' && tolower((unsigned char)end[1]) == 'b')
			end++;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end)
		return -EINVAL;
	if (v > INT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_string(const char *text, void *field, char *why, size_t whylen)
{
	char **p = field, *dup = strdup(text);

	if (!dup) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	free(*p);
	*p = dup;
	return 0;
}

static int parse_int(const char *text, void *field, char *why, size_t whylen)
{
	int64_t v;
	const char *end;
	int rc = parse_digits(text + (*text == '-'), &end, &v);

	if (rc == -EINVAL || (rc == 0 && *end)) {
		snprintf(why, whylen, "\"%s\" is not an integer", text);
		return -EINVAL;
	}
	if (rc == 0)
		*(int64_t *)field = *text == '-' ? -v : v;
	return rc;
}

static int parse_bool(const char *text, void *field, char *why, size_t whylen)
{
	if (config_parse_bool(text, field) < 0) {
		snprintf(why, whylen, "\"%s\" is not a boolean (use true or false)", text);
		return -EINVAL;
	}
	return 0;
}

static int parse_duration(const char *text, void *field, char *why, size_t whylen)
{
	int rc = config_parse_duration_ms(text, field);

	if (rc == -EINVAL)
		snprintf(why, whylen, "\"%s\" is not a duration (use ms, s, m, h or d; %s)", text,
			 "a bare number is seconds");
	return rc;
}

static int parse_size(const char *text, void *field, char *why, size_t whylen)
{
	int rc = config_parse_size(text, field);

	if (rc == -EINVAL)
		snprintf(why, whylen, "\"%s\" is not a size (use bytes or k, M, G)", text);
	return rc;
}

static void list_release(void *field)
{
	struct config_list *l = field;

	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* "a, b,c" -> {"a", "b", "c"}; white space around items is dropped, and so are empty items. */
static int parse_list(const char *text, void *field, char *why, size_t whylen)
{
	struct config_list l = { 0 };
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *start = p, *stop = p + len;
		char **items;

		p = *stop ? stop + 1 : stop;
		while (start < stop && isspace((unsigned char)*start))
			start++;
		while (stop > start && isspace((unsigned char)stop[-1]))
			stop--;
		if (start == stop)
			continue;
		items = realloc(l.items, (l.n + 1) * sizeof(*items));
		if (items)
			l.items = items;
		if (!items || !(l.items[l.n] = strndup(start, (size_t)(stop - start)))) {
			list_release(&l);
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		}
		l.n++;
	}
	list_release(field);
	*(struct config_list *)field = l;
	return 0;
}

/* ---- Value writers (config_write, messages) ----------------------------------------------- */

/* The largest unit that divides v exactly: 1048576 -> "1M", 300000 ms -> "5m". */
static void format_num(enum type type, int64_t v, char *out, size_t outlen)
{
	static const struct {
		enum type type;
		int64_t mult;
		const char *suffix;
	} units[] = {
		{ T_SIZE, GIB, "G" },	      { T_SIZE, MIB, "M" },	     { T_SIZE, KIB, "k" },
		{ T_DURATION_MS, DAY, "d" },  { T_DURATION_MS, 3600 * SEC, "h" },
		{ T_DURATION_MS, 60 * SEC, "m" }, { T_DURATION_MS, SEC, "s" },
		{ T_DURATION_MS, 1, "ms" },
	};

	for (size_t i = 0; v && i < ARRAY_SIZE(units); i++) {
		if (units[i].type == type && v % units[i].mult == 0) {
			snprintf(out, outlen, "%lld%s", (long long)(v / units[i].mult),
				 units[i].suffix);
			return;
		}
	}
	snprintf(out, outlen, "%lld", (long long)v);
}

/* Writers print " value" after "key =", or nothing for an empty value. A string that the
 * loader would not read back unchanged gets quotes (it strips one pair of double quotes). */
static void write_string(const void *field, FILE *out)
{
	const char *s = *(char *const *)field;
	size_t len = s ? strlen(s) : 0;

	if (len && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1]) ||
		    s[0] == '"'))
		fprintf(out, " \"%s\"", s);
	else if (len)
		fprintf(out, " %s", s);
}

static void write_int(const void *field, FILE *out)
{
	fprintf(out, " %lld", (long long)*(const int64_t *)field);
}

static void write_bool(const void *field, FILE *out)
{
	fputs(*(const bool *)field ? " true" : " false", out);
}

static void write_duration(const void *field, FILE *out)
{
	char s[32];

	format_num(T_DURATION_MS, *(const int64_t *)field, s, sizeof(s));
	fprintf(out, " %s", s);
}

static void write_size(const void *field, FILE *out)
{
	char s[32];

	format_num(T_SIZE, *(const int64_t *)field, s, sizeof(s));
	fprintf(out, " %s", s);
}

/* Long lists wrap onto indented continuation lines: inih's lines are short. */
static void write_list(const void *field, FILE *out)
{
	const struct config_list *l = field;
	size_t col = 20;

	for (size_t i = 0; i < l->n; i++) {
		size_t width = strlen(l->items[i]) + 2;

		if (i && col + width > 96) {
			fputs(",\n   ", out);
			col = 4;
		} else if (i) {
			fputc(',', out);
		}
		fprintf(out, " %s", l->items[i]);
		col += width;
	}
}

static void string_release(void *field)
{
	free(*(char **)field);
	*(char **)field = NULL;
}

static const struct type_ops types[] = {
	[T_STRING] = { parse_string, write_string, string_release },
	[T_INT] = { parse_int, write_int, NULL },
	[T_BOOL] = { parse_bool, write_bool, NULL },
	[T_DURATION_MS] = { parse_duration, write_duration, NULL },
	[T_SIZE] = { parse_size, write_size, NULL },
	[T_LIST] = { parse_list, write_list, list_release },
};

static bool is_numeric(enum type t)
{
	return t == T_INT || t == T_DURATION_MS || t == T_SIZE;
}

/* ---- Checks ------------------------------------------------------------------------------- */

static bool valid_port(const char *s)
{
	int64_t v;
	const char *end;

	return strlen(s) <= 5 && parse_digits(s, &end, &v) == 0 && !*end && v >= 1 && v <= 65535;
}

/* "host:port" or "[v6]:port"; a bare IPv6 address would be ambiguous. */
static int check_listen(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field, *port = NULL, *close;

	if (s[0] == '[') {
		close = strchr(s, ']');
		if (close && close > s + 1 && close[1] == ':')
			port = close + 2;
	} else {
		port = strrchr(s, ':');
		if (port && (port == s || memchr(s, ':', (size_t)(port - s))))
			port = NULL;
		else if (port)
			port++;
	}
	if (port && valid_port(port))
		return 0;
	snprintf(why, whylen,
		 "\"%s\" is not host:port (port 1 to 65535; IPv6 in brackets, e.g. [::1]:8080)", s);
	return -EINVAL;
}

/* Names are [a-z0-9_]{1,64}, each listed once. */
static int check_names(const void *field, char *why, size_t whylen)
{
	const struct config_list *l = field;

	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->items[i];
		size_t len = strlen(name);

		if (len > NAME_MAX_LEN || strspn(name, NAME_CHARS) != len) {
			snprintf(why, whylen,
				 "\"%s\" is not a name ([a-z0-9_], 1 to %d characters)", name,
				 NAME_MAX_LEN);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(name, l->items[j])) {
				snprintf(why, whylen, "\"%s\" is listed twice", name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int check_purposes(const void *field, char *why, size_t whylen)
{
	const struct config_list *l = field;
	int rc = check_names(l, why, whylen);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], "essential"))
			return 0;
	snprintf(why, whylen, "must include \"essential\"");
	return -EINVAL;
}

static int check_level(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;
	enum log_level level;

	if (log_level_parse(s, &level) == 0)
		return 0;
	snprintf(why, whylen, "\"%s\" is not a log level (use error, warn, info or debug)", s);
	return -EINVAL;
}

static int check_format(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;
	enum log_format format;

	if (log_format_parse(s, &format) == 0)
		return 0;
	snprintf(why, whylen, "\"%s\" is not a log format (use logfmt or json)", s);
	return -EINVAL;
}

/* text is the value as written, which says more than the number it parsed to. */
static int check_range(const struct row *r, const char *text, const void *field, char *why,
		       size_t whylen)
{
	char lo[32], hi[32];

	if (field && *(const int64_t *)field >= r->min && *(const int64_t *)field <= r->max)
		return 0;
	format_num(r->type, r->min, lo, sizeof(lo));
	format_num(r->type, r->max, hi, sizeof(hi));
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

static void env_name(const struct row *r, char *out, size_t outlen)
{
	snprintf(out, outlen, "CONSENTD_%s_%s", r->section, r->key);
	for (char *p = out; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

static const struct row *find_row(const char *section, const char *key)
{
	for (size_t i = 0; i < NROWS; i++)
		if (!strcmp(rows[i].section, section) && !strcmp(rows[i].key, key))
			return &rows[i];
	return NULL;
}

/* Reports a bad value of r, prefixed by where it came from. */
static int fail_value(struct load *st, const struct row *r, int rc, const char *why)
{
	size_t i = (size_t)(r - rows);
	char name[96];

	switch (st->origin[i]) {
	case FROM_FILE:
		return fail(st, rc, st->line_of[i], "%s:%d: [%s] %s: %s", st->path, st->line_of[i],
			    r->section, r->key, why);
	case FROM_ENV:
		env_name(r, name, sizeof(name));
		return fail(st, rc, 0, "%s: %s", name, why);
	default:
		return fail(st, rc, 0, "[%s] %s: default: %s", r->section, r->key, why);
	}
}

static int apply(struct load *st, const struct row *r, enum origin from, int line, const char *text)
{
	void *field = (char *)st->cfg + r->offset;
	char why[256] = "";
	int rc;

	st->origin[r - rows] = from;
	st->line_of[r - rows] = line;
	rc = types[r->type].parse(text, field, why, sizeof(why));
	if (rc == -ERANGE) /* too large even for int64 */
		rc = check_range(r, text, NULL, why, sizeof(why));
	else if (rc == 0 && is_numeric(r->type))
		rc = check_range(r, text, field, why, sizeof(why));
	if (rc == 0 && r->check)
		rc = r->check(field, why, sizeof(why));
	return rc < 0 ? fail_value(st, r, rc, why) : 0;
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
	rc = apply(st, r, FROM_FILE, st->pend_line, text);
	if (rc < 0 && first && st->pend_continued && st->err && st->errlen) {
		len = strlen(st->err);
		snprintf(st->err + len, st->errlen - len, " (indented lines continue the value)");
	}
	free(st->pend_text);
	st->pend_text = NULL;
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
	r = find_row(section, key);
	if (!r)
		return !fail(st, -EINVAL, st->line, "%s:%d: [%s] %s: unknown key", st->path,
			     st->line, section, key);
	st->pend_text = strdup(value);
	if (!st->pend_text)
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

static int load_env(struct load *st, char *const *envp)
{
	char name[96];

	for (; *envp; envp++) {
		const char *var = *envp, *eq = strchr(var, '=');
		size_t len = eq ? (size_t)(eq - var) : 0;
		const struct row *r = NULL;

		if (!eq || strncmp(var, "CONSENTD_", 9) || env_ignored(var, len))
			continue;
		for (size_t i = 0; i < NROWS && !r; i++) {
			env_name(&rows[i], name, sizeof(name));
			if (strlen(name) == len && !memcmp(name, var, len))
				r = &rows[i];
		}
		if (!r)
			return fail(st, -EINVAL, 0,
				    "%.*s: unknown variable (%s names a config key)", (int)len,
				    var, "CONSENTD_<SECTION>_<KEY>");
		if (apply(st, r, FROM_ENV, 0, eq + 1) < 0)
			return st->rc;
	}
	return 0;
}

/* Rules that tie two keys together, checked once every source is applied. */
static int check_across(struct load *st)
{
	const struct config *cfg = st->cfg;
	char why[128];

	if (cfg->ledger.queue_max < cfg->ledger.batch_max) {
		snprintf(why, sizeof(why), "%lld is less than [ledger] batch_max (%lld)",
			 (long long)cfg->ledger.queue_max, (long long)cfg->ledger.batch_max);
		return fail_value(st, find_row("ledger", "queue_max"), -EINVAL, why);
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
		if (apply(&st, &rows[i], FROM_DEFAULT, 0, rows[i].def) < 0)
			goto out;
	if (path && load_file(&st) < 0)
		goto out;
	if (envp && load_env(&st, envp) < 0)
		goto out;
	check_across(&st);
out:
	free(st.pend_text);
	if (st.rc < 0)
		config_free(cfg);
	return st.rc;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NROWS; i++)
		if (types[rows[i].type].release)
			types[rows[i].type].release((char *)cfg + rows[i].offset);
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
		fprintf(out, "%s =", r->key);
		types[r->type].write((const char *)cfg + r->offset, out);
		fputc('\n', out);
	}
}
