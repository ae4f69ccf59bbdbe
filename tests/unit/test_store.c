/* test_store.c - the context store's caches and semantics, over a fake backend */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/record.h"
#include "context/redis_link.h"
#include "context/store.h"
#include "context/store_backend.h"
#include "core/clock.h"
#include "testlib.h"

/* --- a fake backend: records in a table, every fetch counted ------------------------ */

struct fake {
	struct store *store;
	int fetches;
	int keys_fetched;
	bool failing;
	bool bad_record;
	const char *event_during_fetch; /* sent from inside the next fetch */
	/* devices "dN" are compliant when N is even; users "risky" and "off" have records */
	int64_t device_updated;
	int64_t revoked_before;
};

static struct fake *the_fake;

static void *
fake_open(struct store *s, const struct config_store *cfg, unsigned n, char *err, size_t errsz)
{
	(void)cfg;
	(void)n;
	(void)err;
	(void)errsz;
	the_fake->store = s;
	return the_fake;
}

static enum store_err
fake_fetch(void *be, unsigned worker, struct store_fetch *f, char *err, size_t errsz)
{
	struct fake *fk = be;

	(void)worker;
	fk->fetches++;
	if (fk->event_during_fetch != NULL) {
		/* The event arrives after the backend read the old value. */
		store_event(fk->store, fk->event_during_fetch, strlen(fk->event_during_fetch));
		fk->event_during_fetch = NULL;
	}
	if (fk->failing) {
		snprintf(err, errsz, "connect: refused");
		return STORE_UNAVAILABLE;
	}
	if (fk->bad_record) {
		snprintf(err, errsz, "device d1: compliant must be 0 or 1");
		return STORE_BAD_RECORD;
	}
	for (int k = 0; k < STORE_KINDS; k++) {
		struct store_value *v;
		const char *key = f->key[k];

		if (key == NULL)
			continue;
		fk->keys_fetched++;
		v = f->value[k] = store_value_new(f->len[k] + 1);
		assert_non_null(v);
		if (k == STORE_DEVICE && key[0] == 'd') {
			v->found = true;
			v->device.id = store_value_copy(v, key, f->len[k]);
			v->device.compliant = atoi(key + 1) % 2 == 0;
			v->device.updated = fk->device_updated;
		} else if (k == STORE_USER &&
		           (strcmp(key, "risky") == 0 || strcmp(key, "off") == 0)) {
			v->found = true;
			v->user.risk = key[0] == 'r' ? RISK_HIGH : RISK_NONE;
			v->user.disabled = key[0] == 'o';
			v->user.revoked_before = fk->revoked_before;
		} else if (k == STORE_JTI) {
			v->found = strncmp(key, "revoked", 7) == 0;
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
    .name = "fake",
    .open = fake_open,
    .fetch = fake_fetch,
    .reload = NULL,
    .close = fake_close,
};

/* The same backend, knowing every revoked jti ("rev-*") unless mirror_unknown. */
static int mirror_asked;
static bool mirror_unknown;

static int
fake_jti_revoked(void *be, const char *jti, size_t len, int64_t now_ms)
{
	(void)be;
	(void)now_ms;
	mirror_asked++;
	if (mirror_unknown)
		return -1;
	return len > 4 && memcmp(jti, "rev-", 4) == 0;
}

static const struct store_backend fake_mirror_backend = {
    .name = "fake-mirror",
    .open = fake_open,
    .fetch = fake_fetch,
    .reload = NULL,
    .close = fake_close,
    .jti_revoked = fake_jti_revoked,
};

struct fixture {
	struct fake fake;
	struct config_store cfg;
	struct store *s;
	int64_t t0; /* monotonic ms at setup */
};

static int
setup_with(void **state, const struct store_backend *backend)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	f->cfg = (struct config_store){
	    .timeout_ms = 50,
	    .stale_max_ms = 3000,
	    .ttl_ms = 60000,
	    .negative_ttl_ms = 10000,
	    .cache_entries = 1024,
	    .on_store_error = DEFAULT_DENY,
	};
	the_fake = &f->fake;
	f->s = store_open_backend(backend, &f->cfg, 2, err, sizeof(err));
	assert_non_null(f->s);
	f->t0 = clock_ms();
	*state = f;
	return 0;
}

/* Opens the fixture's store again with caches of entries each (0: off). */
static void
reopen_with_caches(struct fixture *f, size_t entries)
{
	char err[256];

	store_close(f->s);
	f->cfg.cache_entries = entries;
	f->s = store_open_backend(&fake_backend, &f->cfg, 2, err, sizeof(err));
	assert_non_null(f->s);
}

static int
setup(void **state)
{
	return setup_with(state, &fake_backend);
}

static int
setup_mirror(void **state)
{
	mirror_asked = 0;
	mirror_unknown = false;
	return setup_with(state, &fake_mirror_backend);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	free(f);
	return 0;
}

/* What a lookup found, copied out before it is released. */
struct seen {
	enum store_err err;
	char why[160];
	bool device, user, jti_revoked, stale;
	bool reused;          /* answered by the memo */
	bool compliant;       /* the device's verdict, device_max_age applied */
	bool session_revoked; /* the user's revoked_before is set */
};

/* Looks up device, user and jti at t0 + at ms, through memo if not NULL. */
static struct seen
look_through(struct fixture *f, struct store_memo *memo, const char *device, const char *user,
             const char *jti, int64_t at)
{
	struct store_lookup l;
	struct seen out;

	store_lookup(f->s, 0, device, user, jti, f->t0 + at, 1000000, memo, &l);
	out.err = l.err;
	snprintf(out.why, sizeof(out.why), "%s", l.why);
	out.device = l.device != NULL;
	out.user = l.user != NULL;
	out.jti_revoked = l.jti_revoked;
	out.stale = l.stale;
	out.reused = l.reused;
	out.compliant = l.device != NULL && l.device->compliant;
	out.session_revoked = l.user != NULL && l.user->revoked_before > 0;
	store_lookup_done(&l);
	return out;
}

static struct seen
look(struct fixture *f, const char *device, const char *user, const char *jti, int64_t at)
{
	return look_through(f, NULL, device, user, jti, at);
}

static void
cold_is_one_round_trip_warm_is_none(void **state)
{
	struct fixture *f = *state;
	struct seen l;

	l = look(f, "d2", "risky", "j1", 0);
	assert_int_equal(l.err, STORE_OK);
	assert_int_equal(f->fake.fetches, 1);
	assert_int_equal(f->fake.keys_fetched, 3);
	assert_true(l.device);
	assert_true(l.user);
	assert_false(l.jti_revoked);
	for (int i = 0; i < 100; i++)
		look(f, "d2", "risky", "j1", 10 + i);
	assert_int_equal(f->fake.fetches, 1);
	/* A new jti for a known subject fetches just that key. */
	look(f, "d2", "risky", "j2", 200);
	assert_int_equal(f->fake.fetches, 2);
	assert_int_equal(f->fake.keys_fetched, 4);
}

static void
records_reach_the_caller(void **state)
{
	struct fixture *f = *state;
	struct store_lookup l;

	store_lookup(f->s, 0, "d4", "risky", "revoked-1", f->t0, 1000000, NULL, &l);
	assert_int_equal(l.err, STORE_OK);
	assert_string_equal(l.device->id, "d4");
	assert_true(l.device->compliant);
	assert_int_equal(l.user->risk, RISK_HIGH);
	assert_true(l.jti_revoked);
	store_lookup_done(&l);
	/* An odd device is not compliant; an unknown one has no record. */
	store_lookup(f->s, 0, "d3", "nobody", NULL, f->t0, 1000000, NULL, &l);
	assert_false(l.device->compliant);
	assert_null(l.user);
	store_lookup_done(&l);
	store_lookup(f->s, 0, "x9", NULL, NULL, f->t0, 1000000, NULL, &l);
	assert_null(l.device);
	assert_int_equal(l.err, STORE_OK);
	store_lookup_done(&l);
}

static void
ttl_and_negative_ttl(void **state)
{
	struct fixture *f = *state;

	look(f, "d2", "nobody", NULL, 0); /* a record and a "no record" */
	assert_int_equal(f->fake.fetches, 1);
	/* Past negative_ttl (10 s), only the negative entry is fetched again. */
	look(f, "d2", "nobody", NULL, 10001);
	assert_int_equal(f->fake.fetches, 2);
	assert_int_equal(f->fake.keys_fetched, 3);
	look(f, "d2", NULL, NULL, 59999);
	assert_int_equal(f->fake.fetches, 2);
	/* Past ttl (60 s) the record is fetched again. */
	look(f, "d2", NULL, NULL, 60001);
	assert_int_equal(f->fake.fetches, 3);
}

static void
caches_are_bounded_lru(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;
	char id[32];

	reopen_with_caches(f, 32);
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		look(f, id, NULL, NULL, 0);
		/* d0 stays recent, so the bound evicts others. */
		look(f, "d0", NULL, NULL, 0);
	}
	store_get_stats(f->s, &st);
	assert_true(st.cache[STORE_DEVICE].entries <= 32);
	assert_true(st.cache[STORE_DEVICE].evictions >= 1000 - 32);
	f->fake.fetches = 0;
	look(f, "d0", NULL, NULL, 1);
	assert_int_equal(f->fake.fetches, 0);
	look(f, "d1", NULL, NULL, 1);
	assert_int_equal(f->fake.fetches, 1);
}

