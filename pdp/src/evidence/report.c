/* report.c - decision logs aggregated in bounded memory into the report's JSON document */
#include "evidence/report.h"

#include <stdlib.h>
#include <string.h>

#include "evidence/decision_record.h"
#include "evidence/distinct.h"
#include "evidence/hash.h"
#include "evidence/log_reader.h"
#include "evidence/timefmt.h"
#include "evidence/topk.h"

/*
 * Memory is fixed by the bounds in report.h, whatever the log's length:
 * counts per decision, app and policy in tables that stop growing at their
 * bound, the top reasons and users in Space-Saving summaries, distinct
 * users and devices in HyperLogLog sketches, latency in a log-linear
 * histogram, the timeline in at most REPORT_TIMELINE_MAX buckets that widen
 * as the span grows. No per-user or per-request state is kept.
 */

#define N_DECISIONS 5
_Static_assert(DECISION_ERROR == N_DECISIONS - 1, "the decisions counted");

#define KEY_MAX        512 /* a table key (an app, a policy id) is kept up to this */
#define TOPK_CAPACITY  1024
#define HLL_TOTALS     14 /* 16 KiB each, 0.8% */
#define HLL_PER_POLICY 12 /* 4 KiB each, 1.6%, allocated when first needed */

/* Latency: exact below 64 µs, then 32 buckets an octave (under 3.2% wide), to 2^48 µs. */
#define LAT_SUB_BITS 5
#define LAT_BUCKETS  (64 + 43 * 32)

/* A table of keys (raw slices of the log) to dense indexes, which stops at its bound. */
struct keytab {
	char **keys;
	size_t *lens;
	uint64_t *hashes;
	int32_t *slots; /* open addressing, -1 empty */
	size_t n, max, n_slots;
};

struct decision_counts {
	uint64_t n[N_DECISIONS];
};

struct app_stats {
	struct decision_counts by;
};

struct policy_stats {
	uint64_t applied, denied, stepped_up;
	struct distinct *users; /* users it denied or stepped up */
};

struct ro_app {
	char *app;
	uint64_t deny, step_up;
};

struct ro_stats {
	uint64_t evaluated, would_deny, would_step_up, verdict_deny, verdict_step_up;
	struct distinct *users_deny, *users_step_up;
	struct ro_app apps[REPORT_RO_APPS_MAX];
	size_t n_apps;
	uint64_t other_deny, other_step_up; /* apps past REPORT_RO_APPS_MAX */
	char *examples[REPORT_RO_EXAMPLES];
	size_t n_examples;
};

enum incident_kind { INC_STORE_UNAVAILABLE, INC_STORE_STALE, INC_KEYS_UNAVAILABLE, INC_KINDS };
static const char *const incident_names[INC_KINDS] = {"store-unavailable", "store-stale",
                                                      "keys-unavailable"};

struct incident {
	int64_t start, end;
	uint64_t decisions;
};

struct incidents {
	struct incident list[REPORT_INCIDENTS_MAX];
	size_t n, last;
	uint64_t unlisted; /* decisions of incidents past the bound */
};

struct input {
	char *name;
	uint64_t lines, decisions, skipped, outside;
};

struct skipped_line {
	size_t input;
	uint64_t line;
	const char *reason;
};

struct report {
	struct report_options o;
	struct input *inputs;
	size_t n_inputs;
	uint64_t skipped;
	struct skipped_line skipped_examples[REPORT_SKIPPED_EXAMPLES];
	size_t n_skipped_examples;

	uint64_t decisions;
	struct decision_counts totals;
	int64_t first_ms, last_ms;
	struct distinct *users, *devices;

	/* The timeline: buckets of width seconds from origin (seconds since the epoch). */
	struct decision_counts timeline[REPORT_TIMELINE_MAX];
	int64_t tl_origin, tl_width, tl_lo, tl_hi; /* lo, hi: first and last bucket with data */

	uint64_t latency[LAT_BUCKETS];
	uint64_t latency_n, latency_max;

	struct keytab apps;
	struct app_stats *app_stats;
	uint64_t apps_unlisted;

	struct keytab policies;
	struct policy_stats *policy_stats;
	uint64_t policies_unlisted;

	struct keytab ro;
	struct ro_stats **ro_stats; /* each allocated when its policy is first seen */
	uint64_t ro_unlisted;

	struct topk *deny_reasons, *step_up_reasons, *denied_users;
	struct incidents incidents[INC_KINDS];
};

/* --- the key table ------------------------------------------------------------- */

