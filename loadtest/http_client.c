/* http_client.c - requests to the PDP's HTTP front on a kept-alive connection, as nginx sends them
 */
#include "http_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The largest answer header section read; the PDP's are far smaller. */
#define HTTP_CLIENT_MAX_HEAD 16384

size_t
http_client_encode(const struct fcgi_param *headers, size_t n, unsigned char *buf, size_t bufsz)
{
	int o = snprintf((char *)buf, bufsz, "GET /_pdp HTTP/1.1\r\nHost: pdp_http\r\n");

	for (size_t i = 0; i < n && o >= 0 && (size_t)o < bufsz; i++)
		o += snprintf((char *)buf + o, bufsz - (size_t)o, "%s: %s\r\n", headers[i].name,
		              headers[i].value);
	if (o >= 0 && (size_t)o < bufsz)
		o += snprintf((char *)buf + o, bufsz - (size_t)o, "\r\n");
	return o < 0 || (size_t)o >= bufsz ? 0 : (size_t)o;
}

/* The value of header name in the header section head (NUL-terminated), or NULL. */
static const char *
header_value(const char *head, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':')
			return p + 3 + nl + strspn(p + 3 + nl, " \t");
	return NULL;
}

/*
 * Reads one answer on fd: its header section into head (NUL-terminated), its
 * body discarded. Returns the status, 0 when the peer closed before the first
 * byte, or -1; *close_after: the answer said Connection: close.
 */
static int
read_answer(int fd, char *head, size_t headsz, bool *close_after)
{
	size_t got = 0, body;
	char *end = NULL, sink[4096];
	const char *v;
	int status;

	while (end == NULL) {
		ssize_t r = read(fd, head + got, headsz - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 && got == 0 ? 0 : -1;
		got += (size_t)r;
		head[got] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (end == NULL && got == headsz - 1)
			return -1;
	}
	if (strncmp(head, "HTTP/1.1 ", 9) != 0 || (status = atoi(head + 9)) < 100)
		return -1;
	v = header_value(head, "Content-Length");
	body = v != NULL ? strtoul(v, NULL, 10) : 0;
	/* What came after the header section is the body's start (one request in flight). */
	got -= (size_t)(end + 4 - head);
	end[2] = '\0';
	v = header_value(head, "Connection");
	*close_after = v != NULL && strncasecmp(v, "close", 5) == 0;
	if (got > body)
		return -1;
	for (body -= got; body > 0;) {
		ssize_t r = read(fd, sink, body < sizeof(sink) ? body : sizeof(sink));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		body -= (size_t)r;
	}
	return status;
}

int
http_client_exchange(int *fd, const char *address, const unsigned char *req, size_t len, char *out,
                     size_t outsz)
{
	char head[HTTP_CLIENT_MAX_HEAD];
	bool close_after = false;
	int status = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = *fd >= 0, sent;

		if (!reused && (*fd = fcgi_client_connect(address)) < 0)
			return -1;
		sent = fcgi_client_write_all(*fd, req, len) == 0;
		status = sent ? read_answer(*fd, head, sizeof(head), &close_after) : -1;
		if (status > 0)
			break;
		close(*fd);
		*fd = -1;
		/* Only a kept connection closed under the request, before any answer, is tried
		 * again. */
		if (!reused || (sent && status < 0))
			break;
	}
	if (status <= 0)
		return -1;
	if (close_after) {
		close(*fd);
		*fd = -1;
	}
	if (out != NULL && outsz > 0)
		snprintf(out, outsz, "%s", head);
	return status;
}
