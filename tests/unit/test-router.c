#include <string.h>

#include "json-scan.h"
#include "router.h"
#include "wsb-error.h"

/* The channel message routes to with pointer, or NULL. */
static char *
route_len (const char *pointer, const char *message, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbRouter) r = wsb_router_new (pointer, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return wsb_router_route (r, message, len);
}

static char *
route (const char *pointer, const char *message)
{
  return route_len (pointer, message, strlen (message));
}

#define assert_routes(pointer, message, expected)                                                  \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *got_ = route (pointer, message);                                              \
    g_assert_cmpstr (got_, ==, expected);                                                          \
  }                                                                                                \
  G_STMT_END

static void
test_pointer_check (void)
{
  const char *good[]
      = { "/channel", "/data/0/topic", "/", "//", "/a~1b", "/m~0n", "/~01", "/é/ü", "/a b", "/-" };
  const struct
  {
    const char *pointer;
    const char *why;
  } bad[] = {
    { "", "empty" },
    { "channel", "start with '/'" },
    { "/a~", "'~' at byte 2" },
    { "/a~2", "followed by 0 or 1" },
    { "/~/", "'~' at byte 1" },
    { "/\xff", "UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (wsb_json_pointer_check (good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (WsbRouter) r = NULL;

      g_assert_false (wsb_json_pointer_check (bad[i].pointer, &error));
      g_assert_error (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, "invalid JSON pointer"));
      g_assert_nonnull (strstr (error->message, bad[i].why));
      g_clear_error (&error);
      r = wsb_router_new (bad[i].pointer, &error);
      g_assert_null (r);
      g_assert_error (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID);
    }
  g_assert_false (wsb_json_pointer_check (NULL, NULL));
}

/* The examples of RFC 6901 §5, with string values in place of the arrays
 * and numbers the RFC uses where those would not route. */
static void
test_rfc6901_examples (void)
{
  const char *doc = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3,"
                    " \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8}";

  assert_routes ("/foo/0", doc, "bar");
  assert_routes ("/foo/1", doc, "baz");
  assert_routes ("/", doc, "0");
  assert_routes ("/a~1b", doc, "1");
  assert_routes ("/c%d", doc, "2");
  assert_routes ("/e^f", doc, "3");
  assert_routes ("/g|h", doc, "4");
  assert_routes ("/i\\j", doc, "5");
  assert_routes ("/k\"l", doc, "6");
  assert_routes ("/ ", doc, "7");
  assert_routes ("/m~0n", doc, "8");
  /* The whole array is not a channel. */
  assert_routes ("/foo", doc, NULL);
  /* "~01" is "~1" unescaped once, not "/". */
  assert_routes ("/~01", "{\"~1\": \"tilde-one\", \"/\": \"slash\"}", "tilde-one");
  assert_routes ("/~1", "{\"~1\": \"tilde-one\", \"/\": \"slash\"}", "slash");
  /* An empty token is the key "", twice over. */
  assert_routes ("//", "{\"\": {\"\": \"deep\"}}", "deep");
}

