/* What the three parts of a WebSocket client connection share: ws-client.c
 * (its life: connect, the lws callback, close and drop, every end reported
 * once), ws-client-input.c (what the server sends: the proxy's answer, TLS,
 * the upgrade reply, frames) and ws-client-output.c (what goes out: framing
 * and masking, control frames, batched writes). */
#pragma once

#include <libwebsockets.h>

#include "tls-client.h"
#include "ws-client.h"
#include "ws-deflate.h"
#include "ws-frame.h"
#include "ws-handshake.h"
#include "ws-rx.h"

/* Bytes framed per write before the owner is asked to wait. */
#define TX_BATCH (64 * 1024)
/* Plaintext read from TLS per step. */
#define TLS_READ_CHUNK (64 * 1024)
/* How long a close handshake may take before the connection is dropped. */
#define CLOSE_GRACE_S 3
/* Room in our close frames' reason: 125 minus the code. */
#define CLOSE_TEXT_MAX 123

/* Pings answered each (RFC 6455 §5.5.3 lets a client answer only the last;
 * every mature client answers all): at most this many pongs wait for a
 * write, then the oldest unanswered one is given up for the newest. */
#define WS_MAX_PENDING_PONGS 16

typedef enum
{
  PHASE_TCP,     /* connecting */
  PHASE_PROXY,   /* CONNECT sent, waiting for the proxy's answer */
  PHASE_TLS,     /* TLS handshake */
  PHASE_UPGRADE, /* upgrade request sent, waiting for 101 */
  PHASE_OPEN,
  PHASE_CLOSING, /* our close frame is out or going: waiting for the server's */
} Phase;

struct _WsbWsClient
{
  WsbUpstream *up;
  struct lws *wsi;
  const WsbWsClientEvents *events; /* NULL once abandoned */
  gpointer user_data;
  Phase phase;
  gboolean connecting; /* inside lws_client_connect_via_info */
  gboolean destroyed;  /* lws destroyed the wsi during it */
  gboolean ended;

  guint64 rx_bytes;       /* from the socket, for keepalive */
  GString *proxy_request; /* CONNECT through a proxy, until it is written; NULL direct */
  SSL_CTX *ssl_ctx;
  char *tls_host;
  gboolean tls_insecure;
  char **tls_pins;
  GString *request; /* the upgrade request, until it is written */
  char *key;
  char *subprotocols;
  gboolean compression;
  guint64 max_message_bytes;

  WsbTlsClient *tls;
  GByteArray *head; /* an HTTP reply head being read (proxy, then upgrade) */
  WsbWsRx *rx;
  WsbDeflater *deflater;
  GByteArray *scratch; /* compressed copy of the message being framed */
  WsbWsMaskGen masks;

  GByteArray *plain; /* framed bytes before TLS (TLS connections only) */
  GByteArray *wire;  /* bytes for lws_write, after LWS_PRE spare bytes */
  /* Pongs owed, in order, each a length byte and its payload; NULL when none
   * (allocated only while pings wait for their answer). */
  GByteArray *pongs;
  guint n_pongs;
  gboolean ping_due;
  gboolean close_due; /* a close frame is to be written */
  gboolean close_sent;
  guint16 close_code;
  char *close_text;
  gboolean drop_after_write; /* the protocol failed: close TCP once the close frame is out */
  gboolean hang_up;          /* return -1 from the current callback */

  guint grace_source; /* a close handshake's deadline */
  char *end_reason;   /* the most specific reason so far */
};

/* ws-client.c */
/* Keeps the first, most specific reason for the end. */
void ws_client_set_reason (WsbWsClient *c, const char *why);
/* Shuts the socket down under lws, which then reports the close at once. */
void ws_client_hang_up_now (WsbWsClient *c);
/* The close handshake has CLOSE_GRACE_S to complete. */
void ws_client_start_grace (WsbWsClient *c);

/* ws-client-input.c */
void ws_client_on_connected (WsbWsClient *c);
void ws_client_on_bytes (WsbWsClient *c, const guint8 *data, gsize len);

/* ws-client-output.c */
/* Bytes for the server (through TLS once it is up); asks for a write. */
void ws_client_queue_raw (WsbWsClient *c, const void *data, gsize len);
/* Queues a close frame with code; text is cut to what fits. */
void ws_client_queue_close (WsbWsClient *c, guint16 code, const char *text);
/* LWS_CALLBACK_RAW_WRITEABLE: -1 to close the connection. */
int ws_client_on_writeable (WsbWsClient *c);
