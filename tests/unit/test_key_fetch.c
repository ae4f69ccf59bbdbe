/* test_key_fetch.c - the key fetcher against a loopback HTTP server of the test's own */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/clock.h"
#include "core/log.h"
#include "identity/key_fetch.h"
#include "keytool.h"
#include "service/config.h"
#include "testlib.h"

/* ---- A loopback HTTP/1.0 server: one answer per path, counted. ---- */

#define ROUTES 4

struct route {
	char path[128];
	int status;
	char headers[256]; /* extra header lines, each ending in \r\n */
	char *body;
	atomic_int hits;
};

static struct {
	int fd, tls_fd; /* plain HTTP, HTTPS */
	unsigned short port, tls_port;
	SSL_CTX *tls;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct route routes[ROUTES];
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static ssize_t
conn_read(int c, SSL *ssl, char *buf, size_t n)
{
	return ssl != NULL ? SSL_read(ssl, buf, (int)n) : read(c, buf, n);
}

/* A client may hang up early (an answer past its bound): what is left unsent does not matter. */
static void
conn_write(int c, SSL *ssl, const char *buf, size_t n)
{
	if (ssl != NULL)
		(void)SSL_write(ssl, buf, (int)n);
	else if (write(c, buf, n) < 0)
		return;
}

static void
serve_one(int c, SSL *ssl)
{
	char req[4096], path[128] = "", *out = NULL;
	size_t got = 0;
	ssize_t n;
	int len = 0;

	while (got < sizeof(req) - 1 &&
	       (n = conn_read(c, ssl, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL || (got >= 4 && memcmp(req, "GET ", 4) != 0))
			break;
	}
	req[got] = '\0';
	if (sscanf(req, "GET %127s ", path) != 1) {
		/* Not HTTP (a TLS handshake): an HTTP answer, which the client cannot take. */
		conn_write(c, ssl, "HTTP/1.0 400 X\r\n\r\n", 18);
		return;
	}
	pthread_mutex_lock(&srv.mu);
	for (int i = 0; i < ROUTES; i++) {
		struct route *r = &srv.routes[i];

		if (strcmp(r->path, path) != 0)
			continue;
		atomic_fetch_add(&r->hits, 1);
		len = asprintf(&out,
		               "HTTP/1.0 %d X\r\nContent-Type: application/json\r\n"
		               "Content-Length: %zu\r\n%s\r\n%s",
		               r->status, strlen(r->body), r->headers, r->body);
		break;
	}
	if (out == NULL)
		len = asprintf(&out, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	pthread_mutex_unlock(&srv.mu);
	if (len > 0)
		conn_write(c, ssl, out, (size_t)len);
	free(out);
}

static void *
serve_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stop)) {
		struct pollfd p[2] = {{.fd = srv.fd, .events = POLLIN},
		                      {.fd = srv.tls_fd, .events = POLLIN}};
		SSL *ssl = NULL;
		int c;

		if (poll(p, 2, 50) <= 0)
			continue;
		if ((c = accept(p[0].revents & POLLIN ? srv.fd : srv.tls_fd, NULL, NULL)) < 0)
			continue;
		if (!(p[0].revents & POLLIN)) {
			/* A client that refuses the certificate ends the handshake: nothing to
			 * serve. */
			ssl = SSL_new(srv.tls);
			if (ssl == NULL || SSL_set_fd(ssl, c) != 1 || SSL_accept(ssl) != 1) {
				SSL_free(ssl);
				close(c);
				continue;
			}
		}
		serve_one(c, ssl);
		if (ssl != NULL)
			SSL_shutdown(ssl);
		SSL_free(ssl);
		close(c);
	}
	return NULL;
}