static void
test_top_level_and_nested (void)
{
  assert_routes ("/channel", "{\"channel\":\"btc-usd\",\"seq\":123,\"price\":\"41234.5\"}",
                 "btc-usd");
  assert_routes ("/data/0/topic", "{\"type\":\"update\",\"data\":[{\"topic\":\"trades.btc\"}]}",
                 "trades.btc");
  assert_routes ("/a/b/c", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep");
  /* Whitespace anywhere JSON allows it. */
  assert_routes ("/channel", " \t\r\n{ \"channel\" : \"x\" }\n", "x");
  /* Duplicate keys: the last one wins. */
  assert_routes ("/channel", "{\"channel\":\"first\",\"channel\":\"last\"}", "last");
  /* The root may be an array. */
  assert_routes ("/1", "[\"a\",\"b\"]", "b");
}

static void
test_arrays (void)
{
  const char *doc
      = "{\"a\":[\"zero\",\"one\",\"two\",\"three\",\"four\",\"five\",\"six\",\"seven\","
        "\"eight\",\"nine\",\"ten\",\"eleven\"]}";

  assert_routes ("/a/0", doc, "zero");
  assert_routes ("/a/10", doc, "ten");
  assert_routes ("/a/11", doc, "eleven");
  /* Leading zeros are not indexes. */
  assert_routes ("/a/01", doc, NULL);
  assert_routes ("/a/00", doc, NULL);
  /* Out of range, past the end ("-"), negative, not a number. */
  assert_routes ("/a/12", doc, NULL);
  assert_routes ("/a/-", doc, NULL);
  assert_routes ("/a/-1", doc, NULL);
  assert_routes ("/a/1a", doc, NULL);
  assert_routes ("/a/+1", doc, NULL);
  assert_routes ("/a/", doc, NULL);
  assert_routes ("/a/99999999999999999999999999", doc, NULL);
  /* In an object, digits are just a key. */
  assert_routes ("/0", "{\"0\":\"key-zero\"}", "key-zero");
  assert_routes ("/01", "{\"01\":\"key-zero-one\"}", "key-zero-one");
  assert_routes ("/-", "{\"-\":\"dash\"}", "dash");
  /* Going through a scalar resolves nothing. */
  assert_routes ("/a/0/x", doc, NULL);
  assert_routes ("/s/0", "{\"s\":\"string\"}", NULL);
}

static void
test_numbers (void)
{
  assert_routes ("/c", "{\"c\":42}", "42");
  assert_routes ("/c", "{\"c\":-7}", "-7");
  assert_routes ("/c", "{\"c\":0}", "0");
  assert_routes ("/c", "{\"c\":-0}", "0");
  assert_routes ("/c", "{\"c\":9223372036854775807}", "9223372036854775807");
  assert_routes ("/c", "{\"c\":-9223372036854775808}", "-9223372036854775808");
  /* Reals: the shortest digits that read back as the same double. */
  assert_routes ("/c", "{\"c\":1.5}", "1.5");
  assert_routes ("/c", "{\"c\":0.1}", "0.1");
  assert_routes ("/c", "{\"c\":-2.25}", "-2.25");
  assert_routes ("/c", "{\"c\":41234.5}", "41234.5");
  assert_routes ("/c", "{\"c\":100.0}", "100");
  assert_routes ("/c", "{\"c\":1e2}", "100");
  assert_routes ("/c", "{\"c\":1.0E+2}", "100");
  assert_routes ("/c", "{\"c\":0.30000000000000004}", "0.30000000000000004");
  assert_routes ("/c", "{\"c\":123456789012345.6}", "123456789012345.6");
  assert_routes ("/c", "{\"c\":1e15}", "1000000000000000");
  assert_routes ("/c", "{\"c\":1e16}", "10000000000000000");
  assert_routes ("/c", "{\"c\":1.5e16}", "15000000000000000");
  assert_routes ("/c", "{\"c\":12345678901234567.0}", "12345678901234568");
  assert_routes ("/c", "{\"c\":1e20}", "100000000000000000000");
  assert_routes ("/c", "{\"c\":1e21}", "1e+21");
  assert_routes ("/c", "{\"c\":0.0001}", "0.0001");
  assert_routes ("/c", "{\"c\":0.00001}", "0.00001");
  assert_routes ("/c", "{\"c\":1e-6}", "0.000001");
  assert_routes ("/c", "{\"c\":1e-7}", "1e-7");
  assert_routes ("/c", "{\"c\":2.5e-7}", "2.5e-7");
  assert_routes ("/c", "{\"c\":-0.0}", "0");
  assert_routes ("/c", "{\"c\":1.7976931348623157e308}", "1.7976931348623157e+308");
  assert_routes ("/c", "{\"c\":5e-324}", "5e-324");
  assert_routes ("/c", "{\"c\":-1e-400}", "0"); /* underflows to -0.0 */
  /* Not JSON numbers. */
  assert_routes ("/c", "{\"c\":01}", NULL);
  assert_routes ("/c", "{\"c\":+1}", NULL);
  assert_routes ("/c", "{\"c\":.5}", NULL);
  assert_routes ("/c", "{\"c\":1.}", NULL);
  assert_routes ("/c", "{\"c\":NaN}", NULL);
  assert_routes ("/c", "{\"c\":Infinity}", NULL);
  /* Valid JSON, but a double cannot hold it. */
  assert_routes ("/c", "{\"c\":1e400}", NULL);
}

/* jansson holds integers as int64; a message with a larger one is read
 * again with every number as a double. */
static void
test_integers_beyond_int64 (void)
{
  const char *big = "18446744073709551616";
  g_autofree char *other_field = g_strdup_printf ("{\"c\":\"x\",\"id\":%s}", big);
  g_autofree char *int_channel = g_strdup_printf ("{\"c\":42,\"id\":%s}", big);
  g_autofree char *negative = g_strdup_printf ("{\"c\":-42,\"id\":-%s}", big);
  g_autofree char *real_channel = g_strdup_printf ("{\"c\":2.5,\"id\":%s}", big);
  g_autofree char *exact = g_strdup_printf ("{\"c\":-9007199254740991,\"id\":%s}", big);
  g_autofree char *inexact = g_strdup_printf ("{\"c\":9007199254740993,\"id\":%s}", big);
  g_autofree char *big_channel = g_strdup_printf ("{\"c\":%s}", big);

  assert_routes ("/c", other_field, "x");
  assert_routes ("/c", int_channel, "42");
  assert_routes ("/c", negative, "-42");
  assert_routes ("/c", real_channel, "2.5");
  assert_routes ("/c", exact, "-9007199254740991");
  /* From 2^53 on the double may not be the number that was sent (this
   * one reads as 2^53). */
  assert_routes ("/c", inexact, NULL);
  assert_routes ("/c", big_channel, NULL);
}

static void
test_strings (void)
{
  assert_routes ("/c", "{\"c\":\"caf\xc3\xa9\"}", "caf\xc3\xa9");
  assert_routes ("/c", "{\"c\":\"caf\\u00e9\"}", "caf\xc3\xa9");
  /* A surrogate pair: U+1F600. */
  assert_routes ("/c", "{\"c\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80");
  assert_routes ("/c", "{\"c\":\"a\\\"b\\\\c\\/d\"}", "a\"b\\c/d");
  assert_routes ("/c", "{\"c\":\"book.btc-usd/depth:10\"}", "book.btc-usd/depth:10");
  /* Keys are matched after unescaping, on both sides. */
  assert_routes ("/\xc3\xa9", "{\"\\u00e9\":\"accent\"}", "accent");
  /* A lone surrogate is not valid JSON. */
  assert_routes ("/c", "{\"c\":\"\\ud83d\"}", NULL);
  /* Invalid UTF-8 anywhere in the message: not JSON. */
  assert_routes ("/c", "{\"c\":\"x\",\"d\":\"\xff\"}", NULL);
  assert_routes ("/c", "{\"c\":\"\xc0\xaf\"}", NULL);
}

static void
test_not_routed (void)
{
  const char *values[]
      = { "{}", "[]", "{\"x\":\"y\"}", "[\"y\"]", "true", "false", "null", "\"\"" };

  /* Objects, arrays, booleans, null and "" are not channels. */
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *doc = g_strdup_printf ("{\"c\":%s}", values[i]);
      assert_routes ("/c", doc, NULL);
    }
  /* Missing key, and a pointer into the wrong kind of value. */
  assert_routes ("/channel", "{\"chan\":\"x\"}", NULL);
  assert_routes ("/Channel", "{\"channel\":\"x\"}", NULL);
  assert_routes ("/c/d", "{\"c\":{\"e\":\"x\"}}", NULL);
  assert_routes ("/c/0", "{\"c\":{\"e\":\"x\"}}", NULL);
}

