/* Subject pseudonyms: the key file, identifier normalisation, and the HMAC that replaces clear
 * identifiers before an event is encoded for the ledger. */
#include "event/event.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPACES " \t\n\v\f\r"

static bool is_space(char c)
{
	return c && strchr(SPACES, c);
}

static int line_error(char *err, size_t errlen, unsigned lineno, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "line %u: %s", lineno, why);
	return -EINVAL;
}

/* One non-comment line, already trimmed: "<version> <64 hex>" or "<64 hex>" (version 1). */
static int parse_key_line(const char *p, size_t len, struct subject_key *key)
{
	const char *hex = p;
	size_t n = 0;
	unsigned long long version = 1;

	while (n < len && !is_space(p[n]))
		n++;
	if (n < len) {
		char digits[11];

		if (n >= sizeof(digits) || strspn(p, "0123456789") < n)
			return -EINVAL;
		memcpy(digits, p, n);
		digits[n] = '\0';
		version = strtoull(digits, NULL, 10);
		if (version == 0 || version > UINT32_MAX)
			return -EINVAL;
		hex = p + n;
		while (is_space(*hex))
			hex++;
		len -= (size_t)(hex - p);
	}
	key->version = (uint32_t)version;
	return hex_decode(hex, len, key->key, SUBJECT_KEY_LEN);
}

static int add_key(struct subject_keyring *ring, const char *p, size_t len, unsigned lineno,
		   char *err, size_t errlen)
{
	struct subject_key key;
	int rc = 0;

	if (ring->n == SUBJECT_KEYS_MAX)
		return line_error(err, errlen, lineno, "too many keys (at most 16)");
	if (parse_key_line(p, len, &key) < 0)
		rc = line_error(err, errlen, lineno,
				"expected \"<version> <64 hex digits>\" or \"<64 hex digits>\"");
	for (size_t i = 0; i < ring->n && !rc; i++)
		if (ring->keys[i].version == key.version)
			rc = line_error(err, errlen, lineno, "duplicate key version");
	if (!rc) {
		if (ring->n == 0 || key.version > ring->keys[ring->active].version)
			ring->active = ring->n;
		ring->keys[ring->n++] = key;
	}
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}

int subject_keyring_parse(const char *text, size_t len, struct subject_keyring *ring, char *err,
			  size_t errlen)
{
	const char *end = text + len;
	unsigned lineno = 0;
	int rc = 0;

	memset(ring, 0, sizeof(*ring));
	for (const char *p = text; p < end && !rc; lineno++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *b = p, *e = eol ? eol : end;

		p = eol ? eol + 1 : end;
		while (b < e && is_space(*b))
			b++;
		while (e > b && is_space(e[-1]))
			e--;
		if (b == e || *b == '#')
			continue;
		if (memchr(b, '\0', (size_t)(e - b)))
			rc = line_error(err, errlen, lineno + 1, "contains a NUL byte");
		else
			rc = add_key(ring, b, (size_t)(e - b), lineno + 1, err, errlen);
	}
	if (!rc && ring->n == 0) {
		if (err && errlen)
			snprintf(err, errlen, "no key in the file");
		rc = -EINVAL;
	}
	if (rc)
		OPENSSL_cleanse(ring, sizeof(*ring));
	return rc;
}

int subject_normalize(Consentd__V1__SubjectIdKind kind, const char *in, char *out, size_t outlen)
{
	size_t len;

	if (!in || !event_subject_kind_name(kind))
		return -EINVAL;
	while (is_space(*in))
		in++;
	len = strlen(in);
	while (len && is_space(in[len - 1]))
		len--;
	if (len == 0 || len >= outlen)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (kind == CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL && c >= 'A' &&
		    c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
	}
	out[len] = '\0';
	return 0;
}

