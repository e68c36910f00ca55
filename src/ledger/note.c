/* C2SP signed notes with Ed25519 (signature type 0x01): key texts as Go's sumdb/note writes
 * them, signing, and strict opening. Ed25519 is OpenSSL's EVP_PKEY_ED25519. */
#include "ledger/note.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALG_ED25519    0x01
#define KEY_LEN	       (1 + NOTE_ED25519_PUB_LEN) /* algorithm byte || key */
#define SIG_RAW_LEN    (4 + NOTE_ED25519_SIG_LEN)
#define PRIVATE_PREFIX "PRIVATE+KEY+"
#define SIG_PREFIX     "\xe2\x80\x94 " /* U+2014 EM DASH, space */

struct note_signer {
	char *name;
	uint32_t key_id;
	uint8_t pub[NOTE_ED25519_PUB_LEN];
	EVP_PKEY *pkey;
};

struct note_verifier {
	char *name;
	uint32_t key_id;
	uint8_t pub[NOTE_ED25519_PUB_LEN];
	EVP_PKEY *pkey;
};

/* Decodes one UTF-8 sequence as Go's utf8.DecodeRune does: shortest form only, no surrogates,
 * nothing above U+10FFFF. Returns its length, or 0 when invalid. */
static size_t utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Unicode White_Space, as Go's unicode.IsSpace, which key names must not contain. */
static bool is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* Valid UTF-8 without ASCII control characters, newline allowed only if asked. A key name
 * additionally excludes spaces and '+'; it must be non-empty. */
static bool valid_text(const char *s, size_t len, bool newline, bool name)
{
	const uint8_t *p = (const uint8_t *)s;
	uint32_t c;

	if (name && len == 0)
		return false;
	for (size_t i = 0, n; i < len; i += n) {
		if ((n = utf8_next(p + i, len - i, &c)) == 0)
			return false;
		if (c < 0x20 && !(newline && c == '\n'))
			return false;
		if (name && (c == '+' || is_space(c)))
			return false;
	}
	return true;
}

static bool valid_name(const char *s, size_t len)
{
	return valid_text(s, len, false, true);
}

uint32_t note_key_id(const char *name, const uint8_t pub[NOTE_ED25519_PUB_LEN])
{
	static const uint8_t sep[2] = {'\n', ALG_ED25519};
	uint8_t h[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* As for leaf hashes: a libcrypto that cannot hash is fatal, never a wrong ID. */
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
	    EVP_DigestUpdate(ctx, sep, sizeof(sep)) != 1 ||
	    EVP_DigestUpdate(ctx, pub, NOTE_ED25519_PUB_LEN) != 1 ||
	    EVP_DigestFinal_ex(ctx, h, NULL) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* "<prefix><name>+<8 hex>+<base64(0x01 || key)>", malloc'd; intermediate copies are wiped
 * because key may be a private seed. */
static char *key_text(const char *prefix, const char *name, uint32_t id, const uint8_t key[32])
{
	uint8_t raw[KEY_LEN];
	char *b64, *out = NULL;
	size_t len;

	raw[0] = ALG_ED25519;
	memcpy(raw + 1, key, 32);
	b64 = b64_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!b64)
		return NULL;
	len = strlen(prefix) + strlen(name) + 1 + 8 + 1 + strlen(b64) + 1;
	out = malloc(len);
	if (out)
		snprintf(out, len, "%s%s+%08x+%s", prefix, name, (unsigned)id, b64);
	note_secret_free(b64);
	return out;
}

void note_secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

int note_signer_from_seed(const char *name, const uint8_t seed[NOTE_ED25519_SEED_LEN],
			  struct note_signer **out)
{
	struct note_signer *s;
	size_t publen = NOTE_ED25519_PUB_LEN;

	if (!name || !valid_name(name, strlen(name)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->name = strdup(name);
	s->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, NOTE_ED25519_SEED_LEN);
	if (!s->name || !s->pkey || EVP_PKEY_get_raw_public_key(s->pkey, s->pub, &publen) != 1 ||
	    publen != NOTE_ED25519_PUB_LEN) {
		note_signer_free(s);
		return -ENOMEM;
	}
	s->key_id = note_key_id(name, s->pub);
	*out = s;
	return 0;
}

int note_verifier_from_key(const char *name, const uint8_t pub[NOTE_ED25519_PUB_LEN],
			   struct note_verifier **out)
{
	struct note_verifier *v;

	if (!name || !valid_name(name, strlen(name)))
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->name = strdup(name);
	v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, NOTE_ED25519_PUB_LEN);
	if (!v->name || !v->pkey) {
		note_verifier_free(v);
		return -ENOMEM;
	}
	memcpy(v->pub, pub, NOTE_ED25519_PUB_LEN);
	v->key_id = note_key_id(name, pub);
	*out = v;
	return 0;
}

void note_signer_free(struct note_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pkey); /* libcrypto wipes the private key */
	free(s->name);
	free(s);
}

