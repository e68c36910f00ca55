/* Ledger entry and chain tests: ledger_entry_encode against protobuf-c packing the whole
 * LedgerEntry, decoding back, leaf-hash known answers, and the streaming chain verifier on an
 * intact chain and on each kind of tampering. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consentd.pb-c.h"
#include "ledger/ledger.h"
#include "util/util.h"

#define HL LEDGER_HASH_LEN

static const uint8_t zero_hash[HL];

static void assert_hash_hex(const uint8_t h[HL], const char *want)
{
	char got[2 * HL + 1];

	hex_encode(h, HL, got);
	ck_assert_str_eq(got, want);
}

/* ---- events built with protobuf-c's own structs ---- */

enum ev_kind { EV_EMPTY, EV_TENANT, EV_CONSENT, EV_RIGHTS };

/* Everything an Event points to, so that one struct owns it all; pad is the only allocation. */
struct ev {
	Consentd__V1__Event e;
	Consentd__V1__Subject subj;
	Consentd__V1__Pseudonym ps[2];
	Consentd__V1__Pseudonym *psp[2];
	Consentd__V1__ConsentChange cc;
	Consentd__V1__PurposeDecision pd[3];
	Consentd__V1__PurposeDecision *pdp[3];
	Consentd__V1__VendorDecision vd;
	Consentd__V1__VendorDecision *vdp[1];
	Consentd__V1__Notice notice;
	Consentd__V1__DataRightsEvent dr;
	uint8_t hmac[2][32];
	uint8_t content[32];
	char event_id[40];
	char *pad;
};

static char *filler(size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = '\0';
	return s;
}

static void subject_init(struct ev *h)
{
	h->subj = (Consentd__V1__Subject)CONSENTD__V1__SUBJECT__INIT;
	for (int i = 0; i < 2; i++) {
		h->ps[i] = (Consentd__V1__Pseudonym)CONSENTD__V1__PSEUDONYM__INIT;
		memset(h->hmac[i], 0xa0 + i, sizeof(h->hmac[i]));
		h->ps[i].kind = i ? CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL
				  : CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID;
		h->ps[i].key_version = 2;
		h->ps[i].hmac.data = h->hmac[i];
		h->ps[i].hmac.len = sizeof(h->hmac[i]);
		h->psp[i] = &h->ps[i];
	}
	h->subj.n_pseudonyms = 2;
	h->subj.pseudonyms = h->psp;
}

static void consent_init(struct ev *h)
{
	static char *const purposes[3] = {"analytics", "marketing", "personalization"};

	h->cc = (Consentd__V1__ConsentChange)CONSENTD__V1__CONSENT_CHANGE__INIT;
	for (int i = 0; i < 3; i++) {
		h->pd[i] = (Consentd__V1__PurposeDecision)CONSENTD__V1__PURPOSE_DECISION__INIT;
		h->pd[i].purpose = purposes[i];
		h->pd[i].granted = i != 1;
		h->pdp[i] = &h->pd[i];
	}
	h->vd = (Consentd__V1__VendorDecision)CONSENTD__V1__VENDOR_DECISION__INIT;
	h->vd.vendor = "acme-ads";
	h->vdp[0] = &h->vd;
	h->notice = (Consentd__V1__Notice)CONSENTD__V1__NOTICE__INIT;
	h->notice.policy_version = h->pad ? h->pad : "2026-01";
	h->notice.banner_version = "b7";
	h->notice.language = "de-AT";
	memset(h->content, 0x5c, sizeof(h->content));
	h->notice.content_sha256.data = h->content;
	h->notice.content_sha256.len = sizeof(h->content);
	h->cc.action = CONSENTD__V1__CONSENT_ACTION__CONSENT_ACTION_CUSTOMIZE;
	h->cc.n_purposes = 3;
	h->cc.purposes = h->pdp;
	h->cc.n_vendors = 1;
	h->cc.vendors = h->vdp;
	h->cc.notice = &h->notice;
	h->cc.surface = CONSENTD__V1__SURFACE__SURFACE_BANNER;
	h->cc.gpc = 1;
	h->e.body_case = CONSENTD__V1__EVENT__BODY_CONSENT;
	h->e.consent = &h->cc;
}

static void rights_init(struct ev *h)
{
	h->dr = (Consentd__V1__DataRightsEvent)CONSENTD__V1__DATA_RIGHTS_EVENT__INIT;
	h->dr.request_id = "dsr-2026-0042";
	h->dr.right = CONSENTD__V1__RIGHT__RIGHT_ERASURE;
	h->dr.stage = CONSENTD__V1__STAGE__STAGE_EXTENDED;
	h->dr.channel = CONSENTD__V1__CHANNEL__CHANNEL_WEB;
	h->dr.reason = h->pad ? h->pad : "complex request";
	h->dr.actor = "agent-7";
	h->dr.jurisdiction = "gdpr";
	h->e.body_case = CONSENTD__V1__EVENT__BODY_DATA_RIGHTS;
	h->e.data_rights = &h->dr;
}

