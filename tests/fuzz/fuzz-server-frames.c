/* Fuzz target: what a server sends after the upgrade, into the session's
 * receive path (ws-rx.c: frame rules, reassembly, permessage-deflate,
 * UTF-8, close frames, max_message_bytes), with no connection. The first
 * byte picks the setup (deflate on or off, a small or a large message
 * limit); the rest is fed whole, and again in chunks whose sizes come from
 * the input. Findings: a crash, a sanitizer report, a leak, and any
 * difference between the two feeds (the parser must not depend on where
 * reads end), a text message that is not UTF-8, a message over the limit,
 * an end without a reason or with a close code a client may not send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws-deflate.h"
#include "ws-frame.h"
#include "ws-rx.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  GChecksum *sum; /* of every event, in order */
  guint64 max;
  guint events;
} Run;

static void
record (Run *r, char kind, const guint8 *data, gsize len)
{
  guint64 n = len;

  g_checksum_update (r->sum, (const guchar *) &kind, 1);
  g_checksum_update (r->sum, (const guchar *) &n, sizeof n);
  g_checksum_update (r->sum, data, len);
  r->events++;
}

static void
on_message (WsbWsMessage *msg, gpointer user_data)
{
  Run *r = user_data;

  g_assert_true (msg->len <= r->max);
  g_assert_true (msg->binary || wsb_utf8_valid (msg->data, msg->len));
  record (r, msg->binary ? 'B' : 'T', msg->data, msg->len);
  /* Every other offered block taken, as the hub takes them: the next
   * message must not notice either way. */
  if (msg->block && (r->events & 1))
    {
      g_assert_true (msg->data == msg->block + WSB_WS_RX_HEADROOM);
      g_free (msg->block);
      msg->block = NULL;
    }
}

static void
on_ping (const guint8 *data, gsize len, gpointer user_data)
{
  g_assert_true (len <= WSB_WS_MAX_CONTROL);
  record (user_data, 'P', data, len);
}

static void
on_pong (const guint8 *data, gsize len, gpointer user_data)
{
  g_assert_true (len <= WSB_WS_MAX_CONTROL);
  record (user_data, 'O', data, len);
}

static const WsbWsRxEvents events = { on_message, on_ping, on_pong };

/* Feeds data in pieces (all of it at once when sizes is NULL); returns the
 * checksum of what came out, with the final status and reason. */
static char *
run (guint8 setup, const guint8 *data, gsize len, const guint8 *sizes, gsize n_sizes)
{
  WsbDeflateParams params = { (setup & 2) != 0, FALSE, 15, 15 };
  Run r = { g_checksum_new (G_CHECKSUM_SHA256), setup & 4 ? 64 : 1 << 20, 0 };
  WsbWsRx *rx = wsb_ws_rx_new (r.max, setup & 1 ? wsb_inflater_new (&params) : NULL, &events, &r);
  WsbWsRxStatus st = WSB_WS_RX_MORE;
  gsize pos = 0;
  char *digest;

  for (gsize i = 0; pos < len && st == WSB_WS_RX_MORE; i++)
    {
      gsize n = sizes ? MIN ((gsize) sizes[i % n_sizes] + 1, len - pos) : len - pos;
      st = wsb_ws_rx_feed (rx, data + pos, n);
      pos += n;
    }
  if (st != WSB_WS_RX_MORE)
    {
      const char *reason = wsb_ws_rx_reason (rx);
      guint16 code = wsb_ws_rx_reply_code (rx);

      g_assert_nonnull (reason);
      g_assert_true (*reason);
      g_assert_true (wsb_ws_close_code_valid (code));
      if (st == WSB_WS_RX_FAILED)
        g_assert_true (code == 1002 || code == 1007 || code == 1009);
      /* It sticks. */
      g_assert_cmpint (wsb_ws_rx_feed (rx, (const guint8 *) "\x81\x00", 2), ==, st);
      record (&r, (char) st, (const guint8 *) reason, strlen (reason));
      record (&r, 'C', (const guint8 *) &code, sizeof code);
    }
  digest = g_strdup (g_checksum_get_string (r.sum));
  g_checksum_free (r.sum);
  wsb_ws_rx_free (rx);
  return digest;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *whole = NULL;
  g_autofree char *pieces = NULL;
  gsize n_sizes;

  if (size < 2)
    return 0;
  /* setup byte, then up to 8 chunk sizes, then the stream */
  n_sizes = MIN ((gsize) (data[1] & 7) + 1, size - 2);
  whole = run (data[0], data + 2 + n_sizes, size - 2 - n_sizes, NULL, 0);
  pieces = run (data[0], data + 2 + n_sizes, size - 2 - n_sizes, data + 2, n_sizes);
  g_assert_cmpstr (whole, ==, pieces);
  return 0;
}
