/* libFuzzer target: what bundle_render writes, bundle_verify accepts. The input is a bundle's
 * parts (bundle_parts.h: raw LedgerEntry bytes, pseudonyms, a tree size), so that mutations
 * work on the protobuf directly rather than through base64 inside JSON; the target builds the
 * tree, the proofs and a checkpoint signed by the fixed key, renders, and verifies the
 * rendering: any rendering the verifier refuses, or summarises differently, is a bug. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_parts.h"
#include "fuzz.h"

static bool same_summary(const struct bundle_summary *a, const struct bundle_summary *b)
{
	return a->tree_size == b->tree_size && a->entries == b->entries &&
	       a->covered == b->covered && a->notices == b->notices &&
	       a->notices_missing == b->notices_missing &&
	       a->first_uncovered == b->first_uncovered && a->key_id == b->key_id &&
	       strcmp(a->subject, b->subject) == 0 && strcmp(a->key_name, b->key_name) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_summary sum, vsum;
	struct bundle_parts *p = malloc(sizeof(*p));
	struct buf out = {0};
	char err[512] = "";
	int rc;

	FUZZ_CHECK(p);
	if (bundle_parts_parse(data, size, p) < 0)
		goto out;
	rc = bundle_parts_render(p, bundle_parts_signer(), &out, &sum, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(rc == 0 || (out.len == 0 && err[0] != '\0'));
	if (rc < 0)
		goto out;
	rc = bundle_verify(out.data, out.len, bundle_parts_verifier(), &vsum, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "bundle_verify refused a rendering: %s\n", err);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(same_summary(&sum, &vsum));
out:
	buf_free(&out);
	free(p);
	return 0;
}