/* pad: length of a filler string (tenant for EV_TENANT, notice.policy_version for EV_CONSENT,
 * reason for EV_RIGHTS); 0 for none. n varies the event id. */
static void ev_build(struct ev *h, enum ev_kind kind, size_t pad, unsigned n)
{
	memset(h, 0, sizeof(*h));
	h->e = (Consentd__V1__Event)CONSENTD__V1__EVENT__INIT;
	h->pad = pad ? filler(pad) : NULL;
	if (kind == EV_EMPTY)
		return;
	if (kind == EV_TENANT) {
		h->e.tenant = h->pad;
		return;
	}
	snprintf(h->event_id, sizeof(h->event_id), "0b1c2d3e-4f50-4617-8899-%012x", n);
	h->e.event_id = h->event_id;
	h->e.occurred_at = 1764324900000000 + n;
	h->e.tenant = "acme";
	subject_init(h);
	h->e.subject = &h->subj;
	if (kind == EV_CONSENT)
		consent_init(h);
	else
		rights_init(h);
}

static void ev_free(struct ev *h)
{
	free(h->pad);
	h->pad = NULL;
}

/* The event's bytes as protobuf-c packs it; caller frees. */
static uint8_t *ev_pack(const struct ev *h, size_t *len)
{
	uint8_t *b;

	*len = consentd__v1__event__get_packed_size(&h->e);
	b = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(consentd__v1__event__pack(&h->e, b), *len);
	return b;
}

/* ---- ledger_entry_encode == protobuf-c packing of the whole LedgerEntry ---- */

enum src_kind { SRC_NONE, SRC_HTTP, SRC_KAFKA, SRC_KAFKA_NEG, SRC_EMPTY, SRC_PARTIAL };

static const struct ledger_source sources[] = {
    [SRC_NONE] = {0},
    [SRC_HTTP] = {.kind = "http", .peer = "192.0.2.10:51234", .request_id = "req-42"},
    [SRC_KAFKA] = {.kind = "kafka",
		   .topic = "consent-events",
		   .partition = 3,
		   .offset = 1234567890123},
    [SRC_KAFKA_NEG] = {.kind = "kafka", .topic = "t", .partition = -1, .offset = -1},
    [SRC_EMPTY] = {0},
    [SRC_PARTIAL] = {.kind = "http"},
};

static const struct enc_case {
	const char *what;
	enum ev_kind kind;
	size_t pad;
	enum src_kind src;
	uint64_t seq;
	int64_t received_at;
	size_t ev_len;	   /* expected packed event size; 0: not checked */
	size_t varint_len; /* bytes of the event's length prefix */
} enc_cases[] = {
    {"empty event, no source", EV_EMPTY, 0, SRC_NONE, 1, 0, 0, 1},
    {"consent, http source", EV_CONSENT, 0, SRC_HTTP, 1, 1764324900123456, 0, 2},
    {"consent, no source", EV_CONSENT, 0, SRC_NONE, 2, 1764324900123457, 0, 2},
    {"consent, kafka source", EV_CONSENT, 0, SRC_KAFKA, 300, 1764324900123458, 0, 2},
    {"data rights, http source", EV_RIGHTS, 0, SRC_HTTP, 7, 1764324900123459, 0, 2},
    {"data rights, no source", EV_RIGHTS, 0, SRC_NONE, 8, -1, 0, 2},
    {"data rights, negative kafka numbers", EV_RIGHTS, 0, SRC_KAFKA_NEG, UINT64_MAX, INT64_MIN, 0,
     2},
    {"data rights, empty source", EV_RIGHTS, 0, SRC_EMPTY, 9, 1, 0, 2},
    {"data rights, source with kind only", EV_RIGHTS, 0, SRC_PARTIAL, 10, 2, 0, 2},
    {"data rights, 20000-byte reason", EV_RIGHTS, 20000, SRC_HTTP, 11, 3, 0, 3},
    {"consent, 500-byte policy version", EV_CONSENT, 500, SRC_KAFKA, 12, 4, 0, 2},
    /* tenant-only events: 1 tag byte + length varint + tenant gives exact sizes at the
     * varint boundaries */
    {"event of 127 bytes", EV_TENANT, 125, SRC_HTTP, 13, 5, 127, 1},
    {"event of 128 bytes", EV_TENANT, 126, SRC_HTTP, 14, 6, 128, 2},
    {"event of 16383 bytes", EV_TENANT, 16380, SRC_NONE, 15, 7, 16383, 2},
    {"event of 16384 bytes", EV_TENANT, 16381, SRC_NONE, 16, 8, 16384, 3},
    {"event of 2097152 bytes", EV_TENANT, 2097148, SRC_KAFKA, 17, 9, 2097152, 4},
};

