#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "access.h"
#include "fd-reserve.h"
#include "peer.h"
#include "cmdline.h"
#include "config.h"
#include "dbus-server.h"
#include "hub.h"
#include "ipc-server.h"
#include "netmon.h"
#include "paths.h"
#include "resume-monitor.h"
#include "upstream.h"
#include "wsb-error.h"
#include "wsb-version.h"

enum
{
  EXIT_USAGE = 2,
};

/* --replace: how long to wait for the old instance to let go of the socket
 * (it does so as soon as it loses the name), and how often to look. */
#define REPLACE_WAIT_S 10
#define REPLACE_POLL_MS 20

typedef struct
{
  GMainLoop *loop;
  WsbHub *hub;
  WsbIpcServer *ipc;
  const char *config_dir;
  WsbDaemonConfig daemon_cfg; /* in force; [daemon] changes need a restart */
  gboolean stopping;
  guint watchdog_id;
} Daemon;

/* GLib's journal writer sends only the fields it is given: each record
 * gets SYSLOG_IDENTIFIER here, so "journalctl -t wsbridged" finds every
 * line whatever the binary is called (or wraps it). Plain text output
 * ignores the field. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  GLogField *all = g_newa (GLogField, n_fields + 1);

  memcpy (all, fields, n_fields * sizeof *fields);
  all[n_fields] = (GLogField){ "SYSLOG_IDENTIFIER", "wsbridged", -1 };
  return g_log_writer_default (level, all, n_fields + 1, data);
}

static gboolean
on_shutdown_done (gpointer data)
{
  Daemon *d = data;

  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_terminate (gpointer data)
{
  Daemon *d = data;

  if (d->stopping)
    return G_SOURCE_CONTINUE;
  d->stopping = TRUE;
  g_message ("shutting down: closing every session with 1001");
  sd_notify (0, "STOPPING=1");
  wsb_hub_shutdown (d->hub, on_shutdown_done, d);
  return G_SOURCE_CONTINUE;
}

/* Another instance took our D-Bus name (its --replace): give it the socket
 * at once, then stop as on SIGTERM. */
static gboolean
on_replaced (gpointer data)
{
  Daemon *d = data;

  g_message ("replaced by another wsbridged: handing over the socket");
  wsb_ipc_server_stop_listening (d->ipc);
  on_terminate (d);
  return G_SOURCE_REMOVE;
}

static gboolean
on_hangup (gpointer data)
{
  Daemon *d = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = NULL;

  if (d->stopping)
    return G_SOURCE_CONTINUE;
  g_message ("SIGHUP: reloading the configuration from %s", d->config_dir);
  cfg = wsb_config_load_dir (d->config_dir, &error);
  if (!cfg)
    {
      g_warning ("configuration error, keeping the old configuration: %s", error->message);
      return G_SOURCE_CONTINUE;
    }
  for (guint i = 0; i < cfg->warnings->len; i++)
    g_warning ("%s", (const char *) g_ptr_array_index (cfg->warnings, i));
  if (!wsb_daemon_config_equal (&cfg->daemon, &d->daemon_cfg))
    g_warning ("[daemon] settings changed; they take effect when wsbridged restarts");
  /* Users and groups may have changed with the configuration. */
  wsb_peer_forget ();
  wsb_hub_apply_config (d->hub, cfg->sessions);
  return G_SOURCE_CONTINUE;
}

static void
on_wake (const char *why, gpointer data)
{
  Daemon *d = data;

  if (!d->stopping)
    wsb_hub_wake (d->hub);
}

