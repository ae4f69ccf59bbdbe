/* swap.h - the live policy set: lock-free reads, atomic replacement on reload */
#ifndef PDP_POLICY_SWAP_H
#define PDP_POLICY_SWAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/epoch.h"
#include "policy/policy.h"

/*
 * The set is read under an epoch (core/epoch.h): a reader costs two atomic
 * stores and no lock, and keeps the set it started with until it ends; a
 * swap publishes the new set and frees the old one once its readers are done.
 */
struct policy_swap {
	_Atomic(struct policy_set *) current;
	uint64_t serial; /* the last set's; each set gets the next */
	struct epoch readers;
};

/* Takes ownership of set. n_readers: one slot per thread that reads. Returns 0 or -1 (memory). */
int policy_swap_init(struct policy_swap *sw, struct policy_set *set, unsigned n_readers);

/* Frees the current set; no reader may be active. */
void policy_swap_fini(struct policy_swap *sw);

/* The set for reader (0..n_readers-1) until policy_swap_read_end. */
const struct policy_set *policy_swap_read_begin(struct policy_swap *sw, unsigned reader);
void policy_swap_read_end(struct policy_swap *sw, unsigned reader);

/*
 * Publishes set (taking ownership), waits for readers of the previous one to
 * finish, and frees it. One writer at a time.
 */
void policy_swap_replace(struct policy_swap *sw, struct policy_set *set);

#endif