static void
events_invalidate_exactly_the_named_entry(void **state)
{
	struct fixture *f = *state;

	look(f, "d2", "risky", "j1", 0);
	look(f, "d4", "off", "j2", 0);
	assert_int_equal(f->fake.fetches, 2);
	store_event(f->s, "device d2", 9);
	look(f, "d4", "off", "j2", 1);
	assert_int_equal(f->fake.fetches, 2);
	look(f, "d2", "risky", "j1", 1);
	assert_int_equal(f->fake.fetches, 3);
	assert_int_equal(f->fake.keys_fetched, 7); /* just the device */
	store_event(f->s, "user risky", 10);
	store_event(f->s, "jti j2", 6);
	look(f, "d2", "risky", "j1", 2);
	look(f, "d4", "off", "j2", 2);
	assert_int_equal(f->fake.keys_fetched, 9);
	/* An id holding spaces is the rest of the message. */
	look(f, "d 6", NULL, NULL, 2);
	store_event(f->s, "device d 6", 10);
	look(f, "d 6", NULL, NULL, 3);
	assert_int_equal(f->fake.keys_fetched, 11);
}

static void
flush_and_unreadable_events_drop_everything(void **state)
{
	struct fixture *f = *state;
	struct store_stats st;

	look(f, "d2", "risky", "j1", 0);
	store_event(f->s, "flush", 5);
	look(f, "d2", "risky", "j1", 1);
	assert_int_equal(f->fake.fetches, 2);
	store_event(f->s, "devic d2", 8);
	look(f, "d2", "risky", "j1", 2);
	assert_int_equal(f->fake.fetches, 3);
	store_event(f->s, "device", 6); /* no id */
	look(f, "d2", "risky", "j1", 3);
	assert_int_equal(f->fake.fetches, 4);
	store_get_stats(f->s, &st);
	assert_int_equal(st.flushes, 3);
	assert_int_equal(st.events, 3);
}

