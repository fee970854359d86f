#include "tls-client.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "tls-verify.h"
#include "wsb-error.h"

struct _WsbTlsClient
{
  SSL *ssl;
  BIO *in;  /* the server's bytes, read by OpenSSL */
  BIO *out; /* OpenSSL's bytes for the server */
  WsbTlsCheck check;
  guint8 first[5]; /* the server's first bytes, to recognise a non-TLS server */
  gsize first_len;
  gboolean handshake_done;
  gboolean renegotiation_asked; /* a HelloRequest after the handshake (TLS 1.2) */
  char *failure;
};

#define RENEGOTIATION_REFUSED "TLS: the server asked to renegotiate TLS, which wsbridge refuses"

static int ex_index = -1;

/* OpenSSL's error queue is per thread, shared by every connection and
 * context of the daemon: it is emptied before each call that can fail
 * (tls_call_begin) and drained by whoever reads it, so that a reason is
 * always this connection's own. */
static void
tls_call_begin (void)
{
  ERR_clear_error ();
}

/* One queued error as text: a system error as strerror, else OpenSSL's reason. */
static char *
error_entry_text (unsigned long e)
{
  const char *reason;

  if (ERR_SYSTEM_ERROR (e))
    return g_strdup (g_strerror (ERR_GET_REASON (e)));
  reason = ERR_reason_error_string (e);
  if (reason)
    return g_strdup (reason);
  {
    char buf[256];
    ERR_error_string_n (e, buf, sizeof buf);
    return g_strdup (buf);
  }
}

/* The reason of the failed call, and the queue drained: the first error it
 * queued is the cause, later ones are its consequences. */
static char *
openssl_error_text (void)
{
  unsigned long first = ERR_get_error ();

  ERR_clear_error ();
  return first ? error_entry_text (first) : g_strdup ("no reason given by OpenSSL");
}

SSL_CTX *
wsb_tls_context_new (const char *ca_file, const char *cert_file, const char *key_file,
                     GError **error)
{
  SSL_CTX *ctx;
  gboolean ok;

  tls_call_begin ();
  ctx = SSL_CTX_new (TLS_client_method ());
  if (!ctx)
    {
      g_autofree char *why = openssl_error_text ();
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "TLS: cannot set up OpenSSL: %s", why);
      return NULL;
    }
  SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
  /* A TLS 1.2 renegotiation (a server's HelloRequest) is declined with a
   * no_renegotiation alert and ends the connection with a named reason
   * (RENEGOTIATION_REFUSED): completing one would mean a handshake in the
   * middle of the byte stream, and with it a possible change of identity.
   * TLS 1.3 KeyUpdate is not a renegotiation and keeps working. */
  SSL_CTX_set_options (ctx, SSL_OP_NO_RENEGOTIATION);
  ok = ca_file ? SSL_CTX_load_verify_locations (ctx, ca_file, NULL) == 1
               : SSL_CTX_set_default_verify_paths (ctx) == 1;
  if (!ok)
    {
      g_autofree char *why = openssl_error_text ();
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "TLS: cannot load the CA file %s: %s",
                   ca_file ? ca_file : "(system store)", why);
      SSL_CTX_free (ctx);
      return NULL;
    }
  if (cert_file
      && (SSL_CTX_use_certificate_chain_file (ctx, cert_file) != 1
          || SSL_CTX_use_PrivateKey_file (ctx, key_file ? key_file : cert_file, SSL_FILETYPE_PEM)
                 != 1
          || SSL_CTX_check_private_key (ctx) != 1))
    {
      g_autofree char *why = openssl_error_text ();
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "TLS: cannot load the client certificate %s: %s", cert_file, why);
      SSL_CTX_free (ctx);
      return NULL;
    }
  ERR_clear_error (); /* what succeeded may still have queued something */
  return ctx;
}

