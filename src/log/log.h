/* Process-wide logging: one line per record, logfmt or JSON, to stderr or a file.
 * Thread-safe: each record is formatted into one buffer and written with a single write(2). */
#ifndef CONSENTD_LOG_H
#define CONSENTD_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

/* "error", "warn", "info", "debug" -> level; -EINVAL for anything else. */
int log_level_parse(const char *s, enum log_level *out);
/* "logfmt", "json"; -EINVAL for anything else. */
int log_format_parse(const char *s, enum log_format *out);
/* Sets level and format; path NULL or "" or "-" means stderr. Opening (or reopening after
 * rotation, on SIGHUP) a file that fails leaves the previous destination in place. */
int log_setup(enum log_level level, enum log_format format, const char *path);
void log_close(void);
enum log_level log_get_level(void);

/* ctx: NULL, or extra logfmt pairs scoping the record to one event or request, such as
 * "request_id=... peer=..." or "topic=... partition=... offset=...". */
void log_msg(enum log_level level, const char *subsys, const char *file, int line, const char *ctx,
	     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define log_error(sub, ...) log_msg(LOG_LEVEL_ERROR, sub, __FILE__, __LINE__, NULL, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(LOG_LEVEL_WARN, sub, __FILE__, __LINE__, NULL, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_LEVEL_INFO, sub, __FILE__, __LINE__, NULL, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(LOG_LEVEL_DEBUG, sub, __FILE__, __LINE__, NULL, __VA_ARGS__)
/* Event-scoped variants: ctx names the event's source. */
#define log_ev_error(sub, ctx, ...) log_msg(LOG_LEVEL_ERROR, sub, __FILE__, __LINE__, ctx, __VA_ARGS__)
#define log_ev_warn(sub, ctx, ...) log_msg(LOG_LEVEL_WARN, sub, __FILE__, __LINE__, ctx, __VA_ARGS__)
#define log_ev_info(sub, ctx, ...) log_msg(LOG_LEVEL_INFO, sub, __FILE__, __LINE__, ctx, __VA_ARGS__)
#define log_ev_debug(sub, ctx, ...) log_msg(LOG_LEVEL_DEBUG, sub, __FILE__, __LINE__, ctx, __VA_ARGS__)

#endif
