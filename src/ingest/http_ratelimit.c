/* Per-token rate limit (http.rate_limit, http.rate_burst): one token bucket per token name.
 * Levels are kept in millionths of a request, so that refilling at `rate` requests per second
 * adds exactly `rate` per elapsed microsecond and no floating point is needed. */
#include "ingest/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT INT64_C(1000000) /* one request, in millionths */

struct bucket {
	char name[AUTH_NAME_MAX + 1];
	int64_t level; /* millionths of a request available */
	int64_t at_us; /* when level was computed */
};

struct http_ratelimit {
	int64_t rate;	  /* requests per second; 0: no limit */
	int64_t capacity; /* burst, in millionths */
	struct bucket *buckets;
	size_t n, cap;
};

struct http_ratelimit *http_ratelimit_new(int64_t rate, int64_t burst)
{
	struct http_ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	rl->rate = rate;
	rl->capacity = (burst ? burst : rate) * UNIT;
	return rl;
}

/* The bucket of name, a new full one if it has none; NULL if out of memory. */
static struct bucket *bucket_of(struct http_ratelimit *rl, const char *name, int64_t now_us)
{
	struct bucket *b;

	for (size_t i = 0; i < rl->n; i++)
		if (strcmp(rl->buckets[i].name, name) == 0)
			return &rl->buckets[i];
	if (rl->n == rl->cap) {
		size_t ncap = rl->cap ? rl->cap * 2 : 16;
		struct bucket *grown = realloc(rl->buckets, ncap * sizeof(*grown));

		if (!grown)
			return NULL;
		rl->buckets = grown;
		rl->cap = ncap;
	}
	b = &rl->buckets[rl->n++];
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->level = rl->capacity;
	b->at_us = now_us;
	return b;
}

int64_t http_ratelimit_take(struct http_ratelimit *rl, const char *name, int64_t now_us)
{
	struct bucket *b;
	int64_t elapsed;

	if (!rl || rl->rate == 0 || !(b = bucket_of(rl, name, now_us)))
		return 0;
	elapsed = now_us - b->at_us;
	/* compared before multiplying: a long idle time would overflow elapsed * rate */
	if (elapsed >= (rl->capacity - b->level) / rl->rate + 1)
		b->level = rl->capacity;
	else if (elapsed > 0)
		b->level += elapsed * rl->rate;
	if (elapsed > 0)
		b->at_us = now_us;
	if (b->level >= UNIT) {
		b->level -= UNIT;
		return 0;
	}
	return (UNIT - b->level + rl->rate - 1) / rl->rate;
}

void http_ratelimit_free(struct http_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->buckets);
	free(rl);
}
