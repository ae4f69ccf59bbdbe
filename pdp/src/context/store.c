/* store.c - the context store: device, user and revoked-token records behind bounded caches */
#include "context/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context/record.h"
#include "context/store_backend.h"
#include "core/clock.h"
#include "core/log.h"

const char *const store_kind_names[STORE_KINDS] = {"device", "user", "jti"};

struct store {
	const struct store_backend *ops;
	void *be;
	const struct config_store *cfg;
	struct cache *cache[STORE_KINDS];
	atomic_bool live;    /* events flowing: cached records can be fresh */
	atomic_bool failing; /* the last fetch failed */
	atomic_bool ready;   /* the backend's data can be trusted (store_set_ready) */
	/*
	 * When the outage began (monotonic ms, 0: none): events stopped, fetches
	 * failing, the store last known current before it was declared not ready.
	 */
	_Atomic int64_t events_down_since, failing_since, unready_since;
	pthread_mutex_t why_lock;
	char why[160];         /* the last failure */
	char unready_why[160]; /* why the store is not ready */
	atomic_uint_fast64_t fetches, fetch_errors, fetch_timeouts, stale_served, unavailable,
	    events, flushes, not_ready;
};

const char *
store_strerror(enum store_err e)
{
	switch (e) {
	case STORE_OK:
		return "ok";
	case STORE_UNAVAILABLE:
		return "context store unavailable";
	case STORE_BAD_RECORD:
		return "unreadable context record";
	case STORE_NO_MEMORY:
		return "out of memory";
	}
	return "context store error";
}

/* --- values ------------------------------------------------------------------------ */

struct store_value *
store_value_new(size_t strings_room)
{
	struct store_value *v = malloc(sizeof(*v) + strings_room);

	if (v == NULL)
		return NULL;
	memset(v, 0, sizeof(*v));
	atomic_init(&v->refs, 1);
	atomic_init(&v->retired, false);
	record_device_init(&v->device);
	v->room = strings_room;
	return v;
}

const char *
store_value_copy(void *ctx, const char *s, size_t n)
{
	struct store_value *v = ctx;
	char *out;

	if (n + 1 > v->room - v->used)
		return NULL;
	out = v->strings + v->used;
	memcpy(out, s, n);
	out[n] = '\0';
	v->used += n + 1;
	return out;
}

