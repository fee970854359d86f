/* What a connection receives, phase by phase: the proxy's answer to
 * CONNECT, TLS (handshake, then plaintext), the upgrade reply and its
 * checks, then frames for ws-rx.c and the close handshake they may start. */
#include "ws-client-private.h"

#include <string.h>

static void
on_rx_message (WsbWsMessage *msg, gpointer user_data)
{
  WsbWsClient *c = user_data;

  if (c->events)
    c->events->message (c, msg, c->user_data);
}

static void
on_rx_ping (const guint8 *data, gsize len, gpointer user_data)
{
  WsbWsClient *c = user_data;

  guint8 n = (guint8) len; /* a control payload is at most 125 bytes */

  if (!c->pongs)
    c->pongs = g_byte_array_new ();
  if (c->n_pongs == WS_MAX_PENDING_PONGS)
    {
      g_byte_array_remove_range (c->pongs, 0, 1u + c->pongs->data[0]);
      c->n_pongs--;
    }
  g_byte_array_append (c->pongs, &n, 1);
  g_byte_array_append (c->pongs, data, (guint) len);
  c->n_pongs++;
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

/* Frames and the close handshake, once open. */
static void
feed_frames (WsbWsClient *c, const guint8 *data, gsize len)
{
  WsbWsRxStatus st = wsb_ws_rx_feed (c->rx, data, len);

  if (st == WSB_WS_RX_MORE)
    return;
  ws_client_set_reason (c, wsb_ws_rx_reason (c->rx));
  if (st == WSB_WS_RX_FAILED)
    {
      ws_client_queue_close (c, wsb_ws_rx_reply_code (c->rx), wsb_ws_rx_reason (c->rx));
      c->drop_after_write = TRUE;
      c->phase = PHASE_CLOSING;
      ws_client_start_grace (c);
      return;
    }
  if (c->phase == PHASE_CLOSING && c->close_sent)
    {
      /* The answer to our close: done. */
      c->hang_up = TRUE;
      return;
    }
  /* The server closed: answer, then let it close the TCP connection. */
  ws_client_queue_close (c, wsb_ws_rx_reply_code (c->rx), NULL);
  c->phase = PHASE_CLOSING;
  ws_client_start_grace (c);
}

static void
fail_upgrade (WsbWsClient *c, char *why)
{
  ws_client_set_reason (c, why);
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
  ws_client_queue_raw (c, c->request->str, c->request->len);
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
          ws_client_set_reason (c, c->phase == PHASE_OPEN
                                       ? "connection lost (TLS closed by the server)"
                                       : "the server closed TLS before the upgrade");
          c->hang_up = TRUE;
          break;
        }
      if (st == WSB_TLS_FAILED)
        {
          ws_client_set_reason (c, wsb_tls_client_failure (c->tls));
          c->hang_up = TRUE;
          break;
        }
      on_plaintext (c, buf, n);
    }
  /* Reading may have queued TLS records of its own (an alert, a KeyUpdate). */
  if (wsb_tls_client_pending_output (c->tls))
    lws_callback_on_writable (c->wsi);
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

void
ws_client_on_connected (WsbWsClient *c)
{
  if (c->events && c->events->connected)
    c->events->connected (c, c->user_data);
  if (c->ended || !c->events)
    return; /* the owner took another address */
  if (c->proxy_request)
    {
      g_autoptr (GString) req = g_steal_pointer (&c->proxy_request);
      c->phase = PHASE_PROXY;
      ws_client_queue_raw (c, req->str, req->len);
      return;
    }
  start_tls_or_upgrade (c);
}

void
ws_client_on_bytes (WsbWsClient *c, const guint8 *data, gsize len)
{
  c->rx_bytes += len;
  if (c->phase == PHASE_PROXY)
    on_proxy_bytes (c, data, len);
  else if (c->tls)
    on_tls_bytes (c, data, len);
  else
    on_plaintext (c, data, len);
}
