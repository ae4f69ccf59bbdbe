/* eval.c - conditional-access evaluation of one request against a policy set */
#include "policy/eval.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/hex.h"
#include "core/netaddr.h"

/* Longest request path and host the evaluator normalises; longer ones are refused. */
#define EVAL_MAX_PATH 4096
#define EVAL_MAX_HOST 256

static const char *const why_texts[] = {
    [EVAL_APPLIES] = "applies",
    [EVAL_DISABLED] = "disabled",
    [EVAL_USER_NOT_INCLUDED] = "user not included",
    [EVAL_USER_EXCLUDED] = "user excluded",
    [EVAL_APP_NOT_INCLUDED] = "app not included",
    [EVAL_APP_EXCLUDED] = "app excluded",
    [EVAL_USER_RISK] = "user risk does not match",
    [EVAL_SIGN_IN_RISK] = "sign-in risk does not match",
    [EVAL_LOCATION] = "location does not match",
    [EVAL_PLATFORM] = "device platform does not match",
    [EVAL_CLIENT_APP] = "client app does not match",
    [EVAL_DEVICE_FILTER] = "device filter does not match",
};

const char *
eval_why_text(enum eval_why why)
{
	return (unsigned)why < sizeof(why_texts) / sizeof(why_texts[0]) ? why_texts[why] : "?";
}

/* --- subject ------------------------------------------------------------------ */

static void
sort_small(uint32_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t v = a[i];
		size_t j = i;

		for (; j > 0 && a[j - 1] > v; j--)
			a[j] = a[j - 1];
		a[j] = v;
	}
}

/* Interns the names of list that the set knows into buf; returns how many. */
static size_t
intern_list(const struct strtab *tab, const struct strlist *list, uint32_t *buf, size_t room)
{
	size_t k = 0;

	for (size_t i = 0; i < list->n && k < room; i++) {
		uint32_t id = strtab_find(tab, list->items[i]);

		if (id != POLICY_NO_ID)
			buf[k++] = id;
	}
	sort_small(buf, k);
	return k;
}

void
eval_subject_ids(const struct policy_set *set, const struct subject *s, uint32_t *buf, size_t bufn,
                 struct subject_ids *out)
{
	out->user = strtab_find(&set->users, s->user);
	out->client =
	    s->client_id != NULL ? strtab_find(&set->clients, s->client_id) : POLICY_NO_ID;
	out->amr = 0;
	for (size_t i = 0; i < s->amr.n; i++) {
		uint32_t id = strtab_find(&set->amr, s->amr.items[i]);

		if (id < POLICY_MAX_AMR)
			out->amr |= 1ull << id;
	}
	out->groups = buf;
	out->n_groups = intern_list(&set->groups, &s->groups, buf, bufn);
	out->roles = buf + out->n_groups;
	out->n_roles =
	    intern_list(&set->roles, &s->roles, buf + out->n_groups, bufn - out->n_groups);
	out->users_filter = out->user != POLICY_NO_ID ? policy_filter_bit(0, out->user) : 0;
	for (size_t i = 0; i < out->n_groups; i++)
		out->users_filter |= policy_filter_bit(1, out->groups[i]);
	for (size_t i = 0; i < out->n_roles; i++)
		out->users_filter |= policy_filter_bit(2, out->roles[i]);
}

/* --- request ------------------------------------------------------------------- */

/*
 * Whether seg (len bytes, decoded) names a file a Windows-like upstream may
 * reach under another name: an NTFS stream ("name::$DATA", "x:y"), an 8.3
 * short name ("PAYROL~1"), or a letter whose Unicode case mapping is ASCII
 * (U+0130, U+0131, U+017F, U+212A) where the matching folds ASCII only.
 */
static bool
windows_alias(const char *seg, size_t len)
{
	static const char *const folds_to_ascii[] = {"\xc4\xb0", "\xc4\xb1", "\xc5\xbf",
	                                             "\xe2\x84\xaa"};

	for (size_t k = 0; k < len; k++) {
		if (seg[k] == ':' ||
		    (seg[k] == '~' && k + 1 < len && seg[k + 1] >= '0' && seg[k + 1] <= '9'))
			return true;
		for (size_t f = 0; (unsigned char)seg[k] >= 0x80 &&
		                   f < sizeof(folds_to_ascii) / sizeof(folds_to_ascii[0]);
		     f++) {
			size_t fl = strlen(folds_to_ascii[f]);

			if (len - k >= fl && memcmp(seg + k, folds_to_ascii[f], fl) == 0)
				return true;
		}
	}
	return false;
}