static void
test_not_json (void)
{
  const char *messages[] = {
    "hello world",
    "ping",
    "",
    "   ",
    "\"btc-usd\"",
    "42",
    "{\"c\":\"x\"",           /* truncated */
    "{\"c\":\"x",             /* truncated in a string */
    "{\"c\":\"x\",}",         /* trailing comma */
    "{\"c\":\"x\"} trailing", /* trailing bytes */
    "{\"c\":\"x\"}{}",        /* two documents */
    "{'c':'x'}",
    "{c:\"x\"}",
    "{\"c\":\"a\tb\"}", /* raw control character in a string */
    "{\"c\":\"x\"} // comment",
  };

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      g_autofree char *got = route ("/c", messages[i]);
      g_assert_cmpstr (got, ==, NULL);
    }
  /* Only len bytes are read: the rest of the buffer does not count. */
  {
    g_autofree char *got = route_len ("/c", "{\"c\":\"x\"}garbage", 9);
    g_assert_cmpstr (got, ==, "x");
  }
  {
    g_autofree char *got = route_len ("/c", "{\"c\":\"x\"}", 8);
    g_assert_cmpstr (got, ==, NULL);
  }
  {
    g_autoptr (WsbRouter) r = wsb_router_new ("/c", NULL);
    g_assert_null (wsb_router_route (r, NULL, 0));
  }
}

