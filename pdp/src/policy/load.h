/* load.h - policy files (YAML) into an immutable, versioned policy set */
#ifndef PDP_POLICY_LOAD_H
#define PDP_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/*
 * Loads every *.yaml and *.yml file directly in dir (in name order; the
 * tests/ subdirectory holds test cases, not policies) into one new set.
 * Ids are unique per kind across files; every reference must resolve. On the
 * first error returns NULL with "file:line:col: reason" in err. The caller
 * frees the set with policy_set_free.
 */
struct policy_set *policy_set_load(const char *dir, char *err, size_t errsz);

/*
 * The same, for a directory that may be being written: reads every file
 * again gap_ms later until two consecutive reads agree (same names, same
 * contents), at most max_reads times, and loads the last read. When the
 * reads never agree, returns NULL with the reason in err. max_reads < 2
 * reads once.
 */
struct policy_set *policy_set_load_settled(const char *dir, unsigned gap_ms, unsigned max_reads,
                                           char *err, size_t errsz);

/* The same from n named buffers, for tests and tools. */
struct policy_set *policy_set_load_buffers(const char *const *names, const char *const *bufs,
                                           size_t n, char *err, size_t errsz);

/*
 * The policies old enforces (state enabled) that set does not (gone, or no
 * longer enabled): returns how many, with their ids listed in ids (idsz
 * bytes, shortened with "..."), and in *enforced how many old enforces.
 */
size_t policy_set_dropped(const struct policy_set *old, const struct policy_set *set,
                          size_t *enforced, char *ids, size_t idsz);

/* Whether a file of this name in the policy directory is loaded (*.yaml, *.yml, no dot first). */
bool policy_set_reads(const char *name);

void policy_set_free(struct policy_set *set);

#endif