static int
keytab_init(struct keytab *t, size_t max)
{
	t->max = max;
	t->n_slots = 1;
	while (t->n_slots < 2 * max)
		t->n_slots *= 2;
	t->keys = calloc(max, sizeof(*t->keys));
	t->lens = calloc(max, sizeof(*t->lens));
	t->hashes = calloc(max, sizeof(*t->hashes));
	t->slots = malloc(t->n_slots * sizeof(*t->slots));
	if (t->keys == NULL || t->lens == NULL || t->hashes == NULL || t->slots == NULL)
		return -1;
	memset(t->slots, 0xff, t->n_slots * sizeof(*t->slots));
	return 0;
}

static void
keytab_free(struct keytab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->hashes);
	free(t->slots);
}

/* The index of key, added when new; -1 when the table is full (or out of memory). */
static int32_t
keytab_get(struct keytab *t, const char *key, size_t len)
{
	uint64_t h;
	size_t i;

	if (len > KEY_MAX)
		len = KEY_MAX;
	h = evidence_hash(key, len);
	for (i = h & (t->n_slots - 1); t->slots[i] >= 0; i = (i + 1) & (t->n_slots - 1)) {
		int32_t k = t->slots[i];

		if (t->hashes[k] == h && t->lens[k] == len && memcmp(t->keys[k], key, len) == 0)
			return k;
	}
	if (t->n == t->max || (t->keys[t->n] = malloc(len + 1)) == NULL)
		return -1;
	memcpy(t->keys[t->n], key, len);
	t->keys[t->n][len] = '\0';
	t->lens[t->n] = len;
	t->hashes[t->n] = h;
	t->slots[i] = (int32_t)t->n;
	return (int32_t)t->n++;
}

/* --- building ------------------------------------------------------------------ */

struct report *
report_new(const struct report_options *o)
{
	struct report *rp = calloc(1, sizeof(*rp));

	if (rp == NULL)
		return NULL;
	rp->o = *o;
	if (rp->o.top == 0)
		rp->o.top = 10;
	if (rp->o.top > REPORT_TOP_MAX)
		rp->o.top = REPORT_TOP_MAX;
	rp->users = distinct_new(HLL_TOTALS);
	rp->devices = distinct_new(HLL_TOTALS);
	rp->deny_reasons = topk_new(TOPK_CAPACITY);
	rp->step_up_reasons = topk_new(TOPK_CAPACITY);
	rp->denied_users = topk_new(TOPK_CAPACITY);
	rp->app_stats = calloc(REPORT_APPS_MAX, sizeof(*rp->app_stats));
	rp->policy_stats = calloc(REPORT_POLICIES_MAX, sizeof(*rp->policy_stats));
	rp->ro_stats = calloc(REPORT_POLICIES_MAX, sizeof(*rp->ro_stats));
	if (rp->users == NULL || rp->devices == NULL || rp->deny_reasons == NULL ||
	    rp->step_up_reasons == NULL || rp->denied_users == NULL || rp->app_stats == NULL ||
	    rp->policy_stats == NULL || rp->ro_stats == NULL ||
	    keytab_init(&rp->apps, REPORT_APPS_MAX) != 0 ||
	    keytab_init(&rp->policies, REPORT_POLICIES_MAX) != 0 ||
	    keytab_init(&rp->ro, REPORT_POLICIES_MAX) != 0) {
		report_free(rp);
		return NULL;
	}
	return rp;
}

void
report_free(struct report *rp)
{
	if (rp == NULL)
		return;
	for (size_t i = 0; i < rp->n_inputs; i++)
		free(rp->inputs[i].name);
	free(rp->inputs);
	distinct_free(rp->users);
	distinct_free(rp->devices);
	topk_free(rp->deny_reasons);
	topk_free(rp->step_up_reasons);
	topk_free(rp->denied_users);
	for (size_t i = 0; rp->policy_stats != NULL && i < rp->policies.n; i++)
		distinct_free(rp->policy_stats[i].users);
	for (size_t i = 0; rp->ro_stats != NULL && i < rp->ro.n; i++) {
		struct ro_stats *s = rp->ro_stats[i];

		if (s == NULL)
			continue;
		distinct_free(s->users_deny);
		distinct_free(s->users_step_up);
		for (size_t k = 0; k < s->n_apps; k++)
			free(s->apps[k].app);
		for (size_t k = 0; k < s->n_examples; k++)
			free(s->examples[k]);
		free(s);
	}
	free(rp->app_stats);
	free(rp->policy_stats);
	free(rp->ro_stats);
	keytab_free(&rp->apps);
	keytab_free(&rp->policies);
	keytab_free(&rp->ro);
	free(rp);
}

