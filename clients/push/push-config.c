#include "push-config.h"

#include <string.h>

#include "push-ntfy.h"

#define GROUP "push"

typedef enum
{
  KEY_SERVER,
  KEY_TOKEN_FILE,
  KEY_NUMBER,
} KeyKind;

typedef struct
{
  const char *name;
  KeyKind kind;
  gsize offset; /* of the guint, for KEY_NUMBER */
  guint def, min, max;
} Key;

#define NUM(field, d, lo, hi) KEY_NUMBER, G_STRUCT_OFFSET (WsbPushConfig, field), d, lo, hi

/* Defaults and bounds of every key; push.conf's documentation is
 * wsbridge-push(1). */
static const Key KEYS[] = {
  { "server", KEY_SERVER, 0, 0, 0, 0 },
  { "token_file", KEY_TOKEN_FILE, 0, 0, 0, 0 },
  { "retry_initial_ms", NUM (retry_initial_ms, 1000, 10, 3600000) },
  { "retry_attempts", NUM (retry_attempts, 8, 1, 100) },
  { "max_pending_messages", NUM (max_pending_messages, 64, 1, 10000) },
  { "max_pending_bytes", NUM (max_pending_bytes, 1024 * 1024, 4096, 256 * 1024 * 1024) },
};

void
wsb_push_config_clear (WsbPushConfig *c)
{
  g_clear_pointer (&c->server, g_free);
  g_clear_pointer (&c->token_file, g_free);
}

char *
wsb_push_config_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "wsbridge", "push.conf", NULL);
}

static gboolean
take (WsbPushConfig *c, const Key *k, const char *path, const char *value, GError **error)
{
  g_autofree char *v = g_strstrip (g_strdup (value));
  g_autoptr (GError) local = NULL;
  guint64 n;

  switch (k->kind)
    {
      case KEY_SERVER:
        c->server = wsb_push_server_normalize (v, &local);
        if (!c->server)
          {
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s: %s", path,
                         local->message);
            return FALSE;
          }
        return TRUE;
      case KEY_TOKEN_FILE:
        if (!g_path_is_absolute (v))
          {
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                         "%s: token_file=%s: give an absolute file name", path, v);
            return FALSE;
          }
        c->token_file = g_steal_pointer (&v);
        return TRUE;
      case KEY_NUMBER:
        if (!g_ascii_string_to_unsigned (v, 10, k->min, k->max, &n, NULL))
          {
            g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                         "%s: %s=%s: give a number from %u to %u", path, k->name, v, k->min,
                         k->max);
            return FALSE;
          }
        G_STRUCT_MEMBER (guint, c, k->offset) = (guint) n;
        return TRUE;
    }
  g_assert_not_reached ();
}

gboolean
wsb_push_config_load (WsbPushConfig *c, const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) groups = NULL;
  g_auto (GStrv) keys = NULL;

  memset (c, 0, sizeof *c);
  for (gsize i = 0; i < G_N_ELEMENTS (KEYS); i++)
    if (KEYS[i].kind == KEY_NUMBER)
      G_STRUCT_MEMBER (guint, c, KEYS[i].offset) = KEYS[i].def;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, local->domain, local->code, "%s: %s", path, local->message);
      return FALSE;
    }
  groups = g_key_file_get_groups (kf, NULL);
  for (char **g = groups; *g; g++)
    if (strcmp (*g, GROUP) != 0)
      g_warning ("%s: unknown group [%s] ignored", path, *g);
  keys = g_key_file_get_keys (kf, GROUP, NULL, NULL);
  for (char **k = keys; k && *k; k++)
    {
      const Key *key = NULL;
      g_autofree char *value = NULL;

      for (gsize i = 0; i < G_N_ELEMENTS (KEYS); i++)
        if (strcmp (KEYS[i].name, *k) == 0)
          key = &KEYS[i];
      if (!key)
        {
          g_warning ("%s: unknown key %s ignored", path, *k);
          continue;
        }
      value = g_key_file_get_value (kf, GROUP, *k, NULL);
      if (!take (c, key, path, value, error))
        {
          wsb_push_config_clear (c);
          return FALSE;
        }
    }
  return TRUE;
}
