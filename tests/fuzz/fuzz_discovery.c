/* fuzz_discovery.c - libFuzzer target: an issuer line, then any bytes as its discovery document */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t line = nl != NULL ? (size_t)(nl - data) : size;
	char *issuer = malloc(line + 1), *doc, *url, *uri = NULL;
	size_t doc_len = nl != NULL ? size - line - 1 : 0;
	char err[512], why[160];

	if (issuer == NULL || (doc = malloc(doc_len + 1)) == NULL)
		abort();
	memcpy(issuer, data, line);
	issuer[line] = '\0';
	memcpy(doc, data + size - doc_len, doc_len);
	/* The first line also serves as a URL to check and as a Cache-Control value. */
	(void)discovery_check_url(issuer, why, sizeof(why));
	if (discovery_max_age(issuer) < -1)
		abort();
	if ((url = discovery_url(issuer)) == NULL)
		abort();
	if (discovery_parse(doc, doc_len, issuer, &uri, err, sizeof(err)) == 0) {
		/* What is taken passes the URL rule. */
		if (uri == NULL || discovery_check_url(uri, why, sizeof(why)) != 0)
			abort();
		free(uri);
	} else if (uri != NULL || err[0] == '\0') {
		abort();
	}
	free(url);
	free(doc);
	free(issuer);
	return 0;
}
