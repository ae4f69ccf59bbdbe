/* test_log_reader.c - lines from plain and gzip files, long lines, damaged input */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "evidence/log_reader.h"
#include "service/decision_log.h"
#include "testlib.h"

/* The file's contents: "a", a line past the log's maximum, "b", "", "c" (no newline). */
static char *
contents(size_t *len)
{
	size_t big = DECISION_LOG_LINE_MAX + 5000, n = 0;
	char *s = malloc(big + 64);

	n += (size_t)sprintf(s + n, "a\n");
	memset(s + n, 'x', big);
	n += big;
	n += (size_t)sprintf(s + n, "\nb\n\nc");
	*len = n;
	return s;
}

static void
expect_lines(const char *path)
{
	char err[256];
	struct log_reader *r = log_reader_open(path, err, sizeof(err));
	const char *line;
	size_t n;
	uint64_t no;

	assert_non_null(r);
	assert_int_equal(log_reader_next(r, &line, &n, &no, err, sizeof(err)), LOG_READ_LINE);
	assert_int_equal(no, 1);
	assert_int_equal(n, 1);
	assert_memory_equal(line, "a", 1);
	assert_int_equal(log_reader_next(r, &line, &n, &no, err, sizeof(err)), LOG_READ_TOO_LONG);
	assert_int_equal(no, 2);
	/* Resynchronised at the newline after the long line. */
	assert_int_equal(log_reader_next(r, &line, &n, &no, err, sizeof(err)), LOG_READ_LINE);
	assert_int_equal(no, 3);
	assert_memory_equal(line, "b", 1);
	assert_int_equal(log_reader_next(r, &line, &n, &no, err, sizeof(err)), LOG_READ_LINE);
	assert_int_equal(no, 4);
	assert_int_equal(n, 0);
	assert_int_equal(log_reader_next(r, &line, &n, &no, err, sizeof(err)), LOG_READ_LINE);
	assert_int_equal(no, 5);
	assert_int_equal(n, 1);
	assert_memory_equal(line, "c", 1);
	assert_int_equal(log_reader_next(r, &line, &n, &no, err, sizeof(err)), LOG_READ_EOF);
	log_reader_close(r);
}

static void
plain_file(void **state)
{
	size_t len;
	char *s = contents(&len);
	char *path = test_path("plain.jsonl");
	FILE *f = fopen(path, "wb");

	(void)state;
	fwrite(s, 1, len, f);
	fclose(f);
	expect_lines(path);
	free(s);
}

/* gzip found by its magic bytes, whatever the name; two members read as one stream. */
static void
gzip_file(void **state)
{
	size_t len;
	char *s = contents(&len);
	char *path = test_path("rotated.1");
	gzFile gz = gzopen(path, "wb");

	(void)state;
	gzwrite(gz, s, (unsigned)(len / 2));
	gzclose(gz);
	gz = gzopen(path, "ab");
	gzwrite(gz, s + len / 2, (unsigned)(len - len / 2));
	gzclose(gz);
	expect_lines(path);
	free(s);
}

static void
damaged_input_is_an_error_naming_it(void **state)
{
	char err[256];
	const char *line;
	size_t n, len;
	uint64_t no;
	char *path = test_path("cut.gz"), *s = contents(&len);
	gzFile gz = gzopen(path, "wb");
	FILE *f;
	long size;
	struct log_reader *r;
	enum log_read got;

	(void)state;
	assert_null(log_reader_open(test_path("absent.jsonl"), err, sizeof(err)));
	assert_non_null(strstr(err, "absent.jsonl: No such file"));
	/* A gzip file cut in half. */
	for (int i = 0; i < 20; i++)
		gzwrite(gz, s, (unsigned)len);
	gzclose(gz);
	f = fopen(path, "r+b");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	assert_int_equal(truncate(path, size / 2), 0);
	r = log_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	while ((got = log_reader_next(r, &line, &n, &no, err, sizeof(err))) == LOG_READ_LINE ||
	       got == LOG_READ_TOO_LONG)
		;
	assert_int_equal(got, LOG_READ_ERROR);
	assert_non_null(strstr(err, "cut.gz: "));
	log_reader_close(r);
	/* Gzip's magic, then garbage. */
	f = fopen(path, "wb");
	fwrite("\x1f\x8b\x08\x00garbage that does not inflate", 1, 34, f);
	fclose(f);
	r = log_reader_open(path, err, sizeof(err));
	assert_non_null(r);
	while ((got = log_reader_next(r, &line, &n, &no, err, sizeof(err))) == LOG_READ_LINE)
		;
	assert_int_equal(got, LOG_READ_ERROR);
	assert_non_null(strstr(err, "cut.gz: "));
	log_reader_close(r);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_file),
	    cmocka_unit_test(gzip_file),
	    cmocka_unit_test(damaged_input_is_an_error_naming_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
