/* Realistic audit_log rows for the throughput benchmarks, made by the daemon's own code: events
 * from the workload go the Kafka source's way (event_decode, event_validate, event_pseudonymize,
 * writer_item_set) and are then encoded and chained as store_append does (ledger_entry_encode,
 * ledger_leaf_hash). Prepared before any timing starts. */
#ifndef CONSENTD_BENCH_SAMPLE_H
#define CONSENTD_BENCH_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "store/writer.h"

/* One audit_log row's bytes, without seq, event_id and received_at (the loaders set those). */
struct sample_row {
	uint8_t *entry;
	size_t entry_len;
	uint8_t leaf_hash[32];
	uint8_t digest[32];
	uint8_t (*pseudonyms)[32]; /* the event's subject_entry keys (1 or 3) */
	size_t n_pseudonyms;
};

struct workload;

/* The workload's next event as the Kafka source turns a message into a writer unit: decoded,
 * validated, pseudonymised, encoded; received at now, source left blank. NULL with err set. */
struct writer_unit *sample_unit(struct workload *w, int64_t now, struct buf *wire, char *err,
				size_t errlen);

/* n writer units of one event each, as the Kafka source makes them (source "kafka", one of 4
 * partitions, received now). The array and units are the caller's (sample_units_free). NULL on
 * failure, with a message on stderr. */
struct writer_unit **sample_units(size_t n, uint64_t seed);
void sample_units_free(struct writer_unit **units, size_t n);

/* n rows: the units' entries chained from seq 1. NULL on failure. */
struct sample_row *sample_rows(size_t n, uint64_t seed);
void sample_rows_free(struct sample_row *rows, size_t n);

/* Mean entry bytes of rows. */
double sample_mean_entry(const struct sample_row *rows, size_t n);

/* A version 4 UUID from the benchmark PRNG; state must be seeded per run (bench_mix64 of a
 * time and a thread number) so that runs and threads never repeat each other's ids. */
void sample_uuid(uint64_t *state, uint8_t out[16]);

/* Microseconds since 2000-01-01 (PostgreSQL's epoch) for a Unix time in microseconds. */
int64_t sample_pg_time(int64_t unix_us);

#endif
