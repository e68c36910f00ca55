/* The append transaction: in one pipelined round trip BEGIN, lock the chain head, find which
 * event_ids exist and load the projection rows the batch touches; then judge each unit's
 * data-rights transitions, assign seqs and link entries in memory; load the rows with binary
 * COPY; and in one more round trip write the projections, move the head and COMMIT. A fixed
 * number of round trips per batch whatever its size (two plus two per COPY). */
#include "store/writer.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "store/evidence.h"
#include "store/pgarray.h"
#include "store/project.h"
#include "store/store.h"

/* Small batches (up to this many events) load their ledger rows with INSERT ... SELECT FROM
 * unnest(binary arrays) inside the closing pipeline: the whole transaction is then two round
 * trips. Larger ones use binary COPY (two round trips per table, but the fastest load). */
#define APPEND_PIPELINED_MAX 256

/* The rows of audit_log, subject_entry and merkle_node a batch appends, in the form its load
 * takes: COPY buffers, or one binary array per column. */
struct ledger_rows {
	bool arrays;
	struct buf log, subject, node;
	struct pg_array log_a[6], subject_a[2], node_a[3];
};

static void rows_begin(struct ledger_rows *r, bool arrays)
{
	static const uint32_t log_oids[] = { PG_OID_INT8,  PG_OID_UUID,	 PG_OID_TIMESTAMPTZ,
					     PG_OID_BYTEA, PG_OID_BYTEA, PG_OID_BYTEA };

	r->arrays = arrays;
	if (!arrays) {
		copy_begin(&r->log);
		copy_begin(&r->subject);
		copy_begin(&r->node);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(r->log_a); i++)
		pg_array_begin(&r->log_a[i], log_oids[i]);
	pg_array_begin(&r->subject_a[0], PG_OID_BYTEA);
	pg_array_begin(&r->subject_a[1], PG_OID_INT8);
	pg_array_begin(&r->node_a[0], PG_OID_INT2);
	pg_array_begin(&r->node_a[1], PG_OID_INT8);
	pg_array_begin(&r->node_a[2], PG_OID_BYTEA);
}

static void rows_free(struct ledger_rows *r)
{
	buf_free(&r->log);
	buf_free(&r->subject);
	buf_free(&r->node);
	for (size_t i = 0; r->arrays && i < ARRAY_SIZE(r->log_a); i++)
		pg_array_free(&r->log_a[i]);
	for (size_t i = 0; r->arrays && i < ARRAY_SIZE(r->subject_a); i++)
		pg_array_free(&r->subject_a[i]);
	for (size_t i = 0; r->arrays && i < ARRAY_SIZE(r->node_a); i++)
		pg_array_free(&r->node_a[i]);
}

static void rows_log(struct ledger_rows *r, const struct writer_item *it, int64_t received_at,
		     const struct buf *entry)
{
	if (r->arrays) {
		pg_array_int8(&r->log_a[0], (int64_t)it->seq);
		pg_array_add(&r->log_a[1], it->event_id, UUID_LEN);
		pg_array_timestamptz(&r->log_a[2], received_at);
		pg_array_add(&r->log_a[3], entry->data, entry->len);
		pg_array_add(&r->log_a[4], it->leaf_hash, WRITER_HASH_LEN);
		pg_array_add(&r->log_a[5], it->digest, WRITER_HASH_LEN);
		return;
	}
	copy_row(&r->log, 6);
	copy_int8(&r->log, (int64_t)it->seq);
	copy_bytes(&r->log, it->event_id, UUID_LEN);
	copy_timestamptz(&r->log, received_at);
	copy_bytes(&r->log, entry->data, entry->len);
	copy_bytes(&r->log, it->leaf_hash, WRITER_HASH_LEN);
	copy_bytes(&r->log, it->digest, WRITER_HASH_LEN);
}

static void rows_subject(struct ledger_rows *r, const uint8_t *pseudonym, uint64_t seq)
{
	if (r->arrays) {
		pg_array_add(&r->subject_a[0], pseudonym, WRITER_HASH_LEN);
		pg_array_int8(&r->subject_a[1], (int64_t)seq);
		return;
	}
	copy_row(&r->subject, 2);
	copy_bytes(&r->subject, pseudonym, WRITER_HASH_LEN);
	copy_int8(&r->subject, (int64_t)seq);
}