static void
event_during_fetch_is_not_lost(void **state)
{
	struct fixture *f = *state;

	f->fake.event_during_fetch = "device d2";
	look(f, "d2", NULL, NULL, 0);
	/* The value read before the event must not be cached past it. */
	look(f, "d2", NULL, NULL, 1);
	assert_int_equal(f->fake.fetches, 2);
	look(f, "d2", NULL, NULL, 2);
	assert_int_equal(f->fake.fetches, 2);
}

static void
store_error_is_never_no_record(void **state)
{
	struct fixture *f = *state;
	struct seen l;
	char why[256];

	assert_true(store_healthy(f->s, why, sizeof(why)));
	f->fake.failing = true;
	l = look(f, "d2", "risky", "j1", 0);
	assert_int_equal(l.err, STORE_UNAVAILABLE);
	assert_string_equal(l.why, "connect: refused");
	assert_false(l.device);
	assert_false(l.jti_revoked);
	assert_false(store_healthy(f->s, why, sizeof(why)));
	assert_non_null(strstr(why, "connect: refused"));
	/* Nothing was cached from the failure: once it answers, the records are read. */
	f->fake.failing = false;
	l = look(f, "d2", "risky", "j1", 1);
	assert_int_equal(l.err, STORE_OK);
	assert_true(l.device);
	assert_true(store_healthy(f->s, why, sizeof(why)));
}

