/* checks.c - the check kinds of a coverage checklist: their parameters and assessments */
#include "evidence/checks.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/checklist_parse.h"

const char *const stage_names[STAGE_COUNT + 1] = {"traditional", "initial", "advanced", "optimal",
                                                  NULL};
const char *const stage_titles[STAGE_COUNT] = {"Traditional", "Initial", "Advanced", "Optimal"};
const char *const check_status_names[3] = {"not_met", "partly", "met"};

static const char *const grant_names[GRANT_COUNT + 1] = {"mfa",
                                                         "authentication_strength",
                                                         "compliant_device",
                                                         "hybrid_joined_device",
                                                         "approved_clients",
                                                         "password_change",
                                                         "block",
                                                         NULL};
static const char *const store_error_names[] = {"deny", "allow", "any", NULL};
static const char *const decision_default_names[] = {"allow", "deny", NULL};
static const char *const scope_names[] = {"block", "enforced", NULL};
static const char *const risk_names[] = {"none", "low", "medium", "high", NULL};

/* --- parameter readers ------------------------------------------------------ */

int
check_set_text(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	struct check_parse *cp = (struct check_parse *)p;
	const char *s;

	if (ydoc_get_string(p->doc, v, &s, p->err, p->errsz) != 0)
		return -1;
	if (s[0] == '\0')
		return YDOC_ERR(p, v, "\"%s\" must not be empty", k->name);
	if ((*(const char **)field = arena_strndup(cp->mem, s, strlen(s))) == NULL)
		return YDOC_ERR(p, v, "out of memory");
	return 0;
}

int
check_set_strings(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	struct check_parse *cp = (struct check_parse *)p;
	size_t *count = (size_t *)(void *)((char *)field + *(const size_t *)k->arg);
	const char **list = NULL, **copy;
	size_t n = 0;

	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	copy = n > 0 ? arena_alloc(cp->mem, n * sizeof(*copy)) : NULL;
	if (n == 0 || copy == NULL) {
		free(list);
		return n == 0 ? YDOC_ERR(p, v, "\"%s\" must not be empty", k->name)
		              : YDOC_ERR(p, v, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i][0] == '\0' ||
		    (copy[i] = arena_strndup(cp->mem, list[i], strlen(list[i]))) == NULL) {
			free(list);
			return YDOC_ERR(p, v, "\"%s\" must not hold empty strings", k->name);
		}
	}
	free(list);
	*(const char ***)field = copy;
	*count = n;
	return 0;
}

/* A list of names from a NULL-ended table as a bit mask (arg: the table). */
static int
set_mask(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	const char *const *names = k->arg;
	const char **list = NULL;
	size_t n = 0;
	unsigned mask = 0;

	if (ydoc_get_strings(p->doc, v, &list, &n, p->err, p->errsz) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int j = 0;

		while (names[j] != NULL && strcmp(names[j], list[i]) != 0)
			j++;
		if (names[j] == NULL) {
			char known[256];
			size_t off = 0;

			known[0] = '\0';
			for (j = 0; names[j] != NULL && off < sizeof(known); j++)
				off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
				                        j ? ", " : "", names[j]);
			YDOC_ERR(p, v, "unknown %s \"%s\" (expected %s)", k->name, list[i], known);
			free(list);
			return -1;
		}
		mask |= 1u << j;
	}
	free(list);
	if (mask == 0)
		return YDOC_ERR(p, v, "\"%s\" must not be empty", k->name);
	*(unsigned *)field = mask;
	return 0;
}

/* "all" (every user) or "any" (users as the policy scopes them). */
static int
set_users(struct ydoc_parse *p, const struct ydoc_key *k, yaml_node_t *v, void *field)
{
	static const char *const names[] = {"any", "all"};
	int i;

	(void)k;
	if (ydoc_get_choice(p->doc, v, "users", names, 2, &i, p->err, p->errsz) != 0)
		return -1;
	*(bool *)field = i == 1;
	return 0;
}

/* The apps a check looks at: a class id (resolved with the checklist) or "all". */
static int
read_apps(struct ydoc_parse *p, yaml_node_t *v, void *target)
{
	static const struct ydoc_key row = CHECK_KEY_TEXT("apps", struct check_params, apps);
	struct check_params *cp = target;

	cp->apps_node = v;
	return ydoc_parse_key(p, &row, v, cp);
}

#define KEY_APPS YDOC_KEY_CALL("apps", read_apps)
#define KEY_MASK(n, field, names)                                                                  \
	YDOC_KEY_SLOT(n, set_mask, YDOC_FIELD(struct check_params, field, unsigned), names)

/* --- what the policy set holds ---------------------------------------------- */