static void fill_prev(uint8_t prev[HL], unsigned n)
{
	for (int i = 0; i < HL; i++)
		prev[i] = (uint8_t)(n * 31 + i);
}

static char *src_str(const char *s)
{
	return (char *)(uintptr_t)(s ? s : "");
}

START_TEST(test_encode_matches_protobuf_c)
{
	const struct enc_case *c = &enc_cases[_i];
	const struct ledger_source *src = c->src == SRC_NONE ? NULL : &sources[c->src];
	Consentd__V1__LedgerEntry le = CONSENTD__V1__LEDGER_ENTRY__INIT;
	Consentd__V1__Source s = CONSENTD__V1__SOURCE__INIT;
	struct buf out = {0};
	uint8_t prev[HL], *evb, *ref;
	size_t ev_len, ref_len, pos, shift = 0;
	uint64_t prefix = 0;
	struct ev h;

	ev_build(&h, c->kind, c->pad, (unsigned)_i);
	evb = ev_pack(&h, &ev_len);
	if (c->ev_len)
		ck_assert_uint_eq(ev_len, c->ev_len);
	fill_prev(prev, (unsigned)_i);
	ck_assert_int_eq(ledger_entry_encode(c->seq, prev, c->received_at, src, evb, ev_len, &out),
			 0);

	le.seq = c->seq;
	le.prev_hash.data = prev;
	le.prev_hash.len = HL;
	le.received_at = c->received_at;
	if (src) {
		s.kind = src_str(src->kind);
		s.peer = src_str(src->peer);
		s.request_id = src_str(src->request_id);
		s.topic = src_str(src->topic);
		s.partition = src->partition;
		s.offset = src->offset;
		le.source = &s;
	}
	le.event = &h.e;
	ref_len = consentd__v1__ledger_entry__get_packed_size(&le);
	ref = malloc(ref_len);
	ck_assert_ptr_nonnull(ref);
	ck_assert_uint_eq(consentd__v1__ledger_entry__pack(&le, ref), ref_len);
	ck_assert_msg(out.len == ref_len, "%s: %zu bytes, protobuf-c packs %zu", c->what, out.len,
		      ref_len);
	ck_assert_msg(memcmp(out.data, ref, ref_len) == 0, "%s: bytes differ from protobuf-c",
		      c->what);

	/* The event is the tail, after tag 0x2a and a varint of the expected width. */
	pos = out.len - ev_len - c->varint_len - 1;
	ck_assert_uint_eq(out.data[pos], 0x2a);
	for (size_t i = 0; i < c->varint_len; i++) {
		ck_assert_uint_eq(out.data[pos + 1 + i] >> 7, i + 1 < c->varint_len);
		prefix |= (uint64_t)(out.data[pos + 1 + i] & 0x7f) << shift;
		shift += 7;
	}
	ck_assert_uint_eq(prefix, ev_len);
	ck_assert_mem_eq(out.data + out.len - ev_len, evb, ev_len);

	free(ref);
	free(evb);
	buf_free(&out);
	ev_free(&h);
}
END_TEST