/* A socket listening on 127.0.0.1, its port in *port. */
static int
listen_loopback(unsigned short *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/*
 * A self-signed certificate for the names in san ("DNS:localhost"), written
 * as PEM to the test's tls.pem: the server's and the CA file clients trust.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	FILE *f;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"pdp test", -1,
	                           -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	f = fopen(test_path("tls.pem"), "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	X509_NAME_free(name);
	return x;
}

static void
serve_start(EVP_PKEY *tls_key)
{
	X509 *cert = make_cert(tls_key, "DNS:localhost");

	srv.fd = listen_loopback(&srv.port);
	srv.tls_fd = listen_loopback(&srv.tls_port);
	srv.tls = SSL_CTX_new(TLS_server_method());
	assert_non_null(srv.tls);
	assert_int_equal(SSL_CTX_use_certificate(srv.tls, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(srv.tls, tls_key), 1);
	X509_free(cert);
	atomic_store(&srv.stop, false);
	assert_int_equal(pthread_create(&srv.thread, NULL, serve_main, NULL), 0);
}

static void
serve_stop(void)
{
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	close(srv.tls_fd);
	SSL_CTX_free(srv.tls);
	for (int i = 0; i < ROUTES; i++) {
		free(srv.routes[i].body);
		srv.routes[i] = (struct route){.body = NULL};
	}
}

/* Serves body at path with status (and extra header lines); hits start at 0 for a new path. */
static void
route(int i, const char *path, int status, const char *headers, const char *body)
{
	pthread_mutex_lock(&srv.mu);
	if (strcmp(srv.routes[i].path, path) != 0)
		atomic_store(&srv.routes[i].hits, 0);
	snprintf(srv.routes[i].path, sizeof(srv.routes[i].path), "%s", path);
	srv.routes[i].status = status;
	snprintf(srv.routes[i].headers, sizeof(srv.routes[i].headers), "%s", headers);
	free(srv.routes[i].body);
	srv.routes[i].body = strdup(body);
	pthread_mutex_unlock(&srv.mu);
}

static int
hits(int i)
{
	return atomic_load(&srv.routes[i].hits);
}

/* ---- Keys, configs and waiting. ---- */

static EVP_PKEY *key_a, *key_b, *key_c;

/* {"keys":[...]} of up to two keys; the caller frees. */
static char *
jwks(EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2, const char *kid2)
{
	char *j1 = keytool_public_jwk(k1, kid1, NULL);
	char *j2 = k2 != NULL ? keytool_public_jwk(k2, kid2, NULL) : NULL;
	char *doc = NULL;

	assert_non_null(j1);
	assert_true(asprintf(&doc, "{\"keys\":[%s%s%s]}", j1, j2 ? "," : "", j2 ? j2 : "") > 0);
	free(j1);
	free(j2);
	return doc;
}

struct world {
	struct config *cfg;
	struct keyring *kr;
	struct key_fetch *f;
	char err[512];
};

/* A config of one issuer whose key lines are keys, "PORT" there the server's port; hits from 0. */
static void
world_new(struct world *w, const char *keys)
{
	char text[1024];
	const char *at = strstr(keys, "PORT");
	int n;

	n = snprintf(text, sizeof(text),
	             "issuers:\n  - issuer: http://127.0.0.1:%u\n    audiences: [a]\n%.*s",
	             srv.port, at != NULL ? (int)(at - keys) : (int)strlen(keys), keys);
	if (at != NULL)
		snprintf(text + n, sizeof(text) - (size_t)n, "%u%s", srv.port, at + 4);
	for (int i = 0; i < ROUTES; i++)
		atomic_store(&srv.routes[i].hits, 0);
	w->cfg = config_load(test_write_file("fetch.yaml", text), w->err, sizeof(w->err));
	if (w->cfg == NULL)
		fail_msg("%s", w->err);
	w->kr = keyring_new(w->cfg->issuers, w->cfg->n_issuers, 0, w->err, sizeof(w->err));
	if (w->kr == NULL)
		fail_msg("%s", w->err);
	w->f = NULL;
}

static void
world_free(struct world *w)
{
	key_fetch_stop(w->f);
	keyring_free(w->kr);
	config_free(w->cfg);
}

static struct keyring_status
status(struct world *w)
{
	struct keyring_status st;

	keyring_status(w->kr, 0, &st);
	return st;
}

/* Whether the issuer's current set holds a key named kid. */
static bool
has_kid(struct world *w, const char *kid)
{
	const struct keyset *ks;
	bool found = false;

	keyring_enter(w->kr, 0);
	ks = keyring_keys(w->kr, 0);
	for (size_t i = 0; ks != NULL && i < ks->n; i++)
		found |= ks->keys[i].kid != NULL && strcmp(ks->keys[i].kid, kid) == 0;
	keyring_exit(w->kr, 0);
	return found;
}

/* "Eventually": polls cond for up to 20 s, which only a hung fetcher misses. */
#define EVENTUALLY(cond)                                                                           \
	do {                                                                                       \
		int64_t until_ = clock_ms() + 20000;                                               \
		while (!(cond) && clock_ms() < until_)                                             \
			clock_sleep_ms(10);                                                        \
		if (!(cond))                                                                       \
			fail_msg("never: %s", #cond);                                              \
	} while (0)

/* ---- Tests ---- */

static void
keys_arrive_in_the_ring(void **state)
{
	struct world w;
	char *doc = jwks(key_a, "a", key_b, "b");

	(void)state;
	route(0, "/jwks", 200, "", doc);
	world_new(&w, "    jwks_uri: http://127.0.0.1:PORT/jwks\n");
	assert_false(status(&w).has_keys); /* fetched keys arrive later, not at the ring's start */
	w.f = key_fetch_start(w.kr, w.err, sizeof(w.err));
	assert_non_null(w.f);
	EVENTUALLY(status(&w).has_keys);
	assert_int_equal(status(&w).n_keys, 2);
	assert_true(has_kid(&w, "a") && has_kid(&w, "b"));
	assert_int_equal(status(&w).last_result, KEYS_OK);
	assert_int_equal(status(&w).attempts[KEYS_OK], 1);
	world_free(&w);
	free(doc);
}

static void
discovery_then_keys(void **state)
{
	struct world w;
	char disc[512], *doc = jwks(key_a, "a", NULL, NULL);

	(void)state;
	snprintf(disc, sizeof(disc),
	         "{\"issuer\":\"http://127.0.0.1:%u\",\"jwks_uri\":\"http://127.0.0.1:%u/k/v2\","
	         "\"response_types_supported\":[\"code\"]}",
	         srv.port, srv.port);
	route(0, "/.well-known/openid-configuration", 200, "", disc);
	route(1, "/k/v2", 200, "", doc);
	world_new(&w, "    discovery: true\n");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), 0);
	assert_true(has_kid(&w, "a"));
	assert_int_equal(hits(0), 1);
	assert_int_equal(hits(1), 1);

	/* A document naming another issuer: invalid, both named, the keys kept. */
	route(0, "/.well-known/openid-configuration", 200, "",
	      "{\"issuer\":\"https://evil.example.com\",\"jwks_uri\":\"https://evil.example.com/"
	      "k\"}");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "\"https://evil.example.com\" is not the configured"));
	assert_int_equal(status(&w).last_result, KEYS_INVALID);
	assert_non_null(strstr(status(&w).last_error, "is not the configured"));
	assert_int_equal(hits(1), 1); /* its jwks_uri never fetched */
	assert_true(has_kid(&w, "a"));
	/* A jwks_uri outside the URL rule is not fetched either. */
	snprintf(disc, sizeof(disc),
	         "{\"issuer\":\"http://127.0.0.1:%u\",\"jwks_uri\":\"http://idp.example.com/k\"}",
	         srv.port);
	route(0, "/.well-known/openid-configuration", 200, "", disc);
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "must be https://"));
	assert_int_equal(status(&w).last_result, KEYS_INVALID);
	world_free(&w);
	free(doc);
}

