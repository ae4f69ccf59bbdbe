/* store_redis.c - the Redis backend: a connection per worker, pipelined lookups, an event
 * subscriber */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context/record.h"
#include "context/redis_link.h"
#include "context/store_backend.h"
#include "core/cache.h"
#include "core/clock.h"
#include "core/log.h"

/* Reconnecting waits this long after a failure, doubling up to the maximum. */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
/* The subscriber looks at the link at least this often. */
#define TICK_MS 1000
/* The subscriber is off the request path: it may wait longer than a request to connect. */
#define SUBSCRIBER_TIMEOUT_MS 1000

/* A worker's own connection; NULL while down, retried from retry_at. */
struct conn {
	redisContext *c;
	int64_t retry_at;
	int64_t backoff;
	char why[256]; /* why it is down */
};

/*
 * The revoked jtis, mirrored (DESIGN §5: revocations are few and short-lived):
 * loaded by SCAN each time the subscriber (re)subscribes, and kept current by
 * every "jti X" event (the PTTL of X, asked on the subscriber's own command
 * connection). While complete, a jti not in the set is not revoked, so a
 * first-seen token costs no round trip. Incomplete (events down, a refresh
 * failed, more revoked jtis than fit): jtis are fetched like any other key.
 * epoch moves whenever it stops being complete, so a reader can tell that a
 * miss raced with a reload.
 */
struct jti_mirror {
	struct cache *set; /* jti -> (no value) until the key expires, monotonic ms */
	size_t bound;      /* at most this many; 0: never complete */
	atomic_bool complete;
	atomic_uint_fast64_t epoch;
	redisContext *aux; /* subscriber thread only */
	bool said_full;
	char said[256]; /* the last failure logged */
};

struct redis_store {
	struct store *store;
	struct redis_link link;
	const char *prefix;
	int64_t timeout_ms;
	int64_t heartbeat_ms, heartbeat_timeout_ms;
	uint64_t max_lag_s;
	char gen_key[300]; /* PREFIXgeneration */
	/* The generation marker's value as last checked (a hash; 0: none known yet). */
	atomic_uint_fast64_t generation;
	struct conn *conns;
	unsigned n_conns;
	pthread_t subscriber;
	bool subscriber_started;
	int stop_pipe[2];
	struct jti_mirror mirror;
};

static void
backoff(struct conn *cn, int64_t now)
{
	cn->backoff = cn->backoff == 0 ? BACKOFF_MIN_MS : cn->backoff * 2;
	if (cn->backoff > BACKOFF_MAX_MS)
		cn->backoff = BACKOFF_MAX_MS;
	cn->retry_at = now + cn->backoff;
}

static void
conn_down(struct conn *cn, const char *why, int64_t now)
{
	redisFree(cn->c);
	cn->c = NULL;
	snprintf(cn->why, sizeof(cn->why), "%.200s", why);
	backoff(cn, now);
}

/* --- lookups ----------------------------------------------------------------------- */

/* Appends the command for kind k of f: HGETALL for records, EXISTS for a revoked jti. */
static int
append_lookup(struct redis_store *rs, redisContext *c, int k, const struct store_fetch *f)
{
	size_t pl = strlen(rs->prefix), kl = strlen(store_kind_names[k]);
	size_t n = pl + kl + 1 + f->len[k];
	char *key = malloc(n);
	const char *argv[2] = {k == STORE_JTI ? "EXISTS" : "HGETALL", key};
	size_t lens[2] = {strlen(argv[0]), n};
	int rc;

	if (key == NULL)
		return -1;
	memcpy(key, rs->prefix, pl);
	memcpy(key + pl, store_kind_names[k], kl);
	key[pl + kl] = ':';
	memcpy(key + pl + kl + 1, f->key[k], f->len[k]);
	rc = redisAppendCommandArgv(c, 2, argv, lens);
	free(key);
	return rc == REDIS_OK ? 0 : -1;
}