/*
 * Appends a formatted piece to buf, after sep when buf is not empty. Control
 * characters in it (a '\n' in a test case's name would forge an item) become
 * '?'; a piece that does not fit is cut at a character, not inside one, and
 * ends in "…".
 */
static void __attribute__((format(printf, 4, 5)))
put(char *buf, size_t size, const char *sep, const char *fmt, ...)
{
	size_t len = strlen(buf), seplen = len > 0 ? strlen(sep) : 0;
	va_list ap;
	int n;

	if (len + seplen + 4 >= size)
		return;
	memcpy(buf + len, sep, seplen);
	len += seplen;
	va_start(ap, fmt);
	n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[len] = '\0';
		return;
	}
	for (char *c = buf + len; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if ((size_t)n >= size - len) {
		size_t at = size - 4;

		while (at > len && ((unsigned char)buf[at] & 0xc0) == 0x80)
			at--;
		memcpy(buf + at, "\xe2\x80\xa6", 4); /* … and the NUL */
	}
}

/* An evidence item ('\n' between items), a piece of a list (", " between pieces), a
 * remark of a note ("; " between remarks), and buf emptied and then written. */
#define add(buf, size, ...)      put(buf, size, "\n", __VA_ARGS__)
#define list_add(buf, size, ...) put(buf, size, ", ", __VA_ARGS__)
#define note_add(buf, size, ...) put(buf, size, "; ", __VA_ARGS__)
#define set_text(buf, size, ...) ((buf)[0] = '\0', put(buf, size, "", __VA_ARGS__))

static bool
matches_any(const char *const *patterns, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(patterns[i], name, 0) == 0)
			return true;
	return false;
}

static bool
in_idlist(const struct idlist *l, uint32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

/* Whether pol covers requests to app (POLICY_NO_ID: a request that maps to no app). */
static bool
covers_app(const struct pol_policy *pol, uint32_t app)
{
	if (app == POLICY_NO_ID)
		return pol->apps_include.all;
	return (pol->apps_include.all || in_idlist(&pol->apps_include.apps, app)) &&
	       !in_idlist(&pol->apps_exclude.apps, app);
}

static bool
locations_narrow(const struct pol_conditions *c)
{
	return c->has_locations && !(c->loc_include.any && !c->loc_exclude.any &&
	                             !c->loc_exclude.trusted && c->loc_exclude.locations.n == 0);
}

/*
 * The first condition that narrows pol to some requests, other than the risk
 * levels a check asks for (user_risk, sign_in_risk: the masks it allows), or NULL.
 */
static const char *
narrowed_by(const struct pol_policy *pol, unsigned user_risk, unsigned sign_in_risk)
{
	const struct pol_conditions *c = &pol->cond;

	if (c->user_risk != 0 && user_risk == 0)
		return "user risk";
	if (c->sign_in_risk != 0 && sign_in_risk == 0)
		return "sign-in risk";
	if (locations_narrow(c))
		return "locations";
	if (c->has_platforms &&
	    !(c->platform_include == PLATFORM_ALL_MASK && c->platform_exclude == 0))
		return "device platforms";
	if (c->client_apps != 0 &&
	    c->client_apps != (CLIENT_BIT(CLIENT_BROWSER) | CLIENT_BIT(CLIENT_API)))
		return "client apps";
	if (c->device_filter.present)
		return "device filter";
	return NULL;
}

/* The amr bits of names that the set interns (names no policy uses match nothing). */
static uint64_t
amr_mask(const struct policy_set *set, const char *const *names, size_t n)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t id = strtab_find(&set->amr, names[i]);

		if (id != POLICY_NO_ID && id < POLICY_MAX_AMR)
			mask |= 1ull << id;
	}
	return mask;
}

/* The first acr of strength s that the check does not take as meeting strength_amr, or
 * NULL. A token with that acr meets s too (the evaluator accepts it), and what the
 * identity provider means by it the set does not say. */
static const char *
unjudged_acr(const struct pol_strength *s, const struct check_params *cp)
{
	for (size_t i = 0; i < s->n_acr; i++) {
		size_t j = 0;

		while (j < cp->n_strength_acr && strcmp(cp->strength_acr[j], s->acr[i]) != 0)
			j++;
		if (j == cp->n_strength_acr)
			return s->acr[i];
	}
	return NULL;
}

/* The grant kinds one control meets, as bits; with judge_acr, a strength that its acr
 * values also meet is strong only when the check takes each of them (else *acr names one). */