/* Each failure is classified and reported, and the last good keys stay. */
static void
failures_keep_the_last_keys(void **state)
{
	struct world w;
	char *doc = jwks(key_a, "a", NULL, NULL), *big;
	struct keyring_status st;

	(void)state;
	route(0, "/jwks", 200, "", doc);
	world_new(&w, "    jwks_uri: http://127.0.0.1:PORT/jwks\n");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), 0);
	assert_true(has_kid(&w, "a"));

	route(0, "/jwks", 404, "", "not here");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "HTTP status 404"));
	st = status(&w);
	assert_int_equal(st.last_result, KEYS_HTTP_STATUS);
	assert_true(st.has_keys);
	assert_true(has_kid(&w, "a"));

	route(0, "/jwks", 302, "Location: http://127.0.0.1/elsewhere\r\n", "");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "redirects are not followed"));
	assert_int_equal(status(&w).last_result, KEYS_HTTP_STATUS);

	route(0, "/jwks", 200, "", "{\"keys\":[");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_int_equal(status(&w).last_result, KEYS_INVALID);
	route(0, "/jwks", 200, "", "{\"keys\":[]}");
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_int_equal(status(&w).last_result, KEYS_INVALID);

	/* Past 1 MiB: cut off, invalid. */
	big = malloc(1100000);
	assert_non_null(big);
	memset(big, ' ', 1099999);
	big[0] = '{';
	big[1099998] = '}';
	big[1099999] = '\0';
	route(0, "/jwks", 200, "", big);
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "larger than"));
	assert_int_equal(status(&w).last_result, KEYS_INVALID);
	/* An error page that long is still the error status. */
	route(0, "/jwks", 500, "", big);
	free(big);
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "HTTP status 500"));
	assert_int_equal(status(&w).last_result, KEYS_HTTP_STATUS);

	st = status(&w);
	assert_true(has_kid(&w, "a"));
	assert_int_equal(st.attempts[KEYS_OK], 1);
	assert_int_equal(st.attempts[KEYS_HTTP_STATUS], 3);
	assert_int_equal(st.attempts[KEYS_INVALID], 3);
	world_free(&w);
	free(doc);
}

