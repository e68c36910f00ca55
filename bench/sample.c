/* See sample.h: real rows for the loaders, real units for the chain-cost measurement. */
#include "sample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "ledger/ledger.h"
#include "stats.h"
#include "workload.h"

void sample_units_free(struct writer_unit **units, size_t n)
{
	if (!units)
		return;
	for (size_t i = 0; i < n; i++)
		writer_unit_free(units[i]);
	free(units);
}

struct writer_unit *sample_unit(struct workload *w, int64_t now, struct buf *wire, char *err,
				size_t errlen)
{
	struct event_error e = { 0 };
	Consentd__V1__Event *ev;
	struct writer_unit *u;

	buf_reset(wire);
	if (workload_next(w, now, wire) < 0) {
		snprintf(err, errlen, "workload: out of memory");
		return NULL;
	}
	ev = event_decode(wire->data, wire->len);
	if (!ev || event_validate(ev, workload_policy(), now, &e) < 0) {
		snprintf(err, errlen, "workload event rejected: %s: %s", e.code, e.message);
		event_release(ev);
		return NULL;
	}
	u = writer_unit_new(1);
	if (u && (event_pseudonymize(ev, workload_keyring()) < 0 ||
		  writer_item_set(&u->items[0], ev) < 0)) {
		writer_unit_free(u);
		u = NULL;
	}
	event_release(ev);
	if (!u)
		snprintf(err, errlen, "workload event: out of memory");
	else
		u->received_at_us = now;
	return u;
}

static struct writer_unit *one_unit(struct workload *w, struct buf *wire, uint64_t i)
{
	char err[256];
	struct writer_unit *u = sample_unit(w, now_us(), wire, err, sizeof(err));

	if (!u) {
		fprintf(stderr, "sample: %s\n", err);
		return NULL;
	}
	u->source_kind = "kafka";
	snprintf(u->topic, sizeof(u->topic), "consent-events");
	u->partition = (int32_t)(i & 3);
	u->offset = (int64_t)(i >> 2);
	return u;
}

struct writer_unit **sample_units(size_t n, uint64_t seed)
{
	struct writer_unit **units = calloc(n ? n : 1, sizeof(*units));
	struct workload w;
	struct buf wire = { 0 };

	if (!units)
		return NULL;
	workload_init(&w, bench_mix64(seed), 1000000);
	for (size_t i = 0; i < n; i++)
		if (!(units[i] = one_unit(&w, &wire, i))) {
			sample_units_free(units, i);
			buf_free(&wire);
			return NULL;
		}
	buf_free(&wire);
	return units;
}

void sample_rows_free(struct sample_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++) {
		free(rows[i].entry);
		free(rows[i].pseudonyms);
	}
	free(rows);
}

struct sample_row *sample_rows(size_t n, uint64_t seed)
{
	struct writer_unit **units = sample_units(n, seed);
	struct sample_row *rows = units ? calloc(n ? n : 1, sizeof(*rows)) : NULL;
	uint8_t prev[LEDGER_HASH_LEN] = { 0 };

	if (!rows) {
		sample_units_free(units, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct writer_unit *u = units[i];
		struct writer_item *it = &u->items[0];
		struct ledger_source src = { .kind = u->source_kind, .peer = u->peer,
					     .request_id = u->request_id, .topic = u->topic,
					     .partition = u->partition, .offset = u->offset };
		struct buf e = { 0 };

		if (ledger_entry_encode(i + 1, prev, u->received_at_us, &src, it->event,
					it->event_len, &e) < 0) {
			sample_rows_free(rows, i);
			sample_units_free(units, n);
			return NULL;
		}
		rows[i].entry = e.data;
		rows[i].entry_len = e.len;
		ledger_leaf_hash(e.data, e.len, rows[i].leaf_hash);
		memcpy(rows[i].digest, it->digest, sizeof(rows[i].digest));
		memcpy(prev, rows[i].leaf_hash, sizeof(prev));
		rows[i].pseudonyms = it->pseudonyms; /* taken over from the unit */
		rows[i].n_pseudonyms = it->n_pseudonyms;
		it->pseudonyms = NULL;
		it->n_pseudonyms = 0;
	}
	sample_units_free(units, n);
	return rows;
}

double sample_mean_entry(const struct sample_row *rows, size_t n)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (double)rows[i].entry_len;
	return n ? sum / (double)n : 0;
}

void sample_uuid(uint64_t *state, uint8_t out[16])
{
	uint64_t a = bench_rand(state), b = bench_rand(state);

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

int64_t sample_pg_time(int64_t unix_us)
{
	return unix_us - 946684800000000LL;
}
