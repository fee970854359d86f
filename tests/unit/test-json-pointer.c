/* common/json-pointer.c: RFC 6901 pointers as the daemon and wsbridge-notify
 * take them. */
#include <string.h>

#include "json-pointer.h"

typedef struct
{
  const char *key;
  gssize index;
} Token;

/* pointer compiles to the n tokens of expected. */
static void
assert_tokens (const char *pointer, const Token *expected, guint n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbJsonPointer) p = wsb_json_pointer_new (pointer, &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->text, ==, pointer);
  g_assert_cmpuint (p->n_tokens, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (p->tokens[i].key, ==, expected[i].key);
      g_assert_cmpuint (p->tokens[i].key_len, ==, strlen (expected[i].key));
      g_assert_cmpint (p->tokens[i].index, ==, expected[i].index);
    }
}

#define ASSERT_TOKENS(pointer, ...)                                                                \
  G_STMT_START                                                                                     \
  {                                                                                                \
    const Token t_[] = { __VA_ARGS__ };                                                            \
    assert_tokens (pointer, t_, G_N_ELEMENTS (t_));                                                \
  }                                                                                                \
  G_STMT_END

static void
test_tokens (void)
{
  ASSERT_TOKENS ("/channel", { "channel", -1 });
  ASSERT_TOKENS ("/data/0/topic", { "data", -1 }, { "0", 0 }, { "topic", -1 });
  /* "/" names the member "", "//" the member "" of the member "". */
  ASSERT_TOKENS ("/", { "", -1 });
  ASSERT_TOKENS ("//", { "", -1 }, { "", -1 });
  ASSERT_TOKENS ("/a/", { "a", -1 }, { "", -1 });
  ASSERT_TOKENS ("/a b/\xc3\xa9", { "a b", -1 }, { "\xc3\xa9", -1 });
}

static void
test_escapes (void)
{
  ASSERT_TOKENS ("/a~1b", { "a/b", -1 });
  ASSERT_TOKENS ("/m~0n", { "m~n", -1 });
  ASSERT_TOKENS ("/~0~1", { "~/", -1 });
  ASSERT_TOKENS ("/~1~0", { "/~", -1 });
  /* Unescaped once, left to right: "~01" is "~1", not "/". */
  ASSERT_TOKENS ("/~01", { "~1", -1 });
  ASSERT_TOKENS ("/~00", { "~0", -1 });
  /* An escaped '/' is part of the key, not a separator. */
  ASSERT_TOKENS ("/a~1b/c", { "a/b", -1 }, { "c", -1 });
  /* "~1" that reads as a digit is not an index. */
  ASSERT_TOKENS ("/~10", { "/0", -1 });
}

static void
test_array_indexes (void)
{
  ASSERT_TOKENS ("/0", { "0", 0 });
  ASSERT_TOKENS ("/7", { "7", 7 });
  ASSERT_TOKENS ("/12", { "12", 12 });
  ASSERT_TOKENS ("/4294967296", { "4294967296", G_GINT64_CONSTANT (4294967296) });
  /* Not indexes (RFC 6901 §4): leading zeros, signs, "-", spaces, other
   * characters, and what no array could be long enough for. */
  ASSERT_TOKENS ("/01", { "01", -1 });
  ASSERT_TOKENS ("/00", { "00", -1 });
  ASSERT_TOKENS ("/-", { "-", -1 });
  ASSERT_TOKENS ("/-1", { "-1", -1 });
  ASSERT_TOKENS ("/+1", { "+1", -1 });
  ASSERT_TOKENS ("/ 1", { " 1", -1 });
  ASSERT_TOKENS ("/1 ", { "1 ", -1 });
  ASSERT_TOKENS ("/1e2", { "1e2", -1 });
  ASSERT_TOKENS ("/0x1", { "0x1", -1 });
  ASSERT_TOKENS ("/", { "", -1 });
  ASSERT_TOKENS ("/99999999999999999999", { "99999999999999999999", -1 });
}

static void
test_invalid (void)
{
  const struct
  {
    const char *pointer;
    const char *why;
  } bad[] = {
    { "", "it is empty" },
    { "channel", "must start with '/', e.g. \"/channel\"" },
    { "#/channel", "must start with '/'" },
    { "/a~", "'~' at byte 2 must be followed by 0 or 1" },
    { "/a~2", "'~' at byte 2" },
    { "/~/", "'~' at byte 1" },
    { "/~x", "followed by 0 or 1" },
    { "/ok/~", "'~' at byte 4" },
    { "/\xff", "not valid UTF-8" },
    { "\xff", "not valid UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (WsbJsonPointer) p = NULL;

      g_assert_false (wsb_json_pointer_check (bad[i].pointer, &error));
      g_assert_error (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "invalid JSON pointer"));
      g_assert_nonnull (strstr (error->message, bad[i].why));
      g_clear_error (&error);
      p = wsb_json_pointer_new (bad[i].pointer, &error);
      g_assert_null (p);
      g_assert_error (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID);
    }
  g_assert_false (wsb_json_pointer_check (NULL, NULL));
  g_assert_null (wsb_json_pointer_new (NULL, NULL));
  g_assert_true (wsb_json_pointer_check ("/~0~1", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-pointer/tokens", test_tokens);
  g_test_add_func ("/json-pointer/escapes", test_escapes);
  g_test_add_func ("/json-pointer/array-indexes", test_array_indexes);
  g_test_add_func ("/json-pointer/invalid", test_invalid);
  return g_test_run ();
}