void note_verifier_free(struct note_verifier *v)
{
	if (!v)
		return;
	EVP_PKEY_free(v->pkey);
	free(v->name);
	free(v);
}

/*
 * Splits "<name>+<8 hex key ID>+<base64(0x01 || 32-byte key)>" (after any PRIVATE+KEY+ prefix).
 * name is malloc'd. The name ends at the first '+' (names cannot hold one); base64 may.
 */
static int parse_key_body(const char *text, char **name, uint32_t *id, uint8_t key[32])
{
	const char *p1 = strchr(text, '+'), *p2, *b64;
	uint8_t idb[4], raw[KEY_LEN + 2], first[3];
	int n;

	if (!p1 || !valid_name(text, (size_t)(p1 - text)))
		return -EINVAL;
	p2 = strchr(p1 + 1, '+');
	if (!p2 || hex_decode(p1 + 1, (size_t)(p2 - p1 - 1), idb, sizeof(idb)) < 0)
		return -EINVAL;
	b64 = p2 + 1;
	/* Tell another algorithm's well-formed key from garbage by its first byte. */
	if (strlen(b64) >= 4 && b64_decode(b64, 4, first, sizeof(first)) > 0 &&
	    first[0] != ALG_ED25519)
		return -ENOTSUP;
	n = b64_decode(b64, strlen(b64), raw, sizeof(raw));
	if (n != KEY_LEN || raw[0] != ALG_ED25519) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return -EINVAL;
	}
	memcpy(key, raw + 1, 32);
	OPENSSL_cleanse(raw, sizeof(raw));
	*name = strndup(text, (size_t)(p1 - text));
	if (!*name)
		return -ENOMEM;
	*id = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16 | (uint32_t)idb[2] << 8 | idb[3];
	return 0;
}