/* Reads a hash reply into a new value for kind k; NULL with why on a bad record. */
static struct store_value *
value_from_hash(int k, const struct store_fetch *f, const redisReply *r, char *why, size_t whysz)
{
	struct store_value *v;
	size_t room = f->len[k] + 1;

	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
		snprintf(why, whysz, "%s %s: not a hash", store_kind_names[k], "record");
		return NULL;
	}
	for (size_t i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING) {
			snprintf(why, whysz, "%s record: not a hash", store_kind_names[k]);
			return NULL;
		}
		room += r->element[i]->len + 1;
	}
	if ((v = store_value_new(room)) == NULL) {
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	v->found = r->elements > 0;
	if (k == STORE_DEVICE)
		v->device.id = store_value_copy(v, f->key[k], f->len[k]);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *name = r->element[i], *val = r->element[i + 1];
		const char *bad = "";
		enum record_set rc;

		if (memchr(name->str, '\0', name->len) != NULL)
			continue;
		rc = k == STORE_DEVICE
		         ? record_device_set(&v->device, name->str, val->str, val->len,
		                             store_value_copy, v, &bad)
		         : record_user_set(&v->user, name->str, val->str, val->len, &bad);
		/* Fields the PDP does not use are a feed's business; a bad one is not. */
		if (rc == RECORD_SET_BAD) {
			char id[64];

			snprintf(why, whysz, "%s %s: %s", store_kind_names[k],
			         log_escape_n(id, sizeof(id), f->key[k], f->len[k]), bad);
			store_value_unref(v);
			return NULL;
		}
	}
	return v;
}

/* A hash of a generation marker's value; never 0 (none known). */
static uint64_t
generation_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

/*
 * What the generation marker's reply r says: STORE_OK when it is the one
 * last checked. Missing or changed: the store lost (or replaced) its data,
 * and is not ready until the subscriber checks it again.
 */
static enum store_err
generation_check(struct redis_store *rs, const redisReply *r, char *err, size_t errsz)
{
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errsz, "generation marker: %.100s", r->str);
		return STORE_UNAVAILABLE;
	}
	if (r->type == REDIS_REPLY_STRING &&
	    generation_hash(r->str, r->len) == atomic_load(&rs->generation))
		return STORE_OK;
	snprintf(err, errsz, "the generation marker %.100s is %s", rs->gen_key,
	         r->type == REDIS_REPLY_NIL ? "missing: the store lost its data"
	                                    : "not the one checked");
	store_set_ready(rs->store, false, 0, err);
	return STORE_UNAVAILABLE;
}

static enum store_err
redis_fetch(void *be, unsigned worker, struct store_fetch *f, char *err, size_t errsz)
{
	struct redis_store *rs = be;
	struct conn *cn = &rs->conns[worker % rs->n_conns];
	redisReply *replies[STORE_KINDS + 1] = {NULL, NULL, NULL, NULL};
	int kinds[STORE_KINDS], n = 0;
	int64_t now = clock_ms(), deadline = now + rs->timeout_ms;
	enum store_err e = STORE_OK;

	for (int attempt = 0;; attempt++) {
		bool reused = cn->c != NULL;

		if (cn->c == NULL) {
			if (now < cn->retry_at) {
				snprintf(err, errsz, "%s", cn->why);
				return STORE_UNAVAILABLE;
			}
			cn->c = redis_link_open(&rs->link, deadline, err, errsz);
			if (cn->c == NULL) {
				snprintf(cn->why, sizeof(cn->why), "%.200s", err);
				backoff(cn, now);
				return STORE_UNAVAILABLE;
			}
		}
		n = 0;
		for (int k = 0; k < STORE_KINDS; k++) {
			if (f->key[k] == NULL)
				continue;
			if (append_lookup(rs, cn->c, k, f) != 0) {
				snprintf(err, errsz, "out of memory");
				conn_down(cn, err, now);
				return STORE_NO_MEMORY;
			}
			kinds[n++] = k;
		}
		/* Last: the records were read before anything that emptied the store since. */
		if (redisAppendCommand(cn->c, "GET %s", rs->gen_key) != REDIS_OK) {
			snprintf(err, errsz, "out of memory");
			conn_down(cn, err, now);
			return STORE_NO_MEMORY;
		}
		if (redis_link_exchange(cn->c, replies, (size_t)n + 1, deadline, err, errsz) == 0)
			break;
		/* A timed-out or broken hiredis context is dead. A connection that had been
		 * idle may simply have outlived a Redis restart: one fresh try, if time is left. */
		redisFree(cn->c);
		cn->c = NULL;
		now = clock_ms();
		if (!reused || attempt > 0 || now >= deadline) {
			conn_down(cn, err, now);
			return STORE_UNAVAILABLE;
		}
	}
	cn->backoff = 0;
	e = generation_check(rs, replies[n], err, errsz);
	for (int i = 0; i < n; i++) {
		int k = kinds[i];
		const redisReply *r = replies[i];

		if (e != STORE_OK)
			break;
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errsz, "%s lookup: %.*s", store_kind_names[k],
			         (int)(r->len < 100 ? r->len : 100), r->str);
			e = STORE_UNAVAILABLE;
		} else if (k == STORE_JTI) {
			if (r->type != REDIS_REPLY_INTEGER) {
				snprintf(err, errsz, "jti lookup: unexpected reply");
				e = STORE_UNAVAILABLE;
			} else if ((f->value[k] = store_value_new(0)) == NULL) {
				e = STORE_NO_MEMORY;
			} else {
				f->value[k]->found = r->integer > 0;
			}
		} else if ((f->value[k] = value_from_hash(k, f, r, err, errsz)) == NULL) {
			e = STORE_BAD_RECORD;
		}
	}
	for (int i = 0; i <= n; i++)
		freeReplyObject(replies[i]);
	if (e != STORE_OK) {
		for (int k = 0; k < STORE_KINDS; k++) {
			store_value_unref(f->value[k]);
			f->value[k] = NULL;
		}
	}
	return e;
}

