#include "tls-verify.h"

#include <openssl/pem.h>

/* A self-signed certificate and the pin of its key, computed with
 * openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
 */
static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIBejCCASGgAwIBAgIUVS1hMBNK+qt3RlKo1OAAA5C5k4wwCgYIKoZIzj0EAwIw\n"
                               "EzERMA8GA1UEAwwIcGluLnRlc3QwHhcNMjYxMTIzMjE1MTIwWhcNMzYxMTIwMjE1\n"
                               "MTIwWjATMREwDwYDVQQDDAhwaW4udGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
                               "A0IABDuFjg0AmGUXaNK0k4DqAoxYdUfhFvvLPzM1ou7XdwTWafPbifATHUMouCV3\n"
                               "nruC15ceXyBq+BTRJraNML/wKr2jUzBRMB0GA1UdDgQWBBTM0lulZ+7SxpMXpfes\n"
                               "cyx6/9ZxXjAfBgNVHSMEGDAWgBTM0lulZ+7SxpMXpfescyx6/9ZxXjAPBgNVHRMB\n"
                               "Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIAhj0JzVjxKLVQbo3gNWcan1tCm+\n"
                               "oUCHqMUtOzV6BhTLAiAaC2gOxwhL+Cp0mzCM/6GyaqPyhA/z0cgHp7s+y6tVqw==\n"
                               "-----END CERTIFICATE-----\n";
static const char cert_pin[] = "jOmTwUrS6mHpXRTfttyKjGNPEGnj8dN/AbVjh4veXqo=";

static X509 *
load_cert (void)
{
  BIO *bio = BIO_new_mem_buf (cert_pem, -1);
  X509 *cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);

  BIO_free (bio);
  g_assert_nonnull (cert);
  return cert;
}

static void
test_pin_matches (void)
{
  X509 *cert = load_cert ();
  char *one[] = { (char *) cert_pin, NULL };
  char *other[] = { (char *) "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL };
  char *both[] = { other[0], (char *) cert_pin, NULL };
  char *none[] = { NULL };

  g_assert_true (wsb_tls_pin_matches (cert, one));
  g_assert_true (wsb_tls_pin_matches (cert, both));
  g_assert_false (wsb_tls_pin_matches (cert, other));
  g_assert_false (wsb_tls_pin_matches (cert, none));
  X509_free (cert);
}

/* The chain check through a real X509_STORE_CTX: the self-signed leaf fails
 * OpenSSL's verification unless insecure, and pins decide at the leaf. */
static int
run_check (WsbTlsCheck *check)
{
  X509 *cert = load_cert ();
  X509_STORE *store = X509_STORE_new ();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new ();
  int verdict;

  X509_STORE_CTX_init (ctx, store, cert, NULL);
  verdict = X509_verify_cert (ctx) == 1 ? 0 : 1;
  if (verdict)
    {
      /* What OpenSSL hands the verify callback for a failed leaf. */
      X509_STORE_CTX_set_current_cert (ctx, cert);
      X509_STORE_CTX_set_error_depth (ctx, 0);
      verdict = wsb_tls_check_certificate (check, ctx, 0);
    }
  X509_STORE_CTX_free (ctx);
  X509_STORE_free (store);
  X509_free (cert);
  return verdict;
}

static void
test_untrusted_fails_with_reason (void)
{
  WsbTlsCheck check = { 0 };

  wsb_tls_check_reset (&check, FALSE, NULL);
  g_assert_cmpint (run_check (&check), ==, 1);
  g_assert_cmpstr (check.failure, ==, "TLS: self-signed certificate");
  wsb_tls_check_clear (&check);
}

static void
test_insecure_accepts_but_pins_still_count (void)
{
  WsbTlsCheck check = { 0 };
  char *good[] = { (char *) cert_pin, NULL };
  char *bad[] = { (char *) "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL };

  wsb_tls_check_reset (&check, TRUE, NULL);
  g_assert_cmpint (run_check (&check), ==, 0);
  g_assert_null (check.failure);

  wsb_tls_check_reset (&check, TRUE, good);
  g_assert_cmpint (run_check (&check), ==, 0);
  g_assert_true (check.pin_matched);

  wsb_tls_check_reset (&check, TRUE, bad);
  g_assert_cmpint (run_check (&check), ==, 1);
  g_assert_cmpstr (check.failure, ==, "TLS: certificate pin mismatch");
  wsb_tls_check_clear (&check);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tls-verify/pin-matches", test_pin_matches);
  g_test_add_func ("/tls-verify/untrusted-fails-with-reason", test_untrusted_fails_with_reason);
  g_test_add_func ("/tls-verify/insecure-accepts-but-pins-still-count",
                   test_insecure_accepts_but_pins_still_count);
  return g_test_run ();
}
