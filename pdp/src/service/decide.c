/* decide.c - the decision point: one request in, one answer out, independent of transport */
#include "service/decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "identity/cert.h"
#include "policy/policy_eval.h"
#include "policy/policy_load.h"
#include "service/decision_log.h"

/* Room for the ids of a token's groups and roles (each list is at most 1024 long). */
#define SUBJECT_IDS_MAX 2048
/* Bytes the decision log queues before it drops: 10,000 lines of 400 bytes, 0.2 s at 50k/s. */
#define DECISION_LOG_QUEUE (4u << 20)

/*
 * A verified caller as the token cache keeps it: the subject, and its names
 * as ids of the policy set last used, so a warm request matches policies
 * without looking names up. The view is rewritten after a reload by the
 * first request that sees the new set; readers copy it under a sequence
 * lock (even: stable, odd: being written) and look names up themselves when
 * it is being written or was made for another set.
 */
struct caller {
	struct subject *subject;
	struct store_memo memo; /* its records, for its next request */
	atomic_uint_fast64_t seq;
	_Atomic uint64_t serial; /* the set the view was made for; 0: none */
	_Atomic uint64_t users_filter, amr;
	_Atomic uint32_t user, client, n_groups, n_roles;
	size_t cap;
	_Atomic uint32_t ids[]; /* groups, then roles */
};

static struct caller *
caller_new(struct subject *s)
{
	size_t cap = s->groups.n + s->roles.n;
	struct caller *c = malloc(sizeof(*c) + cap * sizeof(c->ids[0]));

	if (c == NULL)
		return NULL;
	c->subject = s;
	c->cap = cap;
	store_memo_init(&c->memo);
	atomic_init(&c->seq, 0);
	atomic_init(&c->serial, 0);
	return c;
}

static void
caller_free(void *v)
{
	struct caller *c = v;

	store_memo_fini(&c->memo);
	free(c->subject);
	free(c);
}

/* Copies the view into ids (room in buf) if it was made for the set with serial. */
static bool
view_read(struct caller *c, uint64_t serial, uint32_t *buf, size_t bufn, struct subject_ids *ids)
{
	uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
	size_t ng, nr;

	if ((seq & 1) || serial == 0 ||
	    atomic_load_explicit(&c->serial, memory_order_relaxed) != serial)
		return false;
	ng = atomic_load_explicit(&c->n_groups, memory_order_relaxed);
	nr = atomic_load_explicit(&c->n_roles, memory_order_relaxed);
	if (ng + nr > bufn || ng + nr > c->cap)
		return false;
	for (size_t i = 0; i < ng + nr; i++)
		buf[i] = atomic_load_explicit(&c->ids[i], memory_order_relaxed);
	ids->user = atomic_load_explicit(&c->user, memory_order_relaxed);
	ids->client = atomic_load_explicit(&c->client, memory_order_relaxed);
	ids->amr = atomic_load_explicit(&c->amr, memory_order_relaxed);
	ids->users_filter = atomic_load_explicit(&c->users_filter, memory_order_relaxed);
	ids->groups = buf;
	ids->n_groups = ng;
	ids->roles = buf + ng;
	ids->n_roles = nr;
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&c->seq, memory_order_relaxed) == seq;
}

/* Publishes ids as the view for the set with serial, unless another thread is at it. */
static void
view_write(struct caller *c, uint64_t serial, const struct subject_ids *ids)
{
	uint64_t seq = atomic_load(&c->seq);

	if (serial == 0 || (seq & 1) || ids->n_groups + ids->n_roles > c->cap ||
	    !atomic_compare_exchange_strong(&c->seq, &seq, seq + 1))
		return;
	for (size_t i = 0; i < ids->n_groups; i++)
		atomic_store_explicit(&c->ids[i], ids->groups[i], memory_order_relaxed);
	for (size_t i = 0; i < ids->n_roles; i++)
		atomic_store_explicit(&c->ids[ids->n_groups + i], ids->roles[i],
		                      memory_order_relaxed);
	atomic_store_explicit(&c->n_groups, (uint32_t)ids->n_groups, memory_order_relaxed);
	atomic_store_explicit(&c->n_roles, (uint32_t)ids->n_roles, memory_order_relaxed);
	atomic_store_explicit(&c->user, ids->user, memory_order_relaxed);
	atomic_store_explicit(&c->client, ids->client, memory_order_relaxed);
	atomic_store_explicit(&c->amr, ids->amr, memory_order_relaxed);
	atomic_store_explicit(&c->users_filter, ids->users_filter, memory_order_relaxed);
	atomic_store_explicit(&c->serial, serial, memory_order_relaxed);
	atomic_store_explicit(&c->seq, seq + 2, memory_order_release);
}

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

