/* test_decide.c - the decision point: token to answer, through the cache */
#include <poll.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "context/store_backend.h"
#include "keytool.h"
#include "service/decide.h"
#include "service/metrics.h"
#include "testlib.h"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";

static struct config *
make_config(const char *default_decision)
{
	char cfg[512], err[512];
	struct config *c;

	test_write_file("s", (const char *)secret);
	mkdir(test_path("decide-policies"), 0700);
	snprintf(cfg, sizeof(cfg),
	         "policies: decide-policies\ndefault_decision: %s\nrealm: test\n"
	         "issuers:\n  - issuer: iss\n    audiences: [aud]\n    hmac_secret_file: s\n",
	         default_decision);
	c = config_load(test_write_file("d.yaml", cfg), err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	return c;
}

/* Each test gets a PDP built from a config whose default_decision is its state's. */
struct fixture {
	struct config *cfg;
	struct pdp *pdp;
	time_t now;
};

static int
fixture_up(void **state, const char *default_decision)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	f->cfg = make_config(default_decision);
	f->now = time(NULL);
	if ((f->pdp = pdp_new(f->cfg, 2, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	*state = f;
	return 0;
}

static int
setup_allow(void **state)
{
	return fixture_up(state, "allow");
}

static int
setup_deny(void **state)
{
	return fixture_up(state, "deny");
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	pdp_free(f->pdp);
	config_free(f->cfg);
	free(f);
	return 0;
}

static char *
token(time_t now, const char *sub, long ttl)
{
	char body[256];

	snprintf(body, sizeof(body),
	         "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"%s\",\"groups\":[\"g1\"],"
	         "\"exp\":%lld}",
	         sub, (long long)now + ttl);
	return keytool_mint("HS256", secret, sizeof(secret) - 1, NULL, body);
}

static struct request
bearer(const char *tok)
{
	struct request r = {.request_id = "r1",
	                    .remote_addr = "127.0.0.1",
	                    .method = "GET",
	                    .host = "app.example.com",
	                    .uri = "/"};

	if (tok != NULL) {
		r.token_source = TOKEN_SOURCE_BEARER;
		r.token = tok;
		r.token_len = strlen(tok);
	}
	return r;
}

/* A snapshot of what p counts, every reader's counters added up. */
static struct pdp_stats *
stats(struct pdp *p)
{
	static struct pdp_stats st;

	pdp_stats_get(p, 0, true, &st);
	return &st;
}

static char *
text(const struct response *rs)
{
	static char buf[RESPONSE_MAX_BYTES + RESPONSE_MAX_BODY_BYTES + 1];

	memcpy(buf, rs->buf, rs->len);
	if (rs->body_len > 0)
		memcpy(buf + rs->len, rs->body, rs->body_len);
	buf[rs->len + rs->body_len] = '\0';
	return buf;
}

/* A PDP that cannot start says why and frees what it made. */
static void
init_failure_frees_what_it_made(void **state)
{
	struct config *cfg = make_config("deny");
	char err[256] = "";

	(void)state;
	unlink(test_path("s")); /* the issuer's secret */
	assert_null(pdp_new(cfg, 2, err, sizeof(err)));
	assert_true(err[0] != '\0');
	config_free(cfg);
}

/* Rewrites a file (through a rename) each time a reader has read it: no two reads agree. */
struct rewriter {
	const char *dir, *name, *text;
	int fd; /* inotify on dir */
	atomic_bool stop;
	pthread_t thread;
};

static void *
rewriter_run(void *arg)
{
	struct rewriter *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[512], tmp[512], text[256];
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/%s", w->dir, w->name);
	snprintf(tmp, sizeof(tmp), "%s/.rewriter.tmp", w->dir);
	while (!atomic_load(&w->stop)) {
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
		bool was_read = false;
		ssize_t len;
		FILE *f;

		if (poll(&pfd, 1, 10) <= 0 || (len = read(w->fd, buf, sizeof(buf))) <= 0)
			continue;
		for (char *q = buf; q < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)q;

			was_read |= ev->len > 0 && strcmp(ev->name, w->name) == 0;
			q += sizeof(*ev) + ev->len;
		}
		if (!was_read || (f = fopen(tmp, "w")) == NULL)
			continue;
		snprintf(text, sizeof(text), "%s# rewrite %u\n", w->text, ++n);
		fputs(text, f);
		fclose(f);
		rename(tmp, path);
	}
	return NULL;
}

static void
rewriter_start(struct rewriter *w)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", w->dir, w->name);
	assert_non_null(f = fopen(path, "w"));
	fputs(w->text, f);
	fclose(f);
	w->fd = inotify_init1(IN_CLOEXEC);
	assert_true(w->fd >= 0);
	assert_true(inotify_add_watch(w->fd, w->dir, IN_CLOSE_NOWRITE) >= 0);
	atomic_store(&w->stop, false);
	assert_int_equal(pthread_create(&w->thread, NULL, rewriter_run, w), 0);
}

static void
rewriter_stop(struct rewriter *w)
{
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	close(w->fd);
}

/*
 * Start-up reads as a reload does, until two reads agree: a policy file or
 * context.yaml still being written is not served as the first set.
 */
static void
init_waits_for_settled_files(void **state)
{
	char cfgtext[512], err[512], dir[256], ctx[256];
	struct config *cfg;
	struct rewriter w = {.name = "50-moving.yaml", .text = "policies: []\n"};
	struct pdp *p;

	(void)state;
	test_write_file("s", (const char *)secret);
	snprintf(dir, sizeof(dir), "%s", test_path("startup-policies"));
	snprintf(ctx, sizeof(ctx), "%s", test_path("startup-context"));
	mkdir(dir, 0700);
	mkdir(ctx, 0700);
	test_write_file("startup-context/context.yaml", "revoked_jtis: [j-1]\n");
	snprintf(cfgtext, sizeof(cfgtext),
	         "policies: startup-policies\ndefault_decision: deny\nrealm: test\n"
	         "reload: { settle: 1s }\n"
	         "store: { type: file, path: startup-context/context.yaml }\n"
	         "issuers:\n  - issuer: iss\n    audiences: [aud]\n    hmac_secret_file: s\n");
	cfg = config_load(test_write_file("startup.yaml", cfgtext), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	/* At rest: starts. */
	test_write_file("startup-policies/10-empty.yaml", "policies: []\n");
	if ((p = pdp_new(cfg, 2, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	pdp_free(p);
	/* A policy file that changes between every two reads: start-up fails, and says why. */
	w.dir = dir;
	rewriter_start(&w);
	assert_null(pdp_new(cfg, 2, err, sizeof(err)));
	rewriter_stop(&w);
	assert_non_null(strstr(err, "the policy files kept changing over 5 reads"));
	/* The same for the store's file. */
	w = (struct rewriter){.dir = ctx, .name = "context.yaml", .text = "revoked_jtis: [j-1]\n"};
	rewriter_start(&w);
	assert_null(pdp_new(cfg, 2, err, sizeof(err)));
	rewriter_stop(&w);
	assert_non_null(strstr(err, "context.yaml: kept changing over 5 reads"));
	unlink(test_path("startup-policies/50-moving.yaml"));
	config_free(cfg);
}

static void
no_token_is_challenged(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = f->pdp;
	struct request r = bearer(NULL);
	struct response rs;

	pdp_decide(p, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(text(&rs), "WWW-Authenticate: Bearer realm=\"test\"\r\n"));
	r.token_source = TOKEN_SOURCE_BEARER;
	r.token = "a b";
	r.token_len = 3;
	pdp_decide(p, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(text(&rs), "error=\"invalid_token\""));
	assert_int_equal(stats(p)->sum.decisions[DECISION_UNAUTHENTICATED], 2);
}

static void
valid_token_is_allowed_then_cached(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = f->pdp;
	time_t now = f->now;
	char *tok = token(now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;
	struct cache_stats st;

	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(text(&rs), "X-PDP-User: alice\r\nX-PDP-Groups: g1\r\n"));
	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 200);
	st = stats(p)->token_cache;
	assert_int_equal(st.inserts, 1);
	assert_int_equal(st.hits, 1);
	/* Past exp plus leeway the cached entry is dead and the token is verified (and refused). */
	pdp_decide(p, 0, &r, now + 300 + 60, &rs);
	assert_int_equal(rs.status, 401);
	assert_non_null(strstr(text(&rs), "error_description=\"token expired\""));
	assert_int_equal(stats(p)->sum.token_errors[TOKEN_EXPIRED], 1);
	free(tok);
}

static void
invalid_tokens_are_never_cached(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = f->pdp;
	time_t now = f->now;
	char *tok = token(now, "mallory", 300);
	struct request r;
	struct response rs;
	struct cache_stats st;

	tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
	r = bearer(tok);
	for (int i = 0; i < 3; i++) {
		pdp_decide(p, 0, &r, now, &rs);
		assert_int_equal(rs.status, 401);
		assert_non_null(strstr(text(&rs), "error_description=\"invalid signature\""));
	}
	st = stats(p)->token_cache;
	assert_int_equal(st.inserts, 0);
	assert_int_equal(st.hits, 0);
	assert_int_equal(stats(p)->sum.token_errors[TOKEN_BAD_SIGNATURE], 3);
	free(tok);
}

/*
 * A credential outside RFC 6750 b64token syntax is malformed, whatever the
 * verifier would refuse it for first (no signature: "unsupported
 * algorithm"), and none is cached.
 */
static void
non_b64token_credentials_are_malformed(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = f->pdp;
	char *tok = token(f->now, "mallory", 300);
	size_t n = strlen(tok);
	char *variants[4];
	struct cache_stats st;

	variants[0] = strdup(tok);
	variants[0][n - 2] = '~'; /* b64token, not base64url: the signature does not decode */
	variants[1] = strdup(tok);
	variants[1][n - 2] = '!';
	variants[2] = strdup(tok);
	strrchr(variants[2], '.')[1] = '\0'; /* unsigned, which the verifier names first */
	variants[2][1] = '!';
	variants[3] = strdup(tok);
	variants[3][strchr(tok, '.') - tok + 3] = ','; /* in the payload */
	for (int i = 0; i < 4; i++) {
		struct request r = bearer(variants[i]);
		struct response rs;

		pdp_decide(p, 0, &r, f->now, &rs);
		assert_int_equal(rs.status, 401);
		assert_non_null(strstr(text(&rs), "error_description=\"malformed token\""));
		free(variants[i]);
	}
	assert_int_equal(stats(p)->sum.token_errors[TOKEN_MALFORMED], 4);
	st = stats(p)->token_cache;
	assert_int_equal(st.inserts, 0);
	free(tok);
}

static void
missing_nginx_params_are_an_error(void **state)
{
	struct fixture *f = *state;
	char *tok = token(f->now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;

	r.uri = NULL;
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 500);
	r.uri = "/";
	r.host = NULL;
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 500);
	/* A method that is not an RFC 9110 token matches no app's list: never decided. */
	r.host = "app.example.com";
	{
		static const char *const bad[] = {"", "GET /x", "G\tET", "G\xc3\x89T", "GET\r\n"};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			r.method = bad[i];
			pdp_decide(f->pdp, 0, &r, f->now, &rs);
			assert_int_equal(rs.status, 500);
		}
	}
	r.method = "PROPPATCH";
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 200);
	free(tok);
}

/* An identity claim with a control character or surrounding space: the whole token is invalid. */
static void
unclean_identity_claims_are_invalid_tokens(void **state)
{
	struct fixture *f = *state;
	static const char *const subs[] = {"mallory\\u0001", " mallory", "mallory\\t",
	                                   "mallory\\u0085"};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *tok = token(f->now, subs[i], 300);
		struct request r = bearer(tok);
		struct response rs;

		pdp_decide(f->pdp, 0, &r, f->now, &rs);
		assert_int_equal(rs.status, 401);
		assert_non_null(strstr(text(&rs), "error=\"invalid_token\", "
		                                  "error_description=\"invalid claims\""));
		assert_null(strstr(text(&rs), "X-PDP-User"));
		free(tok);
	}
}

