/* test_file.c - reading small files whole */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "testlib.h"

static void
reads_whole_files_up_to_the_bound(void **state)
{
	char *big = malloc(20001), *buf = NULL, err[256];
	size_t len = 0;

	(void)state;
	memset(big, 'x', 20000);
	big[20000] = '\0';
	assert_int_equal(
	    file_read(test_write_file("big", big), 20000, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 20000);
	assert_int_equal(buf[len], '\0');
	assert_memory_equal(buf, big, len);
	free(buf);
	assert_int_equal(file_read(test_path("big"), 19999, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "big: larger than 19999 bytes"));
	assert_int_equal(file_read(test_write_file("empty", ""), 10, &buf, &len, err, sizeof(err)),
	                 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	assert_int_equal(file_read(test_path("missing"), 10, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing: No such file or directory"));
	free(big);
}

static void
files_without_a_size_are_read_to_the_end(void **state)
{
	char *buf = NULL, err[256];
	size_t len = 0;

	(void)state;
	/* /proc files report size 0: the reader grows until the end. */
	assert_int_equal(file_read("/proc/self/maps", 1 << 20, &buf, &len, err, sizeof(err)), 0);
	assert_true(len > 0);
	assert_int_equal(strlen(buf), len);
	free(buf);
	assert_int_equal(file_read("/proc/self/maps", 16, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 16 bytes"));
}

static void
secrets_lose_one_trailing_newline(void **state)
{
	char *buf = NULL, err[256];
	size_t len = 0;

	(void)state;
	assert_int_equal(
	    file_read_secret(test_write_file("s1", "abc\r\n"), 64, &buf, &len, err, sizeof(err)),
	    0);
	assert_string_equal(buf, "abc");
	assert_int_equal(len, 3);
	free(buf);
	assert_int_equal(
	    file_read_secret(test_write_file("s2", "abc\n\n"), 64, &buf, &len, err, sizeof(err)),
	    0);
	assert_int_equal(len, 4); /* only one */
	free(buf);
}

/* A path watched through a symlink: a rename over it, a swapped link, removal. */
static void
moved_files_are_told(void **state)
{
	struct file_seen seen = {.ok = false};
	char path[600], link[600], tmp[700];
	const char *a = test_write_file("moved-a", "one"), *b;

	(void)state;
	snprintf(path, sizeof(path), "%s", test_path("moved"));
	snprintf(link, sizeof(link), "%s", test_path("moved-link"));
	assert_false(file_moved(path, &seen)); /* absent, and was */
	assert_int_equal(symlink(a, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_true(file_moved(path, &seen)); /* appeared */
	assert_false(file_moved(path, &seen));
	/* Another file of the same size and time renamed over the target: a new inode. */
	b = test_write_file("moved-b", "two");
	assert_int_equal(rename(b, a), 0);
	assert_true(file_moved(path, &seen));
	assert_false(file_moved(path, &seen));
	/* The link swapped for one to another file, as a ConfigMap's "..data". */
	b = test_write_file("moved-c", "three");
	snprintf(tmp, sizeof(tmp), "%s.tmp", link);
	assert_int_equal(symlink(b, tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	assert_true(file_moved(path, &seen));
	assert_false(file_moved(path, &seen));
	assert_int_equal(unlink(b), 0);
	assert_true(file_moved(path, &seen)); /* vanished */
	assert_false(seen.ok);
	assert_false(file_moved(path, &seen));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_whole_files_up_to_the_bound),
	    cmocka_unit_test(files_without_a_size_are_read_to_the_end),
	    cmocka_unit_test(secrets_lose_one_trailing_newline),
	    cmocka_unit_test(moved_files_are_told),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