int note_signer_parse(const char *text, struct note_signer **out)
{
	struct note_signer *s = NULL;
	uint8_t seed[NOTE_ED25519_SEED_LEN];
	char *name = NULL;
	uint32_t id;
	int rc;

	if (!text || strncmp(text, PRIVATE_PREFIX, strlen(PRIVATE_PREFIX)) != 0)
		return -EINVAL;
	rc = parse_key_body(text + strlen(PRIVATE_PREFIX), &name, &id, seed);
	if (rc == 0)
		rc = note_signer_from_seed(name, seed, &s);
	/* The ID names the public key, so it can only be checked once that is derived. */
	if (rc == 0 && s->key_id != id)
		rc = -EINVAL;
	OPENSSL_cleanse(seed, sizeof(seed));
	free(name);
	if (rc < 0) {
		note_signer_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int note_verifier_parse(const char *text, struct note_verifier **out)
{
	struct note_verifier *v = NULL;
	uint8_t pub[NOTE_ED25519_PUB_LEN];
	char *name = NULL;
	uint32_t id;
	int rc;

	if (!text || strncmp(text, PRIVATE_PREFIX, strlen(PRIVATE_PREFIX)) == 0)
		return -EINVAL;
	rc = parse_key_body(text, &name, &id, pub);
	if (rc == 0)
		rc = note_verifier_from_key(name, pub, &v);
	if (rc == 0 && v->key_id != id)
		rc = -EINVAL;
	free(name);
	if (rc < 0) {
		note_verifier_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int note_keygen(const char *name, char **signer_text, char **verifier_text)
{
	uint8_t seed[NOTE_ED25519_SEED_LEN];
	struct note_signer *s = NULL;
	char *st = NULL, *vt = NULL;
	int rc;

	if (!name || !valid_name(name, strlen(name)))
		return -EINVAL;
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		return -EIO;
	rc = note_signer_from_seed(name, seed, &s);
	if (rc == 0) {
		st = key_text(PRIVATE_PREFIX, name, s->key_id, seed);
		vt = note_signer_verifier_text(s);
		if (!st || !vt)
			rc = -ENOMEM;
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	note_signer_free(s);
	if (rc < 0) {
		note_secret_free(st);
		free(vt);
		return rc;
	}
	*signer_text = st;
	*verifier_text = vt;
	return 0;
}

const char *note_signer_name(const struct note_signer *s)
{
	return s->name;
}

uint32_t note_signer_key_id(const struct note_signer *s)
{
	return s->key_id;
}

void note_signer_public_key(const struct note_signer *s, uint8_t out[NOTE_ED25519_PUB_LEN])
{
	memcpy(out, s->pub, NOTE_ED25519_PUB_LEN);
}

const char *note_verifier_name(const struct note_verifier *v)
{
	return v->name;
}

uint32_t note_verifier_key_id(const struct note_verifier *v)
{
	return v->key_id;
}

char *note_signer_verifier_text(const struct note_signer *s)
{
	return key_text("", s->name, s->key_id, s->pub);
}

int note_ed25519_sign(const struct note_signer *s, const uint8_t *msg, size_t len,
		      uint8_t sig[NOTE_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = NOTE_ED25519_SIG_LEN;
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	/* Ed25519 is "pure": no digest, the whole message goes to one EVP_DigestSign call. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg ? msg : (const uint8_t *)"", len) != 1 ||
	    siglen != NOTE_ED25519_SIG_LEN) {
		ERR_clear_error();
		rc = -EIO;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int note_ed25519_verify(const struct note_verifier *v, const uint8_t *msg, size_t len,
			const uint8_t sig[NOTE_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, v->pkey) != 1 ||
	    EVP_DigestVerify(ctx, sig, NOTE_ED25519_SIG_LEN, msg ? msg : (const uint8_t *)"",
			     len) != 1) {
		ERR_clear_error();
		rc = -EBADMSG;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

int note_sign(const struct note_signer *s, const char *text, size_t len, struct buf *out)
{
	uint8_t raw[SIG_RAW_LEN];
	size_t old = out->len;
	char *b64;
	int rc;

	if (!text || len == 0 || text[len - 1] != '\n' || !valid_text(text, len, true, false))
		return -EINVAL;
	raw[0] = (uint8_t)(s->key_id >> 24);
	raw[1] = (uint8_t)(s->key_id >> 16);
	raw[2] = (uint8_t)(s->key_id >> 8);
	raw[3] = (uint8_t)s->key_id;
	rc = note_ed25519_sign(s, (const uint8_t *)text, len, raw + 4);
	if (rc < 0)
		return rc;
	b64 = b64_encode(raw, sizeof(raw));
	if (!b64)
		return -ENOMEM;
	if ((rc = buf_append(out, text, len)) < 0 ||
	    (rc = buf_printf(out, "\n" SIG_PREFIX "%s %s\n", s->name, b64)) < 0)
		out->len = old;
	free(b64);
	return rc;
}

/* The text ends at the last blank line; what follows must be whole lines. */
static int split_note(const char *note, size_t len, size_t *text_len)
{
	for (size_t i = len; i >= 2; i--) {
		if (note[i - 2] == '\n' && note[i - 1] == '\n') {
			if (i == len || note[len - 1] != '\n')
				return -EINVAL;
			*text_len = i - 1;
			return 0;
		}
	}
	return -EINVAL;
}

/* "— <name> <base64>" without its newline: name and the decoded bytes (at least a key ID and
 * one signature byte). raw holds at least n bytes. */
static int parse_sig_line(const char *line, size_t n, const char **name, size_t *name_len,
			  uint8_t *raw, size_t *raw_len)
{
	size_t plen = strlen(SIG_PREFIX);
	const char *sp;
	int rc;

	if (n < plen || memcmp(line, SIG_PREFIX, plen) != 0)
		return -EINVAL;
	line += plen;
	n -= plen;
	sp = memchr(line, ' ', n);
	if (!sp || !valid_name(line, (size_t)(sp - line)))
		return -EINVAL;
	*name = line;
	*name_len = (size_t)(sp - line);
	rc = b64_decode(sp + 1, n - *name_len - 1, raw, n);
	if (rc < 5)
		return -EINVAL;
	*raw_len = (size_t)rc;
	return 0;
}

/* Index of the verifier with this name and key ID: -ENOENT if none, -EINVAL if ambiguous. */
static int find_verifier(struct note_verifier *const *vs, size_t n, const char *name,
			 size_t name_len, uint32_t id, size_t *idx)
{
	int rc = -ENOENT;

	for (size_t i = 0; i < n; i++) {
		if (!vs[i] || vs[i]->key_id != id || strlen(vs[i]->name) != name_len ||
		    memcmp(vs[i]->name, name, name_len) != 0)
			continue;
		if (rc == 0)
			return -EINVAL;
		*idx = i;
		rc = 0;
	}
	return rc;
}

/* Checks one signature line: 1 if a known key's signature verified (*idx set), 0 if the key is
 * unknown and the line ignored, or a negative errno. */
static int check_sig_line(const char *line, size_t n, const char *text, size_t text_len,
			  struct note_verifier *const *vs, size_t n_vs, uint8_t *raw, size_t *idx)
{
	const char *name;
	size_t name_len, raw_len;
	uint32_t id;
	int rc;

	rc = parse_sig_line(line, n, &name, &name_len, raw, &raw_len);
	if (rc < 0)
		return rc;
	id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
	rc = find_verifier(vs, n_vs, name, name_len, id, idx);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (raw_len != SIG_RAW_LEN)
		return -EBADMSG;
	rc = note_ed25519_verify(vs[*idx], (const uint8_t *)text, text_len, raw + 4);
	return rc < 0 ? rc : 1;
}

int note_open(const char *note, size_t len, struct note_verifier *const *verifiers,
	      size_t n_verifiers, size_t *text_len, size_t *verifier_idx)
{
	size_t tlen, pos, n_sigs = 0, first = SIZE_MAX, idx = 0;
	uint8_t *raw;
	int rc;

	if (!note || !valid_text(note, len, true, false))
		return -EINVAL;
	if ((rc = split_note(note, len, &tlen)) < 0)
		return rc;
	raw = malloc(len - tlen);
	if (!raw)
		return -ENOMEM;
	for (pos = tlen + 1; pos < len && rc >= 0;) {
		const char *nl = memchr(note + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (note + pos)) : 0;

		if (!nl || ++n_sigs > NOTE_MAX_SIGNATURES)
			rc = -EINVAL;
		else
			rc = check_sig_line(note + pos, n, note, tlen, verifiers, n_verifiers, raw,
					    &idx);
		if (rc == 1 && first == SIZE_MAX)
			first = idx;
		pos += n + 1;
	}
	free(raw);
	if (rc < 0)
		return rc;
	if (first == SIZE_MAX)
		return -ENOKEY;
	if (text_len)
		*text_len = tlen;
	if (verifier_idx)
		*verifier_idx = first;
	return 0;
}