/* A reload after a file change that drops every enforced policy waits for a confirm. */
static void
wholesale_drop_waits_for_a_confirm(void **state)
{
	struct fixture *f = *state;
	char *tok = token(f->now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;
	char err[512];

	test_write_file("decide-policies/p.yaml", "policies:\n  - id: block-g1\n"
	                                          "    users: { include: { groups: [g1] } }\n"
	                                          "    apps: { include: all }\n    grant: block\n");
	assert_int_equal(pdp_reload_policies(f->pdp, false, err, sizeof(err)), RELOAD_OK);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403);
	test_write_file("decide-policies/p.yaml", "policies: []\n");
	assert_int_equal(pdp_reload_policies(f->pdp, false, err, sizeof(err)), RELOAD_REFUSED);
	assert_non_null(strstr(err, "would drop 1 of 1 enforced policies [block-g1] (more than "
	                            "reload.max_drop 50%)"));
	assert_int_equal(stats(f->pdp)->reload_refused[RELOAD_WHAT_POLICIES], 1);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403); /* the last good set serves */
	assert_int_equal(pdp_reload_policies(f->pdp, true, err, sizeof(err)), RELOAD_OK);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 200); /* confirmed: default_decision allow */
	assert_int_equal(stats(f->pdp)->reload_refused[RELOAD_WHAT_POLICIES], 1);
	remove(test_path("decide-policies/p.yaml"));
	free(tok);
}