static unsigned
control_grants(const struct policy_set *set, const struct pol_control *c,
               const struct check_params *cp, uint64_t amr, bool judge_acr, const char **acr)
{
	const struct pol_strength *s;
	bool strong = true;

	switch (c->type) {
	case CONTROL_STRENGTH:
		s = &set->strengths[c->strength];
		for (size_t i = 0; i < s->n_combinations && cp->n_strength_amr > 0; i++)
			strong = strong && (s->combinations[i] & amr) != 0;
		if (strong && judge_acr && cp->n_strength_amr > 0 &&
		    (*acr = unjudged_acr(s, cp)) != NULL)
			strong = false;
		return 1u << GRANT_MFA | (strong ? 1u << GRANT_AUTHENTICATION_STRENGTH : 0);
	case CONTROL_COMPLIANT_DEVICE:
		return 1u << GRANT_COMPLIANT_DEVICE;
	case CONTROL_HYBRID_JOINED_DEVICE:
		return 1u << GRANT_HYBRID_JOINED_DEVICE;
	case CONTROL_APPROVED_CLIENTS:
		return 1u << GRANT_APPROVED_CLIENTS;
	case CONTROL_PASSWORD_CHANGE:
		return 1u << GRANT_PASSWORD_CHANGE;
	}
	return 0;
}

enum app_grade { APP_NONE, APP_TRIAL, APP_PARTIAL, APP_FULL };

/* Whether pol's controls cannot be met without one of the grants in cp (require all: any
 * of them is one; require one: each is), its acr values judged or not. */
static bool
controls_grant(const struct policy_set *set, const struct pol_policy *pol,
               const struct check_params *cp, bool judge_acr, const char **acr)
{
	uint64_t amr = amr_mask(set, cp->strength_amr, cp->n_strength_amr);
	size_t hits = 0;

	for (size_t i = 0; i < pol->n_controls; i++)
		if ((control_grants(set, &pol->controls[i], cp, amr, judge_acr, acr) & cp->grant) !=
		    0)
			hits++;
	return pol->require == GRANT_REQUIRE_ALL ? hits > 0 : hits > 0 && hits == pol->n_controls;
}

/*
 * Whether pol requires one of the grants in cp: block, or controls that
 * cannot be met without one. APP_FULL: it does; APP_PARTIAL: only when a
 * strength's acr, which *acr names, is taken to mean what its combinations
 * do; APP_NONE: it does not.
 */
static enum app_grade
requires_grant(const struct policy_set *set, const struct pol_policy *pol,
               const struct check_params *cp, const char **acr)
{
	if (pol->block)
		return (cp->grant & 1u << GRANT_BLOCK) != 0 ? APP_FULL : APP_NONE;
	if (controls_grant(set, pol, cp, true, acr))
		return APP_FULL;
	return controls_grant(set, pol, cp, false, acr) ? APP_PARTIAL : APP_NONE;
}

/* Whether pol requires a control other than password_change, which a user at risk none or
 * low meets with nothing. */
static bool
requires_control(const struct pol_policy *pol)
{
	for (size_t i = 0; i < pol->n_controls; i++)
		if (pol->controls[i].type != CONTROL_PASSWORD_CHANGE)
			return true;
	return false;
}

/* Whether pol names the risk levels the check asks it to condition on. */
static bool
conditions_on(const struct pol_policy *pol, const struct check_params *cp)
{
	return (pol->cond.user_risk & cp->user_risk) == cp->user_risk &&
	       (pol->cond.sign_in_risk & cp->sign_in_risk) == cp->sign_in_risk;
}

/* The apps a check looks at, into apps (room for set->n_apps + 1): the class's, or every
 * app and the requests that map to none; a class no app matches: those requests only. */
static size_t
class_apps(const struct policy_set *set, const struct app_class *cls, uint32_t *apps)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n_apps; i++) {
		bool in = cls == NULL;

		for (size_t j = 0; cls != NULL && j < cls->n_patterns && !in; j++)
			in = fnmatch(cls->patterns[j], set->apps[i].id, 0) == 0;
		if (in)
			apps[n++] = (uint32_t)i;
	}
	if (cls == NULL || n == 0)
		apps[n++] = POLICY_NO_ID;
	return n;
}

static const char *
app_name(const struct policy_set *set, uint32_t app)
{
	return app == POLICY_NO_ID ? "(requests to no app)" : set->apps[app].id;
}

/*
 * Grades each app a check looks at by the best policy grade(pol) gives it,
 * with the evidence per app, and rolls them up: every app full is met, any
 * app graded at all is partly. what names the requirement in the advice.
 */