static void
network_and_tls_failures(void **state)
{
	struct world w;
	char text[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);

	(void)state;
	/* A port bound and not listening: connection refused. */
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(text, sizeof(text),
	         "issuers:\n  - issuer: http://127.0.0.1\n    audiences: [a]\n"
	         "    jwks_uri: http://127.0.0.1:%u/jwks\n"
	         "  - issuer: https://localhost\n    audiences: [a]\n"
	         "    jwks_uri: https://127.0.0.1:%u/jwks\n",
	         ntohs(a.sin_port), srv.port);
	w.cfg = config_load(test_write_file("net.yaml", text), w.err, sizeof(w.err));
	assert_non_null(w.cfg);
	w.kr = keyring_new(w.cfg->issuers, w.cfg->n_issuers, 0, w.err, sizeof(w.err));
	assert_non_null(w.kr);
	w.f = NULL;
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_non_null(strstr(w.err, "issuer \"http://127.0.0.1\""));
	assert_int_equal(status(&w).last_result, KEYS_NETWORK);
	assert_false(status(&w).has_keys);
	{
		/* TLS spoken to a plain HTTP server: the handshake fails. */
		struct keyring_status st;

		keyring_status(w.kr, 1, &st);
		assert_int_equal(st.last_result, KEYS_TLS);
		assert_false(st.has_keys);
	}
	close(fd);
	world_free(&w);
}

/* TLS: verified against tls_ca_file, or the system's store; the host name too. */
static void
tls_is_verified(void **state)
{
	struct world w;
	char text[1024], *doc = jwks(key_a, "a", NULL, NULL);
	struct keyring_status st;

	(void)state;
	route(0, "/jwks", 200, "", doc);
	atomic_store(&srv.routes[0].hits, 0);
	snprintf(text, sizeof(text),
	         "issuers:\n"
	         "  - issuer: https://localhost/ca\n    audiences: [a]\n"
	         "    jwks_uri: https://localhost:%u/jwks\n    tls_ca_file: tls.pem\n"
	         "  - issuer: https://localhost/system\n    audiences: [a]\n"
	         "    jwks_uri: https://localhost:%u/jwks\n"
	         "  - issuer: https://localhost/other-name\n    audiences: [a]\n"
	         "    jwks_uri: https://127.0.0.1:%u/jwks\n    tls_ca_file: tls.pem\n",
	         srv.tls_port, srv.tls_port, srv.tls_port);
	/* The config's directory is the test's: tls.pem resolves beside it. */
	w.cfg = config_load(test_write_file("tls.yaml", text), w.err, sizeof(w.err));
	if (w.cfg == NULL)
		fail_msg("%s", w.err);
	w.kr = keyring_new(w.cfg->issuers, w.cfg->n_issuers, 0, w.err, sizeof(w.err));
	assert_non_null(w.kr);
	w.f = NULL;
	assert_int_equal(key_fetch_once(w.kr, w.err, sizeof(w.err)), -1);
	assert_true(has_kid(&w, "a"));
	assert_int_equal(status(&w).last_result, KEYS_OK);
	/* Not trusted by the system's store. */
	keyring_status(w.kr, 1, &st);
	assert_int_equal(st.last_result, KEYS_TLS);
	assert_false(st.has_keys);
	/* Trusted, but not issued for 127.0.0.1. */
	keyring_status(w.kr, 2, &st);
	assert_int_equal(st.last_result, KEYS_TLS);
	assert_false(st.has_keys);
	assert_int_equal(hits(0), 1);
	world_free(&w);
	free(doc);
}

