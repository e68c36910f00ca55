/* Bearer-token store: a small text file of hashed tokens, loaded at start and on SIGHUP. */
#include "auth/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define AUTH_LINE_MAX 256 /* name (64) + scopes + 64 hex digits, with room to spare */
#define AUTH_SCOPES_ALL (AUTH_SCOPE_INGEST | AUTH_SCOPE_READ | AUTH_SCOPE_ADMIN)

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{ "ingest", AUTH_SCOPE_INGEST },
	{ "read", AUTH_SCOPE_READ },
	{ "admin", AUTH_SCOPE_ADMIN },
};

int auth_scopes_parse(const char *s, unsigned *out)
{
	char tmp[128], *save = NULL, *tok;
	unsigned mask = 0;

	if (snprintf(tmp, sizeof(tmp), "%s", s) >= (int)sizeof(tmp))
		return -EINVAL;
	for (tok = strtok_r(tmp, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		size_t i;

		for (i = 0; i < ARRAY_SIZE(scope_names); i++)
			if (strcmp(tok, scope_names[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(scope_names))
			return -EINVAL;
		mask |= scope_names[i].bit;
	}
	if (!mask)
		return -EINVAL;
	*out = mask;
	return 0;
}

void auth_scopes_format(unsigned scopes, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(scope_names); i++)
		if (scopes & scope_names[i].bit)
			used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, "%s%s",
						 used ? "," : "", scope_names[i].name);
}

static void token_hash(const char *token, uint8_t out[32])
{
	EVP_Digest(token, strlen(token), out, NULL, EVP_sha256(), NULL);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > AUTH_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static int parse_line(char *line, struct auth_token *t)
{
	char *save = NULL, *name, *scopes, *hash;

	name = strtok_r(line, " \t\r\n", &save);
	scopes = strtok_r(NULL, " \t\r\n", &save);
	hash = strtok_r(NULL, " \t\r\n", &save);
	if (!name || !scopes || !hash || strtok_r(NULL, " \t\r\n", &save) || !valid_name(name))
		return -EINVAL;
	if (auth_scopes_parse(scopes, &t->scopes) < 0 || hex_decode(hash, strlen(hash), t->hash, 32) < 0)
		return -EINVAL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	return 0;
}

static int read_tokens(FILE *f, struct auth_tokens *t, const char *path, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;

	while (rc == 0 && getline(&line, &cap, f) > 0) {
		struct auth_token *grown;
		char *p = line + strspn(line, " \t");

		lineno++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		grown = realloc(t->items, (t->n + 1) * sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		t->items = grown;
		if (strlen(p) > AUTH_LINE_MAX || parse_line(p, &t->items[t->n]) < 0) {
			snprintf(err, errlen, "%s:%d: expected \"name scopes sha256hex\"", path, lineno);
			rc = -EINVAL;
			break;
		}
		t->n++;
	}
	free(line);
	return rc;
}

int auth_tokens_load(const char *path, struct auth_tokens **out, char *err, size_t errlen)
{
	struct auth_tokens *t = calloc(1, sizeof(*t));
	struct stat st;
	FILE *f = NULL;
	int rc = 0;

	if (!t)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			goto done;
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "%s: writable by group or others; chmod 600 %s", path, path);
		rc = -EPERM;
		goto done;
	}
	rc = read_tokens(f, t, path, err, errlen);
done:
	if (f)
		fclose(f);
	if (rc < 0) {
		auth_tokens_free(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

void auth_tokens_free(struct auth_tokens *t)
{
	if (!t)
		return;
	free(t->items);
	free(t);
}

const struct auth_token *auth_tokens_find(const struct auth_tokens *t, const char *token)
{
	const struct auth_token *found = NULL;
	uint8_t h[32];

	if (!t || !token)
		return NULL;
	token_hash(token, h);
	for (size_t i = 0; i < t->n; i++)
		if (ct_equal(h, t->items[i].hash, sizeof(h)) && !found)
			found = &t->items[i];
	return found;
}

static int new_token(char *out)
{
	uint8_t raw[32];
	char *b64;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	b64 = b64_encode(raw, sizeof(raw));
	if (!b64)
		return -ENOMEM;
	/* base64url without padding: 43 characters */
	for (char *p = b64; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	b64[43] = '\0';
	snprintf(out, AUTH_TOKEN_LEN + 1, "cdt_%s", b64);
	free(b64);
	return 0;
}

/* A file edited by hand may lack its final newline: the new line must not join the last one. */
static bool needs_newline(int fd)
{
	char last;
	off_t end = lseek(fd, 0, SEEK_END);

	return end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n';
}

int auth_tokens_add(const char *path, const char *name, unsigned scopes, char *token_out, char *err,
		    size_t errlen)
{
	struct auth_tokens *t = NULL;
	char scopes_txt[64], hex[65], line[256];
	uint8_t h[32];
	int fd, rc;

	if (!valid_name(name)) {
		snprintf(err, errlen, "token name must be 1-64 of [A-Za-z0-9_.-]");
		return -EINVAL;
	}
	if (scopes == 0 || (scopes & ~(unsigned)AUTH_SCOPES_ALL)) {
		snprintf(err, errlen, "a token needs at least one of the scopes ingest, read, admin");
		return -EINVAL;
	}
	if ((rc = auth_tokens_load(path, &t, err, errlen)) < 0)
		return rc;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->items[i].name, name) == 0)
			rc = -EEXIST;
	auth_tokens_free(t);
	if (rc < 0) {
		snprintf(err, errlen, "a token named %s exists already; revoke it first", name);
		return rc;
	}
	if ((rc = new_token(token_out)) < 0)
		return rc;
	token_hash(token_out, h);
	hex_encode(h, sizeof(h), hex);
	auth_scopes_format(scopes, scopes_txt, sizeof(scopes_txt));
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	snprintf(line, sizeof(line), "%s%s %s %s\n", fd >= 0 && needs_newline(fd) ? "\n" : "", name,
		 scopes_txt, hex);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int write_without(const char *path, const char *tmp, const char *name, char *err, size_t errlen)
{
	char *line = NULL, *copy = NULL;
	size_t cap = 0;
	FILE *in = fopen(path, "re"), *out = NULL;
	int rc = -ENOENT, fd;

	if (!in) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(in);
		return -EIO;
	}
	while (getline(&line, &cap, in) > 0) {
		char *save = NULL, *first;

		free(copy);
		copy = strdup(line);
		first = copy ? strtok_r(copy, " \t\r\n", &save) : NULL;
		if (first && strcmp(first, name) == 0) {
			rc = 0;
			continue;
		}
		fputs(line, out);
	}
	free(line);
	free(copy);
	fclose(in);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		rc = -EIO;
	fclose(out);
	if (rc == -ENOENT)
		snprintf(err, errlen, "no token named %s in %s", name, path);
	return rc;
}

int auth_tokens_revoke(const char *path, const char *name, char *err, size_t errlen)
{
	char tmp[4096];
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = write_without(path, tmp, name, err, errlen);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
}
