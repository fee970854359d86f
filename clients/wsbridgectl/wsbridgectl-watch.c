/* wsbridgectl watch NAME[/CHANNEL]… [--since SEQ --epoch E] [--count N] [--json]:
 * subscribe and print events, on a GLib main loop fed by wsb_client_dispatch(). */
#include "wsbridgectl.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  WsbctlContext *ctx;
  gboolean json;
  guint64 count; /* messages to print before exiting; 0: no limit */
  guint64 printed;
  GHashTable *channels;   /* subscription id → channel, for state events */
  GHashTable *last_state; /* session → its last state line (human output) */
  GMainLoop *loop;
  guint unanswered; /* subscribe requests without a reply yet */
  gboolean finished;
  int status; /* exit status once finished */
} Watch;

static void
finish (Watch *w, int status)
{
  if (w->finished)
    return;
  w->finished = TRUE;
  w->status = status;
  if (w->loop)
    g_main_loop_quit (w->loop);
}

static void
print_state (Watch *w, guint64 subscription_id, const Wsbridge__V1__SessionStatus *s)
{
  const char *channel = g_hash_table_lookup (w->channels, &subscription_id);
  const char *state = wsb_client_state_to_string (s->state);
  const char *reason = s->reason ? s->reason : "";

  if (w->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      wsbctl_json_begin_line (b, s->name, channel ? channel : "*", s->last_seq, s->epoch,
                              g_get_real_time (), "state");
      wsbctl_json_add_string (b, "state", state);
      wsbctl_json_add_string (b, "reason", reason);
      wsbctl_json_end_line (b);
      return;
    }

  g_autofree char *who = g_utf8_make_valid (s->name, -1);
  g_autofree char *why = wsbctl_printable (reason, -1);
  char *line = *why ? g_strdup_printf ("%s: state %s (%s)\n", who, state, why)
                    : g_strdup_printf ("%s: state %s\n", who, state);
  const char *last = g_hash_table_lookup (w->last_state, s->name);

  /* Every subscription of a session gets the same state change; say it once. */
  if (last && g_str_equal (last, line))
    {
      g_free (line);
      return;
    }
  fputs (line, stdout);
  fflush (stdout);
  g_hash_table_insert (w->last_state, g_strdup (s->name), line);
}

static void
on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *user_data)
{
  Watch *w = user_data;

  if (w->finished)
    return;
  switch (ev->event_case)
    {
      case WSBRIDGE__V1__EVENT__EVENT_MESSAGE:
        wsbctl_print_message (w->json, ev->message);
        if (w->count && ++w->printed >= w->count)
          finish (w, WSBCTL_EXIT_OK);
        break;
      case WSBRIDGE__V1__EVENT__EVENT_GAP:
        wsbctl_print_gap (w->json, ev->gap);
        break;
      case WSBRIDGE__V1__EVENT__EVENT_STATE:
        if (ev->state->status)
          print_state (w, ev->subscription_id, ev->state->status);
        break;
      default:
        /* An event kind from a newer daemon. */
        break;
    }
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  Watch *w = user_data;
  WsbClientStatus st = wsb_client_dispatch (w->ctx->client);

  if (st && !w->finished)
    finish (w, wsbctl_fail (w->ctx, st));
  return st ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  finish (user_data, WSBCTL_EXIT_OK);
  return G_SOURCE_CONTINUE;
}

/* One subscription being set up: the subscribe reply names its id. */
typedef struct
{
  Watch *watch;
  char *channel;
} Pending;

static void
pending_free (gpointer data)
{
  Pending *p = data;

  g_free (p->channel);
  g_free (p);
}

static void
on_subscribed (WsbClient *client, const Wsbridge__V1__Reply *reply, void *user_data)
{
  Pending *p = user_data;
  Watch *w = p->watch;

  if (w->finished)
    return;
  w->unanswered--;
  if (reply->result_case == WSBRIDGE__V1__REPLY__RESULT_ERROR)
    {
      const char *msg = reply->error->message;

      /* The daemon speaks of the API's field; the user gave --since. */
      if (msg && g_str_has_prefix (msg, "since_seq "))
        g_printerr ("wsbridgectl: --since %s\n", msg + strlen ("since_seq "));
      else if (msg && *msg)
        g_printerr ("wsbridgectl: %s\n", msg);
      else
        g_printerr ("wsbridgectl: subscribe failed (error code %d)\n", (int) reply->error->code);
      finish (w, WSBCTL_EXIT_DAEMON);
      return;
    }
  if (reply->result_case != WSBRIDGE__V1__REPLY__RESULT_SUBSCRIBE)
    {
      g_printerr ("wsbridgectl: unexpected answer to subscribe from wsbridged\n");
      finish (w, WSBCTL_EXIT_DAEMON);
      return;
    }
  g_hash_table_insert (w->channels,
                       g_memdup2 (&reply->subscribe->subscription_id, sizeof (guint64)),
                       g_strdup (p->channel));
}