/*
 * Health after a reload fails: still 200 "ok" with the revision serving, and
 * the last reload's result and error, escaped (a file name may hold quotes,
 * backslashes and control bytes).
 */
static void
health_names_a_failed_reload(void **state)
{
	struct fixture *f = *state;
	struct request r = {.admin = "health"};
	struct response rs;
	char err[512], rev[64], *at;
	const char *odd = "decide-policies/9-\"q\\b\tc.yaml";

	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_non_null(strstr(text(&rs), "\"last_policy_reload\":{\"result\":\"none\"}"));
	/* No store: no store reload to speak of. */
	assert_null(strstr(text(&rs), "last_store_reload"));
	at = strstr(text(&rs), "\"policy_revision\":\"");
	assert_non_null(at);
	snprintf(rev, sizeof(rev), "%.36s", at); /* the key and 16 hex digits */
	test_write_file(odd, "policies:\n  - id: [x\n");
	assert_int_equal(pdp_reload_policies(f->pdp, false, err, sizeof(err)), RELOAD_FAILED);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(text(&rs), "{\"status\":\"ok\","));
	assert_non_null(strstr(text(&rs), rev)); /* the same revision serves */
	assert_non_null(
	    strstr(text(&rs), "\"last_policy_reload\":{\"result\":\"failed\",\"at\":\"20"));
	assert_non_null(strstr(text(&rs), "/decide-policies/9-\\\"q\\\\b\\u0009c.yaml:3:1: did not "
	                                  "find expected ',' or ']'"));
	remove(test_path(odd));
	assert_int_equal(pdp_reload_policies(f->pdp, false, err, sizeof(err)), RELOAD_OK);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_non_null(strstr(text(&rs), "\"last_policy_reload\":{\"result\":\"ok\",\"at\":\""));
	assert_null(strstr(text(&rs), "\"error\""));
}

