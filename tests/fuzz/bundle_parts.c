/* Bundle parts for the evidence-bundle targets and their seed generator: the fixed key, the
 * parts' input format, and the small ledger (tree, proofs, signed checkpoint) a rendering needs. */
#include "bundle_parts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"

#define HL	   BUNDLE_HASH_LEN
#define MAX_LEAVES 256

static struct note_signer *signer;
static struct note_verifier *verifier;

static void key_setup(void)
{
	uint8_t seed[NOTE_ED25519_SEED_LEN], pub[NOTE_ED25519_PUB_LEN];

	if (signer)
		return;
	memset(seed, 1, sizeof(seed));
	FUZZ_CHECK(note_signer_from_seed(BUNDLE_PARTS_ORIGIN, seed, &signer) == 0);
	note_signer_public_key(signer, pub);
	FUZZ_CHECK(note_verifier_from_key(BUNDLE_PARTS_ORIGIN, pub, &verifier) == 0);
}

const struct note_signer *bundle_parts_signer(void)
{
	key_setup();
	return signer;
}

struct note_verifier *bundle_parts_verifier(void)
{
	key_setup();
	return verifier;
}

static int add_item(struct bundle_item *items, size_t *n, const uint8_t *data, size_t len)
{
	if (*n == BUNDLE_PARTS_MAX_ITEMS)
		return -EINVAL;
	items[(*n)++] = (struct bundle_item){data, len, NULL, 0};
	return 0;
}

int bundle_parts_parse(const uint8_t *data, size_t size, struct bundle_parts *p)
{
	size_t at = 1;

	if (size == 0)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->tree_size = data[0];
	while (at < size) {
		uint8_t tag;
		size_t len;

		if (size - at < 3)
			return -EINVAL;
		tag = data[at];
		len = (size_t)data[at + 1] << 8 | data[at + 2];
		at += 3;
		if (len > size - at)
			return -EINVAL;
		switch (tag) {
		case 's':
			if (len != HL || p->n_subject == ARRAY_SIZE(p->subject))
				return -EINVAL;
			memcpy(p->subject[p->n_subject++], data + at, HL);
			break;
		case 'e':
		case 'n':
			if (tag == 'e' ? add_item(p->entries, &p->n_entries, data + at, len) < 0
				       : add_item(p->notices, &p->n_notices, data + at, len) < 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		at += len;
	}
	return 0;
}

static int write_record(struct buf *out, char tag, const uint8_t *data, size_t len)
{
	if (len > UINT16_MAX)
		return -EINVAL;
	if (buf_append_u8(out, (uint8_t)tag) < 0 || buf_append_be16(out, (uint16_t)len) < 0 ||
	    buf_append(out, data, len) < 0)
		return -ENOMEM;
	return 0;
}

int bundle_parts_write(const struct bundle_parts *p, struct buf *out)
{
	int rc = buf_append_u8(out, p->tree_size) < 0 ? -ENOMEM : 0;

	for (size_t i = 0; rc == 0 && i < p->n_subject; i++)
		rc = write_record(out, 's', p->subject[i], HL);
	for (size_t i = 0; rc == 0 && i < p->n_entries; i++)
		rc = write_record(out, 'e', p->entries[i].entry, p->entries[i].len);
	for (size_t i = 0; rc == 0 && i < p->n_notices; i++)
		rc = write_record(out, 'n', p->notices[i].entry, p->notices[i].len);
	return rc;
}

/* The ledger behind a rendering: leaves, and one proof per item. */
struct tree {
	uint64_t size;
	uint8_t leaves[MAX_LEAVES][HL];
	uint8_t proofs[2][BUNDLE_PARTS_MAX_ITEMS][MERKLE_MAX_PROOF][HL];
};

static int node_cb(void *arg, unsigned level, uint64_t index, uint8_t out[HL])
{
	const struct tree *t = arg;
	uint64_t begin, end;

	if (level >= 9 || index >= MAX_LEAVES)
		return -ENOENT;
	begin = index << level;
	end = begin + ((uint64_t)1 << level);
	if (end > t->size)
		return -ENOENT;
	merkle_root_from_leaves((const uint8_t(*)[HL])t->leaves + begin, (size_t)(end - begin),
				out);
	return 0;
}

/* The seq an item's bytes claim, 0 if they are not a LedgerEntry. */
static uint64_t seq_of(const struct bundle_item *it)
{
	Consentd__V1__LedgerEntry *e = consentd__v1__ledger_entry__unpack(NULL, it->len, it->entry);
	uint64_t seq = e ? e->seq : 0;

	if (e)
		consentd__v1__ledger_entry__free_unpacked(e, NULL);
	return seq;
}

static void place(struct tree *t, struct bundle_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = seq_of(&items[i]);

		if (seq >= 1 && seq <= t->size)
			ledger_leaf_hash(items[i].entry, items[i].len, t->leaves[seq - 1]);
	}
}

/* Proofs for the covered items; an item whose leaf another one overwrote gets a wrong one. */
static void prove(struct tree *t, struct bundle_item *items, size_t n,
		  uint8_t (*proofs)[MERKLE_MAX_PROOF][HL])
{
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = seq_of(&items[i]);

		if (seq < 1 || seq > t->size)
			continue;
		FUZZ_CHECK(merkle_inclusion_proof(seq - 1, t->size, node_cb, t, proofs[i],
						  &items[i].n_proof) == 0);
		items[i].proof = (const uint8_t(*)[HL])proofs[i];
	}
}

int bundle_parts_render(const struct bundle_parts *p, const struct note_signer *s, struct buf *out,
			struct bundle_summary *sum, char *err, size_t errlen)
{
	struct bundle_item entries[BUNDLE_PARTS_MAX_ITEMS], notices[BUNDLE_PARTS_MAX_ITEMS];
	struct buf text = {0}, note = {0};
	struct tree *t = calloc(1, sizeof(*t));
	uint8_t root[HL];
	struct bundle b;
	int rc;

	if (!t)
		return -ENOMEM;
	memcpy(entries, p->entries, sizeof(entries));
	memcpy(notices, p->notices, sizeof(notices));
	t->size = p->tree_size;
	for (size_t i = 0; i < t->size; i++) {
		const uint8_t filler[2] = {(uint8_t)(i >> 8), (uint8_t)i};

		merkle_hash_leaf(filler, sizeof(filler), t->leaves[i]);
	}
	place(t, entries, p->n_entries);
	place(t, notices, p->n_notices);
	prove(t, entries, p->n_entries, t->proofs[0]);
	prove(t, notices, p->n_notices, t->proofs[1]);
	merkle_root_from_leaves((const uint8_t(*)[HL])t->leaves, (size_t)t->size, root);
	FUZZ_CHECK(checkpoint_format(note_signer_name(s), t->size, root, &text) == 0);
	FUZZ_CHECK(note_sign(s, (const char *)text.data, text.len, &note) == 0);
	b = (struct bundle){(const uint8_t(*)[HL])p->subject,
			    p->n_subject,
			    (const char *)note.data,
			    note.len,
			    entries,
			    p->n_entries,
			    notices,
			    p->n_notices};
	rc = bundle_render(&b, out, sum, err, errlen);
	buf_free(&note);
	buf_free(&text);
	free(t);
	return rc;
}
