#include "notify-options.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "notify-preset.h"

#define GROUP "notify"

typedef enum
{
  KIND_POINTER, /* an RFC 6901 pointer */
  KIND_TEXT,    /* non-empty UTF-8 */
  KIND_PATH,    /* non-empty file name */
  KIND_BURST,   /* 1..WSB_NOTIFY_BURST_MAX */
  KIND_WINDOW,  /* seconds, WSB_NOTIFY_WINDOW_MIN..WSB_NOTIFY_WINDOW_MAX */
  KIND_MATCH,   /* PTR=VALUE */
  KIND_MAP,     /* an urgency map */
  KIND_PRESET,  /* a preset's name */
  KIND_SESSION, /* a session name */
  KIND_CHANNEL, /* non-empty UTF-8 */
} Kind;

typedef enum
{
  OPT_SESSION,
  OPT_CHANNEL,
  OPT_PRESET,
  OPT_FILTER,
  OPT_SUMMARY,
  OPT_SUMMARY_FALLBACK,
  OPT_BODY,
  OPT_ICON,
  OPT_ICON_KEY,
  OPT_APP_NAME,
  OPT_URGENCY_KEY,
  OPT_URGENCY_MAP,
  OPT_URL_KEY,
  OPT_ACTIONS_KEY,
  OPT_TAGS_KEY,
  OPT_MARKDOWN_WHEN,
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
  [OPT_SESSION] = { "session", KIND_SESSION, "NAME",
                    "The session, when SESSION[/CHANNEL] is not given (for the [notify] file)" },
  [OPT_CHANNEL] = { "channel", KIND_CHANNEL, "CHANNEL", "The channel of --session (default: all)" },
  [OPT_PRESET] = { "preset", KIND_PRESET, "NAME",
                   "Options for a server's stream: ntfy or gotify (others win over it)" },
  [OPT_FILTER]
  = { "filter", KIND_MATCH, "PTR=VALUE", "Show only the JSON messages whose PTR names VALUE" },
  [OPT_SUMMARY] = { "summary", KIND_POINTER, "PTR",
                    "JSON pointer to the summary (default: the session[/channel])" },
  [OPT_SUMMARY_FALLBACK] = { "summary-fallback", KIND_POINTER, "PTR",
                             "JSON pointer to the summary when --summary names nothing" },
  [OPT_BODY] = { "body", KIND_POINTER, "PTR", "JSON pointer to the body (default: the text)" },
  [OPT_ICON] = { "icon", KIND_TEXT, "NAME", "Icon name (or file) of every notification" },
  [OPT_ICON_KEY]
  = { "icon-key", KIND_POINTER, "PTR", "JSON pointer to an icon theme name (default: --icon)" },
  [OPT_APP_NAME]
  = { "app-name", KIND_TEXT, "NAME", "Application name the server shows (default: wsbridge)" },
  [OPT_URGENCY_KEY]
  = { "urgency-key", KIND_POINTER, "PTR",
      "JSON pointer to low, normal or critical (or 0, 1, 2), or a value of --urgency-map" },
  [OPT_URGENCY_MAP] = { "urgency-map", KIND_MAP, "MAP",
                        "What --urgency-key's values mean, e.g. 1-2:low,3:normal,4-5:critical" },
  [OPT_URL_KEY]
  = { "url-key", KIND_POINTER, "PTR", "JSON pointer to an http(s) URL that a click opens" },
  [OPT_ACTIONS_KEY] = { "actions-key", KIND_POINTER, "PTR",
                        "JSON pointer to ntfy actions; \"view\" ones become link buttons" },
  [OPT_TAGS_KEY] = { "tags-key", KIND_POINTER, "PTR",
                     "JSON pointer to ntfy tags: emoji names before the summary" },
  [OPT_MARKDOWN_WHEN]
  = { "markdown-when", KIND_MATCH, "PTR=VALUE", "The body is markdown when PTR names VALUE" },
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
  gboolean no_resume;
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
  g_free (o->preset);
  g_clear_pointer (&o->filter, wsb_notify_match_free);
  g_clear_pointer (&o->summary, wsb_notify_pointer_free);
  g_clear_pointer (&o->summary_fallback, wsb_notify_pointer_free);
  g_clear_pointer (&o->body, wsb_notify_pointer_free);
  g_clear_pointer (&o->icon_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->urgency_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->urgency_map, wsb_notify_urgency_map_free);
  g_clear_pointer (&o->url_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->actions_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->tags_key, wsb_notify_pointer_free);
  g_clear_pointer (&o->markdown, wsb_notify_match_free);
  g_free (o->icon);
  g_free (o->app_name);
  g_free (o->socket);
  memset (o, 0, sizeof *o);
}

static gboolean
bad_value (GError **error, const Raw *raw, OptId id, const char *reason)
{
  if (raw->source[id] && g_str_has_prefix (raw->source[id], "preset "))
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: %s: %s", raw->source[id],
                 opts[id].name, reason);
  else if (raw->source[id])
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: key %s: %s", raw->source[id],
                 opts[id].name, reason);
  else
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: %s", opts[id].name,
                 reason);
  return FALSE;
}

static gboolean check_target (WsbNotifyOptions *o, const char *target, GError **error);

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
  return check_target (o, target, error);
}

