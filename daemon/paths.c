#include "paths.h"

#include <string.h>

#include "wsb-error.h"

#define SYSTEM_CONFIG_DIR "/etc/wsbridge"
#define SYSTEM_RUNTIME_DIR "/run/wsbridge"
#define SYSTEM_STATE_DIR "/var/lib/wsbridge"
#define SOCKET_NAME "wsbridge.sock"

gboolean
wsb_paths_parse_args (int *argc, char ***argv, WsbPathOptions *opts, GError **error)
{
  const GOptionEntry entries[] = {
    { "user", 0, 0, G_OPTION_ARG_NONE, &opts->user, "Run the per-user instance (default)", NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &opts->system, "Run the system instance", NULL },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &opts->config_dir,
      "Read wsbridge.conf and sessions.d/ from DIR", "DIR" },
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &opts->socket, "Listen on this Unix socket",
      "PATH" },
    { "bus", 0, 0, G_OPTION_ARG_STRING, &opts->bus,
      "D-Bus to serve on: session (default of --user), system (default of --system) or none",
      "BUS" },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &opts->replace,
      "Take over the D-Bus name and the socket from a running wsbridged", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opts->verbose, "Log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opts->version, "Print the version and exit", NULL },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &opts->check_config,
      "Validate the configuration and exit: 0 when valid, 2 with the errors", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx
      = g_option_context_new ("- keep WebSocket sessions alive and share them locally");

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT, "unexpected argument '%s'",
                   (*argv)[1]);
      return FALSE;
    }
  if (opts->user && opts->system)
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "--user and --system exclude each other");
      return FALSE;
    }
  if (opts->bus && strcmp (opts->bus, "none") != 0 && strcmp (opts->bus, "session") != 0
      && strcmp (opts->bus, "system") != 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "--bus must be session, system or none, not '%s'", opts->bus);
      return FALSE;
    }
  if (opts->socket && !g_path_is_absolute (opts->socket))
    {
      g_autofree char *cwd = g_get_current_dir ();
      char *abs = g_build_filename (cwd, opts->socket, NULL);
      g_free (opts->socket);
      opts->socket = abs;
    }
  return TRUE;
}

void
wsb_path_options_clear (WsbPathOptions *opts)
{
  g_free (opts->config_dir);
  g_free (opts->socket);
  g_free (opts->bus);
  memset (opts, 0, sizeof *opts);
}

/* First entry of a systemd *_DIRECTORY variable (they are ':'-separated). */
static char *
systemd_dir (const char *var)
{
  const char *v = g_getenv (var);
  const char *colon;

  if (!v || !*v)
    return NULL;
  colon = strchr (v, ':');
  return colon ? g_strndup (v, colon - v) : g_strdup (v);
}

WsbPaths *
wsb_paths_resolve (const WsbPathOptions *opts)
{
  WsbPaths *p = g_new0 (WsbPaths, 1);
  g_autofree char *runtime = NULL;

  if (opts->system)
    {
      p->config_dir = systemd_dir ("CONFIGURATION_DIRECTORY");
      if (!p->config_dir)
        p->config_dir = g_strdup (SYSTEM_CONFIG_DIR);
      p->state_dir = systemd_dir ("STATE_DIRECTORY");
      if (!p->state_dir)
        p->state_dir = g_strdup (SYSTEM_STATE_DIR);
      runtime = systemd_dir ("RUNTIME_DIRECTORY");
      if (!runtime)
        runtime = g_strdup (SYSTEM_RUNTIME_DIR);
    }
  else
    {
      p->config_dir = g_build_filename (g_get_user_config_dir (), "wsbridge", NULL);
      p->state_dir = g_build_filename (g_get_user_state_dir (), "wsbridge", NULL);
      runtime = g_build_filename (g_get_user_runtime_dir (), "wsbridge", NULL);
    }
  if (opts->config_dir)
    {
      g_free (p->config_dir);
      p->config_dir = g_strdup (opts->config_dir);
    }
  if (!opts->bus)
    p->bus = opts->system ? WSB_BUS_SYSTEM : WSB_BUS_SESSION;
  else if (strcmp (opts->bus, "session") == 0)
    p->bus = WSB_BUS_SESSION;
  else if (strcmp (opts->bus, "system") == 0)
    p->bus = WSB_BUS_SYSTEM;
  else
    p->bus = WSB_BUS_NONE;
  if (opts->socket)
    p->socket = g_strdup (opts->socket);
  else
    {
      p->socket = g_build_filename (runtime, SOCKET_NAME, NULL);
      /* The system instance's socket is for every local user. */
      p->socket_dir_private = !opts->system;
    }
  return p;
}

void
wsb_paths_free (WsbPaths *p)
{
  if (!p)
    return;
  g_free (p->config_dir);
  g_free (p->state_dir);
  g_free (p->socket);
  g_free (p);
}