int
report_input(struct report *rp, const char *name)
{
	struct input *in = realloc(rp->inputs, (rp->n_inputs + 1) * sizeof(*in));

	if (in == NULL)
		return -1;
	rp->inputs = in;
	in = &rp->inputs[rp->n_inputs];
	memset(in, 0, sizeof(*in));
	if ((in->name = strdup(name)) == NULL)
		return -1;
	/* A file name is bytes: the document's strings are UTF-8. */
	{
		json_t *probe = json_string(name);

		for (char *c = in->name; probe == NULL && *c != '\0'; c++) {
			if ((unsigned char)*c >= 0x80)
				*c = '?';
		}
		json_decref(probe);
	}
	rp->n_inputs++;
	return 0;
}

void
report_skip(struct report *rp, uint64_t lineno, const char *reason)
{
	struct input *in = &rp->inputs[rp->n_inputs - 1];

	in->lines++;
	in->skipped++;
	rp->skipped++;
	if (rp->n_skipped_examples < REPORT_SKIPPED_EXAMPLES)
		rp->skipped_examples[rp->n_skipped_examples++] =
		    (struct skipped_line){rp->n_inputs - 1, lineno, reason};
}

/* The bucket widths the timeline steps through (seconds); past the last it doubles. */
static int64_t
wider(int64_t w)
{
	static const int64_t ladder[] = {60,    300,   900,   1800,   3600,    10800,
	                                 21600, 43200, 86400, 604800, 2419200, 31449600};

	for (size_t i = 0; i < sizeof(ladder) / sizeof(ladder[0]); i++) {
		if (ladder[i] > w)
			return ladder[i];
	}
	return w * 2;
}

static int64_t
floor_to(int64_t t, int64_t w)
{
	return (t >= 0 ? t / w : (t - w + 1) / w) * w;
}

/* The timeline's bucket for t (seconds), widened and moved so that it fits. */
static struct decision_counts *
timeline_at(struct report *rp, int64_t t)
{
	int64_t lo, hi, w;
	struct decision_counts old[REPORT_TIMELINE_MAX];

	if (rp->tl_width == 0) {
		rp->tl_width = 60;
		rp->tl_origin = rp->tl_lo = rp->tl_hi = floor_to(t, 60);
	}
	if (t >= rp->tl_origin && t < rp->tl_origin + REPORT_TIMELINE_MAX * rp->tl_width) {
		int64_t b = floor_to(t, rp->tl_width);

		if (b < rp->tl_lo)
			rp->tl_lo = b;
		if (b > rp->tl_hi)
			rp->tl_hi = b;
		return &rp->timeline[(b - rp->tl_origin) / rp->tl_width];
	}
	/* Outside: the narrowest width at least the current one that holds both. */
	lo = t < rp->tl_lo ? t : rp->tl_lo;
	hi = t > rp->tl_hi ? t : rp->tl_hi;
	for (w = rp->tl_width; floor_to(hi, w) - floor_to(lo, w) >= REPORT_TIMELINE_MAX * w;)
		w = wider(w);
	memcpy(old, rp->timeline, sizeof(old));
	memset(rp->timeline, 0, sizeof(rp->timeline));
	for (int64_t i = 0; i < REPORT_TIMELINE_MAX; i++) {
		int64_t start = rp->tl_origin + i * rp->tl_width;
		struct decision_counts *to;

		if (start < rp->tl_lo || start > rp->tl_hi)
			continue;
		to = &rp->timeline[(floor_to(start, w) - floor_to(lo, w)) / w];
		for (int d = 0; d < N_DECISIONS; d++)
			to->n[d] += old[i].n[d];
	}
	rp->tl_width = w;
	rp->tl_origin = floor_to(lo, w);
	rp->tl_lo = floor_to(rp->tl_lo < t ? rp->tl_lo : t, w);
	rp->tl_hi = floor_to(hi, w);
	return &rp->timeline[(floor_to(t, w) - rp->tl_origin) / w];
}

static size_t
latency_bucket(uint64_t v)
{
	int e;

	if (v < 64)
		return (size_t)v;
	e = 63 - __builtin_clzll(v);
	if (e > 47)
		return LAT_BUCKETS - 1;
	return 64 + (size_t)(e - 6) * 32 + ((v >> (e - LAT_SUB_BITS)) & 31);
}

/* The largest value bucket b holds. */
static uint64_t
latency_upper(size_t b)
{
	size_t e, sub;

	if (b < 64)
		return b;
	e = (b - 64) / 32 + 6;
	sub = (b - 64) % 32;
	return ((32 + sub + 1) << (e - LAT_SUB_BITS)) - 1;
}

