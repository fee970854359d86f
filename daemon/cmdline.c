#include "cmdline.h"

#include <string.h>

#include "wsb-error.h"

gboolean
wsb_cmdline_parse (int *argc, char ***argv, WsbCmdline *opts, GError **error)
{
  const GOptionEntry entries[] = {
    { "user", 0, 0, G_OPTION_ARG_NONE, &opts->user, "Run the per-user instance (default)", NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &opts->system, "Run the system instance", NULL },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &opts->config_dir,
      "Read wsbridge.conf and sessions.d/ from DIR", "DIR" },
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &opts->socket, "Listen on this Unix socket", "PATH" },
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
wsb_cmdline_clear (WsbCmdline *opts)
{
  g_free (opts->config_dir);
  g_free (opts->socket);
  g_free (opts->bus);
  memset (opts, 0, sizeof *opts);
}
