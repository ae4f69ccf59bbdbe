/* test_decision_log.c - JSON lines, the bounded queue, drops and reopening */
#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "service/decision_log.h"
#include "testlib.h"

static json_t *
parse(const struct jline *j, size_t n)
{
	json_t *o = json_loadb(j->buf, n, 0, NULL);

	if (o == NULL)
		fail_msg("not JSON: %.*s", (int)n, j->buf);
	return o;
}

static void
lines_are_json_and_escaped(void **state)
{
	struct jline j;
	size_t n;
	json_t *o;

	(void)state;
	jline_begin(&j);
	jline_str(&j, "user", "eve\",\"decision\":\"allow");
	jline_str(&j, "nl", "a\nb\r\x01");
	jline_str(&j, "utf8", "j\xc3\xbcrgen \xe2\x82\xac");
	jline_str(&j, "bad", "x\xff\xc3y");
	jline_str(&j, "absent", NULL);
	jline_int(&j, "n", -42);
	jline_open(&j, "list", '[');
	jline_open(&j, NULL, '{');
	jline_str(&j, "id", "p1");
	jline_close(&j, '}');
	jline_close(&j, ']');
	n = jline_end(&j);
	assert_null(memchr(j.buf, '\n', n));
	o = parse(&j, n);
	assert_string_equal(json_string_value(json_object_get(o, "user")),
	                    "eve\",\"decision\":\"allow");
	assert_null(json_object_get(o, "decision"));
	assert_string_equal(json_string_value(json_object_get(o, "nl")), "a\nb\r\x01");
	assert_string_equal(json_string_value(json_object_get(o, "utf8")),
	                    "j\xc3\xbcrgen \xe2\x82\xac");
	assert_string_equal(json_string_value(json_object_get(o, "bad")),
	                    "x\xef\xbf\xbd\xef\xbf\xbdy");
	assert_null(json_object_get(o, "absent"));
	assert_int_equal(json_integer_value(json_object_get(o, "n")), -42);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(json_object_get(o, "list"), 0), "id")),
	    "p1");
	json_decref(o);
}

/* The keys a line lists in "truncated", comma-joined ("" when none). */
static const char *
truncated_keys(json_t *o)
{
	static char keys[256];
	json_t *t = json_object_get(o, "truncated"), *k;
	size_t i;

	keys[0] = '\0';
	json_array_foreach(t, i, k)
	{
		if (i > 0)
			strcat(keys, ",");
		strncat(keys, json_string_value(k), 64);
	}
	return keys;
}

static void
overlong_lines_stay_valid_json(void **state)
{
	struct jline j;
	char big[600];
	size_t n;
	json_t *o;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jline_begin(&j);
	jline_str(&j, "first", "kept");
	jline_open(&j, "policies", '[');
	for (int i = 0; i < 20; i++)
		jline_str(&j, NULL, big);
	jline_close(&j, ']');
	jline_str(&j, "after", "lost");
	n = jline_end(&j);
	assert_true(n <= DECISION_LOG_LINE_MAX);
	o = parse(&j, n);
	assert_string_equal(json_string_value(json_object_get(o, "first")), "kept");
	/* Cut back to the last whole member; the one being written is named. */
	assert_string_equal(truncated_keys(o), "policies");
	assert_null(json_object_get(o, "policies"));
	json_decref(o);
}

