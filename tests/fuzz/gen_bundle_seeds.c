/* Seed generator for fuzz_bundle and fuzz_bundle_render: a small deterministic ledger (fixed
 * event IDs, times, subject key and checkpoint key, so the same bytes every run), and bundles
 * of it, valid ones and a few that fail deep in the verifier.
 *   gen_bundle_seeds CORPUS_DIR           writes CORPUS_DIR/fuzz_bundle{,_render}/
 *   gen_bundle_seeds --check CORPUS_DIR   fails unless those seeds still are what they were made
 *                                         to be (the valid bundles verify, the parts render), so
 *                                         that a format change cannot quietly leave the fuzzers
 *                                         stuck at the first check */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_parts.h"
#include "event/event.h"
#include "fuzz.h"
#include "ledger/ledger.h"

#define HL	 BUNDLE_HASH_LEN
#define N	 6
#define NOW_US	 INT64_C(1795996800000000) /* 2026-11-30T00:00:00Z */
#define KEY_TEXT "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"

static char *const purposes[] = {"essential", "analytics", "advertising", "functional"};
static const struct event_policy policy = {purposes, ARRAY_SIZE(purposes), NULL, 0, 300000000};
static const char notice_html[] = "<p>We use cookies for analytics.</p>\n";

/* The ledger: seq 2 is the notice; 1, 3, 5 and 6 are alice's (3 by account_id and email, the
 * rest by email), 4 is bob's. alice's bundle leaves out seq 1, to keep the seed small. Consents 3
 * and 4 reference the notice (SHA: its hash, in hex). */
static const char *const events[N] = {
    "{\"event_id\":\"00000000-0000-4000-8000-000000000001\",\"occurred_at\":"
    "\"2026-11-28T10:00:00Z\",\"subject\":{\"email\":\"alice@example.com\"},"
    "\"consent\":{\"action\":\"accept_all\",\"notice\":{\"policy_version\":\"v1\"}}}",
    NULL,
    "{\"event_id\":\"00000000-0000-4000-8000-000000000003\",\"occurred_at\":"
    "\"2026-11-28T10:05:00.250Z\",\"subject\":{\"account_id\":\"u_123\",\"email\":"
    "\"alice@example.com\"},\"consent\":{\"action\":\"customize\",\"purposes\":{\"analytics\":"
    "true,\"advertising\":false},\"notice\":{\"policy_version\":\"v2\",\"content_sha256\":"
    "\"SHA\"},\"surface\":\"banner\"}}",
    "{\"event_id\":\"00000000-0000-4000-8000-000000000004\",\"occurred_at\":"
    "\"2026-11-28T11:00:00Z\",\"subject\":{\"email\":\"bob@example.com\"},"
    "\"consent\":{\"action\":\"reject_all\",\"notice\":{\"policy_version\":\"v2\","
    "\"content_sha256\":\"SHA\"}}}",
    "{\"event_id\":\"00000000-0000-4000-8000-000000000005\",\"occurred_at\":"
    "\"2026-11-28T12:00:00Z\",\"subject\":{\"email\":\"alice@example.com\"},"
    "\"data_rights\":{\"request_id\":\"DSR-1\",\"right\":\"erasure\",\"stage\":\"received\","
    "\"channel\":\"email\"}}",
    "{\"event_id\":\"00000000-0000-4000-8000-000000000006\",\"occurred_at\":"
    "\"2026-11-28T13:00:00Z\",\"subject\":{\"email\":\"alice@example.com\"},"
    "\"consent\":{\"action\":\"withdraw\",\"notice\":{\"policy_version\":\"v2\"}}}",
};

static struct buf entries[N + 1];
static uint8_t alice[2][HL], bob[1][HL]; /* pseudonyms, ascending */

static void die(const char *what)
{
	fprintf(stderr, "gen_bundle_seeds: %s\n", what);
	exit(1);
}

