/* test_cert.c - a device's identity from the client certificate nginx passes */
#include <string.h>

#include "identity/cert.h"
#include "testlib.h"

/* --- client certificates -------------------------------------------------------------- */

static void
certificate_thumbprint(void **state)
{
	/* As nginx's $ssl_client_escaped_cert passes it; `openssl x509 -outform DER | sha256sum`.
	 */
	static const char escaped[] =
	    "-----BEGIN%20CERTIFICATE-----%0A"
	    "MIIBfDCCASGgAwIBAgIUBL6r9lOH9YpYJF%2BorlnC%2FyVdlvcwCgYIKoZIzj0EAwIw%0A"
	    "EzERMA8GA1UEAwwIZGV2aWNlLTEwHhcNMjYxMTIzMDc0NDIxWhcNMzYxMTIwMDc0%0A"
	    "NDIxWjATMREwDwYDVQQDDAhkZXZpY2UtMTBZMBMGByqGSM49AgEGCCqGSM49AwEH%0A"
	    "A0IABGtTVl4q%2FPrIhwe5EjizKe%2BpJESQyTq2RbeBu2dRbcDQBSc%2FUAfyFlzQRTBD%0A"
	    "kHK%2B0iikh7cELfKK%2FEwCy5YWnUWjUzBRMB0GA1UdDgQWBBS4PXw2ZnvmVTP1USi0%0A"
	    "QZXv0T9MjjAfBgNVHSMEGDAWgBS4PXw2ZnvmVTP1USi0QZXv0T9MjjAPBgNVHRMB%0A"
	    "Af8EBTADAQH%2FMAoGCCqGSM49BAMCA0kAMEYCIQCz5Mjx99tWeXWIZWoxFmIs2IYq%0A"
	    "nBZPUPuqTw3sgj%2FVRQIhAIJgW4zpgLYuZ56uikZstTI8XwLQHcR018eWqFFsuw5f%0A"
	    "-----END%20CERTIFICATE-----%0A";
	char out[CERT_THUMBPRINT_SIZE];

	(void)state;
	assert_int_equal(cert_thumbprint(escaped, out), 0);
	assert_string_equal(out,
	                    "f94161e4ed341f0969a608baa50477eda256778bafb356737bb6e95e2b56e52f");
	assert_int_equal(cert_thumbprint("not a certificate", out), -1);
	assert_int_equal(cert_thumbprint("-----BEGIN%20CERTIFICATE-----%0A%ZZ", out), -1);
	assert_int_equal(
	    cert_thumbprint("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----", out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(certificate_thumbprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
