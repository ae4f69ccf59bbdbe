/* report.c - pdp report: what the policies did, read from decision logs */
#include "cli/report.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/common.h"
#include "evidence/report.h"
#include "evidence/report_html.h"
#include "evidence/report_markdown.h"
#include "evidence/timefmt.h"
#include "policy/load.h"
#include "service/config.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --since or --until (opt) given as arg, or not (NULL); -1 after a usage error. */
static int
window_arg(const char *opt, const char *arg, int64_t now, int64_t *ms, bool *has)
{
	if (arg == NULL)
		return 0;
	if (timefmt_arg(arg, now, ms) != 0) {
		cli_usage_error(
		    "report", "--%s takes an RFC 3339 time or a span such as 7d, 24h, 30m: \"%s\"",
		    opt, arg);
		return -1;
	}
	*has = true;
	return 0;
}

/*
 * The page into html_path, whole or not at all: written to a new file of its
 * own beside it (mkstemp: never one that exists, nor a link someone left
 * there), with the mode a new file gets, and renamed over it. 0, or -1 after
 * saying why.
 */
static int
report_html_file(const json_t *doc, const char *html_path)
{
	char tmp[4096], err[256];
	FILE *f;
	mode_t mask;
	int n, fd;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", html_path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "pdp report: %s: path too long\n", html_path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "pdp report: %s: %s\n", html_path, strerror(errno));
		return -1;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "pdp report: %s: %s\n", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (report_html_write(f, doc, err, sizeof(err)) != 0) {
		fprintf(stderr, "pdp report: %s: %s\n", html_path, err);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, html_path) != 0) {
		fprintf(stderr, "pdp report: %s: %s\n", html_path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Writes doc as asked: the page when html_path is set, and on stdout JSON, or
 * Markdown unless only the page was asked for. 0, or -1 when an output could
 * not be written.
 */
static int
report_write(const json_t *doc, bool json, const char *html_path)
{
	if (html_path != NULL && report_html_file(doc, html_path) != 0)
		return -1;
	if (html_path != NULL && !json)
		return 0;
	if (json) {
		if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
			return -1;
		fputc('\n', stdout);
		return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
	}
	return report_markdown_write(stdout, doc);
}

int
report_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'}, {"until", required_argument, NULL, 'u'},
	    {"top", required_argument, NULL, 't'},   {"json", no_argument, NULL, 'j'},
	    {"html", required_argument, NULL, 'H'},  {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	struct report_options o = {.top = 10};
	const char *path = NULL, *since = NULL, *until = NULL, *html = NULL;
	const char *cfg_log[1];
	const char *const *logs;
	struct config *cfg = NULL;
	struct policy_set *set = NULL;
	struct report *rp = NULL;
	json_t *doc = NULL;
	char err[1024];
	bool json = false;
	int c, n_logs, stdin_seen = 0, rc = 1;
	int64_t now = now_ms();

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*optarg == '\0' || *end != '\0' || v < 1 || v > REPORT_TOP_MAX)
				return cli_usage_error(
				    "report", "--top takes a number from 1 to %d", REPORT_TOP_MAX);
			o.top = (size_t)v;
			break;
		}
		case 'j':
			json = true;
			break;
		case 'H':
			html = optarg;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	if (window_arg("since", since, now, &o.since_ms, &o.has_since) != 0 ||
	    window_arg("until", until, now, &o.until_ms, &o.has_until) != 0)
		return 2;
	if (o.has_since && o.has_until && o.since_ms >= o.until_ms)
		return cli_usage_error("report", "--since must be before --until");
	logs = (const char *const *)argv + optind;
	n_logs = argc - optind;
	for (int i = 0; i < n_logs; i++)
		stdin_seen += strcmp(logs[i], "-") == 0;
	if (stdin_seen > 1)
		return cli_usage_error("report", "reads stdin (-) once");
	if (n_logs == 0 && path == NULL)
		return cli_usage_error("report",
		                       "needs a decision log (LOG..., or -c CONFIG naming its "
		                       "decision_log)");
	if (path != NULL) {
		if (cli_load_policies("report", path, NULL, &cfg, &set) != 0)
			goto out;
		o.set = set;
		if (n_logs == 0) {
			if (cfg->decision_log == NULL || strcmp(cfg->decision_log, "stderr") == 0) {
				rc = cli_usage_error(
				    "report", "%s writes no decision log file: give LOG...", path);
				goto out;
			}
			cfg_log[0] = cfg->decision_log;
			logs = cfg_log;
			n_logs = 1;
		}
	}
	if ((rp = report_new(&o)) == NULL) {
		fprintf(stderr, "pdp report: out of memory\n");
		goto out;
	}
	for (int i = 0; i < n_logs; i++) {
		if (report_read(rp, logs[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "pdp report: %s\n", err);
			goto out;
		}
	}
	if ((doc = report_json(rp)) == NULL) {
		fprintf(stderr, "pdp report: out of memory\n");
		goto out;
	}
	if (report_write(doc, json, html) != 0) {
		fprintf(stderr, "pdp report: cannot write the report\n");
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	report_free(rp);
	policy_set_free(set);
	config_free(cfg);
	return rc;
}
