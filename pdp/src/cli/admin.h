/* admin.h - `pdp admin`: operators and feeds write context records and publish their events */
#ifndef PDP_ADMIN_H
#define PDP_ADMIN_H

/* Runs `pdp admin ...` (argv[0] is "admin"); returns the exit status. */
int admin_main(int argc, char **argv);

#endif
