#include "notify-options.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define GROUP "notify"

typedef enum
{
  KIND_POINTER, /* an RFC 6901 pointer */
  KIND_TEXT,    /* non-empty UTF-8 */
  KIND_PATH,    /* non-empty file name */
  KIND_BURST,   /* 1..WSB_NOTIFY_BURST_MAX */
  KIND_WINDOW,  /* seconds, WSB_NOTIFY_WINDOW_MIN..WSB_NOTIFY_WINDOW_MAX */
} Kind;

typedef enum
{
  OPT_SUMMARY,
  OPT_BODY,
  OPT_ICON,
  OPT_ICON_KEY,
  OPT_APP_NAME,
  OPT_URGENCY_KEY,
  OPT_URL_KEY,
  OPT_BURST,
  OPT_WINDOW,
  OPT_SOCKET,
  N_OPTS
} OptId;

static const struct
{
  const char *name;
  Kind kind;
  const char *arg;
  const char *doc;
} opts[N_OPTS] = {
  [OPT_SUMMARY] = { "summary", KIND_POINTER, "PTR",
                    "JSON pointer to the summary (default: the session[/channel])" },
  [OPT_BODY] = { "body", KIND_POINTER, "PTR", "JSON pointer to the body (default: the text)" },
  [OPT_ICON] = { "icon", KIND_TEXT, "NAME", "Icon name (or file) of every notification" },
  [OPT_ICON_KEY]
  = { "icon-key", KIND_POINTER, "PTR", "JSON pointer to an icon theme name (default: --icon)" },
  [OPT_APP_NAME]
  = { "app-name", KIND_TEXT, "NAME", "Application name the server shows (default: wsbridge)" },
  [OPT_URGENCY_KEY]
  = { "urgency-key", KIND_POINTER, "PTR", "JSON pointer to low, normal or critical (or 0, 1, 2)" },
  [OPT_URL_KEY]
  = { "url-key", KIND_POINTER, "PTR", "JSON pointer to an http(s) URL that a click opens" },
  [OPT_BURST] = { "burst", KIND_BURST, "N", "At most N notifications per window (default: 5)" },
  [OPT_WINDOW]
  = { "window", KIND_WINDOW, "SECONDS", "The window of --burst, in seconds (default: 10)" },
  [OPT_SOCKET] = { "socket", KIND_PATH, "PATH",
                   "wsbridged's socket (default: $WSBRIDGE_SOCKET, else the user instance's)" },
};

typedef struct
{
  char *value[N_OPTS];
  char *source[N_OPTS]; /* NULL: the command line, else the file */
  char *config;
} Raw;

static void
raw_clear (Raw *raw)
{
  for (guint i = 0; i < N_OPTS; i++)
    {
      g_free (raw->value[i]);
      g_free (raw->source[i]);
    }
  g_free (raw->config);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Raw, raw_clear)

void
wsb_notify_options_clear (WsbNotifyOptions *o)
{
  g_free (o->target);
  g_free (o->session);
  g_free (o->channel);
  g_clear_pointer (&o->summary, wsb_notify_pointer_free);
  g_clear_pointer (&o->body, wsb_notify_pointer_free);
  g_clear_pointer (&o->icon_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->urgency_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->url_key, wsb_notify_pointer_free);
  g_free (o->icon);
  g_free (o->app_name);
  g_free (o->socket);
  memset (o, 0, sizeof *o);
}

static gboolean
bad_value (GError **error, const Raw *raw, OptId id, const char *reason)
{
  if (raw->source[id])
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: key %s: %s", raw->source[id],
                 opts[id].name, reason);
  else
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: %s", opts[id].name,
                 reason);
  return FALSE;
}

/* Session names as the daemon takes them: [a-z0-9][a-z0-9_.-]{0,63}. */
static gboolean
session_name_ok (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 64 || !(g_ascii_islower (name[0]) || g_ascii_isdigit (name[0])))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && !strchr ("_.-", *p))
      return FALSE;
  return TRUE;
}

