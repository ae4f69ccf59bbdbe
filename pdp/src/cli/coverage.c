/* coverage.c - pdp coverage: the policy set assessed against a Zero Trust checklist */
#include "cli/coverage.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/case_claims.h"
#include "cli/common.h"
#include "context/store_config.h"
#include "evidence/checklist.h"
#include "evidence/coverage.h"
#include "policy/load.h"

enum format { FORMAT_MARKDOWN, FORMAT_JSON, FORMAT_CSV };

/* The config's facts a check reads; cfg NULL: every key at its default. */
static void
config_facts(const struct config *cfg, struct coverage_config *out)
{
	memset(out, 0, sizeof(*out));
	out->store = "none";
	if (cfg == NULL)
		return;
	out->path = cfg->path;
	out->decision_log = cfg->decision_log;
	out->store = store_config_name(&cfg->store);
	out->store_events = store_config_events(&cfg->store);
	out->store_error_deny = cfg->store.on_store_error == DEFAULT_DENY;
	out->default_deny = cfg->default_decision == DEFAULT_DENY;
}

/*
 * Loads dir's test cases as pdp test would (the config's claims mappings)
 * into *cases, which t borrows names from; a directory that does not read is
 * evidence (t->error), not a failure. -1 only when out of memory.
 */
static int
run_tests(const struct config *cfg, const struct policy_set *set, const char *dir, char *tests,
          size_t testsz, char *err, size_t errsz, struct policy_cases **cases,
          struct coverage_tests *t)
{
	struct policy_claims_map map;
	struct case_claims *cc;
	int64_t now = (int64_t)time(NULL);

	*cases = NULL;
	snprintf(tests, testsz, "%s/tests", dir);
	snprintf(err, errsz, "the claims mapping does not compile");
	if ((cc = cli_claims_map(cfg, &map)) != NULL)
		*cases = policy_cases_load(tests, now, &map, err, errsz);
	case_claims_free(cc);
	if (*cases == NULL)
		fprintf(stderr, "pdp coverage: warning: test cases not run: %s\n", err);
	return coverage_tests_run(set, *cases, tests, err, now,
	                          cfg == NULL || cfg->default_decision == DEFAULT_ALLOW, t);
}

int
coverage_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"checklist", required_argument, NULL, 'k'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"fail-below", required_argument, NULL, 'f'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *dir = NULL, *checklist = NULL, *fail_below = NULL;
	char err[1024], tests[4096];
	struct config *cfg = NULL;
	struct policy_set *set = NULL;
	struct checklist *cl = NULL;
	struct coverage *cov = NULL;
	struct coverage_config facts_cfg;
	struct coverage_tests facts_tests = {0};
	struct policy_cases *cases = NULL;
	struct coverage_facts facts;
	enum format format = FORMAT_MARKDOWN;
	int c, below = -1, rc = 2, formats = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			checklist = optarg;
			break;
		case 'j':
			format = FORMAT_JSON;
			formats++;
			break;
		case 'v':
			format = FORMAT_CSV;
			formats++;
			break;
		case 'f':
			fail_below = optarg;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	if ((c = cli_policy_dir("coverage", argc, argv, path, &dir)) != 0)
		return c;
	if (formats > 1)
		return cli_usage_error("coverage", "takes --json or --csv, not both");
	if (fail_below != NULL) {
		for (below = 0; stage_names[below] != NULL; below++)
			if (strcmp(stage_names[below], fail_below) == 0)
				break;
		if (stage_names[below] == NULL)
			return cli_usage_error(
			    "coverage",
			    "--fail-below takes traditional, initial, advanced or "
			    "optimal, not \"%s\"",
			    fail_below);
	}
	if ((cl = checklist_load(checklist, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (cli_load_policies("coverage", path, dir, &cfg, &set) != 0)
		goto out;
	if (dir == NULL)
		dir = cfg->policies;
	config_facts(cfg, &facts_cfg);
	if (run_tests(cfg, set, dir, tests, sizeof(tests), err, sizeof(err), &cases,
	              &facts_tests) != 0) {
		fprintf(stderr, "pdp coverage: out of memory\n");
		goto out;
	}
	facts = (struct coverage_facts){dir, set, &facts_cfg, &facts_tests};
	if ((cov = coverage_assess(cl, &facts)) == NULL) {
		fprintf(stderr, "pdp coverage: out of memory\n");
		goto out;
	}
	if ((format == FORMAT_JSON  ? coverage_json(stdout, cov)
	     : format == FORMAT_CSV ? coverage_csv(stdout, cov)
	                            : coverage_markdown(stdout, cov)) != 0) {
		fprintf(stderr, "pdp coverage: the %s could not be written to stdout\n",
		        format == FORMAT_JSON  ? "JSON document"
		        : format == FORMAT_CSV ? "CSV"
		                               : "Markdown");
		goto out;
	}
	rc = 0;
	if (below >= 0 && cov->stage < below) {
		fprintf(stderr, "pdp coverage: the set's stage, %s, is below %s\n",
		        stage_names[cov->stage], stage_names[below]);
		rc = 1;
	}
out:
	coverage_free(cov);
	coverage_tests_free(&facts_tests);
	policy_cases_free(cases);
	checklist_free(cl);
	policy_set_free(set);
	config_free(cfg);
	return rc;
}
