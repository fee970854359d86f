/* Unit tests of clients/libwsbridge/client-rx.c: the client's inbound buffer
 * and the delimited frames taken from it. */
#include <glib.h>
#include <string.h>

#include "client-rx.h"

/* What a read does: bytes appended after the buffered ones. */
static void
feed (WsbcRx *rx, const void *bytes, gsize len)
{
  g_assert_true (wsbc_rx_reserve (rx, len));
  g_assert_cmpuint (rx->cap - rx->end, >=, len);
  memcpy (rx->data + rx->end, bytes, len);
  rx->end += len;
}

/* A delimited frame of body_len bytes, each its index + seed. */
static GByteArray *
frame_bytes (gsize body_len, guint8 seed)
{
  GByteArray *out = g_byte_array_new ();
  guint8 prefix[WSB_VARINT_MAX];

  g_byte_array_append (out, prefix, wsb_varint_encode (body_len, prefix));
  for (gsize i = 0; i < body_len; i++)
    {
      guint8 b = (guint8) (i + seed);
      g_byte_array_append (out, &b, 1);
    }
  return out;
}

typedef struct
{
  WsbFrameStatus status;
  const guint8 *body;
  gsize len;
  guint64 announced;
} Taken;

static Taken
take (WsbcRx *rx, guint64 max_frame)
{
  Taken t;

  t.status = wsbc_rx_take_frame (rx, max_frame, &t.body, &t.len, &t.announced);
  if (t.status != WSB_FRAME_OK)
    {
      g_assert_null (t.body);
      g_assert_cmpuint (t.len, ==, 0);
    }
  return t;
}

/* The next frame is complete, with the body frame_bytes (want_len, seed) made. */
static void
assert_takes (WsbcRx *rx, guint64 max_frame, gsize want_len, guint8 seed)
{
  Taken t = take (rx, max_frame);

  g_assert_cmpint (t.status, ==, WSB_FRAME_OK);
  g_assert_cmpuint (t.len, ==, want_len);
  for (gsize i = 0; i < t.len; i++)
    g_assert_cmpuint (t.body[i], ==, (guint8) (i + seed));
}

static void
test_empty (void)
{
  WsbcRx rx = { NULL };
  const guint8 *body = (const guint8 *) "x";
  gsize len = 9;
  guint64 announced = 9;

  g_assert_cmpint (wsbc_rx_take_frame (&rx, 1024, &body, &len, &announced), ==,
                   WSB_FRAME_NEED_MORE);
  g_assert_null (body);
  g_assert_cmpuint (len, ==, 0);
  g_assert_cmpuint (announced, ==, 0);
  g_assert_cmpuint (wsbc_rx_missing (&rx, 1024), ==, 1);
  g_assert_cmpuint (wsbc_rx_greedy_size (&rx, 1024), ==, WSBC_RX_CHUNK);
  /* The first reserve allocates a whole chunk, however little it asks for. */
  g_assert_true (wsbc_rx_reserve (&rx, 1));
  g_assert_cmpuint (rx.cap, ==, WSBC_RX_CHUNK);
  wsbc_rx_clear (&rx);
  g_assert_null (rx.data);
  g_assert_cmpuint (rx.cap, ==, 0);
}

/* A frame arriving a byte at a time: the prefix first (1 missing while it is
 * incomplete), then the body counted down, then the frame. */
static void
test_byte_by_byte (void)
{
  g_autoptr (GByteArray) f = frame_bytes (300, 3); /* a 2-byte prefix */
  WsbcRx rx = { NULL };

  for (guint i = 0; i < f->len; i++)
    {
      g_assert_cmpuint (wsbc_rx_missing (&rx, 1024), ==, i < 2 ? 1 : f->len - i);
      g_assert_cmpint (take (&rx, 1024).status, ==, WSB_FRAME_NEED_MORE);
      g_assert_cmpuint (wsbc_rx_buffered (&rx), ==, i);
      feed (&rx, f->data + i, 1);
    }
  assert_takes (&rx, 1024, 300, 3);
  g_assert_cmpuint (wsbc_rx_buffered (&rx), ==, 0);
  wsbc_rx_clear (&rx);
}

/* Frames read together are taken in order; an empty body is a frame too. */
static void
test_several_frames (void)
{
  g_autoptr (GByteArray) a = frame_bytes (5, 0);
  g_autoptr (GByteArray) b = frame_bytes (0, 0);
  g_autoptr (GByteArray) c = frame_bytes (200, 9);
  WsbcRx rx = { NULL };

  feed (&rx, a->data, a->len);
  feed (&rx, b->data, b->len);
  feed (&rx, c->data, c->len - 1);
  assert_takes (&rx, 1024, 5, 0);
  assert_takes (&rx, 1024, 0, 0);
  g_assert_cmpuint (wsbc_rx_missing (&rx, 1024), ==, 1);
  g_assert_cmpint (take (&rx, 1024).status, ==, WSB_FRAME_NEED_MORE);
  feed (&rx, c->data + c->len - 1, 1);
  assert_takes (&rx, 1024, 200, 9);
  g_assert_cmpint (take (&rx, 1024).status, ==, WSB_FRAME_NEED_MORE);
  wsbc_rx_clear (&rx);
}

