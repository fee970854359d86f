#include "push-feed.h"

#include <glib-unix.h>

#include "backoff.h"
#include "push-ntfy.h"

#define CALL_TIMEOUT_MS 10000
#define BACKOFF_INITIAL_MS 200
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 10000

struct _WsbPushFeed
{
  char *socket_path;
  char *server;
  char *token_file;
  const WsbPushFeedFuncs *funcs;
  gpointer data;

  GStrv topics;
  WsbClient *client;
  gboolean connected;
  gboolean trouble_logged;
  gboolean remake; /* the session must be made again (a gap) */
  gint64 connected_at;
  guint watch_id;
  guint retry_id;
  guint remake_id;
  Wsbridge__V1__SessionState state;
  WsbBackoff backoff;
};

static void connect_now (WsbPushFeed *f);
static gboolean apply (WsbPushFeed *f);

static gboolean
on_retry (gpointer data)
{
  WsbPushFeed *f = data;

  f->retry_id = 0;
  connect_now (f);
  return G_SOURCE_REMOVE;
}

static void
disconnect (WsbPushFeed *f)
{
  if (f->watch_id)
    g_source_remove (f->watch_id);
  f->watch_id = 0;
  if (f->connected)
    wsb_backoff_connection_ended (&f->backoff,
                                  (guint64) (g_get_monotonic_time () - f->connected_at) / 1000);
  wsb_client_close (f->client);
  f->connected = FALSE;
}

/* The first failure of an outage is a message, the ones after it debug. */
static void
trouble (WsbPushFeed *f, const char *what, const char *why)
{
  guint delay = wsb_backoff_next_ms (&f->backoff, g_random_double ());

  disconnect (f);
  if (f->trouble_logged)
    g_debug ("%s: %s; next try in %u ms", what, why, delay);
  else
    g_message ("%s: %s; retrying", what, why);
  f->trouble_logged = TRUE;
  if (!f->retry_id)
    f->retry_id = g_timeout_add (delay, on_retry, f);
}

static gboolean
on_remake (gpointer data)
{
  WsbPushFeed *f = data;

  f->remake_id = 0;
  if (f->connected)
    apply (f);
  return G_SOURCE_REMOVE;
}

static void
on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *data)
{
  WsbPushFeed *f = data;

  /* Only our session's subscriptions exist on this connection; events of a
   * session being replaced still count (ids make repeats harmless). */
  switch (ev->event_case)
    {
      case WSBRIDGE__V1__EVENT__EVENT_MESSAGE:
        if (!ev->message->binary)
          f->funcs->message ((const char *) ev->message->data.data, ev->message->data.len, f->data);
        else
          g_warning ("a binary frame on the push stream (%zu bytes) ignored",
                     ev->message->data.len);
        break;
      case WSBRIDGE__V1__EVENT__EVENT_GAP:
        /* The daemon dropped messages for us: ntfy still has them. */
        g_message ("the daemon lost messages for us (seq %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT
                   "); asking ntfy again",
                   ev->gap->from_seq, ev->gap->to_seq);
        if (!f->remake_id)
          f->remake_id = g_idle_add (on_remake, f);
        break;
      case WSBRIDGE__V1__EVENT__EVENT_STATE:
        if (ev->state->status && ev->state->status->state != f->state)
          {
            f->state = ev->state->status->state;
            g_message ("push server stream %s%s%s", wsb_client_state_to_string (f->state),
                       *ev->state->status->reason ? ": " : "", ev->state->status->reason);
          }
        break;
      default:
        break;
    }
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer data)
{
  WsbPushFeed *f = data;
  WsbClientStatus st = wsb_client_dispatch (f->client);
  g_autofree char *why = NULL;

  if (st == WSB_CLIENT_OK)
    return G_SOURCE_CONTINUE;
  why = g_strdup (wsb_client_error (f->client));
  f->watch_id = 0; /* removed by returning G_SOURCE_REMOVE */
  trouble (f, "lost wsbridged", why);
  return G_SOURCE_REMOVE;
}

static gboolean
call_failed (WsbPushFeed *f, WsbClientStatus st, const char *what)
{
  g_autofree char *why = g_strdup (wsb_client_error (f->client));

  /* A refusal leaves the connection usable, but the session is not what it
   * must be either way: try it all again later. */
  trouble (f, what, why);
  return FALSE;
}

/* Removes the session and, with topics, creates it again resuming after
 * the distributor's last id, subscribes and connects it. */
