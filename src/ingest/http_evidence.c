/* Evidence endpoints (scope read): the latest signed checkpoint, inclusion and consistency
 * proofs. Queries run on the reader thread; the answer is sent from the loop. */
#include "ingest/http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/proof.h"
#include "store/evidence.h"
#include "store/reader.h"

enum evidence_kind { EVIDENCE_CHECKPOINT, EVIDENCE_INCLUSION, EVIDENCE_CONSISTENCY };

struct evidence_job {
	struct reader_job job; /* first: the job is the evidence_job */
	struct http_req *r;
	enum evidence_kind kind;
	uint64_t a, b;         /* seq and tree_size, or from and to */
	char *note;
	uint8_t leaf[MERKLE_HASH_LEN];
	uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t n;
	char err[256];
};

/* Checks that the tree reaches size, then builds the proof. */
static int evidence_run(PGconn *c, struct reader_job *job)
{
	struct evidence_job *e = (struct evidence_job *)job;
	uint64_t size;
	int rc;

	if (e->kind == EVIDENCE_CHECKPOINT)
		return store_latest_checkpoint(c, &e->note, &size, e->err, sizeof(e->err));
	if ((rc = store_tree_size(c, &size, e->err, sizeof(e->err))) < 0)
		return rc;
	if (e->b > size) {
		snprintf(e->err, sizeof(e->err), "the ledger holds %" PRIu64 " entries, fewer than %" PRIu64,
			 size, e->b);
		return -ENOENT;
	}
	if (e->kind == EVIDENCE_INCLUSION)
		return store_inclusion_proof(c, e->a - 1, e->b, e->leaf, e->proof, &e->n, e->err,
					     sizeof(e->err));
	return store_consistency_proof(c, e->a, e->b, e->proof, &e->n, e->err, sizeof(e->err));
}

static void evidence_done(struct reader_job *job)
{
	struct evidence_job *e = (struct evidence_job *)job;
	struct http_req *r = e->r;

	http_ingest_track(r->h, -1);
	if (job->rc == -ENOENT)
		reply_error(r, 404, "not_found", "", -1, "%s", e->err);
	else if (job->rc == -ENOTCONN || job->rc == -ESHUTDOWN)
		reply_error(r, 503, "database_unavailable", "", -1, "the database is unreachable");
	else if (job->rc < 0)
		reply_error(r, 503, "database_unavailable", "", -1, "query failed: %s", e->err);
	else if (e->kind == EVIDENCE_CHECKPOINT)
		reply_text(r, 200, "text/plain; charset=utf-8", e->note, strlen(e->note));
	else if (e->kind == EVIDENCE_INCLUSION)
		reply_json(r, 200, proof_inclusion_json(e->a, e->b, e->leaf,
							(const uint8_t(*)[MERKLE_HASH_LEN])e->proof, e->n));
	else
		reply_json(r, 200, proof_consistency_json(e->a, e->b,
							  (const uint8_t(*)[MERKLE_HASH_LEN])e->proof, e->n));
	free(e->note);
	free(e);
}

/* A positive decimal integer parameter; answers 422 and returns false if it is not one. */
static bool query_u64(struct http_req *r, struct evkeyvalq *q, const char *name, uint64_t *out)
{
	const char *v = evhttp_find_header(q, name);
	char *end;

	if (!v || !*v) {
		reply_error(r, 422, "missing_field", name, -1, "query parameter %s is required", name);
		return false;
	}
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (*v < '1' || *v > '9' || *end || errno || *out > INT64_MAX) {
		reply_error(r, 422, "invalid_value", name, -1, "%s must be a positive integer", name);
		return false;
	}
	return true;
}

static void submit(struct http_req *r, struct evidence_job *e)
{
	e->r = r;
	e->job.run = evidence_run;
	e->job.done = evidence_done;
	http_ingest_track(r->h, +1);
	reader_submit(http_ingest_deps(r->h)->reader, &e->job);
}

/* Parses the query and checks the pair (a, b): a <= b, and for inclusion a >= 1. */
static bool parse_pair(struct http_req *r, const char *na, const char *nb, struct evidence_job *e)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	struct evkeyvalq q = { 0 };
	bool ok;

	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query ? query : "", &q) < 0) {
		reply_error(r, 400, "malformed_query", "", -1, "the query string cannot be parsed");
		return false;
	}
	ok = query_u64(r, &q, na, &e->a) && query_u64(r, &q, nb, &e->b);
	evhttp_clear_headers(&q);
	if (ok && e->a > e->b) {
		reply_error(r, 422, "invalid_value", na, -1, "%s must not exceed %s", na, nb);
		ok = false;
	}
	return ok;
}

void http_evidence_get(struct http_req *r, const char *path)
{
	struct evidence_job *e = calloc(1, sizeof(*e));

	if (!e) {
		reply_error(r, 503, "overloaded", "", -1, "out of memory");
		return;
	}
	if (strcmp(path, "/v1/checkpoints/latest") == 0) {
		e->kind = EVIDENCE_CHECKPOINT;
	} else if (strcmp(path, "/v1/proofs/inclusion") == 0) {
		e->kind = EVIDENCE_INCLUSION;
		if (!parse_pair(r, "seq", "tree_size", e))
			goto fail;
	} else {
		e->kind = EVIDENCE_CONSISTENCY;
		if (!parse_pair(r, "from", "to", e))
			goto fail;
	}
	submit(r, e);
	return;
fail:
	free(e);
}