long
eval_normalize_path(const char *uri, unsigned flags, char *out, size_t outsz)
{
	char dec[EVAL_MAX_PATH];
	bool esc[EVAL_MAX_PATH]; /* dec[i] came from a %XX escape */
	bool windows = (flags & EVAL_PATH_WINDOWS) != 0, dir = false;
	size_t n = 0, o = 0;
	const char *p = uri;

	if (uri == NULL || outsz < 2)
		return -1;
	/* An absolute-form request target: skip scheme and authority. */
	if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0) {
		p = strchr(p + 8 - (p[4] == ':'), '/');
		if (p == NULL)
			p = "/";
	}
	if (*p != '/')
		return -1;
	for (; *p != '\0' && *p != '?'; p++) {
		char c = *p;
		bool e = c == '%';

		/* No client sends '#' (a fragment stays in the browser): cutting at it
		 * would judge a path the upstream may not see. */
		if (c == '#')
			return -1;
		if (e) {
			int hi = hex_value(p[1]), lo = hi >= 0 ? hex_value(p[2]) : -1;

			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = (char)(hi << 4 | lo);
			p += 2;
		}
		/* '\\' is '/' to WHATWG URL parsers (Node, Deno, Bun) and Windows, a name
		 * byte to others, and routers decode "%5C" into one: refused either way
		 * (browsers send a typed '\\' as '/'). */
		if (c == '\\')
			return -1;
		if (n + 1 >= sizeof(dec))
			return -1;
		esc[n] = e;
		dec[n++] = c;
	}
	/*
	 * Segments: empty ones merge, "." goes, ".." pops. A ";parameter" ends its
	 * segment (Tomcat, Jetty); a Windows-like upstream also folds case and drops
	 * trailing dots and spaces, and refuses a segment it may read as another
	 * file's alias (a stream, a short name). A dot segment that only some
	 * upstreams would see as one (escaped dots, an escaped separator, a
	 * parameter, a run of dots and spaces) is refused: no reading of it is safe.
	 */
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, len;
		const char *seg = dec + i + 1;
		bool plain = dec[i] == '/' && !esc[i], dots = true, dot;

		while (j < n && dec[j] != '/')
			j++;
		plain = plain && (j == n || (dec[j] == '/' && !esc[j]));
		len = j - i - 1; /* segment dec[i+1 .. j) */
		for (size_t k = 0; k < len; k++) {
			if (seg[k] == ';') {
				len = k;
				plain = false;
				break;
			}
			plain = plain && (!esc[i + 1 + k] || seg[k] != '.');
			dots = dots && (seg[k] == '.' || (windows && seg[k] == ' '));
		}
		dot = len > 0 && len <= 2 && dots && seg[0] == '.' && seg[len - 1] == '.';
		if (len > 0 && dots && (windows || dot) && !(dot && plain))
			return -1;
		if (windows && windows_alias(seg, j - i - 1)) /* the whole segment: IIS keeps ';' */
			return -1;
		while (windows && !dots && (seg[len - 1] == '.' || seg[len - 1] == ' '))
			len--;
		dir = len == 0 || dot;
		if (len == 0 || (dot && len == 1)) {
			/* nothing to write */
		} else if (dot) {
			if (o == 0)
				return -1;
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--; /* the slash before the popped segment */
		} else {
			if (o + 1 + len + 1 >= outsz)
				return -1;
			out[o++] = '/';
			for (size_t k = 0; k < len; k++)
				out[o++] = windows && seg[k] >= 'A' && seg[k] <= 'Z'
				               ? (char)(seg[k] - 'A' + 'a')
				               : seg[k];
		}
		i = j;
	}
	/* Keep a trailing slash, as "/dir/", "/dir/." and "/dir/x/.." all name a directory. */
	if (dir || o == 0) {
		if (o + 2 > outsz)
			return -1;
		out[o++] = '/';
	}
	out[o] = '\0';
	return (long)o;
}

