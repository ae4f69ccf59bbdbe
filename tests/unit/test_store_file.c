/* test_store_file.c - the file backend, the record fields both backends read, the reload guard */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context/record.h"
#include "context/store.h"
#include "context/store_backend.h"
#include "core/clock.h"
#include "core/reload_guard.h"
#include "core/yaml_doc.h"
#include "testlib.h"

/* --- record fields, as Redis hashes and YAML files give them -------------------------- */

static const char *
keep(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	(void)n;
	return s;
}

static void
record_fields(void **state)
{
	struct device_record d;
	struct user_record u = {0};
	const char *why = NULL;

	(void)state;
	record_device_init(&d);
	assert_int_equal(record_device_set(&d, "compliant", "1", 1, keep, NULL, &why),
	                 RECORD_SET_OK);
	assert_true(d.compliant);
	assert_int_equal(record_device_set(&d, "compliant", "true", 4, keep, NULL, &why),
	                 RECORD_SET_OK);
	assert_int_equal(record_device_set(&d, "compliant", "yes", 3, keep, NULL, &why),
	                 RECORD_SET_BAD);
	assert_non_null(strstr(why, "compliant"));
	assert_int_equal(record_device_set(&d, "trust", "hybrid", 6, keep, NULL, &why),
	                 RECORD_SET_OK);
	assert_int_equal(d.trust, DEVICE_TRUST_HYBRID);
	assert_int_equal(record_device_set(&d, "trust", "hybridx", 6, keep, NULL, &why),
	                 RECORD_SET_OK); /* only len bytes count */
	assert_int_equal(record_device_set(&d, "platform", "ios", 3, keep, NULL, &why),
	                 RECORD_SET_OK);
	assert_int_equal(d.platform, PLATFORM_IOS);
	assert_int_equal(record_device_set(&d, "platform", "any", 3, keep, NULL, &why),
	                 RECORD_SET_BAD);
	assert_int_equal(record_device_set(&d, "updated", "-5", 2, keep, NULL, &why),
	                 RECORD_SET_BAD);
	assert_int_equal(
	    record_device_set(&d, "updated", "99999999999999999999", 20, keep, NULL, &why),
	    RECORD_SET_BAD);
	assert_int_equal(record_device_set(&d, "owner", "x", 1, keep, NULL, &why),
	                 RECORD_SET_UNKNOWN);
	assert_int_equal(record_user_set(&u, "risk", "medium", 6, &why), RECORD_SET_OK);
	assert_int_equal(u.risk, RISK_MEDIUM);
	assert_int_equal(record_user_set(&u, "risk", "severe", 6, &why), RECORD_SET_BAD);
	assert_int_equal(record_user_set(&u, "revoked_before", "1700000000", 10, &why),
	                 RECORD_SET_OK);
	assert_int_equal(u.revoked_before, 1700000000);
	assert_int_equal(record_user_set(&u, "disabled", "2", 1, &why), RECORD_SET_BAD);
}

/* --- the file backend ------------------------------------------------------------------ */

/* A file store of the records at path, configured as the config file would say it. */
static void
file_config(struct config_store *cfg, const char *path)
{
	char text[1024], err[256];
	struct ydoc *d;
	struct ydoc_parse p = {NULL, err, sizeof(err)};

	store_config_init(cfg);
	snprintf(text, sizeof(text), "{ type: file, path: \"%s\" }", path);
	d = ydoc_load_buffer("store.yaml", text, strlen(text), err, sizeof(err));
	assert_non_null(d);
	p.doc = d;
	if (store_config_parse(&p, ydoc_root(d), cfg) != 0)
		fail_msg("%s", err);
	ydoc_free(d);
}

