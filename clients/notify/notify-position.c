#include "notify-position.h"

#include <errno.h>
#include <glib/gstdio.h>

#define GROUP "position"

char *
wsb_notify_position_path (const char *dir, const char *session, const char *channel)
{
  g_autofree char *escaped = g_uri_escape_string (channel, NULL, FALSE);
  g_autofree char *name = NULL;

  /* g_uri_escape_string leaves "*" as it is (a sub-delimiter): a file name
   * with "*" is legal but awkward in a shell. */
  g_autoptr (GString) safe = g_string_new (escaped);
  g_string_replace (safe, "*", "%2A", 0);
  name = g_strdup_printf ("%s@%s.position", session, safe->str);
  return g_build_filename (dir, name, NULL);
}

gboolean
wsb_notify_position_load (const char *path, guint64 *epoch, guint64 *seq, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  GError *local = NULL;
  guint64 e, s;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return FALSE;
  e = g_key_file_get_uint64 (kf, GROUP, "epoch", &local);
  if (!local)
    s = g_key_file_get_uint64 (kf, GROUP, "seq", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (e == 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "epoch is 0");
      return FALSE;
    }
  *epoch = e;
  *seq = s;
  return TRUE;
}

gboolean
wsb_notify_position_save (const char *path, guint64 epoch, guint64 seq, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = NULL;

  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      int err = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "cannot make %s: %s", dir,
                   g_strerror (err));
      return FALSE;
    }
  text = g_strdup_printf ("# where wsbridge-notify stopped; remove to start with new messages\n"
                          "[" GROUP "]\nepoch=%" G_GUINT64_FORMAT "\nseq=%" G_GUINT64_FORMAT "\n",
                          epoch, seq);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