/* Whether prefix r covers path (len bytes): "/payroll/" also covers "/payroll" itself. */
static bool
route_covers(const struct route *r, const char *path, size_t len)
{
	if (len >= r->path_len)
		return memcmp(path, r->path, r->path_len) == 0;
	return len + 1 == r->path_len && r->path[len] == '/' && memcmp(path, r->path, len) == 0;
}

/*
 * The app of the request whose path normalises to path (len bytes): host,
 * longest covering prefix, methods. Apps of a Windows-like upstream match the
 * path in that upstream's form. Returns -1 for a path that has no safe
 * reading, else 0 with the app (or POLICY_NO_ID) in *app.
 */
static int
map_app(const struct policy_set *set, const struct eval_input *in, const char *path, size_t len,
        uint32_t *app)
{
	char host[EVAL_MAX_HOST], folded[EVAL_MAX_PATH];
	const struct host_routes *h;
	unsigned mbit;
	uint32_t id;
	size_t n;
	long flen = -1;

	*app = POLICY_NO_ID;
	if (in->host == NULL || (n = strlen(in->host)) >= sizeof(host))
		return 0;
	for (size_t i = 0; i <= n; i++)
		host[i] = (char)(in->host[i] >= 'A' && in->host[i] <= 'Z' ? in->host[i] - 'A' + 'a'
		                                                          : in->host[i]);
	if ((id = strtab_find(&set->host_ids, host)) == POLICY_NO_ID)
		return 0;
	h = &set->hosts[id];
	if (h->case_insensitive &&
	    (flen = eval_normalize_path(in->uri, EVAL_PATH_WINDOWS, folded, sizeof(folded))) < 0)
		return -1;
	mbit = in->method != NULL ? policy_method_bit(in->method) : 0;
	for (size_t i = 0; i < h->n_routes; i++) {
		const struct route *r = &h->routes[i];
		const struct pol_app *a = &set->apps[r->app];
		bool covers = a->case_insensitive ? route_covers(r, folded, (size_t)flen)
		                                  : route_covers(r, path, len);

		if (covers && in->method != NULL &&
		    policy_methods_match(&a->methods, in->method, mbit)) {
			*app = r->app;
			return 0;
		}
	}
	return 0;
}

uint32_t
eval_map_app(const struct policy_set *set, const struct eval_input *in)
{
	char path[EVAL_MAX_PATH];
	long n = eval_normalize_path(in->uri, 0, path, sizeof(path));
	uint32_t app = POLICY_NO_ID;

	if (n < 0 || map_app(set, in, path, (size_t)n, &app) != 0)
		return POLICY_NO_ID;
	return app;
}

/* What is known of the request, computed once for every policy. */
struct facts {
	uint32_t app;
	uint64_t locations[EVAL_MAX_LOCATIONS / 64];
	bool in_trusted;
	int platform; /* -1: unknown */
	enum risk_level user_risk;
	enum risk_level sign_in_risk;
};