/* A shorter Cache-Control max-age brings the next fetch forward (floored at jwks_min_refetch). */
static void
max_age_is_honoured(void **state)
{
	struct world w;
	char *doc = jwks(key_a, "a", NULL, NULL);

	(void)state;
	route(0, "/jwks", 200, "Cache-Control: public, max-age=0\r\n", doc);
	world_new(&w, "    jwks_uri: http://127.0.0.1:PORT/jwks\n"
	              "    jwks_refresh: 24h\n    jwks_min_refetch: 1s\n");
	w.f = key_fetch_start(w.kr, w.err, sizeof(w.err));
	assert_non_null(w.f);
	/* Without max-age the next fetch would be a day away. */
	EVENTUALLY(hits(0) >= 3);
	assert_true(has_kid(&w, "a"));
	world_free(&w);
	free(doc);
}

/* Many tokens with unknown kids: one refetch. */
static void
refetch_is_single_flight(void **state)
{
	struct world w;
	char *doc = jwks(key_a, "a", NULL, NULL), *doc2 = jwks(key_a, "a", key_b, "b");
	int asked = 0;

	(void)state;
	route(0, "/jwks", 200, "", doc);
	world_new(&w, "    jwks_uri: http://127.0.0.1:PORT/jwks\n"
	              "    jwks_refresh: 24h\n    jwks_min_refetch: 1h\n");
	w.f = key_fetch_start(w.kr, w.err, sizeof(w.err));
	assert_non_null(w.f);
	EVENTUALLY(has_kid(&w, "a"));
	assert_int_equal(hits(0), 1);
	/* The issuer rotates: tokens signed by b arrive before the next refresh. */
	route(0, "/jwks", 200, "", doc2);
	for (int i = 0; i < 200; i++)
		asked += keyring_want_refetch(w.kr, 0, clock_ns());
	assert_int_equal(asked, 1);
	EVENTUALLY(has_kid(&w, "b"));
	assert_int_equal(hits(0), 2);
	for (int i = 0; i < 200; i++)
		asked += keyring_want_refetch(w.kr, 0, clock_ns());
	assert_int_equal(asked, 1);
	/* SIGHUP refetches at once. */
	key_fetch_reread(w.f);
	EVENTUALLY(hits(0) == 3);
	world_free(&w);
	free(doc);
	free(doc2);
}

/* A failed fetch is retried (backoff from 1s) until it succeeds. */
static void
failures_are_retried(void **state)
{
	struct world w;
	char *doc = jwks(key_a, "a", NULL, NULL);

	(void)state;
	route(0, "/jwks", 503, "", "busy");
	world_new(&w, "    jwks_uri: http://127.0.0.1:PORT/jwks\n    jwks_refresh: 24h\n");
	w.f = key_fetch_start(w.kr, w.err, sizeof(w.err));
	assert_non_null(w.f);
	EVENTUALLY(status(&w).attempts[KEYS_HTTP_STATUS] >= 1);
	assert_false(status(&w).has_keys);
	route(0, "/jwks", 200, "", doc);
	EVENTUALLY(status(&w).has_keys);
	assert_int_equal(status(&w).last_result, KEYS_OK);
	world_free(&w);
	free(doc);
}

