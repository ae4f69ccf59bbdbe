/* policy_tools.c - the policy author's commands: pdp check, pdp test, pdp explain */
#include "cli/policy_tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/case_claims.h"
#include "cli/common.h"
#include "context/store.h"
#include "identity/key_fetch.h"
#include "identity/token.h"
#include "policy/cases.h"
#include "policy/explain.h"
#include "policy/load.h"
#include "service/config.h"

/* Loads and reports one policy directory; returns 0 when it is valid. */
static int
check_policies(const char *dir)
{
	char err[1024];
	struct policy_set *set = policy_set_load(dir, err, sizeof(err));

	if (set == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (size_t i = 0; i < set->n_warnings; i++)
		fprintf(stderr, "%s\n", set->warnings[i]);
	printf("%s: ok (%zu file%s, %zu app%s, %zu polic%s, revision %s)\n", dir, set->n_files,
	       set->n_files == 1 ? "" : "s", set->n_apps, set->n_apps == 1 ? "" : "s",
	       set->n_policies, set->n_policies == 1 ? "y" : "ies", set->revision);
	policy_set_free(set);
	return 0;
}

int
check_main(int argc, char **argv)
{
	const char *dir = NULL, *path;
	char err[1024];
	struct config *cfg = NULL;
	struct token_verifier *v;
	int n, rc = 0;

	path = cli_parse_args(argc, argv, &dir, 1, &n);
	if (path == NULL && dir == NULL)
		return cli_usage_error("check", "%s", cli_needs_policies);
	if (path != NULL) {
		cfg = config_load(path, err, sizeof(err));
		if (cfg == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		v = config_token_verifier(cfg, 0, err, sizeof(err));
		if (v == NULL) {
			fprintf(stderr, "%s: %s\n", path, err);
			config_free(cfg);
			return 1;
		}
		token_verifier_free(v);
		if (store_check(&cfg->store, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			config_free(cfg);
			return 1;
		}
		printf("%s: ok (%zu issuer%s)\n", path, cfg->n_issuers,
		       cfg->n_issuers == 1 ? "" : "s");
		if (dir == NULL)
			dir = cfg->policies;
	}
	rc = check_policies(dir);
	config_free(cfg);
	return rc;
}

/* The daemon's answer to a subject whose issuer denies group overage (service/decide.c). */
static const char overage_reason[] = "identity: group overage, the token lists no groups";

static void
overage_text(FILE *f, const char *indent)
{
	fprintf(f, "%sdecision: deny (403): %s (issuer's on_groups_overage: deny)\n", indent,
	        overage_reason);
}

int
test_main(int argc, char **argv)
{
	const char *dir = NULL, *path;
	struct config *cfg;
	struct policy_set *set;
	struct policy_cases *cases;
	struct policy_claims_map map;
	struct case_claims *cc;
	char tests[4096], err[1024];
	int64_t now = (int64_t)time(NULL);
	size_t passed = 0, failed = 0;
	bool verbose = false;
	int n;

	/* -v: the explain trace of every case, not only of failures. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(char *));
			argc--;
			break;
		}
	}
	path = cli_parse_args(argc, argv, &dir, 1, &n);
	if (cli_load_policies("test", path, dir, &cfg, &set) != 0)
		return 2;
	snprintf(tests, sizeof(tests), "%s/tests", dir != NULL ? dir : cfg->policies);
	cc = cli_claims_map(cfg, &map);
	cases = cc != NULL ? policy_cases_load(tests, now, &map, err, sizeof(err)) : NULL;
	if (cases == NULL) {
		if (cc != NULL)
			fprintf(stderr, "%s\n", err);
		case_claims_free(cc);
		policy_set_free(set);
		config_free(cfg);
		return 2;
	}
	for (size_t i = 0; i < cases->n; i++) {
		const struct policy_case *c = &cases->cases[i];
		uint32_t buf[2048];
		struct subject_ids ids;
		struct eval_input in;
		struct eval_result res;
		bool ok;

		policy_case_run(set, c, now, cfg == NULL || cfg->default_decision == DEFAULT_ALLOW,
		                buf, 2048, &ids, &in, &res);
		ok = policy_case_passes(set, c, &res);
		if (ok) {
			passed++;
			printf("ok   - %s\n", c->name);
		} else {
			failed++;
			printf("FAIL - %s (%s)\n       expected %s", c->name, c->where,
			       decision_name(c->expect));
			if (c->has_expect_policies) {
				printf(" with policies [");
				for (size_t j = 0; j < c->n_expect_policies; j++)
					printf("%s%s", j ? ", " : "", c->expect_policies[j]);
				printf("]");
			}
			printf(", got %s with policies [", decision_name(res.decision));
			for (size_t j = 0; j < res.n_applied; j++)
				printf("%s%s", j ? ", " : "",
				       set->policies[res.applied[j].policy].id);
			printf("]\n");
		}
		if (ok && !verbose)
			continue;
		if (c->subject.groups_overage)
			overage_text(stdout, "       ");
		else
			explain_text(stdout, set, &in, &res, "       ");
	}
	if (cases->n == 0)
		fprintf(stderr, "%s: no test cases\n", tests);
	printf("%zu passed, %zu failed\n", passed, failed);
	policy_cases_free(cases);
	case_claims_free(cc);
	policy_set_free(set);
	config_free(cfg);
	return failed == 0 && passed > 0 ? 0 : 1;
}

int
explain_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"claims", required_argument, NULL, 'C'},
	    {"token", required_argument, NULL, 'T'},
	    {"url", required_argument, NULL, 'u'},
	    {"method", required_argument, NULL, 'm'},
	    {"ip", required_argument, NULL, 'i'},
	    {"country", required_argument, NULL, 'n'},
	    {"client", required_argument, NULL, 'k'},
	    {"user-agent", required_argument, NULL, 'a'},
	    {"device", required_argument, NULL, 'd'},
	    {"user", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {"config", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *dir = NULL, *claims = NULL, *token = NULL, *url = NULL;
	const char *method = "GET", *ip = NULL, *country = NULL, *client = NULL, *ua = NULL;
	const char *device = NULL, *user = NULL;
	char host[256] = "", uri[4096] = "/", err[1024];
	struct config *cfg = NULL;
	struct policy_set *set = NULL;
	struct policy_cases *cases = NULL;
	struct policy_claims_map map = {0};
	struct case_claims *cc = NULL;
	struct subject *verified = NULL;
	const struct subject *s;
	int64_t now = (int64_t)time(NULL);
	bool json = false;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			claims = optarg;
			break;
		case 'T':
			token = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'i':
			ip = optarg;
			break;
		case 'n':
			country = optarg;
			break;
		case 'k':
			client = optarg;
			break;
		case 'a':
			ua = optarg;
			break;
		case 'd':
			device = optarg;
			break;
		case 'r':
			user = optarg;
			break;
		case 'j':
			json = true;
			break;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	if ((c = cli_policy_dir("explain", argc, argv, path, &dir)) != 0)
		return c;
	if (claims == NULL && token == NULL)
		return cli_usage_error("explain",
		                       "needs the caller: --claims MAP or --token TOKEN");
	if (claims != NULL && token != NULL)
		return cli_usage_error("explain", "takes --claims MAP or --token TOKEN, not both");
	if (url == NULL)
		return cli_usage_error("explain", "needs the request: --url URL");
	if (token != NULL && path == NULL) {
		fprintf(stderr, "pdp explain: --token needs -c CONFIG for the issuers' keys\n");
		return 2;
	}
	/* URL: [scheme://]host[:port][/path] */
	{
		const char *h = strstr(url, "://") ? strstr(url, "://") + 3 : url;
		size_t hl = strcspn(h, "/?#");

		snprintf(host, sizeof(host), "%.*s", (int)hl, h);
		host[strcspn(host, ":")] = '\0';
		if (h[hl] != '\0')
			snprintf(uri, sizeof(uri), "%s%s", h[hl] == '/' ? "" : "/", h + hl);
	}
	if (cli_load_policies("explain", path, dir, &cfg, &set) != 0)
		return 2;
	if (token != NULL) {
		struct token_verifier *v = config_token_verifier(cfg, 0, err, sizeof(err));
		char why[256] = "";
		enum token_err e;

		if (v == NULL) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		/* Keys an issuer publishes are fetched once; a failure shows in the verdict. */
		if (key_fetch_once(token_verifier_keyring(v), err, sizeof(err)) != 0)
			fprintf(stderr, "warning: %s\n", err);
		e = token_verify(v, 0, token, strlen(token), (time_t)now, &verified, why,
		                 sizeof(why));
		token_verifier_free(v);
		if (e != TOKEN_OK) {
			fprintf(stderr, "token rejected: %s (%s)\n", token_strerror(e), why);
			goto out;
		}
	}
	if (claims != NULL && (cc = cli_claims_map(cfg, &map)) == NULL)
		goto out;
	{
		struct policy_explain x = {
		    .method = method,
		    .host = host,
		    .uri = uri,
		    .ip = ip,
		    .country = country,
		    .client = client,
		    .user_agent = ua,
		    .claims = claims,
		    .map = &map,
		    .subject = verified,
		    .device = device,
		    .user = user,
		};

		cases = policy_case_explain(&x, now, err, sizeof(err));
	}
	if (cases == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	s = &cases->cases[0].subject;
	if (s->absent != 0 && !json) {
		char names[128];

		printf("absent mapped claims: %s\n",
		       subject_absent_names(s->absent, names, sizeof(names)));
	}
	/* As the daemon answers it (service/decide.c), before any policy. */
	if (s->groups_overage) {
		if (json)
			printf("{\"decision\":\"deny\",\"status\":403,\"reason\":\"%s\"}\n",
			       overage_reason);
		else
			overage_text(stdout, "");
		rc = 0;
		goto out;
	}
	{
		struct policy_case *pc = &cases->cases[0];
		uint32_t buf[2048];
		struct subject_ids ids;
		struct eval_input in;
		struct eval_result res;

		policy_case_input(set, pc, now,
		                  cfg == NULL || cfg->default_decision == DEFAULT_ALLOW, buf, 2048,
		                  &ids, &in);
		policy_eval(set, &in, &res);
		if (json)
			explain_json(stdout, set, &in, &res);
		else
			explain_text(stdout, set, &in, &res, "");
	}
	rc = 0;
out:
	free(verified);
	policy_cases_free(cases);
	case_claims_free(cc);
	policy_set_free(set);
	config_free(cfg);
	return rc;
}
