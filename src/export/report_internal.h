/* Shared by the report renderers (report.c, report_consent.c), not part of the contract. */
#ifndef CONSENTD_REPORT_INTERNAL_H
#define CONSENTD_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/report.h"
#include "util/util.h"

/* The index of value in names[n], or -1. */
int report_pick(const char *value, const char *const *names, int n);
/* num / den with four decimals, or null (JSON) / "" (CSV) when den is 0. */
int report_rate(struct buf *out, int64_t num, int64_t den, bool json);
/* {"report":"<report>","as_of":…,"from":…,"to":…, — the start of both JSON documents. */
int report_json_head(struct buf *out, const char *report, const struct report_query *q,
		     int64_t today);
/* Turns the JSON document's head, appended to out from start, into NDJSON's first line. */
int report_ndjson_head(struct buf *out, size_t start);

#endif
