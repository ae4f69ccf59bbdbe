/* subject.c - the subject a verified token's payload describes, by its issuer's claim mapping */
#include "identity/subject.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds no legitimate token comes near; they bound work on hostile input. */
#define NUMERICDATE_MAX      253402300799.0 /* 9999-12-31T23:59:59Z */
#define TOKEN_MAX_LIST_ITEMS 1024

static enum subject_err say(enum subject_err e, char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum subject_err
say(enum subject_err e, char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* The member called name of the payload, or NULL. */
static const struct jdoc_val *
member(const struct jdoc *doc, const char *name)
{
	return jdoc_get(doc, name, strlen(name));
}

/* NumericDate (RFC 7519 §2): a JSON number of seconds; fractions are truncated. */
int
numeric_date_read(const struct jdoc_val *v, int64_t *out)
{
	if (v->kind == JDOC_INTEGER) {
		if (v->integer < 0 || (double)v->integer > NUMERICDATE_MAX)
			return -1;
		*out = v->integer;
		return 0;
	}
	if (v->kind != JDOC_REAL || !(v->real >= 0 && v->real <= NUMERICDATE_MAX))
		return -1;
	*out = (int64_t)v->real;
	return 0;
}

/* Claims the subject copies, found and type-checked before the one allocation. */
struct found {
	const struct jdoc_val *user, *amr, *acr, *device_id, *sign_in_risk, *client_id, *jti;
	const struct jdoc_val *groups[CLAIMS_MAX_LIST], *roles[CLAIMS_MAX_LIST];
};

static bool
strlist_ok(const struct jdoc_val *v)
{
	if (v == NULL)
		return true;
	if (v->kind != JDOC_ARRAY || v->len > TOKEN_MAX_LIST_ITEMS ||
	    (v->len > 0 && v->items == NULL))
		return false;
	for (size_t i = 0; i < v->len; i++) {
		if (v->items[i].kind != JDOC_STRING)
			return false;
	}
	return true;
}

static size_t
list_len(const struct jdoc_val *v)
{
	return v != NULL ? v->len : 0;
}

static size_t
str_size(const struct jdoc_val *v)
{
	return v != NULL ? v->len + 1 : 0;
}

static size_t
strlist_size(const struct jdoc_val *v)
{
	size_t n = 0;

	for (size_t i = 0; v != NULL && i < v->len; i++)
		n += sizeof(char *) + v->items[i].len + 1;
	return n;
}

struct packer {
	char *strings;
	const char **slots;
};

static const char *
pack_str(struct packer *pk, const struct jdoc_val *v)
{
	char *s;

	if (v == NULL)
		return NULL;
	s = pk->strings;
	memcpy(s, v->str, v->len);
	s[v->len] = '\0';
	pk->strings += v->len + 1;
	return s;
}

static void
pack_list(struct packer *pk, const struct jdoc_val *v, struct strlist *out)
{
	out->items = NULL;
	out->n = 0;
	if (v == NULL || v->len == 0)
		return;
	out->items = pk->slots;
	for (size_t i = 0; i < v->len; i++)
		pk->slots[out->n++] = pack_str(pk, &v->items[i]);
	pk->slots += out->n;
}

/* A string claim that must be a string when present. */
static int
opt_string(const struct jdoc *payload, const char *name, const struct jdoc_val **out)
{
	const struct jdoc_val *v = member(payload, name);

	if (v != NULL && v->kind != JDOC_STRING)
		return -1;
	*out = v;
	return 0;
}

/* The same for a mapped claim. */
static int
opt_mapped(const struct jdoc *payload, const struct claim_ref *r, const struct jdoc_val **out)
{
	const struct jdoc_val *v = claim_lookup(payload, r);

	if (v != NULL && v->kind != JDOC_STRING)
		return -1;
	*out = v;
	return 0;
}

/* The code point at u[*i] (len bytes), advancing *i past it; -1 for malformed UTF-8. */
static long
utf8_next(const unsigned char *u, size_t len, size_t *i)
{
	unsigned c = u[*i];
	size_t n;
	long cp;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c < 0xc2 || c > 0xf4)
		return -1;
	n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
	if (len - *i <= n)
		return -1;
	cp = c & (0x3f >> n);
	for (size_t k = 1; k <= n; k++) {
		if ((u[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (u[*i + k] & 0x3f);
	}
	*i += n + 1;
	return cp;
}

/* Unicode White_Space outside C0: what trim() in JS, Python and .NET strips besides ASCII. */
static bool
space_char(long c)
{
	return c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	       c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Controls (C0, DEL, C1) and invisible format characters: zero-width, bidi, BOM. */
static bool
hidden_char(long c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0xad || c == 0x61c || c == 0x180e ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0xfeff;
}

bool
identity_name_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	long c = -1;

	for (size_t i = 0; i < len;) {
		bool first = i == 0;

		if ((c = utf8_next(u, len, &i)) < 0 || hidden_char(c) || (first && space_char(c)))
			return false;
	}
	return len > 0 && !space_char(c);
}

/* Whether every item of list v (or none) names an identity. */
static bool
strlist_clean(const struct jdoc_val *v)
{
	for (size_t k = 0; v != NULL && k < v->len; k++) {
		if (!identity_name_ok(v->items[k].str, v->items[k].len))
			return false;
	}
	return true;
}

/* The first identity claim among f's that identity_name_ok refuses (its name), or NULL. */
static const char *
unclean_claim(const struct claim_map *m, const struct found *f)
{
	const struct {
		const char *name;
		const struct jdoc_val *v;
	} strs[] = {{m->user.name, f->user},
	            {m->device_id.name, f->device_id},
	            {"jti", f->jti},
	            {m->client_id.name ? m->client_id.name : "azp or client_id", f->client_id}};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strs[i].v != NULL && !identity_name_ok(strs[i].v->str, strs[i].v->len))
			return strs[i].name;
	}
	for (size_t i = 0; i < m->n_groups; i++) {
		if (!strlist_clean(f->groups[i]))
			return m->groups[i].name;
	}
	for (size_t i = 0; i < m->n_roles; i++) {
		if (!strlist_clean(f->roles[i]))
			return m->roles[i].name;
	}
	return NULL;
}

/* Whether each of the n lists is absent or an array of strings. */
static const char *
lists_bad(const struct jdoc_val *const *v, const struct claim_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strlist_ok(v[i]))
			return refs[i].name;
	}
	return NULL;
}

