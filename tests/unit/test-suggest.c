#include "suggest.h"

static void
test_suggest (void)
{
  const char *const keys[] = { "ping_interval", "pong_timeout",     "url", "headers",
                               "history_bytes", "history_messages", NULL };
  const char *const cmds[] = { "status", "watch", "send", "history", "add", "remove", NULL };

  g_assert_cmpstr (wsb_suggest ("ping_intervall", keys), ==, "ping_interval");
  g_assert_cmpstr (wsb_suggest ("pong_timout", keys), ==, "pong_timeout");
  g_assert_cmpstr (wsb_suggest ("hedaers", keys), ==, "headers"); /* a transposition */
  g_assert_cmpstr (wsb_suggest ("histroy_bytes", keys), ==, "history_bytes");
  g_assert_cmpstr (wsb_suggest ("stauts", cmds), ==, "status");
  g_assert_cmpstr (wsb_suggest ("whatch", cmds), ==, "watch");
  g_assert_cmpstr (wsb_suggest ("jsno", (const char *const[]){ "json", "count", NULL }), ==,
                   "json");
  /* Too far, too short, or nothing to compare with: no guess. */
  g_assert_null (wsb_suggest ("colour", keys));
  g_assert_null (wsb_suggest ("ur", keys));
  g_assert_null (wsb_suggest ("x", cmds));
  g_assert_null (wsb_suggest ("", cmds));
  g_assert_null (wsb_suggest ("status", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/suggest/typos", test_suggest);
  return g_test_run ();
}
