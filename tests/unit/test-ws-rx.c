#include <string.h>

#include "ws-deflate.h"
#include "ws-frame.h"
#include "ws-rx.h"

typedef struct
{
  GPtrArray *messages; /* GBytes; binary ones prefixed with 'B', text with 'T' */
  GPtrArray *pings;
  guint pongs;
  const guint8 *last_data;
  gboolean take_blocks; /* keep each block offered, as the hub does */
  guint blocks_offered;
  GPtrArray *blocks; /* the blocks taken (g_free) */
} Seen;

static void
on_message (WsbWsMessage *msg, gpointer user_data)
{
  Seen *seen = user_data;
  GByteArray *m = g_byte_array_new ();

  g_byte_array_append (m, (const guint8 *) (msg->binary ? "B" : "T"), 1);
  g_byte_array_append (m, msg->data, (guint) msg->len);
  g_ptr_array_add (seen->messages, g_byte_array_free_to_bytes (m));
  seen->last_data = msg->data;
  if (msg->block)
    {
      g_assert_true (msg->data == msg->block + WSB_WS_RX_HEADROOM);
      seen->blocks_offered++;
      if (seen->take_blocks)
        {
          g_ptr_array_add (seen->blocks, msg->block);
          msg->block = NULL;
        }
    }
}

static void
on_ping (const guint8 *data, gsize len, gpointer user_data)
{
  Seen *seen = user_data;

  g_ptr_array_add (seen->pings, g_bytes_new (data, len));
}

static void
on_pong (const guint8 *data, gsize len, gpointer user_data)
{
  ((Seen *) user_data)->pongs++;
}

static const WsbWsRxEvents events = { on_message, on_ping, on_pong };

static void
seen_init (Seen *seen)
{
  memset (seen, 0, sizeof *seen);
  seen->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  seen->pings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  seen->blocks = g_ptr_array_new_with_free_func (g_free);
}

static void
seen_clear (Seen *seen)
{
  g_ptr_array_unref (seen->messages);
  g_ptr_array_unref (seen->pings);
  g_ptr_array_unref (seen->blocks);
}

/* A server frame (unmasked unless mask) appended to out. */
static void
frame (GByteArray *out, guint8 first_byte, const void *payload, gsize len)
{
  guint8 h[10];
  gsize n = 2;

  h[0] = first_byte;
  if (len < 126)
    h[1] = (guint8) len;
  else if (len <= 0xffff)
    {
      h[1] = 126;
      h[2] = (guint8) (len >> 8);
      h[3] = (guint8) len;
      n = 4;
    }
  else
    {
      h[1] = 127;
      for (guint i = 0; i < 8; i++)
        h[2 + i] = (guint8) ((guint64) len >> (56 - 8 * i));
      n = 10;
    }
  g_byte_array_append (out, h, (guint) n);
  g_byte_array_append (out, payload, (guint) len);
}

static void
assert_message_len (Seen *seen, guint i, const char *kind_and_data, gsize n)
{
  gsize len;
  const char *data;

  g_assert_cmpuint (seen->messages->len, >, i);
  data = g_bytes_get_data (seen->messages->pdata[i], &len);
  g_assert_cmpmem (data, len, kind_and_data, n);
}

#define assert_message(seen, i, literal) assert_message_len (seen, i, literal, sizeof literal - 1)

static void
test_whole_messages_without_copy (void)
{
  g_autoptr (GByteArray) in = g_byte_array_new ();
  Seen seen;
  g_autoptr (WsbWsRx) rx = NULL;

  seen_init (&seen);
  rx = wsb_ws_rx_new (1024, NULL, &events, &seen);
  frame (in, 0x81, "hello", 5);
  frame (in, 0x82, "\x00\x01", 2);
  frame (in, 0x81, "", 0);
  g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_MORE);
  g_assert_cmpuint (seen.messages->len, ==, 3);
  assert_message (&seen, 0, "Thello");
  assert_message (&seen, 1, "B\x00\x01");
  assert_message (&seen, 2, "T");
  seen_clear (&seen);
}

