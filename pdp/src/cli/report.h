/* report.h - pdp report: what the policies did, read from decision logs */
#ifndef PDP_CLI_REPORT_H
#define PDP_CLI_REPORT_H

/*
 * Runs `pdp report ...` (argv[0] is "report"): 0 after the report, 1 when
 * the config, the policies or a log cannot be read, 2 on a usage error.
 */
int report_main(int argc, char **argv);

#endif
