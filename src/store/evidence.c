/* Merkle nodes and checkpoints: every proof is built from nodes fetched in one query. */
#include "store/evidence.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/util.h"

/* Serves a proof builder's node_fn from nodes fetched beforehand, in the order it asks. */
struct prefetched {
	const struct merkle_node_ref *refs;
	uint8_t (*hashes)[MERKLE_HASH_LEN];
	size_t n;
	size_t next;
};

static int prefetched_node(void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
	struct prefetched *p = arg;

	if (p->next >= p->n || p->refs[p->next].level != level || p->refs[p->next].index != index)
		return -EPROTO;
	memcpy(out, p->hashes[p->next++], MERKLE_HASH_LEN);
	return 0;
}

static void node_arrays(const struct merkle_node_ref *refs, size_t n, struct buf *levels,
			struct buf *idxs)
{
	buf_append_u8(levels, '{');
	buf_append_u8(idxs, '{');
	for (size_t i = 0; i < n; i++) {
		buf_printf(levels, "%s%u", i ? "," : "", refs[i].level);
		buf_printf(idxs, "%s%" PRIu64, i ? "," : "", refs[i].index);
	}
	buf_append(levels, "}", 2);
	buf_append(idxs, "}", 2);
}

int store_fetch_nodes(PGconn *c, const struct merkle_node_ref *refs, size_t n,
		      uint8_t (*out)[MERKLE_HASH_LEN], char *err, size_t errlen)
{
	struct buf levels = { 0 }, idxs = { 0 };
	const char *params[2];
	PGresult *r;
	int rc = 0;

	if (n == 0)
		return 0;
	node_arrays(refs, n, &levels, &idxs);
	params[0] = (const char *)levels.data;
	params[1] = (const char *)idxs.data;
	/* Each node is looked up in the one index that holds it: leaves in audit_log's, the rest in
	 * merkle_node's. */
	r = PQexecParams(c, "SELECT (SELECT CASE WHEN q.level = 0 "
			    "  THEN (SELECT leaf_hash FROM audit_log WHERE seq = q.idx + 1) "
			    "  ELSE (SELECT hash FROM merkle_node WHERE level = q.level AND idx = q.idx) END) "
			    "FROM unnest($1::int[], $2::bigint[]) WITH ORDINALITY AS q(level, idx, ord) "
			    "ORDER BY q.ord", 2, NULL, params, NULL, NULL, 1);
	buf_free(&levels);
	buf_free(&idxs);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQntuples(r) != n) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = store_conn_lost(c) ? -ENOTCONN : -EIO;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (PQgetisnull(r, (int)i, 0) || PQgetlength(r, (int)i, 0) != MERKLE_HASH_LEN) {
			snprintf(err, errlen, "Merkle node (level %u, index %" PRIu64 ") is missing",
				 refs[i].level, refs[i].index);
			rc = -ENOENT;
			break;
		}
		memcpy(out[i], PQgetvalue(r, (int)i, 0), MERKLE_HASH_LEN);
	}
	PQclear(r);
	return rc;
}

/* Lists the nodes a computation needs, fetches them, then runs it from memory. */
static int with_nodes(PGconn *c, const struct merkle_node_ref *refs, size_t n, struct prefetched *p,
		      char *err, size_t errlen)
{
	p->refs = refs;
	p->n = n;
	p->next = 0;
	p->hashes = calloc(n ? n : 1, MERKLE_HASH_LEN);
	if (!p->hashes)
		return -ENOMEM;
	return store_fetch_nodes(c, refs, n, p->hashes, err, errlen);
}

int store_tree_size(PGconn *c, uint64_t *size, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT seq FROM ledger_head WHERE id = 1");
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = -EIO;
	} else {
		*size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	}
	PQclear(r);
	return rc;
}

int store_tree_root(PGconn *c, uint64_t size, uint8_t root[MERKLE_HASH_LEN], char *err, size_t errlen)
{
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS];
	struct prefetched p = { 0 };
	size_t n;
	int rc;

	if (size == 0) {
		merkle_hash_empty(root);
		return 0;
	}
	if ((rc = merkle_subtree_nodes(0, size, refs, &n)) < 0)
		return rc;
	if ((rc = with_nodes(c, refs, n, &p, err, errlen)) == 0)
		rc = merkle_subtree_hash(0, size, prefetched_node, &p, root);
	free(p.hashes);
	return rc;
}

