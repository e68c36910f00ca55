/* Measurement helpers shared by the benchmark tools: a monotonic clock, latency samples with
 * percentiles, and the one-line result format bench/run.sh collects into its table. */
#ifndef CONSENTD_BENCH_STATS_H
#define CONSENTD_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Nanoseconds from CLOCK_MONOTONIC. */
int64_t bench_now_ns(void);

/* Latency samples in nanoseconds; grows as needed. */
struct stats {
	int64_t *ns;
	size_t n;
	size_t cap;
	int64_t sum;
};

int stats_add(struct stats *s, int64_t ns);
/* The q-quantile (0 <= q <= 1) by the nearest-rank method; sorts the samples. 0 when empty. */
int64_t stats_quantile(struct stats *s, double q);
void stats_free(struct stats *s);

/*
 * Results go to stdout, one per line, tab-separated, for run.sh:
 *   result <key> <value> <unit> <label>
 * Keys are dotted lower_snake ("proof.inclusion_fetch.p50"); labels are for humans.
 */
void bench_result(const char *key, double value, const char *unit, const char *label);
/* Emits <key>.p50, .p90, .p99 and .max in microseconds, and .n, with label as their prefix. */
void bench_result_latency(const char *key, struct stats *s, const char *label);

/* A small, fast, seedable PRNG (splitmix64): the workload must be reproducible. */
uint64_t bench_rand(uint64_t *state);
/* A bijective 64-bit mix (splitmix64's finaliser): seeds derived from it start unrelated streams,
 * where seed + k would replay the stream shifted by k draws. */
uint64_t bench_mix64(uint64_t x);
/* Uniform in [0, bound), bound > 0. */
uint64_t bench_rand_below(uint64_t *state, uint64_t bound);

#endif