static void
incident_add(struct incidents *inc, int64_t t)
{
	struct incident *x = inc->n > 0 ? &inc->list[inc->last] : NULL;

	/* The common case: the same incident as the decision before. */
	if (x == NULL || t < x->start - REPORT_INCIDENT_GAP_MS ||
	    t > x->end + REPORT_INCIDENT_GAP_MS) {
		x = NULL;
		for (size_t i = 0; i < inc->n; i++) {
			struct incident *y = &inc->list[i];

			if (t >= y->start - REPORT_INCIDENT_GAP_MS &&
			    t <= y->end + REPORT_INCIDENT_GAP_MS) {
				x = y;
				inc->last = i;
				break;
			}
		}
	}
	if (x == NULL) {
		if (inc->n == REPORT_INCIDENTS_MAX) {
			inc->unlisted++;
			return;
		}
		inc->last = inc->n;
		x = &inc->list[inc->n++];
		x->start = x->end = t;
		x->decisions = 0;
	}
	if (t < x->start)
		x->start = t;
	if (t > x->end)
		x->end = t;
	x->decisions++;
}

/* A HyperLogLog made when first needed; NULL when out of memory (that count is then 0). */
static struct distinct *
lazy_distinct(struct distinct **d)
{
	if (*d == NULL)
		*d = distinct_new(HLL_PER_POLICY);
	return *d;
}

static void
add_policies(struct report *rp, const struct decision_record *r, uint64_t user_hash)
{
	for (size_t i = 0; i < r->n_policies; i++) {
		const struct record_policy *p = &r->policies[i];
		int32_t k = keytab_get(&rp->policies, p->id.p, p->id.n);
		struct policy_stats *s;
		bool hit = false;

		if (k < 0) {
			rp->policies_unlisted++;
			continue;
		}
		s = &rp->policy_stats[k];
		s->applied++;
		/* A policy denied (stepped up) when the answer was so and it was not satisfied. */
		if (p->result != RESULT_SATISFIED && r->decision == DECISION_DENY) {
			s->denied++;
			hit = true;
		} else if (p->result == RESULT_UNMET && r->decision == DECISION_STEP_UP) {
			s->stepped_up++;
			hit = true;
		}
		if (hit && r->user.p != NULL && lazy_distinct(&s->users) != NULL)
			distinct_add_hash(s->users, user_hash);
	}
}

static void
ro_app_add(struct ro_stats *s, struct slice app, bool deny)
{
	char text[KEY_MAX];
	size_t i;

	decision_slice_text(app.p != NULL ? app : (struct slice){"(none)", 6}, text, sizeof(text));
	for (i = 0; i < s->n_apps && strcmp(s->apps[i].app, text) != 0; i++)
		;
	if (i == s->n_apps) {
		if (s->n_apps == REPORT_RO_APPS_MAX || (s->apps[i].app = strdup(text)) == NULL) {
			*(deny ? &s->other_deny : &s->other_step_up) += 1;
			return;
		}
		s->n_apps++;
	}
	*(deny ? &s->apps[i].deny : &s->apps[i].step_up) += 1;
}

static void
add_report_only(struct report *rp, const struct decision_record *r, uint64_t user_hash)
{
	for (size_t i = 0; i < r->n_report_only; i++) {
		const struct record_report_only *p = &r->report_only[i];
		int32_t k = keytab_get(&rp->ro, p->id.p, p->id.n);
		struct ro_stats *s;
		bool deny, step_up;

		if (k < 0) {
			rp->ro_unlisted++;
			continue;
		}
		if (rp->ro_stats[k] == NULL &&
		    (rp->ro_stats[k] = calloc(1, sizeof(**rp->ro_stats))) == NULL) {
			rp->ro_unlisted++;
			continue;
		}
		s = rp->ro_stats[k];
		s->evaluated++;
		s->verdict_deny += p->would == DECISION_DENY;
		s->verdict_step_up += p->would == DECISION_STEP_UP;
		/*
		 * What enforcing it would change: a deny where the answer was not one,
		 * a step-up where the answer was allow (a deny stays a deny).
		 */
		deny = p->would == DECISION_DENY && r->decision != DECISION_DENY;
		step_up = p->would == DECISION_STEP_UP && r->decision == DECISION_ALLOW;
		if (!deny && !step_up)
			continue;
		if (deny)
			s->would_deny++;
		else
			s->would_step_up++;
		if (r->user.p != NULL) {
			struct distinct **d = deny ? &s->users_deny : &s->users_step_up;

			if (lazy_distinct(d) != NULL)
				distinct_add_hash(*d, user_hash);
		}
		ro_app_add(s, r->app, deny);
		if (s->n_examples < REPORT_RO_EXAMPLES && r->request_id.p != NULL) {
			char id[256];

			decision_slice_text(r->request_id, id, sizeof(id));
			if ((s->examples[s->n_examples] = strdup(id)) != NULL)
				s->n_examples++;
		}
	}
}