START_TEST(test_encode_decodes_back)
{
	const struct enc_case *c = &enc_cases[_i];
	const struct ledger_source *src = c->src == SRC_NONE ? NULL : &sources[c->src];
	Consentd__V1__LedgerEntry *d;
	struct buf out = {0};
	uint8_t prev[HL], *evb, *back;
	size_t ev_len, back_len;
	struct ev h;

	ev_build(&h, c->kind, c->pad, (unsigned)_i);
	evb = ev_pack(&h, &ev_len);
	fill_prev(prev, (unsigned)_i + 100);
	ck_assert_int_eq(ledger_entry_encode(c->seq, prev, c->received_at, src, evb, ev_len, &out),
			 0);

	d = consentd__v1__ledger_entry__unpack(NULL, out.len, out.data);
	ck_assert_msg(d != NULL, "%s: does not decode", c->what);
	ck_assert_uint_eq(d->seq, c->seq);
	ck_assert_uint_eq(d->prev_hash.len, HL);
	ck_assert_mem_eq(d->prev_hash.data, prev, HL);
	ck_assert_int_eq(d->received_at, c->received_at);
	if (!src) {
		ck_assert_ptr_null(d->source);
	} else {
		ck_assert_ptr_nonnull(d->source);
		ck_assert_str_eq(d->source->kind, src_str(src->kind));
		ck_assert_str_eq(d->source->peer, src_str(src->peer));
		ck_assert_str_eq(d->source->request_id, src_str(src->request_id));
		ck_assert_str_eq(d->source->topic, src_str(src->topic));
		ck_assert_int_eq(d->source->partition, src->partition);
		ck_assert_int_eq(d->source->offset, src->offset);
	}
	ck_assert_ptr_nonnull(d->event);
	ck_assert_int_eq(d->event->body_case, h.e.body_case);
	ck_assert_str_eq(d->event->event_id, h.e.event_id);
	ck_assert_str_eq(d->event->tenant, h.e.tenant);
	ck_assert_int_eq(d->event->occurred_at, h.e.occurred_at);
	if (c->kind == EV_RIGHTS)
		ck_assert_str_eq(d->event->data_rights->reason, h.dr.reason);
	if (c->kind == EV_CONSENT) {
		ck_assert_uint_eq(d->event->consent->n_purposes, 3);
		ck_assert_str_eq(d->event->consent->notice->policy_version,
				 h.notice.policy_version);
	}
	/* the whole event: re-packing what was decoded gives the original bytes */
	back_len = consentd__v1__event__get_packed_size(d->event);
	ck_assert_uint_eq(back_len, ev_len);
	back = malloc(back_len ? back_len : 1);
	ck_assert_ptr_nonnull(back);
	consentd__v1__event__pack(d->event, back);
	ck_assert_mem_eq(back, evb, ev_len);

	free(back);
	consentd__v1__ledger_entry__free_unpacked(d, NULL);
	free(evb);
	buf_free(&out);
	ev_free(&h);
}
END_TEST

/* Hand-written bytes, independent of protobuf-c: seq 300, prev_hash 32 x 0x11, received_at 1,
 * source {kind "http"}, event {tenant "x"} (whose bytes are 1a 01 78). */
