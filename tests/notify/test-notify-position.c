#include <glib/gstdio.h>

#include "notify-position.h"
#include "test-util.h"

static void
test_path (void)
{
  g_autofree char *all = wsb_notify_position_path ("/s", "demo", "*");
  g_autofree char *nested = wsb_notify_position_path ("/s", "home-alerts", "ops/../disk é");

  g_assert_cmpstr (all, ==, "/s/demo@%2A.position");
  g_assert_cmpstr (nested, ==, "/s/home-alerts@ops%2F..%2Fdisk%20%C3%A9.position");
}

static void
test_round_trip (void)
{
  g_autofree char *dir = wsb_test_tmp_dir ("test-notify-position-XXXXXX");
  g_autofree char *sub = g_build_filename (dir, "wsbridge", "notify", NULL);
  g_autofree char *path = wsb_notify_position_path (sub, "demo", "*");
  g_autoptr (GError) error = NULL;
  guint64 epoch = 0, seq = 0;
  GStatBuf st;

  g_assert_false (wsb_notify_position_load (path, &epoch, &seq, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);
  /* The directory is made as needed, private to the user. */
  g_assert_true (wsb_notify_position_save (path, 1765000000123, 42, &error));
  g_assert_no_error (error);
  g_assert_true (wsb_notify_position_save (path, 1765000000123, G_MAXUINT64, &error));
  g_assert_true (wsb_notify_position_load (path, &epoch, &seq, &error));
  g_assert_cmpuint (epoch, ==, 1765000000123);
  g_assert_cmpuint (seq, ==, G_MAXUINT64);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (sub, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* A damaged file is an error, never a position. */
  for (const char *const *bad
       = (const char *const[]){ "[position]\nepoch=1\n", "[position]\nepoch=x\nseq=1\n",
                                "[position]\nepoch=0\nseq=1\n", "\x01", NULL };
       *bad; bad++)
    {
      g_assert_true (g_file_set_contents (path, *bad, -1, NULL));
      g_assert_false (wsb_notify_position_load (path, &epoch, &seq, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  wsb_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify-position/path", test_path);
  g_test_add_func ("/notify-position/round-trip", test_round_trip);
  return g_test_run ();
}
