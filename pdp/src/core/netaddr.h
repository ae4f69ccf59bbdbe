/* netaddr.h - IPv4/IPv6 addresses and CIDR ranges for named locations */
#ifndef PDP_NETADDR_H
#define PDP_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netaddr {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

struct netrange {
	struct netaddr addr;
	uint8_t bits;
};

/*
 * Parses an IPv4 or IPv6 literal. An IPv4-mapped IPv6 address (::ffff:a.b.c.d,
 * as nginx reports IPv4 clients on a dual-stack listener) becomes the IPv4
 * address, so IPv4 ranges match it. Returns 0 or -1.
 */
int netaddr_parse(const char *s, struct netaddr *out);

/*
 * Parses "addr/bits" or a bare address (a single host). Host bits set below
 * the prefix are an error: "10.1.2.3/8" is almost always a typo. Returns 0,
 * or -1 with the reason in why.
 */
int netrange_parse(const char *s, struct netrange *out, char *why, size_t whysz);

bool netrange_contains(const struct netrange *r, const struct netaddr *a);

/*
 * Checks a socket to listen on or connect to: "unix:/absolute/path" or
 * "tcp:host:port" with an IPv4 or [IPv6] literal host. Returns 0, or -1
 * with the reason in why.
 */
int netaddr_check_endpoint(const char *s, char *why, size_t whysz);

/* What a listen endpoint speaks: FastCGI, or HTTP/1.1 behind an "http+" prefix. */
enum listen_front { FRONT_FASTCGI, FRONT_HTTP, FRONTS };

/*
 * The front of listen endpoint s, and in *socket (when not NULL) the socket
 * address it names, s without its "http+" prefix.
 */
enum listen_front netaddr_listen_front(const char *s, const char **socket);

/*
 * Checks an endpoint to listen on: one netaddr_check_endpoint takes, or the
 * same behind "http+" (the HTTP front). Returns 0, or -1 with the reason in
 * why.
 */
int netaddr_check_listen(const char *s, char *why, size_t whysz);

#endif