static void
file_store_loads_and_reloads(void **state)
{
	struct config_store cfg;
	const struct reload_guard confirmed = {
	    .max_drop_pct = 50, .confirmed = true, .max_reads = 1};
	struct store *s;
	struct store_lookup l;
	char err[512], why[128];

	(void)state;
	file_config(&cfg, test_path("context.yaml"));
	/* Found by its name in the one registry. */
	assert_ptr_equal(cfg.backend, store_backend_find("file"));
	assert_null(store_backend_find("postgres"));
	cfg.ttl_ms = 60000;
	cfg.negative_ttl_ms = 10000;
	cfg.stale_max_ms = 1000;
	cfg.cache_entries = 64;
	test_write_file("context.yaml",
	                "devices:\n"
	                "  - { id: laptop-1, compliant: true, trust: joined, platform: "
	                "windows, os_version: \"11\" }\n"
	                "users:\n"
	                "  - { id: alice, risk: high }\n"
	                "  - { id: bob, disabled: true }\n"
	                "revoked_jtis: [j-bad]\n");
	s = store_open(&cfg, 1, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_true(store_healthy(s, why, sizeof(why)));
	store_lookup(s, 0, "laptop-1", "alice", "j-bad", clock_ms(), 1000000, NULL, &l);
	assert_int_equal(l.err, STORE_OK);
	assert_true(l.device->compliant);
	assert_string_equal(l.device->os_version, "11");
	assert_int_equal(l.user->risk, RISK_HIGH);
	assert_true(l.jti_revoked);
	store_lookup_done(&l);
	store_lookup(s, 0, "laptop-2", "bob", "j-ok", clock_ms(), 1000000, NULL, &l);
	assert_null(l.device);
	assert_true(l.user->disabled);
	assert_false(l.jti_revoked);
	store_lookup_done(&l);
	/* A bad file keeps the last good records and says where. */
	test_write_file("context.yaml", "users:\n  - { id: alice, risk: severe }\n");
	assert_int_equal(store_reload(s, &confirmed, err, sizeof(err)), RELOAD_FAILED);
	assert_non_null(strstr(err, "context.yaml:2:24: risk must be one of"));
	store_lookup(s, 0, NULL, "alice", NULL, clock_ms(), 1000000, NULL, &l);
	assert_int_equal(l.user->risk, RISK_HIGH);
	store_lookup_done(&l);
	/* A good one replaces them at once, cached entries included. */
	test_write_file("context.yaml", "users:\n  - { id: alice, risk: low }\n");
	assert_int_equal(store_reload(s, &confirmed, err, sizeof(err)), RELOAD_OK);
	store_lookup(s, 0, "laptop-1", "alice", NULL, clock_ms(), 1000000, NULL, &l);
	assert_int_equal(l.user->risk, RISK_LOW);
	assert_null(l.device);
	store_lookup_done(&l);
	store_close(s);
	store_config_fini(&cfg);
}

static void
file_store_refuses_bad_files(void **state)
{
	static const struct {
		const char *yaml, *error;
	} cases[] = {
	    {"devices:\n  - { compliant: true }\n", ":2:5: a device needs an \"id\""},
	    {"devices:\n  - { id: a }\n  - { id: a }\n", "device \"a\" is listed twice"},
	    {"users:\n  - { id: u, colour: red }\n", ":2:14: unknown user field \"colour\""},
	    {"devices:\n  - { id: a, trust: full }\n", ":2:21: trust must be one of"},
	    {"people: []\n", ":1:1: unknown key \"people\""},
	    /* Cut to nothing, or to its first line: never "no records". */
	    {"",
	     ":1:1: the file holds nothing (empty, or only comments); write \"revoked_jtis: []\""},
	    {"# users:\n#   - { id: mallory, disabled: true }\n", ":1:1: the file holds nothing"},
	    {"~\n", ":1:1: the document is null; write \"revoked_jtis: []\""},
	    {"users:\n", ":1:1: users has no value; write \"users: []\""},
	    {"devices: []\nrevoked_jtis:\n", ":2:1: revoked_jtis has no value"},
	};
	struct config_store cfg;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		file_config(&cfg, test_write_file("bad.yaml", cases[i].yaml));
		cfg.ttl_ms = 1000;
		cfg.cache_entries = 8;
		assert_null(store_open(&cfg, 1, err, sizeof(err)));
		store_config_fini(&cfg);
		if (strstr(err, cases[i].error) == NULL)
			fail_msg("case %zu: wanted \"%s\" in \"%s\"", i, cases[i].error, err);
	}
}

