/* types.h - the vocabulary of an access decision that every layer shares */
#ifndef PDP_TYPES_H
#define PDP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the PDP answers; nginx sees 200, 403, 401 (step-up and unauthenticated) or 500. */
enum decision {
	DECISION_ALLOW,
	DECISION_DENY,
	DECISION_STEP_UP,
	DECISION_UNAUTHENTICATED,
	DECISION_ERROR,
};

const char *decision_name(enum decision d);

/* What a config says to answer when nothing decides (no policy applies, the store fails). */
enum decision_default { DEFAULT_ALLOW, DEFAULT_DENY };

/* How a user's or a sign-in's risk is graded (Entra ID Protection's levels). */
enum risk_level { RISK_NONE, RISK_LOW, RISK_MEDIUM, RISK_HIGH, RISK_COUNT };
#define RISK_BIT(r) (1u << (r))
extern const char *const risk_level_names[RISK_COUNT];

enum platform {
	PLATFORM_ANDROID,
	PLATFORM_IOS,
	PLATFORM_WINDOWS,
	PLATFORM_MACOS,
	PLATFORM_LINUX,
	PLATFORM_COUNT
};
#define PLATFORM_BIT(p)   (1u << (p))
#define PLATFORM_ALL_MASK ((1u << PLATFORM_COUNT) - 1)
extern const char *const platform_names[PLATFORM_COUNT];

/* Who carries the token: a browser (cookie) or an API client (Authorization header). */
enum client_app { CLIENT_BROWSER, CLIENT_API };
#define CLIENT_BIT(c) (1u << (c))

/* How a device is registered with the organisation. */
enum device_trust {
	DEVICE_TRUST_NONE,
	DEVICE_TRUST_REGISTERED,
	DEVICE_TRUST_JOINED,
	DEVICE_TRUST_HYBRID,
	DEVICE_TRUST_COUNT
};
extern const char *const device_trust_names[DEVICE_TRUST_COUNT];

/* A string list claim (groups, roles, amr). */
struct strlist {
	const char **items;
	size_t n;
};

/*
 * Who is calling, as the verified token says. Built in one allocation and
 * immutable afterwards, so it can be shared between threads through the
 * token cache. Absent optional claims are NULL / empty / 0.
 */
struct subject {
	const char *issuer;
	const char *user;
	struct strlist groups;
	struct strlist roles;
	struct strlist amr;
	const char *acr;
	const char *device_id;
	const char *sign_in_risk;
	const char *client_id; /* azp, else client_id */
	const char *jti;
	int64_t auth_time;
	int64_t iat;
	int64_t exp;
	int64_t valid_until; /* exp plus the issuer's leeway: when a cached entry dies */
	bool groups_overage; /* the issuer left the groups out and its on_groups_overage denies */
	unsigned absent;     /* SUBJECT_ABSENT_* bits: mapped claims the token did not carry */
	/* The key that verified the token, as the verifier's keyring knows it. */
	uint32_t issuer_index;
	uint64_t key_serial;
	uint64_t key_removals; /* the issuer's removal count when it was verified */
};

/* Mapped claims a token may leave out, as bits of struct subject's absent. */
enum {
	SUBJECT_ABSENT_GROUPS = 1u << 0,
	SUBJECT_ABSENT_ROLES = 1u << 1,
	SUBJECT_ABSENT_AMR = 1u << 2,
	SUBJECT_ABSENT_ACR = 1u << 3,
	SUBJECT_ABSENT_DEVICE_ID = 1u << 4,
	SUBJECT_ABSENT_SIGN_IN_RISK = 1u << 5,
	SUBJECT_ABSENT_CLIENT_ID = 1u << 6,
};

/* The names of the claims in absent ("groups, roles"), NUL-terminated in buf; "" for none. */
const char *subject_absent_names(unsigned absent, char *buf, size_t size);

/* What the context store knows of a device (NULL in an input: unknown device). */
struct device_record {
	const char *id;
	bool compliant;
	bool managed;
	enum device_trust trust;
	int platform; /* enum platform, or -1 when unknown */
	const char *os_version;
	int64_t updated;
};

/* What the context store knows of a user (NULL in an input: no record). */
struct user_record {
	enum risk_level risk;
	bool disabled;
	int64_t revoked_before;
};

#endif