static gboolean
parse_target (WsbNotifyOptions *o, const char *target, GError **error)
{
  const char *slash = strchr (target, '/');

  o->target = g_strdup (target);
  o->session = slash ? g_strndup (target, (gsize) (slash - target)) : g_strdup (target);
  o->channel = g_strdup (slash ? slash + 1 : "*");
  if (!session_name_ok (o->session))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "invalid session name \"%s\": expected [a-z0-9][a-z0-9_.-]{0,63}", o->session);
      return FALSE;
    }
  if (!*o->channel || !g_utf8_validate (o->channel, -1, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "invalid channel in \"%s\": %s",
                   target, *o->channel ? "not valid UTF-8" : "empty after '/'");
      return FALSE;
    }
  return TRUE;
}

static gboolean
take_pointer (WsbNotifyPointer **out, const Raw *raw, OptId id, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!raw->value[id])
    return TRUE;
  *out = wsb_notify_pointer_new (raw->value[id], &local);
  return *out ? TRUE : bad_value (error, raw, id, local->message);
}

static gboolean
take_text (char **out, const Raw *raw, OptId id, GError **error)
{
  const char *v = raw->value[id];

  if (!v)
    return TRUE;
  if (!*v || !g_utf8_validate (v, -1, NULL))
    return bad_value (error, raw, id, *v ? "not valid UTF-8" : "empty");
  for (const char *p = v; *p; p++)
    if ((guchar) *p < ' ')
      return bad_value (error, raw, id, "holds a control character");
  *out = g_strdup (v);
  return TRUE;
}

static gboolean
take_burst (WsbNotifyOptions *o, const Raw *raw, GError **error)
{
  guint64 n;
  g_autofree char *why = NULL;

  o->burst = WSB_NOTIFY_DEFAULT_BURST;
  if (!raw->value[OPT_BURST])
    return TRUE;
  if (!g_ascii_string_to_unsigned (raw->value[OPT_BURST], 10, 1, WSB_NOTIFY_BURST_MAX, &n, NULL))
    {
      why = g_strdup_printf ("\"%s\" is not a whole number from 1 to %d", raw->value[OPT_BURST],
                             WSB_NOTIFY_BURST_MAX);
      return bad_value (error, raw, OPT_BURST, why);
    }
  o->burst = (guint) n;
  return TRUE;
}

static gboolean
take_window (WsbNotifyOptions *o, const Raw *raw, GError **error)
{
  const char *v = raw->value[OPT_WINDOW];
  char *end = NULL;
  double w;
  g_autofree char *why = NULL;

  o->window = WSB_NOTIFY_DEFAULT_WINDOW;
  if (!v)
    return TRUE;
  errno = 0;
  w = g_ascii_strtod (v, &end);
  if (!*v || *end || errno || !isfinite (w) || w < WSB_NOTIFY_WINDOW_MIN
      || w > WSB_NOTIFY_WINDOW_MAX)
    {
      why = g_strdup_printf ("\"%s\" is not a number of seconds from %g to %g", v,
                             WSB_NOTIFY_WINDOW_MIN, WSB_NOTIFY_WINDOW_MAX);
      return bad_value (error, raw, OPT_WINDOW, why);
    }
  o->window = w;
  return TRUE;
}

/* --socket, else $WSBRIDGE_SOCKET, else the user instance's socket: the
 * rule of wsbridgectl and the daemon. */
static char *
socket_path (const Raw *raw)
{
  const char *env = g_getenv ("WSBRIDGE_SOCKET");

  if (raw->value[OPT_SOCKET])
    return g_strdup (raw->value[OPT_SOCKET]);
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_runtime_dir (), "wsbridge", "wsbridge.sock", NULL);
}

static gboolean
validate (WsbNotifyOptions *o, const Raw *raw, GError **error)
{
  if (!take_pointer (&o->summary, raw, OPT_SUMMARY, error)
      || !take_pointer (&o->body, raw, OPT_BODY, error)
      || !take_pointer (&o->icon_key, raw, OPT_ICON_KEY, error)
      || !take_pointer (&o->urgency_key, raw, OPT_URGENCY_KEY, error)
      || !take_pointer (&o->url_key, raw, OPT_URL_KEY, error)
      || !take_text (&o->icon, raw, OPT_ICON, error)
      || !take_text (&o->app_name, raw, OPT_APP_NAME, error) || !take_burst (o, raw, error)
      || !take_window (o, raw, error))
    return FALSE;
  if (raw->value[OPT_SOCKET] && !*raw->value[OPT_SOCKET])
    return bad_value (error, raw, OPT_SOCKET, "empty");
  if (!o->app_name)
    o->app_name = g_strdup ("wsbridge");
  o->socket = socket_path (raw);
  return TRUE;
}

