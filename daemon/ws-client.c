#include "ws-client.h"

#include <libwebsockets.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls-client.h"
#include "ws-deflate.h"
#include "ws-frame.h"
#include "ws-handshake.h"
#include "ws-rx.h"
#include "wsb-error.h"

/* Bytes framed per write before the owner is asked to wait. */
#define TX_BATCH (64 * 1024)
/* Plaintext read from TLS per step. */
#define TLS_READ_CHUNK (64 * 1024)
/* How long a close handshake may take before the connection is dropped. */
#define CLOSE_GRACE_S 3
/* Room in our close frames' reason: 125 minus the code. */
#define CLOSE_TEXT_MAX 123

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

  char *tunnel;
  char *proxy_userinfo;
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
  guint8 pong[WSB_WS_MAX_CONTROL];
  gsize pong_len;
  gboolean pong_due;
  gboolean ping_due;
  gboolean close_due; /* a close frame is to be written */
  gboolean close_sent;
  guint16 close_code;
  char *close_text;
  gboolean drop_after_write; /* the protocol failed: close TCP once the close frame is out */
  gboolean hang_up;          /* return -1 from the current callback */

  guint grace_source; /* a close handshake's deadline */
  char *end_reason; /* the most specific reason so far */
};

static void
set_reason (WsbWsClient *c, const char *why)
{
  if (!c->end_reason)
    c->end_reason = g_strdup (why);
}

static void
client_free (gpointer data)
{
  WsbWsClient *c = data;

  g_free (c->tunnel);
  g_free (c->proxy_userinfo);
  if (c->ssl_ctx)
    SSL_CTX_free (c->ssl_ctx);
  g_free (c->tls_host);
  g_strfreev (c->tls_pins);
  if (c->request)
    g_string_free (c->request, TRUE);
  g_free (c->key);
  g_free (c->subprotocols);
  wsb_tls_client_free (c->tls);
  if (c->head)
    g_byte_array_unref (c->head);
  wsb_ws_rx_free (c->rx);
  wsb_deflater_free (c->deflater);
  if (c->scratch)
    g_byte_array_unref (c->scratch);
  if (c->plain)
    g_byte_array_unref (c->plain);
  g_byte_array_unref (c->wire);
  g_free (c->close_text);
  g_free (c->end_reason);
  if (c->grace_source)
    g_source_remove (c->grace_source);
  g_free (c);
}

/* Closes the socket under lws: it sees the hang-up at once and reports the
 * close like any other. (A timeout set with lws_set_timeout from outside an
 * lws callback is not noticed by lws 4.1.6 on the GLib loop until its next
 * event, and a dead peer makes none.) */