static void
cached_caller_follows_a_reload(void **state)
{
	struct fixture *f = *state;
	char *tok = token(f->now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;
	struct cache_stats st;
	char err[512];

	/* Each set interns its one group as id 0: a stale view would confuse g1 with g2. */
	test_write_file("decide-policies/p.yaml", "policies:\n  - id: block-g1\n"
	                                          "    users: { include: { groups: [g1] } }\n"
	                                          "    apps: { include: all }\n    grant: block\n");
	assert_int_equal(pdp_reload_policies(f->pdp, true, err, sizeof(err)), 0);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403); /* the token's groups are [g1] */
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403); /* warm, from the view */
	test_write_file("decide-policies/p.yaml", "policies:\n  - id: block-g2\n"
	                                          "    users: { include: { groups: [g2] } }\n"
	                                          "    apps: { include: all }\n    grant: block\n");
	assert_int_equal(pdp_reload_policies(f->pdp, true, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		pdp_decide(f->pdp, 0, &r, f->now, &rs);
		assert_int_equal(rs.status, 200);
	}
	st = stats(f->pdp)->token_cache;
	assert_int_equal(st.inserts, 1); /* one verification for all five decisions */
	remove(test_path("decide-policies/p.yaml"));
	free(tok);
}

static void
default_deny_when_no_policy_applies(void **state)
{
	struct fixture *f = *state;
	struct pdp *p = f->pdp;
	time_t now = f->now;
	char *tok = token(now, "alice", 300);
	struct request r = bearer(tok);
	struct response rs;

	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 403);
	assert_non_null(strstr(text(&rs), "X-PDP-Decision: deny\r\n"));
	/* From the cache too. */
	pdp_decide(p, 0, &r, now, &rs);
	assert_int_equal(rs.status, 403);
	free(tok);
}

/* --- the context store, over a fake backend ----------------------------------------- */

/*
 * Users: "off" is disabled, "gone" had its sessions revoked at revoked_at;
 * jtis starting "bad" are revoked; device "d-ok" is compliant. failing: every
 * fetch fails. last_device: the device id asked last.
 */
static struct {
	bool failing;
	int64_t revoked_at;
	char last_device[128];
} fake;

static void *
fake_open(struct store *s, const struct config_store *cfg, unsigned n, char *err, size_t errsz)
{
	(void)s;
	(void)cfg;
	(void)n;
	(void)err;
	(void)errsz;
	return &fake;
}