int
pdp_init(struct pdp *p, const struct config *cfg, unsigned n_readers, char *err, size_t errsz)
{
	/* Tools that decide on the calling thread alone pass 0 readers and read as reader 0. */
	size_t slots = n_readers ? n_readers : 1;
	struct policy_set *set;
	struct reload_guard g;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->n_readers = n_readers;
	p->counters = aligned_alloc(alignof(struct pdp_counters), slots * sizeof(*p->counters));
	if (p->counters == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	memset(p->counters, 0, slots * sizeof(*p->counters));
	p->verifier = token_verifier_new(cfg, err, errsz);
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
	store_close(p->store);
	p->store = NULL;
	decision_log_close(p->dlog);
	p->dlog = NULL;
	cache_free(p->token_cache);
	token_verifier_free(p->verifier);
	p->token_cache = NULL;
	p->verifier = NULL;
	free(p->counters);
	p->counters = NULL;
}

void
pdp_counters_sum(struct pdp *p, struct pdp_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < (p->n_readers ? p->n_readers : 1); i++) {
		struct pdp_counters *c = &p->counters[i];

		for (int d = 0; d <= DECISION_ERROR; d++)
			sum->decisions[d] +=
			    atomic_load_explicit(&c->decisions[d], memory_order_relaxed);
		for (int e = 0; e <= TOKEN_NO_MEMORY; e++)
			sum->token_errors[e] +=
			    atomic_load_explicit(&c->token_errors[e], memory_order_relaxed);
		sum->revoked += atomic_load_explicit(&c->revoked, memory_order_relaxed);
		sum->store_refusals +=
		    atomic_load_explicit(&c->store_refusals, memory_order_relaxed);
		sum->store_reused += atomic_load_explicit(&c->store_reused, memory_order_relaxed);
		for (int b = 0; b <= METRICS_BUCKETS; b++)
			sum->latency.bucket[b] +=
			    atomic_load_explicit(&c->latency.bucket[b], memory_order_relaxed);
		sum->latency.sum_ns +=
		    atomic_load_explicit(&c->latency.sum_ns, memory_order_relaxed);
	}
}

