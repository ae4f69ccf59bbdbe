/* distinct.c - distinct counts in fixed memory (HyperLogLog) */
#include "evidence/distinct.h"

#include <math.h>
#include <stdlib.h>

#include "evidence/hash.h"

/*
 * The registers, and the first DISTINCT_EXACT distinct hashes: while no more
 * were added the count is theirs, exact (two keys of one 64-bit hash aside),
 * where the registers alone would merge keys that share one.
 */
struct distinct {
	unsigned p;
	size_t m;
	size_t n_exact; /* hashes in exact[]; DISTINCT_EXACT + 1 once there were more */
	uint64_t exact[DISTINCT_EXACT];
	uint8_t reg[];
};

struct distinct *
distinct_new(unsigned precision)
{
	struct distinct *d;

	if (precision < 4 || precision > 16)
		return NULL;
	d = calloc(1, sizeof(*d) + ((size_t)1 << precision));
	if (d == NULL)
		return NULL;
	d->p = precision;
	d->m = (size_t)1 << precision;
	return d;
}

void
distinct_add_hash(struct distinct *d, uint64_t h)
{
	size_t i = h & (d->m - 1);
	uint64_t rest = h >> d->p;
	/* The rank: 1 + the zeros before the first one bit of the other 64 - p bits. */
	uint8_t rank = rest == 0 ? (uint8_t)(64 - d->p + 1) : (uint8_t)(__builtin_ctzll(rest) + 1);

	if (rank > d->reg[i])
		d->reg[i] = rank;
	if (d->n_exact > DISTINCT_EXACT)
		return;
	for (size_t k = 0; k < d->n_exact; k++)
		if (d->exact[k] == h)
			return;
	if (d->n_exact < DISTINCT_EXACT)
		d->exact[d->n_exact] = h;
	d->n_exact++;
}

void
distinct_add(struct distinct *d, const void *key, size_t len)
{
	distinct_add_hash(d, evidence_hash(key, len));
}

uint64_t
distinct_count(const struct distinct *d)
{
	double m = (double)d->m, sum = 0, alpha, e;
	size_t zeros = 0;

	if (d->n_exact <= DISTINCT_EXACT)
		return d->n_exact;
	for (size_t i = 0; i < d->m; i++) {
		sum += ldexp(1.0, -(int)d->reg[i]);
		zeros += d->reg[i] == 0;
	}
	alpha = d->m == 16   ? 0.673
	        : d->m == 32 ? 0.697
	        : d->m == 64 ? 0.709
	                     : 0.7213 / (1 + 1.079 / m);
	e = alpha * m * m / sum;
	/* Small range: linear counting is the better estimate while registers are empty. */
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / (double)zeros);
	return (uint64_t)(e + 0.5);
}

void
distinct_free(struct distinct *d)
{
	free(d);
}
