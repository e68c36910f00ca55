/* Data keys wrapped under versioned master keys, and the master keyring.
 *
 * Wrapping uses AES-256-GCM rather than RFC 5649 key wrap (EVP_aes_256_wrap_pad): one primitive
 * and one code path for all of the module's encryption; a 128-bit tag instead of key wrap's
 * 64-bit integrity check; and associated data that authenticates the blob's header, so the
 * recorded master key version cannot be altered. GCM's limit of about 2^32 random nonces per key
 * is far above the number of data keys (one per subject) a master key wraps before rotation. */
#include "privacy/privacy_internal.h"

#include "event/event.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#define WRAP_LABEL "consentd data key v1"
#define HEADER_LEN 5 /* version byte, master key version */
#define AD_LEN	   (sizeof(WRAP_LABEL) + HEADER_LEN)

int privacy_data_key_new(uint8_t data_key[PRIVACY_KEY_LEN])
{
	return data_key ? privacy_random(data_key, PRIVACY_KEY_LEN) : -EINVAL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* label || header: the header is authenticated, not encrypted. */
static void build_ad(const uint8_t header[HEADER_LEN], uint8_t ad[AD_LEN])
{
	memcpy(ad, WRAP_LABEL, sizeof(WRAP_LABEL));
	memcpy(ad + sizeof(WRAP_LABEL), header, HEADER_LEN);
}

int privacy_wrap(const struct privacy_master_key *master, const uint8_t data_key[PRIVACY_KEY_LEN],
		 uint8_t out[PRIVACY_WRAPPED_LEN])
{
	uint8_t ad[AD_LEN];
	uint8_t *nonce = out + HEADER_LEN, *ct = nonce + PRIVACY_NONCE_LEN;
	int rc;

	if (!master || master->version == 0 || !data_key || !out)
		return -EINVAL;
	out[0] = PRIVACY_WRAP_V1;
	out[1] = (uint8_t)(master->version >> 24);
	out[2] = (uint8_t)(master->version >> 16);
	out[3] = (uint8_t)(master->version >> 8);
	out[4] = (uint8_t)master->version;
	build_ad(out, ad);
	rc = privacy_random(nonce, PRIVACY_NONCE_LEN);
	if (!rc)
		rc = privacy_gcm_seal(master->key, nonce, ad, AD_LEN, data_key, PRIVACY_KEY_LEN, ct,
				      ct + PRIVACY_KEY_LEN);
	if (rc)
		OPENSSL_cleanse(out, PRIVACY_WRAPPED_LEN);
	return rc;
}

uint32_t privacy_wrapped_version(const uint8_t *wrapped, size_t len)
{
	if (!wrapped || len != PRIVACY_WRAPPED_LEN || wrapped[0] != PRIVACY_WRAP_V1)
		return 0;
	return be32(wrapped + 1);
}

int privacy_unwrap(const struct privacy_keyring *ring, const uint8_t *wrapped, size_t len,
		   uint8_t data_key[PRIVACY_KEY_LEN])
{
	const struct privacy_master_key *master;
	const uint8_t *nonce, *ct;
	uint32_t version = privacy_wrapped_version(wrapped, len);
	uint8_t ad[AD_LEN];

	if (!ring || !data_key)
		return -EINVAL;
	memset(data_key, 0, PRIVACY_KEY_LEN);
	if (version == 0)
		return wrapped ? -EBADMSG : -EINVAL;
	master = privacy_keyring_find(ring, version);
	if (!master)
		return -ENOKEY;
	nonce = wrapped + HEADER_LEN;
	ct = nonce + PRIVACY_NONCE_LEN;
	build_ad(wrapped, ad);
	return privacy_gcm_open(master->key, nonce, ad, AD_LEN, ct, PRIVACY_KEY_LEN,
				ct + PRIVACY_KEY_LEN, data_key);
}

int privacy_rewrap(const struct privacy_keyring *ring, const struct privacy_master_key *to,
		   const uint8_t *wrapped, size_t len, uint8_t out[PRIVACY_WRAPPED_LEN])
{
	uint8_t data_key[PRIVACY_KEY_LEN];
	int rc;

	if (!to || !out)
		return -EINVAL;
	rc = privacy_unwrap(ring, wrapped, len, data_key);
	if (!rc)
		rc = privacy_wrap(to, data_key, out);
	OPENSSL_cleanse(data_key, sizeof(data_key));
	return rc;
}

/* ---- The keyring --------------------------------------------------------------------------- */

/* The file has the subject key file's format, so the subject keyring's parser reads it. */
int privacy_keyring_parse(const char *text, size_t len, struct privacy_keyring *ring, char *err,
			  size_t errlen)
{
	struct subject_keyring sub;
	int rc;

	_Static_assert(SUBJECT_KEY_LEN == PRIVACY_KEY_LEN, "key sizes differ");
	_Static_assert(SUBJECT_KEYS_MAX == PRIVACY_MASTER_KEYS_MAX, "ring sizes differ");
	if (!text || !ring)
		return -EINVAL;
	memset(ring, 0, sizeof(*ring));
	rc = subject_keyring_parse(text, len, &sub, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sub.n; i++) {
		ring->keys[i].version = sub.keys[i].version;
		memcpy(ring->keys[i].key, sub.keys[i].key, PRIVACY_KEY_LEN);
	}
	ring->n = sub.n;
	ring->active = sub.active;
	OPENSSL_cleanse(&sub, sizeof(sub));
	return 0;
}

const struct privacy_master_key *privacy_keyring_active(const struct privacy_keyring *ring)
{
	if (!ring || ring->n == 0 || ring->active >= ring->n)
		return NULL;
	return &ring->keys[ring->active];
}

const struct privacy_master_key *privacy_keyring_find(const struct privacy_keyring *ring,
						      uint32_t version)
{
	for (size_t i = 0; ring && i < ring->n && i < PRIVACY_MASTER_KEYS_MAX; i++)
		if (ring->keys[i].version == version)
			return &ring->keys[i];
	return NULL;
}

void privacy_keyring_clear(struct privacy_keyring *ring)
{
	if (ring)
		OPENSSL_cleanse(ring, sizeof(*ring));
}
