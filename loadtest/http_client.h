/* http_client.h - requests to the PDP's HTTP front on a kept-alive connection, as nginx sends them
 */
#ifndef PDP_HTTP_CLIENT_H
#define PDP_HTTP_CLIENT_H

#include <stddef.h>

#include "fcgi_client.h"

/*
 * Encodes one request as nginx's proxy_pass sends it with deploy/nginx's
 * pdp_http_params into buf (room for bufsz bytes): "GET /_pdp HTTP/1.1", a
 * Host line, then each header of headers (struct fcgi_param as name and
 * value, e.g. X-PDP-URI). Returns its length, or 0 when it does not fit.
 */
size_t http_client_encode(const struct fcgi_param *headers, size_t n, unsigned char *buf,
                          size_t bufsz);

/*
 * Sends an encoded request on *fd, connecting to address ("unix:/path" or
 * "tcp:host:port", without "http+") first when *fd is -1, and reads the
 * answer's header section and body (Content-Length). The connection stays
 * open in *fd for the next request unless the answer says Connection: close;
 * a kept connection the server closed before answering is replaced once, as
 * nginx does. Returns the status, or -1 on a transport error (then *fd is
 * closed and -1). Up to outsz-1 bytes of the header section are copied to
 * out (may be NULL).
 */
int http_client_exchange(int *fd, const char *address, const unsigned char *req, size_t len,
                         char *out, size_t outsz);

#endif
