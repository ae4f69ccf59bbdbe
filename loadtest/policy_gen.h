/* policy_gen.h - policy sets that look like an organisation's, for benchmarks and load runs */
#ifndef PDP_POLICY_GEN_H
#define PDP_POLICY_GEN_H

#include <stddef.h>

/* A growing text buffer. */
struct text {
	char *buf;
	size_t len, cap;
};

/* Appends to t; exits with a message when out of memory. */
void text_put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A policy set of n policies as YAML (apps, locations, strengths and
 * policies in one file): apps app-0..app-(n_apps-1) on hosts
 * app-N.example.com, a handful of baseline policies for all apps (block
 * embargoed countries, MFA outside the trusted 10.0.0.0/8, high user risk,
 * a report-only compliant-device trial), and the rest scoped to one app and
 * two of group-0..group-(n_groups-1), with conditions and grants mixed.
 * The same seed gives the same set. The caller frees t.buf.
 */
void policy_gen_set(struct text *t, size_t n, unsigned n_apps, unsigned n_groups, unsigned seed);

#endif
