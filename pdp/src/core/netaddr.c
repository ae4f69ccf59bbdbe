/* netaddr.c - IPv4/IPv6 addresses and CIDR ranges for named locations */
#include "core/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
netaddr_parse(const char *s, struct netaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		out->family = 6;
		if (memcmp(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
			memmove(out->bytes, out->bytes + 12, 4);
			memset(out->bytes + 4, 0, 12);
			out->family = 4;
		}
		return 0;
	}
	return -1;
}

int
netrange_parse(const char *s, struct netrange *out, char *why, size_t whysz)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned max, bits;

	if (alen == 0 || alen >= sizeof(buf)) {
		snprintf(why, whysz, "\"%s\" is not an IP address or CIDR range", s);
		return -1;
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (netaddr_parse(buf, &out->addr) != 0 ||
	    (strchr(buf, ':') != NULL && out->addr.family == 4)) {
		/* A mapped IPv6 literal in a range would silently change the prefix length. */
		snprintf(why, whysz, "\"%s\" is not an IP address or CIDR range", s);
		return -1;
	}
	max = out->addr.family == 4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		char *end;
		long b = strtol(slash + 1, &end, 10);

		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || b < 0 || b > (long)max) {
			snprintf(why, whysz, "\"%s\": prefix length must be 0..%u", s, max);
			return -1;
		}
		bits = (unsigned)b;
	}
	out->bits = (uint8_t)bits;
	for (unsigned i = bits; i < max; i++) {
		if (out->addr.bytes[i / 8] & (0x80 >> (i % 8))) {
			snprintf(why, whysz, "\"%s\" has host bits set below /%u", s, bits);
			return -1;
		}
	}
	return 0;
}

bool
netrange_contains(const struct netrange *r, const struct netaddr *a)
{
	unsigned full = r->bits / 8, rest = r->bits % 8;

	if (r->addr.family != a->family)
		return false;
	if (memcmp(r->addr.bytes, a->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((r->addr.bytes[full] ^ a->bytes[full]) & (0xff << (8 - rest))) == 0;
}

/* The TCP host part of an endpoint: an IPv4 or [IPv6] literal, hl bytes at host. */
static bool
tcp_host_literal(const char *host, size_t hl)
{
	unsigned char addr[16];
	char buf[64];

	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, hl - 2);
		buf[hl - 2] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1;
	}
	if (hl >= sizeof(buf))
		return false;
	memcpy(buf, host, hl);
	buf[hl] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1;
}

int
netaddr_check_endpoint(const char *s, char *why, size_t whysz)
{
	const char *host = s + 4, *colon;
	char *end;
	long port;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/')
			snprintf(why, whysz, "unix socket path must be absolute (unix:/path)");
		else if (strlen(s + 5) >= 108)
			snprintf(why, whysz, "unix socket path too long");
		else
			return 0;
		return -1;
	}
	if (strncmp(s, "tcp:", 4) != 0) {
		snprintf(why, whysz, "expected unix:/path or tcp:host:port");
		return -1;
	}
	if ((colon = strrchr(host, ':')) == NULL) {
		snprintf(why, whysz, "expected tcp:host:port");
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535) {
		snprintf(why, whysz, "bad port in \"%s\"", s);
		return -1;
	}
	if (tcp_host_literal(host, (size_t)(colon - host)))
		return 0;
	snprintf(why, whysz, "host must be an IPv4 or [IPv6] address in \"%s\"", s);
	return -1;
}

enum listen_front
netaddr_listen_front(const char *s, const char **socket)
{
	bool http = strncmp(s, "http+", 5) == 0;

	if (socket != NULL)
		*socket = http ? s + 5 : s;
	return http ? FRONT_HTTP : FRONT_FASTCGI;
}

int
netaddr_check_listen(const char *s, char *why, size_t whysz)
{
	const char *socket;

	netaddr_listen_front(s, &socket);
	if (netaddr_check_endpoint(socket, why, whysz) == 0)
		return 0;
	if (strncmp(why, "expected unix:/path or tcp:host:port", 36) == 0)
		snprintf(why, whysz,
		         "expected unix:/path or tcp:host:port (FastCGI), or http+unix:/path or "
		         "http+tcp:host:port (HTTP)");
	return -1;
}
