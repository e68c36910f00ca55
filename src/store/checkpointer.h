/* Signed checkpoints of the ledger's Merkle tree, written by the writer thread: every interval
 * when the tree grew, and once more at shutdown. Stored in the checkpoint table, then published
 * outside the database through a callback. */
#ifndef CONSENTD_CHECKPOINTER_H
#define CONSENTD_CHECKPOINTER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "ledger/merkle.h"
#include "store/writer.h"

struct checkpointer {
	const struct note_signer *signer; /* NULL: checkpoints off */
	const char *origin;
	int64_t interval_us;
	checkpoint_publish_fn *publish;
	void *publish_arg;
	struct metrics *metrics; /* borrowed, may be NULL */
	int64_t last_us;
	uint64_t last_size;
};

/* Writes a checkpoint of tree if it grew since the last one and the interval has passed (or
 * force). Returns 0 (also when nothing was due), or a negative errno if storing failed: it is
 * then tried again next time. */
int checkpointer_run(struct checkpointer *cp, PGconn *c, const struct merkle_frontier *tree, bool force);

#endif