/* --- events ------------------------------------------------------------------------ */

/* --- the revoked-jti mirror (subscriber thread, but for redis_jti_revoked) -------------- */

static void
mirror_incomplete(struct jti_mirror *m)
{
	atomic_store(&m->complete, false);
	atomic_fetch_add(&m->epoch, 1);
}

static int
redis_jti_revoked(void *be, const char *jti, size_t len, int64_t now_ms)
{
	struct jti_mirror *m = &((struct redis_store *)be)->mirror;
	uint_fast64_t epoch = atomic_load(&m->epoch);
	const struct cache_entry *e;

	if (!atomic_load(&m->complete))
		return -1;
	e = cache_get(m->set, jti, len, now_ms);
	if (e != NULL) {
		cache_release(m->set, e);
		return 1;
	}
	/* A miss counts only if the set stayed complete meanwhile. */
	return atomic_load(&m->epoch) == epoch ? 0 : -1;
}

/* Sends what was appended to the command connection and reads n replies; -1 drops it. */
static int
mirror_exchange(struct redis_store *rs, redisReply **replies, size_t n, char *why, size_t whysz)
{
	struct jti_mirror *m = &rs->mirror;

	if (redis_link_exchange(m->aux, replies, n, clock_ms() + SUBSCRIBER_TIMEOUT_MS, why,
	                        whysz) == 0)
		return 0;
	redisFree(m->aux);
	m->aux = NULL;
	return -1;
}

static bool
mirror_connect(struct redis_store *rs, char *why, size_t whysz)
{
	struct jti_mirror *m = &rs->mirror;

	if (m->aux == NULL)
		m->aux = redis_link_open(&rs->link, clock_ms() + SUBSCRIBER_TIMEOUT_MS, why, whysz);
	return m->aux != NULL;
}

/* One command on the command connection (connected if need be); 0, or -1 with why. */
static int mirror_command(struct redis_store *rs, redisReply **reply, char *why, size_t whysz,
                          const char *fmt, ...);

static int
mirror_command(struct redis_store *rs, redisReply **reply, char *why, size_t whysz, const char *fmt,
               ...)
{
	struct jti_mirror *m = &rs->mirror;
	va_list ap;
	int rc;

	if (!mirror_connect(rs, why, whysz))
		return -1;
	va_start(ap, fmt);
	rc = redisvAppendCommand(m->aux, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK) {
		snprintf(why, whysz, "out of memory");
		redisFree(m->aux);
		m->aux = NULL;
		return -1;
	}
	return mirror_exchange(rs, reply, 1, why, whysz);
}

/* Records what PTTL said of jti: -2 gone, -1 no expiry, else milliseconds left. */
static int
mirror_put(struct jti_mirror *m, const char *jti, size_t len, const redisReply *pttl, int64_t now)
{
	if (pttl->type != REDIS_REPLY_INTEGER)
		return -1;
	if (pttl->integer == -2) {
		cache_invalidate(m->set, jti, len);
		return 0;
	}
	return cache_put(m->set, jti, len, NULL,
	                 pttl->integer < 0 ? INT64_MAX : now + (int64_t)pttl->integer);
}

