/* test_netaddr.c - addresses and CIDR ranges */
#include <string.h>

#include "core/netaddr.h"
#include "testlib.h"

static bool
in(const char *range, const char *addr)
{
	struct netrange r;
	struct netaddr a;
	char why[128];

	if (netrange_parse(range, &r, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	if (netaddr_parse(addr, &a) != 0)
		fail_msg("bad address %s", addr);
	return netrange_contains(&r, &a);
}

static void
ipv4_ranges(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "10.255.1.2"));
	assert_false(in("10.0.0.0/8", "11.0.0.1"));
	assert_true(in("192.168.4.0/22", "192.168.7.255"));
	assert_false(in("192.168.4.0/22", "192.168.8.0"));
	assert_true(in("0.0.0.0/0", "203.0.113.9"));
	assert_true(in("203.0.113.9", "203.0.113.9"));
	assert_false(in("203.0.113.9", "203.0.113.8"));
}

static void
ipv6_ranges(void **state)
{
	(void)state;
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("2001:db8:0:80::/57", "2001:db8:0:ff::1"));
	assert_false(in("2001:db8:0:80::/57", "2001:db8:0:100::1"));
	assert_true(in("::/0", "::1"));
	/* Families never match each other. */
	assert_false(in("::/0", "10.0.0.1"));
	assert_false(in("0.0.0.0/0", "2001:db8::1"));
}

static void
mapped_ipv4_matches_ipv4_ranges(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(in("10.0.0.0/8", "::ffff:11.1.2.3"));
}

static void
bad_ranges_are_errors(void **state)
{
	static const char *const bad[] = {
	    "",
	    "10.0.0.0/",
	    "10.0.0.0/33",
	    "10.0.0.0/-1",
	    "10.0.0.0/8x",
	    "10.1.2.3/8",
	    "10.0.0",
	    "2001:db8::/129",
	    "2001:db8::1/32",
	    "::ffff:10.0.0.0/104",
	    "host.example.com",
	    "10.0.0.0/ 8",
	};
	struct netrange r;
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (netrange_parse(bad[i], &r, why, sizeof(why)) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(netrange_parse("10.1.2.3/8", &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "host bits"));
}

static void
bad_addresses(void **state)
{
	struct netaddr a;

	(void)state;
	assert_int_equal(netaddr_parse("", &a), -1);
	assert_int_equal(netaddr_parse("256.0.0.1", &a), -1);
	assert_int_equal(netaddr_parse("10.0.0.1 ", &a), -1);
	assert_int_equal(netaddr_parse("unix:", &a), -1);
	assert_int_equal(netaddr_parse("10.0.0.1", &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(netaddr_parse("2001:db8::1", &a), 0);
	assert_int_equal(a.family, 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(ipv4_ranges),
	    cmocka_unit_test(ipv6_ranges),
	    cmocka_unit_test(mapped_ipv4_matches_ipv4_ranges),
	    cmocka_unit_test(bad_ranges_are_errors),
	    cmocka_unit_test(bad_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
