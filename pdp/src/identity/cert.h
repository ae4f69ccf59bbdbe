/* cert.h - a device's identity from the client certificate nginx passes */
#ifndef PDP_CERT_H
#define PDP_CERT_H

/* Hex SHA-256 plus NUL. */
#define CERT_THUMBPRINT_SIZE 65

/*
 * Writes the device id of the certificate in escaped_pem (nginx's
 * $ssl_client_escaped_cert: a URL-escaped PEM certificate): the lowercase
 * hex SHA-256 of its DER, as `openssl x509 -outform DER | sha256sum` prints
 * it. Returns 0, or -1 when it holds no PEM certificate.
 */
int cert_thumbprint(const char *escaped_pem, char out[CERT_THUMBPRINT_SIZE]);

#endif