static void
test_channel_name_limits (void)
{
  g_autofree char *name255 = g_strnfill (255, 'x');
  g_autofree char *name256 = g_strnfill (256, 'x');
  g_autofree char *name300 = g_strnfill (300, 'x');
  g_autofree char *doc255 = g_strdup_printf ("{\"c\":\"%s\"}", name255);
  g_autofree char *doc256 = g_strdup_printf ("{\"c\":\"%s\"}", name256);
  g_autofree char *doc300 = g_strdup_printf ("{\"c\":\"%s\"}", name300);

  assert_routes ("/c", doc255, name255);
  assert_routes ("/c", doc256, NULL);
  assert_routes ("/c", doc300, NULL);
  /* Control characters, escaped in JSON, are not allowed in channel names. */
  assert_routes ("/c", "{\"c\":\"a\\nb\"}", NULL);
  assert_routes ("/c", "{\"c\":\"a\\u001fb\"}", NULL);
  assert_routes ("/c", "{\"c\":\"a\\u007fb\"}", NULL);
  assert_routes ("/c", "{\"c\":\"\\t\"}", NULL);
  /* Non-ASCII above them is fine. */
  assert_routes ("/c", "{\"c\":\"a\\u0080b\"}",
                 "a\xc2\x80"
                 "b");
}

static void
test_embedded_nul (void)
{
  /* "\u0000" is valid JSON: the message parses, the channel elsewhere routes ... */
  assert_routes ("/c", "{\"payload\":\"a\\u0000b\",\"c\":\"x\"}", "x");
  /* ... but a channel holding it is not a channel name. */
  assert_routes ("/c", "{\"c\":\"a\\u0000b\"}", NULL);
  /* jansson refuses NUL in object keys, which takes the whole message. */
  assert_routes ("/c", "{\"a\\u0000b\":1,\"c\":\"x\"}", NULL);
  /* A raw NUL byte is never JSON, wherever it is, even where jansson
   * would skip it (after a number or a literal). */
  {
    g_autoptr (WsbRouter) r = wsb_router_new ("/c", NULL);
#define assert_raw_not_routed(lit) g_assert_null (wsb_router_route (r, lit, sizeof lit - 1))
    assert_raw_not_routed ("{\"c\":\"x\"}\0");
    assert_raw_not_routed ("\0{\"c\":\"x\"}");
    assert_raw_not_routed ("{\"c\":\"x\0\"}");
    assert_raw_not_routed ("{\"c\":\"x\",\0\"n\":1}");
    assert_raw_not_routed ("{\"c\":\"x\",\"n\":1\0}");
    assert_raw_not_routed ("{\"c\":\"x\",\"t\":true\0}");
#undef assert_raw_not_routed
  }
}

static void
test_router_reuse (void)
{
  g_autoptr (WsbRouter) r = wsb_router_new ("/data/0/topic", NULL);

  /* One compiled pointer, many messages. */
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *doc = g_strdup_printf ("{\"data\":[{\"topic\":\"t%u\"}]}", i);
      g_autofree char *expected = g_strdup_printf ("t%u", i);
      g_autofree char *got = wsb_router_route (r, doc, strlen (doc));
      g_assert_cmpstr (got, ==, expected);
    }
  wsb_router_free (NULL);
}

static void
test_deep_nesting (void)
{
  GString *doc = g_string_new (NULL);

  /* Deeper than jansson's limit (2048): refused, not a crash. */
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (doc, '[');
  {
    g_autofree char *got = route_len ("/0", doc->str, doc->len);
    g_assert_null (got);
  }
  g_string_free (doc, TRUE);
}

/* Of duplicate keys the last one counts, at every level of the path: a
 * later member replaces the earlier one with all it held. */
