/* The value types of the config table (parse, write and free a string, integer, boolean,
 * duration, size, list or prefix map) and the checks that rows apply to parsed values. */
#include "config/config_internal.h"
#include "log/log.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 64
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"
/* Map entry names are what a variable can spell: upper-cased, with '_' for '.'. */
#define ENTRY_CHARS "abcdefghijklmnopqrstuvwxyz0123456789."
#define TOPIC_MAX_LEN 249
#define TOPIC_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

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

static void map_release(void *field)
{
	struct config_map *m = field;

	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->values[i]);
	}
	free(m->keys);
	free(m->values);
	m->keys = NULL;
	m->values = NULL;
	m->n = 0;
}

/* A map is set one entry at a time; its only whole-value text is "", the empty map. */
static int parse_map(const char *text, void *field, char *why, size_t whylen)
{
	if (*text) {
		snprintf(why, whylen, "set one entry per line, as <key>.<name> = value");
		return -EINVAL;
	}
	map_release(field);
	return 0;
}

static int parse_map_entry(const char *name, const char *text, void *field, char *why,
			   size_t whylen)
{
	struct config_map *m = field;
	char *key = NULL, *value, **keys, **values;
	size_t i;

	if (!*name || strspn(name, ENTRY_CHARS) != strlen(name)) {
		snprintf(why, whylen, "\"%s\" is not a name ([a-z0-9.]+)", name);
		return -EINVAL;
	}
	value = strdup(text);
	if (!value)
		goto nomem;
	for (i = 0; i < m->n && strcmp(m->keys[i], name); i++)
		;
	if (i < m->n) {
		free(m->values[i]);
		m->values[i] = value;
		return 0;
	}
	key = strdup(name);
	keys = realloc(m->keys, (m->n + 1) * sizeof(*keys));
	if (keys)
		m->keys = keys;
	values = realloc(m->values, (m->n + 1) * sizeof(*values));
	if (values)
		m->values = values;
	if (!key || !keys || !values)
		goto nomem;
	m->keys[m->n] = key;
	m->values[m->n] = value;
	m->n++;
	return 0;
nomem:
	free(key);
	free(value);
	snprintf(why, whylen, "out of memory");
	return -ENOMEM;
}

/* ---- Value writers (config_write, messages) ----------------------------------------------- */

void config_format_num(enum config_type type, int64_t v, char *out, size_t outlen)
{
	static const struct {
		enum config_type type;
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

/* " value" after "key =", or nothing for an empty value. A string that the loader would not
 * read back unchanged gets quotes (it strips one pair of double quotes). */
static void put_text(const char *s, FILE *out)
{
	size_t len = s ? strlen(s) : 0;

	if (len && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1]) ||
		    s[0] == '"'))
		fprintf(out, " \"%s\"", s);
	else if (len)
		fprintf(out, " %s", s);
}

static void write_string(const char *key, const void *field, FILE *out)
{
	fprintf(out, "%s =", key);
	put_text(*(char *const *)field, out);
	fputc('\n', out);
}

static void write_int(const char *key, const void *field, FILE *out)
{
	fprintf(out, "%s = %lld\n", key, (long long)*(const int64_t *)field);
}

static void write_bool(const char *key, const void *field, FILE *out)
{
	fprintf(out, "%s = %s\n", key, *(const bool *)field ? "true" : "false");
}

static void write_duration(const char *key, const void *field, FILE *out)
{
	char s[32];

	config_format_num(T_DURATION_MS, *(const int64_t *)field, s, sizeof(s));
	fprintf(out, "%s = %s\n", key, s);
}

static void write_size(const char *key, const void *field, FILE *out)
{
	char s[32];

	config_format_num(T_SIZE, *(const int64_t *)field, s, sizeof(s));
	fprintf(out, "%s = %s\n", key, s);
}

/* Long lists wrap onto indented continuation lines: inih's lines are short. */
static void write_list(const char *key, const void *field, FILE *out)
{
	const struct config_list *l = field;
	size_t col = 20;

	fprintf(out, "%s =", key);
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
	fputc('\n', out);
}

/* One line per entry; an empty map writes nothing. */
/* config_write shows the effective configuration (--check-config); secrets stay out of it. */
static bool secret_name(const char *name)
{
	return strstr(name, "password") || strstr(name, "secret");
}

static void write_map(const char *key, const void *field, FILE *out)
{
	const struct config_map *m = field;

	for (size_t i = 0; i < m->n; i++) {
		fprintf(out, "%s.%s =", key, m->keys[i]);
		put_text(secret_name(m->keys[i]) ? "(redacted)" : m->values[i], out);
		fputc('\n', out);
	}
}

