#include "ws-rx.h"

#include <string.h>

#include "ws-frame.h"

/* A reassembly buffer larger than this is not kept for the next message. */
#define RX_KEEP_BYTES (64 * 1024)

struct _WsbWsRx
{
  const WsbWsRxEvents *events;
  gpointer user_data;
  guint64 max;
  WsbInflater *inflater;

  WsbWsRxStatus status;
  gboolean stopped;
  guint16 reply_code;
  guint16 peer_code;
  char *peer_reason; /* the server's close reason as shown, NULL without one */
  char *reason;

  /* The frame being read. */
  guint8 head[WSB_WS_MAX_HEADER];
  gsize head_have;
  gboolean in_payload;
  WsbWsFrameHeader h;
  guint64 left; /* payload bytes still to come */
  guint8 control[WSB_WS_MAX_CONTROL];
  gsize control_len;

  /* The data message being reassembled (or inflated). */
  gboolean in_message;
  gboolean binary;
  gboolean compressed;
  GByteArray *msg; /* WSB_WS_RX_HEADROOM bytes, then the message */
  gsize utf8_done; /* of a text message, the bytes known to be whole valid characters */
};

static inline gsize
msg_len (const WsbWsRx *rx)
{
  return rx->msg->len - WSB_WS_RX_HEADROOM;
}

static inline guint8 *
msg_data (const WsbWsRx *rx)
{
  return rx->msg->data + WSB_WS_RX_HEADROOM;
}

WsbWsRx *
wsb_ws_rx_new (guint64 max_message_bytes, WsbInflater *inflater, const WsbWsRxEvents *events,
               gpointer user_data)
{
  WsbWsRx *rx = g_new0 (WsbWsRx, 1);

  rx->events = events;
  rx->user_data = user_data;
  rx->max = max_message_bytes;
  rx->inflater = inflater;
  rx->status = WSB_WS_RX_MORE;
  return rx;
}

void
wsb_ws_rx_free (WsbWsRx *rx)
{
  if (!rx)
    return;
  wsb_inflater_free (rx->inflater);
  if (rx->msg)
    g_byte_array_unref (rx->msg);
  g_free (rx->reason);
  g_free (rx->peer_reason);
  g_free (rx);
}

guint16
wsb_ws_rx_reply_code (WsbWsRx *rx)
{
  return rx->reply_code;
}

const char *
wsb_ws_rx_reason (WsbWsRx *rx)
{
  return rx->reason;
}

guint16
wsb_ws_rx_peer_code (WsbWsRx *rx)
{
  return rx->peer_code;
}

const char *
wsb_ws_rx_peer_reason (WsbWsRx *rx)
{
  return rx->peer_reason ? rx->peer_reason : "";
}

void
wsb_ws_rx_stop (WsbWsRx *rx)
{
  rx->stopped = TRUE;
}

static WsbWsRxStatus G_GNUC_PRINTF (3, 4) fail (WsbWsRx *rx, guint16 code, const char *fmt, ...)
{
  g_autofree char *what = NULL;
  va_list ap;

  va_start (ap, fmt);
  what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  rx->reply_code = code;
  g_free (rx->reason);
  rx->reason = g_strdup_printf ("%s (closed with %u)", what, code);
  rx->status = WSB_WS_RX_FAILED;
  return rx->status;
}

static WsbWsRxStatus
too_large (WsbWsRx *rx)
{
  return fail (rx, 1009, "inbound message larger than max_message_bytes (%" G_GUINT64_FORMAT ")",
               rx->max);
}