static bool
bit(const uint64_t *bits, uint32_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

/* Risk claims are names; anything unrecognised counts as high, never as none. */
static enum risk_level
risk_of(const char *name)
{
	int r;

	if (name == NULL)
		return RISK_NONE;
	r = policy_name_lookup(risk_level_names, RISK_COUNT, name);
	return r >= 0 ? (enum risk_level)r : RISK_HIGH;
}

/* The platform from the device record, else a hint from the User-Agent. */
static int
platform_of(const struct eval_input *in)
{
	static const struct {
		const char *needle;
		enum platform p;
	} hints[] = {
	    {"Android", PLATFORM_ANDROID}, {"iPhone", PLATFORM_IOS},      {"iPad", PLATFORM_IOS},
	    {"Windows", PLATFORM_WINDOWS}, {"Macintosh", PLATFORM_MACOS}, {"Linux", PLATFORM_LINUX},
	};
	const char *ua = in->user_agent;

	if (in->device != NULL && in->device->platform >= 0)
		return in->device->platform;
	for (size_t i = 0; ua != NULL && i < sizeof(hints) / sizeof(hints[0]); i++) {
		if (strstr(ua, hints[i].needle) != NULL)
			return hints[i].p;
	}
	return -1;
}

static void
facts_of(const struct policy_set *set, const struct eval_input *in, uint32_t app, struct facts *f)
{
	struct netaddr addr;
	bool have_ip = in->ip != NULL && netaddr_parse(in->ip, &addr) == 0;
	uint16_t country =
	    in->country != NULL && strlen(in->country) == 2
	        ? (uint16_t)((unsigned char)in->country[0] << 8 | (unsigned char)in->country[1])
	        : 0;

	f->app = app;
	memset(f->locations, 0, sizeof(f->locations));
	f->in_trusted = false;
	for (size_t i = 0; i < set->n_locations && i < EVAL_MAX_LOCATIONS; i++) {
		const struct pol_location *l = &set->locations[i];
		bool match = country == 0 && l->unknown_country;

		for (size_t j = 0; !match && have_ip && j < l->n_ranges; j++)
			match = netrange_contains(&l->ranges[j], &addr);
		for (size_t j = 0; !match && country != 0 && j < l->n_countries; j++)
			match = l->countries[j] == country;
		if (match) {
			f->locations[i / 64] |= 1ull << (i % 64);
			f->in_trusted |= l->trusted;
		}
	}
	f->platform = platform_of(in);
	f->user_risk = in->user != NULL ? in->user->risk : RISK_NONE;
	f->sign_in_risk = risk_of(in->subject->sign_in_risk);
}

/* --- one policy ------------------------------------------------------------------ */

static bool
in_idlist(const struct idlist *l, uint32_t id)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (l->ids[mid] == id)
			return true;
		if (l->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool
intersects(const struct idlist *l, const uint32_t *ids, size_t n)
{
	for (size_t i = 0, j = 0; i < l->n && j < n;) {
		if (l->ids[i] == ids[j])
			return true;
		if (l->ids[i] < ids[j])
			i++;
		else
			j++;
	}
	return false;
}

static bool
in_small(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == id)
			return true;
	}
	return false;
}

/* The exact include check of a candidate that carries its few include ids. */
static bool
inline_includes(const struct candidate *c, const struct subject_ids *ids)
{
	for (uint8_t i = 0; i < c->n_inline; i++) {
		uint32_t id = c->ids[i];

		if ((c->kinds[i] == 0 && ids->user == id) ||
		    (c->kinds[i] == 1 && in_small(ids->groups, ids->n_groups, id)) ||
		    (c->kinds[i] == 2 && in_small(ids->roles, ids->n_roles, id)))
			return true;
	}
	return false;
}

static bool
users_match(const struct pol_users *u, const struct subject_ids *ids)
{
	if (u->all)
		return true;
	return (ids->user != POLICY_NO_ID && in_idlist(&u->users, ids->user)) ||
	       intersects(&u->groups, ids->groups, ids->n_groups) ||
	       intersects(&u->roles, ids->roles, ids->n_roles);
}

static bool
locations_match(const struct pol_locations *s, const struct facts *f)
{
	if (s->any || (s->trusted && f->in_trusted))
		return true;
	for (size_t i = 0; i < s->locations.n; i++) {
		if (s->locations.ids[i] < EVAL_MAX_LOCATIONS &&
		    bit(f->locations, s->locations.ids[i]))
			return true;
	}
	return false;
}

static const char *
device_attr(const struct device_record *d, enum device_attr a)
{
	switch (a) {
	case DEVICE_ATTR_ID:
		return d->id;
	case DEVICE_ATTR_COMPLIANT:
		return d->compliant ? "true" : "false";
	case DEVICE_ATTR_MANAGED:
		return d->managed ? "true" : "false";
	case DEVICE_ATTR_TRUST:
		return (unsigned)d->trust < DEVICE_TRUST_COUNT ? device_trust_names[d->trust]
		                                               : NULL;
	case DEVICE_ATTR_PLATFORM:
		return d->platform >= 0 && d->platform < PLATFORM_COUNT
		           ? platform_names[d->platform]
		           : NULL;
	case DEVICE_ATTR_OS_VERSION:
		return d->os_version;
	default:
		return NULL;
	}
}

/* Whether the filter's rules match the device; an unknown device or attribute matches no rule. */
static bool
filter_matches(const struct pol_device_filter *f, const struct device_record *d)
{
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct pol_filter_rule *r = &f->rules[i];
		const char *v = d != NULL ? device_attr(d, r->attr) : NULL;
		bool m = false;

		for (size_t j = 0; v != NULL && !m && j < r->n_values; j++) {
			if (r->op == FILTER_PREFIX)
				m = strncmp(v, r->values[j], strlen(r->values[j])) == 0;
			else
				m = strcmp(v, r->values[j]) == 0;
		}
		if (m && f->match == FILTER_MATCH_ANY)
			return true;
		if (!m && f->match != FILTER_MATCH_ANY)
			return false;
	}
	return f->match != FILTER_MATCH_ANY;
}

