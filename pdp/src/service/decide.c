/* decide.c - the decision point: one request in, one answer out, independent of transport */
#include "service/decide.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "identity/cert.h"
#include "identity/key_fetch.h"
#include "identity/keyring.h"
#include "policy/eval.h"
#include "policy/load.h"
#include "policy/swap.h"
#include "service/admin_endpoints.h"
#include "service/caller.h"
#include "service/decision_line.h"
#include "service/decision_log.h"
#include "service/stats.h"

/* Room for the ids of a token's groups and roles (each list is at most 1024 long). */
#define SUBJECT_IDS_MAX 2048
/* Bytes the decision log queues before it drops: 10,000 lines of 400 bytes, 0.2 s at 50k/s. */
#define DECISION_LOG_QUEUE (4u << 20)

struct pdp {
	const struct config *cfg;
	struct decision_log *dlog; /* NULL: no decision log */
	struct token_verifier *verifier;
	struct key_fetch *fetch; /* NULL until pdp_keys_start */
	struct cache *token_cache;
	struct store *store; /* NULL: no context store */
	struct policy_swap policies;
	unsigned n_readers;
	struct pdp_counters *counters; /* one per reader */
	atomic_uint_fast64_t reloads;
	atomic_uint_fast64_t reload_failures;
	atomic_uint_fast64_t reload_refused[RELOAD_WHATS]; /* by the drop guard */
	/* How the last reloads went, for health: written by the reloading thread, read by
	 * the workers that answer health; neither is on the decision path. */
	pthread_mutex_t last_reload_lock;
	struct reload_record last_reload[RELOAD_WHATS];
};

/* A reload reads this many times at most, waiting for two reads that agree. */
#define RELOAD_MAX_READS 5

static struct reload_guard
reload_guard_of(const struct pdp *p, bool confirmed)
{
	/* Long enough to see a writer still at work; the settle window came before. */
	uint64_t gap = p->cfg->reload.settle_ms / 10;

	return (struct reload_guard){.max_drop_pct = p->cfg->reload.max_drop_pct,
	                             .confirmed = confirmed,
	                             .reread_ms = gap < 5    ? 5
	                                          : gap > 50 ? 50
	                                                     : (unsigned)gap,
	                             .max_reads = RELOAD_MAX_READS};
}

