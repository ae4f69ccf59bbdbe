/* decide.c - the decision point: one request in, one answer out, independent of transport */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int
pdp_init(struct pdp *p, const struct config *cfg, char *err, size_t errsz)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->verifier = token_verifier_new(cfg, err, errsz);
	if (p->verifier == NULL)
		return -1;
	p->token_cache = cache_new(cfg->token_cache_entries, free);
	if (p->token_cache == NULL) {
		snprintf(err, errsz, "out of memory for the token cache");
		pdp_fini(p);
		return -1;
	}
	return 0;
}

void
pdp_fini(struct pdp *p)
{
	cache_free(p->token_cache);
	token_verifier_free(p->verifier);
	p->token_cache = NULL;
	p->verifier = NULL;
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

/* The policy engine plugs in here; until it does, a verified caller gets the default. */
static void
decide_for_subject(struct pdp *p, const struct request *r, const struct subject *s,
                   struct response *rs)
{
	(void)r;
	if (p->cfg->default_decision == DEFAULT_ALLOW)
		response_allow(rs, s);
	else
		response_deny(rs, "default: no policy applies and default_decision is deny");
}

void
pdp_decide(struct pdp *p, const struct request *r, time_t now, struct response *rs)
{
	const struct cache_entry *hit;
	struct subject *s = NULL;
	char why[256] = "";
	enum token_err e;

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
		decide_for_subject(p, r, cache_entry_value(hit), rs);
		cache_release(p->token_cache, hit);
		goto done;
	}
	e = token_verify(p->verifier, r->token, r->token_len, now, &s, why, sizeof(why));
	if (e != TOKEN_OK) {
		reject_token(p, r, e, why, rs);
		goto done;
	}
	decide_for_subject(p, r, s, rs);
	/* Only verified tokens are cached, and only until they expire. */
	cache_put(p->token_cache, r->token, r->token_len, s, s->valid_until);
done:
	count(p, rs);
}