static enum eval_why
applies(const struct pol_policy *pol, const struct eval_input *in, const struct facts *f)
{
	const struct pol_conditions *c = &pol->cond;

	if (pol->state == POLICY_DISABLED)
		return EVAL_DISABLED;
	if (!users_match(&pol->users_include, in->ids))
		return EVAL_USER_NOT_INCLUDED;
	if ((pol->users_exclude.all ||
	     pol->users_exclude.users.n + pol->users_exclude.groups.n + pol->users_exclude.roles.n >
	         0) &&
	    users_match(&pol->users_exclude, in->ids))
		return EVAL_USER_EXCLUDED;
	if (f->app == POLICY_NO_ID) {
		if (!pol->apps_include.all)
			return EVAL_APP_NOT_INCLUDED;
	} else {
		if (in_idlist(&pol->apps_exclude.apps, f->app))
			return EVAL_APP_EXCLUDED;
		if (!pol->apps_include.all && !in_idlist(&pol->apps_include.apps, f->app))
			return EVAL_APP_NOT_INCLUDED;
	}
	if (c->user_risk != 0 && !(c->user_risk & RISK_BIT(f->user_risk)))
		return EVAL_USER_RISK;
	if (c->sign_in_risk != 0 && !(c->sign_in_risk & RISK_BIT(f->sign_in_risk)))
		return EVAL_SIGN_IN_RISK;
	if (c->has_locations &&
	    (!locations_match(&c->loc_include, f) ||
	     ((c->loc_exclude.any || c->loc_exclude.trusted || c->loc_exclude.locations.n > 0) &&
	      locations_match(&c->loc_exclude, f))))
		return EVAL_LOCATION;
	if (c->has_platforms) {
		/* An unknown platform is only in "any", and cannot be excluded. */
		bool inc = f->platform >= 0 ? (c->platform_include & PLATFORM_BIT(f->platform)) != 0
		                            : c->platform_include == PLATFORM_ALL_MASK;
		bool exc = f->platform >= 0 && (c->platform_exclude & PLATFORM_BIT(f->platform));

		if (!inc || exc)
			return EVAL_PLATFORM;
	}
	if (c->client_apps != 0 && !(c->client_apps & CLIENT_BIT(in->client)))
		return EVAL_CLIENT_APP;
	if (c->device_filter.present && filter_matches(&c->device_filter, in->device) !=
	                                    (c->device_filter.mode == FILTER_MODE_INCLUDE))
		return EVAL_DEVICE_FILTER;
	return EVAL_APPLIES;
}

static bool
strength_met(const struct policy_set *set, uint32_t s, const struct eval_input *in)
{
	const struct pol_strength *st = &set->strengths[s];

	for (size_t i = 0; i < st->n_combinations; i++) {
		if ((st->combinations[i] & ~in->ids->amr) == 0)
			return true;
	}
	for (size_t i = 0; in->subject->acr != NULL && i < st->n_acr; i++) {
		if (strcmp(in->subject->acr, st->acr[i]) == 0)
			return true;
	}
	return false;
}

static bool
control_met(const struct policy_set *set, const struct pol_control *c, const struct eval_input *in,
            const struct facts *f)
{
	switch (c->type) {
	case CONTROL_STRENGTH:
		return strength_met(set, c->strength, in);
	case CONTROL_COMPLIANT_DEVICE:
		return in->device != NULL && in->device->compliant;
	case CONTROL_HYBRID_JOINED_DEVICE:
		return in->device != NULL && in->device->trust == DEVICE_TRUST_HYBRID;
	case CONTROL_APPROVED_CLIENTS:
		return in->ids->client != POLICY_NO_ID && in_idlist(&c->clients, in->ids->client);
	case CONTROL_PASSWORD_CHANGE:
		/* Remediated once the user's risk has come down (the password was changed). */
		return f->user_risk == RISK_NONE || f->user_risk == RISK_LOW;
	}
	return false;
}

