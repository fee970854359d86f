#include <json-glib/json-glib.h>
#include <string.h>

#include "template.h"
#include "wsb-error.h"

#define SUB "{\"op\":\"subscribe\",\"channel\":\"{channel}\"}"

#define assert_fills(tmpl, channel, expected)                                                      \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *got_ = wsb_template_fill (tmpl, channel);                                     \
    g_assert_cmpstr (got_, ==, expected);                                                          \
  }                                                                                                \
  G_STMT_END

static void
test_check (void)
{
  const struct
  {
    const char *tmpl;
    const char *why;
  } bad[] = {
    { "", "must contain {channel}" },
    { "{\"op\":\"subscribe\"}", "must contain {channel}" },
    { "{channel", "must contain {channel}" },
    { "{Channel}", "must contain {channel}" },
    { "{ channel }", "must contain {channel}" },
    { "{\"c\":\"{channel}\",\"x\":\"\xff\"}", "not valid UTF-8" },
  };

  g_assert_true (wsb_template_check (SUB, NULL));
  g_assert_true (wsb_template_check ("{channel}", NULL));
  g_assert_true (wsb_template_check ("SUBSCRIBE {channel}", NULL));
  g_assert_true (wsb_template_check ("{\"a\":\"{channel}\",\"b\":[\"{channel}\"]}", NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (wsb_template_check (bad[i].tmpl, &error));
      g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "invalid template"));
      g_assert_nonnull (strstr (error->message, bad[i].why));
    }
}

static void
test_fill (void)
{
  assert_fills (SUB, "btc-usd", "{\"op\":\"subscribe\",\"channel\":\"btc-usd\"}");
  assert_fills ("{channel}", "x", "x");
  assert_fills ("SUBSCRIBE {channel}\n", "trades", "SUBSCRIBE trades\n");
  /* Every placeholder, and nothing else that looks like one. */
  assert_fills ("{\"a\":\"{channel}\",\"b\":[\"{channel}\"],\"c\":\"{chan}\"}", "x",
                "{\"a\":\"x\",\"b\":[\"x\"],\"c\":\"{chan}\"}");
  assert_fills ("{channel}{channel}", "ab", "abab");
  /* The channel's own text is not searched for placeholders. */
  assert_fills ("[\"{channel}\"]", "{channel}", "[\"{channel}\"]");
  /* A template without a placeholder comes back as it is. */
  assert_fills ("ping", "x", "ping");
}

static void
test_escaping (void)
{
  assert_fills (SUB, "a\"b", "{\"op\":\"subscribe\",\"channel\":\"a\\\"b\"}");
  assert_fills ("\"{channel}\"", "a\\b", "\"a\\\\b\"");
  assert_fills ("\"{channel}\"", "\"},{\"op\":\"x", "\"\\\"},{\\\"op\\\":\\\"x\"");
  /* Control characters: the short escapes, and \u00XX for the rest. */
  assert_fills ("\"{channel}\"", "a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
  assert_fills ("\"{channel}\"", "\x01\x1f", "\"\\u0001\\u001F\"");
  /* '/' and non-ASCII stay as they are (JSON allows both). */
  assert_fills ("\"{channel}\"", "a/b", "\"a/b\"");
  assert_fills ("\"{channel}\"", "caf\xc3\xa9 \xf0\x9f\x98\x80",
                "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  assert_fills ("\"{channel}\"", "", "\"\"");
}

static void
test_result_is_json (void)
{
  const char *channels[] = { "plain",    "q\"uote",     "back\\slash", "new\nline",
                             "\x01\x7f", "caf\xc3\xa9", "a/b",         "}]\",{channel}" };

  /* Read back by a JSON parser, the frame holds the channel byte for byte. */
  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      g_autofree char *frame = wsb_template_fill (SUB, channels[i]);
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      JsonObject *doc;

      g_assert_true (json_parser_load_from_data (parser, frame, -1, &error));
      g_assert_no_error (error);
      doc = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpuint (json_object_get_size (doc), ==, 2);
      g_assert_cmpstr (json_object_get_string_member (doc, "op"), ==, "subscribe");
      g_assert_cmpstr (json_object_get_string_member (doc, "channel"), ==, channels[i]);
    }
}

static void
test_invalid_channel (void)
{
  /* Never a valid channel name; nothing is filled in. */
  g_assert_null (wsb_template_fill (SUB, "\xff"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/template/check", test_check);
  g_test_add_func ("/template/fill", test_fill);
  g_test_add_func ("/template/escaping", test_escaping);
  g_test_add_func ("/template/result-is-json", test_result_is_json);
  g_test_add_func ("/template/invalid-channel", test_invalid_channel);
  return g_test_run ();
}
