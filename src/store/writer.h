/* The ledger writer: the one place that orders the ledger. Sources (HTTP, Kafka) hand it units
 * of events; a dedicated thread that owns its PostgreSQL connection commits them in batches
 * (group commit) and hands each unit back, on the event loop's thread, once its outcome is
 * durable. Flow: source -> writer_submit -> [writer thread: append transaction] -> done_cb. */
#ifndef CONSENTD_WRITER_H
#define CONSENTD_WRITER_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance/rights.h"
#include "consentd.pb-c.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "util/util.h"

#define WRITER_HASH_LEN 32

/* One event to append. The item owns event and pseudonyms. */
struct writer_item {
	uint8_t event_id[UUID_LEN];
	uint8_t *event;                      /* canonical Event bytes */
	size_t event_len;
	uint8_t digest[WRITER_HASH_LEN];     /* SHA-256(event), for idempotency */
	uint8_t (*pseudonyms)[WRITER_HASH_LEN];
	size_t n_pseudonyms;
	/* outcome, valid once the unit is done */
	uint64_t seq;
	uint8_t leaf_hash[WRITER_HASH_LEN];
	bool duplicate;                      /* already stored with identical content */
};

enum writer_status {
	WRITER_PENDING = 0,
	WRITER_COMMITTED,   /* every item is durable (new or duplicate), or the rejection recorded */
	WRITER_CONFLICT,    /* items[conflict_index].event_id is stored with other content; with
			     * quarantine set, the message is recorded in rejected_event */
	WRITER_UNAVAILABLE, /* database unreachable or the transaction failed: nothing stored */
	WRITER_OVERLOADED,  /* queue full: nothing stored */
	WRITER_INVALID,     /* items[conflict_index] is a data-rights transition the register
			     * refuses (error says why, naming the current state): nothing of the
			     * unit stored; with quarantine set, recorded in rejected_event */
};

struct writer_unit;
typedef void writer_done_fn(struct writer_unit *u, void *arg);

/* An atomic group of events: all are committed, or none. Owned by the source until submitted,
 * by the writer until done_cb runs (on the loop thread), then by done_cb, which must free it. */
struct writer_unit {
	struct writer_item *items;
	size_t n;
	char peer[64];
	char request_id[64];
	char topic[256];
	const char *source_kind;             /* static string: "http" | "kafka" */
	int32_t partition;
	int64_t offset;
	int64_t received_at_us;
	/* Kafka: the raw message, recorded in rejected_event if the unit is a rejection (reject_code
	 * set, no items) or if its event_id turns out to conflict (quarantine). Owned. */
	uint8_t *raw;
	size_t raw_len;
	bool quarantine;
	bool retry;          /* keep retrying (in order) while the database is down: Kafka units */
	char reject_code[40];
	char reject_message[200];
	enum writer_status status;
	size_t conflict_index;
	char error[200];
	writer_done_fn *done_cb;
	void *arg;
	uint64_t tag;                        /* the source's own, untouched by the writer; for
					      * units with a partition (Kafka) equal tags mean
					      * fetched in order, no rewind in between */
	struct writer_unit *next;            /* writer's queue link */
};

/* The error code and message a refused unit is recorded and reported with: its reject_code,
 * invalid_transition or event_id_conflict. */
const char *writer_unit_reject_code(const struct writer_unit *u);
const char *writer_unit_reject_message(const struct writer_unit *u);

struct writer_unit *writer_unit_new(size_t n_items);
void writer_unit_free(struct writer_unit *u);
/* Fills an item from a validated, pseudonymised event: encodes it, digests it, keeps its id and
 * pseudonyms. Returns 0 or -ENOMEM / -EINVAL. */
int writer_item_set(struct writer_item *it, const Consentd__V1__Event *ev);

/* Called on the writer thread with each new signed checkpoint, after it is stored: publishes
 * copies outside the database. Must be thread-safe with respect to the loop. */
typedef void checkpoint_publish_fn(const char *note, uint64_t tree_size, void *arg);

struct writer_config {
	const char *conninfo;
	int64_t connect_timeout_ms;
	bool allow_superuser;
	size_t batch_max;      /* events per transaction */
	int64_t batch_delay_ms;
	size_t queue_max;      /* events waiting before submit refuses */
	/* Checkpoints: signer NULL = none. The signer is borrowed and must outlive the writer. */
	const struct note_signer *signer;
	const char *origin;
	int64_t checkpoint_interval_ms;
	checkpoint_publish_fn *publish;
	void *publish_arg;
	/* Data-rights rules for the projections (borrowed, must outlive the writer). */
	const struct rights_context *rights;
	struct metrics *metrics; /* borrowed, may be NULL; updated from the writer thread */
};

struct writer;
struct metrics;

/* The writer copies what it needs from cfg. base is the loop done_cb runs on. */
struct writer *writer_new(struct event_base *base, const struct writer_config *cfg);
/* Starts the thread. It connects by itself and reconnects with back-off. */
int writer_start(struct writer *w);
/* Queues u. Returns 0, -EAGAIN (queue full) or -ENOTCONN (database down); on error u is still
 * the caller's. Units commit in submission order. When a transaction fails, units without
 * retry are answered WRITER_UNAVAILABLE at once; units with retry are tried again, in order and
 * ahead of anything queued later, until they commit, the writer stops, or the transaction has
 * failed a few times on a working connection; they are queued even while the database is down
 * or the queue is full (their source bounds how many it has out). A unit with a partition that
 * goes back WRITER_UNAVAILABLE takes with it, untried, every unit of its partition with the same
 * tag, queued or submitted later: its source fetches them again under a new tag, in order. */
int writer_submit(struct writer *w, struct writer_unit *u);
/* Database reachable and schema current, as last seen by the writer thread. */
bool writer_ready(const struct writer *w);
/* Why not ready, for /readyz and logs. */
void writer_status_text(const struct writer *w, char *out, size_t outlen);
/* Events queued or in flight. */
size_t writer_depth(const struct writer *w);
/* Microseconds since the writer thread last showed progress: it beats once per loop turn (at
 * least every second when idle) and per retry. A large age means it is wedged in a call. */
int64_t writer_heartbeat_age_us(const struct writer *w);
/* Stops taking units, commits what is queued, joins the thread. Pending done_cbs are delivered
 * by the loop; call writer_free after the loop has run them. */
void writer_stop(struct writer *w);
void writer_free(struct writer *w);

/* ---- the append transaction (append.c), used by the writer thread ------------------------ */
/* Appends the units' events in one transaction and sets every unit's outcome. Returns 0 when
 * the transaction committed (or had nothing to append); -ENOTCONN when the connection was lost
 * before COMMIT was sent (nothing stored: safe to retry on a new connection); -EIO on any other
 * failure (outcome of an interrupted COMMIT unknown; event_id idempotency makes a retry by the
 * client safe). On failure every unit is WRITER_UNAVAILABLE and err says why. */
struct append_state {
	struct merkle_frontier tree; /* the Merkle tree of the ledger as of the last commit */
	bool tree_valid;             /* false: reload it from the database under the head lock */
	const struct rights_context *rights; /* borrowed: the projections' data-rights rules */
};

int store_append(PGconn *conn, struct append_state *st, struct writer_unit **units, size_t n,
		 char *err, size_t errlen);

#endif
