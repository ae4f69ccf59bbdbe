/* fcgi_client.c - one FastCGI request on a new connection, as nginx auth_request sends it */
#include "fcgi_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_RESPONDER = 1,
};

int
fcgi_client_connect(const char *address)
{
	int fd = -1;

	if (strncmp(address, "unix:", 5) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		if (strlen(address + 5) >= sizeof(sun.sun_path))
			return -1;
		strcpy(sun.sun_path, address + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
	} else if (strncmp(address, "tcp:", 4) == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		const char *colon = strrchr(address + 4, ':');
		char host[64];

		if (colon == NULL || (size_t)(colon - address - 4) >= sizeof(host))
			return -1;
		memcpy(host, address + 4, (size_t)(colon - address - 4));
		host[colon - address - 4] = '\0';
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static size_t
record(unsigned char *p, int type, const void *content, size_t len)
{
	p[0] = 1;
	p[1] = (unsigned char)type;
	p[2] = 0;
	p[3] = 1; /* request id 1 */
	p[4] = (unsigned char)(len >> 8);
	p[5] = (unsigned char)len;
	p[6] = 0;
	p[7] = 0;
	if (len > 0)
		memcpy(p + 8, content, len);
	return 8 + len;
}

static size_t
put_length(unsigned char *p, size_t n)
{
	if (n < 128) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = (unsigned char)(0x80 | (n >> 24));
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return 4;
}

int
fcgi_client_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

size_t
fcgi_client_encode(const struct fcgi_param *params, size_t n, unsigned char *buf, size_t bufsz)
{
	unsigned char body[8192];
	const unsigned char begin[8] = {0, FCGI_RESPONDER, 0, 0, 0, 0, 0, 0};
	size_t o = 0, blen = 0;

	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(params[i].name), vl = strlen(params[i].value);

		if (blen + nl + vl + 8 > sizeof(body))
			return 0;
		blen += put_length(body + blen, nl);
		blen += put_length(body + blen, vl);
		memcpy(body + blen, params[i].name, nl);
		memcpy(body + blen + nl, params[i].value, vl);
		blen += nl + vl;
	}
	if (8 * 4 + sizeof(begin) + blen > bufsz)
		return 0;
	o += record(buf + o, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	o += record(buf + o, FCGI_PARAMS, body, blen);
	o += record(buf + o, FCGI_PARAMS, NULL, 0);
	o += record(buf + o, FCGI_STDIN, NULL, 0);
	return o;
}

int
fcgi_client_exchange(const char *address, const unsigned char *req, size_t len, char *out,
                     size_t outsz)
{
	unsigned char hdr[8], content[65536 + 256];
	size_t got = 0;
	int fd = fcgi_client_connect(address), status = -1;
	char answer[8192];

	if (fd < 0)
		return -1;
	if (fcgi_client_write_all(fd, req, len) != 0)
		goto out;
	for (;;) {
		size_t clen, pad;

		if (read_all(fd, hdr, 8) != 0)
			goto out;
		clen = (size_t)hdr[4] << 8 | hdr[5];
		pad = hdr[6];
		if (read_all(fd, content, clen + pad) != 0)
			goto out;
		if (hdr[1] == FCGI_STDOUT && got + clen < sizeof(answer)) {
			memcpy(answer + got, content, clen);
			got += clen;
		}
		if (hdr[1] == FCGI_END_REQUEST)
			break;
	}
	answer[got] = '\0';
	status = strncmp(answer, "Status: ", 8) == 0 ? atoi(answer + 8) : 200;
	if (out != NULL && outsz > 0)
		snprintf(out, outsz, "%s", answer);
out:
	close(fd);
	return status;
}

int
fcgi_client_request(const char *address, const struct fcgi_param *params, size_t n, char *out,
                    size_t outsz)
{
	unsigned char buf[16384];
	size_t len = fcgi_client_encode(params, n, buf, sizeof(buf));

	return len == 0 ? -1 : fcgi_client_exchange(address, buf, len, out, outsz);
}