static void
test_any_split_gives_the_same_messages (void)
{
  g_autoptr (GByteArray) in = g_byte_array_new ();
  guint8 big[300];

  memset (big, 'x', sizeof big);
  frame (in, 0x01, "fr", 2);         /* text, not final */
  frame (in, 0x89, "p1", 2);         /* ping inside the fragmented message */
  frame (in, 0x80, "ag", 2);         /* final continuation */
  frame (in, 0x82, big, sizeof big); /* 16-bit length */
  frame (in, 0x8a, "", 0);           /* pong */
  for (gsize step = 1; step <= in->len; step++)
    {
      Seen seen;
      g_autoptr (WsbWsRx) rx = NULL;

      seen_init (&seen);
      rx = wsb_ws_rx_new (1024, NULL, &events, &seen);
      for (gsize pos = 0; pos < in->len; pos += step)
        g_assert_cmpint (wsb_ws_rx_feed (rx, in->data + pos, MIN (step, in->len - pos)), ==,
                         WSB_WS_RX_MORE);
      g_assert_cmpuint (seen.messages->len, ==, 2);
      assert_message (&seen, 0, "Tfrag");
      g_assert_cmpuint (g_bytes_get_size (seen.messages->pdata[1]), ==, 1 + sizeof big);
      g_assert_cmpuint (seen.pings->len, ==, 1);
      g_assert_cmpuint (seen.pongs, ==, 1);
      seen_clear (&seen);
    }
}

static void
expect_failure (const guint8 *bytes, gsize len, guint64 max, gboolean deflate, guint16 code,
                const char *needle)
{
  WsbDeflateParams params = { FALSE, FALSE, 15, 15 };
  Seen seen;
  g_autoptr (WsbWsRx) rx = NULL;
  WsbWsRxStatus st;

  seen_init (&seen);
  rx = wsb_ws_rx_new (max, deflate ? wsb_inflater_new (&params) : NULL, &events, &seen);
  st = wsb_ws_rx_feed (rx, bytes, len);
  g_assert_cmpint (st, ==, WSB_WS_RX_FAILED);
  g_assert_cmpuint (wsb_ws_rx_reply_code (rx), ==, code);
  if (!strstr (wsb_ws_rx_reason (rx), needle))
    g_error ("reason '%s' lacks '%s'", wsb_ws_rx_reason (rx), needle);
  g_assert_nonnull (strstr (wsb_ws_rx_reason (rx), code == 1002   ? "(closed with 1002)"
                                                   : code == 1007 ? "(closed with 1007)"
                                                                  : "(closed with 1009)"));
  /* It sticks: nothing more is read. */
  g_assert_cmpint (wsb_ws_rx_feed (rx, (const guint8 *) "\x81\x01x", 3), ==, WSB_WS_RX_FAILED);
  g_assert_cmpuint (seen.messages->len, ==, 0);
  seen_clear (&seen);
}

#define FAIL(bytes, code, needle)                                                                  \
  expect_failure ((const guint8 *) bytes, sizeof bytes - 1, 1024, FALSE, code, needle)

static void
test_violations (void)
{
  FAIL ("\x81\x85\x01\x02\x03\x04"
        "abcde",
        1002, "masked frame");
  FAIL ("\x83\x00", 1002, "reserved opcode 0x3");
  FAIL ("\x8b\x00", 1002, "reserved opcode 0xb");
  FAIL ("\xc1\x01x", 1002, "RSV1 on a text frame without permessage-deflate");
  FAIL ("\xa1\x01x", 1002, "RSV2/RSV3");
  FAIL ("\x91\x01x", 1002, "RSV2/RSV3");
  FAIL ("\x09\x00", 1002, "fragmented ping frame");
  FAIL ("\x89\x7e\x00\x7e", 1002, "ping frame of 126 bytes");
  FAIL ("\x80\x01x", 1002, "continuation frame outside");
  FAIL ("\x01\x01x\x81\x01y", 1002, "new text message inside a fragmented one");
  FAIL ("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 1002, "2^63");
  FAIL ("\x81\x02\xc3\x28", 1007, "invalid UTF-8 in a text message");
  FAIL ("\x01\x01\xc3\x80\x01\x28", 1007, "invalid UTF-8"); /* 0xc3 0x28 across fragments */
}

static void
test_utf8_split_across_fragments_is_fine (void)
{
  g_autoptr (GByteArray) in = g_byte_array_new ();
  Seen seen;
  g_autoptr (WsbWsRx) rx = NULL;

  seen_init (&seen);
  rx = wsb_ws_rx_new (1024, NULL, &events, &seen);
  frame (in, 0x01, "\xc3", 1);
  frame (in, 0x80, "\xa9", 1);
  g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_MORE);
  assert_message (&seen, 0, "T\xc3\xa9");
  seen_clear (&seen);
}

/* Autobahn 6.4.x: the connection fails at the fragment where the text
 * becomes invalid, before the message's end comes (it may never come). */