struct pdp *
pdp_new(const struct config *cfg, unsigned n_readers, char *err, size_t errsz)
{
	/* Tools that decide on the calling thread alone pass 0 readers and read as reader 0. */
	size_t slots = n_readers ? n_readers : 1;
	struct policy_set *set;
	struct reload_guard g;
	struct pdp *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	p->cfg = cfg;
	p->n_readers = n_readers;
	pthread_mutex_init(&p->last_reload_lock, NULL);
	p->counters = aligned_alloc(alignof(struct pdp_counters), slots * sizeof(*p->counters));
	if (p->counters == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	memset(p->counters, 0, slots * sizeof(*p->counters));
	p->verifier = config_token_verifier(cfg, n_readers, err, errsz);
	if (p->verifier == NULL)
		goto fail;
	p->token_cache = cache_new(cfg->token_cache_entries, caller_free);
	if (p->token_cache == NULL) {
		snprintf(err, errsz, "out of memory for the token cache");
		goto fail;
	}
	if (cfg->decision_log != NULL &&
	    (p->dlog = decision_log_open(cfg->decision_log, DECISION_LOG_QUEUE, err, errsz)) ==
	        NULL)
		goto fail;
	/* Read as a reload reads: a file still being written must not become the first set. */
	g = reload_guard_of(p, true);
	set = policy_set_load_settled(cfg->policies, g.reread_ms, g.max_reads, err, errsz);
	if (set == NULL)
		goto fail;
	for (size_t i = 0; i < set->n_warnings; i++)
		log_warn("%s", set->warnings[i]);
	if (policy_swap_init(&p->policies, set, n_readers) != 0) {
		policy_set_free(set);
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	if (cfg->store.backend != NULL &&
	    (p->store = store_open(&cfg->store, n_readers, err, errsz)) == NULL)
		goto fail;
	return p;
fail:
	pdp_free(p);
	return NULL;
}

void
pdp_free(struct pdp *p)
{
	if (p == NULL)
		return;
	if (p->policies.readers.active != NULL)
		policy_swap_fini(&p->policies);
	store_close(p->store);
	decision_log_close(p->dlog);
	key_fetch_stop(p->fetch);
	cache_free(p->token_cache);
	token_verifier_free(p->verifier);
	free(p->counters);
	pthread_mutex_destroy(&p->last_reload_lock);
	free(p);
}

const struct config *
pdp_config(const struct pdp *p)
{
	return p->cfg;
}

void
pdp_reopen_log(struct pdp *p)
{
	if (p->dlog != NULL)
		decision_log_reopen(p->dlog);
}

struct store *
pdp_store(struct pdp *p)
{
	return p->store;
}

void
pdp_use_store(struct pdp *p, struct store *s)
{
	store_close(p->store);
	p->store = s;
}

void
pdp_policy_info(struct pdp *p, unsigned reader, struct policy_info *out)
{
	const struct policy_set *set = policy_swap_read_begin(&p->policies, reader);

	snprintf(out->revision, sizeof(out->revision), "%s", set->revision);
	out->n_policies = set->n_policies;
	out->n_files = set->n_files;
	policy_swap_read_end(&p->policies, reader);
}

int
pdp_keys_start(struct pdp *p, char *err, size_t errsz)
{
	p->fetch = key_fetch_start(token_verifier_keyring(p->verifier), err, errsz);
	return p->fetch != NULL ? 0 : -1;
}

void
pdp_keys_reread(struct pdp *p)
{
	if (p->fetch != NULL)
		key_fetch_reread(p->fetch);
}

static const char *
key_source(const struct config_issuer *is)
{
	return is->jwks_file != NULL  ? "jwks_file"
	       : is->jwks_uri != NULL ? "jwks_uri"
	       : is->discovery        ? "discovery"
	                              : "hmac_secret_file";
}

/* Each issuer's keys, and whether all have some. */
static void
issuers_get(struct pdp *p, struct pdp_stats *st)
{
	struct keyring *kr = token_verifier_keyring(p->verifier);

	st->keys_ready = true;
	snprintf(st->keys_status, sizeof(st->keys_status), "ok");
	for (size_t i = 0; i < keyring_size(kr); i++) {
		struct keyring_status ks;
		const struct config_issuer *is = keyring_issuer(kr, i);

		keyring_status(kr, i, &ks);
		if (!ks.has_keys && st->keys_ready) {
			st->keys_ready = false;
			snprintf(st->keys_status, sizeof(st->keys_status),
			         "keys unavailable for issuer %s", is->issuer);
		}
		if (st->n_issuers < STATS_ISSUERS_MAX) {
			struct issuer_stats *out = &st->issuers[st->n_issuers++];

			out->issuer = is->issuer;
			out->source = key_source(is);
			out->keys = ks;
		}
	}
}

void
pdp_count_accepted(struct pdp *p, unsigned reader, enum listen_front front)
{
	atomic_fetch_add_explicit(&p->counters[reader].accepted[front], 1, memory_order_relaxed);
}

void
pdp_stats_get(struct pdp *p, unsigned reader, bool counters, struct pdp_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->last_reload_lock);
	memcpy(st->last_reload, p->last_reload, sizeof(st->last_reload));
	pthread_mutex_unlock(&p->last_reload_lock);
	pdp_policy_info(p, reader, &st->policies);
	st->has_store = p->store != NULL;
	st->store_name = store_config_name(&p->cfg->store);
	st->store_reloads = p->store != NULL && store_config_source(&p->cfg->store) != NULL;
	if (p->store != NULL)
		st->store_up = store_healthy(p->store, st->store_status, sizeof(st->store_status));
	issuers_get(p, st);
	if (!counters)
		return;
	stats_counters_sum(p->counters, p->n_readers ? p->n_readers : 1, &st->sum);
	st->reloads = atomic_load(&p->reloads);
	st->reload_failures = atomic_load(&p->reload_failures);
	for (int w = 0; w < RELOAD_WHATS; w++)
		st->reload_refused[w] = atomic_load(&p->reload_refused[w]);
	cache_get_stats(p->token_cache, &st->token_cache);
	for (int a = 0; a < JWA_COUNT; a++)
		token_verifier_sig_stats(p->verifier, (enum jwa)a, &st->signatures[a].count,
		                         &st->signatures[a].ns);
	if (p->store != NULL)
		store_get_stats(p->store, &st->store);
	if (p->dlog != NULL)
		st->decision_log_dropped = decision_log_dropped(p->dlog);
}

/* Keeps how the reload of what went (rc: enum reload_result, err: why not) for health. */
static void
record_reload(struct pdp *p, enum reload_what what, int rc, const char *err)
{
	struct reload_record rec = {.ran = true, .result = rc};

	clock_gettime(CLOCK_REALTIME, &rec.at);
	if (rc != RELOAD_OK)
		snprintf(rec.error, sizeof(rec.error), "%s", err);
	pthread_mutex_lock(&p->last_reload_lock);
	p->last_reload[what] = rec;
	pthread_mutex_unlock(&p->last_reload_lock);
}

/* Loads and swaps in the policies as pdp_reload_policies says; err says why not. */
static int
reload_policies(struct pdp *p, bool confirmed, char *err, size_t errsz)
{
	struct reload_guard g = reload_guard_of(p, confirmed);
	struct policy_set *set =
	    policy_set_load_settled(p->cfg->policies, g.reread_ms, g.max_reads, err, errsz);
	/* Only reloads replace the set, one at a time: this thread may read it as is. */
	const struct policy_set *old = atomic_load(&p->policies.current);
	char ids[512];
	size_t enforced, dropped;

	if (set == NULL) {
		atomic_fetch_add(&p->reload_failures, 1);
		return RELOAD_FAILED;
	}
	dropped = policy_set_dropped(old, set, &enforced, ids, sizeof(ids));
	if (reload_guard_refuses(&g, enforced, dropped)) {
		snprintf(err, errsz,
		         "revision %s would drop %zu of %zu enforced policies [%s] (more than "
		         "reload.max_drop %u%%)",
		         set->revision, dropped, enforced, ids, g.max_drop_pct);
		policy_set_free(set);
		atomic_fetch_add(&p->reload_refused[RELOAD_WHAT_POLICIES], 1);
		return RELOAD_REFUSED;
	}
	for (size_t i = 0; i < set->n_warnings; i++)
		log_warn("%s", set->warnings[i]);
	policy_swap_replace(&p->policies, set);
	atomic_fetch_add(&p->reloads, 1);
	return RELOAD_OK;
}

int
pdp_reload_policies(struct pdp *p, bool confirmed, char *err, size_t errsz)
{
	int rc;

	err[0] = '\0'; /* health reads it, should a failure say nothing */
	rc = reload_policies(p, confirmed, err, errsz);
	record_reload(p, RELOAD_WHAT_POLICIES, rc, err);
	return rc;
}

int
pdp_reload_store(struct pdp *p, bool confirmed, char *err, size_t errsz)
{
	struct reload_guard g = reload_guard_of(p, confirmed);
	int rc;

	if (p->store == NULL)
		return RELOAD_OK;
	err[0] = '\0';
	rc = store_reload(p->store, &g, err, errsz);
	if (rc == RELOAD_REFUSED)
		atomic_fetch_add(&p->reload_refused[RELOAD_WHAT_STORE], 1);
	record_reload(p, RELOAD_WHAT_STORE, rc, err);
	return rc;
}

/* Where the client was going, for a browser's sign-in (response_sign_in_query). */
#define target_of(r)                                                                               \
	(&(const struct response_target){(r)->scheme, (r)->authority, (r)->host, (r)->uri})

static void
count(struct pdp_counters *c, const struct response *rs)
{
	atomic_fetch_add_explicit(&c->decisions[rs->decision], 1, memory_order_relaxed);
}

static void
reject_token(struct pdp *p, unsigned reader, const struct request *r, enum token_err e,
             const char *why, struct response *rs)
{
	atomic_fetch_add_explicit(&p->counters[reader].token_errors[e], 1, memory_order_relaxed);
	if (e == TOKEN_NO_MEMORY || e == TOKEN_KEYS_UNAVAILABLE) {
		/* Not the caller's fault: a 500, which nginx turns into its own error. */
		response_error(rs);
		return;
	}
	if (log_threshold >= LOG_LVL_DEBUG) {
		char id[80], ip[64];

		log_debug("request %s from %s: token rejected: %s (%s)",
		          log_escape(id, sizeof(id), r->request_id),
		          log_escape(ip, sizeof(ip), r->remote_addr), token_strerror(e), why);
	}
	response_unauthenticated(rs, p->cfg->realm, token_strerror(e), target_of(r));
}

/* Joins ids (policy ids or acr values) with sep into buf; a list that does not fit is cut. */
static const char *
join(char *buf, size_t bufsz, const char *const *items, size_t n, char sep)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]);

		if (o + len + 2 > bufsz)
			break;
		if (o > 0)
			buf[o++] = sep;
		memcpy(buf + o, items[i], len);
		o += len;
		buf[o] = '\0';
	}
	return buf;
}

