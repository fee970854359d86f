#include "session-store.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "config.h"
#include "wsb-error.h"

#define STORE_MARK "# Written by wsbridged for a session created with persist;"
#define CREATOR_MARK "(created by uid "

char *
wsb_session_store_path (const char *config_dir, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".conf", NULL);

  return g_build_filename (config_dir, "sessions.d", file, NULL);
}

gboolean
wsb_session_store_owns (const char *path)
{
  g_autofree char *text = NULL;

  return path && g_file_get_contents (path, &text, NULL, NULL)
         && g_str_has_prefix (text, STORE_MARK);
}

/* CREATOR's uid joins allow_users unless it is there. A list that does not
 * parse is left as written, for the configuration code to report. */
static void
add_creator (GKeyFile *kf, uid_t creator)
{
  g_autofree char *id = g_strdup_printf ("%u", (unsigned) creator);
  g_autoptr (GPtrArray) users = g_ptr_array_new ();
  g_auto (GStrv) given = NULL;

  if (g_key_file_has_key (kf, "session", "allow_users", NULL))
    {
      g_autoptr (GError) bad = NULL;

      given = g_key_file_get_string_list (kf, "session", "allow_users", NULL, &bad);
      if (bad)
        return;
      for (char **u = given; u && *u; u++)
        {
          if (g_str_equal (*u, id))
            return;
          g_ptr_array_add (users, *u);
        }
    }
  g_ptr_array_add (users, id);
  g_key_file_set_string_list (kf, "session", "allow_users", (const char *const *) users->pdata,
                              users->len);
}

char *
wsb_session_store_text (const char *name, const char *url, const char *const *keys,
                        const char *const *values, guint n_options, uid_t creator, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *body = NULL;

  if (strpbrk (url, "\r\n"))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "the URL may not contain line breaks");
      return NULL;
    }
  g_key_file_set_string (kf, "session", "url", url);
  for (guint i = 0; i < n_options; i++)
    {
      if (g_str_equal (keys[i], "url") || !wsb_config_is_session_key (keys[i]))
        {
          g_autofree char *shown = g_utf8_make_valid (keys[i], MIN (strlen (keys[i]), 64));
          g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                       "unknown session option '%s' (the keys are in wsbridge.conf(5); the URL "
                       "is its own argument)",
                       shown);
          return NULL;
        }
      /* A line break would start a new line of the key file; a header's
       * value must not end up in an error message that names that line. */
      if (strpbrk (values[i], "\r\n"))
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                       "option '%s': line breaks are not allowed in values", keys[i]);
          return NULL;
        }
      if (g_key_file_has_key (kf, "session", keys[i], NULL))
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT, "option '%s' given twice",
                       keys[i]);
          return NULL;
        }
      /* set_value keeps ';' lists and escapes as written, like a file. */
      g_key_file_set_value (kf, "session", keys[i], values[i]);
    }
  if (creator != WSB_NO_CREATOR)
    add_creator (kf, creator);
  body = g_key_file_to_data (kf, NULL, NULL);
  if (creator == WSB_NO_CREATOR)
    return g_strdup_printf ("%s edit or delete it to change or remove %s\n%s", STORE_MARK, name,
                            body);
  return g_strdup_printf ("%s edit or delete it to change or remove %s " CREATOR_MARK "%u)\n%s",
                          STORE_MARK, name, (unsigned) creator, body);
}

uid_t
wsb_session_store_creator (const char *path)
{
  g_autofree char *text = NULL;
  const char *mark, *eol;
  guint64 uid;

  if (!path || !g_file_get_contents (path, &text, NULL, NULL)
      || !g_str_has_prefix (text, STORE_MARK))
    return WSB_NO_CREATOR;
  eol = strchr (text, '\n');
  mark = strstr (text, CREATOR_MARK);
  if (!mark || (eol && mark > eol))
    return WSB_NO_CREATOR;
  mark += strlen (CREATOR_MARK);
  eol = strchr (mark, ')');
  if (!eol)
    return WSB_NO_CREATOR;
  {
    g_autofree char *digits = g_strndup (mark, (gsize) (eol - mark));
    if (!g_ascii_string_to_unsigned (digits, 10, 0, G_MAXUINT32 - 1, &uid, NULL))
      return WSB_NO_CREATOR;
  }
  return (uid_t) uid;
}

gboolean
wsb_session_store_write (const char *path, const char *text, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) local = NULL;

  if (g_mkdir_with_parents (dir, 0700) < 0
      || !g_file_set_contents_full (path, text, -1,
                                    G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                    0600, &local))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot persist the session: %s",
                   local ? local->message : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}
