/* libFuzzer target: signed notes and checkpoints as consentctl verify and verify-proof read
 * them (note_open, checkpoint_parse, verify_open_checkpoint), and key texts (note_signer_parse,
 * note_verifier_parse), all on the same input. The keys are fixed: seeds in the corpus are
 * signed by them (tests/fuzz/gen_seeds.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verify.h"
#include "ledger/checkpoint.h"
#include "ledger/note.h"

#include "fuzz.h"

#define LOG_NAME "consentd.example/log"

static struct note_signer *signer;
/* The log key, a witness, and a second key under the log's name (another key ID). */
static struct note_verifier *verifiers[3];

static struct note_verifier *verifier_of(const char *name, uint8_t fill)
{
	uint8_t seed[NOTE_ED25519_SEED_LEN], pub[NOTE_ED25519_PUB_LEN];
	struct note_signer *s;
	struct note_verifier *v;

	memset(seed, fill, sizeof(seed));
	FUZZ_CHECK(note_signer_from_seed(name, seed, &s) == 0);
	note_signer_public_key(s, pub);
	FUZZ_CHECK(note_verifier_from_key(name, pub, &v) == 0);
	if (fill == 1)
		signer = s;
	else
		note_signer_free(s);
	return v;
}

static void setup(void)
{
	if (signer)
		return;
	verifiers[0] = verifier_of(LOG_NAME, 1);
	verifiers[1] = verifier_of("witness.example/w1", 2);
	verifiers[2] = verifier_of(LOG_NAME, 3);
}

/* A checkpoint parsed strictly has one text: formatting what was parsed gives its first lines. */
static void check_checkpoint(const char *text, size_t len)
{
	uint8_t root[CHECKPOINT_HASH_LEN];
	struct buf b = {0};
	char *origin = NULL;
	uint64_t tree_size;

	if (checkpoint_parse(text, len, &origin, &tree_size, root) < 0)
		return;
	FUZZ_CHECK(checkpoint_format(origin, tree_size, root, &b) == 0);
	FUZZ_CHECK(b.len <= len && memcmp(b.data, text, b.len) == 0);
	buf_free(&b);
	free(origin);
}

/* A note that opens is re-signed by the log key: the same text must open again. */
static void check_note(const char *note, size_t len)
{
	size_t tlen = 0, idx = 0, tlen2 = 0, idx2 = 9;
	uint8_t root[CHECKPOINT_HASH_LEN];
	struct buf b = {0};
	uint64_t tree_size;
	char err[256];
	int rc = note_open(note, len, verifiers, 3, &tlen, &idx);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EBADMSG || rc == -ENOKEY);
	/* What verify-proof does with --checkpoint, with the log key alone. */
	(void)verify_open_checkpoint(verifiers[0], note, len, &tree_size, root, err, sizeof(err));
	if (rc < 0)
		return;
	FUZZ_CHECK(tlen >= 1 && tlen < len && note[tlen - 1] == '\n' && idx < 3);
	check_checkpoint(note, tlen);
	FUZZ_CHECK(note_sign(signer, note, tlen, &b) == 0);
	FUZZ_CHECK(note_open((const char *)b.data, b.len, verifiers, 1, &tlen2, &idx2) == 0);
	FUZZ_CHECK(tlen2 == tlen && idx2 == 0);
	buf_free(&b);
}

/* A signer key text that parses yields a verifier text that parses to the same key. */
static void check_keys(const char *text)
{
	struct note_verifier *v = NULL, *v2 = NULL;
	struct note_signer *s = NULL;
	uint8_t sig[NOTE_ED25519_SIG_LEN];
	char *vt;
	int rc;

	rc = note_verifier_parse(text, &v);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
	note_verifier_free(v);
	rc = note_signer_parse(text, &s);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
	if (rc < 0)
		return;
	vt = note_signer_verifier_text(s);
	FUZZ_CHECK(vt && note_verifier_parse(vt, &v2) == 0);
	FUZZ_CHECK(note_verifier_key_id(v2) == note_signer_key_id(s));
	FUZZ_CHECK(strcmp(note_verifier_name(v2), note_signer_name(s)) == 0);
	FUZZ_CHECK(note_ed25519_sign(s, (const uint8_t *)text, strlen(text), sig) == 0);
	FUZZ_CHECK(note_ed25519_verify(v2, (const uint8_t *)text, strlen(text), sig) == 0);
	note_verifier_free(v2);
	free(vt);
	note_signer_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	setup();
	/* libFuzzer's buffer holds exactly size bytes: ASan sees any read past the end. */
	check_note((const char *)data, size);
	check_checkpoint((const char *)data, size);
	/* The key parsers take NUL-terminated text. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	check_keys(text);
	free(text);
	return 0;
}