static int
verify_cb (int preverify_ok, X509_STORE_CTX *x)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data (x, SSL_get_ex_data_X509_STORE_CTX_idx ());
  WsbTlsClient *tc = ssl ? SSL_get_ex_data (ssl, ex_index) : NULL;

  if (!tc)
    return preverify_ok;
  return wsb_tls_check_certificate (&tc->check, x, preverify_ok) == 0;
}

/* Notices a server's HelloRequest (TLS 1.2 renegotiation) once the
 * handshake is done; OpenSSL itself declines it (SSL_OP_NO_RENEGOTIATION). */
static void
msg_cb (int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
        void *arg)
{
  WsbTlsClient *tc = arg;

  (void) version;
  (void) ssl;
  if (!write_p && content_type == SSL3_RT_HANDSHAKE && len >= 1
      && ((const guint8 *) buf)[0] == SSL3_MT_HELLO_REQUEST && tc->handshake_done)
    tc->renegotiation_asked = TRUE;
}

WsbTlsClient *
wsb_tls_client_new (SSL_CTX *ctx, const char *host, gboolean insecure, char *const *pins)
{
  WsbTlsClient *tc = g_new0 (WsbTlsClient, 1);
  static const unsigned char alpn[] = "\x08http/1.1";

  if (ex_index < 0)
    ex_index = SSL_get_ex_new_index (0, NULL, NULL, NULL, NULL);
  tc->ssl = SSL_new (ctx);
  tc->in = BIO_new (BIO_s_mem ());
  tc->out = BIO_new (BIO_s_mem ());
  BIO_set_mem_eof_return (tc->in, -1);
  BIO_set_mem_eof_return (tc->out, -1);
  SSL_set_bio (tc->ssl, tc->in, tc->out);
  SSL_set_ex_data (tc->ssl, ex_index, tc);
  SSL_set_connect_state (tc->ssl);
  SSL_set_verify (tc->ssl, SSL_VERIFY_PEER, verify_cb);
  SSL_set_alpn_protos (tc->ssl, alpn, sizeof alpn - 1);
  SSL_set_msg_callback (tc->ssl, msg_cb);
  SSL_set_msg_callback_arg (tc->ssl, tc);
  wsb_tls_check_reset (&tc->check, insecure, pins);
  if (g_hostname_is_ip_address (host))
    X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (tc->ssl), host);
  else
    {
      SSL_set_tlsext_host_name (tc->ssl, host);
      SSL_set1_host (tc->ssl, host);
      /* RFC 9525 §6.3, as browsers, Go and curl: a wildcard is only a whole
       * left-most label, and a certificate without DNS names in its
       * subjectAltName matches no name (its CN is not looked at). */
      SSL_set_hostflags (tc->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS
                                      | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    }
  return tc;
}

void
wsb_tls_client_free (WsbTlsClient *tc)
{
  if (!tc)
    return;
  SSL_free (tc->ssl); /* frees both BIOs */
  wsb_tls_check_clear (&tc->check);
  g_free (tc->failure);
  g_free (tc);
}

void
wsb_tls_client_push (WsbTlsClient *tc, const guint8 *data, gsize len)
{
  if (tc->first_len < sizeof tc->first)
    {
      gsize take = MIN (len, sizeof tc->first - tc->first_len);
      memcpy (tc->first + tc->first_len, data, take);
      tc->first_len += take;
    }
  BIO_write (tc->in, data, (int) len);
}