static void
grade_apps(const struct check_params *cp, const struct coverage_facts *f, struct check_result *r,
           enum app_grade (*grade)(const struct check_params *, const struct coverage_facts *,
                                   const struct pol_policy *, char *, size_t),
           const char *what)
{
	const struct policy_set *set = f->set;
	uint32_t *apps = calloc(set->n_apps + 1, sizeof(*apps));
	char missing[512] = "", scope[96];
	size_t n, full = 0, some = 0;

	if (apps == NULL) {
		snprintf(r->evidence, sizeof(r->evidence), "out of memory");
		return;
	}
	if (cp->app_class == NULL)
		set_text(scope, sizeof(scope), "every app");
	else
		set_text(scope, sizeof(scope), "%s apps", cp->app_class->id);
	n = class_apps(set, cp->app_class, apps);
	if (cp->app_class != NULL && apps[0] == POLICY_NO_ID)
		add(r->evidence, sizeof(r->evidence),
		    "no app id matches the %s class: only policies on all apps count",
		    cp->app_class->id);
	for (size_t i = 0; i < n; i++) {
		enum app_grade best = APP_NONE;
		char line[768] = "", note[256];

		for (size_t p = 0; p < set->n_policies; p++) {
			const struct pol_policy *pol = &set->policies[p];
			enum app_grade g;

			if (pol->state == POLICY_DISABLED || !covers_app(pol, apps[i]))
				continue;
			note[0] = '\0';
			if ((g = grade(cp, f, pol, note, sizeof(note))) == APP_NONE)
				continue;
			best = g > best ? g : best;
			list_add(line, sizeof(line), "%s%s%s%s", pol->id, note[0] ? " (" : "", note,
			         note[0] ? ")" : "");
		}
		add(r->evidence, sizeof(r->evidence), "%s: %s", app_name(set, apps[i]),
		    best == APP_NONE ? "no policy meets it" : line);
		if (best == APP_FULL)
			full++;
		else
			list_add(missing, sizeof(missing), "%s", app_name(set, apps[i]));
		if (best != APP_NONE)
			some++;
	}
	free(apps);
	r->status = full == n ? CHECK_MET : some > 0 ? CHECK_PARTLY : CHECK_NOT_MET;
	if (r->status != CHECK_MET)
		set_text(r->raise, sizeof(r->raise), "%s, enforced%s, on %s: %s", what,
		         cp->users_all ? " for all users" : "", scope, missing);
}

/* The names of ids in tab after label, appended to buf: "groups admins, ops". */
static void
names_add(char *buf, size_t size, const char *label, const struct idlist *ids,
          const struct strtab *tab)
{
	char names[160] = "";

	if (ids->n == 0)
		return;
	for (size_t i = 0; i < ids->n; i++)
		list_add(names, sizeof(names), "%s", tab->names[ids->ids[i]]);
	put(buf, size, " and ", "%s %s", label, names);
}

/* The users of u: "groups admins and users ann". */
static void
users_text(const struct policy_set *set, const struct pol_users *u, char *buf, size_t size)
{
	buf[0] = '\0';
	names_add(buf, size, "groups", &u->groups, &set->groups);
	names_add(buf, size, "roles", &u->roles, &set->roles);
	names_add(buf, size, "users", &u->users, &set->users);
}

/* Whether pol excludes a user no break-glass pattern of cp matches. */
static bool
excludes_others(const struct policy_set *set, const struct pol_policy *pol,
                const struct check_params *cp)
{
	const struct idlist *ex = &pol->users_exclude.users;

	for (size_t i = 0; i < ex->n; i++)
		if (!matches_any(cp->break_glass, cp->n_break_glass, set->users.names[ex->ids[i]]))
			return true;
	return false;
}

/*
 * Who pol applies to, graded: excluding all users it counts for nothing; on
 * named users only, or (users_all) on anything less than all users, or
 * excluding groups, roles or users other than break-glass accounts, it is
 * partial; on all users, or (!users_all) on groups or roles, full. The note
 * says who, when not everyone.
 */
static enum app_grade
users_grade(const struct policy_set *set, const struct pol_policy *pol,
            const struct check_params *cp, char *note, size_t size)
{
	const struct pol_users *in = &pol->users_include, *ex = &pol->users_exclude;
	enum app_grade g = APP_FULL;
	char who[200];

	if (ex->all)
		return APP_NONE;
	if (!in->all) {
		users_text(set, in, who, sizeof(who));
		note_add(note, size, "on %s only", who);
		if (cp->users_all || (in->groups.n == 0 && in->roles.n == 0))
			g = APP_PARTIAL;
	}
	if (ex->groups.n > 0 || ex->roles.n > 0 || excludes_others(set, pol, cp)) {
		users_text(set, ex, who, sizeof(who));
		note_add(note, size, "excludes %s", who);
		g = APP_PARTIAL;
	}
	return g;
}

