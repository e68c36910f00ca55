/* bench_chaincost: the CPU the hash chain and the Merkle tree cost per event on the writer's
 * critical path, timed in-process (bench_chain-style: whole passes, no per-call clock reads).
 * Units are prepared as the Kafka source makes them (bench/sample.c, untimed), then, batch by
 * batch of --batch events (the daemon's ledger.batch_max, so the working set is the daemon's),
 * exactly what store_append's resolve step does per new event is timed in three passes:
 *   encode    ledger_entry_encode (seq, prev_hash, received_at, source, event) into one buffer
 *   leaf      ledger_leaf_hash of every entry
 *   frontier  merkle_frontier_append of every leaf, its emitted nodes written as merkle_node COPY
 *             rows as store_append's emit_node does
 * and a fourth pass runs the three per event in store_append's order as a cross-check.
 * Nothing here touches the database: the suite divides these times by the per-event time of
 * the full store_append path (gen_ledger, same run). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "sample.h"
#include "stats.h"
#include "store/store.h"

struct nodes {
	struct buf rows;
	size_t n;
};

/* store_append's emit_node, verbatim in effect. */
static int emit_node(void *arg, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
	struct nodes *nd = arg;

	if (level == 0)
		return 0;
	nd->n++;
	copy_row(&nd->rows, 3);
	copy_int2(&nd->rows, (int16_t)level);
	copy_int8(&nd->rows, (int64_t)index);
	copy_bytes(&nd->rows, hash, MERKLE_HASH_LEN);
	return 0;
}

static void source_of(const struct writer_unit *u, struct ledger_source *src)
{
	*src = (struct ledger_source){ .kind = u->source_kind, .peer = u->peer,
				       .request_id = u->request_id, .topic = u->topic,
				       .partition = u->partition, .offset = u->offset };
}

int main(int argc, char **argv)
{
	size_t entries = 100000, batch = 1000;
	struct writer_unit **units;
	struct merkle_frontier tree, tree2;
	struct nodes nd = { 0 };
	struct buf all = { 0 }, one = { 0 };
	size_t *off;
	uint8_t (*leaf)[LEDGER_HASH_LEN];
	uint8_t prev[LEDGER_HASH_LEN] = { 0 }, prev2[LEDGER_HASH_LEN] = { 0 };
	int64_t t_enc = 0, t_leaf = 0, t_front = 0, t_all = 0;
	uint64_t entry_bytes = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:b:h")) != -1) {
		if (opt == 'n')
			entries = strtoull(optarg, NULL, 10);
		else if (opt == 'b')
			batch = strtoull(optarg, NULL, 10);
		else {
			fprintf(opt == 'h' ? stdout : stderr,
				"usage: bench_chaincost [-n ENTRIES] [-b BATCH]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!entries || !batch)
		return 2;
	if (!(units = sample_units(entries, 5)))
		return 1;
	off = calloc(batch + 1, sizeof(*off));
	leaf = calloc(batch, sizeof(*leaf));
	if (!off || !leaf)
		return 1;
	merkle_frontier_init(&tree);
	merkle_frontier_init(&tree2);
	for (size_t first = 0; first < entries; first += batch) {
		size_t n = entries - first < batch ? entries - first : batch;
		int64_t t0, t1, t2, t3, t4;

		buf_reset(&all);
		buf_reset(&nd.rows);
		copy_begin(&nd.rows);
		/* pass 1: encode, chained */
		t0 = bench_now_ns();
		for (size_t i = 0; i < n; i++) {
			const struct writer_unit *u = units[first + i];
			struct ledger_source src;

			source_of(u, &src);
			off[i] = all.len;
			if (ledger_entry_encode(first + i + 1, prev, u->received_at_us, &src,
						u->items[0].event, u->items[0].event_len, &all) < 0)
				return 1;
			/* the next entry links to this one's leaf hash: computed in pass 2 in the
			 * daemon's order; here the link value does not change the cost */
		}
		off[n] = all.len;
		t1 = bench_now_ns();
		/* pass 2: leaf hashes */
		for (size_t i = 0; i < n; i++)
			ledger_leaf_hash(all.data + off[i], off[i + 1] - off[i], leaf[i]);
		t2 = bench_now_ns();
		/* pass 3: Merkle frontier, node rows */
		for (size_t i = 0; i < n; i++)
			if (merkle_frontier_append(&tree, leaf[i], emit_node, &nd) < 0)
				return 1;
		t3 = bench_now_ns();
		memcpy(prev, leaf[n - 1], LEDGER_HASH_LEN);
		entry_bytes += all.len;
		/* pass 4: the three per event, in store_append's order (cross-check) */
		buf_reset(&nd.rows);
		copy_begin(&nd.rows);
		for (size_t i = 0; i < n; i++) {
			const struct writer_unit *u = units[first + i];
			struct ledger_source src;
			uint8_t h[LEDGER_HASH_LEN];

			source_of(u, &src);
			buf_reset(&one);
			if (ledger_entry_encode(first + i + 1, prev2, u->received_at_us, &src,
						u->items[0].event, u->items[0].event_len, &one) < 0)
				return 1;
			ledger_leaf_hash(one.data, one.len, h);
			if (merkle_frontier_append(&tree2, h, emit_node, &nd) < 0)
				return 1;
			memcpy(prev2, h, LEDGER_HASH_LEN);
		}
		t4 = bench_now_ns();
		t_enc += t1 - t0;
		t_leaf += t2 - t1;
		t_front += t3 - t2;
		t_all += t4 - t3;
	}
	bench_result("chaincost.entries", (double)entries, "entries", "events timed");
	bench_result("chaincost.batch", (double)batch, "entries", "events per pass");
	bench_result("chaincost.entry_bytes", (double)entry_bytes / (double)entries, "bytes",
		     "mean entry bytes");
	bench_result("chaincost.encode_ns", (double)t_enc / (double)entries, "ns/event",
		     "ledger_entry_encode per event");
	bench_result("chaincost.leaf_ns", (double)t_leaf / (double)entries, "ns/event",
		     "ledger_leaf_hash per event");
	bench_result("chaincost.frontier_ns", (double)t_front / (double)entries, "ns/event",
		     "merkle_frontier_append (+ node rows) per event");
	bench_result("chaincost.together_ns", (double)t_all / (double)entries, "ns/event",
		     "the three per event, in store_append's order");
	sample_units_free(units, entries);
	buf_free(&all);
	buf_free(&one);
	buf_free(&nd.rows);
	free(off);
	free(leaf);
	return 0;
}
