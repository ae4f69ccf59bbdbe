/* names.c - the name tables and interned names the loader and the evaluator share */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/loader.h"
#include "policy/policy.h"

const char *const policy_method_names[METHOD_COUNT] = {"GET",   "HEAD",   "POST",   "PUT",
                                                       "PATCH", "DELETE", "OPTIONS"};
const char *const policy_state_names[POLICY_STATE_COUNT + 1] = {"enabled", "report-only",
                                                                "disabled", NULL};
const char *const policy_device_attr_names[DEVICE_ATTR_COUNT + 1] = {
    "id", "compliant", "managed", "trust", "platform", "os_version", NULL};

int
policy_name_lookup(const char *const *names, int count, const char *name)
{
	for (int i = 0; name != NULL && i < count; i++) {
		if (strcmp(names[i], name) == 0)
			return i;
	}
	return -1;
}

bool
policy_method_token(const char *method)
{
	/* RFC 9110 §5.6.2 tchar */
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
	                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	return method != NULL && method[0] != '\0' && strspn(method, tchar) == strlen(method);
}

unsigned
policy_method_bit(const char *method)
{
	int m = policy_name_lookup(policy_method_names, METHOD_COUNT, method);

	return m >= 0 ? METHOD_BIT(m) : 0;
}

bool
policy_methods_match(const struct pol_methods *m, const char *method, unsigned bit)
{
	bool listed = false;

	if (!m->limited)
		return true;
	if (bit != 0)
		listed = (m->known & bit) != 0;
	for (size_t i = 0; bit == 0 && !listed && i < m->n_other; i++)
		listed = strcmp(m->other[i], method) == 0;
	return listed != m->except;
}

/* --- interned names ------------------------------------------------------ */

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

uint32_t
strtab_find(const struct strtab *t, const char *name)
{
	size_t i;

	if (t->slots == NULL)
		return POLICY_NO_ID;
	for (i = str_hash(name) & t->mask; t->slots[i] != 0; i = (i + 1) & t->mask) {
		uint32_t id = t->slots[i] - 1;

		if (strcmp(t->names[id], name) == 0)
			return id;
	}
	return POLICY_NO_ID;
}

static int
strtab_grow(struct strtab *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 16;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	const char **names = realloc(t->names, cap * sizeof(*names));

	if (slots == NULL || names == NULL) {
		free(slots);
		if (names != NULL)
			t->names = names;
		return -1;
	}
	t->names = names;
	for (uint32_t id = 0; id < t->n; id++) {
		size_t i = str_hash(names[id]) & (cap - 1);

		while (slots[i] != 0)
			i = (i + 1) & (cap - 1);
		slots[i] = id + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

/* The id of name (which must outlive t), adding it when new; POLICY_NO_ID when out of memory. */
uint32_t
strtab_add(struct strtab *t, const char *name)
{
	uint32_t id = strtab_find(t, name);
	size_t i;

	if (id != POLICY_NO_ID)
		return id;
	if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0) && strtab_grow(t) != 0)
		return POLICY_NO_ID;
	id = (uint32_t)t->n++;
	t->names[id] = name;
	for (i = str_hash(name) & t->mask; t->slots[i] != 0; i = (i + 1) & t->mask)
		;
	t->slots[i] = id + 1;
	return id;
}

void
strtab_free(struct strtab *t)
{
	free(t->names);
	free(t->slots);
}
