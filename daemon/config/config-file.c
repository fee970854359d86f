/* A configuration file's text: its syntax checked with messages that name
 * the line (and never quote it), its groups applied to the structs, its
 * sessions checked as a whole; and the configuration directory
 * (wsbridge.conf, then sessions.d/ *.conf in name order). */
#include "config-private.h"

#include <string.h>

#include "wsb-error.h"

typedef struct
{
  const char *path;
  const char *text;
  gsize len;
} Source;

/* Line of "key=" inside "[group]", for messages; 0 when not found. */
static guint
find_line (const Source *src, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (src->text, "\n", -1);
  gboolean in_group = FALSE;

  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      while (g_ascii_isspace (*l))
        l++;
      if (*l == '[')
        {
          const char *end = strchr (l, ']');
          in_group = end && (gsize) (end - l - 1) == strlen (group)
                     && strncmp (l + 1, group, end - l - 1) == 0;
          if (in_group && !key)
            return i + 1;
          continue;
        }
      if (!in_group || !key)
        continue;
      gsize klen = strlen (key);
      if (strncmp (l, key, klen) == 0)
        {
          const char *r = l + klen;
          while (*r == ' ' || *r == '\t')
            r++;
          if (*r == '=')
            return i + 1;
        }
    }
  return 0;
}

static char *
where (const Source *src, const char *group, const char *key)
{
  guint line = find_line (src, group, key);

  return line ? g_strdup_printf ("%s:%u", src->path, line) : g_strdup (src->path);
}

static gboolean G_GNUC_PRINTF (5, 6)
    key_error (const Source *src, const char *group, const char *key, GError **error,
               const char *fmt, ...)
{
  g_autofree char *loc = where (src, group, key);
  g_autofree char *reason = NULL;
  va_list ap;

  va_start (ap, fmt);
  reason = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s: [%s] %s: %s", loc, group, key, reason);
  return FALSE;
}

static gboolean
apply_group (const Source *src, GKeyFile *kf, const char *group, KeyGroup keys, gpointer base,
             WsbConfig *cfg, GError **error)
{
  g_auto (GStrv) names = g_key_file_get_keys (kf, group, NULL, NULL);
  g_autoptr (GString) why = g_string_new (NULL);

  for (guint i = 0; names && names[i]; i++)
    {
      const KeyDef *k = wsb_config_key_lookup (keys, names[i]);
      g_autofree char *raw = g_key_file_get_value (kf, group, names[i], NULL);
      if (!k)
        {
          g_autofree char *loc = where (src, group, names[i]);
          const char *guess = wsb_config_key_closest (keys, names[i]);
          g_autofree char *hint = guess ? g_strdup_printf (" (did you mean '%s'?)", guess) : NULL;
          g_ptr_array_add (cfg->warnings, g_strdup_printf ("%s: unknown key '%s' in [%s] ignored%s",
                                                           loc, names[i], group, hint ? hint : ""));
          continue;
        }
      if (!wsb_config_value_set (k, base, kf, group, raw, why))
        return key_error (src, group, names[i], error, "%s", why->str);
    }
  return TRUE;
}

static gboolean
check_session (const Source *src, const char *group, WsbSessionConfig *sc, GError **error)
{
  if (!sc->url)
    return key_error (src, group, "url", error, "missing (every session needs a url)");
  if (!sc->tls_cert_file != !sc->tls_key_file)
    return key_error (src, group, sc->tls_cert_file ? "tls_key_file" : "tls_cert_file", error,
                      "missing (tls_cert_file and tls_key_file go together)");
  if (sc->backoff_max_ms < sc->backoff_initial_ms)
    return key_error (src, group, "backoff_max_ms", error,
                      "%" G_GUINT64_FORMAT " is smaller than backoff_initial_ms (%" G_GUINT64_FORMAT
                      ")",
                      sc->backoff_max_ms, sc->backoff_initial_ms);
  return TRUE;
}

static gboolean
add_session (WsbConfig *cfg, const Source *src, GKeyFile *kf, const char *group, const char *name,
             GError **error)
{
  g_autoptr (WsbSessionConfig) sc = NULL;

  if (!wsb_session_name_is_valid (name))
    {
      g_autofree char *loc = where (src, group, NULL);
      g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                   "%s: [%s]: invalid session name '%s' (use 1-64 of a-z 0-9 _ . -, "
                   "starting with a letter or digit)",
                   loc, group, name);
      return FALSE;
    }
  for (guint i = 0; i < cfg->sessions->len; i++)
    {
      WsbSessionConfig *other = g_ptr_array_index (cfg->sessions, i);
      if (strcmp (other->name, name) == 0)
        {
          g_autofree char *loc = where (src, group, NULL);
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                       "%s: [%s]: session '%s' is already defined in %s", loc, group, name,
                       other->source);
          return FALSE;
        }
    }
  sc = wsb_session_config_new_default (name);
  sc->source = g_strdup (src->path);
  if (!apply_group (src, kf, group, KEYS_SESSION, sc, cfg, error)
      || !check_session (src, group, sc, error))
    return FALSE;
  g_ptr_array_add (cfg->sessions, g_steal_pointer (&sc));
  return TRUE;
}