START_TEST(test_encode_known_bytes)
{
	static const uint8_t ev[] = {0x1a, 0x01, 'x'};
	const struct ledger_source src = {.kind = "http"};
	uint8_t prev[HL], want[128];
	struct buf out = {0};
	size_t n = 0;

	memset(prev, 0x11, sizeof(prev));
	want[n++] = 0x08; /* seq = 300: varint ac 02 */
	want[n++] = 0xac;
	want[n++] = 0x02;
	want[n++] = 0x12; /* prev_hash: 32 bytes */
	want[n++] = 0x20;
	memset(want + n, 0x11, HL);
	n += HL;
	want[n++] = 0x18; /* received_at = 1 */
	want[n++] = 0x01;
	want[n++] = 0x22; /* source: 6 bytes, kind "http" */
	want[n++] = 0x06;
	want[n++] = 0x0a;
	want[n++] = 0x04;
	memcpy(want + n, "http", 4);
	n += 4;
	want[n++] = 0x2a; /* event: 3 bytes */
	want[n++] = 0x03;
	memcpy(want + n, ev, sizeof(ev));
	n += sizeof(ev);

	ck_assert_int_eq(ledger_entry_encode(300, prev, 1, &src, ev, sizeof(ev), &out), 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert_mem_eq(out.data, want, n);
	buf_free(&out);
}
END_TEST

/* ledger_entry_encode appends: what the buffer held stays, the entry follows it unchanged. */
START_TEST(test_encode_appends)
{
	static const uint8_t ev[] = {0x1a, 0x01, 'x'};
	struct buf alone = {0}, out = {0};

	ck_assert_int_eq(
	    ledger_entry_encode(5, zero_hash, 42, &sources[SRC_KAFKA], ev, sizeof(ev), &alone), 0);
	ck_assert_int_eq(buf_append(&out, "prefix", 6), 0);
	ck_assert_int_eq(
	    ledger_entry_encode(5, zero_hash, 42, &sources[SRC_KAFKA], ev, sizeof(ev), &out), 0);
	ck_assert_uint_eq(out.len, 6 + alone.len);
	ck_assert_mem_eq(out.data, "prefix", 6);
	ck_assert_mem_eq(out.data + 6, alone.data, alone.len);
	buf_free(&alone);
	buf_free(&out);
}
END_TEST

/* ---- leaf hash known answers ----
 * Each expected value was computed with coreutils, not with the code under test:
 *   printf '\x00' | sha256sum                                   (empty entry)
 *   printf '\x00abc' | sha256sum
 *   printf '\x00\x08\x01' | sha256sum
 *   { printf '\x00'; head -c 1000 /dev/zero | tr '\0' a; } | sha256sum
 *   { printf '\x00\x08\x01\x12\x20'; head -c 32 /dev/zero; printf '\x2a\x00'; } | sha256sum
 * and cross-checked with python3 hashlib.sha256(b'\x00' + entry). */
START_TEST(test_leaf_hash_known_answers)
{
	uint8_t h[HL], big[1000];
	struct buf e = {0};

	ledger_leaf_hash((const uint8_t *)"", 0, h);
	assert_hash_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	ledger_leaf_hash((const uint8_t *)"abc", 3, h);
	assert_hash_hex(h, "609f6e36d2405585188d5cfd761f407c7cc46a7d3f314c88270469dde315fcd1");
	ledger_leaf_hash((const uint8_t *)"\x08\x01", 2, h);
	assert_hash_hex(h, "262cf3685946c0805ab8ef6b221d3aa6ff4018e4f9967552c48f575d0b41022e");
	memset(big, 'a', sizeof(big));
	ledger_leaf_hash(big, sizeof(big), h);
	assert_hash_hex(h, "7489c42b058d685ce40b6514d41ca13c8ff13a6347d5d2b44ad97fd485290f39");
	/* the first entry of a chain with an empty event: 08 01 12 20 <32 x 00> 2a 00 */
	ck_assert_int_eq(ledger_entry_encode(1, zero_hash, 0, NULL, NULL, 0, &e), 0);
	ck_assert_uint_eq(e.len, 2 + 2 + HL + 2);
	ledger_leaf_hash(e.data, e.len, h);
	assert_hash_hex(h, "29e6a71c70b776733ed080ec3b79866eb473f1d757e1bb9909c370510fc95ba7");
	buf_free(&e);
}
END_TEST

/* ---- the chain verifier ---- */

#define CHAIN_N 50

/* Entries 1..CHAIN_N linked by leaf hash; leaf[0] is the all-zero link of seq 1. */
struct fixture {
	struct buf entry[CHAIN_N + 1];
	uint8_t leaf[CHAIN_N + 1][HL];
};

struct row {
	uint64_t seq;
	const uint8_t *entry;
	size_t len;
	const uint8_t *hash;
	size_t hash_len;
};

static void encode_event(struct buf *out, uint64_t seq, const uint8_t prev[HL], unsigned n)
{
	uint8_t *evb;
	size_t ev_len;
	struct ev h;

	ev_build(&h, n % 2 ? EV_CONSENT : EV_RIGHTS, 0, n);
	evb = ev_pack(&h, &ev_len);
	ck_assert_int_eq(ledger_entry_encode(seq, prev, 1764324900000000 + (int64_t)n * 1000,
					     &sources[n % 3 ? SRC_HTTP : SRC_KAFKA], evb, ev_len,
					     out),
			 0);
	free(evb);
	ev_free(&h);
}

static void fixture_build(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	for (unsigned i = 1; i <= CHAIN_N; i++) {
		encode_event(&f->entry[i], i, f->leaf[i - 1], i);
		ledger_leaf_hash(f->entry[i].data, f->entry[i].len, f->leaf[i]);
	}
}

static void fixture_free(struct fixture *f)
{
	for (int i = 0; i <= CHAIN_N; i++)
		buf_free(&f->entry[i]);
}

/* rows[i] is the untouched row of seq i + 1. */
static void rows_default(const struct fixture *f, struct row rows[CHAIN_N])
{
	for (int i = 1; i <= CHAIN_N; i++)
		rows[i - 1] = (struct row){i, f->entry[i].data, f->entry[i].len, f->leaf[i], HL};
}

static void rows_run(struct chain_verifier *v, const struct row *rows, size_t n,
		     enum chain_problem *res)
{
	chain_verifier_init(v);
	for (size_t i = 0; i < n; i++)
		res[i] = chain_verifier_step(v, rows[i].seq, rows[i].entry, rows[i].len,
					     rows[i].hash, rows[i].hash_len);
}

static void assert_ok_from(const enum chain_problem *res, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		ck_assert_msg(res[i] == CHAIN_OK, "row %zu: %s", i + 1, chain_problem_name(res[i]));
}

START_TEST(test_chain_intact)
{
	struct chain_verifier v;
	struct fixture f;

	fixture_build(&f);
	chain_verifier_init(&v);
	ck_assert_mem_eq(f.leaf[0], zero_hash, HL);
	for (int i = 1; i <= CHAIN_N; i++) {
		ck_assert_int_eq(
		    chain_verifier_step(&v, i, f.entry[i].data, f.entry[i].len, f.leaf[i], HL),
		    CHAIN_OK);
		ck_assert_uint_eq(v.next_seq, i + 1);
		ck_assert_mem_eq(v.prev_hash, f.leaf[i], HL);
	}
	ck_assert_int_eq(v.problem, CHAIN_OK);
	ck_assert_uint_eq(v.next_seq, CHAIN_N + 1);
	ck_assert_mem_eq(v.prev_hash, f.leaf[CHAIN_N], HL);
	ck_assert_uint_eq(v.bad_seq, 0);
	fixture_free(&f);
}
END_TEST

START_TEST(test_chain_init_resets)
{
	struct chain_verifier v;

	memset(&v, 0xa5, sizeof(v));
	chain_verifier_init(&v);
	ck_assert_uint_eq(v.next_seq, 1);
	ck_assert_mem_eq(v.prev_hash, zero_hash, HL);
	ck_assert_int_eq(v.problem, CHAIN_OK);
	ck_assert_uint_eq(v.bad_seq, 0);
}
END_TEST

/* One byte of entry k changed (first, middle, last) while the stored leaf hash is the original. */
static const int changed_seq[] = {1, 25, 50};

START_TEST(test_chain_changed_byte)
{
	int k = changed_seq[_i / 3], where = _i % 3;
	enum chain_problem res[CHAIN_N];
	struct row rows[CHAIN_N];
	struct chain_verifier v;
	struct fixture f;
	size_t off;

	fixture_build(&f);
	off = where == 0 ? 0 : where == 1 ? f.entry[k].len / 2 : f.entry[k].len - 1;
	f.entry[k].data[off] ^= 0x01;
	rows_default(&f, rows);
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, (size_t)k - 1);
	ck_assert_int_eq(res[k - 1], CHAIN_HASH_MISMATCH);
	ck_assert_int_eq(v.problem, CHAIN_HASH_MISMATCH);
	ck_assert_uint_eq(v.bad_seq, k);
	ck_assert_ptr_nonnull(strstr(v.detail, "leaf_hash"));
	/* whatever row k + 1 reports, the rows after it are fine again and the first problem
	 * is kept */
	assert_ok_from(res, (size_t)k + 1, CHAIN_N);
	ck_assert_uint_eq(v.next_seq, CHAIN_N + 1);
	fixture_free(&f);
}
END_TEST

