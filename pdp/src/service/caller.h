/* caller.h - a verified caller as the token cache keeps it, with its view of the policy set */
#ifndef PDP_CALLER_H
#define PDP_CALLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context/store.h"
#include "core/types.h"
#include "policy/eval.h"

/*
 * A verified caller as the token cache keeps it: the subject, and its names
 * as ids of the policy set last used, so a warm request matches policies
 * without looking names up. The view is rewritten after a reload by the
 * first request that sees the new set; readers copy it under a sequence
 * lock (even: stable, odd: being written) and look names up themselves when
 * it is being written or was made for another set.
 */
struct caller {
	struct subject *subject;
	struct store_memo memo; /* its records, for its next request */
	atomic_uint_fast64_t seq;
	_Atomic uint64_t serial; /* the set the view was made for; 0: none */
	_Atomic uint64_t users_filter, amr;
	_Atomic uint32_t user, client, n_groups, n_roles;
	size_t cap;
	_Atomic uint32_t ids[]; /* groups, then roles */
};

/*
 * A caller for the verified subject s, with room for a view of its groups
 * and roles and no view yet. Takes s on success (caller_free frees it);
 * returns NULL when out of memory, s then still the caller's.
 */
struct caller *caller_new(struct subject *s);

/* Frees c, its subject and its memo; void * so that it is the token cache's free function. */
void caller_free(void *c);

/*
 * Copies the view into ids (its lists in buf, room for bufn ids) if it was
 * made for the set with serial and was not being rewritten; false otherwise
 * (the caller then looks the names up itself).
 */
bool caller_view_read(struct caller *c, uint64_t serial, uint32_t *buf, size_t bufn,
                      struct subject_ids *ids);

/* Publishes ids as the view for the set with serial, unless another thread is at it. */
void caller_view_write(struct caller *c, uint64_t serial, const struct subject_ids *ids);

#endif