/* Why the handshake failed, most specific first. */
static char *
describe_handshake_failure (WsbTlsClient *tc, int ssl_error)
{
  int reason = ERR_GET_REASON (ERR_peek_error ());
  g_autofree char *text = NULL;

  if (tc->check.failure)
    return g_strdup (tc->check.failure);
  if (tc->first_len >= 5 && memcmp (tc->first, "HTTP/", 5) == 0)
    return g_strdup ("TLS handshake failed: the server answered in plain HTTP, not TLS "
                     "(is it a ws:// server?)");
  if (tc->first_len > 0 && tc->first[0] != 0x16 && tc->first[0] != 0x15)
    return g_strdup ("TLS handshake failed: the server did not answer TLS (is it a ws:// "
                     "server?)");
  if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
    return g_strdup ("TLS: the server requires a client certificate (see tls_cert_file)");
  if (reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)
    return g_strdup ("TLS handshake failed: the server refused it (no common cipher or "
                     "version, or it wants a client certificate: see tls_cert_file)");
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN)
    return g_strdup ("TLS handshake failed: the server closed the connection");
  text = openssl_error_text ();
  return g_strdup_printf ("TLS handshake failed: %s", text);
}

static void
set_failure (WsbTlsClient *tc, char *why)
{
  g_free (tc->failure);
  tc->failure = why;
}

WsbTlsStatus
wsb_tls_client_handshake (WsbTlsClient *tc)
{
  int rc, err;

  tls_call_begin ();
  rc = SSL_do_handshake (tc->ssl);
  if (rc == 1)
    {
      tc->handshake_done = TRUE;
      return WSB_TLS_DONE;
    }
  err = SSL_get_error (tc->ssl, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
    return WSB_TLS_AGAIN;
  set_failure (tc, describe_handshake_failure (tc, err));
  ERR_clear_error ();
  return WSB_TLS_FAILED;
}

WsbTlsStatus
wsb_tls_client_read (WsbTlsClient *tc, guint8 *buf, gsize cap, gsize *n)
{
  size_t got = 0;
  int err;

  *n = 0;
  tls_call_begin ();
  if (SSL_read_ex (tc->ssl, buf, cap, &got) == 1)
    {
      *n = got;
      return WSB_TLS_DONE;
    }
  err = SSL_get_error (tc->ssl, 0);
  if (tc->renegotiation_asked)
    {
      ERR_clear_error ();
      set_failure (tc, g_strdup (RENEGOTIATION_REFUSED));
      return WSB_TLS_FAILED;
    }
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
    return WSB_TLS_AGAIN;
  if (err == SSL_ERROR_ZERO_RETURN)
    return WSB_TLS_CLOSED;
  if (ERR_GET_REASON (ERR_peek_error ()) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
    {
      ERR_clear_error ();
      set_failure (tc, g_strdup ("TLS: the server requires a client certificate (see "
                                 "tls_cert_file)"));
      return WSB_TLS_FAILED;
    }
  {
    g_autofree char *text = openssl_error_text ();
    set_failure (tc, g_strdup_printf ("TLS: %s", text));
  }
  return WSB_TLS_FAILED;
}

gboolean
wsb_tls_client_write (WsbTlsClient *tc, const guint8 *data, gsize len)
{
  size_t written = 0;

  if (len == 0)
    return TRUE;
  tls_call_begin ();
  if (SSL_write_ex (tc->ssl, data, len, &written) == 1 && written == len)
    return TRUE;
  if (tc->renegotiation_asked)
    {
      ERR_clear_error ();
      set_failure (tc, g_strdup (RENEGOTIATION_REFUSED));
      return FALSE;
    }
  {
    g_autofree char *text = openssl_error_text ();
    set_failure (tc, g_strdup_printf ("TLS: cannot encrypt: %s", text));
  }
  return FALSE;
}

gsize
wsb_tls_client_pending_output (WsbTlsClient *tc)
{
  return (gsize) BIO_ctrl_pending (tc->out);
}

void
wsb_tls_client_pull (WsbTlsClient *tc, GByteArray *out)
{
  gsize pending = wsb_tls_client_pending_output (tc);
  guint start = out->len;
  int n;

  if (!pending)
    return;
  g_byte_array_set_size (out, (guint) (start + pending));
  n = BIO_read (tc->out, out->data + start, (int) pending);
  g_byte_array_set_size (out, start + (guint) MAX (n, 0));
}

const char *
wsb_tls_client_failure (WsbTlsClient *tc)
{
  return tc->failure;
}
