#include "tls-verify.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <string.h>

void
wsb_tls_check_reset (WsbTlsCheck *check, gboolean insecure, char *const *pins)
{
  g_clear_pointer (&check->failure, g_free);
  check->insecure = insecure;
  check->pins = pins && pins[0] ? pins : NULL;
  check->pin_matched = FALSE;
}

void
wsb_tls_check_clear (WsbTlsCheck *check)
{
  g_clear_pointer (&check->failure, g_free);
}

gboolean
wsb_tls_pin_matches (X509 *cert, char *const *pins)
{
  unsigned char *der = NULL;
  int len = i2d_X509_PUBKEY (X509_get_X509_PUBKEY (cert), &der);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  g_autofree char *b64 = NULL;
  gboolean ok;

  if (len <= 0)
    return FALSE;
  ok = EVP_Digest (der, (size_t) len, digest, &dlen, EVP_sha256 (), NULL);
  OPENSSL_free (der);
  if (!ok)
    return FALSE;
  b64 = g_base64_encode (digest, dlen);
  return g_strv_contains ((const char *const *) pins, b64);
}

/* Why a name check failed when the certificate is one that lenient
 * clients would have taken (RFC 9525 §6.3), else "". */
static const char *
name_mismatch_detail (X509 *leaf)
{
  GENERAL_NAMES *names = leaf ? X509_get_ext_d2i (leaf, NID_subject_alt_name, NULL, NULL) : NULL;
  const char *detail = " (the certificate has no DNS name in its subjectAltName, and its "
                       "common name is not checked: RFC 9525 §6.3)";

  for (int i = 0; names && i < sk_GENERAL_NAME_num (names); i++)
    {
      const GENERAL_NAME *n = sk_GENERAL_NAME_value (names, i);
      const char *dns;
      const char *star;

      if (n->type != GEN_DNS)
        continue;
      dns = (const char *) ASN1_STRING_get0_data (n->d.dNSName);
      star = strchr (dns, '*');
      detail = "";
      if (star && (star != dns || dns[1] != '.'))
        {
          detail = " (the certificate names a partial wildcard, which matches nothing: "
                   "RFC 9525 §6.3)";
          break;
        }
    }
  GENERAL_NAMES_free (names);
  return detail;
}

static gboolean
any_pinned (STACK_OF (X509) * certs, char *const *pins)
{
  for (int i = 0; certs && i < sk_X509_num (certs); i++)
    if (wsb_tls_pin_matches (sk_X509_value (certs, i), pins))
      return TRUE;
  return FALSE;
}

/* Pins are decided once, at the leaf (depth 0, OpenSSL's last call). With
 * verification on, a pin may name any certificate of the chain OpenSSL
 * built and verified (RFC 7469 §2.6), never one the server merely sent.
 * Under tls_insecure nothing is verified: a CA certificate in the server's
 * list proves nothing about the leaf (any key can name it as issuer), so
 * only the leaf's own key counts. */
static int
check_pins (WsbTlsCheck *check, X509_STORE_CTX *ctx)
{
  X509 *leaf = X509_STORE_CTX_get0_cert (ctx);

  if (check->insecure)
    check->pin_matched = leaf && wsb_tls_pin_matches (leaf, check->pins);
  else
    check->pin_matched = any_pinned (X509_STORE_CTX_get0_chain (ctx), check->pins);
  if (check->pin_matched)
    return 0;
  g_free (check->failure);
  check->failure
      = check->insecure && any_pinned (X509_STORE_CTX_get0_untrusted (ctx), check->pins)
            ? g_strdup ("TLS: certificate pin mismatch (with tls_insecure only the server's own "
                        "key may be pinned; the pin names a CA certificate it sent, which "
                        "proves nothing unverified)")
            : g_strdup ("TLS: certificate pin mismatch");
  X509_STORE_CTX_set_error (ctx, X509_V_ERR_APPLICATION_VERIFICATION);
  return 1;
}

int
wsb_tls_check_certificate (WsbTlsCheck *check, X509_STORE_CTX *ctx, int preverify_ok)
{
  int err = X509_STORE_CTX_get_error (ctx);

  if (!preverify_ok && err != X509_V_OK)
    {
      if (!check->insecure)
        {
          if (!check->failure)
            check->failure
                = g_strdup_printf ("TLS: %s%s", X509_verify_cert_error_string (err),
                                   err == X509_V_ERR_HOSTNAME_MISMATCH
                                       ? name_mismatch_detail (X509_STORE_CTX_get0_cert (ctx))
                                       : "");
          return 1;
        }
      X509_STORE_CTX_set_error (ctx, X509_V_OK);
    }
  if (!check->pins || X509_STORE_CTX_get_error_depth (ctx) != 0)
    return 0;
  return check_pins (check, ctx);
}