/* Writes text to dir/name through a temporary file renamed over it, as deploy tools do. */
static void
replace_file(const char *path, const char *text)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0);
}

static void
key_files_are_watched(void **state)
{
	struct world w;
	char *doc_a = jwks(key_a, "a", NULL, NULL), *doc_b = jwks(key_b, "b", NULL, NULL);
	char *doc_c = jwks(key_c, "c", NULL, NULL), dir[400], path[512], text[1024];
	char data1[512], data2[512], link[600], tmp[600];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", test_path("watched"));
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	replace_file(path, doc_a);
	snprintf(text, sizeof(text), "    jwks_file: %s\n", path);
	world_new(&w, text);
	assert_true(has_kid(&w, "a"));
	w.f = key_fetch_start(w.kr, w.err, sizeof(w.err));
	assert_non_null(w.f);

	/* Renamed over: picked up without a restart. */
	replace_file(path, doc_b);
	EVENTUALLY(has_kid(&w, "b"));
	assert_false(has_kid(&w, "a"));

	/* An invalid file keeps the last good keys, and says so. */
	replace_file(path, "{\"keys\":");
	EVENTUALLY(status(&w).attempts[KEYS_INVALID] >= 1);
	assert_true(has_kid(&w, "b"));
	assert_int_equal(status(&w).last_result, KEYS_INVALID);

	/* A symlink swap, as Kubernetes updates a ConfigMap: ..data points elsewhere. */
	snprintf(data1, sizeof(data1), "%s/d1", dir);
	snprintf(data2, sizeof(data2), "%s/d2", dir);
	assert_int_equal(mkdir(data1, 0700), 0);
	assert_int_equal(mkdir(data2, 0700), 0);
	snprintf(tmp, sizeof(tmp), "%s/jwks.json", data1);
	replace_file(tmp, doc_a);
	snprintf(tmp, sizeof(tmp), "%s/jwks.json", data2);
	replace_file(tmp, doc_c);
	snprintf(link, sizeof(link), "%s/..data", dir);
	assert_int_equal(symlink("d1", link), 0);
	unlink(path);
	assert_int_equal(symlink("..data/jwks.json", path), 0);
	EVENTUALLY(has_kid(&w, "a"));
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
	assert_int_equal(symlink("d2", tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	EVENTUALLY(has_kid(&w, "c"));
	assert_false(has_kid(&w, "a"));
	assert_int_equal(status(&w).last_result, KEYS_OK);

	/* Gone: the last keys stay, and the failure is a file's. */
	unlink(path);
	EVENTUALLY(status(&w).last_result == KEYS_FILE);
	assert_true(has_kid(&w, "c"));
	/* SIGHUP rereads even when nothing moved. */
	assert_int_equal(symlink("..data/jwks.json", path), 0);
	EVENTUALLY(status(&w).last_result == KEYS_OK);
	{
		uint64_t ok = status(&w).attempts[KEYS_OK];

		key_fetch_reread(w.f);
		EVENTUALLY(status(&w).attempts[KEYS_OK] == ok + 1);
	}
	world_free(&w);
	free(doc_a);
	free(doc_b);
	free(doc_c);
}

static int
setup(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_ERROR);
	/* The test's server writes to clients that may have hung up. */
	signal(SIGPIPE, SIG_IGN);
	key_a = keytool_generate("p256");
	key_b = keytool_generate("p256");
	key_c = keytool_generate("rsa");
	serve_start(key_b);
	return key_a == NULL || key_b == NULL || key_c == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	serve_stop();
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_c);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keys_arrive_in_the_ring),
	    cmocka_unit_test(discovery_then_keys),
	    cmocka_unit_test(failures_keep_the_last_keys),
	    cmocka_unit_test(network_and_tls_failures),
	    cmocka_unit_test(tls_is_verified),
	    cmocka_unit_test(max_age_is_honoured),
	    cmocka_unit_test(refetch_is_single_flight),
	    cmocka_unit_test(failures_are_retried),
	    cmocka_unit_test(key_files_are_watched),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