void
report_line(struct report *rp, uint64_t lineno, const char *line, size_t n)
{
	struct input *in = &rp->inputs[rp->n_inputs - 1];
	struct decision_record r;
	const char *why = decision_record_parse(line, n, &r);
	uint64_t user_hash = 0;

	if (why != NULL) {
		report_skip(rp, lineno, why);
		return;
	}
	in->lines++;
	if ((rp->o.has_since && r.time_ms < rp->o.since_ms) ||
	    (rp->o.has_until && r.time_ms >= rp->o.until_ms)) {
		in->outside++;
		return;
	}
	in->decisions++;
	if (rp->decisions++ == 0 || r.time_ms < rp->first_ms)
		rp->first_ms = r.time_ms;
	if (rp->decisions == 1 || r.time_ms > rp->last_ms)
		rp->last_ms = r.time_ms;
	rp->totals.n[r.decision]++;
	timeline_at(rp, r.time_ms >= 0 ? r.time_ms / 1000 : (r.time_ms - 999) / 1000)
	    ->n[r.decision]++;
	if (r.user.p != NULL) {
		user_hash = evidence_hash(r.user.p, r.user.n);
		distinct_add_hash(rp->users, user_hash);
	}
	if (r.device.p != NULL)
		distinct_add(rp->devices, r.device.p, r.device.n);
	if (r.latency_us >= 0) {
		rp->latency[latency_bucket((uint64_t)r.latency_us)]++;
		rp->latency_n++;
		if ((uint64_t)r.latency_us > rp->latency_max)
			rp->latency_max = (uint64_t)r.latency_us;
	}
	if (r.app.p != NULL) {
		int32_t k = keytab_get(&rp->apps, r.app.p, r.app.n);

		if (k >= 0)
			rp->app_stats[k].by.n[r.decision]++;
		else
			rp->apps_unlisted++;
	}
	if (r.decision == DECISION_DENY) {
		struct slice why_s =
		    r.reason.p != NULL ? r.reason : (struct slice){"(no reason)", 11};

		topk_add(rp->deny_reasons, why_s.p, why_s.n);
		if (r.user.p != NULL)
			topk_add(rp->denied_users, r.user.p, r.user.n);
	} else if (r.decision == DECISION_STEP_UP) {
		struct slice why_s =
		    r.reason.p != NULL ? r.reason : (struct slice){"(no reason)", 11};

		topk_add(rp->step_up_reasons, why_s.p, why_s.n);
	}
	add_policies(rp, &r, user_hash);
	add_report_only(rp, &r, user_hash);
	if (SLICE_IS(r.store, "context store unavailable"))
		incident_add(&rp->incidents[INC_STORE_UNAVAILABLE], r.time_ms);
	else if (SLICE_IS(r.store, "stale"))
		incident_add(&rp->incidents[INC_STORE_STALE], r.time_ms);
	/* An issuer without keys yet: the token is answered 500 (identity/token.c). */
	if (r.decision == DECISION_ERROR && SLICE_IS(r.reason, "keys unavailable"))
		incident_add(&rp->incidents[INC_KEYS_UNAVAILABLE], r.time_ms);
}

int
report_read(struct report *rp, const char *name, char *err, size_t errsz)
{
	struct log_reader *lr;
	const char *line;
	size_t n;
	uint64_t lineno;
	enum log_read got;

	if ((lr = log_reader_open(name, err, errsz)) == NULL)
		return -1;
	if (report_input(rp, strcmp(name, "-") == 0 ? "stdin" : name) != 0) {
		snprintf(err, errsz, "%s: out of memory", name);
		log_reader_close(lr);
		return -1;
	}
	while ((got = log_reader_next(lr, &line, &n, &lineno, err, errsz)) != LOG_READ_EOF) {
		if (got == LOG_READ_ERROR) {
			log_reader_close(lr);
			return -1;
		}
		if (got == LOG_READ_TOO_LONG)
			report_skip(rp, lineno, "line longer than the log's 8 KiB");
		else
			report_line(rp, lineno, line, n);
	}
	log_reader_close(lr);
	return 0;
}

/* --- the document -------------------------------------------------------------- */

static json_t *
time_or_null(bool has, int64_t ms)
{
	char buf[TIMEFMT_SIZE];

	return has ? json_string(timefmt_format(ms, buf)) : json_null();
}

/* A log value as a JSON string: unescaped, invalid UTF-8 replaced. */
static json_t *
text_json(const char *raw, size_t len)
{
	char buf[KEY_MAX * 2];

	return json_string(decision_slice_text((struct slice){raw, len}, buf, sizeof(buf)));
}