/* Over the limit: the announced length is reported and nothing is taken. */
static void
test_too_large_and_bad_prefix (void)
{
  static const guint8 bad[11]
      = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
  g_autoptr (GByteArray) f = frame_bytes (2000, 0);
  WsbcRx rx = { NULL };
  Taken t;

  feed (&rx, f->data, 3);
  t = take (&rx, 1999);
  g_assert_cmpint (t.status, ==, WSB_FRAME_TOO_LARGE);
  g_assert_cmpuint (t.announced, ==, 2000);
  g_assert_cmpuint (wsbc_rx_buffered (&rx), ==, 3);
  g_assert_cmpuint (wsbc_rx_missing (&rx, 1999), ==, 1);
  /* At the limit it is fine. */
  g_assert_cmpuint (wsbc_rx_missing (&rx, 2000), ==, f->len - 3);
  wsbc_rx_clear (&rx);

  feed (&rx, bad, sizeof bad);
  t = take (&rx, 1024);
  g_assert_cmpint (t.status, ==, WSB_FRAME_BAD_VARINT);
  g_assert_cmpuint (t.announced, ==, 0);
  g_assert_cmpuint (wsbc_rx_buffered (&rx), ==, sizeof bad);
  wsbc_rx_clear (&rx);
}

/* Room is made by moving the unread bytes to the front before growing. */
static void
test_reserve_compacts_then_grows (void)
{
  g_autoptr (GByteArray) a = frame_bytes (WSBC_RX_CHUNK / 2, 1);
  g_autoptr (GByteArray) b = frame_bytes (1000, 2);
  WsbcRx rx = { NULL };
  guint8 *before;

  feed (&rx, a->data, a->len);
  feed (&rx, b->data, 10);
  g_assert_cmpuint (rx.cap, ==, WSBC_RX_CHUNK);
  assert_takes (&rx, WSBC_RX_CHUNK, WSBC_RX_CHUNK / 2, 1);
  g_assert_cmpuint (rx.start, ==, a->len);

  /* More than fits after end, but fits once the 10 bytes move to the front. */
  before = rx.data;
  g_assert_true (wsbc_rx_reserve (&rx, WSBC_RX_CHUNK - 10));
  g_assert_true (rx.data == before);
  g_assert_cmpuint (rx.cap, ==, WSBC_RX_CHUNK);
  g_assert_cmpuint (rx.start, ==, 0);
  g_assert_cmpuint (rx.end, ==, 10);
  feed (&rx, b->data + 10, b->len - 10);
  assert_takes (&rx, WSBC_RX_CHUNK, 1000, 2);

  /* An empty buffer starts over at the front. */
  g_assert_true (wsbc_rx_reserve (&rx, 1));
  g_assert_cmpuint (rx.start, ==, 0);
  g_assert_cmpuint (rx.end, ==, 0);

  /* Growing keeps what is buffered. */
  feed (&rx, b->data, 10);
  g_assert_true (wsbc_rx_reserve (&rx, 2 * WSBC_RX_CHUNK));
  g_assert_cmpuint (rx.cap, ==, 2 * WSBC_RX_CHUNK + 10);
  g_assert_cmpmem (rx.data, 10, b->data, 10);
  wsbc_rx_clear (&rx);
}

/* A greedy read asks for a chunk, or for the whole rest of a big frame. */
static void
test_greedy_size (void)
{
  g_autoptr (GByteArray) big = frame_bytes (3 * WSBC_RX_CHUNK, 0);
  g_autoptr (GByteArray) small = frame_bytes (100, 0);
  WsbcRx rx = { NULL };

  feed (&rx, small->data, 5);
  g_assert_cmpuint (wsbc_rx_greedy_size (&rx, G_MAXUINT32), ==, WSBC_RX_CHUNK);
  wsbc_rx_clear (&rx);
  feed (&rx, big->data, 100);
  g_assert_cmpuint (wsbc_rx_greedy_size (&rx, G_MAXUINT32), ==, big->len - 100);
  wsbc_rx_clear (&rx);
}

/* A buffer grown for a big frame is released once empty; a chunk-sized one
 * stays for the next reads. */
static void
test_trim (void)
{
  g_autoptr (GByteArray) big = frame_bytes (WSBC_RX_KEEP + 1, 0);
  g_autoptr (GByteArray) small = frame_bytes (10, 0);
  WsbcRx rx = { NULL };

  feed (&rx, small->data, small->len);
  assert_takes (&rx, G_MAXUINT32, 10, 0);
  wsbc_rx_trim (&rx);
  g_assert_nonnull (rx.data);
  g_assert_cmpuint (rx.cap, ==, WSBC_RX_CHUNK);

  feed (&rx, big->data, big->len);
  feed (&rx, small->data, 1);
  g_assert_cmpuint (rx.cap, >, WSBC_RX_KEEP);
  assert_takes (&rx, G_MAXUINT32, WSBC_RX_KEEP + 1, 0);
  /* Not empty yet: kept. */
  wsbc_rx_trim (&rx);
  g_assert_nonnull (rx.data);
  g_assert_cmpuint (wsbc_rx_buffered (&rx), ==, 1);
  feed (&rx, small->data + 1, small->len - 1);
  assert_takes (&rx, G_MAXUINT32, 10, 0);
  wsbc_rx_trim (&rx);
  g_assert_null (rx.data);
  g_assert_cmpuint (rx.cap, ==, 0);
  g_assert_cmpuint (wsbc_rx_buffered (&rx), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client-rx/empty", test_empty);
  g_test_add_func ("/client-rx/byte-by-byte", test_byte_by_byte);
  g_test_add_func ("/client-rx/several-frames", test_several_frames);
  g_test_add_func ("/client-rx/too-large-and-bad-prefix", test_too_large_and_bad_prefix);
  g_test_add_func ("/client-rx/reserve-compacts-then-grows", test_reserve_compacts_then_grows);
  g_test_add_func ("/client-rx/greedy-size", test_greedy_size);
  g_test_add_func ("/client-rx/trim", test_trim);

  return g_test_run ();
}
