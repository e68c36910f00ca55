/* consentctl's evidence checks, private to cli/: what verify reports, verifier keys and signed
 * checkpoint notes, and the checkpoint streams that verify compares with the tree it recomputes
 * (the database's checkpoint table and an externally kept checkpoints file). */
#ifndef CONSENTD_CLI_VERIFY_H
#define CONSENTD_CLI_VERIFY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/merkle.h"
#include "ledger/note.h"
#include "util/util.h"

/* The most a checkpoint note, a key file or a proof file may hold. */
#define VERIFY_NOTE_MAX (64 * 1024)

/* What verify found, worst first in no particular sense: the first one found is reported. */
enum verify_class {
	VERIFY_OK = 0,
	VERIFY_ENTRY_MODIFIED,	  /* hash_mismatch, undecodable */
	VERIFY_ENTRY_DELETED,	  /* gap */
	VERIFY_ENTRY_INSERTED,	  /* seq_mismatch, broken_link, rows beyond the chain head */
	VERIFY_TAIL_TRUNCATED,	  /* the head or a checkpoint reaches beyond the last row */
	VERIFY_HISTORY_REWRITTEN, /* a signed root differs from the recomputed one */
	VERIFY_BAD_SIGNATURE,	  /* a checkpoint the key does not vouch for */
};

const char *verify_class_name(enum verify_class c);

struct verify_failure {
	enum verify_class cls;
	const char *cause; /* the chain problem's name (static), or NULL */
	bool at_tree_size; /* bad_signature: `at` is a checkpoint's tree size, not a seq */
	uint64_t at;	   /* the first seq affected */
	char detail[400];
};

/* Fills f (cls, at, detail) unless it already holds a failure: the first one found wins. */
void verify_fail(struct verify_failure *f, enum verify_class cls, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads a whole file of at most max bytes into out (appended). -EFBIG beyond max; err says why. */
int verify_read_file(const char *path, size_t max, struct buf *out, char *err, size_t errlen);

/* A verifier key from its text, or from the file named by arg holding it (surrounding
 * whitespace ignored). -EINVAL/-ENOTSUP/-ENOENT... with err filled. Caller frees *out. */
int verify_key_load(const char *arg, struct note_verifier **out, char *err, size_t errlen);

/* Opens a signed checkpoint note with key and parses its checkpoint, whose origin must be the
 * key's name. 0; -EBADMSG (err says why) if the key does not vouch for it; -ENOMEM. */
int verify_open_checkpoint(struct note_verifier *key, const char *note, size_t len, uint64_t *size,
			   uint8_t root[MERKLE_HASH_LEN], char *err, size_t errlen);

/*
 * The checkpoint streams of one verify run, consumed in tree-size order as the caller's tree
 * grows. Constant memory: one pending checkpoint per source.
 *   verify_checkpoints_new   opens the file (path may be NULL) and notes its current length,
 *                            which is all that is read: call it BEFORE taking the database
 *                            snapshot, so every checkpoint read covers rows that snapshot holds.
 *   verify_checkpoints_start starts streaming the checkpoint table on db (its own connection,
 *                            already in the run's snapshot); ownership of db stays with the caller.
 *   verify_checkpoints_next  the smallest pending tree size (UINT64_MAX when none).
 *   verify_checkpoints_check checks every pending checkpoint of tree size f->size (call it when
 *                            next == f->size).
 *   verify_checkpoints_finish after the last row: a checkpoint beyond it means tail_truncated.
 * check and finish return 0 (all good), 1 (*fail filled) or a negative errno (err filled: a
 * database or file error, or a checkpoints file out of order: exit 2).
 */
struct verify_checkpoints;

int verify_checkpoints_new(const char *path, struct note_verifier *key,
			   struct verify_checkpoints **out, char *err, size_t errlen);
int verify_checkpoints_start(struct verify_checkpoints *vc, PGconn *db, char *err, size_t errlen);
uint64_t verify_checkpoints_next(const struct verify_checkpoints *vc);
int verify_checkpoints_check(struct verify_checkpoints *vc, const struct merkle_frontier *f,
			     struct verify_failure *fail, char *err, size_t errlen);
int verify_checkpoints_finish(struct verify_checkpoints *vc, uint64_t last_seq,
			      struct verify_failure *fail, char *err, size_t errlen);
/* ", N DB checkpoints (signatures ...) and M external checkpoints match the tree" */
void verify_checkpoints_summary(const struct verify_checkpoints *vc, struct buf *out);
void verify_checkpoints_free(struct verify_checkpoints *vc);

#endif