/* Sends every subscribe request at once; the replies arrive in the loop. */
static int
subscribe_all (Watch *w, GPtrArray *pending, int argc, char **argv, guint64 since, guint64 epoch)
{
  for (int i = 1; i < argc; i++)
    {
      Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
      Wsbridge__V1__SubscribeRequest sub = WSBRIDGE__V1__SUBSCRIBE_REQUEST__INIT;
      g_autofree char *session = NULL;
      Pending *p = g_new0 (Pending, 1);
      WsbClientStatus st;

      p->watch = w;
      g_ptr_array_add (pending, p);
      wsbctl_parse_target (w->ctx, argv[i], &session, &p->channel);
      sub.session = session;
      sub.channel = p->channel;
      sub.since_seq = since;
      sub.epoch = epoch;
      request.op_case = WSBRIDGE__V1__REQUEST__OP_SUBSCRIBE;
      request.subscribe = &sub;
      st = wsb_client_request (w->ctx->client, &request, on_subscribed, p, NULL);
      if (st)
        return wsbctl_fail (w->ctx, st);
      w->unanswered++;
    }
  return WSBCTL_CONTINUE;
}

/* The subscribe replies must come within --timeout; events after them may
 * take as long as they take. */
static gboolean
on_subscribe_timeout (gpointer user_data)
{
  Watch *w = user_data;

  if (w->unanswered)
    finish (w, wsbctl_fail_no_answer (w->ctx, "the subscribe"));
  return G_SOURCE_REMOVE;
}

/* Signal handlers go in before the first subscribe leaves, so an early
 * SIGINT/SIGTERM still ends the watch cleanly. */
static int
run_watch (Watch *w, int argc, char **argv, guint64 since, guint64 epoch)
{
  g_autoptr (GPtrArray) pending = g_ptr_array_new_with_free_func (pending_free);
  guint sources[4] = { 0 };
  int status;

  w->loop = g_main_loop_new (NULL, FALSE);
  sources[0] = g_unix_signal_add (SIGINT, on_signal, w);
  sources[1] = g_unix_signal_add (SIGTERM, on_signal, w);
  sources[2] = g_unix_fd_add (wsb_client_get_fd (w->ctx->client), G_IO_IN | G_IO_HUP | G_IO_ERR,
                              on_readable, w);
  if (w->ctx->timeout_s > 0)
    sources[3] = g_timeout_add ((guint) (w->ctx->timeout_s * 1000 + 0.5), on_subscribe_timeout, w);
  status = subscribe_all (w, pending, argc, argv, since, epoch);
  if (status == WSBCTL_CONTINUE)
    {
      /* A quit before the loop runs would be lost. */
      if (!w->finished)
        g_main_loop_run (w->loop);
      status = w->status;
    }
  for (size_t i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      GSource *source = sources[i] ? g_main_context_find_source_by_id (NULL, sources[i]) : NULL;

      if (source)
        g_source_destroy (source);
    }
  g_clear_pointer (&w->loop, g_main_loop_unref);
  /* Replies still outstanding would point at freed Pending entries. */
  wsb_client_close (w->ctx->client);
  return status;
}

int
wsbctl_cmd_watch (WsbctlContext *ctx, int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *count_text = NULL;
  g_autofree char *since_text = NULL;
  g_autofree char *epoch_text = NULL;
  const GOptionEntry entries[]
      = { { "count", 0, 0, G_OPTION_ARG_STRING, &count_text, "Exit after N text or binary messages",
            "N" },
          { "since", 0, 0, G_OPTION_ARG_STRING, &since_text,
            "Replay what the history holds after SEQ first, with a gap line for what it lost "
            "(needs --epoch; 0: all of it)",
            "SEQ" },
          { "epoch", 0, 0, G_OPTION_ARG_STRING, &epoch_text,
            "The epoch that SEQ belongs to (see status --json)", "E" },
          { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per line", NULL },
          G_OPTION_ENTRY_NULL };
  Watch w = { .ctx = ctx };
  guint64 since = 0;
  guint64 epoch = 0;
  int status;

  status = wsbctl_parse_options (ctx, entries, &argc, &argv);
  if (status != WSBCTL_CONTINUE)
    return status;
  if (argc < 2)
    return wsbctl_usage_error (ctx, "missing NAME[/CHANNEL]");
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *session = NULL;
      g_autofree char *channel = NULL;

      if (!wsbctl_parse_target (ctx, argv[i], &session, &channel))
        return WSBCTL_EXIT_USAGE;
    }
  if (count_text && !wsbctl_parse_uint (ctx, "--count", count_text, 1, &w.count))
    return WSBCTL_EXIT_USAGE;
  if (since_text && !wsbctl_parse_uint (ctx, "--since", since_text, 0, &since))
    return WSBCTL_EXIT_USAGE;
  if (epoch_text && !wsbctl_parse_uint (ctx, "--epoch", epoch_text, 0, &epoch))
    return WSBCTL_EXIT_USAGE;
  if (since_text && !epoch_text)
    return wsbctl_usage_error (ctx, "--since needs --epoch (see the epoch in 'status --json')");

  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;

  w.json = json;
  w.channels = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  w.last_state = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  wsb_client_set_event_callback (ctx->client, on_event, &w);
  status = run_watch (&w, argc, argv, since, epoch);
  g_hash_table_unref (w.channels);
  g_hash_table_unref (w.last_state);
  return status;
}
