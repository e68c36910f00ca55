/* Process-wide logging: level, format and destination (the one allowed global state), and the
 * formatting of one record into one buffer that reaches the fd with a single write(2). */
#include "log/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writers read these without a lock. A file destination always lives at own_fd: reopening
 * dup3()s the new file onto that number, so a writer never sees a closed or reused fd. */
static atomic_int cur_level = LOG_LEVEL_INFO;
static atomic_int cur_format = LOG_FORMAT_LOGFMT;
static atomic_int cur_fd = STDERR_FILENO;
static int own_fd = -1; /* guarded by setup_lock */
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const char *const format_names[] = {
	[LOG_FORMAT_LOGFMT] = "logfmt",
	[LOG_FORMAT_JSON] = "json",
};

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(level_names); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(format_names); i++) {
		if (!strcmp(s, format_names[i])) {
			*out = (enum log_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&cur_level, memory_order_relaxed);
}

/* Points the destination at fd (STDERR_FILENO or a freshly opened file, which this consumes). */
static int switch_fd(int fd)
{
	if (own_fd < 0) {
		if (fd == STDERR_FILENO)
			return 0;
		own_fd = fd;
	} else if (dup3(fd, own_fd, O_CLOEXEC) < 0) {
		int rc = -errno;

		if (fd != STDERR_FILENO)
			close(fd);
		return rc;
	} else if (fd != STDERR_FILENO) {
		close(fd);
	}
	atomic_store(&cur_fd, own_fd);
	return 0;
}

int log_setup(enum log_level level, enum log_format format, const char *path)
{
	int fd = STDERR_FILENO, rc;

	if ((unsigned)level >= ARRAY_SIZE(level_names) ||
	    (unsigned)format >= ARRAY_SIZE(format_names))
		return -EINVAL;
	if (path && *path && strcmp(path, "-")) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
		if (fd < 0)
			return -errno;
	}
	pthread_mutex_lock(&setup_lock);
	rc = switch_fd(fd);
	if (rc == 0) {
		atomic_store(&cur_level, (int)level);
		atomic_store(&cur_format, (int)format);
	}
	pthread_mutex_unlock(&setup_lock);
	return rc;
}

/* Back to stderr. Call only once no other thread logs: a writer may still hold the old fd. */
void log_close(void)
{
	pthread_mutex_lock(&setup_lock);
	atomic_store(&cur_fd, STDERR_FILENO);
	if (own_fd >= 0)
		close(own_fd);
	own_fd = -1;
	pthread_mutex_unlock(&setup_lock);
}

/* One record under construction: on the stack until it outgrows it, then on the heap. A failed
 * allocation truncates the record rather than losing it. */
struct line {
	char *p;
	size_t len, cap;
	char local[1024];
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len) {
		size_t cap = l->cap * 2 > l->len + n ? l->cap * 2 : l->len + n + 256;
		char *p = l->p == l->local ? malloc(cap) : realloc(l->p, cap);

		if (!p) {
			n = l->cap - l->len;
		} else {
			if (l->p == l->local)
				memcpy(p, l->local, l->len);
			l->p = p;
			l->cap = cap;
		}
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4 || n < len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Quotes s for logfmt or JSON: ", \ and control characters escaped; bytes that are not UTF-8
 * become \xHH (logfmt) or U+FFFD (JSON), so one record can never forge another. */
static void put_quoted(struct line *l, const char *s, bool json)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	char esc[8];

	put(l, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		size_t run = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;

		if (run) {
			put(l, s + i, run);
			i += run - 1;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			esc[2] = '\0';
		} else if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
			esc[0] = '\\';
			esc[1] = p[i] == '\n' ? 'n' : p[i] == '\r' ? 'r' : 't';
			esc[2] = '\0';
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			put(l, s + i, 1);
			continue;
		} else if (json && p[i] >= 0x80) {
			snprintf(esc, sizeof(esc), "\\ufffd");
		} else if (json) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
		}
		puts_(l, esc);
	}
	put(l, "\"", 1);
}