static void string_release(void *field)
{
	free(*(char **)field);
	*(char **)field = NULL;
}

const struct config_type_ops config_types[] = {
	[T_STRING] = { parse_string, NULL, write_string, string_release, false },
	[T_INT] = { parse_int, NULL, write_int, NULL, true },
	[T_BOOL] = { parse_bool, NULL, write_bool, NULL, false },
	[T_DURATION_MS] = { parse_duration, NULL, write_duration, NULL, true },
	[T_SIZE] = { parse_size, NULL, write_size, NULL, true },
	[T_LIST] = { parse_list, NULL, write_list, list_release, false },
	[T_MAP] = { parse_map, parse_map_entry, write_map, map_release, false },
};

/* ---- Checks ------------------------------------------------------------------------------- */

static bool valid_port(const char *s)
{
	int64_t v;
	const char *end;

	return strlen(s) <= 5 && parse_digits(s, &end, &v) == 0 && !*end && v >= 1 && v <= 65535;
}

/* "host:port" or "[v6]:port"; a bare IPv6 address would be ambiguous. */
int config_check_listen(const void *field, char *why, size_t whylen)
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
int config_check_names(const void *field, char *why, size_t whylen)
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

int config_check_purposes(const void *field, char *why, size_t whylen)
{
	const struct config_list *l = field;
	int rc = config_check_names(l, why, whylen);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], "essential"))
			return 0;
	snprintf(why, whylen, "must include \"essential\"");
	return -EINVAL;
}

int config_check_level(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;
	enum log_level level;

	if (log_level_parse(s, &level) == 0)
		return 0;
	snprintf(why, whylen, "\"%s\" is not a log level (use error, warn, info or debug)", s);
	return -EINVAL;
}

int config_check_format(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;
	enum log_format format;

	if (log_format_parse(s, &format) == 0)
		return 0;
	snprintf(why, whylen, "\"%s\" is not a log format (use logfmt or json)", s);
	return -EINVAL;
}

int config_check_nonempty(const void *field, char *why, size_t whylen)
{
	if (**(char *const *)field)
		return 0;
	snprintf(why, whylen, "must not be empty");
	return -EINVAL;
}

/* The origin is the checkpoint's first line and the signing key's name in the signed note,
 * where a space or '+' would end the name. */
int config_check_origin(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;
	const unsigned char *p = (const unsigned char *)s;

	while (*p > ' ' && *p < 0x7f && *p != '+')
		p++;
	if (*s && !*p)
		return 0;
	snprintf(why, whylen, "\"%s\" is not an origin (printable ASCII without spaces or '+')",
		 s);
	return -EINVAL;
}

/* Kafka's rule for topic names, including its refusal of "." and "..". */
static int check_topic_name(const char *s, char *why, size_t whylen)
{
	size_t len = strlen(s);

	if (!strcmp(s, ".") || !strcmp(s, "..")) {
		snprintf(why, whylen, "\"%s\" is not a topic name (Kafka refuses \".\" and \"..\")",
			 s);
		return -EINVAL;
	}
	if (len >= 1 && len <= TOPIC_MAX_LEN && strspn(s, TOPIC_CHARS) == len)
		return 0;
	snprintf(why, whylen, "\"%s\" is not a topic name ([A-Za-z0-9._-], 1 to %d characters)", s,
		 TOPIC_MAX_LEN);
	return -EINVAL;
}

int config_check_topics(const void *field, char *why, size_t whylen)
{
	const struct config_list *l = field;

	for (size_t i = 0; i < l->n; i++) {
		if (check_topic_name(l->items[i], why, whylen) < 0)
			return -EINVAL;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(l->items[i], l->items[j])) {
				snprintf(why, whylen, "\"%s\" is listed twice", l->items[i]);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int config_check_topic(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;

	return *s ? check_topic_name(s, why, whylen) : 0;
}

/* The deadline policies compliance/deadline.c knows; config does not link it, so the names are
 * repeated here and a unit test keeps the two lists equal. */
int config_check_jurisdiction(const void *field, char *why, size_t whylen)
{
	const char *s = *(char *const *)field;

	if (!strcmp(s, "gdpr") || !strcmp(s, "ccpa"))
		return 0;
	snprintf(why, whylen, "\"%s\" is not a known jurisdiction (use gdpr or ccpa)", s);
	return -EINVAL;
}