/* Adds the items of the n lists to *items, and their slots and strings to *bytes. */
static void
lists_measure(const struct jdoc_val *const *v, size_t n, size_t *items, size_t *bytes)
{
	for (size_t i = 0; i < n; i++) {
		*items += list_len(v[i]);
		*bytes += strlist_size(v[i]);
	}
}

/* The n lists merged into out, in order, duplicates kept. */
static void
pack_lists(struct packer *pk, const struct jdoc_val *const *v, size_t n, struct strlist *out)
{
	out->items = NULL;
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; v[i] != NULL && k < v[i]->len; k++)
			pk->slots[out->n++] = pack_str(pk, &v[i]->items[k]);
	}
	if (out->n > 0)
		out->items = pk->slots;
	pk->slots += out->n;
}

/* Whether any of the n claims is present. */
static bool
any_present(const struct jdoc_val *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i] != NULL)
			return true;
	}
	return false;
}

/* Whether the token says it left its groups out (Entra's overage): _claim_names.groups or
 * hasgroups. */
static bool
groups_overage(const struct jdoc *payload, const struct found *f, size_t n_groups)
{
	const struct jdoc_val *has = member(payload, "hasgroups");

	if (any_present(f->groups, n_groups))
		return false;
	return jdoc_found(payload, CLAIMS_PATH_OVERAGE) != NULL ||
	       (has != NULL && has->kind == JDOC_TRUE);
}