static gboolean
on_watchdog (gpointer data)
{
  sd_notify (0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

static void
start_watchdog (Daemon *d)
{
  uint64_t usec = 0;

  if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0)
    d->watchdog_id = g_timeout_add ((guint) MAX (usec / 2000, 1), on_watchdog, d);
}

static gboolean
set_true (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop's sources (D-Bus among them) for about ms. */
static void
dispatch_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_true, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* Makes the socket at path; with replace, waits while another wsbridged
 * still listens there: the one we replace, until it lets go. */
static gboolean
listen_socket (WsbIpcServer *ipc, const WsbPaths *paths, gboolean replace, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + REPLACE_WAIT_S * G_USEC_PER_SEC;

  while (!wsb_ipc_server_listen (ipc, paths->socket, paths->socket_dir_private, error))
    {
      if (!replace || !g_error_matches (*error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS))
        return FALSE;
      if (g_get_monotonic_time () >= deadline)
        {
          g_prefix_error (error, "--replace waited %d s: ", REPLACE_WAIT_S);
          return FALSE;
        }
      g_clear_error (error);
      dispatch_for (REPLACE_POLL_MS);
    }
  return TRUE;
}

/* The API socket: handed over by systemd, or made at path. */
static gboolean
open_socket (WsbIpcServer *ipc, const WsbPaths *paths, gboolean replace, GError **error)
{
  int n = sd_listen_fds (TRUE);

  if (n == 1 && sd_is_socket_unix (SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) > 0)
    {
      g_message ("using the API socket passed by systemd");
      return wsb_ipc_server_adopt (ipc, SD_LISTEN_FDS_START, error);
    }
  if (n > 1)
    g_warning ("systemd passed %d sockets; expected one, making our own", n);
  return listen_socket (ipc, paths, replace, error);
}

/* --check-config: what start-up would say of the configuration, without
 * starting (ExecReload= runs it before SIGHUP, so that "systemctl reload"
 * reports a bad edit). 0 when it loads, EXIT_USAGE with start-up's
 * file:line message when it does not; warnings go to stderr either way. */
static int
check_config (const WsbCmdline *opts, const WsbPaths *paths)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = NULL;

  if (opts->config_dir && !g_file_test (paths->config_dir, G_FILE_TEST_IS_DIR))
    {
      g_printerr ("wsbridged: --config %s: %s\n", opts->config_dir,
                  g_file_test (opts->config_dir, G_FILE_TEST_EXISTS) ? "not a directory"
                                                                     : "no such directory");
      return EXIT_USAGE;
    }
  cfg = wsb_config_load_dir (paths->config_dir, &error);
  if (!cfg)
    {
      g_printerr ("wsbridged: configuration error: %s\n", error->message);
      return EXIT_USAGE;
    }
  for (guint i = 0; i < cfg->warnings->len; i++)
    g_printerr ("wsbridged: warning: %s\n", (const char *) g_ptr_array_index (cfg->warnings, i));
  g_print ("wsbridged: configuration %s is valid (%u session%s)%s\n", paths->config_dir,
           cfg->sessions->len, cfg->sessions->len == 1 ? "" : "s",
           g_file_test (paths->config_dir, G_FILE_TEST_IS_DIR) ? ""
                                                               : "; the directory does not exist");
  return EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbPaths) paths = NULL;
  g_autoptr (WsbConfig) cfg = NULL;
  g_autoptr (WsbUpstream) up = NULL;
  g_autoptr (WsbIpcServer) ipc = NULL;
  g_autoptr (WsbDBusServer) dbus = NULL;
  WsbNetmon *netmon = NULL;
  WsbResumeMonitor *resume_monitor = NULL;
  Daemon d = { 0 };
  GBusType bus_type;
  g_auto (WsbCmdline) opts = { 0 };

  setlocale (LC_ALL, "");
  /* Debug and info would go to stdout by default; a daemon logs to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);
  g_log_set_writer_func (log_writer, NULL, NULL);
  signal (SIGPIPE, SIG_IGN);

  if (!wsb_cmdline_parse (&argc, &argv, &opts, &error))
    {
      g_printerr ("wsbridged: %s\nTry 'wsbridged --help'.\n", error->message);
      return EXIT_USAGE;
    }
  if (opts.version)
    {
      g_print ("wsbridged %s (socket API %d.%d)\n", WSB_VERSION, WSB_API_MAJOR, WSB_API_MINOR);
      return EXIT_SUCCESS;
    }
  if (opts.verbose)
    g_log_set_debug_enabled (TRUE);

  /* The system instance has no desktop settings to follow, and GIO would
   * otherwise open dconf, which writes ~/.cache/dconf/user into its home,
   * the state directory. */
  if (opts.system)
    g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  paths = wsb_paths_resolve (&opts);
  if (opts.check_config)
    return check_config (&opts, paths);
  bus_type = paths->bus == WSB_BUS_SYSTEM ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION;
  if (!g_file_test (paths->config_dir, G_FILE_TEST_IS_DIR))
    {
      if (opts.config_dir)
        {
          g_printerr ("wsbridged: --config %s: %s\n", opts.config_dir,
                      g_file_test (opts.config_dir, G_FILE_TEST_EXISTS) ? "not a directory"
                                                                        : "no such directory");
          return EXIT_USAGE;
        }
      g_message ("no configuration directory %s: running without configured sessions (see "
                 "wsbridge.conf(5))",
                 paths->config_dir);
    }
  cfg = wsb_config_load_dir (paths->config_dir, &error);
  if (!cfg)
    {
      g_printerr ("wsbridged: configuration error: %s\n", error->message);
      return EXIT_USAGE;
    }
  for (guint i = 0; i < cfg->warnings->len; i++)
    g_warning ("%s", (const char *) g_ptr_array_index (cfg->warnings, i));
  g_message ("wsbridged %s starting (%s instance, config %s, %u session%s)", WSB_VERSION,
             opts.system ? "system" : "user", paths->config_dir, cfg->sessions->len,
             cfg->sessions->len == 1 ? "" : "s");

  d.config_dir = paths->config_dir;
  d.daemon_cfg = cfg->daemon;
  d.loop = g_main_loop_new (NULL, FALSE);
  wsb_fd_reserve_init ();
  up = wsb_upstream_new (d.loop, opts.verbose, opts.system, &error);
  if (!up)
    {
      g_printerr ("wsbridged: %s\n", error->message);
      return EXIT_FAILURE;
    }
  d.hub = wsb_hub_new (up, paths->config_dir, paths->state_dir);
  wsb_hub_set_access (d.hub, wsb_access_new (opts.system, getuid (), &cfg->daemon));
  for (guint i = 0; i < cfg->sessions->len; i++)
    if (!wsb_hub_add_session (d.hub, g_ptr_array_index (cfg->sessions, i), &error))
      {
        g_printerr ("wsbridged: %s\n", error->message);
        return EXIT_FAILURE;
      }

  ipc = wsb_ipc_server_new (d.hub, &cfg->daemon);
  wsb_ipc_server_set_system (ipc, opts.system);
  d.ipc = ipc;
  if (paths->bus != WSB_BUS_NONE)
    {
      dbus = wsb_dbus_server_new (d.hub, &cfg->daemon, opts.system);
      wsb_dbus_server_set_replaced_func (dbus, on_replaced, &d);
    }
  /* Normally the socket comes first, so that a second instance fails
   * before touching the bus. --replace takes the name first: losing it is
   * what makes the running instance give up the socket. */
  if (dbus && opts.replace)
    {
      wsb_dbus_server_start (dbus, bus_type, TRUE);
      while (wsb_dbus_server_get_name_state (dbus) == WSB_DBUS_NAME_PENDING)
        g_main_context_iteration (NULL, TRUE);
    }
  if (!open_socket (ipc, paths, opts.replace, &error))
    {
      g_printerr ("wsbridged: %s\n", error->message);
      g_clear_pointer (&dbus, wsb_dbus_server_free);
      g_clear_pointer (&ipc, wsb_ipc_server_free);
      wsb_hub_free (d.hub);
      return EXIT_FAILURE;
    }
  if (dbus && !opts.replace)
    wsb_dbus_server_start (dbus, bus_type, FALSE);

  g_unix_signal_add (SIGTERM, on_terminate, &d);
  g_unix_signal_add (SIGINT, on_terminate, &d);
  g_unix_signal_add (SIGHUP, on_hangup, &d);
  wsb_hub_start (d.hub);
  netmon = wsb_netmon_new (on_wake, &d);
  resume_monitor = wsb_resume_monitor_new (on_wake, &d);
  g_message ("listening on %s", paths->socket);
  sd_notifyf (0, "READY=1\nSTATUS=serving %u session%s", cfg->sessions->len,
              cfg->sessions->len == 1 ? "" : "s");
  start_watchdog (&d);

  g_main_loop_run (d.loop);

  wsb_resume_monitor_free (resume_monitor);
  wsb_netmon_free (netmon);
  /* Frontends first, so nothing holds a subscription when sessions go. */
  g_clear_pointer (&ipc, wsb_ipc_server_free);
  g_clear_pointer (&dbus, wsb_dbus_server_free);
  /* What the frontends cancelled (a question to the bus about a caller, a
   * lookup of its groups) ends in callbacks queued on the loop: let them
   * run, so that nothing is left half-done. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  wsb_hub_free (d.hub);
  wsb_peer_forget ();
  g_clear_pointer (&up, wsb_upstream_free);
  wsb_fd_reserve_free ();
  if (d.watchdog_id)
    g_source_remove (d.watchdog_id);
  g_main_loop_unref (d.loop);
  g_message ("stopped");
  return EXIT_SUCCESS;
}