/* Rows missing: the gap names the first missing seq and later rows verify again. */
static const struct {
	int first, count;
} missing[] = {{1, 1}, {2, 1}, {17, 1}, {30, 3}, {49, 1}};

START_TEST(test_chain_missing_row)
{
	int first = missing[_i].first, count = missing[_i].count;
	enum chain_problem res[CHAIN_N];
	struct row rows[CHAIN_N];
	struct chain_verifier v;
	struct fixture f;
	size_t n = CHAIN_N - (size_t)count;
	char want[64];

	fixture_build(&f);
	rows_default(&f, rows);
	memmove(&rows[first - 1], &rows[first - 1 + count],
		(CHAIN_N - (size_t)(first - 1 + count)) * sizeof(rows[0]));
	rows_run(&v, rows, n, res);
	assert_ok_from(res, 0, (size_t)first - 1);
	ck_assert_int_eq(res[first - 1], CHAIN_GAP);
	assert_ok_from(res, (size_t)first, n);
	ck_assert_int_eq(v.problem, CHAIN_GAP);
	ck_assert_uint_eq(v.bad_seq, first);
	snprintf(want, sizeof(want), "expected seq %d, found %d", first, first + count);
	ck_assert_str_eq(v.detail, want);
	ck_assert_uint_eq(v.next_seq, CHAIN_N + 1);
	ck_assert_mem_eq(v.prev_hash, f.leaf[CHAIN_N], HL);
	fixture_free(&f);
}
END_TEST

/* Row k holds entry j (with j's correct leaf hash): rows reordered or forged. */
START_TEST(test_chain_seq_mismatch)
{
	enum chain_problem res[CHAIN_N];
	struct row rows[CHAIN_N], tmp;
	struct chain_verifier v;
	struct fixture f;

	fixture_build(&f);
	/* row 20 holds the entry of seq 30 */
	rows_default(&f, rows);
	rows[19].entry = f.entry[30].data;
	rows[19].len = f.entry[30].len;
	rows[19].hash = f.leaf[30];
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, 19);
	ck_assert_int_eq(res[19], CHAIN_SEQ_MISMATCH);
	ck_assert_int_eq(v.problem, CHAIN_SEQ_MISMATCH);
	ck_assert_uint_eq(v.bad_seq, 20);
	ck_assert_str_eq(v.detail, "row seq 20 holds the entry of seq 30");
	assert_ok_from(res, 21, CHAIN_N);

	/* rows 10 and 11 swapped: the first is reported, the second row's problem is not kept */
	rows_default(&f, rows);
	tmp = rows[9];
	rows[9] = rows[10];
	rows[10] = tmp;
	rows[9].seq = 10;
	rows[10].seq = 11;
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, 9);
	ck_assert_int_eq(res[9], CHAIN_SEQ_MISMATCH);
	ck_assert_int_eq(res[10], CHAIN_SEQ_MISMATCH);
	ck_assert_int_eq(v.problem, CHAIN_SEQ_MISMATCH);
	ck_assert_uint_eq(v.bad_seq, 10);
	ck_assert_str_eq(v.detail, "row seq 10 holds the entry of seq 11");
	assert_ok_from(res, 12, CHAIN_N);
	fixture_free(&f);
}
END_TEST