/* Turns the evaluation into the answer, while the set it points into is held. */
static void
answer(const struct policy_set *set, const struct request *r, const struct subject *s,
       const struct eval_result *res, struct response *rs)
{
	const char *items[EVAL_MAX_LISTED];
	char list[1024];
	size_t n = 0;

	switch (res->decision) {
	case DECISION_ALLOW:
		for (size_t i = 0; i < res->n_applied; i++)
			items[n++] = set->policies[res->applied[i].policy].id;
		response_allow(rs, s, join(list, sizeof(list), items, n, ','));
		return;
	case DECISION_DENY:
		/* Every deny names its policy and reason; were one missing, still deny. */
		response_deny(rs, res->deciding ? res->deciding : "policy",
		              res->reason ? res->reason : "denied");
		return;
	case DECISION_STEP_UP:
		for (size_t i = 0; i < res->n_step_up_strengths; i++) {
			const struct pol_strength *st = &set->strengths[res->step_up_strengths[i]];

			for (size_t j = 0; j < st->n_acr && n < EVAL_MAX_LISTED; j++)
				items[n++] = st->acr[j];
		}
		response_step_up(rs, res->reason ? res->reason : "sign in again",
		                 n ? join(list, sizeof(list), items, n, ' ') : NULL, res->max_age,
		                 target_of(r));
		return;
	default:
		response_error(rs);
		return;
	}
}

