/* wsb-subscriber: the smallest useful app on libwsbridge — subscribe to one
 * channel of a session and count what arrives, measuring latency from the
 * send time in each payload with --latency (bench-meter.h), exactly as
 * direct-client does on its own connection.
 *
 *   wsb-subscriber --socket PATH --session NAME [--channel CH] --count N ...
 *
 * Prints "READY" once every connection has subscribed, then, after --count
 * messages per connection (messages the daemon reports lost in Gap events
 * count towards the end and show as "lost"), one JSON result line and exits
 * 0; exits 1 with the partial result when nothing came for --timeout seconds
 * or the daemon closed a connection. With --count 0 it holds its
 * subscriptions, quiet, until stdin reaches EOF (memory per subscriber).
 *
 * With --rx-poll-ms it subscribes to nothing: it polls the session's
 * rx_messages counter that often and reports the rate at which the daemon
 * alone took in --count messages (from the first poll that saw the counter
 * move to the one that saw it reach the count; no latency). */
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-meter.h"
#include "wsbridge.h"

typedef struct
{
  char *socket;
  char *session;
  char *channel;
  gint64 count;
  gboolean latency;
  gint64 latency_skip;
  int connections;
  int timeout_s;
  int rx_poll_ms;
} Options;

typedef struct
{
  Options opt;
  BenchMeter meter;
  gboolean done;
} Subscriber;

static void G_GNUC_NORETURN G_GNUC_PRINTF (1, 2)
die (const char *fmt, ...)
{
  va_list ap;

  fputs ("wsb-subscriber: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (2);
}

static void
on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *user_data)
{
  Subscriber *sub = user_data;

  if (sub->done || sub->opt.count == 0)
    return;
  if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_MESSAGE)
    sub->done = bench_meter_message (&sub->meter, ev->message->data.data, ev->message->data.len,
                                     ev->message->binary);
  else if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_GAP)
    sub->done = bench_meter_lost (&sub->meter, ev->gap->to_seq - ev->gap->from_seq + 1);
}

static void
parse_options (Options *o, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &o->socket, "The daemon's socket (required)",
      "PATH" },
    { "session", 0, 0, G_OPTION_ARG_STRING, &o->session, "Session name (required)", "NAME" },
    { "channel", 0, 0, G_OPTION_ARG_STRING, &o->channel, "Channel (*)", "CH" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &o->count,
      "Messages per connection; 0: hold the subscriptions until stdin EOF (1000000)", "N" },
    { "latency", 0, 0, G_OPTION_ARG_NONE, &o->latency, "Measure latency from payload times",
      NULL },
    { "latency-skip", 0, 0, G_OPTION_ARG_INT64, &o->latency_skip,
      "Leave the first N messages out of the latency figures (0)", "N" },
    { "connections", 0, 0, G_OPTION_ARG_INT, &o->connections,
      "API connections, one subscription each (1)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout_s,
      "Give up after this long without a message (30)", "S" },
    { "rx-poll-ms", 0, 0, G_OPTION_ARG_INT, &o->rx_poll_ms,
      "Subscribe to nothing; poll the session's rx_messages this often (0: off)", "MS" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- a counting libwsbridge subscriber");

  o->count = 1000000;
  o->connections = 1;
  o->timeout_s = 30;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    die ("%s", error->message);
  if (argc > 1)
    die ("unexpected argument: %s", argv[1]);
  if (!o->socket || !o->session)
    die ("--socket and --session are required");
  if (!o->channel)
    o->channel = g_strdup ("*");
  if (o->count < 0)
    die ("--count: must be 0 or more, got %" G_GINT64_FORMAT, o->count);
  if (o->latency_skip < 0 || (o->count && o->latency_skip >= o->count))
    die ("--latency-skip: must be at least 0 and below --count");
  if (o->connections < 1 || o->connections > 100000)
    die ("--connections: expected 1 to 100000, got %d", o->connections);
  if (o->timeout_s < 1)
    die ("--timeout: must be at least 1 s");
  if (o->rx_poll_ms < 0 || o->rx_poll_ms > 10000)
    die ("--rx-poll-ms: expected 0 to 10000, got %d", o->rx_poll_ms);
  if (o->rx_poll_ms && (o->count == 0 || o->latency || o->connections != 1))
    die ("--rx-poll-ms needs a --count and goes without --latency and --connections");
}

static guint64
rx_messages (WsbClient *client, const char *session)
{
  Wsbridge__V1__Reply *reply = NULL;
  guint64 rx;

  if (wsb_client_get_session (client, session, &reply) != WSB_CLIENT_OK)
    die ("session %s: %s", session, wsb_client_error (client));
  rx = reply->session->rx_messages;
  wsb_client_reply_free (reply);
  return rx;
}

