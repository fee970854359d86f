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
  BenchClientOptions c;
  char *socket;
  int rx_poll_ms;
} Options;

typedef struct
{
  Options opt;
  BenchMeter meter;
  gboolean done;
} Subscriber;

static void
on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *user_data)
{
  Subscriber *sub = user_data;

  if (sub->done || sub->opt.c.count == 0)
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
  GOptionEntry entries[] = {
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &o->socket, "The daemon's socket (required)", "PATH" },
    { "rx-poll-ms", 0, 0, G_OPTION_ARG_INT, &o->rx_poll_ms,
      "Subscribe to nothing; poll the session's rx_messages this often (0: off)", "MS" },
    { NULL },
  };

  bench_parse_options (&o->c, &argc, &argv, "wsb-subscriber", "- a counting libwsbridge subscriber",
                       "hold the subscriptions until stdin EOF",
                       BENCH_OPT_CONNECTIONS | BENCH_OPT_SESSION, entries);
  if (!o->socket)
    bench_die ("--socket is required");
  if (o->rx_poll_ms < 0 || o->rx_poll_ms > 10000)
    bench_die ("--rx-poll-ms: expected 0 to 10000, got %d", o->rx_poll_ms);
  if (o->rx_poll_ms && (o->c.count == 0 || o->c.latency || o->c.connections != 1))
    bench_die ("--rx-poll-ms needs a --count and goes without --latency and --connections");
}

static guint64
rx_messages (WsbClient *client, const char *session)
{
  Wsbridge__V1__Reply *reply = NULL;
  guint64 rx;

  if (wsb_client_get_session (client, session, &reply) != WSB_CLIENT_OK)
    bench_die ("session %s: %s", session, wsb_client_error (client));
  rx = reply->session->rx_messages;
  wsb_client_reply_free (reply);
  return rx;
}

/* The daemon alone: how fast its rx_messages counter grows by --count. */
static int
poll_rx (Subscriber *sub, WsbClient *client)
{
  guint64 start = rx_messages (client, sub->opt.c.session), first = 0, rx = start;
  gint64 last_change = bench_now_ns ();

  printf ("READY\n");
  fflush (stdout);
  while (rx - start < (guint64) sub->opt.c.count)
    {
      gint64 now;
      guint64 before = rx;
      g_usleep ((gulong) sub->opt.rx_poll_ms * 1000);
      rx = rx_messages (client, sub->opt.c.session);
      now = bench_now_ns ();
      if (rx != before && first == 0)
        {
          first = rx;
          sub->meter.first_ns = now;
        }
      if (rx != before)
        last_change = now;
      else if (now - last_change > (gint64) sub->opt.c.timeout_s * 1000000000)
        break;
      sub->meter.last_ns = now;
    }
  /* The span covers the messages counted after the first poll that saw some. */
  sub->meter.messages = first ? rx - first + 1 : 0;
  sub->meter.expected = sub->meter.messages;
  {
    g_autofree char *extra = g_strdup_printf (
        "\"total\": %" G_GUINT64_FORMAT ", \"poll_ms\": %d%s", rx - start, sub->opt.rx_poll_ms,
        rx - start < (guint64) sub->opt.c.count ? ", \"error\": \"the counter stopped\"" : "");
    bench_meter_print (&sub->meter, "wsb-rx-poll", extra);
  }
  return rx - start < (guint64) sub->opt.c.count;
}

static int
finish (Subscriber *sub, WsbClient **clients, const char *failure)
{
  if (sub->opt.c.count > 0 || failure)
    bench_meter_report (&sub->meter, "wsb-subscriber", sub->opt.c.connections, failure);
  for (int i = 0; i < sub->opt.c.connections; i++)
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
  bench_meter_init (&sub.meter, (guint64) sub.opt.c.count * (guint64) sub.opt.c.connections,
                    sub.opt.c.latency, (guint64) sub.opt.c.latency_skip);
  clients = g_new0 (WsbClient *, sub.opt.c.connections);
  /* One slot per connection, and stdin when holding. */
  pfds = g_new0 (struct pollfd, sub.opt.c.connections + 1);
  for (int i = 0; i < sub.opt.c.connections; i++)
    {
      WsbClientStatus st;
      clients[i] = wsb_client_new ();
      if (!clients[i])
        bench_die ("out of memory");
      st = wsb_client_connect (clients[i], sub.opt.socket, "wsb-subscriber");
      if (st == WSB_CLIENT_OK && !sub.opt.rx_poll_ms)
        {
          wsb_client_set_event_callback (clients[i], on_event, &sub);
          st = wsb_client_subscribe (clients[i], sub.opt.c.session, sub.opt.c.channel, 0, 0, NULL,
                                     NULL);
        }
      if (st != WSB_CLIENT_OK)
        bench_die ("connection %d: %s", i + 1, wsb_client_error (clients[i]));
      if (st == WSB_CLIENT_OK && sub.opt.rx_poll_ms)
        {
          int code = poll_rx (&sub, clients[i]);
          wsb_client_free (clients[i]);
          return code;
        }
      pfds[i].fd = wsb_client_get_fd (clients[i]);
      pfds[i].events = POLLIN;
    }
  n_fds = sub.opt.c.connections;
  if (sub.opt.c.count == 0)
    {
      pfds[n_fds].fd = STDIN_FILENO;
      pfds[n_fds++].events = POLLIN;
    }
  printf ("READY\n");
  fflush (stdout);

  while (!sub.done)
    {
      int n = poll (pfds, (nfds_t) n_fds, sub.opt.c.count ? sub.opt.c.timeout_s * 1000 : -1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        bench_die ("poll: %s", g_strerror (errno));
      if (n == 0)
        {
          g_autofree char *why = g_strdup_printf ("no message for %d s", sub.opt.c.timeout_s);
          return finish (&sub, clients, why);
        }
      for (int i = 0; i < sub.opt.c.connections && !sub.done; i++)
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
      if (sub.opt.c.count == 0 && pfds[n_fds - 1].revents)
        {
          char buf[256];
          if (read (STDIN_FILENO, buf, sizeof buf) <= 0)
            break;
        }
    }
  return finish (&sub, clients, NULL);
}