static enum store_err
fake_fetch(void *be, unsigned worker, struct store_fetch *f, char *err, size_t errsz)
{
	(void)be;
	(void)worker;
	if (fake.failing) {
		snprintf(err, errsz, "timed out");
		return STORE_UNAVAILABLE;
	}
	for (int k = 0; k < STORE_KINDS; k++) {
		const char *key = f->key[k];
		struct store_value *v;

		if (key == NULL)
			continue;
		v = f->value[k] = store_value_new(f->len[k] + 1);
		assert_non_null(v);
		if (k == STORE_DEVICE) {
			snprintf(fake.last_device, sizeof(fake.last_device), "%s", key);
			v->found = strcmp(key, "d-ok") == 0;
			v->device.id = store_value_copy(v, key, f->len[k]);
			v->device.compliant = v->found;
		} else if (k == STORE_USER) {
			v->found = strcmp(key, "off") == 0 || strcmp(key, "gone") == 0;
			v->user.disabled = strcmp(key, "off") == 0;
			v->user.revoked_before = strcmp(key, "gone") == 0 ? fake.revoked_at : 0;
		} else {
			v->found = strncmp(key, "bad", 3) == 0;
		}
	}
	return STORE_OK;
}

static void
fake_close(void *be)
{
	(void)be;
}

static const struct store_backend fake_backend = {
    .name = "fake", .open = fake_open, .fetch = fake_fetch, .close = fake_close};

/* A PDP with the fake store and a policy requiring a compliant device for /secure. */
static int
store_fixture(void **state, enum decision_default on_error)
{
	struct fixture *f;
	char err[256];

	test_write_file(
	    "decide-policies/p.yaml",
	    "apps:\n  - { id: secure, hosts: [app.example.com], paths: [/secure] }\n"
	    "policies:\n  - id: device-check\n    users: { include: all }\n"
	    "    apps: { include: [secure] }\n    grant: { controls: [compliant_device] }\n");
	fixture_up(state, "allow");
	f = *state;
	memset(&fake, 0, sizeof(fake));
	f->cfg->store.on_store_error = on_error;
	pdp_use_store(f->pdp,
	              store_open_backend(&fake_backend, &f->cfg->store, 1, err, sizeof(err)));
	assert_non_null(pdp_store(f->pdp));
	return 0;
}

static int
setup_store_deny(void **state)
{
	return store_fixture(state, DEFAULT_DENY);
}

static int
setup_store_allow(void **state)
{
	return store_fixture(state, DEFAULT_ALLOW);
}

static int
teardown_store(void **state)
{
	unlink(test_path("decide-policies/p.yaml"));
	return teardown(state);
}

/* A token for sub with more claims (",\"jti\":..."); the caller frees. */
static char *
token_with(time_t now, const char *sub, const char *more)
{
	char body[512];

	snprintf(body, sizeof(body),
	         "{\"iss\":\"iss\",\"aud\":\"aud\",\"sub\":\"%s\",\"iat\":%lld,\"exp\":%lld%s}",
	         sub, (long long)now - 10, (long long)now + 300, more);
	return keytool_mint("HS256", secret, sizeof(secret) - 1, NULL, body);
}

static int
decide_status(struct fixture *f, const char *tok, const char *uri, struct response *rs)
{
	struct request r = bearer(tok);

	r.uri = uri;
	pdp_decide(f->pdp, 0, &r, f->now, rs);
	return rs->status;
}

static void
store_semantics(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char *tok;

	tok = token_with(f->now, "off", "");
	assert_int_equal(decide_status(f, tok, "/", &rs), 403);
	assert_non_null(strstr(text(&rs), "X-PDP-Reason: account: user account is disabled\r\n"));
	free(tok);
	/* Sessions revoked after the token was issued: 401, as an invalid token. */
	fake.revoked_at = f->now;
	tok = token_with(f->now, "gone", "");
	assert_int_equal(decide_status(f, tok, "/", &rs), 401);
	assert_non_null(strstr(text(&rs), "error=\"invalid_token\", error_description=\"session "
	                                  "revoked\""));
	free(tok);
	/* A token issued at or after revoked_before lives (iat is now - 10 here). */
	store_flush(pdp_store(f->pdp));
	fake.revoked_at = f->now - 10;
	tok = token_with(f->now, "gone", "");
	assert_int_equal(decide_status(f, tok, "/", &rs), 200);
	free(tok);
	tok = token_with(f->now, "alice", ",\"jti\":\"bad-1\"");
	assert_int_equal(decide_status(f, tok, "/", &rs), 401);
	assert_non_null(strstr(text(&rs), "error_description=\"token revoked\""));
	free(tok);
	tok = token_with(f->now, "alice", ",\"jti\":\"good-1\"");
	assert_int_equal(decide_status(f, tok, "/", &rs), 200);
	free(tok);
	/* The device record decides compliance; no record is not compliant. */
	tok = token_with(f->now, "alice", ",\"deviceid\":\"d-ok\"");
	assert_int_equal(decide_status(f, tok, "/secure", &rs), 200);
	free(tok);
	tok = token_with(f->now, "alice", ",\"deviceid\":\"d-unknown\"");
	assert_int_equal(decide_status(f, tok, "/secure", &rs), 403);
	free(tok);
}