/* The daemon alone: how fast its rx_messages counter grows by --count. */
static int
poll_rx (Subscriber *sub, WsbClient *client)
{
  guint64 start = rx_messages (client, sub->opt.session), first = 0, rx = start;
  gint64 last_change = bench_now_ns ();

  printf ("READY\n");
  fflush (stdout);
  while (rx - start < (guint64) sub->opt.count)
    {
      gint64 now;
      guint64 before = rx;
      g_usleep ((gulong) sub->opt.rx_poll_ms * 1000);
      rx = rx_messages (client, sub->opt.session);
      now = bench_now_ns ();
      if (rx != before && first == 0)
        {
          first = rx;
          sub->meter.first_ns = now;
        }
      if (rx != before)
        last_change = now;
      else if (now - last_change > (gint64) sub->opt.timeout_s * 1000000000)
        break;
      sub->meter.last_ns = now;
    }
  /* The span covers the messages counted after the first poll that saw some. */
  sub->meter.messages = first ? rx - first + 1 : 0;
  sub->meter.expected = sub->meter.messages;
  {
    g_autofree char *extra = g_strdup_printf (
        "\"total\": %" G_GUINT64_FORMAT ", \"poll_ms\": %d%s", rx - start, sub->opt.rx_poll_ms,
        rx - start < (guint64) sub->opt.count ? ", \"error\": \"the counter stopped\"" : "");
    bench_meter_print (&sub->meter, "wsb-rx-poll", extra);
  }
  return rx - start < (guint64) sub->opt.count;
}

static int
finish (Subscriber *sub, WsbClient **clients, const char *failure)
{
  if (sub->opt.count > 0 || failure)
    {
      g_autofree char *why = failure ? g_strescape (failure, NULL) : NULL;
      g_autofree char *extra = g_strdup_printf ("\"connections\": %d%s%s%s", sub->opt.connections,
                                                why ? ", \"error\": \"" : "", why ? why : "",
                                                why ? "\"" : "");
      bench_meter_print (&sub->meter, "wsb-subscriber", extra);
    }
  for (int i = 0; i < sub->opt.connections; i++)
    wsb_client_free (clients[i]);
  bench_meter_clear (&sub->meter);
  return failure ? 1 : 0;
}

int
main (int argc, char **argv)
{
  Subscriber sub = { 0 };
  g_autofree WsbClient **clients = NULL;
  g_autofree struct pollfd *pfds = NULL;
  int n_fds;

  parse_options (&sub.opt, argc, argv);
  bench_meter_init (&sub.meter, (guint64) sub.opt.count * (guint64) sub.opt.connections,
                    sub.opt.latency, (guint64) sub.opt.latency_skip);
  clients = g_new0 (WsbClient *, sub.opt.connections);
  /* One slot per connection, and stdin when holding. */
  pfds = g_new0 (struct pollfd, sub.opt.connections + 1);
  for (int i = 0; i < sub.opt.connections; i++)
    {
      WsbClientStatus st;
      clients[i] = wsb_client_new ();
      if (!clients[i])
        die ("out of memory");
      st = wsb_client_connect (clients[i], sub.opt.socket, "wsb-subscriber");
      if (st == WSB_CLIENT_OK && !sub.opt.rx_poll_ms)
        {
          wsb_client_set_event_callback (clients[i], on_event, &sub);
          st = wsb_client_subscribe (clients[i], sub.opt.session, sub.opt.channel, 0, 0, NULL,
                                     NULL);
        }
      if (st != WSB_CLIENT_OK)
        die ("connection %d: %s", i + 1, wsb_client_error (clients[i]));
      if (st == WSB_CLIENT_OK && sub.opt.rx_poll_ms)
        {
          int code = poll_rx (&sub, clients[i]);
          wsb_client_free (clients[i]);
          return code;
        }
      pfds[i].fd = wsb_client_get_fd (clients[i]);
      pfds[i].events = POLLIN;
    }
  n_fds = sub.opt.connections;
  if (sub.opt.count == 0)
    {
      pfds[n_fds].fd = STDIN_FILENO;
      pfds[n_fds++].events = POLLIN;
    }
  printf ("READY\n");
  fflush (stdout);

  while (!sub.done)
    {
      int n = poll (pfds, (nfds_t) n_fds, sub.opt.count ? sub.opt.timeout_s * 1000 : -1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        die ("poll: %s", g_strerror (errno));
      if (n == 0)
        {
          g_autofree char *why = g_strdup_printf ("no message for %d s", sub.opt.timeout_s);
          return finish (&sub, clients, why);
        }
      for (int i = 0; i < sub.opt.connections && !sub.done; i++)
        if (pfds[i].revents)
          {
            WsbClientStatus st = wsb_client_dispatch (clients[i]);
            if (st != WSB_CLIENT_OK)
              {
                g_autofree char *why
                    = g_strdup_printf ("connection %d: %s", i + 1, wsb_client_error (clients[i]));
                return finish (&sub, clients, why);
              }
          }
      if (sub.opt.count == 0 && pfds[n_fds - 1].revents)
        {
          char buf[256];
          if (read (STDIN_FILENO, buf, sizeof buf) <= 0)
            break;
        }
    }
  return finish (&sub, clients, NULL);
}
