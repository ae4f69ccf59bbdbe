/* cert.c - a device's identity from the client certificate nginx passes */
#include "identity/cert.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"

/* A client certificate chain nginx passes is a few KiB; more is refused. */
#define CERT_MAX_BYTES 16384

static const char begin[] = "-----BEGIN CERTIFICATE-----";
static const char end[] = "-----END CERTIFICATE-----";

/* %XX-decodes src into dst (room for dstsz); returns the length or -1. */
static long
url_decode(char *dst, size_t dstsz, const char *src)
{
	size_t o = 0;

	for (; *src != '\0'; src++) {
		char c = *src;

		if (c == '%') {
			int hi = hex_value(src[1]), lo = hi >= 0 ? hex_value(src[2]) : -1;

			if (lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			src += 2;
		}
		if (o + 1 >= dstsz)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (long)o;
}

int
cert_thumbprint(const char *escaped_pem, char out[CERT_THUMBPRINT_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	char *pem = malloc(CERT_MAX_BYTES);
	unsigned char *der = malloc(CERT_MAX_BYTES), md[SHA256_DIGEST_LENGTH];
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	const char *body, *stop;
	int n = 0, last = 0, rc = -1;

	if (pem == NULL || der == NULL || ctx == NULL ||
	    url_decode(pem, CERT_MAX_BYTES, escaped_pem) < 0)
		goto out;
	/* The first certificate is the client's own; the rest of a chain is its issuers. */
	if ((body = strstr(pem, begin)) == NULL || (stop = strstr(body, end)) == NULL)
		goto out;
	body += sizeof(begin) - 1;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, der, &n, (const unsigned char *)body, (int)(stop - body)) < 0 ||
	    EVP_DecodeFinal(ctx, der + n, &last) < 0 || n + last == 0)
		goto out;
	SHA256(der, (size_t)(n + last), md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * SHA256_DIGEST_LENGTH] = '\0';
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(pem);
	free(der);
	return rc;
}
