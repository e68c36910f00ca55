/* Bearer tokens: only their SHA-256 is kept, in a text file of lines "name scopes sha256hex"
 * (scopes comma-separated: ingest, read, admin). Lookups compare in constant time. */
#ifndef CONSENTD_TOKENS_H
#define CONSENTD_TOKENS_H

#include <stddef.h>
#include <stdint.h>

enum auth_scope {
	AUTH_SCOPE_INGEST = 1 << 0,
	AUTH_SCOPE_READ = 1 << 1,
	AUTH_SCOPE_ADMIN = 1 << 2,
};

#define AUTH_NAME_MAX 64
#define AUTH_TOKEN_LEN 47 /* "cdt_" + 43 base64url characters of 32 random bytes */

struct auth_token {
	char name[AUTH_NAME_MAX + 1];
	unsigned scopes;
	uint8_t hash[32];
};

struct auth_tokens {
	struct auth_token *items;
	size_t n;
};

/* "ingest,read" -> bitmask; -EINVAL naming nothing else (caller reports the text). */
int auth_scopes_parse(const char *s, unsigned *out);
/* Writes "ingest,read,admin" style text for a mask. */
void auth_scopes_format(unsigned scopes, char *out, size_t outlen);

/* Loads the file. A missing file gives an empty set (-ENOENT is not returned); a file that
 * others may write, or a malformed line, is an error with err saying which line. The caller
 * frees *out with auth_tokens_free. */
int auth_tokens_load(const char *path, struct auth_tokens **out, char *err, size_t errlen);
void auth_tokens_free(struct auth_tokens *t);

/* The token whose hash matches, or NULL. Every stored hash is compared, in constant time. */
const struct auth_token *auth_tokens_find(const struct auth_tokens *t, const char *token);

/* Creates a random token, appends "name scopes hash" to the file (created 0600), and writes the
 * token text (AUTH_TOKEN_LEN + 1 bytes) to token_out. -EEXIST if the name is taken. */
int auth_tokens_add(const char *path, const char *name, unsigned scopes, char *token_out, char *err,
		    size_t errlen);
/* Rewrites the file without the named token; -ENOENT if there is none. */
int auth_tokens_revoke(const char *path, const char *name, char *err, size_t errlen);

#endif