/* The note for a policy that qualifies, and its grade: the lowest of cap (what it
 * requires), who it applies to, and its state and conditions. note may hold a remark
 * already, which the others follow. */
static enum app_grade
state_grade(const struct check_params *cp, const struct policy_set *set,
            const struct pol_policy *pol, enum app_grade cap, const char *narrow, char *note,
            size_t size)
{
	enum app_grade g = users_grade(set, pol, cp, note, size);

	if (g == APP_NONE)
		return APP_NONE;
	g = cap < g ? cap : g;
	if (narrow != NULL) {
		note_add(note, size, "only under a %s condition", narrow);
		g = g < APP_PARTIAL ? g : APP_PARTIAL;
	}
	if (pol->state == POLICY_REPORT_ONLY) {
		note_add(note, size, "report-only");
		g = APP_TRIAL;
	}
	return g;
}

/* --- require_grant ------------------------------------------------------------ */

static enum app_grade
grade_grant(const struct check_params *cp, const struct coverage_facts *f,
            const struct pol_policy *pol, char *note, size_t size)
{
	const char *acr = NULL;
	enum app_grade cap = requires_grant(f->set, pol, cp, &acr);

	if (cap == APP_NONE || !conditions_on(pol, cp))
		return APP_NONE;
	if (cap == APP_PARTIAL)
		note_add(note, size, "also met by acr %s, which the PDP cannot judge", acr);
	return state_grade(cp, f->set, pol, cap, narrowed_by(pol, cp->user_risk, cp->sign_in_risk),
	                   note, size);
}

static void
assess_grant(const struct check_params *cp, const struct coverage_facts *f, struct check_result *r)
{
	char what[256] = "require ";
	size_t len = strlen(what);

	for (int g = 0; g < GRANT_COUNT; g++)
		if (cp->grant & 1u << g)
			len += (size_t)snprintf(what + len, sizeof(what) - len, "%s%s",
			                        len > 8 ? " or " : "", grant_names[g]);
	if (cp->user_risk != 0 || cp->sign_in_risk != 0)
		snprintf(what + len, sizeof(what) - len, " on a %s condition",
		         cp->user_risk != 0 ? "user_risk" : "sign_in_risk");
	grade_apps(cp, f, r, grade_grant, what);
}

static int
validate_grant(struct ydoc_parse *p, yaml_node_t *check, const struct check_params *cp)
{
	if (cp->grant == 0)
		return YDOC_ERR(p, check, "require_grant needs \"grant\"");
	return 0;
}

static const struct ydoc_key grant_keys[] = {
    KEY_MASK("grant", grant, grant_names),
    CHECK_KEY_STRINGS("strength_amr", struct check_params, strength_amr, n_strength_amr),
    CHECK_KEY_STRINGS("strength_acr", struct check_params, strength_acr, n_strength_acr),
    KEY_APPS,
    KEY_MASK("user_risk", user_risk, risk_names),
    KEY_MASK("sign_in_risk", sign_in_risk, risk_names),
    YDOC_KEY_SLOT("users", set_users, YDOC_FIELD(struct check_params, users_all, bool), NULL),
    YDOC_KEY_END,
};

/* --- session_bound ------------------------------------------------------------- */

static enum app_grade
grade_session(const struct check_params *cp, const struct coverage_facts *f,
              const struct pol_policy *pol, char *note, size_t size)
{
	enum app_grade cap = APP_FULL;

	if (pol->sign_in_frequency_s == POLICY_NO_FREQUENCY)
		return APP_NONE;
	if ((uint64_t)pol->sign_in_frequency_s * 1000 > cp->max_ms) {
		note_add(note, size, "sign-in frequency %llds, longer than %llus",
		         (long long)pol->sign_in_frequency_s,
		         (unsigned long long)cp->max_ms / 1000);
		cap = APP_PARTIAL;
	}
	return state_grade(cp, f->set, pol, cap, narrowed_by(pol, 0, 0), note, size);
}

static void
assess_session(const struct check_params *cp, const struct coverage_facts *f,
               struct check_result *r)
{
	char what[96];

	snprintf(what, sizeof(what), "a sign_in_frequency of at most %llus",
	         (unsigned long long)cp->max_ms / 1000);
	grade_apps(cp, f, r, grade_session, what);
}

static int
validate_session(struct ydoc_parse *p, yaml_node_t *check, const struct check_params *cp)
{
	if (cp->max_ms == 0)
		return YDOC_ERR(p, check, "session_bound needs \"max\"");
	return 0;
}

static const struct ydoc_key session_keys[] = {
    YDOC_KEY_MS64("max", struct check_params, max_ms, 60000, 365ull * 86400000),
    KEY_APPS,
    YDOC_KEY_SLOT("users", set_users, YDOC_FIELD(struct check_params, users_all, bool), NULL),
    YDOC_KEY_END,
};

