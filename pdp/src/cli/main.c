/* main.c - the pdp command: the usage, and the table that dispatches each command */
#include <stdio.h>
#include <string.h>

#include "cli/admin.h"
#include "cli/common.h"
#include "cli/coverage.h"
#include "cli/policy_tools.h"
#include "cli/report.h"
#include "cli/serve.h"

void
cli_usage(FILE *f)
{
	fprintf(f,
	        "usage: pdp serve -c CONFIG\n"
	        "       pdp check [-c CONFIG] [POLICY_DIR]\n"
	        "       pdp test [-v] [-c CONFIG] [POLICY_DIR]\n"
	        "       pdp explain [-c CONFIG] [POLICY_DIR] (--claims MAP | --token TOKEN) --url "
	        "URL\n"
	        "                   [--method M] [--ip IP] [--country CC] [--client browser|api]\n"
	        "                   [--user-agent UA] [--device MAP] [--user MAP] [--json]\n"
	        "       pdp coverage [-c CONFIG] [--checklist FILE] [--json | --csv]\n"
	        "                    [--fail-below STAGE] [POLICY_DIR]\n"
	        "       pdp report [-c CONFIG] [--since T] [--until T] [--top N] [--json]\n"
	        "                  [--html FILE] [LOG...]\n"
	        "       pdp reload (-c CONFIG | --pid PID)\n"
	        "       pdp admin [-c CONFIG] COMMAND ... (pdp admin --help)\n"
	        "       pdp version\n"
	        "\n"
	        "serve    answer nginx auth_request subrequests (FastCGI, HTTP/1.1)\n"
	        "check    validate CONFIG and the key files it names, and the policy files in\n"
	        "         POLICY_DIR (default: the config's policies directory); exit 1 on any\n"
	        "         error, naming file:line:column\n"
	        "test     run the cases in POLICY_DIR/tests/*.yaml; exit 1 on any failure\n"
	        "         (-v: explain every case)\n"
	        "explain  what-if: every policy for a caller and request, and the decision;\n"
	        "         MAP is a test case's claims, device or user as a YAML flow mapping,\n"
	        "         e.g. --claims '{sub: alice, groups: [admins], amr: [pwd, otp]}'\n"
	        "         (a JSON object is one too)\n"
	        "report   what the policies did, from decision logs (plain, gzip, - for stdin;\n"
	        "         default: the config's decision_log): decisions by result, app and\n"
	        "         policy, what enforcing each report-only policy would change, top\n"
	        "         reasons, latency, store and key incidents; Markdown, --json, or\n"
	        "         --html FILE (one self-contained page). T: an RFC 3339 time or a\n"
	        "         span before now (7d, 24h, 30m)\n"
	        "coverage the policy set, config and test cases assessed against a checklist\n"
	        "         of Zero Trust controls (CISA ZTMM v2 pillars and stages); Markdown,\n"
	        "         JSON or CSV; --fail-below STAGE (traditional, initial, advanced,\n"
	        "         optimal): exit 1 when the set's stage is lower\n"
	        "reload   ask the running daemon (the config's pid_file) to reload now,\n"
	        "         applying a change a reload after a file edit refused to drop\n"
	        "admin    write device, user and revocation records to Redis and publish\n"
	        "         their events\n");
}

static int
version_main(int argc, char **argv)
{
	printf("pdp %s\n", PDP_VERSION);
	return 0;
}

static int
help_main(int argc, char **argv)
{
	cli_usage(stdout);
	return 0;
}

/* clang-format off */
/* Each command's name, and its entry: given argv from the command's name on, returns the
 * exit status. */
static const struct command {
	const char *name;
	int (*main)(int argc, char **argv);
} commands[] = {
    {"serve", serve_main},
    {"check", check_main},
    {"test", test_main},
    {"explain", explain_main},
    {"coverage", coverage_main},
    {"reload", reload_main},
    {"admin", admin_main},
    {"report", report_main},
    {"version", version_main},
    {"--version", version_main},
    {"help", help_main},
    {"--help", help_main},
    {"-h", help_main},
};
/* clang-format on */

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "pdp: needs a command\n");
		cli_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "pdp: unknown command \"%s\"\n", argv[1]);
	cli_usage(stderr);
	return 2;
}
