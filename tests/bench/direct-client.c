/* direct-client: what an app would do instead of using wsbridge — a bare
 * libwebsockets 4.1.6 client on the GLib main loop, without compression (as
 * the daemon's session is configured in the benchmarks). It counts the
 * messages of one burst and, with --latency, measures each one's latency from
 * the send time in its payload (bench-meter.h).
 *
 *   direct-client --url ws://127.0.0.1:PORT/ --count N [--latency] ...
 *
 * Prints "READY" once every connection is open, then, after --count messages
 * per connection, one JSON result line (bench_meter_print) and exits 0; exits
 * 1 with the partial result when no message came for --timeout seconds, or a
 * connection failed or closed. With --count 0 it holds its connections open,
 * quiet, until stdin reaches EOF (memory and idle wake-up baselines).
 *
 * The --validate-utf8, --serv-buf-size, --keepalive, --glib-log and
 * --explicit-vhost options each add one thing the daemon asks of lws
 * (daemon/ws/upstream.c, daemon/session/session.c) so that its cost can be measured
 * alone; --like-daemon sets them all. */
#include <glib-unix.h>
#include <glib.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-meter.h"

typedef struct
{
  BenchClientOptions c;
  char *url;
  int rx_buffer;
  gboolean like_daemon;
  gboolean validate_utf8;
  int serv_buf_size;
  gboolean keepalive;
  gboolean glib_log;
  gboolean explicit_vhost;
} Options;

typedef struct
{
  Options opt;
  GMainLoop *loop;
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  lws_retry_bo_t retry;
  BenchMeter meter;
  int opened;
  int exit_code;
  char *failure;
  char *host, *path, *address;
  int port;
  gboolean ready;
  gboolean finished;
} Client;

static Client *the_client;

static void
finish (Client *cl, int code, const char *failure)
{
  if (cl->finished)
    return;
  cl->finished = TRUE;
  cl->exit_code = code;
  if (failure && !cl->failure)
    cl->failure = g_strdup (failure);
  if (cl->opt.c.count > 0 || failure)
    bench_meter_report (&cl->meter, "direct", cl->opt.c.connections, cl->failure);
  g_main_loop_quit (cl->loop);
}

static int
callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  Client *cl = the_client;

  switch (reason)
    {
      case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (++cl->opened == cl->opt.c.connections)
          {
            cl->ready = TRUE;
            bench_meter_touch (&cl->meter);
            printf ("READY\n");
            fflush (stdout);
          }
        return 0;

      case LWS_CALLBACK_CLIENT_RECEIVE:
        /* A message is complete at its final fragment's last chunk. */
        if (lws_is_final_fragment (wsi) && lws_remaining_packet_payload (wsi) == 0
            && cl->opt.c.count > 0
            && bench_meter_message (&cl->meter, in, len, lws_frame_is_binary (wsi)))
          finish (cl, 0, NULL);
        return 0;

      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        finish (cl, 1, in ? (const char *) in : "connection failed");
        return 0;

      case LWS_CALLBACK_CLIENT_CLOSED:
      case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        finish (cl, 1, "connection closed");
        return 0;

      default:
        return 0;
    }
}

static const struct lws_protocols protocols_template[] = {
  { "bench", callback, 0, 0, 0, NULL, 0 },
  { NULL, NULL, 0, 0, 0, NULL, 0 },
};
static struct lws_protocols protocols[G_N_ELEMENTS (protocols_template)];

/* As daemon/ws/upstream.c forwards lws' log: every line through g_log at debug. */
static void
log_to_glib (int level, const char *line)
{
  g_log_structured ("lws", G_LOG_LEVEL_DEBUG, "MESSAGE", "%s", line);
}