/* --- network_independent ------------------------------------------------------- */

/* A policy that requires something of the caller (not a block) counts when it holds on
 * every network; one that holds only on some networks is named as the gap. */
static enum app_grade
grade_network(const struct check_params *cp, const struct coverage_facts *f,
              const struct pol_policy *pol, char *note, size_t size)
{
	if (pol->block ||
	    (!requires_control(pol) && pol->sign_in_frequency_s == POLICY_NO_FREQUENCY))
		return APP_NONE;
	if (locations_narrow(&pol->cond)) {
		note_add(note, size, "%s",
		         pol->cond.loc_exclude.trusted || pol->cond.loc_exclude.locations.n > 0
		             ? "not on the networks it excludes"
		             : "only on the networks it names");
		return state_grade(cp, f->set, pol, APP_TRIAL, NULL, note, size);
	}
	return state_grade(cp, f->set, pol, APP_FULL, narrowed_by(pol, 0, 0), note, size);
}

static void
assess_network(const struct check_params *cp, const struct coverage_facts *f,
               struct check_result *r)
{
	grade_apps(cp, f, r, grade_network,
	           "a policy that requires a control with no location condition");
}

static const struct ydoc_key network_keys[] = {
    KEY_APPS,
    YDOC_KEY_SLOT("users", set_users, YDOC_FIELD(struct check_params, users_all, bool), NULL),
    YDOC_KEY_END,
};

/* --- context_store ----------------------------------------------------------------- */

static void
assess_store(const struct check_params *cp, const struct coverage_facts *f, struct check_result *r)
{
	const struct coverage_config *c = f->config;
	bool events_ok = !cp->events || c->store_events;
	bool error_ok = cp->on_store_error == WANT_ANY ||
	                c->store_error_deny == (cp->on_store_error == WANT_DENY);

	if (c->path == NULL) {
		add(r->evidence, sizeof(r->evidence), "no config given (-c): no context store");
		snprintf(r->raise, sizeof(r->raise), "assess with -c CONFIG, naming a store");
		return;
	}
	if (strcmp(c->store, "none") == 0) {
		add(r->evidence, sizeof(r->evidence), "%s: store: none", c->path);
		snprintf(r->raise, sizeof(r->raise), "configure store (type: %s)",
		         cp->events ? "redis" : "redis or file");
		return;
	}
	add(r->evidence, sizeof(r->evidence), "%s: store.type: %s (%s)", c->path, c->store,
	    c->store_events ? "publishes events" : "no events");
	add(r->evidence, sizeof(r->evidence), "store.on_store_error: %s",
	    c->store_error_deny ? "deny" : "allow");
	r->status = events_ok && error_ok ? CHECK_MET : CHECK_PARTLY;
	if (!events_ok)
		snprintf(r->raise, sizeof(r->raise), "a store that publishes events (type: redis)");
	else if (!error_ok)
		snprintf(r->raise, sizeof(r->raise), "store.on_store_error: %s",
		         store_error_names[cp->on_store_error]);
}

static const struct ydoc_key store_keys[] = {
    YDOC_KEY_BOOL("events", struct check_params, events),
    YDOC_KEY_CHOICE("on_store_error", struct check_params, on_store_error, store_error_names),
    YDOC_KEY_END,
};

/* --- decision_log ------------------------------------------------------------------- */

static void
assess_log(const struct check_params *cp, const struct coverage_facts *f, struct check_result *r)
{
	const struct coverage_config *c = f->config;

	if (c->path == NULL || c->decision_log == NULL) {
		add(r->evidence, sizeof(r->evidence), "%s: no decision_log",
		    c->path != NULL ? c->path : "no config given (-c)");
		snprintf(r->raise, sizeof(r->raise), "set decision_log to a file");
		return;
	}
	add(r->evidence, sizeof(r->evidence), "%s: decision_log: %s", c->path, c->decision_log);
	r->status =
	    !cp->to_file || strcmp(c->decision_log, "stderr") != 0 ? CHECK_MET : CHECK_PARTLY;
	if (r->status != CHECK_MET)
		snprintf(r->raise, sizeof(r->raise), "set decision_log to a file, not stderr");
}

static const struct ydoc_key log_keys[] = {
    YDOC_KEY_BOOL("to_file", struct check_params, to_file),
    YDOC_KEY_END,
};

/* --- default_decision -------------------------------------------------------------------- */

static void
assess_default(const struct check_params *cp, const struct coverage_facts *f,
               struct check_result *r)
{
	const struct coverage_config *c = f->config;
	bool deny = c->default_deny;

