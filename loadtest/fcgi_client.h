/* fcgi_client.h - one FastCGI request on a new connection, as nginx auth_request sends it */
#ifndef PDP_FCGI_CLIENT_H
#define PDP_FCGI_CLIENT_H

#include <stddef.h>

/* A FastCGI param. */
struct fcgi_param {
	const char *name;
	const char *value;
};

/* A connected socket to address ("unix:/path" or "tcp:host:port"), or -1. */
int fcgi_client_connect(const char *address);

/* Writes all n bytes of p to fd. Returns 0, or -1 when it could not. */
int fcgi_client_write_all(int fd, const unsigned char *p, size_t n);

/*
 * Connects to address ("unix:/path" or "tcp:host:port"), sends one responder
 * request with the params and an empty body, and reads the answer up to
 * END_REQUEST. Returns the CGI "Status:" code (200 when the answer names
 * none), or -1 on a transport error. Up to outsz-1 bytes of the answer's
 * stdout are copied to out (may be NULL).
 */
int fcgi_client_request(const char *address, const struct fcgi_param *params, size_t n, char *out,
                        size_t outsz);

/*
 * The request fcgi_client_request sends, encoded once into buf (room for
 * bufsz bytes): BEGIN_REQUEST, the params, empty PARAMS and STDIN. Returns
 * its length, or 0 when it does not fit.
 */
size_t fcgi_client_encode(const struct fcgi_param *params, size_t n, unsigned char *buf,
                          size_t bufsz);

/*
 * Sends an encoded request on a new connection to address and reads the
 * answer to END_REQUEST, as fcgi_client_request does.
 */
int fcgi_client_exchange(const char *address, const unsigned char *req, size_t len, char *out,
                         size_t outsz);

#endif