static void
test_duplicate_keys (void)
{
  assert_routes ("/c", "{\"c\":\"x\",\"c\":{}}", NULL);
  assert_routes ("/c", "{\"c\":{},\"c\":\"x\"}", "x");
  assert_routes ("/c", "{\"c\":\"x\",\"d\":1,\"c\":2}", "2");
  assert_routes ("/a/c", "{\"a\":{\"c\":\"x\"},\"a\":{\"c\":\"y\"}}", "y");
  assert_routes ("/a/c", "{\"a\":{\"c\":\"x\"},\"a\":{\"d\":\"y\"}}", NULL);
  assert_routes ("/a/c", "{\"a\":{\"c\":\"x\"},\"a\":7}", NULL);
  assert_routes ("/a/c", "{\"a\":{\"c\":\"x\",\"c\":\"y\"},\"b\":1}", "y");
  assert_routes ("/a/0", "{\"a\":[\"x\"],\"a\":[\"y\",\"z\"]}", "y");
  assert_routes ("/a/1", "{\"a\":[\"x\"],\"a\":[\"y\",\"z\"]}", "z");
  assert_routes ("/a/1", "{\"a\":[\"x\",\"w\"],\"a\":[\"y\"]}", NULL);
  assert_routes ("/a/0/c", "{\"a\":[{\"c\":\"x\",\"c\":\"y\"}]}", "y");
  /* A key of the same name deeper down, off the path, is not a duplicate. */
  assert_routes ("/c", "{\"x\":{\"c\":\"wrong\"},\"c\":\"right\",\"y\":[{\"c\":\"no\"}]}", "right");
  assert_routes ("/b/c", "{\"a\":{\"b\":{\"c\":\"no\"}},\"b\":{\"c\":\"yes\"}}", "yes");
}

static void
test_escaped_keys (void)
{
  assert_routes ("/c", "{\"\\u0063\":\"x\"}", "x");
  assert_routes ("/a~1b", "{\"a\\/b\":\"x\"}", "x");
  assert_routes ("/\"q\"", "{\"\\\"q\\\"\":\"x\"}", "x");
  assert_routes ("/t\tab", "{\"t\\tab\":\"x\"}", "x");
  assert_routes ("/\xf0\x9f\x98\x80", "{\"\\ud83d\\ude00\":\"smile\"}", "smile");
  assert_routes ("/\xc3\xa9t\xc3\xa9", "{\"\\u00e9t\\u00E9\":\"summer\"}", "summer");
  /* Longer, shorter or other than the token after decoding. */
  assert_routes ("/cc", "{\"cc\\u0041\":\"x\"}", NULL);
  assert_routes ("/cA", "{\"c\\u0041\":\"x\"}", "x");
  assert_routes ("/cAB", "{\"c\\u0041\":\"x\"}", NULL);
  assert_routes ("/c", "{\"c\\u0041\":\"x\"}", NULL);
  assert_routes ("/\xc3\xa9", "{\"\\u00e8\":\"x\"}", NULL);
  /* An escaped key among plain ones, and on the way down. */
  assert_routes ("/a/b", "{\"\\u0061\":{\"\\u0062\":\"x\"},\"b\":\"y\"}", "x");
}

/* The number at the pointer as router.h says, and every number elsewhere
 * checked: one a double cannot hold makes the message not JSON. */
static void
test_number_forms (void)
{
  g_autoptr (GString) big = g_string_new ("{\"c\":\"x\",\"n\":");
  g_autoptr (GString) huge = NULL;

  assert_routes ("/c", "{\"c\":10}", "10");
  assert_routes ("/c", "{\"c\":-10}", "-10");
  assert_routes ("/c", "{\"c\":100}", "100");
  assert_routes ("/c", "{\"c\":-0}", "0");
  assert_routes ("/c", "{\"c\":1E2}", "100");
  assert_routes ("/c", "{\"c\":1e-2}", "0.01");
  assert_routes ("/c", "{\"c\":-1.25e+1}", "-12.5");
  assert_routes ("/c", "{\"c\":0e0}", "0");
  /* With an integer beyond int64 in the message every number is a double,
   * so an integral real routes as an integer. */
  assert_routes ("/c", "{\"c\":2.0,\"id\":18446744073709551616}", "2");
  assert_routes ("/c", "{\"c\":-0.0,\"id\":-18446744073709551616}", "0");
  assert_routes ("/c", "{\"id\":9223372036854775808,\"c\":1e300}", NULL);
  assert_routes ("/c", "{\"id\":-9223372036854775809,\"c\":-5}", "-5");
  assert_routes ("/c", "{\"id\":-9223372036854775808,\"c\":2.0}", "2");
  /* Numbers after the channel: still checked. */
  assert_routes ("/c", "{\"c\":\"x\",\"n\":1e400}", NULL);
  assert_routes ("/c", "{\"c\":\"x\",\"n\":-1e400}", NULL);
  assert_routes ("/c", "{\"c\":\"x\",\"n\":1e-400}", "x");
  assert_routes ("/c", "{\"c\":\"x\",\"n\":0.00001e310}", "x");
  assert_routes ("/c", "{\"c\":\"x\",\"n\":1.7976931348623157e308}", "x");
  assert_routes ("/c", "{\"c\":\"x\",\"n\":1.7976931348623159e308}", NULL);
  assert_routes ("/c", "{\"c\":\"x\",\"n\":1e99999999999999999999}", NULL);
  assert_routes ("/c", "{\"c\":\"x\",\"n\":1e-99999999999999999999}", "x");
  /* A 309-digit integer: 1e308 is a double, 2e308 is not. */
  huge = g_string_new (big->str);
  g_string_append_c (big, '1');
  g_string_append_c (huge, '2');
  for (guint i = 0; i < 308; i++)
    {
      g_string_append_c (big, '0');
      g_string_append_c (huge, '0');
    }
  g_string_append_c (big, '}');
  g_string_append_c (huge, '}');
  assert_routes ("/c", big->str, "x");
  assert_routes ("/c", huge->str, NULL);
}

