/* Private to src/privacy: AES-256-GCM, shared by field encryption (aead.c) and key wrapping
 * (wrap.c) so that one code path does all of the module's authenticated encryption. */
#ifndef CONSENTD_PRIVACY_INTERNAL_H
#define CONSENTD_PRIVACY_INTERNAL_H

#include "privacy/privacy.h"

/* Encrypts len bytes of pt into ct (same length; may be 0) and writes the tag. 0 or -ENOMEM. */
int privacy_gcm_seal(const uint8_t key[PRIVACY_KEY_LEN], const uint8_t nonce[PRIVACY_NONCE_LEN],
		     const uint8_t *ad, size_t adlen, const uint8_t *pt, size_t len, uint8_t *ct,
		     uint8_t tag[PRIVACY_TAG_LEN]);

/* Decrypts and verifies; pt (len bytes) is cleansed unless 0 is returned. 0, -EBADMSG or
 * -ENOMEM. */
int privacy_gcm_open(const uint8_t key[PRIVACY_KEY_LEN], const uint8_t nonce[PRIVACY_NONCE_LEN],
		     const uint8_t *ad, size_t adlen, const uint8_t *ct, size_t len,
		     const uint8_t tag[PRIVACY_TAG_LEN], uint8_t *pt);

/* Fills out with len random bytes from OpenSSL's CSPRNG. 0 or -ENOMEM. */
int privacy_random(uint8_t *out, size_t len);

#endif
