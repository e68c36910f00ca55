/* Projections of the ledger (sql/004_compliance.sql), computed one append transaction at a time:
 * the data-rights register, the current consent state per subject pseudonym and purpose, the
 * daily consent aggregates, and the notice index. Pure: events and seqs in, rows out; the store
 * loads the register rows a batch touches and writes the rows back (store/project.c).
 *
 * The same code serves the ledger writer (events as they arrive) and `consentctl rebuild` /
 * `verify` (events replayed from the ledger in seq order), so a rebuild computes exactly what the
 * writer wrote.
 *
 * Rules (documented in docs/evidence.md, "Projections"):
 * - A data-rights event is judged against its request's register row (rights.h); a refused
 *   transition refuses the whole unit it came in (409 invalid_transition), nothing of it is
 *   applied. Days are UTC days of the event's occurred_at.
 * - Consent state: per pseudonym, for each purpose the decision with the greatest
 *   (occurred_at, seq); one row per pseudonym (a JSON object keyed by purpose).
 * - Daily aggregates: per UTC day of occurred_at and notice (policy_version, banner_version,
 *   content_sha256 hex or ""), events per action and, per purpose, decisions and grants.
 * - Notices: content_sha256 -> seq, content type and size.
 */
#ifndef CONSENTD_PROJECT_H
#define CONSENTD_PROJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance/rights.h"
#include "consentd.pb-c.h"

#define PROJECT_HASH_LEN 32
#define PROJECT_PURPOSE_MAX 64

/* A register row the batch read or changed. */
struct project_request {
	struct rights_row row;
	uint64_t first_seq;
	uint64_t last_seq;
	bool present; /* false: the key is known but the request has no accepted event */
	bool dirty;   /* changed by this batch: to be written */
};

/* One purpose's decision in force for a pseudonym. */
struct project_decision {
	char purpose[PROJECT_PURPOSE_MAX + 1];
	bool granted;
	uint64_t seq;
	int64_t occurred_at; /* microseconds */
};

/* A consent_state row: a pseudonym's decisions, one per purpose. */
struct project_consent {
	uint8_t pseudonym[PROJECT_HASH_LEN];
	struct project_decision *d; /* owned */
	size_t n, cap;
	bool used;
	bool dirty; /* changed by this batch: to be written */
};

/* One aggregate row: purpose NULL for an action count (events), else a purpose's decisions. */
struct project_daily {
	int64_t day;
	char *policy_version;
	char *banner_version;
	char notice_sha256[2 * PROJECT_HASH_LEN + 1];
	char *name; /* action name, or purpose */
	bool is_purpose;
	int64_t events; /* action rows: events; purpose rows: decisions */
	int64_t granted;
};

struct project_notice {
	uint8_t sha256[PROJECT_HASH_LEN];
	uint64_t seq;
	char *content_type;
	size_t size;
};

/* The deltas of one transaction. Owns everything it points to. */
struct project_batch {
	struct rights_context ctx; /* borrowed */
	struct project_request *requests; /* open addressing by request_id */
	size_t req_cap, req_used;
	struct project_consent *consent; /* open addressing by pseudonym */
	size_t con_cap, con_used;
	struct project_daily *daily;
	size_t n_daily, daily_cap;
	struct project_notice *notices;
	size_t n_notices, notices_cap;
	/* undo of the unit being applied: (slot, previous row, was present) */
	struct project_undo *undo;
	size_t n_undo, undo_cap;
	size_t skipped; /* events refused by project_replay (rebuild only) */
};

/* ctx is borrowed and must outlive the batch. */
void project_batch_init(struct project_batch *pb, const struct rights_context *ctx);
void project_batch_free(struct project_batch *pb);

/* Seeds the register row of a request as stored (before the batch). -ENOMEM. */
int project_seed_request(struct project_batch *pb, const struct rights_row *row, uint64_t first_seq,
			 uint64_t last_seq);

/* Seeds the stored consent state of a pseudonym (before the batch). -ENOMEM. */
int project_seed_consent(struct project_batch *pb, const uint8_t pseudonym[PROJECT_HASH_LEN],
			 const struct project_decision *d, size_t n);
/* consent_state.state of a row: {"<purpose>": {"granted", "seq", "occurred_at"}, ...}, keys
 * sorted, compact (malloc'd; NULL on ENOMEM). Sorts the row's decisions. */
char *project_consent_json(const struct project_consent *c);
/* The reverse: *out (malloc'd, *n of them) or -EINVAL for anything else than that shape. */
int project_consent_parse(const char *text, size_t len, struct project_decision **out, size_t *n);

/* A unit is applied in two steps: project_check for each of its events in order (seq is the one
 * the event will get), then project_commit if all passed or project_rollback if one failed.
 * project_check returns 0, or -EINVAL / -ETIME / -ENOENT with why naming the request and its
 * current state (the caller answers 409 invalid_transition), or -ENOMEM. */
int project_check(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq,
		  char *why, size_t whylen);
void project_rollback(struct project_batch *pb);
void project_commit(struct project_batch *pb);

/* Adds what an accepted, appended event changes besides the register: consent state for each
 * pseudonym its subject carries, daily aggregates, the notice index. -ENOMEM. */
int project_add(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq);

/* Rebuild: check + commit (or skip, counted in pb->skipped) + add, for one stored event. */
int project_replay(struct project_batch *pb, const Consentd__V1__Event *ev, uint64_t seq);

/* The request_id of a data-rights event, or NULL. */
const char *project_request_id(const Consentd__V1__Event *ev);
/* Iteration over the changed consent rows (NULL when past the end): for (i = 0; (c = ...(pb, &i)); ). */
const struct project_consent *project_consent_next(const struct project_batch *pb, size_t *i);
const struct project_request *project_request_next(const struct project_batch *pb, size_t *i);

#endif
