/* hash.h - a fast 64-bit hash of byte strings, for the sketches' keys */
#ifndef PDP_EVIDENCE_HASH_H
#define PDP_EVIDENCE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * MurmurHash64A's mixing, eight bytes at a time: well spread in every bit,
 * which HyperLogLog needs (it reads the leading zeros of the high bits and
 * indexes with the low ones). Not for hostile collision resistance: the
 * sketches bound their memory whatever the keys.
 */
static inline uint64_t
evidence_hash(const void *key, size_t len)
{
	const uint64_t m = 0xc6a4a7935bd1e995ULL;
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * m);

	for (; len >= 8; len -= 8, p += 8) {
		uint64_t k;

		memcpy(&k, p, 8);
		k *= m;
		k ^= k >> 47;
		k *= m;
		h ^= k;
		h *= m;
	}
	if (len > 0) {
		uint64_t k = 0;

		memcpy(&k, p, len);
		h ^= k;
		h *= m;
	}
	h ^= h >> 47;
	h *= m;
	h ^= h >> 47;
	return h;
}

#endif