/* Free text is cut visibly at its bound; the members around it are all kept. */
static void
long_free_text_is_cut_visibly(void **state)
{
	static char uri[8200], ctl[400], utf[400];
	struct jline j;
	size_t n;
	json_t *o;
	const char *v;

	(void)state;
	memcpy(uri, "/x?q=", 5);
	memset(uri + 5, 'a', sizeof(uri) - 6);
	memset(ctl, '\x01', sizeof(ctl) - 1);           /* six bytes each once escaped */
	for (size_t i = 0; i + 2 < sizeof(utf); i += 2) /* two-byte characters */
		memcpy(utf + i, "\xc3\xbc", 2);
	jline_begin(&j);
	jline_str(&j, "request_id", "r1");
	jline_text(&j, "uri", uri, 2048);
	jline_str(&j, "decision", "allow");
	jline_text(&j, "user", "alice", 256);
	jline_text(&j, "ctl", ctl, 100);
	jline_text(&j, "utf", utf, 101);
	jline_open(&j, "policies", '[');
	jline_open(&j, NULL, '{');
	jline_text(&j, "id", "p1", 64);
	jline_text(&j, "reason", uri, 64);
	jline_close(&j, '}');
	jline_close(&j, ']');
	assert_true(jline_room(&j) > 0);
	n = jline_end(&j);
	o = parse(&j, n);
	v = json_string_value(json_object_get(o, "uri"));
	assert_non_null(v);
	assert_true(strlen(v) <= 2048 && strlen(v) > 2000);
	assert_memory_equal(v, "/x?q=aaa", 8);
	assert_string_equal(v + strlen(v) - 3, "\xe2\x80\xa6"); /* ends in the marker */
	assert_string_equal(json_string_value(json_object_get(o, "decision")), "allow");
	assert_string_equal(json_string_value(json_object_get(o, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(o, "request_id")), "r1");
	/* Cut between escapes and characters, never within one. */
	v = json_string_value(json_object_get(o, "ctl"));
	assert_int_equal(strlen(v), 16 + 3);
	v = json_string_value(json_object_get(o, "utf"));
	assert_int_equal(strlen(v) % 2, 1); /* whole two-byte characters and the marker */
	v = json_string_value(
	    json_object_get(json_array_get(json_object_get(o, "policies"), 0), "reason"));
	assert_true(strlen(v) <= 64);
	/* A value cut inside a list names the list. */
	assert_string_equal(truncated_keys(o), "uri,ctl,utf,policies");
	json_decref(o);

	/* Short values are as they were, and no "truncated" member. */
	jline_begin(&j);
	jline_text(&j, "uri", "/short", 2048);
	n = jline_end(&j);
	o = parse(&j, n);
	assert_string_equal(json_string_value(json_object_get(o, "uri")), "/short");
	assert_null(json_object_get(o, "truncated"));
	json_decref(o);
}

/* The "time" member of a line made now, as seconds since the epoch; fails on a bad format. */
static time_t
line_time(void)
{
	struct jline j;
	struct tm tm;
	size_t n;
	json_t *o;
	const char *t, *end;
	time_t when;

	jline_begin(&j);
	jline_now(&j, "time");
	n = jline_end(&j);
	o = parse(&j, n);
	t = json_string_value(json_object_get(o, "time"));
	assert_non_null(t);
	assert_int_equal(strlen(t), 24);
	memset(&tm, 0, sizeof(tm));
	end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	assert_true(end[0] == '.' && isdigit((unsigned char)end[1]) &&
	            isdigit((unsigned char)end[2]) && isdigit((unsigned char)end[3]) &&
	            end[4] == 'Z' && end[5] == '\0');
	when = timegm(&tm);
	json_decref(o);
	return when;
}

/* CLOCK_REALTIME's seconds: time() may read a coarser clock that lags it by a tick. */
static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static void
time_is_utc_to_the_millisecond_across_seconds(void **state)
{
	time_t first = now_s(), before, at, after;

	(void)state;
	/* Until the second has changed twice: the formatted date follows the clock. */
	do {
		before = now_s();
		at = line_time();
		after = now_s();
		assert_true(at >= before && at <= after);
	} while (after < first + 2);
}

static size_t
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void
writes_every_line_then_closes(void **state)
{
	char err[256];
	const char *path = test_path("decisions.jsonl");
	struct decision_log *dl = decision_log_open(path, 4096, err, sizeof(err));

	(void)state;
	assert_non_null(dl);
	for (int i = 0; i < 50; i++)
		decision_log_write(dl, "{\"n\":1}", 7);
	decision_log_close(dl);
	assert_int_equal(count_lines(path), 50);
}

#define WRITERS    4
#define LINES_EACH 5000

struct writer_arg {
	struct decision_log *dl;
	int id;
};

static void *
writer_thread(void *arg)
{
	struct writer_arg *w = arg;
	char line[64];

	for (int n = 0; n < LINES_EACH; n++) {
		int len = snprintf(line, sizeof(line), "{\"w\":%d,\"n\":%d,\"pad\":\"xxxxxxxx\"}",
		                   w->id, n);

		decision_log_write(w->dl, line, (size_t)len);
	}
	return NULL;
}

static void
lines_from_many_threads_arrive_whole_or_counted(void **state)
{
	char err[256], line[128];
	const char *path = test_path("threads.jsonl");
	/* Small enough that the buffers swap many times, and some lines may be dropped. */
	struct decision_log *dl = decision_log_open(path, 16384, err, sizeof(err));
	struct writer_arg args[WRITERS];
	pthread_t t[WRITERS];
	static unsigned char seen[WRITERS][LINES_EACH];
	uint64_t dropped;
	size_t lines = 0;
	FILE *f;

	(void)state;
	assert_non_null(dl);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < WRITERS; i++) {
		args[i] = (struct writer_arg){dl, i};
		pthread_create(&t[i], NULL, writer_thread, &args[i]);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	dropped = decision_log_dropped(dl);
	decision_log_close(dl);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		int w, n, end = 0;

		assert_int_equal(
		    sscanf(line, "{\"w\":%d,\"n\":%d,\"pad\":\"xxxxxxxx\"}\n%n", &w, &n, &end), 2);
		assert_int_equal((size_t)end, strlen(line));
		assert_true(w >= 0 && w < WRITERS && n >= 0 && n < LINES_EACH);
		assert_int_equal(seen[w][n]++, 0);
		lines++;
	}
	fclose(f);
	assert_int_equal(lines + dropped, WRITERS * LINES_EACH);
	assert_true(lines > 0);
}