static void rows_node(struct ledger_rows *r, unsigned level, uint64_t index, const uint8_t *hash)
{
	if (r->arrays) {
		pg_array_int2(&r->node_a[0], (int16_t)level);
		pg_array_int8(&r->node_a[1], (int64_t)index);
		pg_array_add(&r->node_a[2], hash, MERKLE_HASH_LEN);
		return;
	}
	copy_row(&r->node, 3);
	copy_int2(&r->node, (int16_t)level);
	copy_int8(&r->node, (int64_t)index);
	copy_bytes(&r->node, hash, MERKLE_HASH_LEN);
}

/* What the transaction knows about an event_id: stored before, or appended in this batch. */
struct seen {
	uint8_t id[UUID_LEN];
	uint8_t digest[WRITER_HASH_LEN];
	uint8_t leaf[WRITER_HASH_LEN];
	uint64_t seq;
	bool used;
};

struct seen_table {
	struct seen *slots;
	size_t mask;
};

struct batch {
	struct writer_unit **rejects; /* units to record in rejected_event */
	size_t n_rejects;
	uint64_t head_seq;
	uint8_t head_hash[WRITER_HASH_LEN];
	size_t appended;
	size_t subject_count;
	size_t node_count;
	struct merkle_frontier *tree;
	struct ledger_rows rows;
	struct buf entry;
	struct seen_table seen;
	Consentd__V1__Event **events; /* decoded, one per item in unit order; NULL: undecodable */
	size_t n_events;
	struct project_batch proj;
};

static size_t id_hash(const uint8_t id[UUID_LEN])
{
	size_t h;

	memcpy(&h, id + UUID_LEN - sizeof(h), sizeof(h)); /* random bits of a UUID */
	return h;
}

static struct seen *seen_slot(struct seen_table *t, const uint8_t id[UUID_LEN])
{
	size_t i = id_hash(id) & t->mask;

	while (t->slots[i].used && memcmp(t->slots[i].id, id, UUID_LEN) != 0)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

static int seen_init(struct seen_table *t, size_t n_items)
{
	size_t cap = 16;

	while (cap < 2 * n_items)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	t->mask = cap - 1;
	return t->slots ? 0 : -ENOMEM;
}

static void seen_put(struct seen_table *t, const uint8_t *id, const uint8_t *digest, uint64_t seq,
		     const uint8_t *leaf)
{
	struct seen *s = seen_slot(t, id);

	s->used = true;
	memcpy(s->id, id, UUID_LEN);
	memcpy(s->digest, digest, WRITER_HASH_LEN);
	memcpy(s->leaf, leaf, WRITER_HASH_LEN);
	s->seq = seq;
}

static int fail_result(PGconn *c, PGresult *r, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return store_conn_lost(c) ? -ENOTCONN : -EIO;
}

/* '{uuid,uuid,...}': every event_id of the batch, as one uuid[] parameter. */
static int ids_param(struct writer_unit **units, size_t n, struct buf *ids)
{
	int rc = buf_append_u8(ids, '{');

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < units[i]->n && rc == 0; k++) {
			char text[UUID_STR_LEN + 1];

			uuid_format(units[i]->items[k].event_id, text);
			rc = buf_printf(ids, "%s%s", ids->len > 1 ? "," : "", text);
		}
	return rc < 0 ? rc : buf_append(ids, "}", 2);
}

static int read_head(PGconn *c, struct batch *b, char *err, size_t errlen)
{
	PGresult *r;
	int rc = store_pipe_result(c, PGRES_TUPLES_OK, &r, err, errlen);

	if (rc == 0 && (PQntuples(r) != 1 || PQgetlength(r, 0, 1) != WRITER_HASH_LEN)) {
		snprintf(err, errlen, "ledger_head: no single row with a 32-byte leaf_hash");
		rc = -EIO;
	}
	if (rc == 0) {
		b->head_seq = (uint64_t)store_get_int8(r, 0, 0);
		memcpy(b->head_hash, PQgetvalue(r, 0, 1), WRITER_HASH_LEN);
	}
	PQclear(r);
	return rc;
}