/* Fills what the command line left unset from the [notify] group. */
static gboolean
merge_keyfile (Raw *raw, GKeyFile *kf, const char *path, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  g_auto (GStrv) keys = NULL;

  for (char **g = groups; *g; g++)
    if (strcmp (*g, GROUP) != 0)
      g_warning ("%s: unknown group [%s] ignored; options go in [" GROUP "]", path, *g);
  if (!g_key_file_has_group (kf, GROUP))
    return TRUE;
  keys = g_key_file_get_keys (kf, GROUP, NULL, NULL);
  for (char **k = keys; *k; k++)
    {
      g_autoptr (GError) local = NULL;
      guint id;

      for (id = 0; id < N_OPTS && strcmp (opts[id].name, *k) != 0; id++)
        ;
      if (id == N_OPTS)
        {
          g_warning ("%s: unknown key %s in [" GROUP "] ignored", path, *k);
          continue;
        }
      if (raw->value[id])
        continue; /* the command line wins */
      raw->value[id] = g_key_file_get_string (kf, GROUP, *k, &local);
      if (!raw->value[id])
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: key %s: %s", path, *k,
                       local->message);
          return FALSE;
        }
      raw->source[id] = g_strdup (path);
    }
  return TRUE;
}

static GOptionContext *
make_context (Raw *raw, WsbNotifyOptions *o)
{
  GOptionEntry entries[N_OPTS + 4];
  GOptionContext *ctx;
  guint n = 0;

  for (guint i = 0; i < N_OPTS; i++)
    entries[n++]
        = (GOptionEntry){ opts[i].name,
                          0,
                          0,
                          opts[i].kind == KIND_PATH ? G_OPTION_ARG_FILENAME : G_OPTION_ARG_STRING,
                          &raw->value[i],
                          opts[i].doc,
                          opts[i].arg };
  entries[n++] = (GOptionEntry){ "config",
                                 0,
                                 0,
                                 G_OPTION_ARG_FILENAME,
                                 &raw->config,
                                 "Read options from the [notify] group of FILE "
                                 "(the command line wins)",
                                 "FILE" };
  entries[n++]
      = (GOptionEntry){ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "Log debug messages",
                        NULL };
  entries[n++] = (GOptionEntry){
    "version", 0, 0, G_OPTION_ARG_NONE, &o->version, "Print the version and exit", NULL
  };
  entries[n] = (GOptionEntry){ NULL };
  ctx = g_option_context_new ("SESSION[/CHANNEL]");
  g_option_context_set_summary (ctx, "Shows the messages of a wsbridge session as desktop "
                                     "notifications.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  return ctx;
}

gboolean
wsb_notify_options_parse (WsbNotifyOptions *o, int *argc, char ***argv, GError **error)
{
  g_auto (Raw) raw = { 0 };
  g_autoptr (GOptionContext) ctx = make_context (&raw, o);
  g_autoptr (GKeyFile) kf = NULL;
  g_autoptr (GError) local = NULL;

  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  if (o->version)
    return TRUE;
  if (*argc != 2)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "%s",
                   *argc < 2 ? "missing SESSION[/CHANNEL]" : "more than one SESSION[/CHANNEL]");
      return FALSE;
    }
  if (!parse_target (o, (*argv)[1], error))
    return FALSE;
  if (raw.config)
    {
      kf = g_key_file_new ();
      if (g_key_file_load_from_file (kf, raw.config, G_KEY_FILE_NONE, &local))
        {
          if (!merge_keyfile (&raw, kf, raw.config, error))
            return FALSE;
        }
      else if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_message ("no options file %s; using the command line and the defaults", raw.config);
      else
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: %s", raw.config,
                       local->message);
          return FALSE;
        }
    }
  return validate (o, &raw, error);
}