static void
stale_records_serve_up_to_stale_max(void **state)
{
	struct fixture *f = *state;
	struct seen l;
	struct store_stats st;
	char why[256];

	look(f, "d2", "risky", NULL, 0);
	/* Events stop: nothing cached is fresh, so it is read again... */
	store_set_live(f->s, false);
	assert_false(store_healthy(f->s, why, sizeof(why)));
	look(f, "d2", "risky", NULL, 1);
	assert_int_equal(f->fake.fetches, 2);
	/* ...and while the store fails, what was read serves until stale_max (3 s). */
	f->fake.failing = true;
	l = look(f, "d2", "risky", NULL, 2000);
	assert_int_equal(l.err, STORE_OK);
	assert_true(l.stale);
	assert_true(l.device);
	l = look(f, "d2", "risky", NULL, 3500);
	assert_int_equal(l.err, STORE_UNAVAILABLE);
	assert_false(l.stale);
	store_get_stats(f->s, &st);
	assert_int_equal(st.stale_served, 1);
	assert_int_equal(st.unavailable, 1);
	/* Events flowing again drop everything: they may have been missed. */
	f->fake.failing = false;
	store_set_live(f->s, true);
	look(f, "d2", "risky", NULL, 3600);
	assert_int_equal(f->fake.keys_fetched, 6);
}

static void
not_ready_store_is_never_no_record(void **state)
{
	struct fixture *f = *state;
	struct seen l;
	struct store_stats st;
	char why[256];

	look(f, "d2", "risky", "j1", 0);
	assert_true(store_is_ready(f->s));
	/* The store lost its data (found at 900 ms, known current until 500 ms). */
	store_set_ready(f->s, false, f->t0 + 500, "no generation marker");
	store_set_ready(f->s, false, f->t0 + 900, "no generation marker");
	assert_false(store_healthy(f->s, why, sizeof(why)));
	assert_string_equal(why, "context store not ready: no generation marker");
	/* A subject never seen: no round trip (the store would say "no record"). */
	l = look(f, "d4", "someone", "j2", 1000);
	assert_int_equal(l.err, STORE_UNAVAILABLE);
	assert_non_null(strstr(l.why, "not ready: no generation marker"));
	assert_int_equal(f->fake.fetches, 1);
	/* What was cached serves stale_max (3 s) from the earliest start given, no longer. */
	l = look(f, "d2", "risky", "j1", 3400);
	assert_int_equal(l.err, STORE_OK);
	assert_true(l.stale);
	assert_true(l.user);
	l = look(f, "d2", "risky", "j1", 3600);
	assert_int_equal(l.err, STORE_UNAVAILABLE);
	assert_int_equal(f->fake.fetches, 1);
	store_get_stats(f->s, &st);
	assert_false(st.ready);
	assert_int_equal(st.not_ready, 1);
	/* Ready again: everything cached is dropped, since events may have been missed. */
	store_set_ready(f->s, true, 0, NULL);
	assert_true(store_healthy(f->s, why, sizeof(why)));
	l = look(f, "d2", "risky", "j1", 3700);
	assert_int_equal(l.err, STORE_OK);
	assert_false(l.stale);
	assert_int_equal(f->fake.fetches, 2);
	store_get_stats(f->s, &st);
	assert_true(st.ready);
}

static void
stale_bound_counts_from_the_stall_start(void **state)
{
	struct fixture *f = *state;
	struct seen l;

	/* Fetched at 1 s, from a store that (it turns out) stalled at 500 ms. */
	look(f, "d2", "risky", "j1", 1000);
	store_set_ready(f->s, false, f->t0 + 500, "no answer to PING");
	/* It serves stale_max (3 s) from the stall's start, not from its fetch. */
	l = look(f, "d2", "risky", "j1", 3400);
	assert_int_equal(l.err, STORE_OK);
	assert_true(l.stale);
	l = look(f, "d2", "risky", "j1", 3600);
	assert_int_equal(l.err, STORE_UNAVAILABLE);
	assert_int_equal(f->fake.fetches, 1);
}

