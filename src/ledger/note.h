/* C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys in the text formats of Go's
 * golang.org/x/mod/sumdb/note: key parsing and generation, signing and opening notes. No I/O. */
#ifndef CONSENTD_NOTE_H
#define CONSENTD_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define NOTE_ED25519_SEED_LEN 32
#define NOTE_ED25519_PUB_LEN  32
#define NOTE_ED25519_SIG_LEN  64
/* Signature lines a note may carry; more is rejected as malformed (as Go's note package). */
#define NOTE_MAX_SIGNATURES 100

/* Opaque; each owns a copy of its name and its libcrypto key. */
struct note_signer;
struct note_verifier;

/* key ID = first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || public key). */
uint32_t note_key_id(const char *name, const uint8_t pub[NOTE_ED25519_PUB_LEN]);

/* A fresh key pair from the OpenSSL CSPRNG, as key texts:
 * signer "PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || seed)>",
 * verifier "<name>+<8 hex key ID>+<base64(0x01 || public key)>".
 * Both are malloc'd and owned by the caller: release the signer text with note_secret_free.
 * -EINVAL for a name that is empty or holds spaces, '+' or control characters; -EIO, -ENOMEM. */
int note_keygen(const char *name, char **signer_text, char **verifier_text);
/* Wipes and frees a NUL-terminated secret (a signer key text); NULL is accepted. */
void note_secret_free(char *s);

/* Parse key texts exactly (no surrounding whitespace). The key ID in the text must match the
 * key. -EINVAL when malformed, -ENOTSUP for a well-formed key of another algorithm, -ENOMEM. */
int note_signer_parse(const char *text, struct note_signer **out);
int note_verifier_parse(const char *text, struct note_verifier **out);
/* From raw key material (RFC 8032 seed / public key). */
int note_signer_from_seed(const char *name, const uint8_t seed[NOTE_ED25519_SEED_LEN],
			  struct note_signer **out);
int note_verifier_from_key(const char *name, const uint8_t pub[NOTE_ED25519_PUB_LEN],
			   struct note_verifier **out);
void note_signer_free(struct note_signer *s);
void note_verifier_free(struct note_verifier *v);

/* Borrowed views, valid while the key lives. */
const char *note_signer_name(const struct note_signer *s);
uint32_t note_signer_key_id(const struct note_signer *s);
void note_signer_public_key(const struct note_signer *s, uint8_t out[NOTE_ED25519_PUB_LEN]);
const char *note_verifier_name(const struct note_verifier *v);
uint32_t note_verifier_key_id(const struct note_verifier *v);
/* The verifier key text of a signer; malloc'd, caller frees; NULL on allocation failure. */
char *note_signer_verifier_text(const struct note_signer *s);

/* Raw RFC 8032 Ed25519 over msg, no note framing. Verify returns 0 or -EBADMSG. */
int note_ed25519_sign(const struct note_signer *s, const uint8_t *msg, size_t len,
		      uint8_t sig[NOTE_ED25519_SIG_LEN]);
int note_ed25519_verify(const struct note_verifier *v, const uint8_t *msg, size_t len,
			const uint8_t sig[NOTE_ED25519_SIG_LEN]);

/* Appends to out the signed note: text, a blank line, then
 * "— <name> <base64(key ID (4, big-endian) || signature (64))>\n" (U+2014 EM DASH, space).
 * text must be non-empty, end in '\n', be valid UTF-8 and hold no control character but '\n'
 * (empty lines are allowed); -EINVAL otherwise. On error out keeps its previous length. */
int note_sign(const struct note_signer *s, const char *text, size_t len, struct buf *out);

/*
 * Parses and verifies a signed note of len bytes. On success the text (ending in '\n') is
 * note[0, *text_len) and *verifier_idx names the entry of verifiers[] whose signature verified
 * first (either pointer may be NULL). Signatures whose (name, key ID) pair matches no verifier
 * are ignored; every one that matches must verify.
 * Returns 0; -EINVAL when malformed (not UTF-8, control characters, no blank line before the
 * signatures, a line that is not a signature, bad base64, more than NOTE_MAX_SIGNATURES, two
 * verifiers with the same name and key ID); -EBADMSG when a known key's signature fails;
 * -ENOKEY when no known key signed; -ENOMEM.
 */
int note_open(const char *note, size_t len, struct note_verifier *const *verifiers,
	      size_t n_verifiers, size_t *text_len, size_t *verifier_idx);

#endif
