/* What the evidence-bundle targets and their seed generator share: the fixed checkpoint key (so
 * that seeds verify and the fuzzer gets past the signature), and "parts": the raw ledger entries
 * of a bundle, from which a checkpoint, proofs and the rendering are built. */
#ifndef CONSENTD_FUZZ_BUNDLE_PARTS_H
#define CONSENTD_FUZZ_BUNDLE_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "export/bundle.h"
#include "ledger/note.h"

/* The checkpoint key: Ed25519 seed of 32 bytes of 0x01 under this name (fuzz_note's log key). */
#define BUNDLE_PARTS_ORIGIN    "consentd.example/log"
#define BUNDLE_PARTS_MAX_ITEMS 32

/* The fixed key; built on first use, kept for the process's lifetime. */
const struct note_signer *bundle_parts_signer(void);
struct note_verifier *bundle_parts_verifier(void);

/* A bundle's parts; bytes are borrowed. Entries and notices sit in a ledger of tree_size leaves
 * at their seq (other leaves are fixed filler); those beyond it are not covered. */
struct bundle_parts {
	uint8_t tree_size;
	uint8_t subject[BUNDLE_MAX_PSEUDONYMS + 1][BUNDLE_HASH_LEN]; /* one too many is possible */
	size_t n_subject;
	struct bundle_item entries[BUNDLE_PARTS_MAX_ITEMS], notices[BUNDLE_PARTS_MAX_ITEMS];
	size_t n_entries, n_notices;
};

/*
 * fuzz_bundle_render's input: one byte, the checkpoint's tree size, then records
 * <tag (1 byte)> <length (2 bytes, big-endian)> <bytes>, where tag 's' is a subject pseudonym
 * (32 bytes), 'e' an entry and 'n' a notice (serialized LedgerEntry). -EINVAL if data is not
 * that, or holds more pseudonyms or items than struct bundle_parts has room for. Proofs are
 * not set.
 */
int bundle_parts_parse(const uint8_t *data, size_t size, struct bundle_parts *p);
/* Appends p in that format. -ENOMEM. */
int bundle_parts_write(const struct bundle_parts *p, struct buf *out);

/* Builds the ledger p implies, signs its checkpoint with s and appends bundle_render's rendering
 * to out: bundle_render's return (0, -EINVAL with err, -ENOMEM). sum may be NULL. */
int bundle_parts_render(const struct bundle_parts *p, const struct note_signer *s, struct buf *out,
			struct bundle_summary *sum, char *err, size_t errlen);

#endif
