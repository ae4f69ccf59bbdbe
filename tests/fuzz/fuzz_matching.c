/* fuzz_matching.c - libFuzzer target: request methods and paths from any bytes, matched to apps */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "policy/eval.h"
#include "policy/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Apps of every matching form: method lists and except lists on host h, a case-insensitive
 * upstream on host i (a host's apps agree on case). */
static const char policies[] =
    "apps:\n"
    "  - { id: w, hosts: [h], paths: [/payroll/], methods: { except: [GET, HEAD, OPTIONS] } }\n"
    "  - { id: r, hosts: [h], paths: [/payroll/], methods: [GET, HEAD, OPTIONS] }\n"
    "  - { id: dav, hosts: [h], paths: [/dav/], methods: [PROPFIND, X-Y, \"M!#$%&'*+.^_`|~\"] }\n"
    "  - { id: root, hosts: [h] }\n"
    "  - { id: win, hosts: [i], paths: [/Win/A/, /w], case_insensitive: true }\n"
    "  - { id: win-root, hosts: [i], case_insensitive: true }\n"
    "policies:\n"
    "  - { id: p, users: { include: all }, apps: { include: [w, dav, win] }, grant: block }\n";

static struct policy_set *set;

/* Every byte of a token is a tchar: checked here without the parser's table. */
static bool
token_by_hand(const char *m)
{
	if (*m == '\0')
		return false;
	for (; *m != '\0'; m++) {
		unsigned char c = (unsigned char)*m;

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
			return false;
	}
	return true;
}

/*
 * A normalised path: absolute, no empty, "." or ".." segment, no ';', no '\\' (refused raw
 * or escaped) and no '#' unless it was escaped; in Windows form folded, no stream ':' and no
 * short name "~1".
 */
static void
check_path(const char *uri, const char *out, long n, unsigned flags)
{
	size_t plen;

	/* An absolute-form target's authority is not path. */
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		const char *slash = strchr(uri + 8 - (uri[4] == ':'), '/');

		uri = slash != NULL ? slash : "/";
	}
	plen = strcspn(uri, "?");

	if (n < 1 || out[0] != '/' || (size_t)n != strlen(out) || strpbrk(out, ";\\") != NULL)
		abort();
	if (memchr(uri, '#', plen) != NULL || memchr(uri, '\\', plen) != NULL)
		abort(); /* the raw path held one: it must have been refused */
	for (const char *s = out; s != NULL && *s != '\0'; s = strchr(s + 1, '/')) {
		const char *e = strchr(s + 1, '/');
		size_t len = e != NULL ? (size_t)(e - s - 1) : strlen(s + 1);

		if ((len == 0 && e != NULL) || (len == 1 && s[1] == '.') ||
		    (len == 2 && s[1] == '.' && s[2] == '.'))
			abort();
	}
	for (long i = 0; (flags & EVAL_PATH_WINDOWS) && i < n; i++) {
		if ((out[i] >= 'A' && out[i] <= 'Z') || out[i] == ':' ||
		    (out[i] == '~' && out[i + 1] >= '0' && out[i + 1] <= '9') ||
		    ((out[i] == '.' || out[i] == ' ') &&
		     (out[i + 1] == '/' || out[i + 1] == '\0') && out[i - 1] != '/'))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first NUL splits the input into the method and the request URI. */
	const uint8_t *nul = memchr(data, 0, size);
	size_t ml = nul ? (size_t)(nul - data) : 0;
	char *method = malloc(ml + 1), *uri = malloc(size - ml + 1), out[4096];
	struct subject s = {.user = "u"};
	uint32_t buf[4];
	struct subject_ids ids;
	struct eval_result res;
	bool must_deny[2] = {false, false}; /* on host h, on host i */

	if (set == NULL) {
		const char *names[] = {"/fuzz/apps.yaml"}, *bufs[] = {policies};
		char err[512];

		log_set_level(LOG_LVL_ERROR);
		set = policy_set_load_buffers(names, bufs, 1, err, sizeof(err));
		if (set == NULL)
			abort();
	}
	memcpy(method, data, ml);
	method[ml] = '\0';
	memcpy(uri, nul ? nul + 1 : data, nul ? size - ml - 1 : size);
	uri[nul ? size - ml - 1 : size] = '\0';
	if (policy_method_token(method) != token_by_hand(method))
		abort();
	for (unsigned flags = 0; flags <= EVAL_PATH_WINDOWS; flags++) {
		long n = eval_normalize_path(uri, flags, out, sizeof(out));

		if (n >= 0)
			check_path(uri, out, n, flags);
		/* Every form of a protected path maps to its app, whose policy blocks. */
		if (n >= 0 && flags == 0 && strcmp(method, "GET") != 0 &&
		    strcmp(method, "HEAD") != 0 && strcmp(method, "OPTIONS") != 0 &&
		    (strncmp(out, "/payroll/", 9) == 0 || strcmp(out, "/payroll") == 0))
			must_deny[0] = true;
		if (n >= 0 && flags == EVAL_PATH_WINDOWS &&
		    (strncmp(out, "/win/a/", 7) == 0 || strcmp(out, "/win/a") == 0 ||
		     strncmp(out, "/w", 2) == 0))
			must_deny[1] = true;
	}
	eval_subject_ids(set, &s, buf, 4, &ids);
	for (int h = 0; h < 2; h++) {
		struct eval_input in = {.subject = &s,
		                        .ids = &ids,
		                        .method = method,
		                        .host = h == 0 ? "H" : "I",
		                        .uri = uri,
		                        .now = 1800000000,
		                        .default_allow = true};

		policy_eval(set, &in, &res);
		/* An allow never comes from a blocked app. */
		if (res.decision != DECISION_ALLOW && res.decision != DECISION_DENY)
			abort();
		if (must_deny[h] && res.decision != DECISION_DENY)
			abort();
		if (res.decision == DECISION_ALLOW &&
		    (res.app == POLICY_NO_ID || strcmp(set->apps[res.app].id, "w") == 0 ||
		     strcmp(set->apps[res.app].id, "win") == 0))
			abort();
		/* A host's routes are all of its apps' case form. */
		if (res.app != POLICY_NO_ID && set->apps[res.app].case_insensitive != (h == 1))
			abort();
	}
	free(method);
	free(uri);
	return 0;
}