static Consentd__V1__Event *event_at(size_t i, const uint8_t sha[HL],
				     const struct subject_keyring *ring)
{
	char text[1024], hex[2 * HL + 1];
	const char *at;
	Consentd__V1__Event *ev;
	struct event_error err;
	json_t *j;

	if (!events[i]) {
		FUZZ_CHECK(event_notice_new((const uint8_t *)notice_html, strlen(notice_html),
					    "text/html; charset=utf-8", sha, NOW_US, &ev,
					    &err) == 0);
		return ev;
	}
	hex_encode(sha, HL, hex);
	at = strstr(events[i], "SHA");
	if (at)
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - events[i]), events[i], hex,
			 at + 3);
	else
		snprintf(text, sizeof(text), "%s", events[i]);
	FUZZ_CHECK((j = json_loads(text, 0, NULL)) != NULL);
	ev = event_from_json(j, &err);
	json_decref(j);
	if (!ev || event_validate(ev, &policy, NOW_US, &err) < 0)
		die(err.message);
	FUZZ_CHECK(event_pseudonymize(ev, ring) == 0);
	return ev;
}

static void build_ledger(void)
{
	const struct ledger_source src = {"http", "192.0.2.7:50432", "req-1", NULL, -1, -1};
	uint8_t prev[HL] = {0}, sha[HL];
	struct subject_keyring ring;
	char err[128];

	FUZZ_CHECK(subject_keyring_parse(KEY_TEXT, strlen(KEY_TEXT), &ring, err, sizeof(err)) == 0);
	subject_pseudonym(&ring.keys[0], CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL,
			  "alice@example.com", alice[0]);
	subject_pseudonym(&ring.keys[0], CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_ACCOUNT_ID,
			  "u_123", alice[1]);
	if (memcmp(alice[0], alice[1], HL) > 0) {
		memcpy(sha, alice[0], HL);
		memcpy(alice[0], alice[1], HL);
		memcpy(alice[1], sha, HL);
	}
	subject_pseudonym(&ring.keys[0], CONSENTD__V1__SUBJECT_ID_KIND__SUBJECT_ID_KIND_EMAIL,
			  "bob@example.com", bob[0]);
	FUZZ_CHECK(EVP_Digest(notice_html, strlen(notice_html), sha, NULL, EVP_sha256(), NULL));
	for (size_t i = 0; i < N; i++) {
		Consentd__V1__Event *ev = event_at(i, sha, &ring);
		struct buf eb = {0};

		FUZZ_CHECK(event_encode(ev, &eb) == 0);
		FUZZ_CHECK(ledger_entry_encode(i + 1, prev, NOW_US + 1000 * (int64_t)i, &src,
					       eb.data, eb.len, &entries[i + 1]) == 0);
		ledger_leaf_hash(entries[i + 1].data, entries[i + 1].len, prev);
		buf_free(&eb);
		event_release(ev);
	}
}

static void parts(struct bundle_parts *p, uint8_t tree_size, const uint8_t (*subject)[HL],
		  size_t n_subject, const size_t *seqs, size_t n, const size_t *notices,
		  size_t n_notices)
{
	memset(p, 0, sizeof(*p));
	p->tree_size = tree_size;
	for (size_t i = 0; i < n_subject; i++)
		memcpy(p->subject[i], subject[i], HL);
	p->n_subject = n_subject;
	for (size_t i = 0; i < n; i++)
		p->entries[i] = (struct bundle_item){.entry = entries[seqs[i]].data,
						     .len = entries[seqs[i]].len};
	p->n_entries = n;
	for (size_t i = 0; i < n_notices; i++)
		p->notices[i] = (struct bundle_item){.entry = entries[notices[i]].data,
						     .len = entries[notices[i]].len};
	p->n_notices = n_notices;
}

/* Writes data to DIR/TARGET/NAME, or with check, reads it back into data instead. */
static void seed(const char *dir, const char *target, const char *name, struct buf *data,
		 bool check)
{
	char path[4096], chunk[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, check ? "rb" : "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	if (check) {
		buf_reset(data);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			FUZZ_CHECK(buf_append(data, chunk, n) == 0);
	} else {
		FUZZ_CHECK(fwrite(data->data, 1, data->len, f) == data->len);
	}
	FUZZ_CHECK(fclose(f) == 0);
	if (!check)
		printf("%s (%zu bytes)\n", path, data->len);
}