/* The reason text of a close frame, for display: control characters become spaces. */
static char *
display_text (const guint8 *s, gsize len)
{
  char *text = g_strndup ((const char *) s, len);

  for (char *p = text; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return text;
}

static WsbWsRxStatus
on_close_frame (WsbWsRx *rx)
{
  const guint8 *p = rx->control;
  g_autofree char *text = NULL;
  guint code;

  rx->status = WSB_WS_RX_CLOSED;
  if (rx->control_len == 0)
    {
      rx->reply_code = 1000;
      rx->reason = g_strdup ("server closed the connection (no close code)");
      return rx->status;
    }
  if (rx->control_len == 1)
    {
      rx->reply_code = 1002;
      rx->reason = g_strdup ("server sent a close frame with a 1-byte payload, which is "
                             "malformed (answered with 1002)");
      return rx->status;
    }
  code = (guint) p[0] << 8 | p[1];
  rx->peer_code = (guint16) code;
  if (!wsb_ws_close_code_valid (code))
    {
      rx->reply_code = 1002;
      rx->reason = g_strdup_printf ("server closed the connection with close code %u, which is "
                                    "not a valid one (answered with 1002)",
                                    code);
      return rx->status;
    }
  if (!wsb_utf8_valid (p + 2, rx->control_len - 2))
    {
      rx->reply_code = 1007;
      rx->reason = g_strdup_printf ("server closed the connection with %u and a reason that is "
                                    "not valid UTF-8 (answered with 1007)",
                                    code);
      return rx->status;
    }
  rx->reply_code = (guint16) code;
  text = display_text (p + 2, rx->control_len - 2);
  rx->peer_reason = g_strdup (text);
  rx->reason = *text ? g_strdup_printf ("server closed the connection with %u: %s", code, text)
                     : g_strdup_printf ("server closed the connection with %u", code);
  return rx->status;
}

/* Checks a new frame's header against the state; starts a message. */
static WsbWsRxStatus
begin_frame (WsbWsRx *rx)
{
  const WsbWsFrameHeader *h = &rx->h;
  gboolean control = (h->opcode & 0x8) != 0;
  guint8 allowed_rsv = 0;

  if (h->masked)
    return fail (rx, 1002, "server sent a masked frame (servers must not mask)");
  if (h->length_too_big)
    return fail (rx, 1002, "server sent a frame length of 2^63 bytes or more");
  if ((h->opcode > WSB_WS_OP_BINARY && h->opcode < WSB_WS_OP_CLOSE) || h->opcode > WSB_WS_OP_PONG)
    return fail (rx, 1002, "server used reserved opcode 0x%x", h->opcode);
  if (rx->inflater && (h->opcode == WSB_WS_OP_TEXT || h->opcode == WSB_WS_OP_BINARY))
    allowed_rsv = 0x40;
  if (h->rsv & ~allowed_rsv)
    {
      if (h->rsv & 0x30)
        return fail (rx, 1002, "server set reserved bits RSV2/RSV3 on a %s frame",
                     wsb_ws_opcode_name (h->opcode));
      if (!rx->inflater)
        return fail (rx, 1002, "server set RSV1 on a %s frame without permessage-deflate",
                     wsb_ws_opcode_name (h->opcode));
      return fail (rx, 1002,
                   "server set RSV1 on a %s frame (only a message's first frame "
                   "may carry it)",
                   wsb_ws_opcode_name (h->opcode));
    }
  if (control)
    {
      if (!h->fin)
        return fail (rx, 1002,
                     "server sent a fragmented %s frame (control frames cannot be "
                     "fragmented)",
                     wsb_ws_opcode_name (h->opcode));
      if (h->length > WSB_WS_MAX_CONTROL)
        return fail (rx, 1002,
                     "server sent a %s frame of %" G_GUINT64_FORMAT " bytes (control "
                     "frames carry at most 125)",
                     wsb_ws_opcode_name (h->opcode), h->length);
      rx->control_len = 0;
      return WSB_WS_RX_MORE;
    }
  if (h->opcode == WSB_WS_OP_CONTINUATION && !rx->in_message)
    return fail (rx, 1002, "server sent a continuation frame outside a fragmented message");
  if (h->opcode != WSB_WS_OP_CONTINUATION)
    {
      if (rx->in_message)
        return fail (rx, 1002, "server started a new %s message inside a fragmented one",
                     wsb_ws_opcode_name (h->opcode));
      rx->in_message = TRUE;
      rx->binary = h->opcode == WSB_WS_OP_BINARY;
      rx->compressed = (h->rsv & 0x40) != 0;
      if (!rx->msg)
        rx->msg = g_byte_array_new ();
      g_byte_array_set_size (rx->msg, WSB_WS_RX_HEADROOM);
      rx->utf8_done = 0;
    }
  if (!rx->compressed && msg_len (rx) + h->length > rx->max)
    return too_large (rx);
  return WSB_WS_RX_MORE;
}

static WsbWsRxStatus
inflate_result (WsbWsRx *rx, WsbInflateResult r)
{
  if (r == WSB_INFLATE_TOO_LARGE)
    return too_large (rx);
  if (r == WSB_INFLATE_CORRUPT)
    return fail (rx, 1007, "server sent a compressed message that does not inflate");
  return WSB_WS_RX_MORE;
}

/* A text message is checked as it arrives, so that invalid UTF-8 fails the
 * connection at the fragment where it becomes invalid, not at the end. */
static WsbWsRxStatus
check_text_so_far (WsbWsRx *rx)
{
  /* Never past max_message_bytes: how far an inflate that went over the
   * limit got depends on where reads ended, the message's first max bytes
   * do not. */
  gsize end = (gsize) MIN ((guint64) msg_len (rx), rx->max);
  gsize complete = 0;

  if (rx->binary || end <= rx->utf8_done)
    return WSB_WS_RX_MORE; /* nothing new (an empty array may have no data at all) */
  if (!wsb_utf8_valid_prefix (msg_data (rx) + rx->utf8_done, end - rx->utf8_done, &complete))
    return fail (rx, 1007, "server sent invalid UTF-8 in a text message");
  rx->utf8_done += complete;
  return WSB_WS_RX_MORE;
}

/* What inflated is checked before an inflate error is reported: the
 * message's first problem wins, wherever the reads ended (a text that went
 * invalid before its deflate stream broke, or before it grew over the
 * limit, fails as invalid UTF-8 however it was split). */
static WsbWsRxStatus
inflated (WsbWsRx *rx, WsbInflateResult r)
{
  WsbWsRxStatus st = check_text_so_far (rx);

  return st != WSB_WS_RX_MORE ? st : inflate_result (rx, r);
}

static WsbWsRxStatus
frame_data (WsbWsRx *rx, const guint8 *data, gsize len)
{
  if (rx->h.opcode & 0x8)
    {
      memcpy (rx->control + rx->control_len, data, len);
      rx->control_len += len;
      return WSB_WS_RX_MORE;
    }
  if (rx->compressed)
    return inflated (rx, wsb_inflater_feed (rx->inflater, data, len, FALSE, rx->msg,
                                            WSB_WS_RX_HEADROOM + (gsize) rx->max));
  g_byte_array_append (rx->msg, data, (guint) len);
  return check_text_so_far (rx);
}

/* checked: the text was validated as it came (all but its end). block: the
 * reassembly buffer holding data, offered to the receiver. */
static WsbWsRxStatus
deliver (WsbWsRx *rx, const guint8 *data, gsize len, gboolean binary, gboolean checked,
         guint8 *block)
{
  WsbWsMessage msg = { data, len, binary, block };

  if (!binary && (checked ? rx->utf8_done != len : !wsb_utf8_valid (data, len)))
    return fail (rx, 1007, "server sent invalid UTF-8 in a text message");
  rx->events->message (&msg, rx->user_data);
  if (block && !msg.block)
    (void) g_byte_array_steal (rx->msg, NULL); /* the receiver's now */
  return WSB_WS_RX_MORE;
}

static WsbWsRxStatus
end_frame (WsbWsRx *rx)
{
  WsbWsRxStatus st;

  rx->in_payload = FALSE;
  switch (rx->h.opcode)
    {
      case WSB_WS_OP_CLOSE:
        return on_close_frame (rx);
      case WSB_WS_OP_PING:
        rx->events->ping (rx->control, rx->control_len, rx->user_data);
        return WSB_WS_RX_MORE;
      case WSB_WS_OP_PONG:
        rx->events->pong (rx->control, rx->control_len, rx->user_data);
        return WSB_WS_RX_MORE;
      default:
        break;
    }
  if (!rx->h.fin)
    return WSB_WS_RX_MORE;
  rx->in_message = FALSE;
  if (rx->compressed)
    {
      st = inflated (rx, wsb_inflater_feed (rx->inflater, NULL, 0, TRUE, rx->msg,
                                            WSB_WS_RX_HEADROOM + (gsize) rx->max));
      if (st != WSB_WS_RX_MORE)
        return st;
    }
  /* A buffer too large to keep for the next message may go with it. */
  st = deliver (rx, msg_data (rx), msg_len (rx), rx->binary, TRUE,
                msg_len (rx) > RX_KEEP_BYTES ? rx->msg->data : NULL);
  if (rx->msg->len > WSB_WS_RX_HEADROOM + RX_KEEP_BYTES)
    g_clear_pointer (&rx->msg, g_byte_array_unref);
  return st;
}

/* Completes the frame header from the input (with what an earlier feed
 * left): returns the bytes consumed; *done once rx->h holds a whole header. */
static gsize
take_header (WsbWsRx *rx, const guint8 *data, gsize len, gboolean *done)
{
  gsize n, take;

  if (rx->head_have == 0)
    {
      n = wsb_ws_frame_header_decode (data, len, &rx->h);
      *done = n != 0;
      if (n)
        return n;
      memcpy (rx->head, data, len); /* less than a header: at most 13 bytes */
      rx->head_have = len;
      return len;
    }
  take = MIN (sizeof rx->head - rx->head_have, len);
  memcpy (rx->head + rx->head_have, data, take);
  n = wsb_ws_frame_header_decode (rx->head, rx->head_have + take, &rx->h);
  *done = n != 0;
  if (!n)
    {
      rx->head_have += take;
      return take;
    }
  take = n - rx->head_have;
  rx->head_have = 0;
  return take;
}

WsbWsRxStatus
wsb_ws_rx_feed (WsbWsRx *rx, const guint8 *data, gsize len)
{
  gsize pos = 0;

  while (pos < len && rx->status == WSB_WS_RX_MORE && !rx->stopped)
    {
      WsbWsRxStatus st;
      gsize take;

      if (!rx->in_payload)
        {
          gboolean done;

          pos += take_header (rx, data + pos, len - pos, &done);
          if (!done)
            continue;
          rx->in_payload = TRUE;
          if ((st = begin_frame (rx)) != WSB_WS_RX_MORE)
            return st;
          rx->left = rx->h.length;
          /* The common case: a whole unfragmented, uncompressed message in
           * this read, delivered without a copy. */
          if (rx->h.fin && !rx->compressed
              && (rx->h.opcode == WSB_WS_OP_TEXT || rx->h.opcode == WSB_WS_OP_BINARY)
              && len - pos >= rx->left)
            {
              rx->in_payload = FALSE;
              rx->in_message = FALSE;
              st = deliver (rx, data + pos, (gsize) rx->left, rx->binary, FALSE, NULL);
              pos += (gsize) rx->left;
              if (st != WSB_WS_RX_MORE)
                return st;
              continue;
            }
          if (rx->left == 0)
            {
              if ((st = end_frame (rx)) != WSB_WS_RX_MORE)
                return st;
              continue;
            }
        }
      take = (gsize) MIN (rx->left, (guint64) (len - pos));
      if ((st = frame_data (rx, data + pos, take)) != WSB_WS_RX_MORE)
        return st;
      pos += take;
      rx->left -= take;
      if (rx->left == 0 && (st = end_frame (rx)) != WSB_WS_RX_MORE)
        return st;
    }
  return rx->status;
}
