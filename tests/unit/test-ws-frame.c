#include <string.h>

#include "ws-frame.h"

static void
test_header_roundtrip (void)
{
  static const guint64 lengths[] = { 0, 1, 125, 126, 65535, 65536, G_GUINT64_CONSTANT (1) << 40 };
  const guint8 mask[4] = { 1, 2, 3, 4 };

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    {
      guint8 buf[WSB_WS_MAX_HEADER];
      WsbWsFrameHeader h;
      gsize n = wsb_ws_frame_header_encode (buf, WSB_WS_OP_BINARY, TRUE, TRUE, lengths[i], mask);

      g_assert_cmpuint (n, ==, lengths[i] < 126 ? 6 : lengths[i] <= 65535 ? 8 : 14);
      /* Every prefix is "need more". */
      for (gsize k = 0; k < n; k++)
        g_assert_cmpuint (wsb_ws_frame_header_decode (buf, k, &h), ==, 0);
      g_assert_cmpuint (wsb_ws_frame_header_decode (buf, n, &h), ==, n);
      g_assert_true (h.fin);
      g_assert_cmpuint (h.rsv, ==, 0x40);
      g_assert_cmpuint (h.opcode, ==, WSB_WS_OP_BINARY);
      g_assert_true (h.masked);
      g_assert_cmpmem (h.mask, 4, mask, 4);
      g_assert_cmpuint (h.length, ==, lengths[i]);
      g_assert_false (h.length_too_big);
    }
}

static void
test_header_decode_server_frames (void)
{
  const guint8 text5[] = { 0x81, 0x05 };
  const guint8 huge[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1 };
  const guint8 frag[] = { 0x01, 0x7e, 0x01, 0x00 };
  WsbWsFrameHeader h;

  g_assert_cmpuint (wsb_ws_frame_header_decode (text5, 2, &h), ==, 2);
  g_assert_false (h.masked);
  g_assert_cmpuint (h.length, ==, 5);
  g_assert_cmpuint (wsb_ws_frame_header_decode (huge, sizeof huge, &h), ==, 10);
  g_assert_true (h.length_too_big);
  g_assert_cmpuint (wsb_ws_frame_header_decode (frag, sizeof frag, &h), ==, 4);
  g_assert_false (h.fin);
  g_assert_cmpuint (h.opcode, ==, WSB_WS_OP_TEXT);
  g_assert_cmpuint (h.length, ==, 256);
}

static void
test_mask_matches_bytewise (void)
{
  const guint8 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 src[67], dst[67];

  for (guint i = 0; i < sizeof src; i++)
    src[i] = (guint8) (i * 7);
  for (guint64 offset = 0; offset < 5; offset++)
    for (gsize len = 0; len <= sizeof src; len++)
      {
        wsb_ws_mask (dst, src, len, mask, offset);
        for (gsize i = 0; i < len; i++)
          g_assert_cmpuint (dst[i], ==, src[i] ^ mask[(offset + i) % 4]);
      }
  /* In place, twice, gives the original back. */
  memcpy (dst, src, sizeof src);
  wsb_ws_mask (dst, dst, sizeof dst, mask, 0);
  wsb_ws_mask (dst, dst, sizeof dst, mask, 0);
  g_assert_cmpmem (dst, sizeof dst, src, sizeof src);
}

static void
test_close_codes (void)
{
  static const guint valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
  static const guint invalid[]
      = { 0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535 };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (wsb_ws_close_code_valid (valid[i]));
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    g_assert_false (wsb_ws_close_code_valid (invalid[i]));
}

static gboolean
valid (const char *s, gsize len)
{
  return wsb_utf8_valid ((const guint8 *) s, len);
}

static void
test_utf8 (void)
{
  g_assert_true (valid ("", 0));
  g_assert_true (valid ("plain ASCII text, longer than eight bytes", 41));
  g_assert_true (valid ("a\0b", 3)); /* U+0000 is a character */
  g_assert_true (valid ("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
  g_assert_true (valid ("\xed\x9f\xbf", 3));     /* U+D7FF */
  g_assert_true (valid ("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
  g_assert_false (valid ("\xff", 1));
  g_assert_false (valid ("\xc0\xaf", 2));         /* overlong */
  g_assert_false (valid ("\xe0\x80\xaf", 3));     /* overlong */
  g_assert_false (valid ("\xed\xa0\x80", 3));     /* surrogate */
  g_assert_false (valid ("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
  g_assert_false (valid ("\xf0\x9f\x98", 3));     /* cut short */
  g_assert_false (valid ("abcdefgh\x80", 9));     /* after the ASCII fast path */
  g_assert_false (valid ("\xc3", 1));
}

/* A prefix: where it becomes invalid, and how much of it is whole characters. */
static void
test_utf8_prefix (void)
{
  static const struct
  {
    const char *s;
    gsize len;
    gboolean ok;
    gsize complete;
  } cases[] = {
    { "", 0, TRUE, 0 },
    { "abc", 3, TRUE, 3 },
    { "ab\xc3", 3, TRUE, 2 },
    { "ab\xe2\x82", 4, TRUE, 2 },
    { "\xf0\x9f\x98", 3, TRUE, 0 },
    { "\xf0\x9f\x98\x80", 4, TRUE, 4 },
    { "\xf4\x8f", 2, TRUE, 0 },
    { "\xf4\x90", 2, FALSE, 0 },     /* would be above U+10FFFF */
    { "\xe0\x80", 2, FALSE, 0 },     /* overlong */
    { "\xed\xa0", 2, FALSE, 0 },     /* a surrogate */
    { "\xf0\x8f", 2, FALSE, 0 },     /* overlong */
    { "\xe2\x82\x28", 3, FALSE, 0 }, /* not a continuation */
    { "\xff", 1, FALSE, 0 },
    { "\xc0", 1, FALSE, 0 },
    { "\x80", 1, FALSE, 0 },
    { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80", 15, FALSE, 0 },
    { "ok\x80\x80\x80", 5, FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize complete = 99;

      g_test_message ("case %u", i);
      g_assert_cmpint (wsb_utf8_valid_prefix ((const guint8 *) cases[i].s, cases[i].len, &complete),
                       ==, cases[i].ok);
      if (cases[i].ok)
        g_assert_cmpuint (complete, ==, cases[i].complete);
    }
}

static void
test_mask_keys_vary (void)
{
  WsbWsMaskGen g;
  guint8 a[4], b[4];

  wsb_ws_mask_gen_init (&g);
  wsb_ws_mask_gen_next (&g, a);
  wsb_ws_mask_gen_next (&g, b);
  g_assert_true (memcmp (a, b, 4) != 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ws-frame/header-roundtrip", test_header_roundtrip);
  g_test_add_func ("/ws-frame/header-decode-server-frames", test_header_decode_server_frames);
  g_test_add_func ("/ws-frame/mask", test_mask_matches_bytewise);
  g_test_add_func ("/ws-frame/close-codes", test_close_codes);
  g_test_add_func ("/ws-frame/utf8", test_utf8);
  g_test_add_func ("/ws-frame/utf8-prefix", test_utf8_prefix);
  g_test_add_func ("/ws-frame/mask-keys-vary", test_mask_keys_vary);
  return g_test_run ();
}