int store_inclusion_proof(PGconn *c, uint64_t leaf_index, uint64_t tree_size,
			  uint8_t leaf_hash[MERKLE_HASH_LEN], uint8_t (*proof)[MERKLE_HASH_LEN], size_t *n,
			  char *err, size_t errlen)
{
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS + 1];
	struct prefetched p = { 0 };
	size_t nrefs;
	int rc;

	if ((rc = merkle_inclusion_nodes(leaf_index, tree_size, refs, &nrefs)) < 0) {
		snprintf(err, errlen, "no leaf %" PRIu64 " in a tree of size %" PRIu64, leaf_index, tree_size);
		return rc;
	}
	refs[nrefs] = (struct merkle_node_ref){ 0, leaf_index }; /* the leaf itself, last */
	if ((rc = with_nodes(c, refs, nrefs + 1, &p, err, errlen)) == 0) {
		p.n = nrefs;
		rc = merkle_inclusion_proof(leaf_index, tree_size, prefetched_node, &p, proof, n);
		memcpy(leaf_hash, p.hashes[nrefs], MERKLE_HASH_LEN);
	}
	free(p.hashes);
	return rc;
}

int store_consistency_proof(PGconn *c, uint64_t size1, uint64_t size2,
			    uint8_t (*proof)[MERKLE_HASH_LEN], size_t *n, char *err, size_t errlen)
{
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS];
	struct prefetched p = { 0 };
	size_t nrefs;
	int rc;

	if ((rc = merkle_consistency_nodes(size1, size2, refs, &nrefs)) < 0) {
		snprintf(err, errlen, "no consistency proof from size %" PRIu64 " to %" PRIu64, size1, size2);
		return rc;
	}
	if ((rc = with_nodes(c, refs, nrefs, &p, err, errlen)) == 0)
		rc = merkle_consistency_proof(size1, size2, prefetched_node, &p, proof, n);
	free(p.hashes);
	return rc;
}

int store_load_frontier(PGconn *c, uint64_t size, struct merkle_frontier *f, char *err, size_t errlen)
{
	struct merkle_node_ref refs[MERKLE_MAX_NODE_REFS];
	struct prefetched p = { 0 };
	size_t n = 0;
	int rc;

	if (size == 0) {
		merkle_frontier_init(f);
		return 0;
	}
	if ((rc = merkle_subtree_nodes(0, size, refs, &n)) < 0)
		return rc;
	if ((rc = with_nodes(c, refs, n, &p, err, errlen)) == 0)
		rc = merkle_frontier_load(f, size, prefetched_node, &p);
	free(p.hashes);
	return rc;
}

int store_latest_checkpoint(PGconn *c, char **note, uint64_t *tree_size, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, "SELECT tree_size, note FROM checkpoint ORDER BY tree_size DESC LIMIT 1");
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = store_conn_lost(c) ? -ENOTCONN : -EIO;
	} else if (PQntuples(r) == 0) {
		snprintf(err, errlen, "no checkpoint has been written yet");
		rc = -ENOENT;
	} else {
		*tree_size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		*note = strdup(PQgetvalue(r, 0, 1));
		rc = *note ? 0 : -ENOMEM;
	}
	PQclear(r);
	return rc;
}

int store_insert_checkpoint(PGconn *c, uint64_t tree_size, const uint8_t root[MERKLE_HASH_LEN],
			    const char *note, char *err, size_t errlen)
{
	char size[24];
	const char *params[] = { size, (const char *)root, note };
	const int lengths[] = { 0, MERKLE_HASH_LEN, 0 }, formats[] = { 0, 1, 0 };
	PGresult *r;
	int rc = 0;

	snprintf(size, sizeof(size), "%" PRIu64, tree_size);
	r = PQexecParams(c, "INSERT INTO checkpoint (tree_size, root, note) VALUES ($1, $2, $3) "
			    "ON CONFLICT (tree_size) DO NOTHING", 3, NULL, params, lengths, formats, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
		rc = store_conn_lost(c) ? -ENOTCONN : -EIO;
	} else {
		rc = strcmp(PQcmdTuples(r), "1") == 0;
	}
	PQclear(r);
	return rc;
}