static void
client_certificate_names_the_device(void **state)
{
	struct fixture *f = *state;
	char *tok = token_with(f->now, "alice", ",\"deviceid\":\"d-ok\"");
	struct request r = bearer(tok);
	struct response rs;

	r.uri = "/secure";
	r.client_cert = "-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----%0A";
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	/* The certificate's thumbprint (SHA-256 of 00 00 00), not the claim, was looked up. */
	assert_string_equal(fake.last_device,
	                    "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c");
	assert_int_equal(rs.status, 403);
	/* A certificate that cannot be read is no device at all, never the claim's. */
	fake.last_device[0] = '\0';
	r.client_cert = "garbage";
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 403);
	free(tok);
}

static void
store_failure_follows_on_store_error_deny(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char *tok = token_with(f->now, "alice", "");

	fake.failing = true;
	assert_int_equal(decide_status(f, tok, "/", &rs), 403);
	assert_non_null(strstr(text(&rs), "X-PDP-Reason: store: context store unavailable\r\n"));
	assert_int_equal(stats(f->pdp)->sum.store_refusals, 1);
	free(tok);
}

static void
store_failure_follows_on_store_error_allow(void **state)
{
	struct fixture *f = *state;
	struct response rs;
	char *tok = token_with(f->now, "alice", ",\"deviceid\":\"d-ok\"");

	fake.failing = true;
	/* The policies decide on what is known: no default deny, but no device either. */
	assert_int_equal(decide_status(f, tok, "/", &rs), 200);
	assert_int_equal(decide_status(f, tok, "/secure", &rs), 403);
	free(tok);
}

static void
health_endpoint(void **state)
{
	struct fixture *f = *state;
	struct request r = {.admin = "health"};
	struct response rs;
	char *tok = token_with(f->now, "alice", "");

	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(text(&rs), "{\"status\":\"ok\",\"policy_revision\":\""));
	fake.failing = true;
	assert_int_equal(decide_status(f, tok, "/", &rs), 403);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 503);
	assert_non_null(strstr(text(&rs), "\"status\":\"degraded\""));
	assert_non_null(strstr(text(&rs), "timed out"));
	/* An admin request with the auth params is a miswired auth location: never 200. */
	fake.failing = false;
	r.method = "GET";
	r.host = "app.example.com";
	r.uri = "/";
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 500);
	r = (struct request){.admin = "metrics-or-anything"};
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 500);
	free(tok);
}

/* The value of one metric line ("name{labels} value"), or -1 when it is missing. */
static long long
metric(const struct response *rs, const char *line)
{
	char key[160];
	const char *at;

	snprintf(key, sizeof(key), "\n%s ", line);
	at = strstr(text(rs), key);
	return at != NULL ? atoll(at + strlen(key)) : -1;
}

