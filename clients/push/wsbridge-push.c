/* wsbridge-push: a UnifiedPush distributor on the session bus whose push
 * server connection is a wsbridge session. This file is the glue: options,
 * the bus name, --status; the distributor is push-service.c. */
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "push-config.h"
#include "push-ntfy.h"
#include "push-service.h"
#include "push-store.h"
#include "wsb-version.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
/* How long a stop waits for the answers of messages on their way. */
#define DRAIN_MS 2000

typedef struct
{
  GMainLoop *loop;
  int status;
  WsbPushService *service;
} App;

static void
quit (App *app, int status)
{
  if (!app->status)
    app->status = status;
  g_main_loop_quit (app->loop);
}

static gboolean
on_signal (gpointer data)
{
  quit (data, EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

static void
on_name_acquired (GDBusConnection *bus, const char *name, gpointer data)
{
  App *app = data;

  g_message ("serving %s", name);
  wsb_push_service_start (app->service);
}

static void
on_name_lost (GDBusConnection *bus, const char *name, gpointer data)
{
  g_printerr ("wsbridge-push: %s is owned by another process, or the bus is gone\n", name);
  quit (data, EXIT_FAILED);
}

static char *
state_path_default (void)
{
  return g_build_filename (g_get_user_state_dir (), "wsbridge", "push", "registrations.json", NULL);
}

static char *
socket_path_default (void)
{
  const char *env = g_getenv ("WSBRIDGE_SOCKET");

  if (env && *env)
    return g_strdup (env);
  return g_build_filename (g_get_user_runtime_dir (), "wsbridge", "wsbridge.sock", NULL);
}

static char *
format_time (gint64 t)
{
  g_autoptr (GDateTime) dt = NULL;

  if (t <= 0)
    return g_strdup ("never");
  dt = g_date_time_new_from_unix_local (t);
  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

/* The registrations as the state file has them: one line each. */
static int
print_status (const WsbPushConfig *cfg, const char *state_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbPushStore) store = wsb_push_store_load (state_path, &error);
  GPtrArray *regs;
  int w_app = 3, w_desc = 11, w_end = 8;

  if (!store)
    {
      g_printerr ("wsbridge-push: %s\n", error->message);
      return EXIT_FAILED;
    }
  g_print ("push server: %s\n", cfg->server ? cfg->server : "(none: set server= in push.conf)");
  regs = wsb_push_store_regs (store);
  if (regs->len == 0)
    {
      g_print ("no registrations\n");
      return EXIT_SUCCESS;
    }
  for (guint i = 0; i < regs->len; i++)
    {
      WsbPushReg *r = g_ptr_array_index (regs, i);
      g_autofree char *end
          = cfg->server ? wsb_push_endpoint (cfg->server, r->topic) : g_strdup (r->topic);

      w_app = MAX (w_app, (int) g_utf8_strlen (r->service, -1));
      w_desc = MAX (w_desc, (int) g_utf8_strlen (r->description, -1));
      w_end = MAX (w_end, (int) strlen (end));
    }
  g_print ("%-*s  %-*s  %-*s  %s\n", w_app, "APP", w_desc, "DESCRIPTION", w_end, "ENDPOINT",
           "LAST MESSAGE");
  for (guint i = 0; i < regs->len; i++)
    {
      WsbPushReg *r = g_ptr_array_index (regs, i);
      g_autofree char *end
          = cfg->server ? wsb_push_endpoint (cfg->server, r->topic) : g_strdup (r->topic);
      g_autofree char *when = format_time (r->last_message);
      /* Descriptions come from apps: no control characters on a terminal. */
      g_autofree char *desc = g_strdup (r->description);

      for (char *p = desc; *p; p++)
        if ((guchar) *p < 0x20 || *p == 0x7f)
          *p = ' ';
      g_print ("%-*s  %-*s  %-*s  %s\n", w_app, r->service,
               w_desc + (int) (strlen (desc) - g_utf8_strlen (desc, -1)), desc, w_end, end, when);
    }
  return EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  g_autofree char *socket_path = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *state_path = NULL;
  gboolean status = FALSE, verbose = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    { "status", 0, 0, G_OPTION_ARG_NONE, &status, "List the registrations and exit", NULL },
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path,
      "wsbridged's socket (default: $WSBRIDGE_SOCKET, else the user instance's)", "PATH" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path,
      "The configuration (default: $XDG_CONFIG_HOME/wsbridge/push.conf)", "FILE" },
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &state_path,
      "The registrations (default: $XDG_STATE_HOME/wsbridge/push/registrations.json)", "FILE" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_auto (WsbPushConfig) cfg = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (WsbPushService) service = NULL;
  App app = { 0 };
  guint owner_id;

  setlocale (LC_ALL, "");
  g_log_writer_default_set_use_stderr (TRUE);
  signal (SIGPIPE, SIG_IGN);
  g_option_context_set_summary (ctx, "A UnifiedPush distributor (org.unifiedpush.Distributor."
                                     "wsbridge) whose push server stream is a wsbridge session.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc > 1)
    {
      g_printerr ("wsbridge-push: %s\nTry 'wsbridge-push --help'.\n",
                  error ? error->message : "no arguments are taken");
      return EXIT_USAGE;
    }
  if (version)
    {
      g_print ("wsbridge-push %s\n", WSB_VERSION);
      return EXIT_SUCCESS;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);
  if (!config_path)
    config_path = wsb_push_config_default_path ();
  if (!state_path)
    state_path = state_path_default ();
  if (!socket_path)
    socket_path = socket_path_default ();
  if (!wsb_push_config_load (&cfg, config_path, &error))
    {
      g_printerr ("wsbridge-push: %s\n", error->message);
      return EXIT_FAILED;
    }
  if (status)
    return print_status (&cfg, state_path);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (!bus)
    {
      g_printerr ("wsbridge-push: no D-Bus session bus: %s\n", error->message);
      return EXIT_FAILED;
    }
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  app.loop = g_main_loop_new (NULL, FALSE);
  service = wsb_push_service_new (bus, &cfg, socket_path, state_path, &error);
  if (!service || !wsb_push_service_export (service, &error))
    {
      g_printerr ("wsbridge-push: %s\n", error->message);
      g_main_loop_unref (app.loop);
      return EXIT_FAILED;
    }
  app.service = service;
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);
  owner_id = g_bus_own_name_on_connection (bus, WSB_PUSH_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                           on_name_acquired, on_name_lost, &app, NULL);
  g_main_loop_run (app.loop);
  g_bus_unown_name (owner_id);
  wsb_push_service_drain (service, DRAIN_MS);
  g_clear_pointer (&service, wsb_push_service_free);
  g_main_loop_unref (app.loop);
  return app.status;
}