static GString *
nested_arrays (const char *prefix, guint n, const char *inner, const char *suffix)
{
  GString *s = g_string_new (prefix);

  for (guint i = 0; i < n; i++)
    g_string_append_c (s, '[');
  g_string_append (s, inner);
  for (guint i = 0; i < n; i++)
    g_string_append_c (s, ']');
  g_string_append (s, suffix);
  return s;
}

/* Values may nest WSB_JSON_SCAN_MAX_DEPTH (2048) deep, the top one at depth
 * 1, as jansson allowed; one deeper anywhere makes the message not JSON. */
static void
test_nesting_limit (void)
{
  g_autoptr (GString) pointer = g_string_new (NULL);

  g_assert_cmpint (WSB_JSON_SCAN_MAX_DEPTH, ==, 2048);
  for (guint i = 0; i < 2047; i++)
    g_string_append (pointer, "/0");
  {
    /* The string at depth 2048: the deepest value there may be. */
    g_autoptr (GString) doc = nested_arrays ("", 2047, "\"deep\"", "");
    g_autofree char *got = route (pointer->str, doc->str);
    g_assert_cmpstr (got, ==, "deep");
  }
  {
    g_autoptr (GString) doc = nested_arrays ("", 2048, "\"deep\"", "");
    g_autofree char *got = route (pointer->str, doc->str);
    g_assert_null (got);
  }
  {
    /* After the channel: arrays to depth 2048, then one more. */
    g_autoptr (GString) ok = nested_arrays ("{\"c\":\"x\",\"d\":", 2047, "", "}");
    g_autoptr (GString) deep = nested_arrays ("{\"c\":\"x\",\"d\":", 2048, "", "}");
    g_autoptr (GString) ok_scalar = nested_arrays ("{\"c\":\"x\",\"d\":", 2046, "1", "}");
    g_autoptr (GString) deep_scalar = nested_arrays ("{\"c\":\"x\",\"d\":", 2047, "1", "}");
    g_autofree char *got_ok = route ("/c", ok->str);
    g_autofree char *got_deep = route ("/c", deep->str);
    g_autofree char *got_ok_scalar = route ("/c", ok_scalar->str);
    g_autofree char *got_deep_scalar = route ("/c", deep_scalar->str);

    g_assert_cmpstr (got_ok, ==, "x");
    g_assert_null (got_deep);
    g_assert_cmpstr (got_ok_scalar, ==, "x");
    g_assert_null (got_deep_scalar);
  }
}

/* A message routes only when all of it is JSON: what comes after the
 * channel is checked as well (router.h). */