/*
 * What the context store says of the caller: fills in->device and in->user,
 * or answers (revoked token, store failing) and returns true. *store is the
 * store's state for the decision log (NULL: ok).
 */
static bool
gather_context(struct pdp *p, unsigned reader, const struct request *r, const struct subject *s,
               struct caller *c, time_t now, struct store_lookup *sl, struct eval_input *in,
               const char **device, char *thumb, const char **store, const char **reason,
               struct response *rs)
{
	*device = s->device_id;
	if (r->client_cert != NULL) {
		/* A client certificate nginx verified names the device better than a claim. */
		*device = cert_thumbprint(r->client_cert, thumb) == 0 ? thumb : NULL;
	}
	/* The memo's keys are the token's own: a certificate may differ between requests. */
	store_lookup(p->store, reader, *device, s->user, s->jti, clock_ms(), (int64_t)now,
	             c != NULL && r->client_cert == NULL ? &c->memo : NULL, sl);
	if (sl->reused)
		atomic_fetch_add_explicit(&p->counters[reader].store_reused, 1,
		                          memory_order_relaxed);
	*store = sl->err != STORE_OK ? store_strerror(sl->err) : sl->stale ? "stale" : NULL;
	/* What is known of a revocation holds whatever else failed. */
	if (sl->jti_revoked || (sl->user != NULL && sl->user->revoked_before > s->iat)) {
		*reason = sl->jti_revoked ? "token revoked" : "session revoked";
		atomic_fetch_add_explicit(&p->counters[reader].revoked, 1, memory_order_relaxed);
		response_unauthenticated(rs, p->cfg->realm, *reason, target_of(r));
		return true;
	}
	if (sl->err != STORE_OK) {
		atomic_fetch_add_explicit(&p->counters[reader].store_refusals, 1,
		                          memory_order_relaxed);
		if (p->cfg->store.on_store_error == DEFAULT_DENY) {
			*reason = store_strerror(sl->err);
			response_deny(rs, "store", *reason);
			return true;
		}
		/* on_store_error: allow: the policies decide on what is known. */
	}
	in->device = sl->device;
	in->user = sl->user;
	return false;
}

