#include "notify-feed.h"

#include <glib-unix.h>

#include "backoff.h"

#define CALL_TIMEOUT_MS 10000
#define BACKOFF_INITIAL_MS 200
#define BACKOFF_MAX_MS 30000
/* A connection that lasted this long starts the backoff over. */
#define BACKOFF_RESET_MS 10000

struct _WsbNotifyFeed
{
  char *socket_path;
  char *session;
  char *channel;
  char *client_name;
  const WsbNotifyFeedFuncs *funcs;
  gpointer data;

  WsbClient *client;
  gboolean connected;
  gboolean ever_subscribed;
  gboolean trouble_logged; /* the current outage was logged once already */
  gboolean paused;
  guint64 sub_id;
  guint64 epoch; /* 0: nothing known yet */
  guint64 seq;   /* the last seq delivered (or reported as a gap) of epoch */
  gint64 connected_at;
  guint watch_id;
  guint retry_id;
  WsbBackoff backoff;
};

static void connect_now (WsbNotifyFeed *f);

static gboolean
on_retry (gpointer data)
{
  WsbNotifyFeed *f = data;

  f->retry_id = 0;
  connect_now (f);
  return G_SOURCE_REMOVE;
}

/* The first failure of an outage is a message, the ones after it debug. */
static void
trouble (WsbNotifyFeed *f, const char *what, const char *why)
{
  guint delay = wsb_backoff_next_ms (&f->backoff, g_random_double ());

  if (f->trouble_logged)
    g_debug ("%s: %s; next try in %u ms", what, why, delay);
  else
    g_message ("%s: %s; retrying", what, why);
  f->trouble_logged = TRUE;
  f->retry_id = g_timeout_add (delay, on_retry, f);
}

static void
stop_watch (WsbNotifyFeed *f)
{
  if (f->watch_id)
    g_source_remove (f->watch_id);
  f->watch_id = 0;
}

static void
disconnect (WsbNotifyFeed *f)
{
  stop_watch (f);
  if (f->connected)
    wsb_backoff_connection_ended (&f->backoff,
                                  (guint64) (g_get_monotonic_time () - f->connected_at) / 1000);
  wsb_client_close (f->client);
  f->connected = FALSE;
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer data)
{
  WsbNotifyFeed *f = data;
  WsbClientStatus st = wsb_client_dispatch (f->client);
  g_autofree char *why = NULL;

  if (st == WSB_CLIENT_OK)
    return f->watch_id ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
  why = g_strdup (wsb_client_error (f->client));
  f->watch_id = 0; /* removed by returning G_SOURCE_REMOVE */
  disconnect (f);
  trouble (f, "lost wsbridged", why);
  return G_SOURCE_REMOVE;
}

static void
start_watch (WsbNotifyFeed *f)
{
  if (f->connected && !f->paused && !f->watch_id)
    f->watch_id = g_unix_fd_add (wsb_client_get_fd (f->client), G_IO_IN | G_IO_HUP | G_IO_ERR,
                                 on_readable, f);
}

static void
on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *data)
{
  WsbNotifyFeed *f = data;

  if (ev->subscription_id != f->sub_id)
    return; /* a send outcome, or a subscription of an earlier connection */
  if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_MESSAGE)
    {
      const Wsbridge__V1__Message *m = ev->message;

      if (m->epoch == f->epoch && m->seq <= f->seq)
        {
          g_debug ("seq %" G_GUINT64_FORMAT " was delivered already; skipped", m->seq);
          return;
        }
      f->epoch = m->epoch;
      f->seq = m->seq;
      f->funcs->message (m, f->data);
    }
  else if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_GAP)
    {
      const Wsbridge__V1__Gap *g = ev->gap;

      if (g->epoch == f->epoch && g->to_seq <= f->seq)
        return;
      f->epoch = g->epoch;
      f->seq = g->to_seq;
      f->funcs->gap (g->from_seq, g->to_seq, g->epoch, f->data);
    }
  else if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_STATE)
    g_debug ("session %s is %s (%s)", f->session,
             wsb_client_state_to_string (ev->state->status->state), ev->state->status->reason);
}

/* FALSE when retrying cannot help. */
static gboolean
retry_helps (WsbNotifyFeed *f, int code)
{
  switch (code)
    {
      case WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND:
        /* A session may come back with a restart or reload; a name that
         * never existed is a mistake to report. */
        return f->ever_subscribed;
      case WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_ACCESS_DENIED:
      case WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT:
        return FALSE;
      default:
        return TRUE;
    }
}

