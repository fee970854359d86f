#include <string.h>

#include "ws-deflate.h"

static void
test_negotiation (void)
{
  WsbDeflateParams p;
  gboolean on;
  char *why = NULL;

  g_assert_true (wsb_deflate_params_parse (NULL, TRUE, &on, &p, &why));
  g_assert_false (on);
  g_assert_true (wsb_deflate_params_parse ("permessage-deflate", TRUE, &on, &p, &why));
  g_assert_true (on);
  g_assert_cmpuint (p.client_max_window_bits, ==, 15);
  g_assert_true (wsb_deflate_params_parse (
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=\"10\"; "
      "Server_Max_Window_Bits=9; client_no_context_takeover",
      TRUE, &on, &p, &why));
  g_assert_true (on && p.server_no_context_takeover && p.client_no_context_takeover);
  g_assert_cmpuint (p.client_max_window_bits, ==, 10);
  g_assert_cmpuint (p.server_max_window_bits, ==, 9);

  const struct
  {
    const char *header;
    gboolean offered;
    const char *needle;
  } bad[] = {
    { "permessage-deflate", FALSE, "did not offer" },
    { "x-webkit-deflate-frame", TRUE, "did not offer" },
    { "permessage-deflate, permessage-deflate", TRUE, "more than the one" },
    { "permessage-deflate; foo", TRUE, "unknown parameter 'foo'" },
    { "permessage-deflate; server_max_window_bits=16", TRUE, "invalid value" },
    { "permessage-deflate; server_max_window_bits", TRUE, "invalid value" },
    /* RFC 7692 §7.1.2.1: 1*DIGIT without leading zeros. */
    { "permessage-deflate; server_max_window_bits=010", TRUE, "without leading zeros" },
    { "permessage-deflate; client_max_window_bits=\"09\"", TRUE, "without leading zeros" },
    { "permessage-deflate; client_no_context_takeover=1", TRUE, "a value" },
    { "permessage-deflate; server_no_context_takeover; server_no_context_takeover", TRUE,
      "repeated" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *reason = NULL;
      g_assert_false (wsb_deflate_params_parse (bad[i].header, bad[i].offered, &on, &p, &reason));
      if (!strstr (reason, bad[i].needle))
        g_error ("'%s': reason '%s' lacks '%s'", bad[i].header, reason, bad[i].needle);
    }
}

static void
roundtrip (const WsbDeflateParams *p)
{
  g_autoptr (WsbDeflater) def = wsb_deflater_new (p);
  g_autoptr (WsbInflater) inf = wsb_inflater_new (p);
  g_autoptr (GByteArray) z = g_byte_array_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();
  const char *texts[] = { "", "a", "hello hello hello hello", "hello hello hello hello" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      gsize len = strlen (texts[i]);
      wsb_deflater_compress (def, (const guint8 *) texts[i], len, z);
      g_assert_cmpuint (z->len, >, 0);
      g_byte_array_set_size (out, 0);
      g_assert_cmpint (wsb_inflater_feed (inf, z->data, z->len, TRUE, out, 1024), ==,
                       WSB_INFLATE_OK);
      g_assert_cmpmem (out->data, out->len, texts[i], len);
    }
}

static void
test_roundtrip (void)
{
  WsbDeflateParams shared = { FALSE, FALSE, 15, 15 };
  WsbDeflateParams fresh = { TRUE, TRUE, 9, 9 };
  WsbDeflateParams tiny = { FALSE, FALSE, 15, 8 };

  roundtrip (&shared);
  roundtrip (&fresh);
  g_assert_null (wsb_deflater_new (&tiny));
}

static void
test_limit_is_exact (void)
{
  WsbDeflateParams p = { FALSE, FALSE, 15, 15 };
  g_autofree char *text = g_strnfill (100000, 'q');
  g_autoptr (GByteArray) z = g_byte_array_new ();
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (WsbDeflater) def = wsb_deflater_new (&p);

  wsb_deflater_compress (def, (const guint8 *) text, 100000, z);
  {
    g_autoptr (WsbInflater) inf = wsb_inflater_new (&p);
    g_assert_cmpint (wsb_inflater_feed (inf, z->data, z->len, TRUE, out, 100000), ==,
                     WSB_INFLATE_OK);
    g_assert_cmpuint (out->len, ==, 100000);
  }
  {
    g_autoptr (WsbInflater) inf = wsb_inflater_new (&p);
    g_byte_array_set_size (out, 0);
    g_assert_cmpint (wsb_inflater_feed (inf, z->data, z->len, TRUE, out, 99999), ==,
                     WSB_INFLATE_TOO_LARGE);
    g_assert_cmpuint (out->len, <=, 100000);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ws-deflate/negotiation", test_negotiation);
  g_test_add_func ("/ws-deflate/roundtrip", test_roundtrip);
  g_test_add_func ("/ws-deflate/limit", test_limit_is_exact);
  return g_test_run ();
}
