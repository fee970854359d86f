/* What a connection sends: frames masked and (with permessage-deflate)
 * compressed into one buffer per write, control frames first (a pong, our
 * ping, the close), TLS on the way out, one lws_write() per WRITEABLE. */
#include "ws-client-private.h"

#include <string.h>

/* Where frames go: straight to the wire, or through TLS first. */
static GByteArray *
frame_buffer (WsbWsClient *c)
{
  return c->tls ? c->plain : c->wire;
}

void
ws_client_queue_raw (WsbWsClient *c, const void *data, gsize len)
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

/* Control frames first: the pongs owed, our ping, the close frame. */
static void
frame_controls (WsbWsClient *c)
{
  if (c->pongs && !c->close_sent)
    {
      for (guint pos = 0; pos < c->pongs->len; pos += 1u + c->pongs->data[pos])
        append_frame (c, WSB_WS_OP_PONG, FALSE, c->pongs->data + pos + 1, c->pongs->data[pos]);
      g_clear_pointer (&c->pongs, g_byte_array_unref);
      c->n_pongs = 0;
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

/* Queues a close frame with code; text is cut to what fits, on a UTF-8
 * character boundary. */
void
ws_client_queue_close (WsbWsClient *c, guint16 code, const char *text)
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

int
ws_client_on_writeable (WsbWsClient *c)
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
          ws_client_set_reason (c, wsb_tls_client_failure (c->tls));
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
          ws_client_set_reason (c, "write to the server failed");
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