static void
not_ready_store_answers_no_memo(void **state)
{
	struct fixture *f = *state;
	struct store_memo memo;
	struct seen l;

	store_memo_init(&memo);
	look_through(f, &memo, "d2", "risky", "j1", 0);
	l = look_through(f, &memo, "d2", "risky", "j1", 10);
	assert_true(l.reused);
	/* A stall found at 2.5 s began when the store last answered, at 10 ms. */
	store_set_ready(f->s, false, f->t0 + 10, "no answer to PING");
	l = look_through(f, &memo, "d2", "risky", "j1", 2500);
	assert_false(l.reused);
	assert_true(l.stale);
	assert_int_equal(l.err, STORE_OK);
	l = look_through(f, &memo, "d2", "risky", "j1", 3100);
	assert_false(l.reused);
	assert_int_equal(l.err, STORE_UNAVAILABLE);
	assert_int_equal(f->fake.fetches, 1);
	store_memo_fini(&memo);
}

static void
replication_state_from_info(void **state)
{
	const char *primary = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n";
	const char *replica = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"
	                      "master_link_status:up\r\nmaster_last_io_seconds_ago:1\r\n"
	                      "master_sync_in_progress:0\r\n";
	static const char *const untrusted[][2] = {
	    {"role:slave\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\n"
	     "master_sync_in_progress:0\r\n",
	     "replica: the link to its primary is down"},
	    {"role:slave\nmaster_link_status:up\nmaster_last_io_seconds_ago:0\n"
	     "master_sync_in_progress:1\n",
	     "replica: syncing with its primary"},
	    {"role:master\r\n# Persistence\r\nloading:1\r\n", "loading its data"},
	    {"role:slave\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:x\r\n"
	     "master_sync_in_progress:0\r\n",
	     "replica: INFO says nothing readable of its link"},
	    {"", "INFO: no role"},
	    {"roles:master\r\nrole", "INFO: no role"},
	    {"role:sentinel\r\n", "INFO: unknown role"},
	};
	char why[128];

	(void)state;
	assert_int_equal(redis_link_info_ready(primary, strlen(primary), 3, why, sizeof(why)), 1);
	assert_int_equal(redis_link_info_ready(replica, strlen(replica), 3, why, sizeof(why)), 1);
	/* Silent past the bound, link down, syncing, loading, no role: not trusted. */
	assert_int_equal(redis_link_info_ready(replica, strlen(replica), 0, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "nothing heard from its primary for 1 s"));
	for (size_t i = 0; i < sizeof(untrusted) / sizeof(untrusted[0]); i++) {
		const char *info = untrusted[i][0];

		assert_int_equal(redis_link_info_ready(info, strlen(info), 3, why, sizeof(why)), 0);
		assert_string_equal(why, untrusted[i][1]);
	}
	/* len bounds the read: a role past it is not seen. */
	assert_int_equal(redis_link_info_ready(primary, 14, 3, why, sizeof(why)), 0);
}

static void
bad_record_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct seen l;
	char why[256];

	f->fake.bad_record = true;
	l = look(f, "d2", NULL, NULL, 0);
	assert_int_equal(l.err, STORE_BAD_RECORD);
	assert_false(l.device);
	/* One bad record does not make the store unhealthy. */
	assert_true(store_healthy(f->s, why, sizeof(why)));
}

static void
device_max_age(void **state)
{
	struct fixture *f = *state;
	struct store_lookup l;

	f->cfg.device_max_age_s = 3600;
	f->fake.device_updated = 1000000 - 3000; /* now_s is 1000000 in these tests */
	store_lookup(f->s, 0, "d2", NULL, NULL, f->t0, 1000000, NULL, &l);
	assert_true(l.device->compliant);
	store_lookup_done(&l);
	store_lookup(f->s, 0, "d2", NULL, NULL, f->t0, 1000000 + 601, NULL, &l);
	assert_false(l.device->compliant);
	store_lookup_done(&l);
	/* A record without "updated" cannot show its age. */
	f->fake.device_updated = 0;
	store_lookup(f->s, 0, "d4", NULL, NULL, f->t0, 1000000, NULL, &l);
	assert_false(l.device->compliant);
	store_lookup_done(&l);
}