/* Entry k re-encoded with a wrong prev_hash and stored with its own (matching) leaf hash. */
static const int relinked_seq[] = {1, 2, 26, 50};

START_TEST(test_chain_broken_link)
{
	int k = relinked_seq[_i];
	enum chain_problem res[CHAIN_N];
	struct row rows[CHAIN_N];
	struct chain_verifier v;
	uint8_t wrong[HL], forged_leaf[HL];
	struct buf forged = {0};
	struct fixture f;

	fixture_build(&f);
	if (k == 1) {
		/* seq 1 must link to 32 zero bytes: one bit off is a broken link */
		memset(wrong, 0, sizeof(wrong));
		wrong[HL - 1] = 0x01;
	} else {
		memcpy(wrong, f.leaf[k - 2], HL); /* links past its predecessor */
	}
	encode_event(&forged, (uint64_t)k, wrong, (unsigned)k);
	ledger_leaf_hash(forged.data, forged.len, forged_leaf);
	rows_default(&f, rows);
	rows[k - 1] = (struct row){(uint64_t)k, forged.data, forged.len, forged_leaf, HL};
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, (size_t)k - 1);
	ck_assert_int_eq(res[k - 1], CHAIN_BROKEN_LINK);
	ck_assert_int_eq(v.problem, CHAIN_BROKEN_LINK);
	ck_assert_uint_eq(v.bad_seq, k);
	ck_assert_ptr_nonnull(strstr(v.detail, "prev_hash"));
	assert_ok_from(res, (size_t)k + 1, CHAIN_N);
	buf_free(&forged);
	fixture_free(&f);
}
END_TEST

/* A prev_hash that is not 32 bytes is a broken link even when its first 32 bytes match. */
static const size_t prev_lens[] = {0, 31, 33};

START_TEST(test_chain_link_wrong_length)
{
	Consentd__V1__LedgerEntry le = CONSENTD__V1__LEDGER_ENTRY__INIT;
	uint8_t prev[HL + 1] = {0}, *bytes, leaf[HL];
	struct chain_verifier v;
	size_t len;

	le.seq = 1;
	le.prev_hash.data = prev;
	le.prev_hash.len = prev_lens[_i];
	len = consentd__v1__ledger_entry__get_packed_size(&le);
	bytes = malloc(len);
	ck_assert_ptr_nonnull(bytes);
	consentd__v1__ledger_entry__pack(&le, bytes);
	ledger_leaf_hash(bytes, len, leaf);
	chain_verifier_init(&v);
	ck_assert_int_eq(chain_verifier_step(&v, 1, bytes, len, leaf, HL), CHAIN_BROKEN_LINK);
	ck_assert_int_eq(v.problem, CHAIN_BROKEN_LINK);
	ck_assert_uint_eq(v.bad_seq, 1);
	free(bytes);
}
END_TEST

/* Bytes that are no LedgerEntry, stored with their matching leaf hash. */
START_TEST(test_chain_undecodable)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
	enum chain_problem res[CHAIN_N];
	uint8_t junk_leaf[HL], cut_leaf[HL];
	struct row rows[CHAIN_N];
	struct chain_verifier v;
	struct fixture f;

	fixture_build(&f);
	ledger_leaf_hash(junk, sizeof(junk), junk_leaf);
	rows_default(&f, rows);
	rows[14] = (struct row){15, junk, sizeof(junk), junk_leaf, HL};
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, 14);
	ck_assert_int_eq(res[14], CHAIN_UNDECODABLE);
	ck_assert_int_eq(v.problem, CHAIN_UNDECODABLE);
	ck_assert_uint_eq(v.bad_seq, 15);
	assert_ok_from(res, 16, CHAIN_N);

	/* entry 40 cut short by one byte: the event's length prefix overruns the bytes */
	ledger_leaf_hash(f.entry[40].data, f.entry[40].len - 1, cut_leaf);
	rows_default(&f, rows);
	rows[39].len--;
	rows[39].hash = cut_leaf;
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, 39);
	ck_assert_int_eq(res[39], CHAIN_UNDECODABLE);
	ck_assert_int_eq(v.problem, CHAIN_UNDECODABLE);
	ck_assert_uint_eq(v.bad_seq, 40);
	fixture_free(&f);
}
END_TEST

