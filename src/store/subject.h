/* A subject's ledger entries, found by keyed pseudonym (subject_entry), and what is made of
 * them: the decoded history, the consent state at an instant, the evidence bundle; and stored
 * notices, found by the event_id derived from their SHA-256. Queries block (reader thread,
 * consentctl) and go through primary keys in a bounded number of round trips; the functions
 * marked pure do no I/O. */
#ifndef CONSENTD_STORE_SUBJECT_H
#define CONSENTD_STORE_SUBJECT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "export/bundle.h"

#define SUBJECT_HASH_LEN 32
/* Most pseudonyms one request may name: a pseudonym under each key version, or more kinds. */
#define SUBJECT_MAX_PSEUDONYMS BUNDLE_MAX_PSEUDONYMS

/* One stored entry: its seq, exact LedgerEntry bytes (owned) and stored leaf hash. */
struct subject_entry {
	uint64_t seq;
	uint8_t *entry;
	size_t len;
	uint8_t leaf_hash[SUBJECT_HASH_LEN];
};

/* Entries in ascending seq. subject_entries_free releases the bytes and the array. */
struct subject_entries {
	struct subject_entry *items;
	size_t n;
};

void subject_entries_free(struct subject_entries *s);

/* Pure. The pseudonym of one identifier under every key of the ring, in ring order, with their
 * versions; out and versions hold SUBJECT_KEYS_MAX. *active is the index of the active key's.
 * -EINVAL if the identifier normalises to nothing (or is too long), -ENOMEM. */
int subject_pseudonyms_of(const struct subject_keyring *ring, Consentd__V1__SubjectIdKind kind,
			  const char *value, uint8_t (*out)[SUBJECT_HASH_LEN], uint32_t *versions,
			  size_t *n, size_t *active);

/* Every entry that carries any of the pseudonyms, each once, ascending seq: one query. */
int store_subject_entries(PGconn *c, const uint8_t (*pseudonyms)[SUBJECT_HASH_LEN], size_t n,
			  struct subject_entries *out, char *err, size_t errlen);

/* The stored notices among the given SHA-256 addresses (missing ones are left out), ascending
 * seq: one query. */
int store_notices(PGconn *c, const uint8_t (*sha256)[SUBJECT_HASH_LEN], size_t n,
		  struct subject_entries *out, char *err, size_t errlen);

/* Pure. [{"seq","leaf_hash","prev_hash","received_at","source","event"}, ...] (hex hashes). */
json_t *subject_history_json(const struct subject_entries *s);

/* Pure. The consent state at instant at: the subject's consent entries with occurred_at <= at
 * replayed in (occurred_at, seq) order, the last decision per purpose (and vendor) winning.
 * {"at","purposes":{name:{"granted","seq","occurred_at"}},"vendors":{...}}; every purpose of
 * purposes[] is listed, unset ones as {"granted":null,"seq":null,"occurred_at":null}. */
json_t *subject_consent_json(const struct subject_entries *s, int64_t at, char *const *purposes,
			     size_t n_purposes);

/* The evidence bundle of the entries carrying any of the pseudonyms, against the latest stored
 * checkpoint, appended to out (export/bundle.h). Four queries. -ENOENT (err says which) when
 * the subject has no entries or no checkpoint exists; -EIO/-ENOTCONN on database errors;
 * -EINVAL if what is stored does not make a valid bundle (err says why). */
int store_subject_bundle(PGconn *c, const uint8_t (*pseudonyms)[SUBJECT_HASH_LEN], size_t n,
			 struct buf *out, struct bundle_summary *sum, char *err, size_t errlen);

#endif
