/* dbus-subscriber: a counting D-Bus subscriber, as a GLib app would write
 * one: GDBus, Subscribe() on the session object, then Message signals
 * counted (and timed with --latency from the payload's send time,
 * bench-meter.h) until --count have arrived (Gap signals count as lost).
 *
 *   dbus-subscriber --address ADDRESS --session NAME --count N [--latency] [--batch]
 *
 * With --batch it subscribes with SubscribeWithOptions(batch=true) and
 * counts the messages of each Messages signal.
 *
 * Prints "READY" once subscribed, then one JSON result line, and exits 0;
 * exits 1 with the partial result when nothing came for --timeout seconds
 * or the bus connection closed. With --count 0 it counts whatever comes
 * until stdin reaches EOF and then for as long as more keeps coming (2 s of
 * silence end it), and prints what it got: stopped with SIGSTOP in between,
 * it is a stuck subscriber, for the cost a slow D-Bus client puts on the
 * others and what the bus does with its messages. */
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-meter.h"

#define BUS_NAME "io.github.WsBridge1"
#define MANAGER_PATH "/io/github/WsBridge1"
#define MANAGER_IFACE "io.github.WsBridge1.Manager"
#define SESSION_IFACE "io.github.WsBridge1.Session"

typedef struct
{
  BenchClientOptions c;
  char *address;
  gboolean batch;
} Options;

typedef struct
{
  Options opt;
  BenchMeter meter;
  GMainLoop *loop;
  gboolean draining; /* --count 0 after stdin EOF */
  char *failure;
  int exit_code;
} Subscriber;

static void
finish (Subscriber *sub, const char *failure)
{
  if (failure && !sub->failure)
    sub->failure = g_strdup (failure);
  sub->exit_code = failure ? 1 : 0;
  g_main_loop_quit (sub->loop);
}

static void
on_signal (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer data)
{
  Subscriber *sub = data;
  gboolean done = FALSE;

  if (strcmp (signal, "Messages") == 0)
    {
      g_autoptr (GVariant) list = g_variant_get_child_value (params, 1);
      gsize n = g_variant_n_children (list);

      for (gsize i = 0; i < n && !done; i++)
        {
          g_autoptr (GVariant) item = g_variant_get_child_value (list, i);
          g_autoptr (GVariant) data_v = g_variant_get_child_value (item, 3);
          gboolean binary;
          gsize len;
          const guint8 *bytes = g_variant_get_fixed_array (data_v, &len, 1);

          g_variant_get_child (item, 2, "b", &binary);
          done = bench_meter_message (&sub->meter, bytes, len, binary);
        }
    }
  else if (strcmp (signal, "Message") == 0)
    {
      const char *text;
      gsize len;
      g_variant_get_child (params, 3, "&s", &text);
      len = strlen (text);
      done = bench_meter_message (&sub->meter, (const guint8 *) text, len, FALSE);
    }
  else if (strcmp (signal, "BinaryMessage") == 0)
    {
      g_autoptr (GVariant) data_v = g_variant_get_child_value (params, 3);
      gsize len;
      const guint8 *bytes = g_variant_get_fixed_array (data_v, &len, 1);
      done = bench_meter_message (&sub->meter, bytes, len, TRUE);
    }
  else if (strcmp (signal, "Gap") == 0)
    {
      guint64 from, to;
      g_variant_get (params, "(&stt)", NULL, &from, &to);
      done = bench_meter_lost (&sub->meter, to - from + 1);
    }
  if (done && sub->opt.c.count)
    finish (sub, NULL);
}

static gboolean
on_tick (gpointer data)
{
  Subscriber *sub = data;
  gint64 silence = bench_meter_silence_ns (&sub->meter);

  if (sub->opt.c.count == 0)
    {
      /* Holding: silence is expected until stdin EOF, then it ends the drain. */
      if (!sub->draining || silence < 2000000000)
        return G_SOURCE_CONTINUE;
      finish (sub, NULL);
    }
  else if (silence > (gint64) sub->opt.c.timeout_s * 1000000000)
    {
      g_autofree char *why = g_strdup_printf ("no message for %d s", sub->opt.c.timeout_s);
      finish (sub, why);
    }
  else
    return G_SOURCE_CONTINUE;
  return G_SOURCE_REMOVE;
}

