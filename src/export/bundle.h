/* Evidence bundles: one file that proves a subject's ledger entries offline, in a canonical
 * rendering (JSON, fixed member order and layout; format in docs/evidence.md, "Evidence bundle").
 * Verification checks every signature, proof and decoding, renders the bundle again from what it
 * verified and compares bytes, so that no byte of a valid bundle can change. Pure: no I/O. */
#ifndef CONSENTD_BUNDLE_H
#define CONSENTD_BUNDLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "consentd.pb-c.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "util/util.h"

#define BUNDLE_FORMAT	"consentd-evidence-bundle/1"
#define BUNDLE_HASH_LEN 32
/* Most pseudonyms one bundle's subject may have (identifier kinds times key versions). */
#define BUNDLE_MAX_PSEUDONYMS 64

/* One ledger entry of a bundle. Everything is borrowed. proof is its RFC 9162 inclusion proof in
 * the checkpoint's tree when seq <= that tree's size (covered), else n_proof is 0 (not covered). */
struct bundle_item {
	const uint8_t *entry; /* serialized consentd.v1.LedgerEntry */
	size_t len;
	const uint8_t (*proof)[BUNDLE_HASH_LEN];
	size_t n_proof;
};

/* What a bundle is made of; everything else in it is derived from these. Borrowed. */
struct bundle {
	const uint8_t (
	    *subject)[BUNDLE_HASH_LEN]; /* pseudonyms, ascending, each carried by an entry */
	size_t n_subject;
	const char *note; /* the signed checkpoint note */
	size_t note_len;
	const struct bundle_item *entries; /* the subject's entries, ascending seq */
	size_t n_entries;
	const struct bundle_item *notices; /* stored notices the entries reference, ascending seq */
	size_t n_notices;
};

/* What a verified bundle holds, for the verifier's summary. */
struct bundle_summary {
	uint64_t tree_size;
	size_t entries, covered, notices, notices_missing;
	uint64_t first_uncovered; /* seq of the first entry beyond the checkpoint (0: none) */
	char subject[2 * BUNDLE_HASH_LEN + 1]; /* the first pseudonym, hex */
	char key_name[128];
	uint32_t key_id;
};

/* Appends the canonical rendering to out. Checks everything but the checkpoint's signature:
 * the note is a checkpoint note with a signature line named after its origin, entries and
 * notices decode and ascend in seq, every entry carries a pseudonym of the subject and every
 * pseudonym is carried, every proof leads to the checkpoint's root (present exactly for covered
 * entries), every notice is a notice whose content hashes to its address and that an entry
 * references. -EINVAL with err naming the entry at fault; -ENOMEM. sum may be NULL. */
int bundle_render(const struct bundle *b, struct buf *out, struct bundle_summary *sum, char *err,
		  size_t errlen);

/* Verifies a bundle file of len bytes against the checkpoint verifier key: the note is signed
 * by key and names it as origin, bundle_render's checks pass, and the file is byte for byte the
 * rendering of what was verified. 0 if valid (sum filled, may be NULL); -EBADMSG with err saying
 * which entry or what is wrong; -ENOMEM. */
int bundle_verify(const uint8_t *data, size_t len, struct note_verifier *key,
		  struct bundle_summary *sum, char *err, size_t errlen);

/* The decoded form of an entry, as bundles and the history API show it:
 * {"seq","prev_hash" (hex),"received_at","source":{"kind","peer","request_id","topic",
 * "partition","offset"},"event":<event_to_json>}. New reference; NULL on allocation failure. */
json_t *bundle_entry_json(const Consentd__V1__LedgerEntry *e);

/* The notices an entry's consent event references (content_sha256), added to the ascending,
 * duplicate-free array *refs of *n (realloc'd; caller frees). -ENOMEM. */
int bundle_add_notice_refs(const Consentd__V1__LedgerEntry *e, uint8_t (**refs)[BUNDLE_HASH_LEN],
			   size_t *n);

#endif
