/* metrics.h - the PDP's counters in Prometheus text format, for the metrics endpoint */
#ifndef PDP_METRICS_H
#define PDP_METRICS_H

#include <stddef.h>

#include "service/stats.h"

/*
 * Writes every metric of the snapshot st (decisions, latency, caches, store,
 * reloads, policy revision, decision-log drops) into buf as Prometheus text
 * format 0.0.4. Returns the length, or 0 when cap is too small.
 */
size_t metrics_format(const struct pdp_stats *st, char *buf, size_t cap);

#endif
