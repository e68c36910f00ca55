/* The event module: JSON <-> protobuf mapping, validation and canonical form, subject
 * pseudonyms. Pure: no I/O, no clock (callers pass "now"), no globals.
 *
 * Ownership: every Consentd__V1__Event handled here is allocated with the system allocator
 * (strings and sub-messages malloc'd, or protobuf_c_empty_string), exactly like one unpacked by
 * protobuf-c with a NULL allocator, so event_release() releases either kind. */
#ifndef CONSENTD_EVENT_H
#define CONSENTD_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consentd.pb-c.h"
#include "util/util.h"

#define EVENT_HASH_LEN 32

/* What a rejected event is answered with. status is 400 (the body is not an event: not JSON,
 * wrong JSON types) or 422 (an event that breaks a rule). code is a stable lower_snake
 * identifier; field is the JSON path of the offending field ("consent.purposes.analytics"),
 * "" when the whole event is at fault. */
struct event_error {
	int status;
	char code[40];
	char field[96];
	char message[200];
};

/* What validation needs from the configuration (borrowed, not owned). */
struct event_policy {
	char *const *purposes; /* allowed purpose names; "essential" is always granted */
	size_t n_purposes;
	char *const *vendors;  /* allowed vendor names; n_vendors == 0 allows any [a-z0-9_] name */
	size_t n_vendors;
	int64_t max_future_skew_us;
};

/* Decodes one JSON object into a new Event carrying the clear subject identifiers. Returns NULL
 * and fills err on failure (400 wrong_type / malformed, 422 unknown_field, missing_field,
 * invalid_value ...). The caller frees the result with event_release(). */
Consentd__V1__Event *event_from_json(const json_t *obj, struct event_error *err);

/* Checks every rule on an event from JSON or from protobuf input, and rewrites it in canonical
 * form: event_id lower-case, purposes and vendors sorted by name, purposes implied by the action
 * filled in (accept_all: all granted; reject_all and withdraw without purposes: essential granted,
 * the rest denied; essential always present and granted). Returns 0, or -EINVAL with err set
 * (-ENOMEM, status 500, if filling in purposes cannot allocate). */
int event_validate(Consentd__V1__Event *ev, const struct event_policy *pol, int64_t now_us,
		   struct event_error *err);

/* JSON view of an event; pseudonyms appear as {"kind","key_version","hmac"(hex)} under
 * "subject": {"pseudonyms": [...]}; a notice as "notice": {"content_sha256" (hex),
 * "content_type", "size", and "content" (text) if it is UTF-8, else "content_base64"}. Returns a new reference, NULL on allocation failure. */
json_t *event_to_json(const Consentd__V1__Event *ev);

/* Canonical bytes of the event (protobuf-c pack of the canonical form); appends to out. */
int event_encode(const Consentd__V1__Event *ev, struct buf *out);
/* Unpacks protobuf bytes (system allocator); NULL if they are not an Event. */
Consentd__V1__Event *event_decode(const uint8_t *data, size_t len);
/* Named so as not to collide with libevent's event_free(). */
void event_release(Consentd__V1__Event *ev);

/* Names of enum values as they appear in JSON ("accept_all", "erasure", ...); NULL if unknown. */
const char *event_action_name(int action);
const char *event_right_name(int right);
const char *event_stage_name(int stage);
const char *event_channel_name(int channel);
const char *event_surface_name(int surface);
const char *event_subject_kind_name(int kind);
/* The reverse: the enum value for a JSON name, or -EINVAL if unknown (UNSPECIFIED has no name). */
int event_action_value(const char *name);
int event_right_value(const char *name);
int event_stage_value(const char *name);
int event_channel_value(const char *name);
int event_surface_value(const char *name);
int event_subject_kind_value(const char *name);

/* Fills err; message is printf-formatted and truncated to fit. status 500 / "out_of_memory" is
 * used when an allocation fails, which is not the client's fault. */
void event_error_set(struct event_error *err, int status, const char *code, const char *field,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- Notices ------------------------------------------------------------------------------ */

/* Largest notice content, and longest content type. */
#define EVENT_NOTICE_MAX (4 * 1024 * 1024)
#define EVENT_NOTICE_TYPE_MAX 100

/* The event that stores a notice (see NoticeContent in consentd.proto): content must hash to
 * sha256 (else 422 digest_mismatch), be non-empty and at most EVENT_NOTICE_MAX bytes (413), and
 * content_type must be a printable media type (422). Its event_id is event_notice_id(sha256),
 * occurred_at is now_us, it has no subject. Returns 0 with *out owned by the caller
 * (event_release), or -EINVAL / -ENOMEM with err set. */
int event_notice_new(const uint8_t *content, size_t len, const char *content_type,
		     const uint8_t sha256[EVENT_HASH_LEN], int64_t now_us,
		     Consentd__V1__Event **out, struct event_error *err);
/* The event_id of a notice: a version-8 UUID from SHA-256("consentd notice v1" || sha256). */
void event_notice_id(const uint8_t sha256[EVENT_HASH_LEN], uint8_t id[UUID_LEN]);
/* True if ev stores a notice. */
bool event_is_notice(const Consentd__V1__Event *ev);

/* ---- Subject pseudonyms ------------------------------------------------------------------- */

#define SUBJECT_KEY_LEN 32
#define SUBJECT_KEYS_MAX 16

struct subject_key {
	uint32_t version;
	uint8_t key[SUBJECT_KEY_LEN];
};

/* Keys by version; active is the highest version, used for new entries. All are tried on lookup. */
struct subject_keyring {
	struct subject_key keys[SUBJECT_KEYS_MAX];
	size_t n;
	size_t active;
};

/* Parses the subject key file: lines "<version> <64 hex digits>", or one line of 64 hex digits
 * (version 1); '#' comments and blank lines ignored. -EINVAL with err on anything else. */
int subject_keyring_parse(const char *text, size_t len, struct subject_keyring *ring, char *err,
			  size_t errlen);

/* Normalises an identifier: surrounding white space trimmed; email also lower-cased. Returns
 * -EINVAL if empty or too long for out. */
int subject_normalize(Consentd__V1__SubjectIdKind kind, const char *in, char *out, size_t outlen);

/* HMAC-SHA-256(key, "<kind name>:" || normalized) where kind name is account_id|email|device_id.
 * Returns 0, -EINVAL for an unknown kind, or -ENOMEM if OpenSSL cannot compute the MAC. */
int subject_pseudonym(const struct subject_key *key, Consentd__V1__SubjectIdKind kind,
		      const char *normalized, uint8_t out[EVENT_HASH_LEN]);

/* Replaces the clear identifiers of ev->subject by pseudonyms under the active key and blanks
 * the clear fields, so that the encoded event holds no identifier. Returns 0, -ENOMEM, or -EINVAL
 * (empty keyring, or an identifier that normalises to nothing: event_validate rejects those);
 * on error the event is left unchanged. */
int event_pseudonymize(Consentd__V1__Event *ev, const struct subject_keyring *ring);

#endif
