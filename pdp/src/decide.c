/* decide.c - the decision point: one request in, one answer out, independent of transport */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy_eval.h"
#include "policy_load.h"

/* Room for the ids of a token's groups and roles (each list is at most 1024 long). */
#define SUBJECT_IDS_MAX 2048

int
pdp_init(struct pdp *p, const struct config *cfg, unsigned n_readers, char *err, size_t errsz)
{
	struct policy_set *set;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->n_readers = n_readers;
	p->verifier = token_verifier_new(cfg, err, errsz);
	if (p->verifier == NULL)
		return -1;
	p->token_cache = cache_new(cfg->token_cache_entries, free);
	if (p->token_cache == NULL) {
		snprintf(err, errsz, "out of memory for the token cache");
		goto fail;
	}
	set = policy_set_load(cfg->policies, err, errsz);
	if (set == NULL)
		goto fail;
	for (size_t i = 0; i < set->n_warnings; i++)
		log_warn("%s", set->warnings[i]);
	if (policy_swap_init(&p->policies, set, n_readers) != 0) {
		policy_set_free(set);
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	return 0;
fail:
	pdp_fini(p);
	return -1;
}

void
pdp_fini(struct pdp *p)
{
	if (p->policies.active != NULL)
		policy_swap_fini(&p->policies);
	cache_free(p->token_cache);
	token_verifier_free(p->verifier);
	p->token_cache = NULL;
	p->verifier = NULL;
}

int
pdp_reload_policies(struct pdp *p, char *err, size_t errsz)
{
	struct policy_set *set = policy_set_load(p->cfg->policies, err, errsz);

	if (set == NULL) {
		atomic_fetch_add(&p->counters.reload_failures, 1);
		return -1;
	}
	for (size_t i = 0; i < set->n_warnings; i++)
		log_warn("%s", set->warnings[i]);
	policy_swap_replace(&p->policies, set);
	atomic_fetch_add(&p->counters.reloads, 1);
	return 0;
}

static void
count(struct pdp *p, const struct response *rs)
{
	atomic_fetch_add_explicit(&p->counters.decisions[rs->decision], 1, memory_order_relaxed);
}

static void
reject_token(struct pdp *p, const struct request *r, enum token_err e, const char *why,
             struct response *rs)
{
	atomic_fetch_add_explicit(&p->counters.token_errors[e], 1, memory_order_relaxed);
	if (e == TOKEN_NO_MEMORY) {
		response_error(rs);
		return;
	}
	if (log_threshold >= LOG_LVL_DEBUG) {
		char id[80], ip[64];

		log_debug("request %s from %s: token rejected: %s (%s)",
		          log_escape(id, sizeof(id), r->request_id),
		          log_escape(ip, sizeof(ip), r->remote_addr), token_strerror(e), why);
	}
	response_unauthenticated(rs, p->cfg->realm, token_strerror(e));
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
answer(const struct policy_set *set, const struct subject *s, const struct eval_result *res,
       struct response *rs)
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
		response_deny(rs, res->deciding, res->reason);
		return;
	case DECISION_STEP_UP:
		for (size_t i = 0; i < res->n_step_up_strengths; i++) {
			const struct pol_strength *st = &set->strengths[res->step_up_strengths[i]];

			for (size_t j = 0; j < st->n_acr && n < EVAL_MAX_LISTED; j++)
				items[n++] = st->acr[j];
		}
		response_step_up(rs, res->reason,
		                 n ? join(list, sizeof(list), items, n, ' ') : NULL, res->max_age);
		return;
	default:
		response_error(rs);
		return;
	}
}

static void
decide_for_subject(struct pdp *p, unsigned reader, const struct request *r, const struct subject *s,
                   time_t now, struct response *rs)
{
	uint32_t ids_buf[SUBJECT_IDS_MAX];
	struct subject_ids ids;
	struct eval_result res;
	const struct policy_set *set = policy_swap_read_begin(&p->policies, reader);
	struct eval_input in = {
	    .subject = s,
	    .ids = &ids,
	    .method = r->method,
	    .host = r->host,
	    .uri = r->uri,
	    .ip = r->remote_addr,
	    .country = r->country,
	    .user_agent = r->user_agent,
	    .client =
	        r->token_source == TOKEN_SOURCE_COOKIE ? EVAL_CLIENT_BROWSER : EVAL_CLIENT_API,
	    .device = NULL, /* the context store fills these */
	    .user = NULL,
	    .now = (int64_t)now,
	    .default_allow = p->cfg->default_decision == DEFAULT_ALLOW,
	};

	eval_subject_ids(set, s, ids_buf, SUBJECT_IDS_MAX, &ids);
	policy_eval(set, &in, &res);
	answer(set, s, &res, rs);
	policy_swap_read_end(&p->policies, reader);
}

void
pdp_decide(struct pdp *p, unsigned reader, const struct request *r, time_t now, struct response *rs)
{
	const struct cache_entry *hit;
	struct subject *s = NULL;
	char why[256] = "";
	enum token_err e;

	if (r->method == NULL || r->host == NULL || r->uri == NULL) {
		/* nginx was wired without pdp_params: nothing to decide on, so no answer but 500.
		 */
		static atomic_bool said;

		if (!atomic_exchange(&said, true))
			log_error(
			    "requests arrive without PDP_METHOD, PDP_HOST or PDP_URI: include "
			    "deploy/nginx/pdp_params in the auth location");
		response_error(rs);
		goto done;
	}
	if (r->token_source == TOKEN_SOURCE_NONE) {
		response_unauthenticated(rs, p->cfg->realm, NULL);
		goto done;
	}
	if (r->token_malformed) {
		reject_token(p, r, TOKEN_MALFORMED, "credential is not b64token syntax", rs);
		goto done;
	}
	/* Warm path: the whole token is the key, so only this exact token can hit. */
	hit = cache_get(p->token_cache, r->token, r->token_len, (int64_t)now);
	if (hit != NULL) {
		decide_for_subject(p, reader, r, cache_entry_value(hit), now, rs);
		cache_release(p->token_cache, hit);
		goto done;
	}
	e = token_verify(p->verifier, r->token, r->token_len, now, &s, why, sizeof(why));
	if (e != TOKEN_OK) {
		reject_token(p, r, e, why, rs);
		goto done;
	}
	decide_for_subject(p, reader, r, s, now, rs);
	/* Only verified tokens are cached, and only until they expire. */
	cache_put(p->token_cache, r->token, r->token_len, s, s->valid_until);
done:
	count(p, rs);
}
