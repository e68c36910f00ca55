/* Checkpoint = C2SP tlog-checkpoint body signed as a C2SP signed-note. */
#include "store/checkpointer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "ledger/checkpoint.h"
#include "ledger/note.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "store/evidence.h"

static int sign(const struct checkpointer *cp, const struct merkle_frontier *tree,
		uint8_t root[MERKLE_HASH_LEN], struct buf *note)
{
	struct buf body = { 0 };
	int rc;

	merkle_frontier_root(tree, root);
	rc = checkpoint_format(cp->origin, tree->size, root, &body);
	if (rc == 0)
		rc = note_sign(cp->signer, (const char *)body.data, body.len, note);
	if (rc == 0)
		rc = buf_append_u8(note, '\0');
	buf_free(&body);
	return rc;
}

int checkpointer_run(struct checkpointer *cp, PGconn *c, const struct merkle_frontier *tree, bool force)
{
	uint8_t root[MERKLE_HASH_LEN];
	struct buf note = { 0 };
	char err[512];
	int64_t now = now_us();
	int rc;

	if (!cp->signer || tree->size == 0 || tree->size == cp->last_size)
		return 0;
	if (!force && now - cp->last_us < cp->interval_us)
		return 0;
	if ((rc = sign(cp, tree, root, &note)) < 0) {
		log_error("checkpoint", "cannot sign the checkpoint of size %" PRIu64 ": %d", tree->size, rc);
		buf_free(&note);
		return rc;
	}
	rc = store_insert_checkpoint(c, tree->size, root, (const char *)note.data, err, sizeof(err));
	if (rc < 0) {
		metrics_postgres_error(cp->metrics);
		log_warn("checkpoint", "checkpoint of size %" PRIu64 " not stored yet: %s", tree->size, err);
	} else {
		metrics_checkpoint(cp->metrics, tree->size, now);
		cp->last_size = tree->size;
		cp->last_us = now;
		log_debug("checkpoint", "signed checkpoint of tree size %" PRIu64 "%s", tree->size,
			  rc ? "" : " (another writer stored one first)");
		/* Only the writer that stored it publishes it, so each copy appears once. */
		if (rc == 1 && cp->publish)
			cp->publish((const char *)note.data, tree->size, cp->publish_arg);
		rc = 0;
	}
	buf_free(&note);
	return rc;
}