static json_t *
by_decision(const struct decision_counts *c)
{
	json_t *o = json_object();

	for (int d = 0; d < N_DECISIONS; d++)
		json_object_set_new(o, decision_name((enum decision)d),
		                    json_integer((json_int_t)c->n[d]));
	return o;
}

static uint64_t
percentile(const struct report *rp, double q)
{
	uint64_t rank = (uint64_t)(q * (double)rp->latency_n + 0.999999), seen = 0;

	if (rank == 0)
		rank = 1;
	for (size_t b = 0; b < LAT_BUCKETS; b++) {
		seen += rp->latency[b];
		if (seen >= rank) {
			uint64_t v = latency_upper(b);

			return v < rp->latency_max ? v : rp->latency_max;
		}
	}
	return rp->latency_max;
}

static json_t *
latency_json(const struct report *rp)
{
	if (rp->latency_n == 0) /* the same members, for renderers: count says none */
		return json_pack("{sI sI sI sI sI sI}", "p50", (json_int_t)0, "p90", (json_int_t)0,
		                 "p99", (json_int_t)0, "p999", (json_int_t)0, "max", (json_int_t)0,
		                 "count", (json_int_t)0);
	return json_pack("{sI sI sI sI sI sI}", "p50", (json_int_t)percentile(rp, 0.50), "p90",
	                 (json_int_t)percentile(rp, 0.90), "p99", (json_int_t)percentile(rp, 0.99),
	                 "p999", (json_int_t)percentile(rp, 0.999), "max",
	                 (json_int_t)rp->latency_max, "count", (json_int_t)rp->latency_n);
}

static json_t *
timeline_json(const struct report *rp)
{
	json_t *buckets = json_array();

	for (int64_t b = rp->tl_lo; rp->decisions > 0 && b <= rp->tl_hi; b += rp->tl_width) {
		const struct decision_counts *c = &rp->timeline[(b - rp->tl_origin) / rp->tl_width];
		json_t *o = by_decision(c);
		char buf[TIMEFMT_SIZE];

		json_object_set_new(o, "start", json_string(timefmt_format(b * 1000, buf)));
		json_array_append_new(buckets, o);
	}
	return json_pack("{sI so}", "bucket_seconds",
	                 (json_int_t)(rp->tl_width ? rp->tl_width : 60), "buckets", buckets);
}

static int
by_count_then_key(json_t *a, json_t *b, const char *count, const char *key)
{
	json_int_t x = count != NULL ? json_integer_value(json_object_get(a, count)) : 0;
	json_int_t y = count != NULL ? json_integer_value(json_object_get(b, count)) : 0;

	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(json_string_value(json_object_get(a, key)),
	              json_string_value(json_object_get(b, key)));
}

/* Sorts an array of objects by count (descending; NULL: none), then key. */
static void
sort_array(json_t *arr, const char *count, const char *key)
{
	size_t n = json_array_size(arr);

	/* Insertion sort on references: lists are at most a few thousand long. */
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(arr, j - 1), *b = json_array_get(arr, j);

			if (by_count_then_key(a, b, count, key) <= 0)
				break;
			json_incref(a);
			json_array_set(arr, j - 1, b);
			json_array_set_new(arr, j, a);
		}
	}
}

static json_t *
top_json(const struct topk *t, size_t top, const char *name)
{
	struct topk_item items[REPORT_TOP_MAX];
	size_t n = topk_list(t, items, top);
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{so sI sI}", name,
		                                     text_json(items[i].key, items[i].len), "count",
		                                     (json_int_t)items[i].count, "error",
		                                     (json_int_t)items[i].error));
	return arr;
}

static const char *
state_name(const struct policy_set *set, const char *id)
{
	for (size_t i = 0; set != NULL && i < set->n_policies; i++) {
		if (strcmp(set->policies[i].id, id) == 0)
			return policy_state_names[set->policies[i].state];
	}
	return NULL;
}

static json_t *
state_json(const struct policy_set *set, const char *id)
{
	const char *s = state_name(set, id);

	return s != NULL ? json_string(s) : json_null();
}

static uint64_t
count_of(struct distinct *d)
{
	return d != NULL ? distinct_count(d) : 0;
}

