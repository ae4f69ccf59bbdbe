/* serve.h - the daemon's commands: pdp serve, and pdp reload that signals it */
#ifndef PDP_CLI_SERVE_H
#define PDP_CLI_SERVE_H

/* Runs `pdp serve -c CONFIG` (argv[0] is "serve") until SIGTERM or SIGINT; returns 0, or
 * exits on a start-up error (1) or a usage error (2). */
int serve_main(int argc, char **argv);

/* Runs `pdp reload ...` (argv[0] is "reload"): SIGHUP to the running daemon; 0 when sent, 1
 * when there is no daemon to signal, 2 on a usage error. */
int reload_main(int argc, char **argv);

#endif