static int read_existing(PGconn *c, struct batch *b, char *err, size_t errlen)
{
	PGresult *r;
	int rc = store_pipe_result(c, PGRES_TUPLES_OK, &r, err, errlen);

	for (int row = 0; rc == 0 && row < PQntuples(r); row++)
		seen_put(&b->seen, (const uint8_t *)PQgetvalue(r, row, 0),
			 (const uint8_t *)PQgetvalue(r, row, 3), (uint64_t)store_get_int8(r, row, 1),
			 (const uint8_t *)PQgetvalue(r, row, 2));
	PQclear(r);
	return rc;
}

/* One round trip opens the transaction: BEGIN, the chain head locked (SELECT ... FOR UPDATE:
 * every writer of this ledger serialises here), which event_ids exist already, and the stored
 * projection rows the batch's events touch. */
static int start(PGconn *c, struct writer_unit **units, size_t n, struct batch *b, char *err,
		 size_t errlen)
{
	struct buf ids = { 0 };
	struct project_loads ld = { 0 };
	const char *param;
	bool synced = false;
	PGresult *r = NULL;
	int rc;

	if (ids_param(units, n, &ids) < 0) {
		buf_free(&ids);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	param = (const char *)ids.data;
	if ((rc = store_pipe_begin(c, err, errlen)) < 0) {
		buf_free(&ids);
		return rc;
	}
	if ((rc = store_pipe_send(c, "BEGIN", 0, NULL, NULL, NULL, 0, err, errlen)) == 0)
		rc = store_pipe_send(c, "SELECT seq, leaf_hash FROM ledger_head WHERE id = 1 FOR UPDATE",
				     0, NULL, NULL, NULL, 1, err, errlen);
	if (rc == 0)
		rc = store_pipe_send(c, "SELECT event_id, seq, leaf_hash, event_digest FROM audit_log "
					"WHERE event_id = ANY($1::uuid[])", 1, &param, NULL, NULL, 1,
				     err, errlen);
	buf_free(&ids);
	if (rc == 0)
		rc = store_project_send_loads(c, "public", b->events, b->n_events, &ld, err, errlen);
	if (rc == 0)
		synced = (rc = store_pipe_sync(c, err, errlen)) == 0;
	if (rc == 0 && (rc = store_pipe_result(c, PGRES_COMMAND_OK, &r, err, errlen)) == 0)
		PQclear(r);
	if (rc == 0 && (rc = read_head(c, b, err, errlen)) == 0 &&
	    (rc = read_existing(c, b, err, errlen)) == 0)
		rc = store_project_recv_loads(c, &b->proj, &ld, err, errlen);
	return store_pipe_end(c, synced, rc, err, errlen);
}

/* The projections need the events, the writer holds only their bytes: decoded once, before the
 * transaction opens. */
static void decode_events(struct writer_unit **units, size_t n, struct batch *b)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < units[i]->n; j++, k++)
			b->events[k] = event_decode(units[i]->items[j].event, units[i]->items[j].event_len);
}

/* Judges the unit's data-rights transitions against the register, in order, with the seqs its
 * new items will get; a refused one refuses the unit. */
static bool check_transitions(struct writer_unit *u, Consentd__V1__Event **events,
			      struct batch *b)
{
	uint64_t seq = b->head_seq;
	char why[sizeof(u->error)];

	for (size_t k = 0; k < u->n; k++) {
		if (u->items[k].duplicate || !events[k])
			continue;
		if (project_check(&b->proj, events[k], ++seq, why, sizeof(why)) < 0) {
			project_rollback(&b->proj);
			u->status = WRITER_INVALID;
			u->conflict_index = k;
			snprintf(u->error, sizeof(u->error), "%s", why);
			return false;
		}
	}
	project_commit(&b->proj);
	return true;
}

