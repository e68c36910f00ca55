/* Reading key material from files that only the owner may read. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secretfile_read(const char *path, uint8_t *out, size_t maxlen, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: mode %03o lets group or others read it; chmod 600 %s", path,
			 (unsigned)(st.st_mode & 0777), path);
		rc = -EPERM;
		goto out;
	}
	while ((n = read(fd, out + got, maxlen - got)) > 0 && got < maxlen)
		got += (size_t)n;
	if (n < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (got == maxlen) {
		char extra;

		if (read(fd, &extra, 1) == 1) {
			snprintf(err, errlen, "%s: longer than %zu bytes", path, maxlen);
			rc = -EFBIG;
			goto out;
		}
	}
	rc = (int)got;
out:
	close(fd);
	return rc;
}

int secretfile_write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}