static void
test_invalid_after_channel (void)
{
  const char *messages[] = {
    "{\"c\":\"x\",\"d\":[1,2}",
    "{\"c\":\"x\"}}",
    "{\"c\":\"x\",\"d\":tru}",
    "{\"c\":\"x\",\"d\":truex}",
    "{\"c\":\"x\",\"d\":\"\\ud800\"}",
    "{\"c\":\"x\",\"d\":\"\\udc00\"}",
    "{\"c\":\"x\",\"d\":\"\\ud800\\u0041\"}",
    "{\"c\":\"x\",\"d\":\"\\x\"}",
    "{\"c\":\"x\",\"d\":\"\\u12\"}",
    "{\"c\":\"x\",\"d\":\"\xed\xa0\x80\"}",     /* a surrogate in UTF-8 */
    "{\"c\":\"x\",\"d\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
    "{\"c\":\"x\",\"d\":\"\xe0\x80\xaf\"}",     /* overlong */
    "{\"c\":\"x\",\"d\":\"\xc3\"}",
    "{\"c\":\"x\",\"d\":01}",
    "{\"c\":\"x\",\"d\":1.}",
    "{\"c\":\"x\",\"d\":1e}",
    "{\"c\":\"x\",\"d\":-}",
    "{\"c\":\"x\",\"d\":[,]}",
    "{\"c\":\"x\",\"d\":{\"k\"}}",
    "{\"c\":\"x\",\"d\":{1:2}}",
    "{\"c\":\"x\" \"d\":1}",
    "{\"c\":\"x\",\"\\u0000\":1}",
    "{\"c\":\"x\",\"d\":{\"a\\u0000\":1}}",
    "{\"c\":\"x\"}\x0b",
    "{\"c\":\"x\",\"d\":\"\x7f\x1f\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      g_autofree char *got = route ("/c", messages[i]);
      if (got)
        g_error ("message %u (%s) routed to %s", i, messages[i], got);
    }
  /* Valid all the way: these route. */
  assert_routes ("/c", "{\"c\":\"x\",\"d\":\"a\\u0000b\\ud83d\\ude00\x7f\"}", "x");
  assert_routes ("/c", "{ \"c\" : \"x\" , \"d\" : [ 1 , { } , [ ] , null ] }\r\n", "x");
}

static void
test_paths_through_arrays (void)
{
  const char *doc = "{\"a\":[{\"x\":[1,2,3]},[4,5],\"t\",[[\"p\",\"q\"],[\"r\",\"s\"]]]}";

  assert_routes ("/a/2", doc, "t");
  assert_routes ("/a/1/1", doc, "5");
  assert_routes ("/a/0/x/2", doc, "3");
  assert_routes ("/a/3/1/0", doc, "r");
  assert_routes ("/a/3/1/1", doc, "s");
  assert_routes ("/a/4", doc, NULL);
  assert_routes ("/a/3/2/0", doc, NULL);
  assert_routes ("/a/0/y", doc, NULL);
  assert_routes ("/0/0", "[[\"a\"],[\"b\"]]", "a");
  assert_routes ("/1/0", "[[\"a\"],[\"b\"]]", "b");
}

static void
test_escaped_channel_length (void)
{
  g_autoptr (GString) doc254 = g_string_new ("{\"c\":\"");
  g_autoptr (GString) doc256 = NULL;
  g_autoptr (GString) expected = g_string_new (NULL);

  for (guint i = 0; i < 127; i++)
    {
      g_string_append (doc254, "\\u00e9");
      g_string_append (expected, "\xc3\xa9");
    }
  doc256 = g_string_new (doc254->str);
  g_string_append (doc254, "\"}");
  g_string_append (doc256, "\\u00e9\"}");
  assert_routes ("/c", doc254->str, expected->str);
  assert_routes ("/c", doc256->str, NULL);
}

/* The scanner's own answers, below what the router makes of them. */
static void
test_json_scan (void)
{
  const WsbJsonToken c = { "c", 1, -1 };
  const WsbJsonToken zero = { "0", 1, 0 };
  WsbJsonHit hit = { 0 };
  char out[8];

#define SCAN(text, steps, n) wsb_json_scan (text, strlen (text), steps, n, &hit)
  g_assert_cmpint (SCAN ("{\"c\":\"a\\nb\"}", &c, 1), ==, WSB_JSON_STRING);
  g_assert_cmpmem (hit.value, hit.len, "\"a\\nb\"", 6);
  g_assert_cmpint (wsb_json_string_decode (hit.value, hit.len, out, sizeof out), ==, 3);
  g_assert_cmpmem (out, 3, "a\nb", 3);
  g_assert_cmpint (wsb_json_string_decode (hit.value, hit.len, out, 2), ==, -1);
  g_assert_cmpint (SCAN ("{\"c\":\"a\\u0000\"}", &c, 1), ==, WSB_JSON_STRING);
  g_assert_cmpint (wsb_json_string_decode (hit.value, hit.len, out, sizeof out), ==, 2);
  g_assert_cmpmem (out, 2, "a\0", 2);
  g_assert_cmpint (SCAN ("{\"c\":-12}", &c, 1), ==, WSB_JSON_NUMBER);
  g_assert_cmpmem (hit.value, hit.len, "-12", 3);
  g_assert_true (hit.is_integer);
  g_assert_false (hit.integers_beyond);
  g_assert_cmpint (SCAN ("{\"c\":1.5,\"d\":[99999999999999999999]}", &c, 1), ==, WSB_JSON_NUMBER);
  g_assert_false (hit.is_integer);
  g_assert_true (hit.integers_beyond);
  g_assert_cmpint (SCAN ("{\"c\":9223372036854775807,\"d\":-9223372036854775808}", &c, 1), ==,
                   WSB_JSON_NUMBER);
  g_assert_false (hit.integers_beyond);
  g_assert_cmpint (SCAN ("[true]", &zero, 1), ==, WSB_JSON_ABSENT);
  g_assert_cmpint (SCAN ("{\"c\":null}", &c, 1), ==, WSB_JSON_ABSENT);
  g_assert_cmpint (SCAN ("{\"c\":[\"x\"]}", &c, 1), ==, WSB_JSON_ABSENT);
  g_assert_cmpint (SCAN ("{\"c\":\"x\"", &c, 1), ==, WSB_JSON_INVALID);
  g_assert_cmpint (SCAN ("[\"x\"]", &zero, 1), ==, WSB_JSON_STRING);
  g_assert_cmpint (SCAN ("{\"0\":\"x\"}", &zero, 1), ==, WSB_JSON_STRING);
  g_assert_cmpint (wsb_json_scan (NULL, 0, &c, 1, &hit), ==, WSB_JSON_INVALID);
#undef SCAN
}