void
store_value_unref(struct store_value *v)
{
	if (v != NULL && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
		free(v);
}

/* The caches' free: called as a value leaves its cache, or is refused entry. */
static void
value_free(void *v)
{
	atomic_store_explicit(&((struct store_value *)v)->retired, true, memory_order_release);
	store_value_unref(v);
}

static void
value_hold(void *v)
{
	atomic_fetch_add_explicit(&((struct store_value *)v)->refs, 1, memory_order_relaxed);
}

/* --- open and close ---------------------------------------------------------------- */

struct store *
store_open_backend(const struct store_backend *ops, const struct config_store *cfg,
                   unsigned n_workers, char *err, size_t errsz)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	s->ops = ops;
	s->cfg = cfg;
	pthread_mutex_init(&s->why_lock, NULL);
	for (int k = 0; k < STORE_KINDS; k++) {
		if ((s->cache[k] = cache_new(cfg->cache_entries, value_free)) == NULL) {
			snprintf(err, errsz, "out of memory for the %s cache", store_kind_names[k]);
			goto fail;
		}
	}
	/* Until a backend with events says they flow, nothing cached is fresh. */
	atomic_init(&s->live, !ops->events);
	atomic_init(&s->events_down_since, ops->events ? clock_ms() : 0);
	atomic_init(&s->ready, !ops->readiness);
	atomic_init(&s->unready_since, ops->readiness ? clock_ms() : 0);
	snprintf(s->unready_why, sizeof(s->unready_why), "not checked yet");
	s->be = ops->open(s, cfg, n_workers, err, errsz);
	if (s->be == NULL)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

struct store *
store_open(const struct config_store *cfg, unsigned n_workers, char *err, size_t errsz)
{
	err[0] = '\0';
	if (cfg->backend == NULL)
		return NULL;
	return store_open_backend(cfg->backend, cfg, n_workers, err, errsz);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	/* The backend first: its threads may still be delivering events. */
	if (s->be != NULL)
		s->ops->close(s->be);
	for (int k = 0; k < STORE_KINDS; k++)
		cache_free(s->cache[k]);
	pthread_mutex_destroy(&s->why_lock);
	free(s);
}

int
store_check(const struct config_store *cfg, char *err, size_t errsz)
{
	struct store *s;

	if (cfg->backend == NULL)
		return 0;
	if (cfg->backend->check != NULL)
		return cfg->backend->check(cfg, err, errsz);
	if ((s = store_open(cfg, 1, err, errsz)) == NULL)
		return -1;
	store_close(s);
	return 0;
}

int
store_reload(struct store *s, const struct reload_guard *g, char *err, size_t errsz)
{
	if (s->ops->reload == NULL)
		return 0;
	return s->ops->reload(s->be, g, err, errsz);
}

/* --- events ------------------------------------------------------------------------ */

void
store_flush(struct store *s)
{
	for (int k = 0; k < STORE_KINDS; k++)
		cache_flush(s->cache[k]);
	atomic_fetch_add_explicit(&s->flushes, 1, memory_order_relaxed);
}

void
store_event(struct store *s, const char *msg, size_t len)
{
	atomic_fetch_add_explicit(&s->events, 1, memory_order_relaxed);
	for (int k = 0; k < STORE_KINDS; k++) {
		size_t n = strlen(store_kind_names[k]);

		if (len > n + 1 && memcmp(msg, store_kind_names[k], n) == 0 && msg[n] == ' ') {
			cache_invalidate(s->cache[k], msg + n + 1, len - n - 1);
			return;
		}
	}
	if (len != 5 || memcmp(msg, "flush", 5) != 0) {
		char buf[96];

		/* Something was meant to change: dropping everything cannot miss it. */
		log_warn(
		    "unreadable event \"%s\" on the events channel: dropping every cached record",
		    log_escape_n(buf, sizeof(buf), msg, len));
	}
	store_flush(s);
}

void
store_set_live(struct store *s, bool live)
{
	if (live) {
		/* Events sent while none flowed are lost: forget what they may have changed. */
		store_flush(s);
		atomic_store(&s->events_down_since, 0);
		if (!atomic_exchange(&s->live, true))
			log_info("context store events flowing");
	} else if (atomic_exchange(&s->live, false)) {
		atomic_store(&s->events_down_since, clock_ms());
		log_warn(
		    "context store events stopped: cached records are re-read until they flow");
	}
}

/* --- health ------------------------------------------------------------------------ */

static void
note_failure(struct store *s, const char *why, int64_t now_ms)
{
	int64_t none = 0;

	atomic_fetch_add_explicit(&s->fetch_errors, 1, memory_order_relaxed);
	pthread_mutex_lock(&s->why_lock);
	snprintf(s->why, sizeof(s->why), "%s", why);
	pthread_mutex_unlock(&s->why_lock);
	atomic_compare_exchange_strong(&s->failing_since, &none, now_ms);
	if (!atomic_exchange(&s->failing, true))
		log_error("context store failing: %s", why);
}

void
store_answered(struct store *s)
{
	if (atomic_load_explicit(&s->failing, memory_order_relaxed) &&
	    atomic_exchange(&s->failing, false)) {
		atomic_store(&s->failing_since, 0);
		log_info("context store answering again");
	}
}

/*
 * Until when a cached value may serve while the backend fails: stale_max
 * past the later of its confirmation and the outage's start (until then,
 * events kept it current). A confirmation after the store stopped being
 * ready counts from that moment: a stall found late began when the store
 * last answered, and a stalled replica still answers with what it had then.
 */
static int64_t
stale_until(struct store *s, const struct store_value *v, int64_t now_ms)
{
	int64_t starts[3] = {atomic_load(&s->events_down_since), atomic_load(&s->failing_since),
	                     atomic_load(&s->unready_since)};
	int64_t since = 0, confirmed = v->confirmed_ms;

	for (int i = 0; i < 3; i++) {
		if (starts[i] != 0 && (since == 0 || starts[i] < since))
			since = starts[i];
	}
	if (since == 0 || since > now_ms)
		since = now_ms;
	if (starts[2] != 0 && confirmed > starts[2])
		confirmed = starts[2];
	return (confirmed > since ? confirmed : since) + (int64_t)s->cfg->stale_max_ms;
}

void
store_set_ready(struct store *s, bool ready, int64_t since_ms, const char *why)
{
	if (ready) {
		if (atomic_load(&s->ready))
			return;
		/* Whatever changed while it was not ready reached no cache. */
		store_flush(s);
		atomic_store(&s->unready_since, 0);
		atomic_store(&s->ready, true);
		log_info("context store ready");
		return;
	}
	pthread_mutex_lock(&s->why_lock);
	snprintf(s->unready_why, sizeof(s->unready_why), "%s", why);
	pthread_mutex_unlock(&s->why_lock);
	if (since_ms == 0)
		since_ms = clock_ms();
	/* The earliest start stands: a stall found late began when the store last answered. */
	for (int64_t was = atomic_load(&s->unready_since);
	     (was == 0 || since_ms < was) &&
	     !atomic_compare_exchange_weak(&s->unready_since, &was, since_ms);)
		;
	if (atomic_exchange(&s->ready, false)) {
		atomic_fetch_add_explicit(&s->not_ready, 1, memory_order_relaxed);
		log_error("context store not ready: %s: cached records serve up to stale_max, "
		          "then on_store_error",
		          why);
	}
}

bool
store_is_ready(struct store *s)
{
	return atomic_load_explicit(&s->ready, memory_order_acquire);
}

bool
store_healthy(struct store *s, char *why, size_t whysz)
{
	if (!atomic_load(&s->ready)) {
		pthread_mutex_lock(&s->why_lock);
		snprintf(why, whysz, "context store not ready: %s", s->unready_why);
		pthread_mutex_unlock(&s->why_lock);
		return false;
	}
	if (atomic_load(&s->failing)) {
		pthread_mutex_lock(&s->why_lock);
		snprintf(why, whysz, "context store failing: %s", s->why);
		pthread_mutex_unlock(&s->why_lock);
		return false;
	}
	if (!atomic_load(&s->live)) {
		snprintf(why, whysz, "context store events not flowing");
		return false;
	}
	snprintf(why, whysz, "ok");
	return true;
}

void
store_get_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->fetches = atomic_load(&s->fetches);
	out->fetch_errors = atomic_load(&s->fetch_errors);
	out->fetch_timeouts = atomic_load(&s->fetch_timeouts);
	out->stale_served = atomic_load(&s->stale_served);
	out->unavailable = atomic_load(&s->unavailable);
	out->events = atomic_load(&s->events);
	out->flushes = atomic_load(&s->flushes);
	out->not_ready = atomic_load(&s->not_ready);
	out->ready = atomic_load(&s->ready);
	for (int k = 0; k < STORE_KINDS; k++)
		cache_get_stats(s->cache[k], &out->cache[k]);
}

