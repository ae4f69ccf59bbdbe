/* policy_gen.c - policy sets that look like an organisation's, for benchmarks and load runs */
#include "policy_gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
text_put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = t->buf != NULL ? vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap) : 0;
		va_end(ap);
		if (t->buf != NULL && n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)n + 4096;
		t->buf = realloc(t->buf, t->cap);
		if (t->buf == NULL) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	t->len += (size_t)n;
}

void
policy_gen_set(struct text *t, size_t n, unsigned n_apps, unsigned n_groups, unsigned seed)
{
	static const char *const grants[] = {
	    "{ controls: [mfa] }",
	    "{ controls: [compliant_device] }",
	    "{ require: one, controls: [mfa, compliant_device] }",
	    "{ controls: [{ strength: phr }] }",
	    "block",
	};

	srand(seed);
	text_put(t, "apps:\n");
	for (unsigned a = 0; a < n_apps; a++)
		text_put(t, "  - { id: app-%u, hosts: [app-%u.example.com], paths: [/] }\n", a, a);
	text_put(t,
	         "locations:\n"
	         "  - { id: corp, ranges: [10.0.0.0/8, \"2001:db8::/32\"], trusted: true }\n"
	         "  - { id: embargoed, countries: [KP, IR, SY, CU] }\n"
	         "strengths:\n"
	         "  - { id: phr, combinations: [[hwk], [sc]], acr: [urn:example:phr] }\n"
	         "policies:\n"
	         "  - id: block-embargoed\n    users: { include: all, exclude: { users: [bg] } }\n"
	         "    apps: { include: all }\n"
	         "    conditions: { locations: { include: [embargoed] } }\n    grant: block\n"
	         "  - id: mfa-outside\n    users: { include: all, exclude: { users: [bg] } }\n"
	         "    apps: { include: all }\n"
	         "    conditions: { locations: { include: [any], exclude: [trusted] } }\n"
	         "    grant: { controls: [mfa] }\n"
	         "  - id: high-risk\n    users: { include: all }\n    apps: { include: all }\n"
	         "    conditions: { user_risk: [high] }\n"
	         "    grant: { require: all, controls: [mfa, password_change] }\n"
	         "  - id: trial\n    state: report-only\n    users: { include: all }\n"
	         "    apps: { include: all }\n    grant: { controls: [compliant_device] }\n");
	for (size_t i = 4; i < n; i++) {
		unsigned app = (unsigned)rand() % n_apps, g1 = (unsigned)rand() % n_groups,
		         g2 = (unsigned)rand() % n_groups;

		text_put(t,
		         "  - id: p-%zu\n    users: { include: { groups: [group-%u, group-%u] } }\n"
		         "    apps: { include: [app-%u] }\n",
		         i, g1, g2, app);
		if (i % 3 == 0)
			text_put(
			    t,
			    "    conditions: { device_platforms: { include: [ios, android] } }\n");
		else if (i % 3 == 1)
			text_put(t, "    conditions: { sign_in_risk: [medium, high] }\n");
		text_put(t, "    grant: %s\n", grants[i % 5]);
		if (i % 7 == 0)
			text_put(t, "    session: { sign_in_frequency: 4h }\n");
	}
}
