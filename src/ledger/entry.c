/* Canonical LedgerEntry bytes and RFC 6962 leaf hashes: what the chain and the Merkle tree
 * commit to. The event is appended as already-encoded bytes and never re-encoded. */
#include "ledger/ledger.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "consentd.pb-c.h"

/* LedgerEntry.event is field 5, length-delimited: tag (5 << 3) | 2. */
#define ENTRY_EVENT_TAG 0x2a

void ledger_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[LEDGER_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* Allocation failure here would silently produce a wrong hash; treat it as fatal. */
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &prefix, 1) != 1 || EVP_DigestUpdate(ctx, entry, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
}

static char *unconst(const char *s)
{
	return (char *)(uintptr_t)(s ? s : "");
}

static int append_varint(struct buf *out, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return buf_append(out, tmp, n);
}

int ledger_entry_encode(uint64_t seq, const uint8_t prev_hash[LEDGER_HASH_LEN], int64_t received_at_us,
			const struct ledger_source *src, const uint8_t *event, size_t event_len,
			struct buf *out)
{
	Consentd__V1__LedgerEntry e = CONSENTD__V1__LEDGER_ENTRY__INIT;
	Consentd__V1__Source s = CONSENTD__V1__SOURCE__INIT;
	size_t head_len;
	int rc;

	e.seq = seq;
	e.prev_hash.data = (uint8_t *)(uintptr_t)prev_hash;
	e.prev_hash.len = LEDGER_HASH_LEN;
	e.received_at = received_at_us;
	if (src) {
		s.kind = unconst(src->kind);
		s.peer = unconst(src->peer);
		s.request_id = unconst(src->request_id);
		s.topic = unconst(src->topic);
		s.partition = src->partition;
		s.offset = src->offset;
		e.source = &s;
	}
	head_len = consentd__v1__ledger_entry__get_packed_size(&e);
	rc = buf_reserve(out, head_len + 11 + event_len);
	if (rc < 0)
		return rc;
	out->len += consentd__v1__ledger_entry__pack(&e, out->data + out->len);
	if ((rc = buf_append_u8(out, ENTRY_EVENT_TAG)) < 0 || (rc = append_varint(out, event_len)) < 0)
		return rc;
	return buf_append(out, event, event_len);
}
