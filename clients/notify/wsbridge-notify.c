/* wsbridge-notify: the messages of a wsbridge session (or one of its
 * channels) as desktop notifications. This file is the glue: options, the
 * session bus, and the feed (notify-feed.c) handing messages to the desktop
 * (notify-desktop.c) as notify-message.c formats them. */
#include <glib-unix.h>
#include <libnotify/notify.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>

#include "notify-desktop.h"
#include "notify-feed.h"
#include "notify-message.h"
#include "notify-options.h"
#include "wsb-version.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

typedef struct
{
  GMainLoop *loop;
  int status;
  WsbNotifyFormat format;
  WsbNotifyDesktop *desktop;
  WsbNotifyFeed *feed;
} App;

static void
quit (App *app, int status)
{
  app->status = status;
  g_main_loop_quit (app->loop);
}

static void
on_message (const Wsbridge__V1__Message *m, gpointer data)
{
  App *app = data;

  wsb_notify_desktop_show (app->desktop,
                           wsb_notify_format (&app->format, m->data.data, m->data.len, m->binary));
}

static void
on_gap (guint64 from_seq, guint64 to_seq, gpointer data)
{
  App *app = data;

  wsb_notify_desktop_gap (app->desktop, from_seq, to_seq);
}

static void
on_fatal (const char *message, gpointer data)
{
  g_printerr ("wsbridge-notify: %s\n", message);
  quit (data, EXIT_FAILED);
}

static const WsbNotifyFeedFuncs feed_funcs = {
  .message = on_message,
  .gap = on_gap,
  .fatal = on_fatal,
};

static void
on_server_changed (gboolean present, gpointer data)
{
  App *app = data;

  if (app->feed)
    wsb_notify_feed_set_paused (app->feed, !present);
}

static void
on_bus_closed (GDBusConnection *bus, gboolean remote_peer_vanished, GError *error, gpointer data)
{
  g_printerr ("wsbridge-notify: lost the session bus%s%s\n", error ? ": " : "",
              error ? error->message : "");
  quit (data, EXIT_FAILED);
}

static gboolean
on_signal (gpointer data)
{
  quit (data, EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_auto (WsbNotifyOptions) opts = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  App app = { 0 };

  setlocale (LC_ALL, "");
  g_log_writer_default_set_use_stderr (TRUE);
  signal (SIGPIPE, SIG_IGN);
  if (!wsb_notify_options_parse (&opts, &argc, &argv, &error))
    {
      g_printerr ("wsbridge-notify: %s\nTry 'wsbridge-notify --help'.\n", error->message);
      return EXIT_USAGE;
    }
  if (opts.version)
    {
      g_print ("wsbridge-notify %s\n", WSB_VERSION);
      return EXIT_SUCCESS;
    }
  if (opts.verbose)
    g_log_set_debug_enabled (TRUE);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (!bus)
    {
      g_printerr ("wsbridge-notify: no D-Bus session bus: %s\n", error->message);
      return EXIT_FAILED;
    }
  /* Losing the bus is a failure for systemd to restart, not a SIGTERM. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  notify_init (opts.app_name);

  app.loop = g_main_loop_new (NULL, FALSE);
  app.format = (WsbNotifyFormat){
    .summary = opts.summary,
    .body = opts.body,
    .icon = opts.icon_key,
    .urgency = opts.urgency_key,
    .url = opts.url_key,
    .default_summary = opts.target,
    .default_icon = opts.icon,
  };
  g_signal_connect (bus, "closed", G_CALLBACK (on_bus_closed), &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);
  app.desktop = wsb_notify_desktop_new (bus, opts.app_name, opts.target, opts.burst, opts.window,
                                        on_server_changed, &app);
  app.feed = wsb_notify_feed_new (opts.socket, opts.session, opts.channel, &feed_funcs, &app);
  /* Nothing is read before a notification server is there. */
  wsb_notify_feed_set_paused (app.feed, TRUE);
  wsb_notify_feed_start (app.feed);
  if (app.status == 0)
    g_main_loop_run (app.loop);

  wsb_notify_feed_free (app.feed);
  wsb_notify_desktop_free (app.desktop);
  notify_uninit ();
  g_main_loop_unref (app.loop);
  return app.status;
}
