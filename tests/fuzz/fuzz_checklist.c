/* fuzz_checklist.c - libFuzzer target: any bytes as a coverage checklist, assessed and written */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/checklist.h"
#include "evidence/coverage.h"
#include "policy/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A set with something for every check kind to look at. */
static const char set_yaml[] =
    "apps:\n"
    "  - { id: admin-portal, hosts: [admin.example.com] }\n"
    "  - { id: hr, hosts: [hr.example.com] }\n"
    "locations:\n"
    "  - { id: corp, ranges: [10.0.0.0/8], trusted: true }\n"
    "strengths:\n"
    "  - { id: phr, combinations: [[hwk], [sc]], acr: [urn:example:phr] }\n"
    "policies:\n"
    "  - id: strong\n"
    "    users: { include: all, exclude: { users: [breakglass@example.com] } }\n"
    "    apps: { include: [admin-portal] }\n"
    "    conditions: { user_risk: [high], locations: { include: [any], exclude: [trusted] } }\n"
    "    grant: { require: one, controls: [{ strength: phr }, compliant_device] }\n"
    "    session: { sign_in_frequency: 4h }\n"
    "  - id: block\n"
    "    state: report-only\n"
    "    users: { include: { groups: [g] }, exclude: { groups: [h], users: [ann] } }\n"
    "    apps: { include: all }\n"
    "    grant: block\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_set *set;
	static FILE *null;
	static const struct coverage_config cfg = {"pdp.yaml", "stderr", "file",
	                                           false,      true,     false};
	static size_t hits[3] = {1, 0, 0};
	static const char *first[3] = {"a case", NULL, NULL};
	static const struct coverage_tests tests = {"tests", NULL, 2, 1, hits, first, "failing"};
	char err[1024];
	struct checklist *cl;
	struct coverage_facts f;
	struct coverage *cov;

	if (set == NULL) {
		const char *name = "set.yaml", *buf = set_yaml;

		set = policy_set_load_buffers(&name, &buf, 1, err, sizeof(err));
		null = fopen("/dev/null", "w");
		if (set == NULL || null == NULL)
			abort();
	}
	err[0] = '\0';
	cl = checklist_load_buffer("fuzz.yaml", (const char *)data, size, err, sizeof(err));
	/* Either a checklist or a reason naming the file, never both or neither. */
	if ((cl == NULL) == (err[0] == '\0'))
		abort();
	if (cl == NULL) {
		if (strncmp(err, "fuzz.yaml", 9) != 0)
			abort();
		return 0;
	}
	f = (struct coverage_facts){"policies", set, &cfg, &tests};
	if ((cov = coverage_assess(cl, &f)) == NULL)
		abort();
	/* Every writer writes the whole assessment: a JSON document jansson refuses (a string
	 * cut inside a character, say) is a bug. */
	if (coverage_markdown(null, cov) != 0 || coverage_json(null, cov) != 0 ||
	    coverage_csv(null, cov) != 0)
		abort();
	coverage_free(cov);
	checklist_free(cl);
	return 0;
}