static void *
drain_main(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static void
full_queue_drops_and_never_blocks(void **state)
{
	char err[256], path[64], line[1024];
	int fds[2];
	struct decision_log *dl;
	uint64_t dropped;
	pthread_t drainer;

	(void)state;
	/* A pipe nobody reads yet: the writer blocks once it is full, so the queue fills. */
	assert_int_equal(pipe(fds), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[1]);
	dl = decision_log_open(path, 8 * sizeof(line), err, sizeof(err));
	assert_non_null(dl);
	close(fds[1]); /* the log holds its own descriptor of the pipe */
	memset(line, 'a', sizeof(line));
	for (int i = 0; i < 2000; i++)
		decision_log_write(dl, line, sizeof(line));
	dropped = decision_log_dropped(dl);
	assert_true(dropped > 0);
	assert_true(dropped < 2000);
	/* Now read, so the writer can finish and close; EOF follows its close. */
	pthread_create(&drainer, NULL, drain_main, &fds[0]);
	decision_log_close(dl);
	pthread_join(drainer, NULL);
	close(fds[0]);
}

static void
reopen_follows_rotation(void **state)
{
	char err[256], rotated[600];
	const char *path = test_path("rotate.jsonl");
	struct decision_log *dl = decision_log_open(path, 4096, err, sizeof(err));

	(void)state;
	assert_non_null(dl);
	for (int i = 0; i < 3; i++)
		decision_log_write(dl, "{}", 2);
	/* Let the writer catch up, as logrotate moves the file before signalling. */
	for (int i = 0; i < 200 && count_lines(path) < 3; i++)
		usleep(5000);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	assert_int_equal(rename(path, rotated), 0);
	decision_log_reopen(dl);
	for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
		usleep(5000);
	for (int i = 0; i < 4; i++)
		decision_log_write(dl, "{}", 2);
	decision_log_close(dl);
	assert_int_equal(count_lines(rotated), 3);
	assert_int_equal(count_lines(path), 4);
}

static void
open_errors_name_the_file(void **state)
{
	char err[256];

	(void)state;
	assert_null(decision_log_open("/nonexistent/dir/decisions.jsonl", 8, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/decisions.jsonl"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines_are_json_and_escaped),
	    cmocka_unit_test(overlong_lines_stay_valid_json),
	    cmocka_unit_test(long_free_text_is_cut_visibly),
	    cmocka_unit_test(time_is_utc_to_the_millisecond_across_seconds),
	    cmocka_unit_test(writes_every_line_then_closes),
	    cmocka_unit_test(lines_from_many_threads_arrive_whole_or_counted),
	    cmocka_unit_test(full_queue_drops_and_never_blocks),
	    cmocka_unit_test(reopen_follows_rotation),
	    cmocka_unit_test(open_errors_name_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
