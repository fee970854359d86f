/* The certificate check of one TLS connection, on top of OpenSSL's own:
 * tls_insecure, SPKI pins, and a readable reason for the state. */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

typedef struct
{
  gboolean insecure; /* accept whatever OpenSSL refused */
  char *const *pins; /* base64 SHA-256 of SubjectPublicKeyInfo, or NULL */
  gboolean pin_matched;
  char *failure; /* "TLS: ..." once the check failed */
} WsbTlsCheck;

/* Starts a new connection's check. */
void wsb_tls_check_reset (WsbTlsCheck *check, gboolean insecure, char *const *pins);
void wsb_tls_check_clear (WsbTlsCheck *check);

/* OpenSSL's verify step for one certificate of the chain (leaf last):
 * returns 0 to accept, 1 to fail (check->failure says why). Pins are
 * matched at the leaf: against the verified chain, or under insecure
 * against the leaf alone. */
int wsb_tls_check_certificate (WsbTlsCheck *check, X509_STORE_CTX *ctx, int preverify_ok);

/* TRUE when the SHA-256 of cert's SubjectPublicKeyInfo is one of pins. */
gboolean wsb_tls_pin_matches (X509 *cert, char *const *pins);