/* Marks duplicates; returns false (and records where) if an event_id exists with other content. */
static bool check_unit(struct writer_unit *u, struct batch *b)
{
	for (size_t k = 0; k < u->n; k++) {
		struct writer_item *it = &u->items[k];
		struct seen *s = seen_slot(&b->seen, it->event_id);

		it->duplicate = s->used;
		if (!s->used)
			continue;
		if (memcmp(s->digest, it->digest, WRITER_HASH_LEN) != 0) {
			u->status = WRITER_CONFLICT;
			u->conflict_index = k;
			return false;
		}
		it->seq = s->seq;
		memcpy(it->leaf_hash, s->leaf, WRITER_HASH_LEN);
	}
	return true;
}

/* Every perfect subtree the new leaf completes becomes a merkle_node row (level 0 is the leaf
 * hash, already in audit_log). */
static int emit_node(void *arg, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct batch *b = arg;

	if (level == 0)
		return 0;
	b->node_count++;
	rows_node(&b->rows, level, index, hash);
	return 0;
}

static int append_item(struct writer_unit *u, struct writer_item *it, struct batch *b)
{
	struct ledger_source src = {
		.kind = u->source_kind, .peer = u->peer, .request_id = u->request_id,
		.topic = u->topic, .partition = u->partition, .offset = u->offset,
	};
	int rc;

	buf_reset(&b->entry);
	it->seq = b->head_seq + 1;
	rc = ledger_entry_encode(it->seq, b->head_hash, u->received_at_us, &src, it->event,
				 it->event_len, &b->entry);
	if (rc < 0)
		return rc;
	ledger_leaf_hash(b->entry.data, b->entry.len, it->leaf_hash);
	if ((rc = merkle_frontier_append(b->tree, it->leaf_hash, emit_node, b)) < 0)
		return rc;
	rows_log(&b->rows, it, u->received_at_us, &b->entry);
	b->subject_count += it->n_pseudonyms;
	for (size_t p = 0; p < it->n_pseudonyms; p++)
		rows_subject(&b->rows, it->pseudonyms[p], it->seq);
	b->head_seq = it->seq;
	memcpy(b->head_hash, it->leaf_hash, WRITER_HASH_LEN);
	seen_put(&b->seen, it->event_id, it->digest, it->seq, it->leaf_hash);
	b->appended++;
	return 0;
}

/* Assigns seqs in queue order; a conflicting unit is left out whole (and recorded if it asked
 * for quarantine); a rejection is only recorded. */
static int resolve(struct writer_unit **units, size_t n, struct batch *b)
{
	Consentd__V1__Event **events = b->events;
	int rc;

	for (size_t i = 0; i < n; events += units[i]->n, i++) {
		struct writer_unit *u = units[i];

		if (u->reject_code[0]) {
			b->rejects[b->n_rejects++] = u;
			u->status = WRITER_COMMITTED;
			continue;
		}
		if (!check_unit(u, b) || !check_transitions(u, events, b)) {
			if (u->quarantine)
				b->rejects[b->n_rejects++] = u;
			continue;
		}
		for (size_t k = 0; k < u->n; k++) {
			if (u->items[k].duplicate)
				continue;
			if ((rc = append_item(u, &u->items[k], b)) < 0 ||
			    (events[k] && (rc = project_add(&b->proj, events[k], u->items[k].seq)) < 0))
				return rc;
		}
		u->status = WRITER_COMMITTED;
	}
	return 0;
}

static int copy_rows(PGconn *c, struct batch *b, char *err, size_t errlen)
{
	int rc;

	struct ledger_rows *r = &b->rows;

	copy_end(&r->log);
	copy_end(&r->subject);
	copy_end(&r->node);
	if (copy_failed(&r->log) || copy_failed(&r->subject) || copy_failed(&r->node))
		return -ENOMEM;
	rc = copy_send(c, "COPY audit_log (seq, event_id, received_at, entry, leaf_hash, event_digest) "
			  "FROM STDIN (FORMAT binary)", &r->log, err, errlen);
	/* Each COPY is a round trip: skip the ones with no rows. */
	if (rc == 0 && b->subject_count)
		rc = copy_send(c, "COPY subject_entry (pseudonym, seq) FROM STDIN (FORMAT binary)",
			       &r->subject, err, errlen);
	if (rc == 0 && b->node_count)
		rc = copy_send(c, "COPY merkle_node (level, idx, hash) FROM STDIN (FORMAT binary)",
			       &r->node, err, errlen);
	return rc < 0 && store_conn_lost(c) ? -ENOTCONN : rc;
}