/* --- lookups ----------------------------------------------------------------------- */

/* A bad record is refused on every lookup until fixed: say so at most once a second. */
static void
log_bad_record(const char *why)
{
	static _Atomic int64_t last;
	int64_t now = clock_ms(), then = atomic_load(&last);

	if (now - then >= 1000 && atomic_compare_exchange_strong(&last, &then, now))
		log_warn("context store: %s", why);
}

/* Whether v may answer without the backend, events flowing. */
static bool
fresh(const struct config_store *cfg, const struct store_value *v, int64_t now_ms)
{
	return now_ms < v->confirmed_ms + (int64_t)(v->found ? cfg->ttl_ms : cfg->negative_ttl_ms);
}

static void
use(struct store_lookup *l, int k, struct store_value *v)
{
	l->held[k] = v;
	if (!v->found)
		return;
	if (k == STORE_DEVICE)
		l->device_view = v->device;
	else if (k == STORE_USER)
		l->user = &v->user;
	else
		l->jti_revoked = true;
}

/*
 * A backend that knows every revoked jti answers a first-seen token without a
 * round trip (only while events flow: they keep its knowledge current). The
 * answer is cached as a fetched one would be, so it serves stale in an outage;
 * gen (read before asking) keeps an answer that raced an event out of the cache.
 */