static void
hang_up_now (WsbWsClient *c)
{
  int fd = c->wsi ? lws_get_socket_fd (c->wsi) : -1;

  if (!c->wsi)
    return;
  if (fd < 0 || shutdown (fd, SHUT_RDWR) < 0)
    {
      lws_set_timeout (c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
      lws_callback_on_writable (c->wsi);
    }
}

static gboolean
on_grace_over (gpointer data)
{
  WsbWsClient *c = data;

  c->grace_source = 0;
  hang_up_now (c);
  return G_SOURCE_REMOVE;
}

/* The close handshake has CLOSE_GRACE_S to complete. */
static void
start_grace (WsbWsClient *c)
{
  if (!c->grace_source)
    c->grace_source = g_timeout_add_seconds (CLOSE_GRACE_S, on_grace_over, c);
}

/* ------------------------------------------------------------ output */

/* Where frames go: straight to the wire, or through TLS first. */
static GByteArray *
frame_buffer (WsbWsClient *c)
{
  return c->tls ? c->plain : c->wire;
}

static void
queue_raw (WsbWsClient *c, const void *data, gsize len)
{
  if (c->tls && c->phase > PHASE_TLS)
    wsb_tls_client_write (c->tls, data, len);
  else
    g_byte_array_append (c->wire, data, (guint) len);
  lws_callback_on_writable (c->wsi);
}

static void
append_frame (WsbWsClient *c, guint8 opcode, gboolean rsv1, const guint8 *payload, gsize len)
{
  guint8 mask[4];

  wsb_ws_mask_gen_next (&c->masks, mask);
  wsb_ws_frame_append (frame_buffer (c), opcode, rsv1, payload, len, mask);
}

static gsize
framed_bytes (WsbWsClient *c)
{
  return frame_buffer (c)->len - (c->tls ? 0 : LWS_PRE);
}

gboolean
wsb_ws_client_has_room (WsbWsClient *c)
{
  return framed_bytes (c) < TX_BATCH;
}

void
wsb_ws_client_send (WsbWsClient *c, const guint8 *data, gsize len, gboolean binary)
{
  guint8 opcode = binary ? WSB_WS_OP_BINARY : WSB_WS_OP_TEXT;

  if (c->phase != PHASE_OPEN)
    return;
  /* An empty message goes out uncompressed, which RFC 7692 allows. */
  if (c->deflater && len > 0)
    {
      wsb_deflater_compress (c->deflater, data, len, c->scratch);
      append_frame (c, opcode, TRUE, c->scratch->data, c->scratch->len);
      return;
    }
  append_frame (c, opcode, FALSE, data, len);
}

void
wsb_ws_client_want_write (WsbWsClient *c)
{
  if (c->wsi && !c->ended)
    lws_callback_on_writable (c->wsi);
}

void
wsb_ws_client_ping (WsbWsClient *c)
{
  if (c->phase != PHASE_OPEN)
    return;
  c->ping_due = TRUE;
  wsb_ws_client_want_write (c);
}

/* Control frames first: a pong, our ping, the close frame. */
static void
frame_controls (WsbWsClient *c)
{
  if (c->pong_due && !c->close_sent)
    {
      append_frame (c, WSB_WS_OP_PONG, FALSE, c->pong, c->pong_len);
      c->pong_due = FALSE;
    }
  if (c->ping_due && c->phase == PHASE_OPEN)
    {
      append_frame (c, WSB_WS_OP_PING, FALSE, NULL, 0);
      c->ping_due = FALSE;
    }
  if (c->close_due && !c->close_sent)
    {
      guint8 payload[2 + CLOSE_TEXT_MAX];
      gsize tlen = c->close_text ? strlen (c->close_text) : 0;

      payload[0] = (guint8) (c->close_code >> 8);
      payload[1] = (guint8) c->close_code;
      memcpy (payload + 2, c->close_text, tlen);
      append_frame (c, WSB_WS_OP_CLOSE, FALSE, payload, 2 + tlen);
      c->close_due = FALSE;
      c->close_sent = TRUE;
    }
}

static int
on_writeable (WsbWsClient *c)
{
  int n;

  if (c->phase >= PHASE_OPEN)
    {
      frame_controls (c);
      if (c->phase == PHASE_OPEN && c->events && wsb_ws_client_has_room (c))
        c->events->writable (c, c->user_data);
    }
  if (c->tls && c->plain->len)
    {
      if (!wsb_tls_client_write (c->tls, c->plain->data, c->plain->len))
        {
          set_reason (c, wsb_tls_client_failure (c->tls));
          return -1;
        }
      g_byte_array_set_size (c->plain, 0);
    }
  if (c->tls)
    wsb_tls_client_pull (c->tls, c->wire);
  if (c->wire->len > LWS_PRE)
    {
      gsize len = c->wire->len - LWS_PRE;
      /* The owner stopped at the batch size, or a close is to follow:
       * come back (lws does once what it buffered is out). */
      gboolean more = len >= TX_BATCH || c->drop_after_write || c->close_due;

      n = lws_write (c->wsi, c->wire->data + LWS_PRE, len, LWS_WRITE_RAW);
      g_byte_array_set_size (c->wire, LWS_PRE);
      if (n < (int) len)
        {
          set_reason (c, "write to the server failed");
          return -1;
        }
      if (more)
        lws_callback_on_writable (c->wsi);
      return 0;
    }
  if (c->drop_after_write)
    return -1; /* the close frame is out: fail the connection */
  return 0;
}

/* ------------------------------------------------------------ input */

static void
on_rx_message (const guint8 *data, gsize len, gboolean binary, gpointer user_data)
{
  WsbWsClient *c = user_data;

  if (c->events)
    c->events->message (c, data, len, binary, c->user_data);
}

static void
on_rx_ping (const guint8 *data, gsize len, gpointer user_data)
{
  WsbWsClient *c = user_data;

  /* A newer ping replaces one not answered yet (RFC 6455 §5.5.3). */
  memcpy (c->pong, data, len);
  c->pong_len = len;
  c->pong_due = TRUE;
  lws_callback_on_writable (c->wsi);
}

static void
on_rx_pong (const guint8 *data, gsize len, gpointer user_data)
{
  WsbWsClient *c = user_data;

  if (c->events)
    c->events->pong (c, c->user_data);
}

static const WsbWsRxEvents rx_events = { on_rx_message, on_rx_ping, on_rx_pong };

/* Queues a close frame with code; text is cut to what fits, on a UTF-8
 * character boundary. */
static void
queue_close (WsbWsClient *c, guint16 code, const char *text)
{
  gsize len = text ? strlen (text) : 0;

  if (c->close_due || c->close_sent)
    return;
  if (len > CLOSE_TEXT_MAX)
    {
      const char *end = g_utf8_find_prev_char (text, text + CLOSE_TEXT_MAX + 1);
      len = end ? (gsize) (end - text) : 0;
    }
  g_free (c->close_text);
  c->close_text = g_strndup (text ? text : "", len);
  c->close_code = code;
  c->close_due = TRUE;
  lws_callback_on_writable (c->wsi);
}

/* Frames and the close handshake, once open. */
static void
feed_frames (WsbWsClient *c, const guint8 *data, gsize len)
{
  WsbWsRxStatus st = wsb_ws_rx_feed (c->rx, data, len);

  if (st == WSB_WS_RX_MORE)
    return;
  set_reason (c, wsb_ws_rx_reason (c->rx));
  if (st == WSB_WS_RX_FAILED)
    {
      queue_close (c, wsb_ws_rx_reply_code (c->rx), wsb_ws_rx_reason (c->rx));
      c->drop_after_write = TRUE;
      c->phase = PHASE_CLOSING;
      start_grace (c);
      return;
    }
  if (c->phase == PHASE_CLOSING && c->close_sent)
    {
      /* The answer to our close: done. */
      c->hang_up = TRUE;
      return;
    }
  /* The server closed: answer, then let it close the TCP connection. */
  queue_close (c, wsb_ws_rx_reply_code (c->rx), NULL);
  c->phase = PHASE_CLOSING;
  start_grace (c);
}

static void
fail_upgrade (WsbWsClient *c, char *why)
{
  set_reason (c, why);
  g_free (why);
  c->hang_up = TRUE;
}

/* The 101 arrived (r): check it, then start reading frames. */
static gboolean
upgrade_done (WsbWsClient *c, const WsbHttpReply *r)
{
  g_autofree char *protocol = NULL;
  g_autofree char *extensions = NULL;
  char *why = NULL;
  WsbDeflateParams params;
  gboolean deflate = FALSE;

  if (!wsb_ws_reply_check (r, c->key, c->subprotocols, &protocol, &extensions, &why)
      || !wsb_deflate_params_parse (extensions, c->compression, &deflate, &params, &why))
    {
      fail_upgrade (c, why);
      return FALSE;
    }
  c->rx = wsb_ws_rx_new (c->max_message_bytes, deflate ? wsb_inflater_new (&params) : NULL,
                         &rx_events, c);
  if (deflate)
    {
      c->deflater = wsb_deflater_new (&params);
      c->scratch = g_byte_array_new ();
    }
  c->phase = PHASE_OPEN;
  if (c->events)
    c->events->open (c, c->user_data);
  return TRUE;
}

/* Reads an HTTP reply head into c->head; TRUE with *r once complete, and
 * the bytes that followed it left in c->head. */
static gboolean
read_head (WsbWsClient *c, const guint8 *data, gsize len, WsbHttpReply *r, const char *what)
{
  char *why = NULL;
  WsbHttpParse p;

  g_byte_array_append (c->head, data, (guint) len);
  p = wsb_http_reply_parse (c->head->data, c->head->len, r, &why);
  if (p == WSB_HTTP_PARSE_MORE)
    return FALSE;
  if (p == WSB_HTTP_PARSE_ERROR)
    {
      fail_upgrade (c, g_strdup_printf ("%s: %s", what, why));
      g_free (why);
      return FALSE;
    }
  g_byte_array_remove_range (c->head, 0, (guint) r->header_bytes);
  return TRUE;
}

/* Plaintext from the server (after TLS). */
static void
on_plaintext (WsbWsClient *c, const guint8 *data, gsize len)
{
  WsbHttpReply r = { 0 };

  if (c->phase != PHASE_UPGRADE)
    {
      if (c->rx)
        feed_frames (c, data, len);
      return;
    }
  if (!read_head (c, data, len, &r, "WebSocket upgrade"))
    return;
  if (upgrade_done (c, &r) && c->head->len)
    {
      g_autoptr (GByteArray) rest = g_steal_pointer (&c->head);
      c->head = g_byte_array_new ();
      feed_frames (c, rest->data, rest->len);
    }
  wsb_http_reply_clear (&r);
}

static void
send_request (WsbWsClient *c)
{
  c->phase = PHASE_UPGRADE;
  queue_raw (c, c->request->str, c->request->len);
  g_string_free (g_steal_pointer (&c->request), TRUE);
}

static void
drain_tls (WsbWsClient *c)
{
  guint8 buf[TLS_READ_CHUNK];

  while (!c->hang_up)
    {
      gsize n = 0;
      WsbTlsStatus st = wsb_tls_client_read (c->tls, buf, sizeof buf, &n);

      if (st == WSB_TLS_AGAIN)
        break;
      if (st == WSB_TLS_CLOSED)
        {
          set_reason (c, c->phase == PHASE_OPEN ? "connection lost (TLS closed by the server)"
                                                : "the server closed TLS before the upgrade");
          c->hang_up = TRUE;
          break;
        }
      if (st == WSB_TLS_FAILED)
        {
          set_reason (c, wsb_tls_client_failure (c->tls));
          c->hang_up = TRUE;
          break;
        }
      on_plaintext (c, buf, n);
    }
}

static void
on_tls_bytes (WsbWsClient *c, const guint8 *data, gsize len)
{
  wsb_tls_client_push (c->tls, data, len);
  if (c->phase == PHASE_TLS)
    {
      WsbTlsStatus st = wsb_tls_client_handshake (c->tls);

      if (wsb_tls_client_pending_output (c->tls))
        lws_callback_on_writable (c->wsi);
      if (st == WSB_TLS_AGAIN)
        return;
      if (st == WSB_TLS_FAILED)
        {
          fail_upgrade (c, g_strdup (wsb_tls_client_failure (c->tls)));
          return;
        }
      send_request (c);
    }
  drain_tls (c);
}

static void
start_tls_or_upgrade (WsbWsClient *c)
{
  if (!c->ssl_ctx)
    {
      send_request (c);
      return;
    }
  c->phase = PHASE_TLS;
  c->tls = wsb_tls_client_new (c->ssl_ctx, c->tls_host, c->tls_insecure, c->tls_pins);
  c->plain = g_byte_array_new ();
  wsb_tls_client_handshake (c->tls);
  lws_callback_on_writable (c->wsi);
}

static void
on_proxy_bytes (WsbWsClient *c, const guint8 *data, gsize len)
{
  WsbHttpReply r = { 0 };
  g_autofree char *refused = NULL;
  g_autoptr (GByteArray) rest = NULL;

  if (!read_head (c, data, len, &r, "proxy"))
    return;
  refused = wsb_proxy_reply_check (&r);
  wsb_http_reply_clear (&r);
  if (refused)
    {
      fail_upgrade (c, g_steal_pointer (&refused));
      return;
    }
  rest = g_steal_pointer (&c->head);
  c->head = g_byte_array_new ();
  start_tls_or_upgrade (c);
  if (rest->len)
    {
      if (c->tls)
        on_tls_bytes (c, rest->data, rest->len);
      else
        on_plaintext (c, rest->data, rest->len);
    }
}

static void
on_connected (WsbWsClient *c)
{
  if (c->tunnel)
    {
      g_autoptr (GString) req = wsb_proxy_request_build (c->tunnel, c->proxy_userinfo);
      c->phase = PHASE_PROXY;
      queue_raw (c, req->str, req->len);
      return;
    }
  start_tls_or_upgrade (c);
}

static void
on_bytes (WsbWsClient *c, const guint8 *data, gsize len)
{
  if (c->phase == PHASE_PROXY)
    on_proxy_bytes (c, data, len);
  else if (c->tls)
    on_tls_bytes (c, data, len);
  else
    on_plaintext (c, data, len);
}

const char *
wsb_ws_client_waiting_for (WsbWsClient *c)
{
  switch (c->phase)
    {
    case PHASE_TCP:
      return "the TCP connect";
    case PHASE_PROXY:
      return "the proxy's answer to CONNECT";
    case PHASE_TLS:
      return "the TLS handshake";
    case PHASE_UPGRADE:
      return "the server's answer to the upgrade request";
    default:
      return NULL;
    }
}

/* ------------------------------------------------------------ the end */

static const char *
default_reason (WsbWsClient *c)
{
  switch (c->phase)
    {
    case PHASE_TCP:
      return "TCP connect failed";
    case PHASE_PROXY:
      return "proxy: closed the connection before answering CONNECT";
    case PHASE_TLS:
      return "TLS handshake failed: the server closed the connection";
    case PHASE_UPGRADE:
      return "connection closed before the WebSocket upgrade completed";
    case PHASE_OPEN:
      return "connection lost";
    case PHASE_CLOSING:
    default:
      return "connection closed";
    }
}

static void
end (WsbWsClient *c)
{
  const WsbWsClientEvents *events = c->events;

  if (c->ended)
    return;
  c->ended = TRUE;
  c->events = NULL;
  if (c->rx)
    wsb_ws_rx_stop (c->rx);
  if (events)
    events->ended (c, c->end_reason ? c->end_reason : default_reason (c), c->user_data);
}

int
wsb_ws_client_lws_callback (struct lws *wsi, int reason, void *user, void *in, size_t len)
{
  WsbWsClient *c = wsi ? lws_get_opaque_user_data (wsi) : NULL;

  if (!c)
    return 0;
  c->hang_up = FALSE;
  switch (reason)
    {
    case LWS_CALLBACK_RAW_CONNECTED:
      if (!c->ended)
        on_connected (c);
      break;

    case LWS_CALLBACK_RAW_RX:
      if (!c->ended)
        on_bytes (c, in, len);
      break;

    case LWS_CALLBACK_RAW_WRITEABLE:
      if (!c->ended && on_writeable (c) < 0)
        return -1;
      break;

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      if (in && *(const char *) in && g_strcmp0 (in, "Unable to connect") != 0)
        {
          g_autofree char *why = g_strdup_printf ("TCP connect failed: %s", (const char *) in);
          set_reason (c, why);
        }
      else
        set_reason (c, "TCP connect failed (connection refused or host unreachable)");
      end (c);
      break;

    case LWS_CALLBACK_RAW_CLOSE:
      end (c);
      break;

    case LWS_CALLBACK_WSI_DESTROY:
      end (c);
      lws_set_opaque_user_data (wsi, NULL);
      c->wsi = NULL;
      if (c->connecting)
        c->destroyed = TRUE; /* freed once lws_client_connect_via_info returns */
      else
        wsb_upstream_untrack (c->up, c);
      return 0;

    default:
      break;
    }
  return c->hang_up ? -1 : 0;
}

/* ------------------------------------------------------------ owner's API */

/* lws does not say why it could not make a socket; the usual reason is
 * the open-file limit, which a probe shows. */
static char *
fd_shortage (void)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int err = errno;

  if (fd >= 0)
    {
      close (fd);
      return NULL;
    }
  if (err != EMFILE && err != ENFILE)
    return NULL;
  return g_strdup_printf ("%s (the daemon's open-file limit is reached)", g_strerror (err));
}