/* The stored leaf hash has the wrong length: 0, 31 (a prefix of the right one), 33 (the right
 * one and a byte more). */
static const size_t stored_lens[] = {0, 31, 33};

START_TEST(test_chain_stored_hash_wrong_length)
{
	enum chain_problem res[CHAIN_N];
	uint8_t longer[HL + 1];
	struct row rows[CHAIN_N];
	struct chain_verifier v;
	struct fixture f;

	fixture_build(&f);
	memcpy(longer, f.leaf[33], HL);
	longer[HL] = 0;
	rows_default(&f, rows);
	rows[32].hash = stored_lens[_i] == 0 ? NULL : longer;
	rows[32].hash_len = stored_lens[_i];
	rows_run(&v, rows, CHAIN_N, res);
	assert_ok_from(res, 0, 32);
	ck_assert_int_eq(res[32], CHAIN_HASH_MISMATCH);
	ck_assert_int_eq(v.problem, CHAIN_HASH_MISMATCH);
	ck_assert_uint_eq(v.bad_seq, 33);
	/* the entry itself is intact, so the next row links to it */
	assert_ok_from(res, 33, CHAIN_N);
	fixture_free(&f);
}
END_TEST

/* Several problems: the first is kept, with its seq and detail. */
START_TEST(test_chain_first_problem_kept)
{
	enum chain_problem res[CHAIN_N];
	struct row rows[CHAIN_N];
	struct chain_verifier v;
	struct fixture f;
	size_t n = CHAIN_N - 1;

	fixture_build(&f);
	f.entry[20].data[f.entry[20].len / 2] ^= 0x80; /* modified */
	rows_default(&f, rows);
	memmove(&rows[4], &rows[5], (CHAIN_N - 5) * sizeof(rows[0])); /* seq 5 deleted */
	rows_run(&v, rows, n, res);
	ck_assert_int_eq(res[4], CHAIN_GAP);
	ck_assert_int_eq(res[18], CHAIN_HASH_MISMATCH); /* seq 20 is at index 18 now */
	ck_assert_int_eq(v.problem, CHAIN_GAP);
	ck_assert_uint_eq(v.bad_seq, 5);
	ck_assert_str_eq(v.detail, "expected seq 5, found 6");
	fixture_free(&f);
}
END_TEST

START_TEST(test_chain_problem_names)
{
	static const struct {
		enum chain_problem p;
		const char *name;
	} names[] = {
	    {CHAIN_OK, "ok"},
	    {CHAIN_GAP, "gap"},
	    {CHAIN_HASH_MISMATCH, "hash_mismatch"},
	    {CHAIN_UNDECODABLE, "undecodable"},
	    {CHAIN_SEQ_MISMATCH, "seq_mismatch"},
	    {CHAIN_BROKEN_LINK, "broken_link"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		ck_assert_str_eq(chain_problem_name(names[i].p), names[i].name);
	ck_assert_str_eq(chain_problem_name((enum chain_problem)99), "unknown");
}
END_TEST

static Suite *chain_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("chain");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_encode_matches_protobuf_c, 0, (int)ARRAY_SIZE(enc_cases));
	tcase_add_loop_test(tc, test_encode_decodes_back, 0, (int)ARRAY_SIZE(enc_cases));
	tcase_add_test(tc, test_encode_known_bytes);
	tcase_add_test(tc, test_encode_appends);
	tcase_add_test(tc, test_leaf_hash_known_answers);
	tcase_add_test(tc, test_chain_intact);
	tcase_add_test(tc, test_chain_init_resets);
	tcase_add_loop_test(tc, test_chain_changed_byte, 0, 3 * (int)ARRAY_SIZE(changed_seq));
	tcase_add_loop_test(tc, test_chain_missing_row, 0, (int)ARRAY_SIZE(missing));
	tcase_add_test(tc, test_chain_seq_mismatch);
	tcase_add_loop_test(tc, test_chain_broken_link, 0, (int)ARRAY_SIZE(relinked_seq));
	tcase_add_loop_test(tc, test_chain_link_wrong_length, 0, (int)ARRAY_SIZE(prev_lens));
	tcase_add_test(tc, test_chain_undecodable);
	tcase_add_loop_test(tc, test_chain_stored_hash_wrong_length, 0,
			    (int)ARRAY_SIZE(stored_lens));
	tcase_add_test(tc, test_chain_first_problem_kept);
	tcase_add_test(tc, test_chain_problem_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chain_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
