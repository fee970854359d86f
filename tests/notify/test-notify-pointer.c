#include "notify-pointer.h"

static JsonNode *
parse (const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

static char *
get (const char *pointer, const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbNotifyPointer) p = wsb_notify_pointer_new (pointer, &error);
  g_autoptr (JsonNode) root = parse (json);

  g_assert_no_error (error);
  return wsb_notify_pointer_get (p, root);
}

#define assert_get(pointer, json, expected)                                                        \
  do                                                                                               \
    {                                                                                              \
      g_autofree char *got_ = get (pointer, json);                                                 \
      g_assert_cmpstr (got_, ==, expected);                                                        \
    }                                                                                              \
  while (0)

static void
test_members_and_indexes (void)
{
  const char *doc = "{\"title\":\"Hi\",\"data\":{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
                    "\"a/b\":\"slash\",\"m~n\":\"tilde\",\"\":\"empty key\",\"~1\":\"lit\"}";

  assert_get ("/title", doc, "Hi");
  assert_get ("/data/items/1/name", doc, "b");
  assert_get ("/data/items/0/name", doc, "a");
  assert_get ("/a~1b", doc, "slash");
  assert_get ("/m~0n", doc, "tilde");
  assert_get ("/", doc, "empty key");
  /* "~01" is "~1" (unescaped once, left to right), not "/". */
  assert_get ("/~01", doc, "lit");
  assert_get ("/0", "[\"first\",\"second\"]", "first");
}

static void
test_no_match (void)
{
  const char *doc = "{\"a\":[1,2],\"n\":null,\"o\":{},\"s\":\"x\"}";

  assert_get ("/missing", doc, NULL);
  assert_get ("/a/2", doc, NULL);  /* past the end */
  assert_get ("/a/01", doc, NULL); /* leading zero */
  assert_get ("/a/-", doc, NULL);
  assert_get ("/a/x", doc, NULL);
  assert_get ("/a/+1", doc, NULL);
  assert_get ("/a/99999999999999999999", doc, NULL);
  assert_get ("/n", doc, NULL); /* null */
  assert_get ("/o", doc, NULL); /* object */
  assert_get ("/a", doc, NULL); /* array */
  assert_get ("/s/0", doc, NULL);
}

static void
test_value_text (void)
{
  const char *doc = "{\"i\":42,\"neg\":-7,\"big\":9007199254740993,\"f\":1.5,\"tenth\":0.1,"
                    "\"exp\":1e300,\"t\":true,\"no\":false,\"u\":\"a\\u00e9\\n\"}";

  assert_get ("/i", doc, "42");
  assert_get ("/neg", doc, "-7");
  assert_get ("/big", doc, "9007199254740993");
  assert_get ("/f", doc, "1.5");
  assert_get ("/tenth", doc, "0.1");
  assert_get ("/exp", doc, "1e+300");
  assert_get ("/t", doc, "true");
  assert_get ("/no", doc, "false");
  assert_get ("/u", doc, "a\u00e9\n");
}

/* Doubles as the daemon routes them (common/json-text.h): the shortest
 * round trip, written as JavaScript writes it. */
static void
test_double_text (void)
{
  const char *doc = "{\"hundred\":100.0,\"e2\":1e2,\"neg\":-0.0,\"big\":1e21,"
                    "\"plain\":1e20,\"small\":1e-7,\"third\":0.30000000000000004}";

  assert_get ("/hundred", doc, "100");
  assert_get ("/e2", doc, "100");
  assert_get ("/neg", doc, "0");
  assert_get ("/big", doc, "1e+21");
  assert_get ("/plain", doc, "100000000000000000000");
  assert_get ("/small", doc, "1e-7");
  assert_get ("/third", doc, "0.30000000000000004");
}

static void
test_invalid_pointers (void)
{
  const char *bad[] = { "", "title", "/a~", "/a~2", "/~x", "\xff" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (WsbNotifyPointer) p = wsb_notify_pointer_new (bad[i], &error);

      g_assert_null (p);
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
      g_assert_true (g_str_has_prefix (error->message, "invalid JSON pointer"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify-pointer/members-and-indexes", test_members_and_indexes);
  g_test_add_func ("/notify-pointer/no-match", test_no_match);
  g_test_add_func ("/notify-pointer/value-text", test_value_text);
  g_test_add_func ("/notify-pointer/double-text", test_double_text);
  g_test_add_func ("/notify-pointer/invalid", test_invalid_pointers);
  return g_test_run ();
}
