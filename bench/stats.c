/* Clock, percentiles and result lines for the benchmark tools. */
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int stats_add(struct stats *s, int64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		int64_t *grown = realloc(s->ns, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->ns = grown;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
	s->sum += ns;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t stats_quantile(struct stats *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_i64);
	rank = (size_t)(q * (double)s->n + 0.999999); /* nearest rank, 1-based */
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->ns[rank - 1];
}

void stats_free(struct stats *s)
{
	free(s->ns);
	memset(s, 0, sizeof(*s));
}

void bench_result(const char *key, double value, const char *unit, const char *label)
{
	printf("result\t%s\t%.6g\t%s\t%s\n", key, value, unit, label);
	fflush(stdout);
}

void bench_result_latency(const char *key, struct stats *s, const char *label)
{
	static const struct {
		const char *suffix;
		double q;
	} qs[] = { { "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "max", 1.0 } };
	char k[128], l[256];

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		snprintf(k, sizeof(k), "%s.%s", key, qs[i].suffix);
		snprintf(l, sizeof(l), "%s, %s", label, qs[i].suffix);
		bench_result(k, (double)stats_quantile(s, qs[i].q) / 1e3, "us", l);
	}
	snprintf(k, sizeof(k), "%s.n", key);
	snprintf(l, sizeof(l), "%s, samples", label);
	bench_result(k, (double)s->n, "", l);
}

uint64_t bench_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t bench_rand(uint64_t *state)
{
	return bench_mix64(*state += 0x9e3779b97f4a7c15ULL);
}

uint64_t bench_rand_below(uint64_t *state, uint64_t bound)
{
	/* Lemire's multiply-shift; the bias is below 2^-32 for the bounds used here. */
	return (uint64_t)(((unsigned __int128)bench_rand(state) * bound) >> 64);
}
