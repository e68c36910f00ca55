/* Small helpers shared by every module: growable byte buffers, hex and base64, RFC 3339 time,
 * UUIDs and secret files. Everything here is pure except now_us() and the secretfile_* calls. */
#ifndef CONSENTD_UTIL_H
#define CONSENTD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A growable byte buffer. The buffer owns data; buf_free releases it and resets the struct. */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_u8(struct buf *b, uint8_t v);
int buf_append_be16(struct buf *b, uint16_t v);
int buf_append_be32(struct buf *b, uint32_t v);
int buf_append_be64(struct buf *b, uint64_t v);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* Lower-case hex; out must hold 2 * len + 1 bytes and is NUL-terminated. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly outlen bytes from 2 * outlen hex digits; -EINVAL on anything else. */
int hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

/* Standard base64 with padding. b64_encode returns a malloc'd string (caller frees). */
char *b64_encode(const uint8_t *in, size_t len);
/* Strict decode into out (capacity outcap); returns the decoded length or -EINVAL. */
int b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap);

/* Microseconds since the Unix epoch. */
int64_t now_us(void);
/* The instants RFC 3339 can write in UTC: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
#define RFC3339_MIN_US (-62167219200LL * 1000000)
#define RFC3339_MAX_US (253402300800LL * 1000000 - 1)
/* RFC 3339 date-time ("2026-11-28T10:15:00Z", "...T10:15:00.123+01:00"); -EINVAL if not one, or
 * if its offset puts it outside RFC3339_MIN_US..RFC3339_MAX_US (it could not be written back). */
int rfc3339_parse(const char *s, int64_t *out_us);
/* Formats as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (fraction only when non-zero); out >= 32 bytes. */
void rfc3339_format(int64_t us, char *out, size_t outlen);
/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#define UUID_LEN 16
#define UUID_STR_LEN 36
/* Accepts 8-4-4-4-12 hex digits in either case. */
int uuid_parse(const char *s, uint8_t out[UUID_LEN]);
/* Lower-case canonical text; out holds UUID_STR_LEN + 1 bytes. */
void uuid_format(const uint8_t in[UUID_LEN], char *out);
/* A random (version 4) UUID from the OpenSSL CSPRNG; -EIO if it fails. */
int uuid_random(uint8_t out[UUID_LEN]);

/* Reads a secret file of at most maxlen bytes into out. Refuses (-EPERM) a file that group or
 * others may read, and says why in err. Returns the length read or a negative errno. */
int secretfile_read(const char *path, uint8_t *out, size_t maxlen, char *err, size_t errlen);
/* Writes all len bytes of text to fd (retrying on EINTR), then fsyncs, so that a key reported
 * written is on disk. 0 or a negative errno. */
int secretfile_write_all(int fd, const char *text, size_t len);

/* Constant-time equality of two equal-length byte strings. */
bool ct_equal(const void *a, const void *b, size_t len);

#endif