static json_t *
policies_json(const struct report *rp)
{
	json_t *arr = json_array();
	const struct policy_set *set = rp->o.set;

	for (size_t i = 0; i < rp->policies.n; i++) {
		const struct policy_stats *s = &rp->policy_stats[i];
		json_t *id = text_json(rp->policies.keys[i], rp->policies.lens[i]);

		json_array_append_new(
		    arr, json_pack("{so sI sI sI sI so}", "id", id, "applied",
		                   (json_int_t)s->applied, "denied", (json_int_t)s->denied,
		                   "stepped_up", (json_int_t)s->stepped_up,
		                   "users_affected_distinct", (json_int_t)count_of(s->users),
		                   "state", state_json(set, json_string_value(id))));
	}
	/* The set's policies that never applied, with zero counts. */
	for (size_t i = 0; set != NULL && i < set->n_policies; i++) {
		const struct pol_policy *pol = &set->policies[i];
		bool seen = false;

		for (size_t k = 0; k < json_array_size(arr) && !seen; k++)
			seen =
			    strcmp(json_string_value(json_object_get(json_array_get(arr, k), "id")),
			           pol->id) == 0;
		if (!seen)
			json_array_append_new(
			    arr, json_pack("{ss sI sI sI sI so}", "id", pol->id, "applied",
			                   (json_int_t)0, "denied", (json_int_t)0, "stepped_up",
			                   (json_int_t)0, "users_affected_distinct", (json_int_t)0,
			                   "state", state_json(set, pol->id)));
	}
	sort_array(arr, "applied", "id");
	return arr;
}

static json_t *
apps_json(const struct report *rp)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < rp->apps.n; i++) {
		const struct decision_counts *c = &rp->app_stats[i].by;
		uint64_t total = 0;

		for (int d = 0; d < N_DECISIONS; d++)
			total += c->n[d];
		json_array_append_new(arr, json_pack("{so sI so}", "app",
		                                     text_json(rp->apps.keys[i], rp->apps.lens[i]),
		                                     "decisions", (json_int_t)total, "by_decision",
		                                     by_decision(c)));
	}
	sort_array(arr, "decisions", "app");
	return arr;
}

static json_t *
report_only_entry(const struct ro_stats *s, json_t *id, const struct policy_set *set)
{
	json_t *apps = json_array(), *examples = json_array();

	for (size_t k = 0; k < s->n_apps; k++)
		json_array_append_new(
		    apps, json_pack("{ss sI sI sI}", "app", s->apps[k].app, "deny",
		                    (json_int_t)s->apps[k].deny, "step-up",
		                    (json_int_t)s->apps[k].step_up, "total",
		                    (json_int_t)(s->apps[k].deny + s->apps[k].step_up)));
	sort_array(apps, "total", "app");
	for (size_t k = 0; k < json_array_size(apps); k++)
		json_object_del(json_array_get(apps, k), "total");
	for (size_t k = 0; k < s->n_examples; k++)
		json_array_append_new(examples, json_string(s->examples[k]));
	return json_pack("{so sI s{sI sI} s{sI sI} so so s{sI sI} so s{sI sI}}", "id", id,
	                 "evaluated", (json_int_t)s->evaluated, "would", "deny",
	                 (json_int_t)s->would_deny, "step-up", (json_int_t)s->would_step_up,
	                 "users_distinct", "deny", (json_int_t)count_of(s->users_deny), "step-up",
	                 (json_int_t)count_of(s->users_step_up), "by_app", apps, "examples",
	                 examples, "verdicts", "deny", (json_int_t)s->verdict_deny, "step-up",
	                 (json_int_t)s->verdict_step_up, "state",
	                 state_json(set, json_string_value(id)), "by_app_unlisted", "deny",
	                 (json_int_t)s->other_deny, "step-up", (json_int_t)s->other_step_up);
}

static json_t *
report_only_json(const struct report *rp)
{
	json_t *arr = json_array();
	const struct policy_set *set = rp->o.set;

	for (size_t i = 0; i < rp->ro.n; i++) {
		static const struct ro_stats none;
		const struct ro_stats *s = rp->ro_stats[i] != NULL ? rp->ro_stats[i] : &none;
		json_t *e = report_only_entry(s, text_json(rp->ro.keys[i], rp->ro.lens[i]), set);

		json_object_set_new(e, "changed",
		                    json_integer((json_int_t)(s->would_deny + s->would_step_up)));
		json_array_append_new(arr, e);
	}
	/* The set's report-only policies that were never evaluated. */
	for (size_t i = 0; set != NULL && i < set->n_policies; i++) {
		const struct pol_policy *pol = &set->policies[i];
		struct ro_stats none = {0};
		bool seen = false;
		json_t *e;

		if (pol->state != POLICY_REPORT_ONLY)
			continue;
		for (size_t k = 0; k < json_array_size(arr) && !seen; k++)
			seen =
			    strcmp(json_string_value(json_object_get(json_array_get(arr, k), "id")),
			           pol->id) == 0;
		if (seen)
			continue;
		e = report_only_entry(&none, json_string(pol->id), set);
		json_object_set_new(e, "changed", json_integer(0));
		json_array_append_new(arr, e);
	}
	sort_array(arr, "changed", "id");
	for (size_t k = 0; k < json_array_size(arr); k++)
		json_object_del(json_array_get(arr, k), "changed");
	return arr;
}

