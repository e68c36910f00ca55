/* Field encryption: AES-256-GCM under a subject's data key, with the subject's pseudonym and the
 * field's name as associated data; and the GCM primitive that key wrapping shares. */
#include "privacy/privacy_internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

/* Domain separation from wrapped keys, which use their own label (wrap.c). */
#define FIELD_LABEL "consentd field v1"
#define AD_MAX	    (sizeof(FIELD_LABEL) + 2 + PRIVACY_SUBJECT_MAX + 1 + PRIVACY_FIELD_NAME_MAX)

int privacy_random(uint8_t *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? 0 : -ENOMEM;
}

int privacy_gcm_seal(const uint8_t key[PRIVACY_KEY_LEN], const uint8_t nonce[PRIVACY_NONCE_LEN],
		     const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len, uint8_t *ct,
		     uint8_t tag[PRIVACY_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, rc = -ENOMEM;

	if (ctx && len <= INT32_MAX && adlen <= INT32_MAX &&
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)adlen) == 1 &&
	    (len == 0 || EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) == 1) &&
	    EVP_EncryptFinal_ex(ctx, ct + len, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PRIVACY_TAG_LEN, tag) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int privacy_gcm_open(const uint8_t key[PRIVACY_KEY_LEN], const uint8_t nonce[PRIVACY_NONCE_LEN],
		     const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
		     const uint8_t tag[PRIVACY_TAG_LEN], uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t tagcopy[PRIVACY_TAG_LEN];
	int n = 0, rc = -ENOMEM;

	memcpy(tagcopy, tag, sizeof(tagcopy));
	if (ctx && len <= INT32_MAX && adlen <= INT32_MAX &&
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)adlen) == 1 &&
	    (len == 0 || EVP_DecryptUpdate(ctx, pt, &n, ct, (int)len) == 1) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PRIVACY_TAG_LEN, tagcopy) == 1)
		rc = EVP_DecryptFinal_ex(ctx, pt + len, &n) == 1 ? 0 : -EBADMSG;
	if (rc && len)
		OPENSSL_cleanse(pt, len);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

static bool field_name_ok(const char *field)
{
	size_t len = field ? strlen(field) : 0;

	if (len == 0 || len > PRIVACY_FIELD_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (field[i] <= ' ' || field[i] > '~')
			return false;
	return true;
}

/* label || blob version || subject length || subject || field length || field: every part
 * length-prefixed or fixed, so no two (subject, field) pairs give the same bytes. */
static size_t build_ad(const struct privacy_ad *ad, uint8_t out[AD_MAX])
{
	size_t flen = strlen(ad->field), n = sizeof(FIELD_LABEL);

	memcpy(out, FIELD_LABEL, sizeof(FIELD_LABEL));
	out[n++] = PRIVACY_FIELD_V1;
	out[n++] = (uint8_t)ad->subject_len;
	memcpy(out + n, ad->subject, ad->subject_len);
	n += ad->subject_len;
	out[n++] = (uint8_t)flen;
	memcpy(out + n, ad->field, flen);
	return n + flen;
}

static bool ad_ok(const struct privacy_ad *ad)
{
	return ad && ad->subject && ad->subject_len >= 1 &&
	       ad->subject_len <= PRIVACY_SUBJECT_MAX && field_name_ok(ad->field);
}

int privacy_encrypt(const uint8_t data_key[PRIVACY_KEY_LEN], const struct privacy_ad *ad,
		    const uint8_t *plaintext, size_t len, struct buf *out)
{
	uint8_t adbuf[AD_MAX], *blob;
	size_t adlen, start;
	int rc;

	if (!data_key || !ad_ok(ad) || (!plaintext && len) || !out ||
	    len > INT32_MAX - PRIVACY_FIELD_OVERHEAD)
		return -EINVAL;
	if (buf_reserve(out, len + PRIVACY_FIELD_OVERHEAD) < 0)
		return -ENOMEM;
	adlen = build_ad(ad, adbuf);
	start = out->len;
	blob = out->data + start;
	blob[0] = PRIVACY_FIELD_V1;
	rc = privacy_random(blob + 1, PRIVACY_NONCE_LEN);
	if (!rc)
		rc = privacy_gcm_seal(data_key, blob + 1, adbuf, adlen, plaintext, len,
				      blob + 1 + PRIVACY_NONCE_LEN,
				      blob + 1 + PRIVACY_NONCE_LEN + len);
	if (!rc)
		out->len = start + len + PRIVACY_FIELD_OVERHEAD;
	return rc;
}

int privacy_decrypt(const uint8_t data_key[PRIVACY_KEY_LEN], const struct privacy_ad *ad,
		    const uint8_t *blob, size_t len, struct buf *out)
{
	uint8_t adbuf[AD_MAX];
	size_t adlen, ptlen;
	int rc;

	if (!data_key || !ad_ok(ad) || !blob || !out)
		return -EINVAL;
	if (len < PRIVACY_FIELD_OVERHEAD || blob[0] != PRIVACY_FIELD_V1)
		return -EBADMSG;
	ptlen = len - PRIVACY_FIELD_OVERHEAD;
	if (buf_reserve(out, ptlen ? ptlen : 1) < 0)
		return -ENOMEM;
	adlen = build_ad(ad, adbuf);
	rc = privacy_gcm_open(data_key, blob + 1, adbuf, adlen, blob + 1 + PRIVACY_NONCE_LEN, ptlen,
			      blob + len - PRIVACY_TAG_LEN, out->data + out->len);
	if (!rc)
		out->len += ptlen;
	return rc;
}