static void
decide_for_subject(struct pdp *p, unsigned reader, const struct request *r, const struct subject *s,
                   struct caller *c, time_t now, int64_t t0, struct response *rs)
{
	uint32_t ids_buf[SUBJECT_IDS_MAX];
	struct subject_ids ids;
	struct eval_result res;
	struct store_lookup sl;
	char thumb[CERT_THUMBPRINT_SIZE];
	const char *device = s->device_id, *store = NULL, *reason = NULL;
	const struct policy_set *set;
	struct eval_input in = {
	    .subject = s,
	    .ids = &ids,
	    .method = r->method,
	    .host = r->host,
	    .uri = r->uri,
	    .ip = r->remote_addr,
	    .country = r->country,
	    .user_agent = r->user_agent,
	    .client = r->token_source == TOKEN_SOURCE_COOKIE ? CLIENT_BROWSER : CLIENT_API,
	    .device = NULL, /* the context store fills these */
	    .user = NULL,
	    .now = (int64_t)now,
	    .default_allow = p->cfg->default_decision == DEFAULT_ALLOW,
	};

	/* The issuer left the groups out: a decision on no groups would be a silent guess. */
	if (s->groups_overage) {
		reason = "group overage, the token lists no groups";
		response_deny(rs, "identity", reason);
		if (p->dlog != NULL)
			decision_line_caller(p->dlog, r, s, device, rs, reason, NULL, t0);
		return;
	}
	if (p->store != NULL) {
		bool answered = gather_context(p, reader, r, s, c, now, &sl, &in, &device, thumb,
		                               &store, &reason, rs);

		if (answered) {
			if (p->dlog != NULL)
				decision_line_caller(p->dlog, r, s, device, rs, reason, store, t0);
			store_lookup_done(&sl);
			return;
		}
	}
	set = policy_swap_read_begin(&p->policies, reader);
	if (c == NULL || !caller_view_read(c, set->serial, ids_buf, SUBJECT_IDS_MAX, &ids)) {
		eval_subject_ids(set, s, ids_buf, SUBJECT_IDS_MAX, &ids);
		if (c != NULL)
			caller_view_write(c, set->serial, &ids);
	}
	policy_eval(set, &in, &res);
	answer(set, r, s, &res, rs);
	if (p->dlog != NULL)
		decision_line_decision(p->dlog, r, s, device, store, set, &res, rs, t0);
	policy_swap_read_end(&p->policies, reader);
	if (p->store != NULL)
		store_lookup_done(&sl);
}

