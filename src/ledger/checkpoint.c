/* The checkpoint body: the three lines a log signs to commit to its Merkle tree head. Strict in
 * what it parses, because two texts for one tree head would be two different signed statements. */
#include "ledger/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One line of the text: bytes other than ASCII controls (UTF-8 validity is note.c's check). */
static bool valid_line(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20)
			return false;
	}
	return true;
}

int checkpoint_format(const char *origin, uint64_t tree_size,
		      const uint8_t root[CHECKPOINT_HASH_LEN], struct buf *out)
{
	size_t old = out->len;
	char *b64;
	int rc;

	if (!origin || !*origin || !valid_line(origin, strlen(origin)))
		return -EINVAL;
	b64 = b64_encode(root, CHECKPOINT_HASH_LEN);
	if (!b64)
		return -ENOMEM;
	rc = buf_printf(out, "%s\n%" PRIu64 "\n%s\n", origin, tree_size, b64);
	if (rc < 0)
		out->len = old;
	free(b64);
	return rc;
}

/* Next line of [*pos, len): its start and length without the '\n'; -EINVAL if unterminated. */
static int next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return -EINVAL;
	nl = memchr(text + *pos, '\n', len - *pos);
	if (!nl)
		return -EINVAL;
	*line = text + *pos;
	*n = (size_t)(nl - *line);
	*pos += *n + 1;
	return 0;
}

static int parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int checkpoint_parse(const char *text, size_t len, char **origin_out, uint64_t *tree_size,
		     uint8_t root[CHECKPOINT_HASH_LEN])
{
	const char *origin, *size_s, *root_s, *ext;
	size_t pos = 0, origin_n, size_n, root_n, ext_n;
	uint8_t h[CHECKPOINT_HASH_LEN + 3];
	uint64_t size;

	if (!text || next_line(text, len, &pos, &origin, &origin_n) < 0 ||
	    next_line(text, len, &pos, &size_s, &size_n) < 0 ||
	    next_line(text, len, &pos, &root_s, &root_n) < 0)
		return -EINVAL;
	if (origin_n == 0 || !valid_line(origin, origin_n) ||
	    parse_size(size_s, size_n, &size) < 0 ||
	    b64_decode(root_s, root_n, h, sizeof(h)) != CHECKPOINT_HASH_LEN)
		return -EINVAL;
	while (pos < len) {
		if (next_line(text, len, &pos, &ext, &ext_n) < 0 || ext_n == 0 ||
		    !valid_line(ext, ext_n))
			return -EINVAL;
	}
	if (origin_out && !(*origin_out = strndup(origin, origin_n)))
		return -ENOMEM;
	*tree_size = size;
	memcpy(root, h, CHECKPOINT_HASH_LEN);
	return 0;
}