static bool
known_jti(struct store *s, const char *jti, uint64_t gen, int64_t now_ms, struct store_lookup *l)
{
	const struct config_store *cfg = s->cfg;
	struct store_value *v;
	int revoked;
	int64_t ttl;

	if (s->ops->jti_revoked == NULL ||
	    (revoked = s->ops->jti_revoked(s->be, jti, strlen(jti), now_ms)) < 0 ||
	    (v = store_value_new(0)) == NULL)
		return false;
	v->found = revoked == 1;
	v->confirmed_ms = now_ms;
	ttl = (int64_t)(v->found ? cfg->ttl_ms : cfg->negative_ttl_ms);
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
	cache_put_if(s->cache[STORE_JTI], jti, strlen(jti), v,
	             now_ms + ttl + (int64_t)cfg->stale_max_ms, gen);
	use(l, STORE_JTI, v);
	return true;
}

/* --- memos ------------------------------------------------------------------------- */

void
store_memo_init(struct store_memo *m)
{
	pthread_mutex_init(&m->lock, NULL);
	memset(m->held, 0, sizeof(m->held));
	m->set = false;
}

void
store_memo_fini(struct store_memo *m)
{
	for (int k = 0; k < STORE_KINDS; k++)
		store_value_unref(m->held[k]);
	pthread_mutex_destroy(&m->lock);
}

/*
 * Answers l from m if every record in it is still cached and fresh (events
 * flowing). A worker never waits for another on the same token's memo: the
 * caches answer instead.
 */
static bool
memo_use(const struct config_store *cfg, struct store_memo *m, const char *const keys[],
         int64_t now_ms, struct store_lookup *l)
{
	bool ok;

	if (pthread_mutex_trylock(&m->lock) != 0)
		return false;
	ok = m->set;
	for (int k = 0; ok && k < STORE_KINDS; k++) {
		const struct store_value *v = m->held[k];

		if (v == NULL)
			ok = keys[k] == NULL;
		else
			ok = keys[k] != NULL &&
			     !atomic_load_explicit(&v->retired, memory_order_acquire) &&
			     fresh(cfg, v, now_ms);
	}
	for (int k = 0; ok && k < STORE_KINDS; k++) {
		if (m->held[k] != NULL) {
			value_hold(m->held[k]);
			use(l, k, m->held[k]);
		}
	}
	pthread_mutex_unlock(&m->lock);
	l->reused = ok;
	return ok;
}

/*
 * Keeps what a successful, fresh lookup found in m, unless a record already
 * left its cache, or another worker holds m (it keeps its own).
 */
static void
memo_keep(struct store_memo *m, struct store_value *const held[])
{
	struct store_value *old[STORE_KINDS];

	for (int k = 0; k < STORE_KINDS; k++) {
		if (held[k] != NULL &&
		    atomic_load_explicit(&held[k]->retired, memory_order_acquire))
			return;
	}
	if (pthread_mutex_trylock(&m->lock) != 0)
		return;
	for (int k = 0; k < STORE_KINDS; k++) {
		old[k] = m->held[k];
		m->held[k] = held[k];
		if (held[k] != NULL)
			value_hold(held[k]);
	}
	m->set = true;
	pthread_mutex_unlock(&m->lock);
	for (int k = 0; k < STORE_KINDS; k++)
		store_value_unref(old[k]);
}

void
store_lookup(struct store *s, unsigned worker, const char *device_id, const char *user,
             const char *jti, int64_t now_ms, int64_t now_s, struct store_memo *memo,
             struct store_lookup *l)
{
	const char *keys[STORE_KINDS] = {device_id, user, jti};
	struct store_value *stale[STORE_KINDS] = {NULL, NULL, NULL};
	struct store_fetch f;
	uint64_t gen[STORE_KINDS];
	bool ready = atomic_load_explicit(&s->ready, memory_order_acquire);
	/* Not ready: nothing cached is fresh and nothing the backend says is trusted. */
	bool live = ready && atomic_load_explicit(&s->live, memory_order_acquire), need = false;
	const struct config_store *cfg = s->cfg;

