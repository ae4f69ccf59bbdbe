/* metrics.c - the PDP's counters in Prometheus text format, for the metrics endpoint */
#include "service/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "identity/token.h"

/* Label values for enum token_err, in order. */
static const char *const token_reasons[] = {
    "ok",          "too_large",     "malformed",        "bad_alg",       "unknown_issuer",
    "unknown_key", "bad_signature", "expired",          "not_yet_valid", "bad_audience",
    "bad_claim",   "no_memory",     "keys_unavailable",
};
_Static_assert(sizeof(token_reasons) / sizeof(token_reasons[0]) == TOKEN_ERRORS,
               "a label for every token error");

/* Label values for enum decision: Prometheus prefers no '-' in values people match on. */
static const char *const decision_labels[] = {"allow", "deny", "step_up", "unauthenticated",
                                              "error"};
_Static_assert(sizeof(decision_labels) / sizeof(decision_labels[0]) == DECISION_ERROR + 1,
               "a label for every decision");

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void
head(struct out *o, const char *name, const char *type, const char *help)
{
	emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t
load(const atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void
latency(struct out *o, const struct latency_histogram *h)
{
	uint64_t cumulative = 0;

	head(o, "pdp_decision_duration_seconds", "histogram",
	     "Time from request parsed to answer ready.");
	for (int i = 0; i <= METRICS_BUCKETS; i++) {
		cumulative += load(&h->bucket[i]);
		if (i < METRICS_BUCKETS)
			emit(o, "pdp_decision_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			     (double)metrics_bucket_ns[i] / 1e9, cumulative);
		else
			emit(o, "pdp_decision_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			     cumulative);
	}
	emit(o, "pdp_decision_duration_seconds_sum %.9f\n", (double)load(&h->sum_ns) / 1e9);
	emit(o, "pdp_decision_duration_seconds_count %" PRIu64 "\n", cumulative);
}

/* Time in public-key signature checks, by algorithm (HMAC is not timed: it costs little). */
static void
signatures(struct out *o, const struct pdp_stats *st)
{
	static const enum jwa algs[] = {JWA_RS256, JWA_RS384, JWA_RS512, JWA_PS256, JWA_PS384,
	                                JWA_PS512, JWA_ES256, JWA_ES384, JWA_ES512, JWA_EDDSA};

	head(o, "pdp_signature_verify_seconds", "summary",
	     "RSA, ECDSA and EdDSA signature checks of first-seen tokens (a cached token is not "
	     "checked again), by algorithm.");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		uint64_t n = st->signatures[algs[i]].count, ns = st->signatures[algs[i]].ns;

		emit(o, "pdp_signature_verify_seconds_sum{alg=\"%s\"} %.9f\n", jwa_name(algs[i]),
		     (double)ns / 1e9);
		emit(o, "pdp_signature_verify_seconds_count{alg=\"%s\"} %" PRIu64 "\n",
		     jwa_name(algs[i]), n);
	}
}

/* v as a label value: backslash, double quote and newline escaped (cut to fit buf). */
static const char *
label_value(const char *v, char *buf, size_t bufsz)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < bufsz; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			buf[o++] = '\\';
		buf[o++] = *v == '\n' ? 'n' : *v;
	}
	buf[o] = '\0';
	return buf;
}

/* Each issuer's key fetches by result, its set's size and age. */
static void
jwks(struct out *o, const struct pdp_stats *st)
{
	char name[STATS_ISSUERS_MAX][264]; /* escaped, cut at 260 bytes */
	struct timespec now;
	int64_t now_ms;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (size_t i = 0; i < st->n_issuers; i++)
		label_value(st->issuers[i].issuer, name[i], sizeof(name[i]));
	head(o, "pdp_jwks_fetch_total", "counter",
	     "Loads of an issuer's keys (fetches, key file rereads), by result.");
	for (size_t i = 0; i < st->n_issuers; i++) {
		for (int r = 0; r < KEYS_RESULTS; r++)
			emit(o, "pdp_jwks_fetch_total{issuer=\"%s\",result=\"%s\"} %" PRIu64 "\n",
			     name[i], keys_result_name((enum keys_result)r),
			     st->issuers[i].keys.attempts[r]);
	}
	head(o, "pdp_jwks_keys", "gauge", "Keys in the issuer's current set.");
	for (size_t i = 0; i < st->n_issuers; i++)
		emit(o, "pdp_jwks_keys{issuer=\"%s\"} %zu\n", name[i], st->issuers[i].keys.n_keys);
	head(o, "pdp_jwks_age_seconds", "gauge",
	     "Seconds since the issuer's current key set was loaded (absent while it has none).");
	for (size_t i = 0; i < st->n_issuers; i++) {
		if (st->issuers[i].keys.has_keys)
			emit(o, "pdp_jwks_age_seconds{issuer=\"%s\"} %.3f\n", name[i],
			     (double)(now_ms - st->issuers[i].keys.loaded_at_ms) / 1e3);
	}
}

/* One family of per-cache counters: token, then the store's device, user and jti caches. */
static void
caches(struct out *o, const char *name, const char *type, const char *help,
       const struct cache_stats *st, size_t n, const char *const *labels, size_t field)
{
	head(o, name, type, help);
	for (size_t i = 0; i < n; i++)
		emit(o, "%s{cache=\"%s\"} %" PRIu64 "\n", name, labels[i],
		     *(const uint64_t *)((const char *)&st[i] + field));
}

size_t
metrics_format(const struct pdp_stats *st, char *buf, size_t cap)
{
	struct out o = {.buf = buf, .cap = cap};
	const struct pdp_counters *c = &st->sum;
	struct cache_stats cs[1 + STORE_KINDS] = {{0}};
	const struct store_stats *ss = &st->store;
	const char *labels[] = {"token", "device", "user", "jti"};
	size_t n_caches = 1;
	bool store = st->has_store;

	if (cap == 0)
		return 0;
	head(&o, "pdp_decisions_total", "counter", "Answers given, by decision.");
	for (int d = 0; d <= DECISION_ERROR; d++)
		emit(&o, "pdp_decisions_total{decision=\"%s\"} %" PRIu64 "\n", decision_labels[d],
		     load(&c->decisions[d]));
	head(&o, "pdp_token_rejections_total", "counter", "Tokens refused, by reason.");
	for (int e = TOKEN_OK + 1; e < TOKEN_ERRORS; e++)
		emit(&o, "pdp_token_rejections_total{reason=\"%s\"} %" PRIu64 "\n",
		     token_reasons[e], load(&c->token_errors[e]));
	head(&o, "pdp_connections_accepted_total", "counter", "Connections accepted, by front.");
	emit(&o, "pdp_connections_accepted_total{front=\"fastcgi\"} %" PRIu64 "\n",
	     load(&c->accepted[FRONT_FASTCGI]));
	emit(&o, "pdp_connections_accepted_total{front=\"http\"} %" PRIu64 "\n",
	     load(&c->accepted[FRONT_HTTP]));
	latency(&o, &c->latency);
	signatures(&o, st);
	jwks(&o, st);

	cs[0] = st->token_cache;
	if (store) {
		for (int k = 0; k < STORE_KINDS; k++)
			cs[1 + k] = ss->cache[k];
		n_caches += STORE_KINDS;
	}
	caches(&o, "pdp_cache_hits_total", "counter", "Cache lookups answered from the cache.", cs,
	       n_caches, labels, offsetof(struct cache_stats, hits));
	caches(&o, "pdp_cache_misses_total", "counter", "Cache lookups that missed.", cs, n_caches,
	       labels, offsetof(struct cache_stats, misses));
	caches(&o, "pdp_cache_evictions_total", "counter",
	       "Entries pushed out by the cache's size bound.", cs, n_caches, labels,
	       offsetof(struct cache_stats, evictions));
	caches(&o, "pdp_cache_entries", "gauge", "Entries held now.", cs, n_caches, labels,
	       offsetof(struct cache_stats, entries));

	if (store) {
		head(&o, "pdp_store_up", "gauge",
		     "1 when the context store is ready, answers and its events flow.");
		emit(&o, "pdp_store_up %d\n", st->store_up ? 1 : 0);
		head(&o, "pdp_store_ready", "gauge",
		     "1 when the context store is known to hold its data and to be current "
		     "(generation marker, replica link, heartbeat).");
		emit(&o, "pdp_store_ready %d\n", ss->ready ? 1 : 0);
		head(&o, "pdp_store_not_ready_total", "counter",
		     "Times the context store was found not ready: lost its data, syncing, "
		     "stalled.");
		emit(&o, "pdp_store_not_ready_total %" PRIu64 "\n", ss->not_ready);
		head(&o, "pdp_store_fetches_total", "counter", "Round trips to the context store.");
		emit(&o, "pdp_store_fetches_total %" PRIu64 "\n", ss->fetches);
		head(&o, "pdp_store_errors_total", "counter",
		     "Round trips that failed (timeouts included).");
		emit(&o, "pdp_store_errors_total %" PRIu64 "\n", ss->fetch_errors);
		head(&o, "pdp_store_timeouts_total", "counter",
		     "Round trips that failed after the store's timeout.");
		emit(&o, "pdp_store_timeouts_total %" PRIu64 "\n", ss->fetch_timeouts);
		head(&o, "pdp_store_stale_served_total", "counter",
		     "Records served past their freshness while the store failed.");
		emit(&o, "pdp_store_stale_served_total %" PRIu64 "\n", ss->stale_served);
		head(&o, "pdp_store_events_total", "counter", "Invalidation events applied.");
		emit(&o, "pdp_store_events_total %" PRIu64 "\n", ss->events);
		head(&o, "pdp_store_refusals_total", "counter",
		     "Requests answered by on_store_error.");
		emit(&o, "pdp_store_refusals_total %" PRIu64 "\n", load(&c->store_refusals));
		head(&o, "pdp_store_reused_total", "counter",
		     "Lookups answered by the records the token's last request found, still "
		     "cached and fresh (no cache lookup).");
		emit(&o, "pdp_store_reused_total %" PRIu64 "\n", load(&c->store_reused));
	}
	head(&o, "pdp_revoked_total", "counter", "Tokens refused as revoked (jti or session).");
	emit(&o, "pdp_revoked_total %" PRIu64 "\n", load(&c->revoked));

	head(&o, "pdp_policy_reloads_total", "counter", "Policy reloads, by result.");
	emit(&o, "pdp_policy_reloads_total{result=\"ok\"} %" PRIu64 "\n", st->reloads);
	emit(&o, "pdp_policy_reloads_total{result=\"failed\"} %" PRIu64 "\n", st->reload_failures);
	head(&o, "pdp_reload_refused_total", "counter",
	     "Reloads after a file change refused because they would drop too much (policies, "
	     "or the store's revocations and disabled users) until confirmed.");
	emit(&o, "pdp_reload_refused_total{what=\"policies\"} %" PRIu64 "\n",
	     st->reload_refused[RELOAD_WHAT_POLICIES]);
	emit(&o, "pdp_reload_refused_total{what=\"store\"} %" PRIu64 "\n",
	     st->reload_refused[RELOAD_WHAT_STORE]);
	head(&o, "pdp_policy_info", "gauge",
	     "The policy set serving now (revision: content hash).");
	emit(&o, "pdp_policy_info{revision=\"%s\"} 1\n", st->policies.revision);
	head(&o, "pdp_policies", "gauge", "Policies in the set serving now.");
	emit(&o, "pdp_policies %zu\n", st->policies.n_policies);

	head(&o, "pdp_decision_log_dropped_total", "counter",
	     "Decision-log lines dropped because the writer fell behind.");
	emit(&o, "pdp_decision_log_dropped_total %" PRIu64 "\n", st->decision_log_dropped);
	return o.overflow ? 0 : o.len;
}