static void
test_channel_name_check (void)
{
  g_autofree char *name255 = g_strnfill (255, 'a');
  const struct
  {
    const char *name;
    gsize len;
    const char *why;
  } bad[] = {
    { "", 0, "1-255 bytes" },
    { "a\nb", 3, "control character 0x0a at byte 1" },
    { "\x7f", 1, "control character 0x7f at byte 0" },
    { "a\0b", 3, "control character 0x00 at byte 1" },
    { "ab\xff", 3, "not valid UTF-8 at byte 2" },
    { "\xc3", 1, "not valid UTF-8 at byte 0" },
    { "\xed\xa0\x80", 3, "not valid UTF-8" }, /* a surrogate */
  };

  g_assert_true (wsb_channel_name_check ("*", 1, NULL));
  g_assert_true (wsb_channel_name_check ("btc-usd", 7, NULL));
  g_assert_true (wsb_channel_name_check ("a/b c", 5, NULL));
  g_assert_true (wsb_channel_name_check ("caf\xc3\xa9", 5, NULL));
  g_assert_true (wsb_channel_name_check (name255, 255, NULL));
  /* Only len bytes count. */
  g_assert_true (wsb_channel_name_check ("ab\n", 2, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (wsb_channel_name_check (bad[i].name, bad[i].len, &error));
      g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "invalid channel name: "));
      g_assert_nonnull (strstr (error->message, bad[i].why));
    }
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *name256 = g_strnfill (256, 'a');
    g_assert_false (wsb_channel_name_check (name256, 256, &error));
    g_assert_nonnull (strstr (error->message, "not 256"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/router/pointer-check", test_pointer_check);
  g_test_add_func ("/router/rfc6901-examples", test_rfc6901_examples);
  g_test_add_func ("/router/top-level-and-nested", test_top_level_and_nested);
  g_test_add_func ("/router/arrays", test_arrays);
  g_test_add_func ("/router/numbers", test_numbers);
  g_test_add_func ("/router/integers-beyond-int64", test_integers_beyond_int64);
  g_test_add_func ("/router/strings", test_strings);
  g_test_add_func ("/router/not-routed", test_not_routed);
  g_test_add_func ("/router/not-json", test_not_json);
  g_test_add_func ("/router/channel-name-limits", test_channel_name_limits);
  g_test_add_func ("/router/embedded-nul", test_embedded_nul);
  g_test_add_func ("/router/reuse", test_router_reuse);
  g_test_add_func ("/router/deep-nesting", test_deep_nesting);
  g_test_add_func ("/router/channel-name-check", test_channel_name_check);
  g_test_add_func ("/router/duplicate-keys", test_duplicate_keys);
  g_test_add_func ("/router/escaped-keys", test_escaped_keys);
  g_test_add_func ("/router/number-forms", test_number_forms);
  g_test_add_func ("/router/nesting-limit", test_nesting_limit);
  g_test_add_func ("/router/invalid-after-channel", test_invalid_after_channel);
  g_test_add_func ("/router/paths-through-arrays", test_paths_through_arrays);
  g_test_add_func ("/router/escaped-channel-length", test_escaped_channel_length);
  g_test_add_func ("/json-scan/answers", test_json_scan);
  return g_test_run ();
}
