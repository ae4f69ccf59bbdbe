/* http_get.c - one bounded HTTP(S) GET with libcurl, for the thread that fetches keys */
#include "identity/http_get.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "identity/discovery.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
	char *buf;
	size_t len, cap, max;
	bool too_big;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->max - s->len) {
		s->too_big = true;
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		char *nb;

		while (cap < s->len + n + 1)
			cap *= 2;
		if ((nb = realloc(s->buf, cap)) == NULL)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static int
progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return arg != NULL && atomic_load((atomic_bool *)arg) ? 1 : 0;
}

/* Handshake, certificate and trust-store failures. */
static bool
curl_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return true;
	default:
		return false;
	}
}

/* The smallest freshness the answer's Cache-Control headers give, -1: none. */
static int64_t
answer_max_age(CURL *h)
{
	struct curl_header *hdr = NULL;
	int64_t best = -1;

	for (size_t i = 0;
	     curl_easy_header(h, "Cache-Control", i, CURLH_HEADER, -1, &hdr) == CURLHE_OK; i++) {
		int64_t v = discovery_max_age(hdr->value);

		if (v >= 0 && (best < 0 || v < best))
			best = v;
		if (i + 1 >= hdr->amount)
			break;
	}
	return best;
}

/*
 * CURLOPT_NOSIGNAL leaves SIGPIPE alone, and OpenSSL writes to the socket
 * with write(): a peer gone would kill a process that does not ignore
 * SIGPIPE (the tools). It is blocked on this thread while libcurl works, and
 * one raised meanwhile is taken off before it is unblocked.
 */
static bool
sigpipe_hold(sigset_t *old)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, old);
	return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void
sigpipe_release(const sigset_t *old, bool was_pending)
{
	if (!was_pending) {
		sigset_t pipe;
		struct timespec zero = {0, 0};

		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		while (sigtimedwait(&pipe, NULL, &zero) == SIGPIPE)
			;
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The GET itself; http_get holds SIGPIPE around it. */
static enum keys_result
get(const char *url, const char *ca_file, size_t max, atomic_bool *cancel, struct http_answer *out,
    char *err, size_t errsz)
{
	char detail[CURL_ERROR_SIZE] = "";
	struct sink s = {.max = max};
	bool tls = strncasecmp(url, "https://", 8) == 0;
	enum keys_result r = KEYS_NETWORK;
	CURL *h = NULL;
	CURLcode rc;

	*out = (struct http_answer){.max_age = -1};
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK || (h = curl_easy_init()) == NULL) {
		snprintf(err, errsz, "%s: cannot set up libcurl", url);
		return KEYS_NETWORK;
	}
	/* Keys travel over verified TLS; plain http only where the URL rule let it (loopback). */
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, tls ? "https" : "http") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (ca_file != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK) ||
	    (!tls && curl_easy_setopt(h, CURLOPT_NOPROXY, "*") != CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_GET_CONNECT_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)HTTP_GET_TOTAL_MS) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)cancel) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "pdp") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail) != CURLE_OK) {
		snprintf(err, errsz, "%s: cannot set up libcurl", url);
		goto out;
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	/* An error page too long to keep is still an error status, not an invalid set. */
	if (rc == CURLE_OK || (out->status != 0 && out->status != 200)) {
		if (out->status != 200) {
			r = KEYS_HTTP_STATUS;
			snprintf(err, errsz, "%s: HTTP status %ld%s", url, out->status,
			         out->status / 100 == 3 ? " (redirects are not followed)" : "");
			goto out;
		}
		out->max_age = answer_max_age(h);
		if (s.buf == NULL && (s.buf = calloc(1, 1)) == NULL) {
			snprintf(err, errsz, "%s: out of memory", url);
			goto out;
		}
		out->body = s.buf;
		out->len = s.len;
		s.buf = NULL;
		r = KEYS_OK;
	} else if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		r = KEYS_INVALID;
		snprintf(err, errsz, "%s: the answer is larger than %zu bytes", url, max);
	} else {
		r = curl_tls_error(rc) ? KEYS_TLS : KEYS_NETWORK;
		snprintf(err, errsz, "%s: %s", url, detail[0] ? detail : curl_easy_strerror(rc));
	}
out:
	free(s.buf);
	curl_easy_cleanup(h);
	return r;
}

enum keys_result
http_get(const char *url, const char *ca_file, size_t max, atomic_bool *cancel,
         struct http_answer *out, char *err, size_t errsz)
{
	sigset_t old;
	bool pending = sigpipe_hold(&old);
	enum keys_result r = get(url, ca_file, max, cancel, out, err, errsz);

	sigpipe_release(&old, pending);
	return r;
}