static void
test_utf8_fails_at_the_fragment (void)
{
  static const char *const bad_fragments[] = {
    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"
    "edited",   /* 6.4.1 */
    "\xf4\x90", /* 6.4.3 */
    "ok\xed\xa0",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad_fragments); i++)
    {
      g_autoptr (GByteArray) in = g_byte_array_new ();
      Seen seen;
      g_autoptr (WsbWsRx) rx = NULL;

      seen_init (&seen);
      rx = wsb_ws_rx_new (1024, NULL, &events, &seen);
      frame (in, 0x01, "\xce\xba\xe1\xbd\xb9", 5); /* valid, not final */
      g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_MORE);
      g_byte_array_set_size (in, 0);
      frame (in, 0x00, bad_fragments[i], strlen (bad_fragments[i])); /* not final either */
      g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_FAILED);
      g_assert_cmpuint (wsb_ws_rx_reply_code (rx), ==, 1007);
      g_assert_cmpuint (seen.messages->len, ==, 0);
      seen_clear (&seen);
    }
}

static void
test_max_message_bytes (void)
{
  guint8 ten[10] = { 0 };
  g_autoptr (GByteArray) in = g_byte_array_new ();
  Seen seen;
  g_autoptr (WsbWsRx) rx = NULL;

  seen_init (&seen);
  rx = wsb_ws_rx_new (10, NULL, &events, &seen);
  frame (in, 0x82, ten, 10);
  g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_MORE);
  g_assert_cmpuint (seen.messages->len, ==, 1);
  seen_clear (&seen);

  g_byte_array_set_size (in, 0);
  frame (in, 0x02, ten, 6);
  frame (in, 0x80, ten, 5);
  expect_failure (in->data, in->len, 10, FALSE, 1009, "larger than max_message_bytes (10)");
  /* Refused on the header, before the body arrives. */
  expect_failure ((const guint8 *) "\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00", 10, 10, FALSE, 1009,
                  "max_message_bytes");
}

static void
expect_close (const char *payload, gsize len, guint16 reply, const char *needle)
{
  g_autoptr (GByteArray) in = g_byte_array_new ();
  Seen seen;
  g_autoptr (WsbWsRx) rx = NULL;

  seen_init (&seen);
  rx = wsb_ws_rx_new (1024, NULL, &events, &seen);
  frame (in, 0x88, payload, len);
  frame (in, 0x81, "late", 4);
  g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_CLOSED);
  g_assert_cmpuint (wsb_ws_rx_reply_code (rx), ==, reply);
  if (!strstr (wsb_ws_rx_reason (rx), needle))
    g_error ("reason '%s' lacks '%s'", wsb_ws_rx_reason (rx), needle);
  g_assert_cmpuint (seen.messages->len, ==, 0); /* nothing after the close */
  seen_clear (&seen);
}

static void
test_close_frames (void)
{
  expect_close ("", 0, 1000, "no close code");
  expect_close ("\x03\xe8", 2, 1000, "with 1000");
  expect_close ("\x03\xe9"
                "bye\x01",
                6, 1001, "with 1001: bye ");
  expect_close ("\x03\xf4", 2, 1012, "with 1012");
  expect_close ("\x0f\xa0", 2, 4000, "with 4000");
  expect_close ("\x03", 1, 1002, "1-byte payload");
  expect_close ("\x03\xe7", 2, 1002, "close code 999, which is not a valid one");
  expect_close ("\x03\xec", 2, 1002, "close code 1004");
  expect_close ("\x03\xed", 2, 1002, "close code 1005");
  expect_close ("\x03\xee", 2, 1002, "close code 1006");
  expect_close ("\x03\xf7", 2, 1002, "close code 1015");
  expect_close ("\x03\xf8", 2, 1002, "close code 1016");
  expect_close ("\x0b\xb7", 2, 1002, "close code 2999");
  expect_close ("\x13\x88", 2, 1002, "close code 5000");
  expect_close ("\x03\xe8\xff", 3, 1007, "not valid UTF-8");
}

static void
test_compressed_messages (void)
{
  WsbDeflateParams params = { FALSE, FALSE, 15, 15 };
  g_autoptr (WsbDeflater) def = wsb_deflater_new (&params);
  g_autoptr (GByteArray) z = g_byte_array_new ();
  g_autoptr (GByteArray) in = g_byte_array_new ();
  g_autofree char *text = g_strnfill (5000, 'w');
  Seen seen;
  g_autoptr (WsbWsRx) rx = NULL;

  seen_init (&seen);
  rx = wsb_ws_rx_new (5000, wsb_inflater_new (&params), &events, &seen);
  for (guint i = 0; i < 3; i++)
    {
      wsb_deflater_compress (def, (const guint8 *) text, 5000, z);
      g_assert_cmpuint (z->len, <, 100);
      /* Split over two frames: RSV1 on the first only. */
      frame (in, 0x41, z->data, 3);
      frame (in, 0x80, z->data + 3, z->len - 3);
    }
  frame (in, 0x81, "plain", 5); /* uncompressed messages may follow */
  g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_MORE);
  g_assert_cmpuint (seen.messages->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (g_bytes_get_size (seen.messages->pdata[i]), ==, 5001);
  assert_message (&seen, 3, "Tplain");
  seen_clear (&seen);

  /* 5000 bytes inflate past a 4999-byte limit. */
  {
    g_autoptr (WsbDeflater) d2 = wsb_deflater_new (&params);
    g_byte_array_set_size (in, 0);
    wsb_deflater_compress (d2, (const guint8 *) text, 5000, z);
    frame (in, 0xc1, z->data, z->len);
    expect_failure (in->data, in->len, 4999, TRUE, 1009, "max_message_bytes (4999)");
  }
  g_byte_array_set_size (in, 0);
  frame (in, 0xc1, "\xff\xff\xff\xff", 4);
  expect_failure (in->data, in->len, 1024, TRUE, 1007, "does not inflate");
  g_byte_array_set_size (in, 0);
  frame (in, 0x01, "a", 1);
  frame (in, 0xc0, "b", 1);
  expect_failure (in->data, in->len, 1024, TRUE, 1002, "only a message's first frame");
}