int subject_pseudonym(const struct subject_key *key, Consentd__V1__SubjectIdKind kind,
		      const char *normalized, uint8_t out[EVENT_HASH_LEN])
{
	const char *name = event_subject_kind_name(kind);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t outlen = 0;
	int rc = -ENOMEM;

	if (!name || !normalized)
		return -EINVAL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (ctx && EVP_MAC_init(ctx, key->key, SUBJECT_KEY_LEN, params) &&
	    EVP_MAC_update(ctx, (const unsigned char *)name, strlen(name)) &&
	    EVP_MAC_update(ctx, (const unsigned char *)":", 1) &&
	    EVP_MAC_update(ctx, (const unsigned char *)normalized, strlen(normalized)) &&
	    EVP_MAC_final(ctx, out, &outlen, EVENT_HASH_LEN) && outlen == EVENT_HASH_LEN)
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

/* The pseudonym of one clear identifier under key, or NULL with *rc set. */
static Consentd__V1__Pseudonym *make_pseudonym(const struct subject_key *key,
					       Consentd__V1__SubjectIdKind kind, const char *clear,
					       int *rc)
{
	size_t size = strlen(clear) + 1;
	Consentd__V1__Pseudonym *p = malloc(sizeof(*p));
	char *norm = malloc(size);

	*rc = -ENOMEM;
	if (p) {
		consentd__v1__pseudonym__init(p);
		p->hmac.data = malloc(EVENT_HASH_LEN);
	}
	if (p && norm && p->hmac.data) {
		*rc = subject_normalize(kind, clear, norm, size);
		if (!*rc)
			*rc = subject_pseudonym(key, kind, norm, p->hmac.data);
		OPENSSL_cleanse(norm, size);
	}
	free(norm);
	if (*rc) {
		if (p)
			consentd__v1__pseudonym__free_unpacked(p, NULL);
		return NULL;
	}
	p->kind = kind;
	p->key_version = key->version;
	p->hmac.len = EVENT_HASH_LEN;
	return p;
}

/* Everything is computed before anything changes, so that a failure leaves ev as it was. */
int event_pseudonymize(Consentd__V1__Event *ev, const struct subject_keyring *ring)
{
	static const Consentd__V1__SubjectIdKind kinds[] = {
		CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID,
		CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL,
		CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_DEVICE_ID,
	};
	Consentd__V1__Subject *s = ev ? ev->subject : NULL;
	Consentd__V1__Pseudonym *made[ARRAY_SIZE(kinds)] = { NULL };
	Consentd__V1__Pseudonym **arr;
	char **clear[ARRAY_SIZE(kinds)];
	size_t n = 0;
	int rc = 0;

	if (!ring || ring->n == 0 || ring->active >= ring->n)
		return -EINVAL;
	if (!s)
		return 0;
	clear[0] = &s->account_id;
	clear[1] = &s->email;
	clear[2] = &s->device_id;
	for (size_t i = 0; i < ARRAY_SIZE(kinds) && !rc; i++)
		if (*clear[i] && **clear[i])
			made[n++] = make_pseudonym(&ring->keys[ring->active], kinds[i], *clear[i],
						   &rc);
	if (!rc && n == 0)
		return 0;
	arr = rc ? NULL : realloc(s->pseudonyms, (s->n_pseudonyms + n) * sizeof(*arr));
	if (!arr) {
		for (size_t i = 0; i < n; i++)
			if (made[i])
				consentd__v1__pseudonym__free_unpacked(made[i], NULL);
		return rc ? rc : -ENOMEM;
	}
	s->pseudonyms = arr;
	for (size_t i = 0; i < n; i++)
		s->pseudonyms[s->n_pseudonyms++] = made[i];
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (*clear[i] && **clear[i]) {
			OPENSSL_cleanse(*clear[i], strlen(*clear[i]));
			free(*clear[i]);
			/* protobuf-c's own default for an empty string field, which it never frees
			 * (the cast goes through uintptr_t only to silence -Wcast-qual). */
			*clear[i] = (char *)(uintptr_t)protobuf_c_empty_string;
		}
	}
	return 0;
}
