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
#include "notify-position.h"
#include "wsb-version.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
/* The subscription cannot work as configured (no such session, access
 * denied): sysexits' EX_CONFIG, which the unit does not restart. */
#define EXIT_CONFIG 78
/* The position is written at most this often while messages come. */
#define POSITION_SAVE_MS 1000

typedef struct
{
  GMainLoop *loop;
  int status;
  WsbNotifyFormat format;
  WsbNotifyDesktop *desktop;
  WsbNotifyFeed *feed;
  char *position_path; /* NULL: --no-resume */
  guint64 epoch, seq;  /* the position to save */
  gboolean position_dirty;
  guint position_timer;
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
  WsbNotifyContent *c = wsb_notify_format (&app->format, m->data.data, m->data.len, m->binary);

  if (c)
    wsb_notify_desktop_show (app->desktop, c, m->epoch, m->seq);
  else
    {
      g_debug ("seq %" G_GUINT64_FORMAT " does not pass the filter; not shown", m->seq);
      wsb_notify_desktop_skip (app->desktop, m->epoch, m->seq);
    }
}

static void
save_position (App *app)
{
  g_autoptr (GError) error = NULL;

  if (!app->position_dirty)
    return;
  app->position_dirty = FALSE;
  if (!wsb_notify_position_save (app->position_path, app->epoch, app->seq, &error))
    g_warning ("cannot keep the position in %s: %s", app->position_path, error->message);
}

static gboolean
on_position_timer (gpointer data)
{
  App *app = data;

  app->position_timer = 0;
  save_position (app);
  return G_SOURCE_REMOVE;
}

/* A message was shown (or counted, or skipped): the position moves on. The
 * feed's own position (what it received) may be ahead of it while messages
 * wait for a notification server; those must show after a restart too. */
static void
on_position (guint64 epoch, guint64 seq, gpointer data)
{
  App *app = data;

  if (!app->position_path || (epoch == app->epoch && seq == app->seq))
    return;
  app->epoch = epoch;
  app->seq = seq;
  app->position_dirty = TRUE;
  if (!app->position_timer)
    app->position_timer = g_timeout_add (POSITION_SAVE_MS, on_position_timer, app);
}

/* Where the last run stopped, when it left a position. */
static void
load_position (App *app, const WsbNotifyOptions *opts)
{
  g_autofree char *dir = NULL;
  g_autoptr (GError) error = NULL;

  if (!opts->resume)
    return;
  dir = g_build_filename (g_get_user_state_dir (), "wsbridge", "notify", NULL);
  app->position_path = wsb_notify_position_path (dir, opts->session, opts->channel);
  if (wsb_notify_position_load (app->position_path, &app->epoch, &app->seq, &error))
    {
      g_message ("resuming after seq %" G_GUINT64_FORMAT " (from %s)", app->seq,
                 app->position_path);
      wsb_notify_feed_set_position (app->feed, app->epoch, app->seq);
    }
  else if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    g_warning ("ignoring %s: %s; starting with new messages", app->position_path, error->message);
}

static void
on_gap (guint64 from_seq, guint64 to_seq, guint64 epoch, gpointer data)
{
  App *app = data;

  wsb_notify_desktop_gap (app->desktop, from_seq, to_seq, epoch);
}

static void
on_fatal (const char *message, gpointer data)
{
  g_printerr ("wsbridge-notify: %s\n", message);
  quit (data, EXIT_CONFIG);
}

/* A first run starts live: that is its position until a message moves it,
 * so that a restart before any message still resumes from here. */
static void
on_subscribed (guint64 epoch, guint64 seq, gpointer data)
{
  App *app = data;

  if (!app->epoch)
    on_position (epoch, seq, app);
}

static const WsbNotifyFeedFuncs feed_funcs = {
  .message = on_message,
  .gap = on_gap,
  .fatal = on_fatal,
  .subscribed = on_subscribed,
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
    .filter = opts.filter,
    .summary = opts.summary,
    .summary_fallback = opts.summary_fallback,
    .body = opts.body,
    .icon = opts.icon_key,
    .urgency = opts.urgency_key,
    .urgency_map = opts.urgency_map,
    .url = opts.url_key,
    .actions = opts.actions_key,
    .tags = opts.tags_key,
    .markdown = opts.markdown,
    .default_summary = opts.target,
    .default_icon = opts.icon ? opts.icon : WSB_NOTIFY_DEFAULT_ICON,
  };
  if (opts.preset)
    g_message ("preset %s", opts.preset);
  g_signal_connect (bus, "closed", G_CALLBACK (on_bus_closed), &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);
  app.desktop = wsb_notify_desktop_new (bus, opts.app_name, opts.target, opts.burst, opts.window,
                                        on_server_changed, &app);
  wsb_notify_desktop_set_position_func (app.desktop, on_position, &app);
  app.feed = wsb_notify_feed_new (opts.socket, opts.session, opts.channel, &feed_funcs, &app);
  load_position (&app, &opts);
  /* Reading stops while a message waits for a notification server. */
  wsb_notify_feed_start (app.feed);
  if (app.status == 0)
    g_main_loop_run (app.loop);
  if (app.position_timer)
    g_source_remove (app.position_timer);
  if (app.position_path)
    save_position (&app);
  g_free (app.position_path);

  wsb_notify_feed_free (app.feed);
  wsb_notify_desktop_free (app.desktop);
  notify_uninit ();
  g_main_loop_unref (app.loop);
  return app.status;
}
