/* The projections (sql/004_compliance.sql) in PostgreSQL: loading the register rows a batch
 * touches, writing a batch's deltas, rebuilding every projection from the ledger, and checking
 * that the stored projections agree with a rebuild. The rules are compliance/project.h's. */
#ifndef CONSENTD_STORE_PROJECT_H
#define CONSENTD_STORE_PROJECT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compliance/project.h"
#include "consentd.pb-c.h"
#include "config/config.h"

/* What the rules need from the configuration: the default jurisdiction and the holiday calendar,
 * read from its file. Owns the calendar. */
struct project_context {
	struct rights_context rights; /* points into this struct */
	char jurisdiction[16];
	struct deadline_calendar *calendar;
};

/* Loads the context from [compliance]; -errno with err naming the file or key on failure. */
int store_project_context(const struct config_compliance *cfg, struct project_context *out,
			  char *err, size_t errlen);
void store_project_context_free(struct project_context *ctx);

/* On a new connection of the ledger writer: refuses (-ESTALE) while the projections are not
 * complete (a ledger older than migration 004 needs `consentctl rebuild`). */
int store_project_prepare(PGconn *c, char *err, size_t errlen);

/* Seeds pb with every stored row the events touch: the register rows of their requests and the
 * consent state of the pseudonyms of their consent events (NULL events are skipped). One round
 * trip (its own pipeline). */
int store_project_load_events(PGconn *c, const char *schema, struct project_batch *pb,
			      Consentd__V1__Event *const *events, size_t n, char *err, size_t errlen);
/* Writes pb's deltas into the projections of schema ("public", or "pg_temp" for a check): one
 * INSERT ... SELECT FROM unnest(binary arrays) per table, in one round trip (its own pipeline). */
int store_project_write(PGconn *c, const char *schema, const struct project_batch *pb, char *err,
			size_t errlen);

/* The same two as parts of a caller's pipeline (store.h, pipe.c): the send half queues the
 * statements, the receive half reads their results after the caller's sync, in order. */
struct project_loads {
	bool rights, consent; /* which queries were sent */
};
int store_project_send_loads(PGconn *c, const char *schema, Consentd__V1__Event *const *events,
			     size_t n, struct project_loads *ld, char *err, size_t errlen);
int store_project_recv_loads(PGconn *c, struct project_batch *pb, const struct project_loads *ld,
			     char *err, size_t errlen);
int store_project_send_writes(PGconn *c, const char *schema, const struct project_batch *pb,
			      size_t *sent, char *err, size_t errlen);
int store_project_recv_writes(PGconn *c, size_t sent, char *err, size_t errlen);

struct project_rebuild_stats {
	uint64_t entries;   /* replayed */
	uint64_t skipped;   /* data-rights events the rules refuse (stored before the rules existed) */
	uint64_t undecodable;
};

/* Empties the projections of schema and replays the whole ledger into them, in seq order, within
 * the caller's transaction (which should hold the ledger head lock so that nothing is appended
 * meanwhile). progress (may be NULL) gets a line every 100000 entries. */
int store_project_replay(PGconn *c, const char *schema, const struct rights_context *ctx,
			 FILE *progress, struct project_rebuild_stats *st, char *err,
			 size_t errlen);

/* `consentctl rebuild`: one transaction that locks the head, replays into public, and marks the
 * projections complete. */
int store_project_rebuild(PGconn *c, const struct rights_context *ctx, FILE *progress,
			  struct project_rebuild_stats *st, char *err, size_t errlen);

/* Creates empty pg_temp copies of the projections (for a check). */
int store_project_temp_tables(PGconn *c, char *err, size_t errlen);

/* Rows that differ between public and pg_temp projections, per table, in a fixed order. */
struct project_diff {
	const char *table;
	int64_t differing; /* rows in one and not the other, both ways */
};
#define PROJECT_TABLES 5

/* Compares the stored projections with a replay into pg_temp, in one REPEATABLE READ snapshot
 * (the caller's transaction). Fills diffs[PROJECT_TABLES]. */
int store_project_compare(PGconn *c, const struct rights_context *ctx, FILE *progress,
			  struct project_diff diffs[PROJECT_TABLES], struct project_rebuild_stats *st,
			  char *err, size_t errlen);

#endif