/* Where the subscription starts: the epoch and seq it resumes from. */
static void
take_position (WsbNotifyFeed *f, const Wsbridge__V1__SessionStatus *status)
{
  if (!f->epoch)
    f->seq = status->last_seq; /* live from here on */
  else if (status->epoch != f->epoch)
    {
      /* seq restarted: the daemon reports what it has of the new epoch as
       * a gap; nothing of the new epoch was delivered yet. */
      g_message ("wsbridged restarted since the last message; going on with its new messages");
      f->seq = 0;
    }
  f->epoch = status->epoch;
}

static void
connect_now (WsbNotifyFeed *f)
{
  Wsbridge__V1__Reply *reply = NULL;
  guint64 since = f->epoch ? f->seq : 0;
  WsbClientStatus st;

  st = wsb_client_connect (f->client, f->socket_path, f->client_name);
  if (st != WSB_CLIENT_OK)
    {
      g_autofree char *what = g_strdup_printf ("cannot reach wsbridged at %s", f->socket_path);

      trouble (f, what, wsb_client_error (f->client));
      return;
    }
  st = wsb_client_subscribe (f->client, f->session, f->channel, since, f->epoch, &f->sub_id,
                             &reply);
  if (st != WSB_CLIENT_OK)
    {
      g_autofree char *why = g_strdup (wsb_client_error (f->client));
      gboolean retry
          = st != WSB_CLIENT_ERR_DAEMON || retry_helps (f, wsb_client_error_code (f->client));

      wsb_client_close (f->client);
      if (retry)
        trouble (f, "cannot subscribe", why);
      else
        f->funcs->fatal (why, f->data);
      return;
    }
  take_position (f, reply->subscribe->status);
  wsb_client_reply_free (reply);
  f->funcs->subscribed (f->epoch, f->seq, f->data);
  if (f->ever_subscribed)
    g_message ("subscribed to %s/%s again, after seq %" G_GUINT64_FORMAT, f->session, f->channel,
               f->seq);
  else if (since)
    g_message ("subscribed to %s/%s, resuming after seq %" G_GUINT64_FORMAT, f->session, f->channel,
               since);
  else
    g_message ("subscribed to %s/%s", f->session, f->channel);
  f->ever_subscribed = TRUE;
  f->trouble_logged = FALSE;
  f->connected = TRUE;
  f->connected_at = g_get_monotonic_time ();
  start_watch (f);
}

WsbNotifyFeed *
wsb_notify_feed_new (const char *socket_path, const char *session, const char *channel,
                     const WsbNotifyFeedFuncs *funcs, gpointer data)
{
  WsbNotifyFeed *f = g_new0 (WsbNotifyFeed, 1);

  f->socket_path = g_strdup (socket_path);
  f->session = g_strdup (session);
  f->channel = g_strdup (channel);
  f->client_name = g_strdup_printf ("wsbridge-notify %s/%s", session, channel);
  f->funcs = funcs;
  f->data = data;
  f->client = wsb_client_new ();
  if (!f->client)
    g_error ("out of memory");
  wsb_client_set_timeout (f->client, CALL_TIMEOUT_MS);
  wsb_client_set_event_callback (f->client, on_event, f);
  wsb_backoff_init (&f->backoff, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_RESET_MS);
  return f;
}

void
wsb_notify_feed_set_position (WsbNotifyFeed *f, guint64 epoch, guint64 seq)
{
  f->epoch = epoch;
  f->seq = seq;
}

void
wsb_notify_feed_start (WsbNotifyFeed *f)
{
  connect_now (f);
}

void
wsb_notify_feed_set_paused (WsbNotifyFeed *f, gboolean paused)
{
  f->paused = paused;
  if (paused)
    stop_watch (f);
  else
    start_watch (f);
}

void
wsb_notify_feed_free (WsbNotifyFeed *f)
{
  if (!f)
    return;
  stop_watch (f);
  if (f->retry_id)
    g_source_remove (f->retry_id);
  wsb_client_free (f->client);
  g_free (f->socket_path);
  g_free (f->session);
  g_free (f->channel);
  g_free (f->client_name);
  g_free (f);
}