/* One round trip closes the transaction: the projections' writes, the head moved, COMMIT. Once
 * COMMIT is sent its outcome is unknown if anything fails (-EIO); the event_ids make a retry
 * safe either way. */
static int send_array_insert(PGconn *c, const char *sql, struct pg_array *a, int n, char *err,
			     size_t errlen)
{
	const char *values[6];
	int lengths[6], formats[6];

	for (int i = 0; i < n; i++) {
		if (pg_array_end(&a[i]) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		values[i] = (const char *)a[i].b.data;
		lengths[i] = (int)a[i].b.len;
		formats[i] = 1;
	}
	return store_pipe_send(c, sql, n, values, lengths, formats, 0, err, errlen);
}

/* A small batch's ledger rows, as statements of the closing pipeline; *sent counts them. */
static int send_row_inserts(PGconn *c, struct batch *b, size_t *sent, char *err, size_t errlen)
{
	struct ledger_rows *r = &b->rows;
	int rc = 0;

	*sent = 0;
	if (!r->arrays || !b->appended)
		return 0;
	rc = send_array_insert(c, "INSERT INTO audit_log (seq, event_id, received_at, entry, "
				  "leaf_hash, event_digest) SELECT * FROM unnest($1::int8[], "
				  "$2::uuid[], $3::timestamptz[], $4::bytea[], $5::bytea[], $6::bytea[])",
			       r->log_a, 6, err, errlen);
	*sent += rc == 0;
	if (rc == 0 && b->subject_count) {
		rc = send_array_insert(c, "INSERT INTO subject_entry (pseudonym, seq) SELECT * FROM "
					  "unnest($1::bytea[], $2::int8[])", r->subject_a, 2, err, errlen);
		*sent += rc == 0;
	}
	if (rc == 0 && b->node_count) {
		rc = send_array_insert(c, "INSERT INTO merkle_node (level, idx, hash) SELECT * FROM "
					  "unnest($1::int2[], $2::int8[], $3::bytea[])", r->node_a, 3,
				       err, errlen);
		*sent += rc == 0;
	}
	return rc;
}

static int finish(PGconn *c, struct batch *b, char *err, size_t errlen)
{
	char seq[24];
	const char *params[] = { seq, (const char *)b->head_hash };
	const int lengths[] = { 0, WRITER_HASH_LEN }, formats[] = { 0, 1 };
	bool synced = false;
	size_t inserts = 0, writes = 0;
	int rc;

	snprintf(seq, sizeof(seq), "%" PRIu64, b->head_seq);
	if ((rc = store_pipe_begin(c, err, errlen)) < 0)
		return rc;
	rc = send_row_inserts(c, b, &inserts, err, errlen);
	if (rc == 0)
		rc = store_project_send_writes(c, "public", &b->proj, &writes, err, errlen);
	if (rc == 0 && b->appended)
		rc = store_pipe_send(c, "UPDATE ledger_head SET seq = $1, leaf_hash = $2 WHERE id = 1",
				     2, params, lengths, formats, 0, err, errlen);
	if (rc == 0)
		rc = store_pipe_send(c, "COMMIT", 0, NULL, NULL, NULL, 0, err, errlen);
	if (rc == 0)
		synced = (rc = store_pipe_sync(c, err, errlen)) == 0;
	/* row inserts, projection writes, head move (if any), COMMIT: each a command */
	if (rc == 0)
		rc = store_pipe_ok(c, inserts + writes + (b->appended ? 1 : 0) + 1, err, errlen);
	rc = store_pipe_end(c, synced, rc, err, errlen);
	return synced && rc < 0 ? -EIO : rc;
}

static int record_reject(PGconn *c, const struct writer_unit *u, char *err, size_t errlen)
{
	char partition[16], offset[24], when[40], id[UUID_STR_LEN + 1] = "";
	const char *code = writer_unit_reject_code(u);
	const char *message = writer_unit_reject_message(u);
	const char *params[] = { u->source_kind, u->topic, partition, offset, when,
				 u->reject_code[0] ? NULL : id, code, message, (const char *)u->raw };
	const int lengths[] = { 0, 0, 0, 0, 0, 0, 0, 0, (int)u->raw_len };
	const int formats[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	PGresult *r;

	snprintf(partition, sizeof(partition), "%d", u->partition);
	snprintf(offset, sizeof(offset), "%lld", (long long)u->offset);
	rfc3339_format(u->received_at_us, when, sizeof(when));
	if (!u->reject_code[0])
		uuid_format(u->items[u->conflict_index].event_id, id);
	r = PQexecParams(c, "INSERT INTO rejected_event (source, topic, partition, kafka_offset, "
			    "received_at, event_id, error_code, error_message, payload) "
			    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
			    "ON CONFLICT (topic, partition, kafka_offset) WHERE source = 'kafka' DO NOTHING",
			 9, NULL, params, lengths, formats, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return fail_result(c, r, err, errlen);
	PQclear(r);
	return 0;
}

static void set_all(struct writer_unit **units, size_t n, enum writer_status st, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		units[i]->status = st;
		snprintf(units[i]->error, sizeof(units[i]->error), "%s", why);
	}
}

/* Another writer may have appended since our last commit: then the tree is read back. */
static int sync_tree(PGconn *c, struct append_state *st, struct batch *b, char *err, size_t errlen)
{
	int rc;

	if (st->tree_valid && st->tree.size == b->head_seq)
		return 0;
	st->tree_valid = false;
	if ((rc = store_load_frontier(c, b->head_seq, &st->tree, err, errlen)) < 0)
		return store_conn_lost(c) ? -ENOTCONN : rc;
	st->tree_valid = true;
	return 0;
}

static int run(PGconn *c, struct append_state *st, struct writer_unit **units, size_t n,
	       struct batch *b, char *err, size_t errlen)
{
	int rc;

	decode_events(units, n, b);
	if ((rc = start(c, units, n, b, err, errlen)) < 0 || (rc = sync_tree(c, st, b, err, errlen)) < 0)
		return rc;
	b->tree = &st->tree;
	rows_begin(&b->rows, b->n_events <= APPEND_PIPELINED_MAX);
	if ((rc = resolve(units, n, b)) < 0) {
		snprintf(err, errlen, "encoding entries: %s", strerror(-rc));
		return rc;
	}
	if (b->appended && !b->rows.arrays && (rc = copy_rows(c, b, err, errlen)) < 0)
		return rc;
	for (size_t i = 0; i < b->n_rejects; i++)
		if ((rc = record_reject(c, b->rejects[i], err, errlen)) < 0)
			return rc;
	return finish(c, b, err, errlen);
}

int store_append(PGconn *c, struct append_state *st, struct writer_unit **units, size_t n,
		 char *err, size_t errlen)
{
	static const struct rights_context no_rules = { NULL, NULL };
	struct batch b = { 0 };
	size_t items = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		items += units[i]->n;
	b.rejects = calloc(n, sizeof(*b.rejects));
	b.events = calloc(items + 1, sizeof(*b.events));
	b.n_events = items;
	project_batch_init(&b.proj, st->rights ? st->rights : &no_rules);
	if (!b.rejects || !b.events || (rc = seen_init(&b.seen, items)) < 0) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
	} else {
		rc = run(c, st, units, n, &b, err, errlen);
	}
	if (rc < 0) {
		st->tree_valid = false; /* it may hold leaves that were rolled back */
		if (PQtransactionStatus(c) == PQTRANS_INERROR || PQtransactionStatus(c) == PQTRANS_INTRANS)
			PQclear(PQexec(c, "ROLLBACK"));
		set_all(units, n, WRITER_UNAVAILABLE, err);
	}
	for (size_t i = 0; b.events && i < b.n_events; i++)
		event_release(b.events[i]);
	free(b.events);
	project_batch_free(&b.proj);
	free(b.seen.slots);
	free(b.rejects);
	rows_free(&b.rows);
	buf_free(&b.entry);
	return rc;
}