static uint64_t
mirror_evictions(struct jti_mirror *m)
{
	struct cache_stats st;

	cache_get_stats(m->set, &st);
	return st.evictions;
}

/* Appends s to out with Redis glob characters escaped. */
static void
glob_escape(char *out, size_t outsz, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < outsz; s++) {
		if (strchr("*?[]\\", *s) != NULL)
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

/*
 * The generation marker's hash in *gen (0: absent), read on the mirror's
 * connection. Returns 0, or -1 with why.
 */
static int
mirror_generation(struct redis_store *rs, uint64_t *gen, char *why, size_t whysz)
{
	redisReply *r = NULL;
	int rc = -1;

	if (mirror_command(rs, &r, why, whysz, "GET %s", rs->gen_key) != 0)
		return -1;
	if (r->type == REDIS_REPLY_NIL) {
		*gen = 0;
		rc = 0;
	} else if (r->type == REDIS_REPLY_STRING) {
		*gen = generation_hash(r->str, r->len);
		rc = 0;
	} else {
		snprintf(why, whysz, "GET %.100s: %.120s", rs->gen_key,
		         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
	freeReplyObject(r);
	return rc;
}

/*
 * Loads every revoked jti (SCAN prefix jti:*, then PTTL of each). Complete
 * only when the generation marker was there, the same, before and after the
 * scan: an empty store (lost, or being restored) is never mirrored as "no
 * revocations". Returns true when the mirror is complete; false with why
 * when it failed, or with why empty when there are more than it keeps.
 */
static bool
mirror_load(struct redis_store *rs, char *why, size_t whysz)
{
	struct jti_mirror *m = &rs->mirror;
	char pattern[300], cursor[32] = "0";
	size_t skip = strlen(rs->prefix) + 4, total = 0;
	uint64_t evicted, gen_before, gen_after;

	mirror_incomplete(m);
	cache_flush(m->set);
	why[0] = '\0';
	if (m->bound == 0)
		return false;
	if (mirror_generation(rs, &gen_before, why, whysz) != 0)
		return false;
	if (gen_before == 0) {
		snprintf(why, whysz, "no generation marker %.100s", rs->gen_key);
		return false;
	}
	glob_escape(pattern, sizeof(pattern) - 8, rs->prefix);
	strcat(pattern, "jti:*");
	evicted = mirror_evictions(m);
	do {
		redisReply *scan = NULL, **pttl = NULL;
		const redisReply *keys;
		int64_t now;
		bool ok = true;

		if (mirror_command(rs, &scan, why, whysz, "SCAN %s MATCH %s COUNT 1000", cursor,
		                   pattern) != 0)
			return false;
		if (scan->type != REDIS_REPLY_ARRAY || scan->elements != 2 ||
		    scan->element[0]->type != REDIS_REPLY_STRING ||
		    scan->element[0]->len >= sizeof(cursor) ||
		    scan->element[1]->type != REDIS_REPLY_ARRAY) {
			snprintf(why, whysz, "SCAN: unexpected reply");
			freeReplyObject(scan);
			return false;
		}
		memcpy(cursor, scan->element[0]->str, scan->element[0]->len + 1);
		keys = scan->element[1];
		total += keys->elements;
		if (total > m->bound / 2) {
			freeReplyObject(scan);
			return false; /* more than fit: lookups ask Redis */
		}
		for (size_t i = 0; i < keys->elements; i++) {
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    keys->element[i]->len <= skip)
				ok = false;
		}
		if (!ok) {
			snprintf(why, whysz, "SCAN: unexpected key");
			freeReplyObject(scan);
			return false;
		}
		if (keys->elements > 0) {
			pttl = calloc(keys->elements, sizeof(*pttl));
			for (size_t i = 0; pttl != NULL && i < keys->elements; i++) {
				if (redisAppendCommand(m->aux, "PTTL %b", keys->element[i]->str,
				                       keys->element[i]->len) != REDIS_OK)
					ok = false;
			}
			if (pttl == NULL || !ok) {
				/* Commands may be half appended: the connection cannot be reused.
				 */
				redisFree(m->aux);
				m->aux = NULL;
				snprintf(why, whysz, "out of memory");
				free(pttl);
				freeReplyObject(scan);
				return false;
			}
			if (mirror_exchange(rs, pttl, keys->elements, why, whysz) != 0) {
				free(pttl);
				freeReplyObject(scan);
				return false;
			}
			now = clock_ms();
			for (size_t i = 0; i < keys->elements; i++) {
				const redisReply *k = keys->element[i];

				if (ok && mirror_put(m, k->str + skip, k->len - skip, pttl[i],
				                     now) != 0) {
					snprintf(why, whysz, "PTTL: unexpected reply");
					ok = false;
				}
				freeReplyObject(pttl[i]);
			}
			free(pttl);
		}
		freeReplyObject(scan);
		if (!ok)
			return false;
	} while (strcmp(cursor, "0") != 0);
	if (mirror_evictions(m) != evicted)
		return false;
	if (mirror_generation(rs, &gen_after, why, whysz) != 0)
		return false;
	if (gen_after != gen_before) {
		snprintf(why, whysz, "the generation marker %.100s changed during the scan",
		         rs->gen_key);
		return false;
	}
	atomic_store(&m->complete, true);
	return true;
}

/* After the event "jti X": what Redis says of X now. A failure leaves the mirror incomplete. */
static void
mirror_refresh(struct redis_store *rs, const char *jti, size_t len)
{
	struct jti_mirror *m = &rs->mirror;
	redisReply *pttl = NULL;
	size_t plen = strlen(rs->prefix);
	char *key, why[256] = "out of memory";
	uint64_t evicted;
	bool ok;

	if (!atomic_load(&m->complete))
		return;
	evicted = mirror_evictions(m);
	key = malloc(plen + 4 + len);
	ok = key != NULL;
	if (ok) {
		memcpy(key, rs->prefix, plen);
		memcpy(key + plen, "jti:", 4);
		memcpy(key + plen + 4, jti, len);
		ok = mirror_command(rs, &pttl, why, sizeof(why), "PTTL %b", key, plen + 4 + len) ==
		     0;
	}
	if (ok &&
	    (mirror_put(m, jti, len, pttl, clock_ms()) != 0 || mirror_evictions(m) != evicted)) {
		snprintf(why, sizeof(why), "PTTL: unexpected reply, or the mirror is full");
		ok = false;
	}
	if (!ok) {
		mirror_incomplete(m);
		log_warn("context store: revoked jtis are looked up per token until reloaded: %s",
		         why);
	}
	freeReplyObject(pttl);
	free(key);
}

/* Loads the mirror, saying so when it cannot be complete. */
static void
mirror_reload(struct redis_store *rs)
{
	struct jti_mirror *m = &rs->mirror;
	char why[256];

	if (mirror_load(rs, why, sizeof(why))) {
		m->said_full = false;
		m->said[0] = '\0';
		return;
	}
	if (why[0] != '\0') {
		/* Once per reason: a failed load is retried every tick. */
		if (strcmp(why, m->said) != 0)
			log_warn(
			    "context store: cannot mirror the revoked jtis (%s): looked up per "
			    "token",
			    why);
		snprintf(m->said, sizeof(m->said), "%s", why);
	} else if (m->bound > 0 && !m->said_full) {
		m->said_full = true;
		log_warn("context store: more revoked jtis than half of cache_entries (%zu): "
		         "looked up per token",
		         m->bound);
	}
}

/* Waits up to ms for the stop pipe; true when stopping. */
static bool
wait_stop(struct redis_store *rs, int64_t ms)
{
	struct pollfd pfd = {.fd = rs->stop_pipe[0], .events = POLLIN};

	return poll(&pfd, 1, (int)ms) > 0;
}

/*
 * Checks, on the command connection, that the store holds its data: the
 * generation marker is there (a changed one drops every cached record: the
 * store was replaced) and INFO says it is neither loading nor a replica
 * whose link to its primary is down, syncing or silent. Bounded by the
 * heartbeat timeout. Returns true, or false with why.
 */
static bool
check_store(struct redis_store *rs, char *why, size_t whysz)
{
	struct jti_mirror *m = &rs->mirror;
	redisReply *r[3] = {NULL, NULL, NULL};
	char *info = NULL;
	bool ok = false;

	if (!mirror_connect(rs, why, whysz))
		return false;
	if (redisAppendCommand(m->aux, "GET %s", rs->gen_key) != REDIS_OK ||
	    redisAppendCommand(m->aux, "INFO replication") != REDIS_OK ||
	    redisAppendCommand(m->aux, "INFO persistence") != REDIS_OK) {
		snprintf(why, whysz, "out of memory");
		redisFree(m->aux);
		m->aux = NULL;
		return false;
	}
	if (redis_link_exchange(m->aux, r, 3, clock_ms() + rs->heartbeat_timeout_ms, why, whysz) !=
	    0) {
		redisFree(m->aux);
		m->aux = NULL;
		return false;
	}
	if (r[0]->type == REDIS_REPLY_ERROR) {
		snprintf(why, whysz, "%.120s", r[0]->str);
	} else if (r[0]->type == REDIS_REPLY_NIL) {
		snprintf(why, whysz,
		         "no generation marker %.100s: the store lost its data, or was never "
		         "initialised (pdp admin init)",
		         rs->gen_key);
	} else if (r[0]->type != REDIS_REPLY_STRING || r[1]->type != REDIS_REPLY_STRING ||
	           r[2]->type != REDIS_REPLY_STRING) {
		snprintf(why, whysz, "INFO: unexpected reply");
	} else if ((info = malloc(r[1]->len + r[2]->len + 2)) == NULL) {
		snprintf(why, whysz, "out of memory");
	} else {
		uint64_t gen = generation_hash(r[0]->str, r[0]->len), was;

		memcpy(info, r[1]->str, r[1]->len);
		info[r[1]->len] = '\n';
		memcpy(info + r[1]->len + 1, r[2]->str, r[2]->len);
		ok = redis_link_info_ready(info, r[1]->len + 1 + r[2]->len, rs->max_lag_s, why,
		                           whysz) == 1;
		if (ok && (was = atomic_exchange(&rs->generation, gen)) != gen && was != 0) {
			log_warn("context store: the generation marker changed (the store was "
			         "replaced): dropping every cached record");
			mirror_reload(rs);
			store_flush(rs->store);
		}
	}
	free(info);
	for (int i = 0; i < 3; i++)
		freeReplyObject(r[i]);
	return ok;
}

/*
 * The store checked out. Coming back from not ready (records may have come
 * back without events: a restore, a full sync), the mirror is loaded again
 * before the store is declared ready, so no lookup trusts a mirror taken
 * while the store was empty; while ready, one left incomplete by a failed
 * refresh is. A load that fails leaves it incomplete: jtis are then looked
 * up per token.
 */
static void
become_ready(struct redis_store *rs)
{
	if (!store_is_ready(rs->store)) {
		rs->mirror.said_full = false;
		mirror_reload(rs);
	} else if (!atomic_load(&rs->mirror.complete) && !rs->mirror.said_full) {
		mirror_reload(rs);
	}
	store_set_ready(rs->store, true, 0, NULL);
}

/*
 * Reads events from a subscribed context until it fails (why) or stop is
 * asked (returns 1). Every heartbeat it sends PING (allowed while
 * subscribed) and checks the store (check_store): a PING unanswered within
 * the heartbeat timeout is a stalled link, and the store is not ready from
 * the last moment it was known current (the send time of the last PING
 * answered, or of the last check passed, whichever is earlier).
 */
static int
listen_events(struct redis_store *rs, redisContext *c, int64_t current_at, char *why, size_t whysz)
{
	int64_t ping_at = 0, next_beat = clock_ms() + rs->heartbeat_ms;
	int64_t pong_at = current_at, checked_at = current_at;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
		                        {.fd = rs->stop_pipe[0], .events = POLLIN}};
		int64_t wait = next_beat - clock_ms();
		int n, done = 0;
		int64_t now;
		void *reply;

		if (ping_at != 0 && ping_at + rs->heartbeat_timeout_ms - clock_ms() < wait)
			wait = ping_at + rs->heartbeat_timeout_ms - clock_ms();
		n = poll(pfd, 2, (int)(wait < 0 ? 0 : wait > TICK_MS ? TICK_MS : wait));
		now = clock_ms();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whysz, "poll: %s", strerror(errno));
			return 0;
		}
		if (pfd[1].revents != 0)
			return 1;
		if (ping_at != 0 && now - ping_at >= rs->heartbeat_timeout_ms) {
			snprintf(why, whysz,
			         "no answer to PING on the events connection within %lld ms",
			         (long long)rs->heartbeat_timeout_ms);
			store_set_ready(rs->store, false,
			                pong_at < checked_at ? pong_at : checked_at, why);
			return 0;
		}
		if (now >= next_beat) {
			char bad[256];

			next_beat = now + rs->heartbeat_ms;
			if (ping_at == 0) {
				if (redisAppendCommand(c, "PING") != REDIS_OK ||
				    redisBufferWrite(c, &done) != REDIS_OK) {
					snprintf(why, whysz, "PING: %s", c->errstr);
					return 0;
				}
				ping_at = now;
			}
			if (check_store(rs, bad, sizeof(bad))) {
				checked_at = now;
				/* Ready only while the events connection answers too. */
				if (now - pong_at < rs->heartbeat_ms + rs->heartbeat_timeout_ms)
					become_ready(rs);
			} else {
				/* Records may come back without events (a restore, a full
				 * sync): the mirror is loaded again before it is trusted. */
				mirror_incomplete(&rs->mirror);
				store_set_ready(rs->store, false,
				                pong_at < checked_at ? pong_at : checked_at, bad);
			}
		}
		if (n == 0 || pfd[0].revents == 0)
			continue;
		if (redisBufferRead(c) != REDIS_OK) {
			snprintf(why, whysz, "%s", c->errstr[0] ? c->errstr : "connection closed");
			return 0;
		}
		while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply != NULL) {
			redisReply *r = reply;

			if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    strcmp(r->element[0]->str, "message") == 0 &&
			    r->element[2]->type == REDIS_REPLY_STRING) {
				const char *msg = r->element[2]->str;
				size_t len = r->element[2]->len;

				/* The mirror first: a lookup that misses the cache after the
				 * invalidation must find the mirror current. */
				if (len > 4 && memcmp(msg, "jti ", 4) == 0)
					mirror_refresh(rs, msg + 4, len - 4);
				else if (!(len > 5 && memcmp(msg, "user ", 5) == 0) &&
				         !(len > 7 && memcmp(msg, "device ", 7) == 0)) {
					/* flush, or unreadable: start over (once ready) */
					if (store_is_ready(rs->store))
						mirror_reload(rs);
					else
						mirror_incomplete(&rs->mirror);
				}
				store_event(rs->store, msg, len);
			} else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
			           r->element[0]->type == REDIS_REPLY_STRING &&
			           strcmp(r->element[0]->str, "pong") == 0 && ping_at != 0) {
				pong_at = ping_at;
				ping_at = 0;
				store_answered(rs->store);
			}
			freeReplyObject(r);
		}
		if (c->err != 0) {
			snprintf(why, whysz, "%s", c->errstr);
			return 0;
		}
	}
}

