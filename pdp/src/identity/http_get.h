/* http_get.h - one bounded HTTP(S) GET with libcurl, for the thread that fetches keys */
#ifndef PDP_HTTP_GET_H
#define PDP_HTTP_GET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/keyring.h"

#define HTTP_GET_CONNECT_MS 5000  /* connect, TLS handshake included */
#define HTTP_GET_TOTAL_MS   10000 /* the whole fetch */

struct http_answer {
	char *body;      /* NUL-terminated; the caller frees it */
	size_t len;      /* bytes before the NUL */
	long status;     /* HTTP status */
	int64_t max_age; /* seconds from Cache-Control (discovery_max_age), -1: none */
};

/*
 * GETs url, which must pass discovery_check_url (only its scheme is allowed;
 * redirects are not followed), verifying TLS peer and host against ca_file
 * (PEM) or, when NULL, the system's trust store. An answer longer than max
 * bytes is cut off as invalid. cancel (may be NULL) becoming true ends the
 * fetch early. Returns KEYS_OK with a 200 answer in *out, or the failure
 * (network, tls, http_status, invalid) with "url: reason" in err and no
 * body in *out (its status set for http_status). Call only from the thread that fetches (or the
 * tools').
 */
enum keys_result http_get(const char *url, const char *ca_file, size_t max, atomic_bool *cancel,
                          struct http_answer *out, char *err, size_t errsz);

#endif