static void
metrics_endpoint(void **state)
{
	struct fixture *f = *state;
	struct request r = {.admin = "metrics"};
	struct response rs;
	char *tok = token_with(f->now, "alice", "");

	assert_int_equal(decide_status(f, tok, "/", &rs), 200);
	assert_int_equal(decide_status(f, tok, "/", &rs), 200);
	assert_int_equal(decide_status(f, "e30.e30.AAAA", "/", &rs), 401);
	fake.failing = true;
	store_flush(pdp_store(f->pdp));
	assert_int_equal(decide_status(f, tok, "/", &rs), 403);
	fake.failing = false;
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(text(&rs), "Content-Type: text/plain; version=0.0.4\r\n"));
	assert_int_equal(metric(&rs, "pdp_decisions_total{decision=\"allow\"}"), 2);
	assert_int_equal(metric(&rs, "pdp_decisions_total{decision=\"deny\"}"), 1);
	assert_int_equal(metric(&rs, "pdp_decisions_total{decision=\"unauthenticated\"}"), 1);
	assert_int_equal(metric(&rs, "pdp_token_rejections_total{reason=\"malformed\"}") +
	                     metric(&rs, "pdp_token_rejections_total{reason=\"bad_alg\"}"),
	                 1);
	/* Every decision is in the histogram; admin answers are not decisions. */
	assert_int_equal(metric(&rs, "pdp_decision_duration_seconds_bucket{le=\"+Inf\"}"), 4);
	assert_int_equal(metric(&rs, "pdp_decision_duration_seconds_count"), 4);
	/* The token was verified once, then served from the cache (twice). */
	assert_int_equal(metric(&rs, "pdp_cache_hits_total{cache=\"token\"}"), 2);
	assert_int_equal(metric(&rs, "pdp_cache_entries{cache=\"token\"}"), 1);
	assert_int_equal(metric(&rs, "pdp_cache_misses_total{cache=\"user\"}"), 2);
	assert_int_equal(metric(&rs, "pdp_store_fetches_total"), 2);
	assert_int_equal(metric(&rs, "pdp_store_errors_total"), 1);
	assert_int_equal(metric(&rs, "pdp_store_refusals_total"), 1);
	/* Down until a round trip succeeds again. */
	assert_int_equal(metric(&rs, "pdp_store_up"), 0);
	assert_int_equal(metric(&rs, "pdp_policy_reloads_total{result=\"failed\"}"), 0);
	assert_non_null(strstr(text(&rs), "\npdp_policy_info{revision=\""));
	assert_int_equal(metric(&rs, "pdp_decision_log_dropped_total"), 0);
	/* HMAC tokens here: every public-key algorithm's series is there, at 0. */
	assert_int_equal(metric(&rs, "pdp_signature_verify_seconds_count{alg=\"RS256\"}"), 0);
	assert_int_equal(metric(&rs, "pdp_signature_verify_seconds_sum{alg=\"ES512\"}"), 0);
	assert_int_equal(metric(&rs, "pdp_signature_verify_seconds_count{alg=\"HS256\"}"), -1);
	free(tok);
	tok = token_with(f->now, "bob", "");
	assert_int_equal(decide_status(f, tok, "/", &rs), 200);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(metric(&rs, "pdp_store_up"), 1);
	assert_int_equal(metric(&rs, "pdp_store_fetches_total"), 3);
	free(tok);
}

/* A warm token reuses its records until an event drops one: the next decision sees the change. */
static void
warm_token_sees_events(void **state)
{
	struct fixture *f = *state;
	struct request m = {.admin = "metrics"};
	struct response rs;
	char *tok = token_with(f->now, "gone", ",\"deviceid\":\"d-ok\",\"jti\":\"ok-1\"");

	for (int i = 0; i < 3; i++)
		assert_int_equal(decide_status(f, tok, "/secure", &rs), 200);
	pdp_decide(f->pdp, 0, &m, f->now, &rs);
	assert_int_equal(metric(&rs, "pdp_store_reused_total"), 2);
	assert_int_equal(metric(&rs, "pdp_store_fetches_total"), 1);
	fake.revoked_at = f->now;
	store_event(pdp_store(f->pdp), "user gone", 9);
	assert_int_equal(decide_status(f, tok, "/secure", &rs), 401);
	assert_non_null(strstr(text(&rs), "error_description=\"session revoked\""));
	assert_int_equal(decide_status(f, tok, "/secure", &rs), 401);
	pdp_decide(f->pdp, 0, &m, f->now, &rs);
	assert_int_equal(metric(&rs, "pdp_store_reused_total"), 3);
	assert_int_equal(metric(&rs, "pdp_store_fetches_total"), 2);
	free(tok);
}

/* Every counter at its widest still fits one answer. */
static void
metrics_fit_at_their_widest(void **state)
{
	struct fixture *f = *state;
	static char buf[RESPONSE_MAX_BODY_BYTES];
	struct pdp_stats *st = stats(f->pdp);
	struct pdp_counters *c = &st->sum;
	struct response rs;
	size_t n;

	for (int d = 0; d <= DECISION_ERROR; d++)
		atomic_store(&c->decisions[d], UINT64_MAX);
	for (int e = 0; e < TOKEN_ERRORS; e++)
		atomic_store(&c->token_errors[e], UINT64_MAX);
	/* As many issuers as are shown, each with the longest name a label keeps. */
	st->n_issuers = STATS_ISSUERS_MAX;
	for (size_t i = 0; i < STATS_ISSUERS_MAX; i++) {
		static char name[300];

		memset(name, '"', sizeof(name) - 1);
		st->issuers[i].issuer = name;
		st->issuers[i].source = "discovery";
		st->issuers[i].keys.has_keys = true;
		st->issuers[i].keys.n_keys = SIZE_MAX;
		st->issuers[i].keys.loaded_at_ms = 1;
		for (int r = 0; r < KEYS_RESULTS; r++)
			st->issuers[i].keys.attempts[r] = UINT64_MAX;
	}
	for (int b = 0; b <= METRICS_BUCKETS; b++)
		atomic_store(&c->latency.bucket[b], UINT64_MAX / (METRICS_BUCKETS + 1));
	atomic_store(&c->latency.sum_ns, UINT64_MAX);
	st->reloads = UINT64_MAX;
	st->reload_failures = UINT64_MAX;
	for (int w = 0; w < RELOAD_WHATS; w++)
		st->reload_refused[w] = UINT64_MAX;
	atomic_store(&c->revoked, UINT64_MAX);
	atomic_store(&c->store_refusals, UINT64_MAX);
	st->decision_log_dropped = UINT64_MAX;
	/* As the metrics endpoint answers: the text, then the answer around it. */
	n = metrics_format(st, buf, sizeof(buf));
	assert_true(n > 0);
	response_admin(&rs, true, "text/plain; version=0.0.4", buf, n);
	assert_int_equal(rs.status, 200);
	assert_non_null(strstr(text(&rs), "pdp_revoked_total 18446744073709551615\n"));
}