void
pdp_decide(struct pdp *p, unsigned reader, const struct request *r, time_t now, struct response *rs)
{
	const struct cache_entry *hit;
	struct subject *s = NULL;
	char why[256] = "";
	const char *unverified = NULL; /* set when no verified caller decides */
	int64_t t0 = clock_ns();
	enum token_err e;

	if (r->admin != NULL) {
		enum admin_endpoint ep = admin_endpoint_of(r);
		struct pdp_stats st;

		if (ep == ADMIN_NONE) {
			response_error(rs);
			return;
		}
		pdp_stats_get(p, reader, ep == ADMIN_METRICS, &st);
		admin_endpoint_answer(ep, &st, rs);
		return;
	}
	if (r->method == NULL || r->host == NULL || r->uri == NULL) {
		/* nginx was wired without pdp_params: nothing to decide on, so no answer but 500.
		 */
		static atomic_bool said;

		if (!atomic_exchange(&said, true))
			log_error(
			    "requests arrive without PDP_METHOD, PDP_HOST or PDP_URI: include "
			    "deploy/nginx/pdp_params in the auth location");
		response_error(rs);
		unverified = "request without nginx's PDP params";
		goto done;
	}
	if (!policy_method_token(r->method)) {
		/* nginx's parser lets only tokens through: something else is between us. */
		response_error(rs);
		unverified = "request method is not an HTTP token";
		goto done;
	}
	if (r->token_source == TOKEN_SOURCE_NONE) {
		response_unauthenticated(rs, p->cfg->realm, NULL, target_of(r));
		unverified = "no token";
		goto done;
	}
	/* Warm path: the whole token is the key, so only this exact token can hit. */
	hit = cache_get(p->token_cache, r->token, r->token_len, (int64_t)now);
	if (hit != NULL) {
		struct caller *c = cache_entry_value(hit);

		if (token_subject_current(p->verifier, reader, c->subject)) {
			decide_for_subject(p, reader, r, c->subject, c, now, t0, rs);
			cache_release(p->token_cache, hit);
			goto done;
		}
		/* Its key left the issuer's set: verify again, as a first-seen token. */
		cache_release(p->token_cache, hit);
		cache_invalidate(p->token_cache, r->token, r->token_len);
	}
	e = token_verify(p->verifier, reader, r->token, r->token_len, now, &s, why, sizeof(why));
	/*
	 * A token that verifies is b64token syntax: its three segments decode as
	 * strict base64url. So the syntax is checked only on a refusal, where it
	 * gives the clearer reason; any credential outside b64token is malformed,
	 * whatever else the verifier found first.
	 */
	if (e != TOKEN_OK && e != TOKEN_NO_MEMORY && e != TOKEN_KEYS_UNAVAILABLE &&
	    !request_token_wellformed(r)) {
		e = TOKEN_MALFORMED;
		snprintf(why, sizeof(why), "credential is not b64token syntax");
	}
	if (e != TOKEN_OK) {
		reject_token(p, reader, r, e, why, rs);
		unverified = token_strerror(e);
		goto done;
	}
	if (s->absent != 0 && log_threshold >= LOG_LVL_DEBUG) {
		char id[80], names[128];

		log_debug("request %s: the token carries none of its issuer's mapped claims for %s",
		          log_escape(id, sizeof(id), r->request_id),
		          subject_absent_names(s->absent, names, sizeof(names)));
	}
	/* Only verified tokens are cached, and only until they expire. */
	{
		struct caller *c = caller_new(s);
		int64_t until = s->valid_until;

		decide_for_subject(p, reader, r, s, c, now, t0, rs);
		if (c != NULL)
			cache_put(p->token_cache, r->token, r->token_len, c, until);
		else
			free(s);
	}
done:
	if (unverified != NULL && p->dlog != NULL)
		decision_line_unverified(p->dlog, r, rs, unverified, t0);
	count(&p->counters[reader], rs);
	latency_observe(&p->counters[reader].latency, clock_ns() - t0);
}