/* GKeyFile's own parse errors quote the offending line, which may hold a
 * secret header, and give no line number; find the line and say what is
 * wrong with it instead. */
static void
syntax_error (const Source *src, GError **error)
{
  g_auto (GStrv) lines = NULL;
  gboolean in_group = FALSE;

  if (memchr (src->text, '\0', src->len))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s: contains a NUL byte (not a text file?)",
                   src->path);
      return;
    }
  lines = g_strsplit (src->text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *why = NULL;
      char *l = g_strstrip (lines[i]);

      if (!g_utf8_validate (l, -1, NULL))
        why = "not valid UTF-8";
      else if (!*l || *l == '#')
        continue;
      else if (*l == '[' && l[strlen (l) - 1] != ']')
        why = "unclosed group header (a [group] line must end with ']')";
      else if (*l == '[')
        in_group = TRUE;
      else if (!strchr (l, '='))
        why = "not a key=value pair, [group] or comment";
      else if (!in_group)
        why = "key outside any [group] (put it under [daemon] or a [session NAME] group)";
      if (why)
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s:%u: %s", src->path, i + 1, why);
          return;
        }
    }
  g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s: syntax error", src->path);
}

/* GKeyFile silently merges a group that appears twice; refuse it instead. */
static gboolean
check_duplicate_groups (const Source *src, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (src->text, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; lines[i]; i++)
    {
      const char *l = g_strstrip (lines[i]);
      const char *end = strchr (l, ']');
      if (*l != '[' || !end)
        continue;
      char *group = g_strndup (l + 1, end - l - 1);
      if (g_hash_table_contains (seen, group))
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s:%u: [%s] appears twice in this file",
                       src->path, i + 1, group);
          g_free (group);
          return FALSE;
        }
      g_hash_table_add (seen, group);
    }
  return TRUE;
}

gboolean
wsb_config_parse_text (WsbConfig *cfg, const char *path, const char *text, gsize len,
                       const char *default_session, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_auto (GStrv) groups = NULL;
  g_autofree char *copy = g_strndup (text, len);
  Source src = { path, copy, len };

  if (memchr (text, '\0', len) || !g_key_file_load_from_data (kf, text, len, G_KEY_FILE_NONE, NULL))
    {
      syntax_error (&src, error);
      return FALSE;
    }
  if (!check_duplicate_groups (&src, error))
    return FALSE;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      const char *g = groups[i];
      if (strcmp (g, "daemon") == 0 && !default_session)
        {
          if (!apply_group (&src, kf, g, KEYS_DAEMON, &cfg->daemon, cfg, error))
            return FALSE;
        }
      else if (g_str_has_prefix (g, "session ") && g[8])
        {
          if (!add_session (cfg, &src, kf, g, g + 8, error))
            return FALSE;
        }
      else if (strcmp (g, "session") == 0 && default_session)
        {
          if (!add_session (cfg, &src, kf, g, default_session, error))
            return FALSE;
        }
      else
        {
          g_autofree char *loc = where (&src, g, NULL);
          g_ptr_array_add (cfg->warnings,
                           g_strdup_printf ("%s: unknown group [%s] ignored%s", loc, g,
                                            strcmp (g, "session") == 0
                                                ? " (a bare [session] group belongs in "
                                                  "sessions.d/NAME.conf)"
                                                : ""));
        }
    }
  return TRUE;
}

static gboolean
parse_file (WsbConfig *cfg, const char *path, const char *default_session, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) err = NULL;

  if (!g_file_get_contents (path, &text, &len, &err))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s", err->message);
      return FALSE;
    }
  return wsb_config_parse_text (cfg, path, text, len, default_session, error);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  const WsbSessionConfig *sa = *(WsbSessionConfig *const *) a;
  const WsbSessionConfig *sb = *(WsbSessionConfig *const *) b;

  return strcmp (sa->name, sb->name);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

WsbConfig *
wsb_config_load_dir (const char *dir, GError **error)
{
  g_autoptr (WsbConfig) cfg = wsb_config_new ();
  g_autofree char *main_file = g_build_filename (dir, "wsbridge.conf", NULL);
  g_autofree char *sessions_dir = g_build_filename (dir, "sessions.d", NULL);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = NULL;
  const char *entry;

  if (g_file_test (main_file, G_FILE_TEST_EXISTS) && !parse_file (cfg, main_file, NULL, error))
    return NULL;

  d = g_dir_open (sessions_dir, 0, NULL);
  while (d && (entry = g_dir_read_name (d)))
    if (g_str_has_suffix (entry, ".conf") && entry[0] != '.')
      g_ptr_array_add (files, g_strdup (entry));
  g_ptr_array_sort (files, compare_strings);

  for (guint i = 0; i < files->len; i++)
    {
      const char *fname = g_ptr_array_index (files, i);
      g_autofree char *path = g_build_filename (sessions_dir, fname, NULL);
      g_autofree char *base = g_strndup (fname, strlen (fname) - strlen (".conf"));
      if (!wsb_session_name_is_valid (base))
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                       "%s: the file name must be a valid session name followed by .conf", path);
          return NULL;
        }
      if (!parse_file (cfg, path, base, error))
        return NULL;
    }
  g_ptr_array_sort (cfg->sessions, compare_names);
  return g_steal_pointer (&cfg);
}