static json_t *
incidents_json(const struct report *rp)
{
	json_t *arr = json_array();

	for (int kind = 0; kind < INC_KINDS; kind++) {
		struct incident merged[REPORT_INCIDENTS_MAX];
		const struct incidents *inc = &rp->incidents[kind];
		size_t n = inc->n, m = 0;

		/* Incidents found apart may have grown together: sorted, then merged. */
		memcpy(merged, inc->list, n * sizeof(merged[0]));
		for (size_t i = 1; i < n; i++) {
			for (size_t j = i; j > 0 && merged[j - 1].start > merged[j].start; j--) {
				struct incident x = merged[j];

				merged[j] = merged[j - 1];
				merged[j - 1] = x;
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (m > 0 &&
			    merged[i].start <= merged[m - 1].end + REPORT_INCIDENT_GAP_MS) {
				if (merged[i].end > merged[m - 1].end)
					merged[m - 1].end = merged[i].end;
				merged[m - 1].decisions += merged[i].decisions;
			} else {
				merged[m++] = merged[i];
			}
		}
		for (size_t i = 0; i < m; i++) {
			char a[TIMEFMT_SIZE], b[TIMEFMT_SIZE];

			json_array_append_new(
			    arr, json_pack("{ss ss ss sI}", "kind", incident_names[kind], "start",
			                   timefmt_format(merged[i].start, a), "end",
			                   timefmt_format(merged[i].end, b), "decisions",
			                   (json_int_t)merged[i].decisions));
		}
	}
	sort_array(arr, NULL, "start"); /* by time: the strings sort as the times do */
	return arr;
}

json_t *
report_json(const struct report *rp)
{
	json_t *doc, *inputs = json_array(), *examples = json_array();
	uint64_t inc_unlisted = 0;

	for (size_t i = 0; i < rp->n_inputs; i++) {
		const struct input *in = &rp->inputs[i];

		json_array_append_new(inputs, json_pack("{ss sI sI sI sI}", "name", in->name,
		                                        "lines", (json_int_t)in->lines, "decisions",
		                                        (json_int_t)in->decisions, "skipped",
		                                        (json_int_t)in->skipped, "outside_window",
		                                        (json_int_t)in->outside));
	}
	for (size_t i = 0; i < rp->n_skipped_examples; i++) {
		const struct skipped_line *s = &rp->skipped_examples[i];

		json_array_append_new(examples,
		                      json_pack("{ss sI ss}", "input", rp->inputs[s->input].name,
		                                "line", (json_int_t)s->line, "reason", s->reason));
	}
	for (int k = 0; k < INC_KINDS; k++)
		inc_unlisted += rp->incidents[k].unlisted;
	doc = json_pack(
	    "{ss so s{sI so} s{so so so so} s{sI so sI sI} so so so so so so so so so s{sI sI sI "
	    "sI}}",
	    "format", "pdp-report/1", "inputs", inputs, "skipped", "count", (json_int_t)rp->skipped,
	    "examples", examples, "window", "since", time_or_null(rp->o.has_since, rp->o.since_ms),
	    "until", time_or_null(rp->o.has_until, rp->o.until_ms), "first",
	    time_or_null(rp->decisions > 0, rp->first_ms), "last",
	    time_or_null(rp->decisions > 0, rp->last_ms), "totals", "decisions",
	    (json_int_t)rp->decisions, "by_decision", by_decision(&rp->totals), "users_distinct",
	    (json_int_t)distinct_count(rp->users), "devices_distinct",
	    (json_int_t)distinct_count(rp->devices), "timeline", timeline_json(rp), "latency_us",
	    latency_json(rp), "policies", policies_json(rp), "apps", apps_json(rp),
	    "top_deny_reasons", top_json(rp->deny_reasons, rp->o.top, "reason"),
	    "top_step_up_reasons", top_json(rp->step_up_reasons, rp->o.top, "reason"),
	    "top_denied_users", top_json(rp->denied_users, rp->o.top, "user"), "report_only",
	    report_only_json(rp), "incidents", incidents_json(rp), "unlisted", "apps",
	    (json_int_t)rp->apps_unlisted, "policies", (json_int_t)rp->policies_unlisted,
	    "report_only", (json_int_t)rp->ro_unlisted, "incidents", (json_int_t)inc_unlisted);
	return doc;
}
