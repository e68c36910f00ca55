/* Synthetic consent traffic for the benchmarks: a reproducible stream of events as producers send
 * them (packed consentd.v1.Event protobuf, clear identifiers), with the policy and subject key
 * that make every one of them valid. Shared by gen_ledger and, later, the load generators. */
#ifndef CONSENTD_BENCH_WORKLOAD_H
#define CONSENTD_BENCH_WORKLOAD_H

#include <stdint.h>

#include "event/event.h"
#include "util/util.h"

/*
 * The mix (see docs/performance.md): 97% consent changes (accept_all 55%, reject_all 20%,
 * customize 20% with random purposes and 0-4 vendors, withdraw 3%, renew 2%), 3% data-rights
 * requests; one of 4 tenants; a subject drawn uniformly from n_subjects, always with a device_id
 * and in 30% of events also an account_id and an email (so 1 or 3 pseudonyms).
 */
struct workload {
	uint64_t rng;
	uint64_t n_subjects;
};

void workload_init(struct workload *w, uint64_t seed, uint64_t n_subjects);
/* Appends the next event, packed, to out; occurred_at is a few seconds before now_us.
 * 0 or -ENOMEM. */
int workload_next(struct workload *w, int64_t now_us, struct buf *out);

/* The configuration the events are valid under; static, never freed. */
const struct event_policy *workload_policy(void);
const struct subject_keyring *workload_keyring(void);

#endif
