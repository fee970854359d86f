/* One WebSocket client connection: a raw libwebsockets socket on the GLib
 * loop carrying, in order, an HTTP CONNECT tunnel (with a proxy), TLS
 * (tls-client.c), the upgrade (ws-handshake.c), then frames (ws-rx.c for
 * what comes in, ws-frame.c for what goes out), and the close handshake.
 * It knows nothing of sessions: its owner gives it an address and the
 * request, feeds it what to send when it may write, and hears of messages,
 * pongs and the end. lws 4.1.6's own WebSocket client hides protocol
 * violations and close codes from its user (HACKING.md), hence this.
 *
 * Lifetime: lws may call back for a connection until it destroys it, which
 * can be long after the owner lost interest; the object lives until then
 * (or until the upstream is freed) and the owner's pointer is only valid
 * until `ended` or wsb_ws_client_abandon. */
#pragma once

#include <glib.h>
#include <openssl/ssl.h>

#include "upstream.h"
#include "ws-rx.h"

typedef struct _WsbWsClient WsbWsClient;

typedef struct
{
  /* The upgrade completed. */
  void (*open) (WsbWsClient *c, gpointer user_data);
  /* A whole inbound message, valid during the call (its block may be
   * taken: ws-rx.h). */
  void (*message) (WsbWsClient *c, WsbWsMessage *msg, gpointer user_data);
  void (*pong) (WsbWsClient *c, gpointer user_data);
  /* Every message of one read from the socket was delivered (the owner may
   * flush what they made it queue, at once rather than a loop turn later). */
  void (*read_done) (WsbWsClient *c, gpointer user_data);
  /* The connection may take more data: call wsb_ws_client_send while
   * wsb_ws_client_has_room says so. */
  void (*writable) (WsbWsClient *c, gpointer user_data);
  /* The connection is over, on every path, exactly once; the object must
   * not be used afterwards. */
  void (*ended) (WsbWsClient *c, const char *reason, gpointer user_data);
  /* TCP is up (to the server or the proxy), before anything is sent: the
   * owner racing several addresses (RFC 8305) takes this one and drops the
   * others. */
  void (*connected) (WsbWsClient *c, gpointer user_data);
} WsbWsClientEvents;

typedef struct
{
  const char *address; /* numeric IP to connect to: the server's, or the proxy's */
  guint16 port;
  const char *tunnel;         /* "host:port" to CONNECT to through the proxy, or NULL */
  const char *proxy_userinfo; /* "user:password" for the proxy, or NULL; secret */
  SSL_CTX *tls;               /* NULL: plain ws:// */
  const char *tls_host;       /* name (or IP) the certificate must match */
  gboolean tls_insecure;
  char *const *tls_pins;
  const char *path, *host_header, *origin, *subprotocols;
  char *const *headers;      /* from the config */
  char *const *auth_headers; /* token_file / auth_command; secret */
  gboolean compression;
  guint64 max_message_bytes;
} WsbWsClientParams;

/* Starts connecting. NULL with error when lws refuses at once; `ended` is
 * never called from inside this function. */
WsbWsClient *wsb_ws_client_connect (WsbUpstream *up, const WsbWsClientParams *params,
                                    const WsbWsClientEvents *events, gpointer user_data,
                                    GError **error);

/* TRUE while the outgoing buffer is below its batch size. */
gboolean wsb_ws_client_has_room (WsbWsClient *c);
/* Frames one message (compressed when permessage-deflate is on) for the
 * next write; only while open, from `writable`. */
void wsb_ws_client_send (WsbWsClient *c, const guint8 *data, gsize len, gboolean binary);
/* Asks for a `writable` call soon. */
void wsb_ws_client_want_write (WsbWsClient *c);
/* Sends a ping (ahead of data). */
void wsb_ws_client_ping (WsbWsClient *c);
/* Clean close: the close frame goes out, the server's answer is awaited
 * for a few seconds, then the connection ends. Before the upgrade it just
 * ends. reason: text for the close frame and for `ended`. */
void wsb_ws_client_close (WsbWsClient *c, guint16 code, const char *reason);
/* Ends the connection now, without a close frame (dead peer, timeout). */
void wsb_ws_client_drop (WsbWsClient *c, const char *reason);
/* The owner lets go: no more events; the connection is dropped. */
void wsb_ws_client_abandon (WsbWsClient *c);

gboolean wsb_ws_client_is_open (WsbWsClient *c);
/* How the server closed the connection: its close code, 0 when it sent no
 * close frame, and its reason (*reason, "" without one; valid until the
 * client is freed). */
guint16 wsb_ws_client_peer_close (WsbWsClient *c, const char **reason);
/* Bytes received from the server so far (any: TLS records, partial frames):
 * proof of life for keepalive, which a frame in progress delays the pong of. */
guint64 wsb_ws_client_rx_bytes (WsbWsClient *c);
/* What a connection that is not open yet waits for ("the TLS handshake"),
 * for timeout reasons; NULL once open. */
const char *wsb_ws_client_waiting_for (WsbWsClient *c);

/* The lws protocol callback of every connection (registered by upstream.c). */
struct lws;
int wsb_ws_client_lws_callback (struct lws *wsi, int reason, void *user, void *in, size_t len);
