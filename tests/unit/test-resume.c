/* resume.c: the last id of a feed and the repeats it drops; ws-url.c: the
 * request target that asks for what came after it. */
#include <glib.h>
#include <string.h>

#include "config.h"
#include "resume.h"
#include "ws-url.h"

static WsbResume *
make (const char *filter)
{
  g_autoptr (WsbSessionConfig) cfg = wsb_session_config_new_default ("feed");

  cfg->resume_pointer = g_strdup ("/id");
  cfg->resume_filter = g_strdup (filter);
  return wsb_resume_new (cfg);
}

static gboolean
take (WsbResume *r, const char *text, gboolean *advanced)
{
  return wsb_resume_take (r, text, strlen (text), advanced);
}

static void
test_ids_and_repeats (void)
{
  g_autoptr (WsbResume) r = make ("/event=message");
  gboolean advanced;

  g_assert_null (wsb_resume_last_id (r));
  g_assert_true (take (r, "{\"event\":\"open\",\"id\":\"o1\"}", &advanced));
  g_assert_false (advanced); /* filtered out: not a message */
  g_assert_true (take (r, "{\"event\":\"message\",\"id\":\"m1\"}", &advanced));
  g_assert_true (advanced);
  g_assert_cmpstr (wsb_resume_last_id (r), ==, "m1");
  g_assert_true (take (r, "{\"event\":\"keepalive\",\"id\":\"k1\"}", &advanced));
  g_assert_false (advanced);
  g_assert_cmpstr (wsb_resume_last_id (r), ==, "m1");
  g_assert_true (take (r, "{\"event\":\"message\",\"id\":\"m2\"}", &advanced));
  /* A replay repeats m1 and m2: dropped; m3 is new. */
  g_assert_false (take (r, "{\"event\":\"message\",\"id\":\"m1\"}", &advanced));
  g_assert_false (take (r, "{\"event\":\"message\",\"id\":\"m2\"}", &advanced));
  g_assert_true (take (r, "{\"event\":\"message\",\"id\":\"m3\"}", &advanced));
  g_assert_cmpstr (wsb_resume_last_id (r), ==, "m3");
  /* Not JSON, no id, a number id: delivered; only the number sets the id. */
  g_assert_true (take (r, "plain text", &advanced));
  g_assert_false (advanced);
  g_assert_true (take (r, "{\"event\":\"message\"}", &advanced));
  g_assert_false (advanced);
  g_assert_true (take (r, "{\"event\":\"message\",\"id\":42}", &advanced));
  g_assert_cmpstr (wsb_resume_last_id (r), ==, "42");
}

static void
test_remembers_a_bounded_number (void)
{
  g_autoptr (WsbResume) r = make (NULL);
  gboolean advanced;

  for (int i = 0; i <= WSB_RESUME_RECENT_IDS; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"id\":\"x%d\"}", i);
      g_assert_true (take (r, text, &advanced));
    }
  /* x0 was forgotten, x1 is still known. */
  g_assert_true (take (r, "{\"id\":\"x0\"}", &advanced));
  g_assert_false (take (r, "{\"id\":\"x2\"}", &advanced));
}

static void
test_no_pointer_no_resume (void)
{
  g_autoptr (WsbSessionConfig) cfg = wsb_session_config_new_default ("feed");

  g_assert_null (wsb_resume_new (cfg));
}

static void
test_target_with (void)
{
  static const char *const cases[][4] = {
    { "/t/ws", "since", "m5", "/t/ws?since=m5" },
    { "/t/ws?x=1", "since", "m5", "/t/ws?x=1&since=m5" },
    { "/t/ws?since=all&x=1", "since", "m5", "/t/ws?x=1&since=m5" },
    { "/t/ws?x=1&since=1&since=2", "since", "a b/&=", "/t/ws?x=1&since=a%20b%2F%26%3D" },
    { "/t/ws?sincere=1", "since", "z", "/t/ws?sincere=1&since=z" },
    { "/?since", "since", "z", "/?since=z" },
    { "/", "since", "a-b_c.d~e", "/?since=a-b_c.d~e" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = wsb_ws_url_target_with (cases[i][0], cases[i][1], cases[i][2]);
      g_assert_cmpstr (got, ==, cases[i][3]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/resume/ids-and-repeats", test_ids_and_repeats);
  g_test_add_func ("/resume/bounded", test_remembers_a_bounded_number);
  g_test_add_func ("/resume/none", test_no_pointer_no_resume);
  g_test_add_func ("/resume/target-with", test_target_with);
  return g_test_run ();
}
