/* TLS for one client connection with OpenSSL over memory BIOs: the
 * transport hands it the server's bytes and writes what it produces, so
 * TLS works the same over a direct socket and a proxy tunnel. Verification
 * is OpenSSL's (system store or tls_ca_file, host name or IP) plus
 * tls-verify.c's pins and tls_insecure; every failure gets a reason. */
#pragma once

#include <glib.h>
#include <openssl/ssl.h>

/* A client context: ca_file NULL means the system trust store; cert_file
 * and key_file a client certificate. */
SSL_CTX *wsb_tls_context_new (const char *ca_file, const char *cert_file, const char *key_file,
                              GError **error);

typedef struct _WsbTlsClient WsbTlsClient;

/* host: the server's name (SNI and name check) or IP literal (IP check). */
WsbTlsClient *wsb_tls_client_new (SSL_CTX *ctx, const char *host, gboolean insecure,
                                  char *const *pins);
void wsb_tls_client_free (WsbTlsClient *tc);

/* Bytes read from the server. */
void wsb_tls_client_push (WsbTlsClient *tc, const guint8 *data, gsize len);

typedef enum
{
  WSB_TLS_AGAIN,  /* needs more bytes from the server */
  WSB_TLS_DONE,   /* handshake complete / data read */
  WSB_TLS_FAILED, /* wsb_tls_client_failure says why */
  WSB_TLS_CLOSED, /* the server sent close_notify */
} WsbTlsStatus;

/* Advances the handshake with what was pushed. */
WsbTlsStatus wsb_tls_client_handshake (WsbTlsClient *tc);
/* Decrypts into buf: DONE with *n > 0 bytes, AGAIN when nothing is left. */
WsbTlsStatus wsb_tls_client_read (WsbTlsClient *tc, guint8 *buf, gsize cap, gsize *n);
/* Encrypts all of data (memory BIOs never block). */
gboolean wsb_tls_client_write (WsbTlsClient *tc, const guint8 *data, gsize len);
/* Appends the bytes to send to the server to out. */
void wsb_tls_client_pull (WsbTlsClient *tc, GByteArray *out);
/* Bytes waiting to be pulled. */
gsize wsb_tls_client_pending_output (WsbTlsClient *tc);

const char *wsb_tls_client_failure (WsbTlsClient *tc);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbTlsClient, wsb_tls_client_free)