/* A parts seed and its rendering; both must be valid. */
static void valid(const char *dir, const char *name, const struct bundle_parts *p, bool check)
{
	struct buf in = {0}, b = {0};
	struct bundle_parts q;
	char file[256], err[512];

	FUZZ_CHECK(bundle_parts_write(p, &in) == 0);
	snprintf(file, sizeof(file), "%s.parts", name);
	seed(dir, "fuzz_bundle_render", file, &in, check);
	if (bundle_parts_parse(in.data, in.len, &q) < 0 ||
	    bundle_parts_render(&q, bundle_parts_signer(), &b, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen_bundle_seeds: %s does not render: %s\n", file, err);
		die("run gen_bundle_seeds CORPUS_DIR to make the seeds again");
	}
	snprintf(file, sizeof(file), "%s.json", name);
	seed(dir, "fuzz_bundle", file, &b, check);
	if (bundle_verify(b.data, b.len, bundle_parts_verifier(), NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "gen_bundle_seeds: %s does not verify: %s\n", file, err);
		die("run gen_bundle_seeds CORPUS_DIR to make the seeds again");
	}
	buf_free(&in);
	buf_free(&b);
}

/* A bundle seed that must be refused, with a reason containing why. */
static void refused(const char *dir, const char *name, struct buf *b, const char *why, bool check)
{
	char err[512] = "";

	seed(dir, "fuzz_bundle", name, b, check);
	if (bundle_verify(b->data, b->len, bundle_parts_verifier(), NULL, err, sizeof(err)) !=
		-EBADMSG ||
	    !strstr(err, why)) {
		fprintf(stderr, "gen_bundle_seeds: %s: wanted \"%s\", got \"%s\"\n", name, why,
			err);
		die("run gen_bundle_seeds CORPUS_DIR to make the seeds again");
	}
}

static void replace(struct buf *b, const char *from, const char *to)
{
	char *text = strndup((const char *)b->data, b->len), *at;
	struct buf out = {0};

	FUZZ_CHECK(text && (at = strstr(text, from)));
	FUZZ_CHECK(buf_append(&out, text, (size_t)(at - text)) == 0);
	FUZZ_CHECK(buf_printf(&out, "%s%s", to, at + strlen(from)) == 0);
	buf_free(b);
	*b = out;
	free(text);
}

int main(int argc, char **argv)
{
	static const size_t alice_seqs[] = {3, 5, 6}, bob_seqs[] = {4}, notice[] = {2};
	uint8_t other_seed[NOTE_ED25519_SEED_LEN] = {9};
	struct note_signer *other;
	struct bundle_parts p;
	struct buf b = {0};
	bool check = argc == 3 && strcmp(argv[1], "--check") == 0;
	const char *dir = argv[argc - 1];
	char err[512];

	if (argc != 2 + check)
		die("usage: gen_bundle_seeds [--check] CORPUS_DIR");
	build_ledger();

	/* alice: two pseudonyms, a notice, proofs, a data-rights entry, seq 6 not covered */
	parts(&p, 5, (const uint8_t(*)[HL])alice, 2, alice_seqs, 3, notice, 1);
	valid(dir, "valid_alice", &p, check);
	/* bob: one entry, the notice it references not included (notices_missing) */
	parts(&p, 4, (const uint8_t(*)[HL])bob, 1, bob_seqs, 1, NULL, 0);
	valid(dir, "valid_bob_notice_missing", &p, check);

	/* bob's bundle with the checkpoint signed by another key of the same name */
	parts(&p, 4, (const uint8_t(*)[HL])bob, 1, bob_seqs, 1, NULL, 0);
	FUZZ_CHECK(note_signer_from_seed(BUNDLE_PARTS_ORIGIN, other_seed, &other) == 0);
	FUZZ_CHECK(bundle_parts_render(&p, other, &b, NULL, err, sizeof(err)) == 0);
	refused(dir, "bad_other_key.json", &b, "no signature by the key", check);
	note_signer_free(other);
	/* bob's bundle whose decoded form of seq 4 says accept_all */
	buf_reset(&b);
	FUZZ_CHECK(bundle_parts_render(&p, bundle_parts_signer(), &b, NULL, err, sizeof(err)) == 0);
	if (!check)
		replace(&b, "\"action\":\"reject_all\"", "\"action\":\"accept_all\"");
	refused(dir, "bad_decoded_form.json", &b, "entry seq 4: the decoded form", check);

	buf_free(&b);
	for (size_t i = 0; i <= N; i++)
		buf_free(&entries[i]);
	if (check)
		printf("gen_bundle_seeds: the seeds in %s are as made\n", dir);
	return 0;
}
