/* The master key file: the module's only file I/O. Read through secretfile_read, which refuses
 * a file that group or others may read; written by privacy_keyfile_add (consentctl). */
#include "privacy/privacy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads path into text (PRIVACY_KEYFILE_MAX bytes) and parses it; returns the length read. */
static int read_ring(const char *path, char *text, struct privacy_keyring *ring, char *err,
		     size_t errlen)
{
	char why[256];
	int n = secretfile_read(path, (uint8_t *)text, PRIVACY_KEYFILE_MAX, err, errlen);

	if (n < 0)
		return n;
	if (privacy_keyring_parse(text, (size_t)n, ring, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -EINVAL;
	}
	return n;
}

int privacy_keyfile_load(const char *path, struct privacy_keyring *ring, char *err, size_t errlen)
{
	char text[PRIVACY_KEYFILE_MAX];
	int n;

	if (!path || !path[0] || !ring)
		return -EINVAL;
	n = read_ring(path, text, ring, err, errlen);
	OPENSSL_cleanse(text, sizeof(text));
	return n < 0 ? n : 0;
}

/* The next version to add to the existing file, and whether it lacks a final newline. */
static int next_version(const char *path, uint32_t *version, bool *needs_nl, char *err,
			size_t errlen)
{
	char text[PRIVACY_KEYFILE_MAX];
	struct privacy_keyring ring;
	int n = read_ring(path, text, &ring, err, errlen);

	if (n >= 0 && ring.n == PRIVACY_MASTER_KEYS_MAX) {
		snprintf(err, errlen, "%s: already holds %d keys; remove retired versions first",
			 path, PRIVACY_MASTER_KEYS_MAX);
		n = -ENOSPC;
	} else if (n >= 0 && privacy_keyring_active(&ring)->version == UINT32_MAX) {
		snprintf(err, errlen, "%s: no version after %" PRIu32, path, UINT32_MAX);
		n = -ERANGE;
	} else if (n >= 0) {
		*version = privacy_keyring_active(&ring)->version + 1;
		*needs_nl = n > 0 && text[n - 1] != '\n';
	}
	privacy_keyring_clear(&ring);
	OPENSSL_cleanse(text, sizeof(text));
	return n < 0 ? n : 0;
}

/* Opens path for the new key: created with mode 0600 (version 1), or appended to. */
static int open_keyfile(const char *path, uint32_t *version, bool *needs_nl, char *err,
			size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc;

	*needs_nl = false;
	if (fd >= 0) {
		*version = 1;
		if (fchmod(fd, 0600) == 0)
			return fd;
		rc = -errno;
		close(fd);
		unlink(path);
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = next_version(path, version, needs_nl, err, errlen);
	if (rc < 0)
		return rc;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	return fd < 0 ? rc : fd;
}

int privacy_keyfile_add(const char *path, uint32_t *version, char *err, size_t errlen)
{
	uint8_t key[PRIVACY_KEY_LEN];
	char hex[2 * PRIVACY_KEY_LEN + 1], line[2 * PRIVACY_KEY_LEN + 16];
	bool needs_nl;
	int fd, len, rc;

	if (!path || !path[0] || !version)
		return -EINVAL;
	fd = open_keyfile(path, version, &needs_nl, err, errlen);
	if (fd < 0)
		return fd;
	rc = privacy_random(key, sizeof(key));
	if (rc == 0) {
		hex_encode(key, sizeof(key), hex);
		len = snprintf(line, sizeof(line), "%s%" PRIu32 " %s\n", needs_nl ? "\n" : "",
			       *version, hex);
		rc = secretfile_write_all(fd, line, (size_t)len);
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		if (*version == 1) /* only a file this call created has version 1 */
			unlink(path);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}