/* A large reassembled or inflated message comes in a block the receiver may
 * keep (the hub writes its head into the headroom instead of copying the
 * payload); small ones and those read in place come without; taking a block
 * or not, the next messages are whole. */
static void
test_large_messages_offer_their_block (void)
{
  WsbDeflateParams params = { FALSE, FALSE, 15, 15 };
  g_autoptr (GByteArray) z = g_byte_array_new ();
  g_autoptr (GByteArray) in = g_byte_array_new ();
  gsize big = 200 * 1024;
  g_autofree char *text = g_strnfill (big, 'q');

  for (int take = 0; take < 2; take++)
    {
      Seen seen;
      g_autoptr (WsbWsRx) rx = NULL;
      g_autoptr (WsbDeflater) def = wsb_deflater_new (&params);

      seen_init (&seen);
      seen.take_blocks = take;
      rx = wsb_ws_rx_new (1 << 20, wsb_inflater_new (&params), &events, &seen);
      g_byte_array_set_size (in, 0);
      frame (in, 0x01, text, big / 2); /* fragmented: reassembled */
      frame (in, 0x80, text + big / 2, big - big / 2);
      wsb_deflater_compress (def, (const guint8 *) text, big, z);
      frame (in, 0xc1, z->data, z->len); /* inflated */
      frame (in, 0x01, "sm", 2);         /* small and fragmented: kept buffer */
      frame (in, 0x80, "all", 3);
      frame (in, 0x82, text, big); /* whole in this read: in place */
      frame (in, 0x01, text, 10);  /* large again after a small one */
      frame (in, 0x80, text, big);
      g_assert_cmpint (wsb_ws_rx_feed (rx, in->data, in->len), ==, WSB_WS_RX_MORE);
      g_assert_cmpuint (seen.messages->len, ==, 5);
      g_assert_cmpuint (seen.blocks_offered, ==, 3);
      g_assert_cmpuint (seen.blocks->len, ==, take ? 3 : 0);
      for (guint i = 0; i < 5; i++)
        {
          GBytes *m = seen.messages->pdata[i];
          gsize want[] = { big, big, 5, big, big + 10 };
          const char *d = g_bytes_get_data (m, NULL);

          g_assert_cmpuint (g_bytes_get_size (m), ==, 1 + want[i]);
          g_assert_cmpint (d[1], ==, i == 2 ? 's' : 'q');
          g_assert_cmpint (d[want[i]], ==, i == 2 ? 'l' : 'q');
        }
      /* A taken block is the receiver's: the payload is still there. */
      for (guint i = 0; i < seen.blocks->len; i++)
        g_assert_cmpint (((guint8 *) seen.blocks->pdata[i])[WSB_WS_RX_HEADROOM], ==, 'q');
      seen_clear (&seen);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ws-rx/whole-messages", test_whole_messages_without_copy);
  g_test_add_func ("/ws-rx/any-split", test_any_split_gives_the_same_messages);
  g_test_add_func ("/ws-rx/violations", test_violations);
  g_test_add_func ("/ws-rx/utf8-across-fragments", test_utf8_split_across_fragments_is_fine);
  g_test_add_func ("/ws-rx/utf8-fails-at-the-fragment", test_utf8_fails_at_the_fragment);
  g_test_add_func ("/ws-rx/max-message-bytes", test_max_message_bytes);
  g_test_add_func ("/ws-rx/close-frames", test_close_frames);
  g_test_add_func ("/ws-rx/compressed", test_compressed_messages);
  g_test_add_func ("/ws-rx/large-messages-offer-their-block",
                   test_large_messages_offer_their_block);
  return g_test_run ();
}