/* Looks d2, risky and j1 up through m at t0 + at ms: every such lookup succeeds. */
static struct seen
memo_look(struct fixture *f, struct store_memo *m, int64_t at)
{
	struct seen l = look_through(f, m, "d2", "risky", "j1", at);

	assert_int_equal(l.err, STORE_OK);
	assert_true(l.device);
	return l;
}

/* A caller's memo answers only while each record in it is still cached and fresh. */
static void
memo_answers_while_its_records_are_current(void **state)
{
	struct fixture *f = *state;
	struct store_memo m;
	struct store_stats st;
	struct seen l;
	int fetches;

	store_memo_init(&m);
	assert_false(memo_look(f, &m, 0).reused);
	assert_int_equal(f->fake.fetches, 1);
	store_get_stats(f->s, &st);
	assert_true((l = memo_look(f, &m, 10)).reused);
	assert_true(l.compliant);
	assert_false(l.jti_revoked || l.session_revoked);
	/* No round trip, and no cache was asked. */
	assert_int_equal(f->fake.fetches, 1);
	{
		struct store_stats after;

		store_get_stats(f->s, &after);
		for (int k = 0; k < STORE_KINDS; k++)
			assert_int_equal(after.cache[k].hits + after.cache[k].misses,
			                 st.cache[k].hits + st.cache[k].misses);
	}
	/* device_max_age is judged on every request, the memo's too. */
	f->cfg.device_max_age_s = 3600;
	f->fake.device_updated = 0;
	assert_true((l = memo_look(f, &m, 20)).reused);
	assert_false(l.compliant);
	f->cfg.device_max_age_s = 0;

	/* An event for any of its records voids it: the next request sees the change. */
	f->fake.revoked_before = 5;
	store_event(f->s, "user risky", 10);
	assert_false((l = memo_look(f, &m, 30)).reused);
	assert_true(l.session_revoked);
	assert_int_equal(f->fake.fetches, 2);
	assert_int_equal(f->fake.keys_fetched, 4);
	assert_true((l = memo_look(f, &m, 40)).reused);
	assert_true(l.session_revoked);
	store_event(f->s, "device d2", 9);
	assert_false(memo_look(f, &m, 50).reused);
	store_event(f->s, "jti j1", 6);
	assert_false(memo_look(f, &m, 60).reused);
	store_flush(f->s);
	assert_false(memo_look(f, &m, 70).reused);
	assert_true(memo_look(f, &m, 80).reused);

	/* A record refused by its cache (an event raced its fetch) is not kept either. */
	store_event(f->s, "device d2", 9);
	f->fake.event_during_fetch = "device d2";
	assert_false(memo_look(f, &m, 90).reused);
	assert_false(memo_look(f, &m, 100).reused);
	assert_true(memo_look(f, &m, 110).reused);

	/* A memo another worker holds is passed over, not waited for: the caches answer. */
	fetches = f->fake.fetches;
	pthread_mutex_lock(&m.lock);
	assert_false(memo_look(f, &m, 111).reused);
	pthread_mutex_unlock(&m.lock);
	assert_int_equal(f->fake.fetches, fetches);
	assert_true(memo_look(f, &m, 112).reused);

	/* Past a record's freshness (the jti's "no record": 10 s) it is asked again. */
	assert_false(memo_look(f, &m, 100 + 10001).reused);
	assert_true(memo_look(f, &m, 100 + 10002).reused);

	/* Without events, nothing cached is fresh: the memo is not used. */
	store_set_live(f->s, false);
	assert_false(memo_look(f, &m, 20000).reused);
	assert_false(memo_look(f, &m, 20010).reused);
	store_set_live(f->s, true);
	store_memo_fini(&m);
}

/* With the caches off nothing is kept: every request asks the backend. */
static void
memo_keeps_nothing_without_caches(void **state)
{
	struct fixture *f = *state;
	struct store_memo m;

	reopen_with_caches(f, 0);
	store_memo_init(&m);
	assert_false(memo_look(f, &m, 0).reused);
	assert_false(memo_look(f, &m, 10).reused);
	assert_int_equal(f->fake.fetches, 2);
	store_memo_fini(&m);
}

/* Two workers look up through one memo while events and flushes drop its records. */
struct memo_race {
	struct fixture *f;
	struct store_memo *memo;
	unsigned worker;
	atomic_bool *stop;
	int wrong; /* lookups that failed or lost a record */
};