/* "../src/ingest/http.c" -> "ingest/http.c"; other paths lose leading "../" only. */
static const char *short_path(const char *file)
{
	const char *p = file, *hit = NULL;

	while ((p = strstr(p, "src/"))) {
		if (p == file || p[-1] == '/')
			hit = p + 4;
		p += 4;
	}
	if (hit)
		return hit;
	while (!strncmp(file, "../", 3))
		file += 3;
	return file;
}

static void put_timestamp(struct line *l)
{
	int64_t us = now_us(), secs = us / 1000000, days = secs / 86400, rem = secs % 86400, y;
	unsigned m, d;
	char ts[40];

	civil_from_days(days, &y, &m, &d);
	snprintf(ts, sizeof(ts), "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
		 (long long)(us % 1000000));
	puts_(l, ts);
}

static void format_logfmt(struct line *l, const char *lvl, const char *subsys, const char *src,
			  const char *ctx, const char *msg)
{
	puts_(l, "ts=");
	put_timestamp(l);
	puts_(l, " level=");
	puts_(l, lvl);
	puts_(l, " subsys=");
	puts_(l, subsys);
	puts_(l, " src=");
	puts_(l, src);
	if (ctx && *ctx) {
		put(l, " ", 1);
		puts_(l, ctx);
	}
	puts_(l, " msg=");
	put_quoted(l, msg, false);
}

static void format_json(struct line *l, const char *lvl, const char *subsys, const char *src,
			const char *ctx, const char *msg)
{
	puts_(l, "{\"ts\":\"");
	put_timestamp(l);
	puts_(l, "\",\"level\":\"");
	puts_(l, lvl);
	puts_(l, "\",\"subsys\":");
	put_quoted(l, subsys, true);
	puts_(l, ",\"src\":");
	put_quoted(l, src, true);
	if (ctx && *ctx) {
		puts_(l, ",\"ctx\":");
		put_quoted(l, ctx, true);
	}
	puts_(l, ",\"msg\":");
	put_quoted(l, msg, true);
	put(l, "}", 1);
}

static void write_all(const char *p, size_t len)
{
	int fd = atomic_load_explicit(&cur_fd, memory_order_acquire);

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void log_msg(enum log_level level, const char *subsys, const char *file, int line, const char *ctx,
	     const char *fmt, ...)
{
	struct line l = { .cap = sizeof(l.local) };
	char stackmsg[512], src[256], *msg = stackmsg;
	int saved_errno = errno, n;
	va_list ap;

	if ((unsigned)level >= ARRAY_SIZE(level_names) ||
	    (int)level > atomic_load_explicit(&cur_level, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	n = vsnprintf(stackmsg, sizeof(stackmsg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(stackmsg) && (msg = malloc((size_t)n + 1))) {
		errno = saved_errno; /* for %m */
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	} else if (n < 0 || !msg) {
		msg = stackmsg; /* truncated (or empty) rather than lost */
		if (n < 0)
			stackmsg[0] = '\0';
	}
	snprintf(src, sizeof(src), "%s:%d", short_path(file ? file : "?"), line);
	l.p = l.local;
	if (atomic_load_explicit(&cur_format, memory_order_relaxed) == LOG_FORMAT_JSON)
		format_json(&l, level_names[level], subsys ? subsys : "-", src, ctx, msg);
	else
		format_logfmt(&l, level_names[level], subsys ? subsys : "-", src, ctx, msg);
	put(&l, "\n", 1);
	if (l.p[l.len - 1] != '\n') /* truncated by a failed allocation */
		l.p[l.len - 1] = '\n';
	write_all(l.p, l.len);
	if (l.p != l.local)
		free(l.p);
	if (msg != stackmsg)
		free(msg);
	errno = saved_errno;
}
