#include "push-config.h"
#include "test-util.h"

#include <string.h>

static char *
write_conf (const char *text)
{
  g_autofree char *dir = wsb_test_tmp_dir ("push-conf-XXXXXX");
  char *path = g_build_filename (dir, "push.conf", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_defaults (void)
{
  g_auto (WsbPushConfig) c = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (wsb_push_config_load (&c, "/nonexistent/push.conf", &error));
  g_assert_no_error (error);
  g_assert_null (c.server);
  g_assert_null (c.token_file);
  g_assert_cmpuint (c.retry_initial_ms, ==, 1000);
  g_assert_cmpuint (c.retry_attempts, ==, 8);
  g_assert_cmpuint (c.max_pending_messages, ==, 64);
  g_assert_cmpuint (c.max_pending_bytes, ==, 1024 * 1024);
}

static void
test_values (void)
{
  g_autofree char *path = write_conf ("[push]\nserver=https://ntfy.example.org/\n"
                                      "token_file=/run/secret\nretry_attempts=3\n");
  g_auto (WsbPushConfig) c = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (wsb_push_config_load (&c, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c.server, ==, "https://ntfy.example.org");
  g_assert_cmpstr (c.token_file, ==, "/run/secret");
  g_assert_cmpuint (c.retry_attempts, ==, 3);
}

static void
test_unknown_key_warns (void)
{
  g_autofree char *path = write_conf ("[push]\nserver=https://a.b\nsrever=x\n");
  g_auto (WsbPushConfig) c = { 0 };

  if (g_test_subprocess ())
    {
      g_assert_true (wsb_push_config_load (&c, path, NULL));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed (); /* warnings are fatal in tests */
  g_test_trap_assert_stderr ("*unknown key srever*");
}

static void
test_bad_values (void)
{
  const char *bad[][2] = {
    { "[push]\nserver=ftp://x\n", "server=ftp://x" },
    { "[push]\nserver=\n", "server= is empty" },
    { "[push]\ntoken_file=relative\n", "token_file=relative" },
    { "[push]\nretry_attempts=0\n", "retry_attempts=0" },
    { "[push]\nmax_pending_bytes=lots\n", "max_pending_bytes=lots" },
    { "not a key file", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = write_conf (bad[i][0]);
      g_auto (WsbPushConfig) c = { 0 };
      g_autoptr (GError) error = NULL;

      g_assert_false (wsb_push_config_load (&c, path, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, bad[i][1]));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/push/config/defaults", test_defaults);
  g_test_add_func ("/push/config/values", test_values);
  g_test_add_func ("/push/config/unknown-key", test_unknown_key_warns);
  g_test_add_func ("/push/config/bad-values", test_bad_values);
  return g_test_run ();
}