static gboolean
apply (WsbPushFeed *f)
{
  WsbClientStatus st;
  g_autofree char *url = NULL;
  Wsbridge__V1__Reply *reply = NULL;
  const char *since;
  const char *keys[8], *values[8];
  size_t n = 0;
  guint64 sub_id;

  st = wsb_client_remove_session (f->client, WSB_PUSH_SESSION);
  if (st != WSB_CLIENT_OK
      && !(st == WSB_CLIENT_ERR_DAEMON
           && wsb_client_error_code (f->client) == WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND))
    return call_failed (f, st, "cannot remove the old push session");
  f->state = WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_DISCONNECTED;
  if (!f->topics || !f->topics[0])
    {
      g_message ("no registrations: no push server stream");
      return TRUE;
    }

  since = f->funcs->since (f->data);
  url = wsb_push_stream_url (f->server, (const char *const *) f->topics, since ? since : "all");
  keys[n] = "autoconnect", values[n++] = "false";
  keys[n] = "resume_pointer", values[n++] = "/id";
  keys[n] = "resume_query", values[n++] = "since";
  keys[n] = "resume_filter", values[n++] = "/event=message";
  if (f->token_file)
    keys[n] = "token_file", values[n++] = f->token_file;
  st = wsb_client_create_session (f->client, WSB_PUSH_SESSION, url, keys, values, n, FALSE, NULL);
  if (st != WSB_CLIENT_OK)
    return call_failed (f, st, "cannot create the push session");
  st = wsb_client_subscribe (f->client, WSB_PUSH_SESSION, "*", 0, 0, &sub_id, &reply);
  if (st != WSB_CLIENT_OK)
    return call_failed (f, st, "cannot subscribe to the push session");
  wsb_client_reply_free (reply);
  st = wsb_client_connect_session (f->client, WSB_PUSH_SESSION);
  if (st != WSB_CLIENT_OK)
    return call_failed (f, st, "cannot connect the push session");
  g_message ("push server stream for %u topic(s), after %s", g_strv_length (f->topics),
             since ? since : "the beginning");
  return TRUE;
}

static void
connect_now (WsbPushFeed *f)
{
  WsbClientStatus st = wsb_client_connect (f->client, f->socket_path, "wsbridge-push");

  if (st != WSB_CLIENT_OK)
    {
      g_autofree char *what = g_strdup_printf ("cannot reach wsbridged at %s", f->socket_path);

      trouble (f, what, wsb_client_error (f->client));
      return;
    }
  f->connected = TRUE;
  f->connected_at = g_get_monotonic_time ();
  if (!apply (f))
    return;
  if (f->trouble_logged)
    g_message ("wsbridged reached again");
  f->trouble_logged = FALSE;
  f->watch_id = g_unix_fd_add (wsb_client_get_fd (f->client), G_IO_IN | G_IO_HUP | G_IO_ERR,
                               on_readable, f);
}

WsbPushFeed *
wsb_push_feed_new (const char *socket_path, const char *server, const char *token_file,
                   const WsbPushFeedFuncs *funcs, gpointer data)
{
  WsbPushFeed *f = g_new0 (WsbPushFeed, 1);

  f->socket_path = g_strdup (socket_path);
  f->server = g_strdup (server);
  f->token_file = g_strdup (token_file);
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
wsb_push_feed_set_topics (WsbPushFeed *f, const char *const *topics)
{
  g_strfreev (f->topics);
  f->topics = g_strdupv ((char **) topics);
  if (f->connected)
    apply (f);
  else if (!f->retry_id)
    connect_now (f);
}

void
wsb_push_feed_free (WsbPushFeed *f)
{
  if (!f)
    return;
  /* Nobody reads the stream any more: no connection to keep. The next
   * start asks ntfy for what came meanwhile. */
  if (f->connected && f->topics && f->topics[0]
      && wsb_client_remove_session (f->client, WSB_PUSH_SESSION) != WSB_CLIENT_OK)
    g_message ("cannot remove the push session: %s", wsb_client_error (f->client));
  if (f->watch_id)
    g_source_remove (f->watch_id);
  if (f->retry_id)
    g_source_remove (f->retry_id);
  if (f->remake_id)
    g_source_remove (f->remake_id);
  wsb_client_free (f->client);
  g_strfreev (f->topics);
  g_free (f->socket_path);
  g_free (f->server);
  g_free (f->token_file);
  g_free (f);
}