static void *
subscriber_main(void *arg)
{
	struct redis_store *rs = arg;
	struct conn cn = {NULL, 0, 0, ""};
	char channel[256], why[256];

	snprintf(channel, sizeof(channel), "%sevents", rs->prefix);
	for (;;) {
		redisReply *reply = NULL;
		int64_t now = clock_ms();

		snprintf(why, sizeof(why), "SUBSCRIBE %.100s: out of memory", channel);
		cn.c = redis_link_open(&rs->link, now + SUBSCRIBER_TIMEOUT_MS, why, sizeof(why));
		if (cn.c != NULL && redisAppendCommand(cn.c, "SUBSCRIBE %s", channel) == REDIS_OK &&
		    redis_link_exchange(cn.c, &reply, 1, now + SUBSCRIBER_TIMEOUT_MS, why,
		                        sizeof(why)) == 0) {
			bool ok = reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
			          reply->element[0]->type == REDIS_REPLY_STRING &&
			          strcmp(reply->element[0]->str, "subscribe") == 0;

			if (!ok)
				snprintf(why, sizeof(why), "SUBSCRIBE %.100s: %.120s", channel,
				         reply->type == REDIS_REPLY_ERROR ? reply->str
				                                          : "unexpected reply");
			freeReplyObject(reply);
			if (ok) {
				char bad[256];
				bool ready;

				cn.backoff = 0;
				cn.why[0] = '\0';
				/* Subscribed first, so no revocation falls between the check, the
				 * scan and events. */
				ready = check_store(rs, bad, sizeof(bad));
				rs->mirror.said_full = false;
				store_set_live(rs->store, true);
				if (ready)
					become_ready(rs);
				else
					store_set_ready(rs->store, false, 0, bad);
				if (listen_events(rs, cn.c, now, why, sizeof(why)) == 1)
					break;
				mirror_incomplete(&rs->mirror);
				store_set_live(rs->store, false);
			}
		}
		/* Said once per outage (and when the reason changes), not per retry. */
		if (strncmp(why, cn.why, 200) != 0)
			log_warn("context store events: %s; resubscribing", why);
		conn_down(&cn, why, clock_ms());
		if (wait_stop(rs, cn.retry_at - clock_ms()))
			break;
	}
	mirror_incomplete(&rs->mirror);
	store_set_live(rs->store, false);
	redisFree(cn.c);
	redisFree(rs->mirror.aux);
	rs->mirror.aux = NULL;
	return NULL;
}