static void
on_closed (GDBusConnection *conn, gboolean remote, GError *error, gpointer data)
{
  finish (data, "the bus connection closed");
}

static void
parse_options (Options *o, int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &o->address, "The bus address (required)", "ADDRESS" },
    { "batch", 0, 0, G_OPTION_ARG_NONE, &o->batch, "Batched Messages signals", NULL },
    { NULL },
  };

  bench_parse_options (&o->c, &argc, &argv, "dbus-subscriber", "- a counting D-Bus subscriber",
                       "count until stdin EOF and a drain", BENCH_OPT_SESSION, entries);
  if (!o->address)
    bench_die ("--address is required");
}

/* The session's object path, as the manager gives it. */
static char *
session_path (GDBusConnection *conn, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      conn, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "GetSession", g_variant_new ("(s)", name),
      G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  char *path;

  if (!reply)
    bench_die ("GetSession (%s): %s", name, error->message);
  g_variant_get (reply, "(o)", &path);
  return path;
}

static gboolean
on_stdin (gint fd, GIOCondition cond, gpointer data)
{
  Subscriber *sub = data;
  char buf[256];

  if (read (fd, buf, sizeof buf) > 0)
    return G_SOURCE_CONTINUE;
  sub->draining = TRUE;
  bench_meter_touch (&sub->meter);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  Subscriber sub = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) conn = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *path = NULL;

  parse_options (&sub.opt, argc, argv);
  bench_meter_init (&sub.meter, sub.opt.c.count ? (guint64) sub.opt.c.count : G_MAXUINT64,
                    sub.opt.c.latency && sub.opt.c.count, (guint64) sub.opt.c.latency_skip);
  sub.loop = g_main_loop_new (NULL, FALSE);
  conn = g_dbus_connection_new_for_address_sync (
      sub.opt.address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
          | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  if (!conn)
    bench_die ("cannot connect to %s: %s", sub.opt.address, error->message);
  g_dbus_connection_set_exit_on_close (conn, FALSE);
  path = session_path (conn, sub.opt.c.session);
  g_dbus_connection_signal_subscribe (conn, NULL, SESSION_IFACE, NULL, path, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &sub, NULL);
  if (sub.opt.batch)
    {
      GVariantBuilder options;

      g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&options, "{sv}", "batch", g_variant_new_boolean (TRUE));
      reply = g_dbus_connection_call_sync (
          conn, BUS_NAME, path, SESSION_IFACE, "SubscribeWithOptions",
          g_variant_new ("(stta{sv})", sub.opt.c.channel, (guint64) 0, (guint64) 0, &options), NULL,
          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
    }
  else
    reply = g_dbus_connection_call_sync (
        conn, BUS_NAME, path, SESSION_IFACE, "Subscribe",
        g_variant_new ("(stt)", sub.opt.c.channel, (guint64) 0, (guint64) 0), NULL,
        G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  if (!reply)
    bench_die ("Subscribe on %s: %s", path, error->message);
  printf ("READY\n");
  fflush (stdout);
  if (sub.opt.c.count == 0)
    g_unix_fd_add (0, G_IO_IN | G_IO_HUP, on_stdin, &sub);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), &sub);
  bench_meter_touch (&sub.meter);
  g_timeout_add (200, on_tick, &sub);
  g_main_loop_run (sub.loop);
  bench_meter_report (&sub.meter, "dbus-subscriber", 1, sub.failure);
  bench_meter_clear (&sub.meter);
  g_main_loop_unref (sub.loop);
  g_free (sub.failure);
  return sub.exit_code;
}