static void *
memo_racer(void *arg)
{
	struct memo_race *r = arg;

	/* At least 1000 lookups, and on until the events end. */
	for (int i = 0; i < 1000 || !atomic_load(r->stop); i++) {
		struct store_lookup l;

		store_lookup(r->f->s, r->worker, "d2", "risky", "j1", r->f->t0, 1000000, r->memo,
		             &l);
		if (l.err != STORE_OK || l.device == NULL || !l.device->compliant ||
		    l.user == NULL || l.user->risk != RISK_HIGH || l.jti_revoked)
			r->wrong++;
		store_lookup_done(&l);
	}
	return NULL;
}

static void
memo_survives_racing_events(void **state)
{
	struct fixture *f = *state;
	static const char *const events[] = {"user risky", "device d2", "jti j1", "flush"};
	struct store_memo m;
	atomic_bool stop = false;
	struct memo_race r[2] = {{f, &m, 0, &stop, 0}, {f, &m, 1, &stop, 0}};
	pthread_t t[2];

	store_memo_init(&m);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, memo_racer, &r[i]), 0);
	for (int i = 0; i < 4000; i++) {
		const char *e = events[i % 4];

		store_event(f->s, e, strlen(e));
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(r[0].wrong + r[1].wrong, 0);
	store_memo_fini(&m);
}

static void
mirrored_jtis_need_no_round_trip(void **state)
{
	struct fixture *f = *state;
	struct seen l;

	/* The backend's mirror answers first-seen jtis, revoked or not: no fetch. */
	l = look(f, NULL, NULL, "j-new", 0);
	assert_int_equal(l.err, STORE_OK);
	assert_false(l.jti_revoked);
	l = look(f, NULL, NULL, "rev-1", 0);
	assert_true(l.jti_revoked);
	assert_int_equal(f->fake.fetches, 0);
	assert_int_equal(mirror_asked, 2);
	/* The answers are cached like fetched ones: asked again, the mirror is not. */
	l = look(f, NULL, NULL, "j-new", 1);
	assert_false(l.jti_revoked);
	assert_int_equal(mirror_asked, 2);
	/* A mirror that cannot tell (incomplete) falls back to a fetch. */
	mirror_unknown = true;
	l = look(f, NULL, NULL, "j-other", 2);
	assert_int_equal(l.err, STORE_OK);
	assert_int_equal(f->fake.fetches, 1);
	/* Past its freshness, with the mirror unsure and the store failing, the mirrored
	 * answer serves stale like a fetched one (negative_ttl 10 s, stale_max 3 s). */
	f->fake.failing = true;
	l = look(f, NULL, NULL, "j-new", 11000);
	assert_int_equal(l.err, STORE_OK);
	assert_true(l.stale);
	assert_false(l.jti_revoked);
	l = look(f, NULL, NULL, "rev-1", 11000);
	assert_true(l.jti_revoked);
}

static void
mirror_is_not_asked_while_events_are_down(void **state)
{
	struct fixture *f = *state;

	store_set_live(f->s, false);
	look(f, NULL, NULL, "j-new", 0);
	assert_int_equal(mirror_asked, 0);
	assert_int_equal(f->fake.fetches, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(cold_is_one_round_trip_warm_is_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(mirrored_jtis_need_no_round_trip, setup_mirror,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(mirror_is_not_asked_while_events_are_down, setup_mirror,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(records_reach_the_caller, setup, teardown),
	    cmocka_unit_test_setup_teardown(ttl_and_negative_ttl, setup, teardown),
	    cmocka_unit_test_setup_teardown(caches_are_bounded_lru, setup, teardown),
	    cmocka_unit_test_setup_teardown(events_invalidate_exactly_the_named_entry, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(flush_and_unreadable_events_drop_everything, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(event_during_fetch_is_not_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(store_error_is_never_no_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_records_serve_up_to_stale_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_ready_store_is_never_no_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_bound_counts_from_the_stall_start, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(not_ready_store_answers_no_memo, setup, teardown),
	    cmocka_unit_test(replication_state_from_info),
	    cmocka_unit_test_setup_teardown(bad_record_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(device_max_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(memo_answers_while_its_records_are_current, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(memo_survives_racing_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(memo_keeps_nothing_without_caches, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