static const char *
control_reason(enum control_type t)
{
	switch (t) {
	case CONTROL_STRENGTH:
		return "stronger authentication required";
	case CONTROL_COMPLIANT_DEVICE:
		return "compliant device required";
	case CONTROL_HYBRID_JOINED_DEVICE:
		return "hybrid-joined device required";
	case CONTROL_APPROVED_CLIENTS:
		return "approved client app required";
	case CONTROL_PASSWORD_CHANGE:
		return "password change required";
	}
	return "access requirements not met";
}

/* The frequency a policy enforces, in seconds, or -1. */
static int64_t
frequency_of(const struct pol_policy *pol)
{
	if (pol->sign_in_frequency_s == POLICY_NO_FREQUENCY)
		return -1;
	return pol->sign_in_frequency_s == 0 ? POLICY_EVERY_TIME_S : pol->sign_in_frequency_s;
}

static void
check_policy(const struct policy_set *set, const struct eval_input *in, const struct facts *f,
             uint32_t p, struct eval_policy *out)
{
	const struct pol_policy *pol = &set->policies[p];
	const char *first_unfixable = NULL;
	bool any_met = false, all_met = true, any_strength = false;
	int64_t freq;

	memset(out, 0, sizeof(*out));
	out->policy = p;
	out->why = applies(pol, in, f);
	if (out->why != EVAL_APPLIES)
		return;
	if (pol->block) {
		out->reason = "blocked";
		return;
	}
	for (size_t i = 0; i < pol->n_controls && i < 32; i++) {
		const struct pol_control *c = &pol->controls[i];
		bool met = control_met(set, c, in, f);

		any_met |= met;
		all_met &= met;
		any_strength |= c->type == CONTROL_STRENGTH;
		if (!met) {
			out->unmet |= 1u << i;
			if (c->type != CONTROL_STRENGTH && first_unfixable == NULL)
				first_unfixable = control_reason(c->type);
		}
	}
	freq = frequency_of(pol);
	if (freq >= 0) {
		int64_t auth = in->subject->auth_time ? in->subject->auth_time : in->subject->iat;

		/* No sign-in time at all is as old as can be. */
		out->frequency_unmet = auth <= 0 || in->now - auth > freq;
	}
	/* Signing in again gives a stronger authentication and a fresh sign-in time,
	 * nothing else: with require all, every unmet control must be a strength;
	 * with require one, some control must be. */
	if (pol->require == GRANT_REQUIRE_ONE && !any_met) {
		out->reauth_fixable = any_strength;
		out->reason = any_strength ? control_reason(CONTROL_STRENGTH) : first_unfixable;
	} else if (pol->require != GRANT_REQUIRE_ONE && !all_met) {
		out->reauth_fixable = first_unfixable == NULL;
		out->reason =
		    first_unfixable != NULL ? first_unfixable : control_reason(CONTROL_STRENGTH);
	} else {
		out->reauth_fixable = true;
		out->unmet = 0;
		if (out->frequency_unmet)
			out->reason = "sign-in too old";
	}
	out->satisfied = out->reason == NULL;
}

void
eval_one(const struct policy_set *set, const struct eval_input *in, uint32_t app, uint32_t p,
         struct eval_policy *out)
{
	struct facts f;

	facts_of(set, in, app, &f);
	check_policy(set, in, &f, p, out);
}

static enum decision
verdict(const struct pol_policy *pol, const struct eval_policy *ep)
{
	if (pol->block)
		return DECISION_DENY;
	if (ep->satisfied)
		return DECISION_ALLOW;
	return ep->reauth_fixable ? DECISION_STEP_UP : DECISION_DENY;
}

/* Adds the strengths that would satisfy ep's unmet controls to the step-up request. */
static void
want_strengths(const struct policy_set *set, const struct eval_policy *ep, struct eval_result *r)
{
	const struct pol_policy *pol = &set->policies[ep->policy];

	for (size_t i = 0; i < pol->n_controls && i < 32; i++) {
		const struct pol_control *c = &pol->controls[i];
		bool seen = false;

		if (c->type != CONTROL_STRENGTH || !(ep->unmet & (1u << i)))
			continue;
		for (size_t j = 0; j < r->n_step_up_strengths; j++)
			seen |= r->step_up_strengths[j] == c->strength;
		if (!seen && r->n_step_up_strengths <
		                 sizeof(r->step_up_strengths) / sizeof(r->step_up_strengths[0]))
			r->step_up_strengths[r->n_step_up_strengths++] = c->strength;
	}
}

