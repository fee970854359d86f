/* dbus-subscriber: a counting D-Bus subscriber, as a GLib app would write
 * one: GDBus, Subscribe() on the session object, then Message signals
 * counted (and timed with --latency from the payload's send time,
 * bench-meter.h) until --count have arrived (Gap signals count as lost).
 *
 *   dbus-subscriber --address ADDRESS --session NAME --count N [--latency]
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

#define SESSION_PATH_PREFIX "/io/github/WsBridge1/session/"
#define SESSION_IFACE "io.github.WsBridge1.Session"

typedef struct
{
  char *address;
  char *session;
  char *channel;
  gint64 count;
  gboolean latency;
  gint64 latency_skip;
  int timeout_s;
} Options;

typedef struct
{
  Options opt;
  BenchMeter meter;
  GMainLoop *loop;
  guint64 seen; /* messages at the last tick */
  gint64 last_activity_ns;
  gboolean draining; /* --count 0 after stdin EOF */
  char *failure;
  int exit_code;
} Subscriber;

static void G_GNUC_NORETURN G_GNUC_PRINTF (1, 2)
die (const char *fmt, ...)
{
  va_list ap;

  fputs ("dbus-subscriber: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (2);
}

static void
finish (Subscriber *sub, const char *failure)
{
  if (failure && !sub->failure)
    sub->failure = g_strdup (failure);
  sub->exit_code = failure ? 1 : 0;
  g_main_loop_quit (sub->loop);
}

/* D-Bus object paths allow [A-Za-z0-9_]; the daemon escapes anything else
 * as _XX (hex), as daemon/dbus-server.c does. */
static char *
session_path (const char *name)
{
  GString *path = g_string_new (SESSION_PATH_PREFIX);

  for (const char *p = name; *p; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (path, *p);
    else
      g_string_append_printf (path, "_%02x", (guchar) *p);
  return g_string_free (path, FALSE);
}

static void
on_signal (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer data)
{
  Subscriber *sub = data;
  gboolean done = FALSE;

  if (strcmp (signal, "Message") == 0)
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
  if (done && sub->opt.count)
    finish (sub, NULL);
}

static gboolean
on_tick (gpointer data)
{
  Subscriber *sub = data;
  gint64 now = bench_now_ns ();

  if (sub->meter.messages != sub->seen)
    {
      sub->seen = sub->meter.messages;
      sub->last_activity_ns = now;
    }
  if (sub->opt.count == 0)
    {
      /* Holding: silence is expected until stdin EOF, then it ends the drain. */
      if (sub->draining && now - sub->last_activity_ns > 2000000000)
        {
          finish (sub, NULL);
          return G_SOURCE_REMOVE;
        }
      return G_SOURCE_CONTINUE;
    }
  if (now - sub->last_activity_ns > (gint64) sub->opt.timeout_s * 1000000000)
    {
      g_autofree char *why = g_strdup_printf ("no message for %d s", sub->opt.timeout_s);
      finish (sub, why);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_closed (GDBusConnection *conn, gboolean remote, GError *error, gpointer data)
{
  finish (data, "the bus connection closed");
}

static void
parse_options (Options *o, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &o->address, "The bus address (required)",
      "ADDRESS" },
    { "session", 0, 0, G_OPTION_ARG_STRING, &o->session, "Session name (required)", "NAME" },
    { "channel", 0, 0, G_OPTION_ARG_STRING, &o->channel, "Channel (*)", "CH" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &o->count,
      "Messages; 0: subscribe, then read nothing until stdin EOF (1000000)", "N" },
    { "latency", 0, 0, G_OPTION_ARG_NONE, &o->latency, "Measure latency from payload times",
      NULL },
    { "latency-skip", 0, 0, G_OPTION_ARG_INT64, &o->latency_skip,
      "Leave the first N messages out of the latency figures (0)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout_s,
      "Give up after this long without a message (30)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- a counting D-Bus subscriber");

  o->count = 1000000;
  o->timeout_s = 30;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    die ("%s", error->message);
  if (argc > 1)
    die ("unexpected argument: %s", argv[1]);
  if (!o->address || !o->session)
    die ("--address and --session are required");
  if (!o->channel)
    o->channel = g_strdup ("*");
  if (o->count < 0)
    die ("--count: must be 0 or more, got %" G_GINT64_FORMAT, o->count);
  if (o->latency_skip < 0 || (o->count && o->latency_skip >= o->count))
    die ("--latency-skip: must be at least 0 and below --count");
  if (o->timeout_s < 1)
    die ("--timeout: must be at least 1 s");
}

static gboolean
on_stdin (gint fd, GIOCondition cond, gpointer data)
{
  Subscriber *sub = data;
  char buf[256];

  if (read (fd, buf, sizeof buf) > 0)
    return G_SOURCE_CONTINUE;
  sub->draining = TRUE;
  sub->last_activity_ns = bench_now_ns ();
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
  bench_meter_init (&sub.meter, sub.opt.count ? (guint64) sub.opt.count : G_MAXUINT64,
                    sub.opt.latency && sub.opt.count, (guint64) sub.opt.latency_skip);
  sub.loop = g_main_loop_new (NULL, FALSE);
  conn = g_dbus_connection_new_for_address_sync (
      sub.opt.address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &error);
  if (!conn)
    die ("cannot connect to %s: %s", sub.opt.address, error->message);
  g_dbus_connection_set_exit_on_close (conn, FALSE);
  path = session_path (sub.opt.session);
  g_dbus_connection_signal_subscribe (conn, NULL, SESSION_IFACE, NULL, path, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &sub, NULL);
  reply = g_dbus_connection_call_sync (conn, "io.github.WsBridge1", path, SESSION_IFACE,
                                       "Subscribe",
                                       g_variant_new ("(stt)", sub.opt.channel, (guint64) 0,
                                                      (guint64) 0),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  if (!reply)
    die ("Subscribe on %s: %s", path, error->message);
  printf ("READY\n");
  fflush (stdout);
  if (sub.opt.count == 0)
    g_unix_fd_add (0, G_IO_IN | G_IO_HUP, on_stdin, &sub);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), &sub);
  sub.last_activity_ns = bench_now_ns ();
  g_timeout_add (200, on_tick, &sub);
  g_main_loop_run (sub.loop);
  {
    g_autofree char *why = sub.failure ? g_strescape (sub.failure, NULL) : NULL;
    g_autofree char *extra
        = why ? g_strdup_printf ("\"error\": \"%s\"", why) : g_strdup ("\"bus\": \"dbus\"");
    bench_meter_print (&sub.meter, "dbus-subscriber", extra);
  }
  bench_meter_clear (&sub.meter);
  g_main_loop_unref (sub.loop);
  g_free (sub.failure);
  return sub.exit_code;
}
