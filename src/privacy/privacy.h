/* The privacy module: field encryption under per-subject data keys, data keys wrapped under
 * versioned master keys, and minimisation of network identifiers. Pure except
 * privacy/keyfile.c (the master key file) and the random nonces and keys drawn from OpenSSL's
 * CSPRNG; no clock, no globals. Key material is cleansed by the functions that copy it.
 *
 * Errors: -EINVAL for bad arguments, -EBADMSG for a blob that is malformed or fails
 * authentication (tampered, wrong key, wrong subject or field), -ENOKEY for a wrapped key whose
 * master key version is not in the keyring, -ENOMEM when OpenSSL fails. */
#ifndef CONSENTD_PRIVACY_H
#define CONSENTD_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define PRIVACY_KEY_LEN	  32 /* AES-256 data keys and master keys */
#define PRIVACY_NONCE_LEN 12 /* GCM nonce, random per encryption */
#define PRIVACY_TAG_LEN	  16 /* GCM tag */

/* ---- Field encryption ---------------------------------------------------------------------- */

/* Encrypted field: version (1) || nonce (12) || ciphertext (len of plaintext) || tag (16). */
#define PRIVACY_FIELD_V1       0x01
#define PRIVACY_FIELD_OVERHEAD (1 + PRIVACY_NONCE_LEN + PRIVACY_TAG_LEN)
#define PRIVACY_FIELD_NAME_MAX 64
#define PRIVACY_SUBJECT_MAX    255

/* What a ciphertext is bound to (borrowed). subject is the subject's pseudonym (1 to 255 bytes),
 * field its name (1 to 64 printable ASCII characters, e.g. "ip" or "user_agent"). They enter
 * the GCM associated data, so a blob moved to another subject or field fails to decrypt. */
struct privacy_ad {
	const uint8_t *subject;
	size_t subject_len;
	const char *field;
};

/* Encrypts len bytes of plaintext (len may be 0) under data_key and appends the blob to out,
 * which the caller owns. Returns 0, -EINVAL or -ENOMEM; on error out is as it was. */
int privacy_encrypt(const uint8_t data_key[PRIVACY_KEY_LEN], const struct privacy_ad *ad,
		    const uint8_t *plaintext, size_t len, struct buf *out);

/* Verifies and decrypts a blob from privacy_encrypt, appending the plaintext to out. Returns 0,
 * -EINVAL, -EBADMSG (nothing appended: no unauthenticated byte is ever released) or -ENOMEM.
 * blob must not point into out. */
int privacy_decrypt(const uint8_t data_key[PRIVACY_KEY_LEN], const struct privacy_ad *ad,
		    const uint8_t *blob, size_t len, struct buf *out);

/* ---- Data keys and master keys ------------------------------------------------------------- */

/* Wrapped data key: version (1) || master key version (4, big-endian) || nonce (12) ||
 * encrypted data key (32) || tag (16). */
#define PRIVACY_WRAP_V1		0x01
#define PRIVACY_WRAPPED_LEN	(1 + 4 + PRIVACY_NONCE_LEN + PRIVACY_KEY_LEN + PRIVACY_TAG_LEN)
#define PRIVACY_MASTER_KEYS_MAX 16

struct privacy_master_key {
	uint32_t version;
	uint8_t key[PRIVACY_KEY_LEN];
};

/* Master keys by version; active is the highest version, which wraps. All versions unwrap. */
struct privacy_keyring {
	struct privacy_master_key keys[PRIVACY_MASTER_KEYS_MAX];
	size_t n;
	size_t active;
};

/* A fresh random data key (one per subject). 0 or -ENOMEM. */
int privacy_data_key_new(uint8_t data_key[PRIVACY_KEY_LEN]);

/* Wraps data_key under master (its version is recorded in the blob). 0, -EINVAL or -ENOMEM. */
int privacy_wrap(const struct privacy_master_key *master, const uint8_t data_key[PRIVACY_KEY_LEN],
		 uint8_t out[PRIVACY_WRAPPED_LEN]);

/* Unwraps with the ring's key of the recorded version. 0, -EINVAL, -ENOKEY, -EBADMSG, -ENOMEM;
 * data_key is zeroed unless 0 is returned. */
int privacy_unwrap(const struct privacy_keyring *ring, const uint8_t *wrapped, size_t len,
		   uint8_t data_key[PRIVACY_KEY_LEN]);

/* Key rotation: unwraps with ring and wraps the same data key under to (usually
 * privacy_keyring_active(ring) after a new version was added). The ledger is untouched: only
 * the wrapped keys change. Same returns as privacy_unwrap. */
int privacy_rewrap(const struct privacy_keyring *ring, const struct privacy_master_key *to,
		   const uint8_t *wrapped, size_t len, uint8_t out[PRIVACY_WRAPPED_LEN]);

/* The master key version a wrapped key records; 0 if it is not a wrapped key. */
uint32_t privacy_wrapped_version(const uint8_t *wrapped, size_t len);

/* Parses the master key file: lines "<version> <64 hex digits>", or one bare key (version 1):
 * the subject key file's format, parsed by the same code; '#' comments and blank lines ignored.
 * -EINVAL with err ("line N: why") on anything else; the ring is cleansed on error. */
int privacy_keyring_parse(const char *text, size_t len, struct privacy_keyring *ring, char *err,
			  size_t errlen);

/* The key that wraps, or NULL for an empty ring; the key of version, or NULL. Borrowed. */
const struct privacy_master_key *privacy_keyring_active(const struct privacy_keyring *ring);
const struct privacy_master_key *privacy_keyring_find(const struct privacy_keyring *ring,
						      uint32_t version);

/* Overwrites the ring's key material (call before the ring goes out of scope). */
void privacy_keyring_clear(struct privacy_keyring *ring);

/* ---- The master key file (privacy/keyfile.c: the only file I/O of the module) -------------- */

#define PRIVACY_KEYFILE_MAX 4096

/* Reads and parses path. Refuses (-EPERM) a file that group or others may read, like every
 * secret file; err names the path and what to fix. */
int privacy_keyfile_load(const char *path, struct privacy_keyring *ring, char *err, size_t errlen);

/* Adds a fresh random master key to path: version 1 in a new file created with mode 0600, else
 * the highest version + 1 appended to the existing file (which must load). Sets *version.
 * Returns 0 or a negative errno with err set. */
int privacy_keyfile_add(const char *path, uint32_t *version, char *err, size_t errlen);

/* ---- Minimisation -------------------------------------------------------------------------- */

/* Room for the longest result of privacy_ip_truncate ("ffff:...:ffff/48" is shorter). */
#define PRIVACY_IP_MAX 64
/* Room for the longest result of privacy_user_agent. */
#define PRIVACY_UA_MAX 32

/* An IP address reduced to its network: IPv4 to /24 ("203.0.113.0/24"), IPv6 to /48
 * ("2001:db8:1234::/48", RFC 5952 text); an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4.
 * Returns 0, or -EINVAL with err saying why (empty, not an address, a zone index, a prefix, too
 * long for out). */
int privacy_ip_truncate(const char *ip, char *out, size_t outlen, char *err, size_t errlen);

/* A User-Agent reduced to its family and major version: "Chrome 120", "Edge 120", "Opera 106",
 * "Firefox 121", "Safari 17", "Samsung Internet 23", "curl 8", "Googlebot 2", "bot" for other
 * crawlers, "other" for anything else (NULL and "" included). Always fills out (outlen >=
 * PRIVACY_UA_MAX); returns 0, or -EINVAL if out is too small. */
int privacy_user_agent(const char *ua, char *out, size_t outlen);

#endif