enum subject_err
subject_build(const struct claim_map *m, const char *issuer, size_t issuer_len, int64_t leeway,
              const struct jdoc *payload, int64_t iat, int64_t exp, struct subject **out, char *why,
              size_t whysz)
{
	struct found f = {0};
	struct subject *s;
	struct packer pk;
	const struct jdoc_val *v;
	int64_t auth_time = 0;
	size_t nslots, strings;
	const char *bad;
	bool overage;

	if (opt_mapped(payload, &m->user, &f.user) != 0 || f.user == NULL || f.user->len == 0)
		return say(SUBJECT_BAD_CLAIM, why, whysz, "claim \"%s\" must be a non-empty string",
		           m->user.name);
	for (size_t i = 0; i < m->n_groups; i++)
		f.groups[i] = claim_lookup(payload, &m->groups[i]);
	for (size_t i = 0; i < m->n_roles; i++)
		f.roles[i] = claim_lookup(payload, &m->roles[i]);
	f.amr = claim_lookup(payload, &m->amr);
	if ((bad = lists_bad(f.groups, m->groups, m->n_groups)) != NULL ||
	    (bad = lists_bad(f.roles, m->roles, m->n_roles)) != NULL ||
	    (bad = lists_bad(&f.amr, &m->amr, 1)) != NULL)
		return say(SUBJECT_BAD_CLAIM, why, whysz,
		           "claim \"%s\" must be an array of strings", bad);
	if (opt_mapped(payload, &m->acr, &f.acr) != 0 ||
	    opt_mapped(payload, &m->device_id, &f.device_id) != 0 ||
	    opt_mapped(payload, &m->sign_in_risk, &f.sign_in_risk) != 0 ||
	    opt_string(payload, "jti", &f.jti) != 0 ||
	    (m->client_id.name != NULL ? opt_mapped(payload, &m->client_id, &f.client_id)
	                               : opt_string(payload, "azp", &f.client_id)) != 0)
		return say(SUBJECT_BAD_CLAIM, why, whysz,
		           "claims %s, %s, %s, jti and %s must be strings",
		           m->acr.name ? m->acr.name : "acr", m->device_id.name,
		           m->sign_in_risk.name, m->client_id.name ? m->client_id.name : "azp");
	if (m->client_id.name == NULL && f.client_id == NULL &&
	    opt_string(payload, "client_id", &f.client_id) != 0)
		return say(SUBJECT_BAD_CLAIM, why, whysz, "claim client_id must be a string");
	v = member(payload, "auth_time");
	if (v != NULL && numeric_date_read(v, &auth_time) != 0)
		return say(SUBJECT_BAD_CLAIM, why, whysz, "claim auth_time must be a NumericDate");
	/* nginx and the upstream would strip what the policies saw: never rewrite, refuse. */
	if ((bad = unclean_claim(m, &f)) != NULL)
		return say(SUBJECT_BAD_CLAIM, why, whysz,
		           "claim \"%s\" is empty or holds a control or invisible character or "
		           "surrounding whitespace",
		           bad);
	overage = groups_overage(payload, &f, m->n_groups);

	nslots = list_len(f.amr);
	strings = str_size(f.user) + strlist_size(f.amr) + str_size(f.acr) + str_size(f.device_id) +
	          str_size(f.sign_in_risk) + str_size(f.client_id) + str_size(f.jti) + issuer_len +
	          1;
	lists_measure(f.groups, m->n_groups, &nslots, &strings);
	lists_measure(f.roles, m->n_roles, &nslots, &strings);
	s = malloc(sizeof(*s) + strings);
	if (s == NULL)
		return say(SUBJECT_NO_MEMORY, why, whysz, "out of memory");
	/* Layout: the struct, the list slots, then the strings. */
	pk.slots = (const char **)(s + 1);
	pk.strings = (char *)(pk.slots + nslots);
	memcpy(pk.strings, issuer, issuer_len + 1);
	s->issuer = pk.strings;
	pk.strings += issuer_len + 1;
	s->user = pack_str(&pk, f.user);
	pack_lists(&pk, f.groups, m->n_groups, &s->groups);
	pack_lists(&pk, f.roles, m->n_roles, &s->roles);
	pack_list(&pk, f.amr, &s->amr);
	s->acr = pack_str(&pk, f.acr);
	s->device_id = pack_str(&pk, f.device_id);
	s->sign_in_risk = pack_str(&pk, f.sign_in_risk);
	s->client_id = pack_str(&pk, f.client_id);
	s->jti = pack_str(&pk, f.jti);
	s->auth_time = auth_time;
	s->iat = iat;
	s->exp = exp;
	s->valid_until = exp + leeway;
	s->groups_overage = overage && m->on_groups_overage == GROUPS_OVERAGE_DENY;
	s->absent = (!any_present(f.groups, m->n_groups) ? SUBJECT_ABSENT_GROUPS : 0) |
	            (!any_present(f.roles, m->n_roles) ? SUBJECT_ABSENT_ROLES : 0) |
	            (f.amr == NULL ? SUBJECT_ABSENT_AMR : 0) |
	            (f.acr == NULL ? SUBJECT_ABSENT_ACR : 0) |
	            (f.device_id == NULL ? SUBJECT_ABSENT_DEVICE_ID : 0) |
	            (f.sign_in_risk == NULL ? SUBJECT_ABSENT_SIGN_IN_RISK : 0) |
	            (f.client_id == NULL ? SUBJECT_ABSENT_CLIENT_ID : 0);
	*out = s;
	return SUBJECT_OK;
}