#include "paths.h"

#include <string.h>

#define SYSTEM_CONFIG_DIR "/etc/wsbridge"
#define SYSTEM_RUNTIME_DIR "/run/wsbridge"
#define SYSTEM_STATE_DIR "/var/lib/wsbridge"
#define SOCKET_NAME "wsbridge.sock"

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
wsb_paths_resolve (const WsbCmdline *opts)
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