void
policy_eval(const struct policy_set *set, const struct eval_input *in, struct eval_result *r)
{
	char path[EVAL_MAX_PATH];
	struct facts f;
	const struct candidates *cands;
	const struct pol_policy *blocker = NULL, *unfixable = NULL, *fixable = NULL;
	const char *unfixable_reason = NULL, *fixable_reason = NULL;
	int64_t strictest = -1;
	size_t n_enforced = 0;
	bool frequency_unmet = false;
	long n;

	memset(r, 0, offsetof(struct eval_result, applied));
	r->n_applied = r->n_report_only = r->n_unlisted = r->n_report_only_unlisted = 0;
	r->n_step_up_strengths = 0;
	r->max_age = -1;
	n = eval_normalize_path(in->uri, 0, path, sizeof(path));
	if (n < 0 || map_app(set, in, path, (size_t)n, &r->app) != 0) {
		/* nginx refuses most such paths itself; the rest no upstream reads one way. */
		r->decision = DECISION_DENY;
		r->app = POLICY_NO_ID;
		r->deciding = "request";
		r->reason = "invalid request path";
		return;
	}
	if (in->user != NULL && in->user->disabled) {
		/* A disabled account signs in nowhere, whatever the policies say. */
		r->decision = DECISION_DENY;
		r->deciding = "account";
		r->reason = "user account is disabled";
		return;
	}
	facts_of(set, in, r->app, &f);
	cands = &set->app_policies[r->app == POLICY_NO_ID ? set->n_apps : r->app];
	for (size_t i = 0; i < cands->n; i++) {
		const struct candidate *cand = &cands->list[i];
		const struct pol_policy *pol;
		struct eval_policy ep;
		int64_t freq;

		/* Cannot include this subject: skipped without reading the policy. "all"
		 * (every bit set) must pass even a subject no policy names. */
		if (cand->users_filter != ~0ull &&
		    ((cand->users_filter & in->ids->users_filter) == 0 ||
		     (cand->n_inline != CANDIDATE_NOT_INLINE && !inline_includes(cand, in->ids))))
			continue;
		pol = &set->policies[cand->policy];
		check_policy(set, in, &f, cand->policy, &ep);
		if (ep.why != EVAL_APPLIES)
			continue;
		if (pol->state == POLICY_REPORT_ONLY) {
			if (r->n_report_only < EVAL_MAX_LISTED) {
				r->report_only_decision[r->n_report_only] = verdict(pol, &ep);
				r->report_only[r->n_report_only++] = ep;
			} else {
				r->n_report_only_unlisted++;
			}
			continue;
		}
		n_enforced++;
		if (r->n_applied < EVAL_MAX_LISTED)
			r->applied[r->n_applied++] = ep;
		else
			r->n_unlisted++;
		freq = frequency_of(pol);
		if (freq >= 0 && (strictest < 0 || freq < strictest))
			strictest = freq;
		frequency_unmet |= ep.frequency_unmet;
		if (pol->block) {
			if (blocker == NULL)
				blocker = pol;
		} else if (!ep.satisfied && !ep.reauth_fixable) {
			if (unfixable == NULL) {
				unfixable = pol;
				unfixable_reason = ep.reason;
			}
		} else if (!ep.satisfied) {
			if (fixable == NULL) {
				fixable = pol;
				fixable_reason = ep.reason;
			}
			want_strengths(set, &ep, r);
		}
	}
	if (blocker != NULL) {
		r->decision = DECISION_DENY;
		r->deciding = blocker->id;
		r->reason = "blocked";
	} else if (unfixable != NULL) {
		r->decision = DECISION_DENY;
		r->deciding = unfixable->id;
		r->reason = unfixable_reason;
	} else if (fixable != NULL) {
		r->decision = DECISION_STEP_UP;
		r->deciding = fixable->id;
		r->reason = fixable_reason;
		if (frequency_unmet)
			r->max_age = strictest;
	} else if (n_enforced > 0) {
		r->decision = DECISION_ALLOW;
	} else {
		r->by_default = true;
		r->decision = in->default_allow ? DECISION_ALLOW : DECISION_DENY;
		if (!in->default_allow) {
			r->deciding = "default";
			r->reason = "no policy applies and default_decision is deny";
		}
	}
}