WsbWsClient *
wsb_ws_client_connect (WsbUpstream *up, const WsbWsClientParams *p,
                       const WsbWsClientEvents *events, gpointer user_data, GError **error)
{
  static const lws_retry_bo_t no_keepalive = { 0 }; /* keepalive is the owner's */
  struct lws_client_connect_info ci;
  WsbWsClient *c = g_new0 (WsbWsClient, 1);
  WsbWsRequest req = { 0 };
  struct lws *wsi;
  int err;

  c->up = up;
  c->events = events;
  c->user_data = user_data;
  c->tunnel = g_strdup (p->tunnel);
  c->proxy_userinfo = g_strdup (p->proxy_userinfo);
  if (p->tls)
    {
      SSL_CTX_up_ref (p->tls);
      c->ssl_ctx = p->tls;
    }
  c->tls_host = g_strdup (p->tls_host);
  c->tls_insecure = p->tls_insecure;
  c->tls_pins = g_strdupv ((char **) p->tls_pins);
  c->key = wsb_ws_key_new ();
  c->subprotocols = g_strdup (p->subprotocols);
  c->compression = p->compression;
  c->max_message_bytes = p->max_message_bytes;
  c->head = g_byte_array_new ();
  c->wire = g_byte_array_sized_new (LWS_PRE + 4096);
  g_byte_array_set_size (c->wire, LWS_PRE);
  wsb_ws_mask_gen_init (&c->masks);

  req.path = p->path;
  req.host_header = p->host_header;
  req.origin = p->origin;
  req.subprotocols = p->subprotocols;
  req.extensions = p->compression ? WSB_DEFLATE_OFFER : NULL;
  req.headers = p->headers;
  req.auth_headers = p->auth_headers;
  req.key = c->key;
  c->request = wsb_ws_request_build (&req);

  memset (&ci, 0, sizeof ci);
  ci.context = wsb_upstream_get_context (up);
  ci.vhost = wsb_upstream_get_vhost (up);
  ci.address = p->address;
  ci.port = p->port;
  ci.host = p->address;
  ci.path = "/";
  ci.method = "RAW";
  ci.local_protocol_name = "wsbridge";
  ci.retry_and_idle_policy = &no_keepalive;
  ci.opaque_user_data = c;

  wsb_upstream_track (up, c, client_free);
  c->connecting = TRUE;
  errno = 0;
  wsi = lws_client_connect_via_info (&ci);
  err = errno;
  c->connecting = FALSE;
  if (wsi && !c->destroyed)
    {
      c->wsi = wsi;
      return c;
    }
  {
    g_autofree char *lws_error = wsb_upstream_take_error (up);
    g_autofree char *shortage = fd_shortage ();
    const char *why = shortage ? shortage : lws_error ? lws_error : err ? g_strerror (err) : NULL;
    g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot start a connection%s%s",
                 why ? ": " : "", why ? why : "");
  }
  c->events = NULL;
  c->ended = TRUE;
  /* A wsi that lws keeps (and destroys later) still points here: the
   * upstream frees this once lws lets go, or when it is freed itself. */
  if (c->destroyed)
    wsb_upstream_untrack (up, c);
  return NULL;
}

gboolean
wsb_ws_client_is_open (WsbWsClient *c)
{
  return c->phase == PHASE_OPEN;
}

void
wsb_ws_client_close (WsbWsClient *c, guint16 code, const char *reason)
{
  if (c->ended || !c->wsi)
    return;
  set_reason (c, reason);
  if (c->phase != PHASE_OPEN)
    {
      if (c->phase != PHASE_CLOSING)
        wsb_ws_client_drop (c, reason);
      return;
    }
  c->phase = PHASE_CLOSING;
  queue_close (c, code, reason);
  start_grace (c);
}

void
wsb_ws_client_drop (WsbWsClient *c, const char *reason)
{
  if (c->ended || !c->wsi)
    return;
  set_reason (c, reason);
  hang_up_now (c);
}

void
wsb_ws_client_abandon (WsbWsClient *c)
{
  c->events = NULL;
  if (c->rx)
    wsb_ws_rx_stop (c->rx);
  wsb_ws_client_drop (c, "abandoned");
}