int
pdp_reload_policies(struct pdp *p, bool confirmed, char *err, size_t errsz)
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
pdp_reload_store(struct pdp *p, bool confirmed, char *err, size_t errsz)
{
	struct reload_guard g = reload_guard_of(p, confirmed);
	int rc = p->store != NULL ? store_reload(p->store, &g, err, errsz) : RELOAD_OK;

	if (rc == RELOAD_REFUSED)
		atomic_fetch_add(&p->reload_refused[RELOAD_WHAT_STORE], 1);
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

/*
 * The most each member of a decision line takes (escaped), so that all of
 * them fit one line (DECISION_LOG_LINE_MAX) whatever a request sends: a
 * longer value is cut visibly (jline_text), never the line. What is left
 * lists policies; one that no longer fits leaves the rest unlisted, and the
 * line says "policies" was truncated.
 */
#define LOG_ID_MAX     128  /* request id, address, country, method, app, device, store */
#define LOG_HOST_MAX   256  /* a DNS name is at most 253 */
#define LOG_USER_MAX   256  /* user claim */
#define LOG_URI_MAX    2048 /* path and query */
#define LOG_REASON_MAX 256  /* the deciding policy and why */
#define LOG_POLICY_MAX 400  /* one listed policy: its id, result and reason */
#define LOG_TAIL_MAX   256  /* what follows the lists: report_only's key, revision, latency */

/* The members every decision line starts with. */
static void
log_begin(struct jline *j, const struct request *r, const struct response *rs)
{
	jline_begin(j);
	jline_now(j, "time");
	jline_text(j, "request_id", r->request_id, LOG_ID_MAX);
	jline_text(j, "ip", r->remote_addr, LOG_ID_MAX);
	jline_text(j, "country", r->country, LOG_ID_MAX);
	jline_text(j, "method", r->method, LOG_ID_MAX);
	jline_text(j, "host", r->host, LOG_HOST_MAX);
	jline_text(j, "uri", r->uri, LOG_URI_MAX);
	jline_str(j, "decision", decision_name(rs->decision));
}

/* Room for one more listed policy, else the list is marked truncated. */
static bool
log_room_for_policy(struct jline *j, const char *list)
{
	if (jline_room(j) >= LOG_POLICY_MAX + LOG_TAIL_MAX)
		return true;
	jline_mark(j, list);
	return false;
}

static void
log_end(struct pdp *p, struct jline *j, int64_t t0)
{
	size_t n;

	jline_int(j, "latency_us", (clock_ns() - t0) / 1000);
	n = jline_end(j);
	decision_log_write(p->dlog, j->buf, n);
}

/* A decision with no verified caller: nothing from the token is logged. */
static void
log_unverified(struct pdp *p, const struct request *r, const struct response *rs,
               const char *reason, int64_t t0)
{
	struct jline j;

	log_begin(&j, r, rs);
	jline_text(&j, "reason", reason, LOG_REASON_MAX);
	log_end(p, &j, t0);
}

/* A verified caller answered before the policies: revoked, or the store failing. */
static void
log_caller(struct pdp *p, const struct request *r, const struct subject *s, const char *device,
           const struct response *rs, const char *reason, const char *store, int64_t t0)
{
	struct jline j;

	log_begin(&j, r, rs);
	jline_text(&j, "user", s->user, LOG_USER_MAX);
	jline_text(&j, "device", device, LOG_ID_MAX);
	jline_text(&j, "reason", reason, LOG_REASON_MAX);
	jline_text(&j, "store", store, LOG_ID_MAX);
	log_end(p, &j, t0);
}

/* A verified caller's decision, with every applied and report-only policy and why. */
static void
log_decision(struct pdp *p, const struct request *r, const struct subject *s, const char *device,
             const char *store, const struct policy_set *set, const struct eval_result *res,
             const struct response *rs, int64_t t0)
{
	struct jline j;
	char reason[256];

	log_begin(&j, r, rs);
	jline_text(&j, "user", s->user, LOG_USER_MAX);
	jline_text(&j, "app", res->app == POLICY_NO_ID ? NULL : set->apps[res->app].id, LOG_ID_MAX);
	jline_text(&j, "device", device, LOG_ID_MAX);
	jline_text(&j, "store", store, LOG_ID_MAX);
	if (res->deciding != NULL) {
		snprintf(reason, sizeof(reason), "%.128s: %.100s", res->deciding, res->reason);
		jline_text(&j, "reason", reason, LOG_REASON_MAX);
	} else if (res->by_default) {
		jline_str(&j, "reason", "default_decision");
	}
	jline_open(&j, "policies", '[');
	for (size_t i = 0; i < res->n_applied && log_room_for_policy(&j, "policies"); i++) {
		const struct eval_policy *ep = &res->applied[i];
		const struct pol_policy *pol = &set->policies[ep->policy];

		jline_open(&j, NULL, '{');
		jline_text(&j, "id", pol->id, LOG_POLICY_MAX / 2 - 32);
		jline_str(&j, "result",
		          pol->block      ? "block"
		          : ep->satisfied ? "satisfied"
		                          : "unmet");
		jline_text(&j, "reason", ep->reason, LOG_POLICY_MAX / 2 - 32);
		jline_close(&j, '}');
	}
	if (res->n_unlisted > 0)
		jline_mark(&j, "policies"); /* more applied than an evaluation lists */
	jline_close(&j, ']');
	jline_open(&j, "report_only", '[');
	for (size_t i = 0; i < res->n_report_only && log_room_for_policy(&j, "report_only"); i++) {
		const struct eval_policy *ep = &res->report_only[i];

		jline_open(&j, NULL, '{');
		jline_text(&j, "id", set->policies[ep->policy].id, LOG_POLICY_MAX / 2 - 32);
		jline_str(&j, "would", decision_name(res->report_only_decision[i]));
		jline_text(&j, "reason", ep->reason, LOG_POLICY_MAX / 2 - 32);
		jline_close(&j, '}');
	}
	jline_close(&j, ']');
	jline_text(&j, "revision", set->revision, LOG_ID_MAX);
	log_end(p, &j, t0);
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

	if (p->store != NULL) {
		bool answered = gather_context(p, reader, r, s, c, now, &sl, &in, &device, thumb,
		                               &store, &reason, rs);

		if (answered) {
			if (p->dlog != NULL)
				log_caller(p, r, s, device, rs, reason, store, t0);
			store_lookup_done(&sl);
			return;
		}
	}
	set = policy_swap_read_begin(&p->policies, reader);
	if (c == NULL || !view_read(c, set->serial, ids_buf, SUBJECT_IDS_MAX, &ids)) {
		eval_subject_ids(set, s, ids_buf, SUBJECT_IDS_MAX, &ids);
		if (c != NULL)
			view_write(c, set->serial, &ids);
	}
	policy_eval(set, &in, &res);
	answer(set, r, s, &res, rs);
	if (p->dlog != NULL)
		log_decision(p, r, s, device, store, set, &res, rs, t0);
	policy_swap_read_end(&p->policies, reader);
	if (p->store != NULL)
		store_lookup_done(&sl);
}

/*
 * An admin endpoint nginx routes here (deploy/nginx: local callers only).
 * One that also carries the auth params is a miswired auth location: 500,
 * so that an admin answer can never pass for an allow.
 */
static void
admin_answer(struct pdp *p, unsigned reader, const struct request *r, struct response *rs)
{
	struct jline j;
	char why[256] = "ok";
	bool ok = true;
	const struct policy_set *set;

	if (r->uri != NULL || r->method != NULL) {
		response_error(rs);
		return;
	}
	if (strcmp(r->admin, "metrics") == 0) {
		static _Thread_local char text[RESPONSE_MAX_BYTES];
		size_t n = metrics_format(p, reader, text, sizeof(text));

		if (n == 0)
			response_error(rs);
		else
			response_admin(rs, true, "text/plain; version=0.0.4", text, n);
		return;
	}
	if (strcmp(r->admin, "health") != 0) {
		response_error(rs);
		return;
	}
	if (p->store != NULL)
		ok = store_healthy(p->store, why, sizeof(why));
	set = policy_swap_read_begin(&p->policies, reader);
	jline_begin(&j);
	jline_str(&j, "status", ok ? "ok" : "degraded");
	jline_str(&j, "policy_revision", set->revision);
	policy_swap_read_end(&p->policies, reader);
	jline_str(&j, "store", store_config_name(&p->cfg->store));
	jline_str(&j, "store_status", why);
	response_admin(rs, ok, "application/json", j.buf, jline_end(&j));
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
		admin_answer(p, reader, r, rs);
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

		decide_for_subject(p, reader, r, c->subject, c, now, t0, rs);
		cache_release(p->token_cache, hit);
		goto done;
	}
	e = token_verify(p->verifier, r->token, r->token_len, now, &s, why, sizeof(why));
	/*
	 * A token that verifies is b64token syntax: its three segments decode as
	 * strict base64url. So the syntax is checked only on a refusal, where it
	 * gives the clearer reason; any credential outside b64token is malformed,
	 * whatever else the verifier found first.
	 */
	if (e != TOKEN_OK && e != TOKEN_NO_MEMORY && !request_token_wellformed(r)) {
		e = TOKEN_MALFORMED;
		snprintf(why, sizeof(why), "credential is not b64token syntax");
	}
	if (e != TOKEN_OK) {
		reject_token(p, reader, r, e, why, rs);
		unverified = token_strerror(e);
		goto done;
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
		log_unverified(p, r, rs, unverified, t0);
	count(&p->counters[reader], rs);
	latency_observe(&p->counters[reader].latency, clock_ns() - t0);
}