/* A file-triggered reload that would drop revocations or disabled users wholesale waits. */
static void
file_store_guards_revocations(void **state)
{
	struct config_store cfg;
	struct reload_guard g = {.max_drop_pct = 100, .reread_ms = 1, .max_reads = 3};
	struct store *s;
	struct store_lookup l;
	char err[512];

	(void)state;
	file_config(&cfg, test_path("context.yaml"));
	cfg.ttl_ms = 60000;
	cfg.negative_ttl_ms = 10000;
	cfg.stale_max_ms = 1000;
	cfg.cache_entries = 64;
	test_write_file("context.yaml", "users:\n"
	                                "  - { id: mallory, disabled: true }\n"
	                                "  - { id: bob, revoked_before: 1700000000 }\n"
	                                "revoked_jtis: [j-1, j-2, j-3]\n");
	s = store_open(&cfg, 1, err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	/* Records added or changed, no revocation gone (bob's revoked_before moved on): applied. */
	test_write_file("context.yaml", "devices:\n"
	                                "  - { id: d-1, compliant: true }\n"
	                                "users:\n"
	                                "  - { id: mallory, disabled: true }\n"
	                                "  - { id: bob, revoked_before: 1700000001 }\n"
	                                "  - { id: carol, risk: high }\n"
	                                "revoked_jtis: [j-1, j-2, j-3, j-4]\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_OK);
	/* Device and risk records are not guarded: dropping them is a normal edit. */
	test_write_file("context.yaml", "users:\n"
	                                "  - { id: mallory, disabled: true }\n"
	                                "  - { id: bob, revoked_before: 1700000001 }\n"
	                                "revoked_jtis: [j-1, j-2, j-3, j-4]\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_OK);
	/* One revocation of five gone, within max_drop (here 100%): still refused. */
	test_write_file("context.yaml", "users:\n"
	                                "  - { id: mallory, disabled: true }\n"
	                                "  - { id: bob, revoked_before: 1700000001 }\n"
	                                "revoked_jtis: [j-1, j-3, j-4]\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_REFUSED);
	assert_non_null(strstr(err, "would drop 1 of 5 revocations [j-2]"));
	assert_non_null(strstr(err, "reload.max_drop does not apply to them"));
	/* Every revocation and every disabled user gone: refused, and they keep holding. */
	test_write_file("context.yaml", "devices: []\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_REFUSED);
	assert_non_null(strstr(err,
	                       "would drop 5 of 5 revocations [j-1, j-2, j-3, j-4, bob] and 1 of 1 "
	                       "disabled users [mallory]"));
	store_lookup(s, 0, NULL, "mallory", "j-3", clock_ms(), 1000000, NULL, &l);
	assert_true(l.user->disabled);
	assert_true(l.jti_revoked);
	store_lookup_done(&l);
	/* bob's revoked_before moved back un-revokes tokens: it counts as dropped. */
	test_write_file("context.yaml", "users:\n"
	                                "  - { id: mallory, disabled: true }\n"
	                                "  - { id: bob, revoked_before: 1600000000 }\n"
	                                "revoked_jtis: [j-1]\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_REFUSED);
	assert_non_null(strstr(err, "would drop 4 of 5 revocations [j-2, j-3, j-4, bob]"));
	/* Only the disabled user gone (1 of 1): refused too. */
	test_write_file("context.yaml", "users:\n"
	                                "  - { id: bob, revoked_before: 1700000001 }\n"
	                                "revoked_jtis: [j-1, j-2, j-3, j-4]\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_REFUSED);
	/* Confirmed (SIGHUP, pdp reload): applied. */
	g.confirmed = true;
	test_write_file("context.yaml", "devices: []\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_OK);
	store_lookup(s, 0, NULL, "mallory", "j-3", clock_ms(), 1000000, NULL, &l);
	assert_null(l.user);
	assert_false(l.jti_revoked);
	store_lookup_done(&l);
	/* From none, anything goes. */
	g.confirmed = false;
	test_write_file("context.yaml", "revoked_jtis: []\n");
	assert_int_equal(store_reload(s, &g, err, sizeof(err)), RELOAD_OK);
	store_close(s);
	store_config_fini(&cfg);
}

static void
reload_guard_decides(void **state)
{
	struct reload_guard g = {.max_drop_pct = 50};
	char buf[24] = "";

	(void)state;
	assert_false(reload_guard_refuses(&g, 0, 0));  /* nothing to lose */
	assert_false(reload_guard_refuses(&g, 10, 0)); /* additions only */
	assert_false(reload_guard_refuses(&g, 10, 5)); /* exactly the share */
	assert_true(reload_guard_refuses(&g, 10, 6));
	assert_true(reload_guard_refuses(&g, 1, 1)); /* to zero */
	g.max_drop_pct = 100;
	assert_false(reload_guard_refuses(&g, 10, 9));
	assert_true(reload_guard_refuses(&g, 10, 10)); /* to zero: whatever the share */
	g.max_drop_pct = 0;
	assert_true(reload_guard_refuses(&g, 1000, 1));
	g.confirmed = true;
	assert_false(reload_guard_refuses(&g, 10, 10));
	/* What would be dropped, escaped and shortened for a log line. */
	reload_guard_note(buf, sizeof(buf), "a");
	reload_guard_note(buf, sizeof(buf), "b\n");
	assert_string_equal(buf, "a, b\\x0a");
	reload_guard_note(buf, sizeof(buf), "long-name-here");
	assert_string_equal(buf, "a, b\\x0a, long-name...");
	reload_guard_note(buf, sizeof(buf), "more");
	assert_string_equal(buf, "a, b\\x0a, long-name...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(record_fields),
	    cmocka_unit_test(file_store_loads_and_reloads),
	    cmocka_unit_test(file_store_refuses_bad_files),
	    cmocka_unit_test(file_store_guards_revocations),
	    cmocka_unit_test(reload_guard_decides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