	add(r->evidence, sizeof(r->evidence), "%s: default_decision: %s",
	    c->path != NULL ? c->path : "no config given (-c), so the default",
	    deny ? "deny" : "allow");
	if (deny == (cp->value == DEFAULT_DENY)) {
		r->status = CHECK_MET;
		return;
	}
	for (size_t i = 0; i < f->set->n_policies; i++) {
		const struct pol_policy *pol = &f->set->policies[i];

		if (pol->state == POLICY_ENABLED && pol->apps_include.all &&
		    pol->apps_exclude.apps.n == 0 && pol->users_include.all &&
		    !pol->users_exclude.all && !pol->block && requires_control(pol) &&
		    narrowed_by(pol, 0, 0) == NULL) {
			add(r->evidence, sizeof(r->evidence),
			    "%s applies to every user and app with no condition", pol->id);
			r->status = CHECK_PARTLY;
		}
	}
	snprintf(r->raise, sizeof(r->raise), "default_decision: %s",
	         decision_default_names[cp->value]);
}

static const struct ydoc_key default_keys[] = {
    YDOC_KEY_CHOICE("value", struct check_params, value, decision_default_names),
    YDOC_KEY_END,
};

/* --- test_coverage and report_only_trial ------------------------------------------------------ */

/* Evidence of the cases as a whole; false when there are none to read. */
static bool
tests_read(const struct coverage_facts *f, struct check_result *r)
{
	const struct coverage_tests *t = f->tests;

	if (t->error != NULL) {
		add(r->evidence, sizeof(r->evidence), "test cases not read: %s", t->error);
		return false;
	}
	add(r->evidence, sizeof(r->evidence), "%zu case%s in %s, %zu passed", t->n_cases,
	    t->n_cases == 1 ? "" : "s", t->dir, t->n_passed);
	if (t->failing != NULL)
		add(r->evidence, sizeof(r->evidence), "failing: \"%s\"", t->failing);
	return t->n_cases > 0;
}

/* Lists the policies of state in scope with the cases they applied in; returns how many
 * of how many are covered, and names the others in gaps. */
static void
policy_cases(const struct coverage_facts *f, struct check_result *r, bool report_only_too,
             bool report_only_only, size_t *covered, size_t *total, char *gaps, size_t gapsz)
{
	const struct coverage_tests *t = f->tests;

	*covered = *total = 0;
	for (size_t i = 0; i < f->set->n_policies; i++) {
		const struct pol_policy *pol = &f->set->policies[i];
		bool in = report_only_only
		              ? pol->state == POLICY_REPORT_ONLY
		              : pol->state == POLICY_ENABLED ||
		                    (report_only_too && pol->state == POLICY_REPORT_ONLY);

		if (!in)
			continue;
		(*total)++;
		if (t->error == NULL && t->hits[i] > 0) {
			(*covered)++;
			add(r->evidence, sizeof(r->evidence), "%s%s: %zu case%s, e.g. \"%s\"",
			    pol->id, pol->state == POLICY_REPORT_ONLY ? " (report-only)" : "",
			    t->hits[i], t->hits[i] == 1 ? "" : "s", t->first[i]);
		} else {
			add(r->evidence, sizeof(r->evidence), "%s%s: no passing case applies it",
			    pol->id, pol->state == POLICY_REPORT_ONLY ? " (report-only)" : "");
			list_add(gaps, gapsz, "%s", pol->id);
		}
	}
}

static void
assess_tests(const struct check_params *cp, const struct coverage_facts *f, struct check_result *r)
{
	char gaps[512] = "";
	size_t covered, total;
	bool any = tests_read(f, r);

	policy_cases(f, r, cp->report_only, false, &covered, &total, gaps, sizeof(gaps));
	if (!any) {
		set_text(r->raise, sizeof(r->raise),
		         "write cases in %s that each policy applies in", f->tests->dir);
		return;
	}
	r->status = covered == total && f->tests->n_passed == f->tests->n_cases ? CHECK_MET
	            : covered > 0                                               ? CHECK_PARTLY
	                                                                        : CHECK_NOT_MET;
	if (gaps[0] != '\0')
		set_text(r->raise, sizeof(r->raise), "add passing cases that apply: %s", gaps);
	else if (r->status != CHECK_MET)
		snprintf(r->raise, sizeof(r->raise), "make every case pass (pdp test)");
}

static const struct ydoc_key tests_keys[] = {
    YDOC_KEY_BOOL("report_only", struct check_params, report_only),
    YDOC_KEY_END,
};

