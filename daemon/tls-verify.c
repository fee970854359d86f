#include "tls-verify.h"

#include <openssl/evp.h>

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

int
wsb_tls_check_certificate (WsbTlsCheck *check, X509_STORE_CTX *ctx, int preverify_ok)
{
  int err = X509_STORE_CTX_get_error (ctx);
  X509 *cert = X509_STORE_CTX_get_current_cert (ctx);

  if (!preverify_ok && err != X509_V_OK)
    {
      if (!check->insecure)
        {
          if (!check->failure)
            check->failure = g_strdup_printf ("TLS: %s", X509_verify_cert_error_string (err));
          return 1;
        }
      X509_STORE_CTX_set_error (ctx, X509_V_OK);
    }
  if (!check->pins)
    return 0;
  /* A pin may name any certificate of the chain; the leaf comes last. */
  if (cert && wsb_tls_pin_matches (cert, check->pins))
    check->pin_matched = TRUE;
  if (X509_STORE_CTX_get_error_depth (ctx) == 0 && !check->pin_matched)
    {
      g_free (check->failure);
      check->failure = g_strdup ("TLS: certificate pin mismatch");
      X509_STORE_CTX_set_error (ctx, X509_V_ERR_APPLICATION_VERIFICATION);
      return 1;
    }
  return 0;
}