/* --- open and close ---------------------------------------------------------------- */

static void
redis_close(void *be)
{
	struct redis_store *rs = be;

	if (rs->subscriber_started) {
		ssize_t w = write(rs->stop_pipe[1], "x", 1);

		(void)w;
		pthread_join(rs->subscriber, NULL);
	}
	for (unsigned i = 0; rs->conns != NULL && i < rs->n_conns; i++)
		redisFree(rs->conns[i].c);
	free(rs->conns);
	cache_free(rs->mirror.set);
	for (int i = 0; i < 2; i++) {
		if (rs->stop_pipe[i] >= 0)
			close(rs->stop_pipe[i]);
	}
	redis_link_fini(&rs->link);
	free(rs);
}

static void *
redis_open(struct store *s, const struct config_store *cfg, unsigned n_workers, char *err,
           size_t errsz)
{
	const struct redis_config *rc = cfg->backend_cfg;
	struct redis_store *rs = calloc(1, sizeof(*rs));

	if (rs == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	rs->stop_pipe[0] = rs->stop_pipe[1] = -1;
	rs->store = s;
	rs->prefix = rc->prefix;
	rs->timeout_ms = (int64_t)cfg->timeout_ms;
	rs->heartbeat_ms = rc->heartbeat_ms > 0 ? (int64_t)rc->heartbeat_ms : 1000;
	rs->heartbeat_timeout_ms =
	    rc->heartbeat_timeout_ms > 0 ? (int64_t)rc->heartbeat_timeout_ms : 2000;
	rs->max_lag_s = rc->replica_max_lag_s > 0 ? rc->replica_max_lag_s : 3;
	snprintf(rs->gen_key, sizeof(rs->gen_key), "%sgeneration", rc->prefix);
	atomic_init(&rs->generation, 0);
	rs->n_conns = n_workers > 0 ? n_workers : 1;
	rs->mirror.bound = cfg->cache_entries;
	atomic_init(&rs->mirror.complete, false);
	atomic_init(&rs->mirror.epoch, 0);
	if ((rs->mirror.set = cache_new(cfg->cache_entries, NULL)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	if (redis_link_init(&rs->link, rc, err, errsz) != 0)
		goto fail;
	if ((rs->conns = calloc(rs->n_conns, sizeof(*rs->conns))) == NULL ||
	    pipe2(rs->stop_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errsz, "out of memory");
		goto fail;
	}
	if (pthread_create(&rs->subscriber, NULL, subscriber_main, rs) != 0) {
		snprintf(err, errsz, "cannot start the event subscriber");
		goto fail;
	}
	rs->subscriber_started = true;
	return rs;
fail:
	redis_close(rs);
	return NULL;
}

/* What `pdp check` can know without serving: the password file reads. */
static int
redis_check(const struct config_store *cfg, char *err, size_t errsz)
{
	struct redis_link link;

	if (redis_link_init(&link, cfg->backend_cfg, err, errsz) != 0)
		return -1;
	redis_link_fini(&link);
	return 0;
}

static const char *const redis_config_paths[] = {"password_file", NULL};

const struct store_backend store_backend_redis = {
    .name = "redis",
    .events = true,
    .readiness = true,
    .waits = true,
    .config_keys = redis_config_keys,
    .implied_by = "address",
    .config_paths = redis_config_paths,
    .config_new = redis_config_new,
    .config_check = redis_config_check,
    .config_free = redis_config_free,
    .check = redis_check,
    .open = redis_open,
    .fetch = redis_fetch,
    .reload = NULL,
    .close = redis_close,
    .jti_revoked = redis_jti_revoked,
};