static void
assess_trial(const struct check_params *cp, const struct coverage_facts *f, struct check_result *r)
{
	char gaps[512] = "";
	size_t covered, total;

	(void)cp;
	policy_cases(f, r, false, true, &covered, &total, gaps, sizeof(gaps));
	if (total == 0) {
		add(r->evidence, sizeof(r->evidence), "no report-only policy in the set");
		snprintf(r->raise, sizeof(r->raise),
		         "add the next change as state: report-only, and read its effect with "
		         "pdp report before enforcing it");
		return;
	}
	r->status = covered == total ? CHECK_MET : CHECK_PARTLY;
	if (r->status != CHECK_MET)
		set_text(r->raise, sizeof(r->raise), "add passing cases that apply: %s", gaps);
}

static const struct ydoc_key trial_keys[] = {
    YDOC_KEY_END,
};

/* --- exclusion -------------------------------------------------------------------------------- */

static bool
in_scope(const struct pol_policy *pol, int scope)
{
	return pol->state == POLICY_ENABLED && (scope == SCOPE_ENFORCED || pol->block);
}

static void
assess_exclusion(const struct check_params *cp, const struct coverage_facts *f,
                 struct check_result *r)
{
	const struct policy_set *set = f->set;
	const char *what = cp->scope == SCOPE_BLOCK ? "enforced block" : "enforced";
	size_t total = 0, best_n = 0;
	const char *best = NULL;

	for (size_t i = 0; i < set->n_policies; i++)
		total += in_scope(&set->policies[i], cp->scope);
	/* The account excluded from the most policies in scope. */
	for (size_t u = 0; u < set->users.n; u++) {
		size_t n = 0;

		if (!matches_any(cp->accounts, cp->n_accounts, set->users.names[u]))
			continue;
		for (size_t i = 0; i < set->n_policies; i++)
			n += in_scope(&set->policies[i], cp->scope) &&
			     in_idlist(&set->policies[i].users_exclude.users, (uint32_t)u);
		if (n > best_n) {
			best_n = n;
			best = set->users.names[u];
		}
	}
	if (total == 0) {
		add(r->evidence, sizeof(r->evidence), "no %s policy to exclude an account from",
		    what);
		r->status = CHECK_MET;
		return;
	}
	if (best == NULL) {
		add(r->evidence, sizeof(r->evidence),
		    "no %s policy excludes a user matching the break-glass patterns", what);
		snprintf(r->raise, sizeof(r->raise),
		         "exclude a break-glass account (users: exclude) from every %s policy",
		         what);
		return;
	}
	add(r->evidence, sizeof(r->evidence), "%s is excluded from %zu of %zu %s policies", best,
	    best_n, total, what);
	for (size_t i = 0; i < set->n_policies; i++) {
		const struct pol_policy *pol = &set->policies[i];
		uint32_t id = strtab_find(&set->users, best);

		if (in_scope(pol, cp->scope))
			add(r->evidence, sizeof(r->evidence), "%s: %s", pol->id,
			    in_idlist(&pol->users_exclude.users, id) ? "excluded" : "NOT excluded");
	}
	r->status = best_n == total ? CHECK_MET : CHECK_PARTLY;
	if (r->status != CHECK_MET)
		set_text(r->raise, sizeof(r->raise), "exclude %s from every %s policy", best, what);
}

static int
validate_exclusion(struct ydoc_parse *p, yaml_node_t *check, const struct check_params *cp)
{
	if (cp->n_accounts == 0)
		return YDOC_ERR(p, check, "exclusion needs \"accounts\"");
	return 0;
}

static const struct ydoc_key exclusion_keys[] = {
    CHECK_KEY_STRINGS("accounts", struct check_params, accounts, n_accounts),
    YDOC_KEY_CHOICE("scope", struct check_params, scope, scope_names),
    YDOC_KEY_END,
};

/* --- the kinds ------------------------------------------------------------------------------- */

static const struct check_kind kinds[] = {
    {"require_grant", grant_keys, validate_grant, assess_grant},
    {"session_bound", session_keys, validate_session, assess_session},
    {"network_independent", network_keys, NULL, assess_network},
    {"context_store", store_keys, NULL, assess_store},
    {"decision_log", log_keys, NULL, assess_log},
    {"default_decision", default_keys, NULL, assess_default},
    {"test_coverage", tests_keys, NULL, assess_tests},
    {"report_only_trial", trial_keys, NULL, assess_trial},
    {"exclusion", exclusion_keys, validate_exclusion, assess_exclusion},
};

const struct check_kind *
check_kind_find(const char *name)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

const char *
check_kind_list(void)
{
	return "require_grant, session_bound, network_independent, context_store, decision_log, "
	       "default_decision, test_coverage, report_only_trial, exclusion";
}