/* Each reader counts on cache lines of its own; the metrics endpoint adds them all up. */
static void
metrics_add_up_every_reader(void **state)
{
	struct fixture *f = *state;
	struct request none = bearer(NULL), bad = bearer("e30.e30.AAAA"), r = {.admin = "metrics"};
	struct pdp_counters readers[2], st_sum;
	struct response rs;

	assert_int_equal(alignof(struct pdp_counters) % 64, 0);
	pdp_decide(f->pdp, 0, &none, f->now, &rs);
	pdp_decide(f->pdp, 1, &none, f->now, &rs);
	pdp_decide(f->pdp, 1, &bad, f->now, &rs);
	assert_int_equal(stats(f->pdp)->sum.decisions[DECISION_UNAUTHENTICATED], 3);
	pdp_decide(f->pdp, 0, &r, f->now, &rs);
	assert_int_equal(metric(&rs, "pdp_decisions_total{decision=\"unauthenticated\"}"), 3);
	assert_int_equal(metric(&rs, "pdp_token_rejections_total{reason=\"malformed\"}") +
	                     metric(&rs, "pdp_token_rejections_total{reason=\"bad_alg\"}"),
	                 1);
	assert_int_equal(metric(&rs, "pdp_decision_duration_seconds_count"), 3);
	/* The sum itself: every reader's counters, whatever each holds. */
	memset(readers, 0, sizeof(readers));
	atomic_store(&readers[0].decisions[DECISION_ALLOW], 1);
	atomic_store(&readers[1].decisions[DECISION_ALLOW], 2);
	atomic_store(&readers[1].latency.bucket[METRICS_BUCKETS], 5);
	stats_counters_sum(readers, 2, &st_sum);
	assert_int_equal(st_sum.decisions[DECISION_ALLOW], 3);
	assert_int_equal(st_sum.latency.bucket[METRICS_BUCKETS], 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(init_failure_frees_what_it_made),
	    cmocka_unit_test(init_waits_for_settled_files),
	    cmocka_unit_test_setup_teardown(no_token_is_challenged, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(valid_token_is_allowed_then_cached, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(invalid_tokens_are_never_cached, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(non_b64token_credentials_are_malformed, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(unclean_identity_claims_are_invalid_tokens, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(missing_nginx_params_are_an_error, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(health_names_a_failed_reload, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(cached_caller_follows_a_reload, setup_allow, teardown),
	    cmocka_unit_test_setup_teardown(wholesale_drop_waits_for_a_confirm, setup_allow,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(default_deny_when_no_policy_applies, setup_deny,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(store_semantics, setup_store_deny, teardown_store),
	    cmocka_unit_test_setup_teardown(client_certificate_names_the_device, setup_store_deny,
	                                    teardown_store),
	    cmocka_unit_test_setup_teardown(store_failure_follows_on_store_error_deny,
	                                    setup_store_deny, teardown_store),
	    cmocka_unit_test_setup_teardown(store_failure_follows_on_store_error_allow,
	                                    setup_store_allow, teardown_store),
	    cmocka_unit_test_setup_teardown(health_endpoint, setup_store_deny, teardown_store),
	    cmocka_unit_test_setup_teardown(metrics_endpoint, setup_store_deny, teardown_store),
	    cmocka_unit_test_setup_teardown(warm_token_sees_events, setup_store_deny,
	                                    teardown_store),
	    cmocka_unit_test_setup_teardown(metrics_fit_at_their_widest, setup_store_deny,
	                                    teardown_store),
	    cmocka_unit_test_setup_teardown(metrics_add_up_every_reader, setup_allow, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
