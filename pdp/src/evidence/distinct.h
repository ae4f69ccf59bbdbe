/* distinct.h - distinct counts in fixed memory (HyperLogLog) */
#ifndef PDP_EVIDENCE_DISTINCT_H
#define PDP_EVIDENCE_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

struct distinct;

/* Distinct keys counted exactly. */
#define DISTINCT_EXACT 64

/*
 * A HyperLogLog sketch (Flajolet et al. 2007) of 2^precision one-byte
 * registers (precision 4..16): a standard error of 1.04 / sqrt(2^precision),
 * 1.6% at 12, 0.8% at 14. Up to DISTINCT_EXACT distinct keys the count is
 * exact (their 64-bit hashes are kept); past that, linear counting while few
 * registers are set, then the sketch's estimate. NULL when out of memory.
 */
struct distinct *distinct_new(unsigned precision);

/* Adds key (len bytes); adding a key again changes nothing. */
void distinct_add(struct distinct *d, const void *key, size_t len);

/* The same for a key already hashed with evidence_hash. */
void distinct_add_hash(struct distinct *d, uint64_t hash);

/* The estimated number of distinct keys added. */
uint64_t distinct_count(const struct distinct *d);

void distinct_free(struct distinct *d);

#endif