/* SESSION[/CHANNEL] from --session and --channel. */
static gboolean
options_target (WsbNotifyOptions *o, const Raw *raw, GError **error)
{
  const char *channel = raw->value[OPT_CHANNEL];

  if (!raw->value[OPT_SESSION])
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "%s",
                   raw->config ? "missing SESSION[/CHANNEL]: neither the command line nor "
                                 "the options file names a session"
                               : "missing SESSION[/CHANNEL]");
      return FALSE;
    }
  if (!session_name_ok (raw->value[OPT_SESSION]))
    return bad_value (error, raw, OPT_SESSION, "expected [a-z0-9][a-z0-9_.-]{0,63}");
  if (channel && (!*channel || !g_utf8_validate (channel, -1, NULL)))
    return bad_value (error, raw, OPT_CHANNEL, *channel ? "not valid UTF-8" : "empty");
  o->session = g_strdup (raw->value[OPT_SESSION]);
  o->channel = g_strdup (channel ? channel : "*");
  o->target = channel ? g_strdup_printf ("%s/%s", o->session, channel) : g_strdup (o->session);
  return TRUE;
}

static gboolean
check_target (WsbNotifyOptions *o, const char *target, GError **error)
{
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
take_match (WsbNotifyMatch **out, const Raw *raw, OptId id, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!raw->value[id])
    return TRUE;
  *out = wsb_notify_match_new (raw->value[id], &local);
  return *out ? TRUE : bad_value (error, raw, id, local->message);
}

static gboolean
take_map (WsbNotifyOptions *o, const Raw *raw, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!raw->value[OPT_URGENCY_MAP])
    return TRUE;
  o->urgency_map = wsb_notify_urgency_map_new (raw->value[OPT_URGENCY_MAP], &local);
  return o->urgency_map ? TRUE : bad_value (error, raw, OPT_URGENCY_MAP, local->message);
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
  if (!take_match (&o->filter, raw, OPT_FILTER, error)
      || !take_pointer (&o->summary, raw, OPT_SUMMARY, error)
      || !take_pointer (&o->summary_fallback, raw, OPT_SUMMARY_FALLBACK, error)
      || !take_pointer (&o->body, raw, OPT_BODY, error)
      || !take_pointer (&o->icon_key, raw, OPT_ICON_KEY, error)
      || !take_pointer (&o->urgency_key, raw, OPT_URGENCY_KEY, error) || !take_map (o, raw, error)
      || !take_pointer (&o->url_key, raw, OPT_URL_KEY, error)
      || !take_pointer (&o->actions_key, raw, OPT_ACTIONS_KEY, error)
      || !take_pointer (&o->tags_key, raw, OPT_TAGS_KEY, error)
      || !take_match (&o->markdown, raw, OPT_MARKDOWN_WHEN, error)
      || !take_text (&o->icon, raw, OPT_ICON, error)
      || !take_text (&o->app_name, raw, OPT_APP_NAME, error) || !take_burst (o, raw, error)
      || !take_window (o, raw, error))
    return FALSE;
  if (raw->value[OPT_SOCKET] && !*raw->value[OPT_SOCKET])
    return bad_value (error, raw, OPT_SOCKET, "empty");
  if (!o->app_name)
    o->app_name = g_strdup ("wsbridge");
  o->preset = g_strdup (raw->value[OPT_PRESET]);
  o->resume = !raw->no_resume;
  o->socket = socket_path (raw);
  return TRUE;
}

/* Fills what the command line and the file left unset from the preset. */
static gboolean
apply_preset (Raw *raw, GError **error)
{
  const WsbNotifyPresetValue *values;
  g_autofree char *why = NULL;

  if (!raw->value[OPT_PRESET])
    return TRUE;
  values = wsb_notify_preset_lookup (raw->value[OPT_PRESET]);
  if (!values)
    {
      why = g_strdup_printf ("no preset \"%s\"; there are %s", raw->value[OPT_PRESET],
                             wsb_notify_preset_names ());
      return bad_value (error, raw, OPT_PRESET, why);
    }
  for (const WsbNotifyPresetValue *v = values; v->option; v++)
    {
      guint id;

      for (id = 0; id < N_OPTS && strcmp (opts[id].name, v->option) != 0; id++)
        ;
      g_assert (id < N_OPTS);
      if (raw->value[id])
        continue;
      raw->value[id] = g_strdup (v->value);
      raw->source[id] = g_strdup_printf ("preset %s", raw->value[OPT_PRESET]);
    }
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
  GOptionEntry entries[N_OPTS + 5];
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
  entries[n++] = (GOptionEntry){ "no-resume",
                                 0,
                                 0,
                                 G_OPTION_ARG_NONE,
                                 &raw->no_resume,
                                 "Start with new messages, not where the last run stopped",
                                 NULL };
  entries[n++]
      = (GOptionEntry){ "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "Log debug messages",
                        NULL };
  entries[n++] = (GOptionEntry){
    "version", 0, 0, G_OPTION_ARG_NONE, &o->version, "Print the version and exit", NULL
  };
  entries[n] = (GOptionEntry){ NULL };
  ctx = g_option_context_new ("[SESSION[/CHANNEL]]");
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
  if (*argc > 2)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "%s",
                   "more than one SESSION[/CHANNEL]");
      return FALSE;
    }
  if (*argc == 2 && !parse_target (o, (*argv)[1], error))
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
  if (*argc < 2 && !options_target (o, &raw, error))
    return FALSE;
  if (raw.value[OPT_PRESET] && !apply_preset (&raw, error))
    return FALSE;
  return validate (o, &raw, error);
}
