/* C2SP tlog-checkpoint note text (c2sp.org/tlog-checkpoint): origin, tree size and root hash of
 * the log, one per line. Signing and opening the note around it is note.h's job. No I/O. */
#ifndef CONSENTD_CHECKPOINT_H
#define CONSENTD_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define CHECKPOINT_HASH_LEN 32

/* Appends "<origin>\n<decimal tree_size>\n<base64 root>\n" to out. origin must be non-empty and
 * free of control characters (it is one line of a signed note); -EINVAL otherwise, -ENOMEM. On
 * error out keeps its previous length. */
int checkpoint_format(const char *origin, uint64_t tree_size,
		      const uint8_t root[CHECKPOINT_HASH_LEN], struct buf *out);

/*
 * Parses a checkpoint text of len bytes (a note's text, so it ends in '\n'). Strict: the origin
 * is non-empty and free of control characters; the size is decimal without sign or leading
 * zeros ("0" for the empty tree) and fits 64 bits; the root is canonical base64 of exactly 32
 * bytes. Extension lines after the root are accepted and ignored but must be non-empty.
 * *origin_out (if not NULL) receives a malloc'd NUL-terminated copy the caller frees.
 * Returns 0, -EINVAL or -ENOMEM; outputs are written only on success.
 */
int checkpoint_parse(const char *text, size_t len, char **origin_out, uint64_t *tree_size,
		     uint8_t root[CHECKPOINT_HASH_LEN]);

#endif
