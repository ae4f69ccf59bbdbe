/* policy_load.h - policy files (YAML) into an immutable, versioned policy set */
#ifndef PDP_POLICY_LOAD_H
#define PDP_POLICY_LOAD_H

#include <stddef.h>

#include "policy.h"

/*
 * Loads every *.yaml and *.yml file directly in dir (in name order; the
 * tests/ subdirectory holds test cases, not policies) into one new set.
 * Ids are unique per kind across files; every reference must resolve. On the
 * first error returns NULL with "file:line:col: reason" in err. The caller
 * frees the set with policy_set_free.
 */
struct policy_set *policy_set_load(const char *dir, char *err, size_t errsz);

/* The same from n named buffers, for tests and tools. */
struct policy_set *policy_set_load_buffers(const char *const *names, const char *const *bufs,
                                           size_t n, char *err, size_t errsz);

void policy_set_free(struct policy_set *set);

#endif