static gboolean
on_tick (gpointer data)
{
  Client *cl = data;

  if (cl->ready && cl->opt.c.count == 0)
    return G_SOURCE_REMOVE; /* holding: silence is the point, and so is no timer */
  if (bench_meter_silence_ns (&cl->meter) > (gint64) cl->opt.c.timeout_s * 1000000000)
    {
      g_autofree char *why
          = g_strdup_printf (cl->ready ? "no message for %d s" : "connections not open within %d s",
                             cl->opt.c.timeout_s);
      finish (cl, 1, why);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stdin (gint fd, GIOCondition cond, gpointer data)
{
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n <= 0)
    {
      finish (data, 0, NULL);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer data)
{
  finish (data, 0, NULL);
  return G_SOURCE_REMOVE;
}

static void
parse_options (Client *cl, int argc, char **argv)
{
  Options *o = &cl->opt;
  g_autoptr (GError) error = NULL;
  g_autoptr (GUri) uri = NULL;
  GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &o->url, "ws://HOST:PORT/PATH of the feed (required)",
      "URL" },
    { "rx-buffer", 0, 0, G_OPTION_ARG_INT, &o->rx_buffer,
      "Protocol rx_buffer_size (0: lws' default, 4096)", "BYTES" },
    { "like-daemon", 0, 0, G_OPTION_ARG_NONE, &o->like_daemon,
      "All the options below, as wsbridged sets them", NULL },
    { "validate-utf8", 0, 0, G_OPTION_ARG_NONE, &o->validate_utf8,
      "LWS_SERVER_OPTION_VALIDATE_UTF8", NULL },
    { "serv-buf-size", 0, 0, G_OPTION_ARG_INT, &o->serv_buf_size,
      "pt_serv_buf_size (0: lws' default, 4096; the daemon: 65536)", "BYTES" },
    { "keepalive", 0, 0, G_OPTION_ARG_NONE, &o->keepalive,
      "A retry/validity policy: ping after 31 s, hang up after 40 s (the daemon's defaults)",
      NULL },
    { "glib-log", 0, 0, G_OPTION_ARG_NONE, &o->glib_log,
      "lws' log (ERR|WARN) through g_log at debug level", NULL },
    { "explicit-vhost", 0, 0, G_OPTION_ARG_NONE, &o->explicit_vhost,
      "LWS_SERVER_OPTION_EXPLICIT_VHOSTS and a vhost of its own", NULL },
    { NULL },
  };

  bench_parse_options (&o->c, &argc, &argv, "direct-client", "- a bare lws client, for comparison",
                       "hold the connections until stdin EOF", BENCH_OPT_CONNECTIONS, entries);
  if (!o->url)
    bench_die ("--url is required");
  uri = g_uri_parse (o->url, G_URI_FLAGS_NONE, &error);
  if (!uri || g_strcmp0 (g_uri_get_scheme (uri), "ws") != 0 || g_uri_get_port (uri) <= 0)
    bench_die ("--url: expected ws://ADDRESS:PORT/PATH, got %s", o->url);
  cl->address = g_strdup (g_uri_get_host (uri));
  cl->port = g_uri_get_port (uri);
  cl->host = g_strdup_printf ("%s:%d", cl->address, cl->port);
  cl->path = g_strdup (*g_uri_get_path (uri) ? g_uri_get_path (uri) : "/");
  if (o->rx_buffer < 0 || o->serv_buf_size < 0)
    bench_die ("--rx-buffer, --serv-buf-size: must not be negative");
  if (o->like_daemon)
    {
      o->validate_utf8 = o->keepalive = o->glib_log = o->explicit_vhost = TRUE;
      if (!o->serv_buf_size)
        o->serv_buf_size = 64 * 1024;
    }
}

static void
create_context (Client *cl)
{
  struct lws_context_creation_info info;
  void *foreign_loops[] = { cl->loop };

  memcpy (protocols, protocols_template, sizeof protocols);
  protocols[0].rx_buffer_size = (size_t) cl->opt.rx_buffer;
  lws_set_log_level (LLL_ERR | LLL_WARN, cl->opt.glib_log ? log_to_glib : NULL);
  memset (&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_GLIB;
  if (cl->opt.validate_utf8)
    info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
  if (cl->opt.explicit_vhost)
    info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.foreign_loops = foreign_loops;
  info.pt_serv_buf_size = (unsigned int) cl->opt.serv_buf_size;
  info.fd_limit_per_thread = 0;
  cl->ctx = lws_create_context (&info);
  if (!cl->ctx)
    bench_die ("lws_create_context failed (is libwebsockets-evlib-glib installed?)");
  if (cl->opt.explicit_vhost)
    {
      memset (&info, 0, sizeof info);
      info.vhost_name = "bench";
      info.port = CONTEXT_PORT_NO_LISTEN;
      info.protocols = protocols;
      info.options = cl->opt.validate_utf8 ? LWS_SERVER_OPTION_VALIDATE_UTF8 : 0;
      info.http_proxy_address = "";
      cl->vhost = lws_create_vhost (cl->ctx, &info);
      if (!cl->vhost)
        bench_die ("lws_create_vhost failed");
    }
  if (cl->opt.keepalive)
    {
      cl->retry.secs_since_valid_ping = 31;
      cl->retry.secs_since_valid_hangup = 40;
    }
}

static void
connect_all (Client *cl)
{
  for (int i = 0; i < cl->opt.c.connections; i++)
    {
      struct lws_client_connect_info ci;

      memset (&ci, 0, sizeof ci);
      ci.context = cl->ctx;
      ci.vhost = cl->vhost;
      ci.address = cl->address;
      ci.port = cl->port;
      ci.path = cl->path;
      ci.host = cl->host;
      ci.origin = cl->host;
      ci.local_protocol_name = "bench";
      if (cl->opt.keepalive)
        ci.retry_and_idle_policy = &cl->retry;
      if (!lws_client_connect_via_info (&ci))
        bench_die ("lws_client_connect_via_info failed for connection %d", i + 1);
    }
}

int
main (int argc, char **argv)
{
  Client cl = { 0 };

  parse_options (&cl, argc, argv);
  the_client = &cl;
  bench_meter_init (&cl.meter, (guint64) cl.opt.c.count * (guint64) cl.opt.c.connections,
                    cl.opt.c.latency, (guint64) cl.opt.c.latency_skip);
  cl.loop = g_main_loop_new (NULL, FALSE);
  create_context (&cl);
  connect_all (&cl);
  g_timeout_add (200, on_tick, &cl);
  g_unix_signal_add (SIGTERM, on_sigterm, &cl);
  if (cl.opt.c.count == 0)
    g_unix_fd_add (0, G_IO_IN | G_IO_HUP, on_stdin, &cl);
  g_main_loop_run (cl.loop);
  lws_context_destroy (cl.ctx);
  g_main_loop_unref (cl.loop);
  bench_meter_clear (&cl.meter);
  return cl.exit_code;
}
