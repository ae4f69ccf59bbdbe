/* store_redis.c - the Redis backend: a connection per worker, pipelined lookups, an event
 * subscriber */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "record.h"
#include "redis_link.h"
#include "store.h"

/* Reconnecting waits this long after a failure, doubling up to the maximum. */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
/*
 * Over TCP the subscriber sends PING after this much silence (a half-open
 * connection would otherwise hide lost events). Over a unix socket the
 * peer's end is always seen, so nothing is sent while all is well: warm
 * decisions leave Redis's command counter flat.
 */
#define PING_EVERY_MS 5000
/* The subscriber looks at the link this often. */
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

struct redis_store {
	struct store *store;
	struct redis_link link;
	const char *prefix;
	int64_t timeout_ms;
	struct conn *conns;
	unsigned n_conns;
	pthread_t subscriber;
	bool subscriber_started;
	int stop_pipe[2];
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

static enum store_err
redis_fetch(void *be, unsigned worker, struct store_fetch *f, char *err, size_t errsz)
{
	struct redis_store *rs = be;
	struct conn *cn = &rs->conns[worker % rs->n_conns];
	redisReply *replies[STORE_KINDS] = {NULL, NULL, NULL};
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
		if (redis_link_exchange(cn->c, replies, (size_t)n, deadline, err, errsz) == 0)
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
	for (int i = 0; i < n; i++)
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

/* Waits up to ms for the stop pipe; true when stopping. */
static bool
wait_stop(struct redis_store *rs, int64_t ms)
{
	struct pollfd pfd = {.fd = rs->stop_pipe[0], .events = POLLIN};

	return poll(&pfd, 1, (int)ms) > 0;
}

/*
 * Reads events from a subscribed context until it fails (why) or stop is
 * asked (returns 1). Sends PING (allowed while subscribed) when a TCP link
 * has been silent for PING_EVERY_MS, and every tick while lookups fail, so
 * health recovers as soon as Redis answers; a PING unanswered within a tick
 * is a dead link.
 */
static int
listen_events(struct redis_store *rs, redisContext *c, char *why, size_t whysz)
{
	bool tcp = rs->link.path[0] == '\0';
	int64_t heard = clock_ms(), ping_at = 0;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
		                        {.fd = rs->stop_pipe[0], .events = POLLIN}};
		int n = poll(pfd, 2, TICK_MS), done = 0;
		int64_t now = clock_ms();
		void *reply;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whysz, "poll: %s", strerror(errno));
			return 0;
		}
		if (pfd[1].revents != 0)
			return 1;
		if (n == 0) {
			if (ping_at != 0 && now - ping_at >= TICK_MS) {
				snprintf(why, whysz, "no answer to PING within %d ms", TICK_MS);
				return 0;
			}
			if (ping_at == 0 && ((tcp && now - heard >= PING_EVERY_MS) ||
			                     store_is_failing(rs->store))) {
				if (redisAppendCommand(c, "PING") != REDIS_OK ||
				    redisBufferWrite(c, &done) != REDIS_OK) {
					snprintf(why, whysz, "PING: %s", c->errstr);
					return 0;
				}
				ping_at = now;
			}
			continue;
		}
		if (redisBufferRead(c) != REDIS_OK) {
			snprintf(why, whysz, "%s", c->errstr[0] ? c->errstr : "connection closed");
			return 0;
		}
		heard = now;
		while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply != NULL) {
			redisReply *r = reply;

			if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    strcmp(r->element[0]->str, "message") == 0 &&
			    r->element[2]->type == REDIS_REPLY_STRING) {
				store_event(rs->store, r->element[2]->str, r->element[2]->len);
			} else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
			           r->element[0]->type == REDIS_REPLY_STRING &&
			           strcmp(r->element[0]->str, "pong") == 0) {
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
				cn.backoff = 0;
				cn.why[0] = '\0';
				store_set_live(rs->store, true);
				if (listen_events(rs, cn.c, why, sizeof(why)) == 1)
					break;
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
	store_set_live(rs->store, false);
	redisFree(cn.c);
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
	struct redis_store *rs = calloc(1, sizeof(*rs));

	if (rs == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	rs->stop_pipe[0] = rs->stop_pipe[1] = -1;
	rs->store = s;
	rs->prefix = cfg->prefix;
	rs->timeout_ms = (int64_t)cfg->timeout_ms;
	rs->n_conns = n_workers > 0 ? n_workers : 1;
	if (redis_link_init(&rs->link, cfg, err, errsz) != 0)
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

const struct store_backend store_backend_redis = {
    .name = "redis",
    .events = true,
    .open = redis_open,
    .fetch = redis_fetch,
    .reload = NULL,
    .close = redis_close,
};
