/* discovery.c - OpenID Connect Discovery documents, the fetchable-URL rule and Cache-Control */
#include "identity/discovery.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json_doc.h"
#include "core/log.h"
#include "core/netaddr.h"

#define WELL_KNOWN "/.well-known/openid-configuration"

/* host (len bytes, brackets of an IPv6 literal removed) names this machine. */
static bool
host_is_loopback(const char *host, size_t len)
{
	char buf[64];
	struct netaddr a;

	if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
		return true;
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (netaddr_parse(buf, &a) != 0)
		return false;
	if (a.family == 4)
		return a.bytes[0] == 127;
	for (int i = 0; i < 15; i++)
		if (a.bytes[i] != 0)
			return false;
	return a.bytes[15] == 1;
}

int
discovery_check_url(const char *url, char *why, size_t whysz)
{
	static const char rule[] =
	    "must be https:// (http:// only to a loopback address: 127.0.0.0/8, [::1], localhost)";
	bool tls = strncasecmp(url, "https://", 8) == 0;
	const char *host, *end, *h_end;

	if (!tls && strncasecmp(url, "http://", 7) != 0) {
		snprintf(why, whysz, "%s", rule);
		return -1;
	}
	for (const char *s = url; *s; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			snprintf(why, whysz, "must not hold spaces or control characters");
			return -1;
		}
	}
	host = url + (tls ? 8 : 7);
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)) != NULL) {
		snprintf(why, whysz, "must not hold credentials (user@host)");
		return -1;
	}
	if (*host == '[') {
		h_end = memchr(host, ']', (size_t)(end - host));
		if (h_end == NULL) {
			snprintf(why, whysz, "has an IPv6 host without its closing \"]\"");
			return -1;
		}
		host++;
	} else {
		h_end = memchr(host, ':', (size_t)(end - host));
		if (h_end == NULL)
			h_end = end;
	}
	if (h_end == host) {
		snprintf(why, whysz, "names no host");
		return -1;
	}
	if (!tls && !host_is_loopback(host, (size_t)(h_end - host))) {
		snprintf(why, whysz, "%s", rule);
		return -1;
	}
	return 0;
}

char *
discovery_url(const char *issuer)
{
	size_t n = strlen(issuer);
	char *url;

	if (n > 0 && issuer[n - 1] == '/')
		n--;
	url = malloc(n + sizeof(WELL_KNOWN));
	if (url == NULL)
		return NULL;
	memcpy(url, issuer, n);
	memcpy(url + n, WELL_KNOWN, sizeof(WELL_KNOWN));
	return url;
}

int
discovery_parse(char *text, size_t len, const char *issuer, char **jwks_uri, char *err,
                size_t errsz)
{
	struct jdoc *d = jdoc_new();
	const struct jdoc_val *iss, *uri;
	enum jdoc_err je;
	char shown[160], why[160];
	int rc = -1;

	*jwks_uri = NULL;
	if (d == NULL) {
		snprintf(err, errsz, "discovery document: out of memory");
		return -1;
	}
	if ((je = jdoc_parse(d, text, len)) != JDOC_OK) {
		snprintf(err, errsz, "discovery document: %s", jdoc_strerror(je));
		goto out;
	}
	iss = jdoc_get(d, "issuer", 6);
	if (iss == NULL || iss->kind != JDOC_STRING) {
		snprintf(err, errsz, "discovery document: no \"issuer\" string");
		goto out;
	}
	/* OIDC Discovery 1.0 §4.3: exactly the issuer asked for, or a mix-up is possible. */
	if (iss->len != strlen(issuer) || memcmp(iss->str, issuer, iss->len) != 0) {
		snprintf(err, errsz,
		         "discovery document: its issuer \"%s\" is not the configured \"%s\"",
		         log_escape_n(shown, sizeof(shown), iss->str, iss->len), issuer);
		goto out;
	}
	uri = jdoc_get(d, "jwks_uri", 8);
	if (uri == NULL) {
		snprintf(err, errsz, "discovery document: no \"jwks_uri\"");
		goto out;
	}
	if (uri->kind != JDOC_STRING) {
		snprintf(err, errsz, "discovery document: \"jwks_uri\" is not a string");
		goto out;
	}
	if (discovery_check_url(uri->str, why, sizeof(why)) != 0) {
		snprintf(err, errsz, "discovery document: jwks_uri \"%s\" %s",
		         log_escape_n(shown, sizeof(shown), uri->str, uri->len), why);
		goto out;
	}
	if ((*jwks_uri = strdup(uri->str)) == NULL) {
		snprintf(err, errsz, "discovery document: out of memory");
		goto out;
	}
	rc = 0;
out:
	jdoc_free(d);
	return rc;
}

/* Case-insensitive: whether the directive d (len bytes) is name. */
static bool
directive_is(const char *d, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(d, name, len) == 0;
}

int64_t
discovery_max_age(const char *cache_control)
{
	int64_t best = -1;
	const char *s = cache_control;

	while (s != NULL && *s != '\0') {
		size_t len = strcspn(s, ",");
		const char *next = s[len] == ',' ? s + len + 1 : s + len;

		while (len > 0 && (*s == ' ' || *s == '\t'))
			s++, len--;
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (directive_is(s, len, "no-store") || directive_is(s, len, "no-cache")) {
			best = 0;
		} else if (len > 8 && strncasecmp(s, "max-age=", 8) == 0) {
			const char *v = s + 8, *v_end = s + len;
			int64_t n = 0;

			/* RFC 9111 §5.2: delta-seconds, which senders may quote. */
			if (v_end - v >= 2 && *v == '"' && v_end[-1] == '"')
				v++, v_end--;
			if (v == v_end)
				goto next;
			for (const char *c = v; c < v_end; c++) {
				if (*c < '0' || *c > '9')
					goto next;
				if (n < INT32_MAX)
					n = n * 10 + (*c - '0');
			}
			if (n > INT32_MAX)
				n = INT32_MAX;
			if (best < 0 || n < best)
				best = n;
		}
	next:
		s = next;
	}
	return best;
}