	memset(l, 0, offsetof(struct store_lookup, device_view));
	memset(l->held, 0, sizeof(l->held));
	memset(&f, 0, sizeof(f));
	if (memo != NULL && live && memo_use(cfg, memo, keys, now_ms, l))
		goto found;
	for (int k = 0; k < STORE_KINDS; k++) {
		struct store_value *v;

		if (keys[k] == NULL)
			continue;
		v = cache_get_held(s->cache[k], keys[k], strlen(keys[k]), now_ms, value_hold);
		if (v != NULL) {
			if (live && fresh(cfg, v, now_ms)) {
				use(l, k, v);
				continue;
			}
			stale[k] = v;
		}
		gen[k] = cache_generation(s->cache[k], keys[k], strlen(keys[k]));
		if (k == STORE_JTI && live && known_jti(s, keys[k], gen[k], now_ms, l))
			continue;
		f.key[k] = keys[k];
		f.len[k] = strlen(keys[k]);
		need = true;
	}
	if (need) {
		enum store_err e;
		int64_t began = clock_ms();

		if (!ready) {
			pthread_mutex_lock(&s->why_lock);
			snprintf(l->why, sizeof(l->why), "context store not ready: %.130s",
			         s->unready_why);
			pthread_mutex_unlock(&s->why_lock);
			e = STORE_UNAVAILABLE;
		} else {
			atomic_fetch_add_explicit(&s->fetches, 1, memory_order_relaxed);
			e = s->ops->fetch(s->be, worker, &f, l->why, sizeof(l->why));
		}
		if (e == STORE_OK) {
			store_answered(s);
		} else if (e == STORE_UNAVAILABLE) {
			if (ready)
				note_failure(s, l->why, now_ms);
			if (ready && clock_ms() - began >= (int64_t)cfg->timeout_ms)
				atomic_fetch_add_explicit(&s->fetch_timeouts, 1,
				                          memory_order_relaxed);
		} else {
			log_bad_record(l->why);
		}
		for (int k = 0; k < STORE_KINDS; k++) {
			struct store_value *v = f.value[k];

			if (f.key[k] == NULL)
				continue;
			if (e == STORE_OK && v != NULL) {
				int64_t ttl =
				    (int64_t)(v->found ? cfg->ttl_ms : cfg->negative_ttl_ms);

				v->confirmed_ms = now_ms;
				/* Kept past its freshness for as long as it may serve stale. */
				atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
				cache_put_if(s->cache[k], f.key[k], f.len[k], v,
				             now_ms + ttl + (int64_t)cfg->stale_max_ms, gen[k]);
				use(l, k, v);
			} else if (e == STORE_UNAVAILABLE && stale[k] != NULL &&
			           now_ms < stale_until(s, stale[k], now_ms)) {
				use(l, k, stale[k]);
				stale[k] = NULL;
				l->stale = true;
			} else {
				store_value_unref(v);
				if (l->err == STORE_OK)
					l->err = e != STORE_OK ? e : STORE_NO_MEMORY;
			}
		}
		if (l->stale)
			atomic_fetch_add_explicit(&s->stale_served, 1, memory_order_relaxed);
		if (l->err != STORE_OK)
			atomic_fetch_add_explicit(&s->unavailable, 1, memory_order_relaxed);
	}
	for (int k = 0; k < STORE_KINDS; k++)
		store_value_unref(stale[k]);
	if (memo != NULL && l->err == STORE_OK && !l->stale && live)
		memo_keep(memo, l->held);
found:
	if (l->held[STORE_DEVICE] != NULL && l->held[STORE_DEVICE]->found) {
		struct device_record *d = &l->device_view;

		/* A compliance verdict not refreshed within device_max_age is not a verdict. */
		if (cfg->device_max_age_s > 0 &&
		    (d->updated <= 0 || now_s - d->updated > (int64_t)cfg->device_max_age_s))
			d->compliant = false;
		l->device = d;
	}
	if (l->err == STORE_OK)
		l->why[0] = '\0';
}

void
store_lookup_done(struct store_lookup *l)
{
	for (int k = 0; k < STORE_KINDS; k++) {
		store_value_unref(l->held[k]);
		l->held[k] = NULL;
	}
}
