#include "hub.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "history.h"
#include "router.h"
#include "session-store.h"
#include "status.h"
#include "template.h"
#include "wsb-error.h"

#define SHUTDOWN_GRACE_MS 3500
#define SHUTDOWN_POLL_MS 20
/* Channels of one session that keep a history; the least recently active
 * one loses its history when a new channel needs one. */
#define HISTORY_CHANNELS_MAX 1024
/* Epochs stay below 2^53 so that every JSON consumer reads them exactly. */
#define EPOCH_MASK ((G_GUINT64_CONSTANT (1) << 53) - 1)

/* One channel of a session: its subscribers and its history. It exists
 * while it has either. */
typedef struct
{
  char *name;
  GPtrArray *subs;     /* WsbSubscription*; unsubscribed ones linger during delivery */
  guint live;          /* subscriptions not unsubscribed */
  WsbHistory *history; /* NULL until a message arrives on it */
  GList lru;           /* link in HubSession.lru while it has a history (not for "*") */
} HubChannel;

typedef struct
{
  WsbHub *hub;
  WsbSession *session;
  guint64 epoch;
  guint64 last_seq;
  WsbRouter *router;    /* NULL without channel_key */
  HubChannel *all;      /* "*" */
  GHashTable *channels; /* name → HubChannel*, "*" included */
  GQueue lru;           /* HubChannels with a history, least recently active first */
  /* Histories made now vouch only for messages from here on: before it, an
   * evicted history may have held messages of their channel. */
  guint64 history_floor;
  gboolean subscribed_upstream; /* subscribe frames went out on this connection */
  gboolean runtime;     /* created over an API without persist: reloads keep it */
  guint delivering;     /* > 0 while fanning out: unsubscribes are deferred */
  gboolean has_dead;
  gboolean removed; /* closing, no longer in hub->sessions; freed once disconnected */
  guint free_id;
} HubSession;

typedef struct
{
  WsbHubOutcomeFunc func;
  gpointer data;
} OutcomeListener;

typedef struct
{
  const WsbHubSessionFuncs *funcs;
  gpointer data;
} SessionListener;

struct _WsbHub
{
  WsbUpstream *up;
  char *state_dir;
  char *config_dir;
  GArray *outcome_listeners; /* OutcomeListener */
  GArray *session_listeners; /* SessionListener */
  GHashTable *sessions; /* name → HubSession* */
  GList *removed;       /* HubSession* closing before they are freed */
  GSourceFunc shutdown_done;
  gpointer shutdown_data;
  gint64 shutdown_deadline;
};

struct _WsbSubscription
{
  HubSession *hs;
  HubChannel *ch;
  const WsbSubscriberFuncs *funcs; /* NULL once unsubscribed during delivery */
  gpointer data;
  guint64 since_seq; /* what catch-up replays after */
  guint64 since_epoch;
};


static guint64
new_epoch (void)
{
  guint64 e;

  do
    e = (((guint64) g_random_int () << 32) | g_random_int ()) & EPOCH_MASK;
  while (e == 0);
  return e;
}

static const char *
hs_name (HubSession *hs)
{
  return wsb_session_get_name (hs->session);
}

static void
fill_status (HubSession *hs, WsbSessionStatus *st)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);

  st->name = g_strdup (cfg->name);
  st->url = g_strdup (cfg->url);
  st->state = wsb_session_get_state (hs->session);
  st->reason = g_strdup (wsb_session_get_reason (hs->session));
  st->epoch = hs->epoch;
  st->last_seq = hs->last_seq;
  wsb_session_get_stats (hs->session, &st->stats);
}

void
wsb_session_status_clear (WsbSessionStatus *st)
{
  g_free (st->name);
  g_free (st->url);
  g_free (st->reason);
  memset (st, 0, sizeof *st);
}

WsbStateEvent *
wsb_state_event_ref (WsbStateEvent *ev)
{
  ev->ref++;
  return ev;
}

void
wsb_state_event_unref (WsbStateEvent *ev)
{
  if (!ev || --ev->ref > 0)
    return;
  wsb_session_status_clear (&ev->status);
  g_bytes_unref (ev->body);
  g_free (ev);
}

/* ---------------------------------------------------------------- channels */

static void
channel_free (HubChannel *ch)
{
  g_ptr_array_unref (ch->subs);
  g_clear_pointer (&ch->history, wsb_history_free);
  g_free (ch->name);
  g_free (ch);
}

static HubChannel *
get_channel (HubSession *hs, const char *name)
{
  HubChannel *ch = g_hash_table_lookup (hs->channels, name);

  if (ch)
    return ch;
  ch = g_new0 (HubChannel, 1);
  ch->name = g_strdup (name);
  ch->subs = g_ptr_array_new_with_free_func (g_free);
  ch->lru.data = ch;
  g_hash_table_insert (hs->channels, ch->name, ch);
  return ch;
}

/* Frees ch once it has neither subscribers nor history ("*" stays). */
static void
maybe_drop_channel (HubSession *hs, HubChannel *ch)
{
  if (ch != hs->all && ch->subs->len == 0 && !ch->history)
    g_hash_table_remove (hs->channels, ch->name);
}

static void
drop_history (HubSession *hs, HubChannel *ch)
{
  hs->history_floor = MAX (hs->history_floor, wsb_history_last_seq (ch->history) + 1);
  g_queue_unlink (&hs->lru, &ch->lru);
  g_clear_pointer (&ch->history, wsb_history_free);
  maybe_drop_channel (hs, ch);
}

static void
history_push (HubSession *hs, HubChannel *ch, WsbMessage *m)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);

  if (!ch->history)
    {
      if (ch != hs->all && hs->lru.length >= HISTORY_CHANNELS_MAX)
        drop_history (hs, hs->lru.head->data);
      ch->history = wsb_history_new (cfg->history_messages, cfg->history_bytes,
                                     ch == hs->all ? 1 : hs->history_floor);
    }
  if (ch != hs->all)
    {
      if (ch->lru.prev || hs->lru.head == &ch->lru)
        g_queue_unlink (&hs->lru, &ch->lru);
      g_queue_push_tail_link (&hs->lru, &ch->lru);
    }
  wsb_history_push (ch->history, m);
}

/* --------------------------------------------------------------- delivery */

/* Removes subscriptions that were unsubscribed during a delivery. */
static void
purge_dead (HubSession *hs)
{
  GHashTableIter it;
  HubChannel *ch;
  g_autoptr (GPtrArray) empty = g_ptr_array_new ();

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    {
      for (guint i = ch->subs->len; i-- > 0;)
        if (!((WsbSubscription *) g_ptr_array_index (ch->subs, i))->funcs)
          g_ptr_array_remove_index_fast (ch->subs, i);
      if (ch->subs->len == 0)
        g_ptr_array_add (empty, ch);
    }
  for (guint i = 0; i < empty->len; i++)
    maybe_drop_channel (hs, g_ptr_array_index (empty, i));
}

static void
end_delivery (HubSession *hs)
{
  if (--hs->delivering == 0 && hs->has_dead)
    {
      hs->has_dead = FALSE;
      purge_dead (hs);
    }
}

static void
deliver (HubChannel *ch, WsbMessage *m)
{
  for (guint i = 0; i < ch->subs->len; i++)
    {
      WsbSubscription *sub = g_ptr_array_index (ch->subs, i);
      if (sub->funcs)
        sub->funcs->message (sub, m, sub->data);
    }
}

static void
on_session_message (WsbSession *s, const guint8 *data, gsize len, gboolean binary,
                    gpointer user_data)
{
  HubSession *hs = user_data;
  g_autofree char *routed = NULL;
  HubChannel *ch = NULL;
  WsbMessage *m;

  hs->last_seq++;
  /* No parse at all without channel_key. */
  if (hs->router && !binary)
    routed = wsb_router_route (hs->router, (const char *) data, len);
  if (routed && !g_str_equal (routed, "*"))
    ch = get_channel (hs, routed);
  m = wsb_message_new (hs_name (hs), ch ? ch->name : "*", hs->last_seq, hs->epoch,
                       g_get_real_time (), binary, data, len);
  history_push (hs, hs->all, m);
  if (ch)
    history_push (hs, ch, m);
  hs->delivering++;
  deliver (hs->all, m);
  if (ch)
    deliver (ch, m);
  end_delivery (hs);
  wsb_message_unref (m);
}

/* ------------------------------------------------------ upstream channels */

static gboolean
is_configured_channel (HubSession *hs, const char *name)
{
  char **list = wsb_session_get_config (hs->session)->channels;

  return list && g_strv_contains ((const char *const *) list, name);
}

static void
send_channel_frame (HubSession *hs, const char *tmpl, const char *channel)
{
  g_autofree char *frame = NULL;

  if (!tmpl || g_str_equal (channel, "*"))
    return;
  frame = wsb_template_fill (tmpl, channel);
  if (wsb_session_send_control (hs->session, frame))
    g_debug ("%s: upstream %s for channel %s", hs_name (hs),
             tmpl == wsb_session_get_config (hs->session)->subscribe_template ? "subscribe"
                                                                             : "unsubscribe",
             channel);
}

/* After every (re)connect: subscribe frames for every channel that is
 * configured or has local subscribers (the session sent on_connect first). */
static void
subscribe_upstream (HubSession *hs)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);
  g_autoptr (GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  HubChannel *ch;

  hs->subscribed_upstream = TRUE;
  if (!cfg->subscribe_template)
    return;
  for (guint i = 0; cfg->channels && cfg->channels[i]; i++)
    if (g_hash_table_add (done, cfg->channels[i]))
      send_channel_frame (hs, cfg->subscribe_template, cfg->channels[i]);
  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    if (ch->live && g_hash_table_add (done, ch->name))
      send_channel_frame (hs, cfg->subscribe_template, ch->name);
}

/* A channel's local subscriber count went 0→1 (or 1→0). */
static void
channel_interest_changed (HubSession *hs, HubChannel *ch, gboolean wanted)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);

  if (!hs->subscribed_upstream || is_configured_channel (hs, ch->name))
    return;
  send_channel_frame (hs, wanted ? cfg->subscribe_template : cfg->unsubscribe_template,
                      ch->name);
}

/* ------------------------------------------------------------------ state */

/* Calls func for every subscription not unsubscribed. */
static void
for_each_subscription (HubSession *hs, void (*func) (WsbSubscription *sub, gpointer data),
                       gpointer data)
{
  GHashTableIter it;
  HubChannel *ch;

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    for (guint i = 0; i < ch->subs->len; i++)
      {
        WsbSubscription *sub = g_ptr_array_index (ch->subs, i);
        if (sub->funcs)
          func (sub, data);
      }
}

static void
send_state (WsbSubscription *sub, gpointer ev)
{
  sub->funcs->state (sub, ev, sub->data);
}

static void hub_session_free (HubSession *hs);

static gboolean
free_removed (gpointer data)
{
  HubSession *hs = data;

  hs->hub->removed = g_list_remove (hs->hub->removed, hs);
  hub_session_free (hs);
  return G_SOURCE_REMOVE;
}

static void
maybe_free_removed (HubSession *hs)
{
  if (!hs->free_id && wsb_session_get_state (hs->session) == WSB_STATE_DISCONNECTED
      && !wsb_session_has_connection (hs->session))
    hs->free_id = g_idle_add_full (G_PRIORITY_DEFAULT, free_removed, hs, NULL);
}

static gboolean
has_subscribers (HubSession *hs)
{
  GHashTableIter it;
  HubChannel *ch;

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    if (ch->subs->len)
      return TRUE;
  return FALSE;
}

static void
on_session_state (WsbSession *s, gpointer user_data)
{
  HubSession *hs = user_data;
  WsbState state = wsb_session_get_state (s);
  WsbStateEvent *ev;

  if (hs->removed)
    {
      maybe_free_removed (hs);
      return;
    }
  if (state != WSB_STATE_OPEN)
    hs->subscribed_upstream = FALSE;
  else if (!hs->subscribed_upstream)
    subscribe_upstream (hs);
  if (!has_subscribers (hs))
    return;
  ev = g_new0 (WsbStateEvent, 1);
  ev->ref = 1;
  fill_status (hs, &ev->status);
  ev->body = wsb_status_encode_state_change (&ev->status);
  hs->delivering++;
  for_each_subscription (hs, send_state, ev);
  end_delivery (hs);
  wsb_state_event_unref (ev);
}

static void
on_send_done (WsbSession *s, guint64 id, WsbSendResult result, const char *reason,
              gpointer user_data)
{
  HubSession *hs = user_data;
  GArray *listeners = hs->hub->outcome_listeners;

  for (guint i = 0; i < listeners->len; i++)
    {
      OutcomeListener *l = &g_array_index (listeners, OutcomeListener, i);
      l->func (hs_name (hs), id, result, reason, l->data);
    }
}

static const WsbSessionEvents session_events = {
  .state_changed = on_session_state,
  .message = on_session_message,
  .send_done = on_send_done,
};

/* --------------------------------------------------------------- sessions */

static char *
journal_path (WsbHub *hub, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".journal", NULL);

  return g_build_filename (hub->state_dir, "queues", file, NULL);
}

/* Routing, history limits and the journal follow the configuration. */
static void
configure (HubSession *hs, const WsbSessionConfig *cfg)
{
  g_autofree char *path = journal_path (hs->hub, cfg->name);
  g_autoptr (GError) error = NULL;
  GHashTableIter it;
  HubChannel *ch;

  g_clear_pointer (&hs->router, wsb_router_free);
  if (cfg->channel_key)
    hs->router = wsb_router_new (cfg->channel_key, NULL);
  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    if (ch->history)
      wsb_history_set_limits (ch->history, cfg->history_messages, cfg->history_bytes);
  if (cfg->queue_persist)
    {
      if (!wsb_session_set_journal (hs->session, path, &error))
        g_warning ("%s: queue_persist: %s; the queue is kept in memory only", cfg->name,
                   error->message);
    }
  else
    {
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        g_warning ("%s: %s holds queued messages of an earlier run, but queue_persist is off: "
                   "they are not sent",
                   cfg->name, path);
      wsb_session_set_journal (hs->session, NULL, NULL);
    }
}

static void
hub_session_free (HubSession *hs)
{
  wsb_session_free (hs->session);
  /* The LRU links live inside the channels, which go with the table. */
  g_hash_table_unref (hs->channels);
  g_clear_pointer (&hs->router, wsb_router_free);
  g_free (hs);
}

WsbHub *
wsb_hub_new (WsbUpstream *up, const char *config_dir, const char *state_dir)
{
  WsbHub *hub = g_new0 (WsbHub, 1);

  hub->up = up;
  hub->config_dir = g_strdup (config_dir);
  hub->state_dir = g_strdup (state_dir);
  hub->outcome_listeners = g_array_new (FALSE, FALSE, sizeof (OutcomeListener));
  hub->session_listeners = g_array_new (FALSE, FALSE, sizeof (SessionListener));
  /* Keys are copies: a reload replaces the session's config and its name
   * string with it. */
  hub->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) hub_session_free);
  return hub;
}

void
wsb_hub_free (WsbHub *hub)
{
  if (!hub)
    return;
  for (GList *l = hub->removed; l; l = l->next)
    {
      HubSession *hs = l->data;
      if (hs->free_id)
        g_source_remove (hs->free_id);
      hub_session_free (hs);
    }
  g_list_free (hub->removed);
  g_hash_table_unref (hub->sessions);
  g_array_unref (hub->outcome_listeners);
  g_array_unref (hub->session_listeners);
  g_free (hub->state_dir);
  g_free (hub->config_dir);
  g_free (hub);
}

void
wsb_hub_add_outcome_listener (WsbHub *hub, WsbHubOutcomeFunc func, gpointer data)
{
  OutcomeListener l = { func, data };

  g_array_append_val (hub->outcome_listeners, l);
}

void
wsb_hub_add_session_listener (WsbHub *hub, const WsbHubSessionFuncs *funcs, gpointer data)
{
  SessionListener l = { funcs, data };

  g_array_append_val (hub->session_listeners, l);
}

void
wsb_hub_remove_session_listener (WsbHub *hub, const WsbHubSessionFuncs *funcs, gpointer data)
{
  for (guint i = 0; i < hub->session_listeners->len; i++)
    {
      SessionListener *l = &g_array_index (hub->session_listeners, SessionListener, i);
      if (l->funcs == funcs && l->data == data)
        {
          g_array_remove_index (hub->session_listeners, i);
          return;
        }
    }
}

static void
tell_listeners (WsbHub *hub, const char *session, gboolean added)
{
  for (guint i = 0; i < hub->session_listeners->len; i++)
    {
      SessionListener *l = &g_array_index (hub->session_listeners, SessionListener, i);
      void (*func) (const char *, gpointer) = added ? l->funcs->added : l->funcs->changed;
      if (func)
        func (session, l->data);
    }
}

void
wsb_hub_remove_outcome_listener (WsbHub *hub, WsbHubOutcomeFunc func, gpointer data)
{
  for (guint i = 0; i < hub->outcome_listeners->len; i++)
    {
      OutcomeListener *l = &g_array_index (hub->outcome_listeners, OutcomeListener, i);
      if (l->func == func && l->data == data)
        {
          g_array_remove_index (hub->outcome_listeners, i);
          return;
        }
    }
}

static void
send_ended (WsbSubscription *sub, gpointer data)
{
  sub->funcs->ended (sub, sub->data);
}

/* Tells every subscriber of hs that it is over, then drops the subscriptions. */
static void
end_subscriptions (HubSession *hs)
{
  GHashTableIter it;
  HubChannel *ch;

  for_each_subscription (hs, send_ended, NULL);
  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    {
      g_ptr_array_set_size (ch->subs, 0);
      ch->live = 0;
    }
}

static void
remove_session (WsbHub *hub, HubSession *hs, const char *why)
{
  gpointer key = NULL;

  g_message ("%s: %s", hs_name (hs), why);
  /* Subscribers see the session close, then their subscription end. */
  wsb_session_close (hs->session, WSB_CLOSE_GOING_AWAY, "session removed");
  wsb_session_cancel_queue (hs->session, "session removed");
  wsb_session_set_journal (hs->session, NULL, NULL);
  g_hash_table_steal_extended (hub->sessions, hs_name (hs), &key, NULL);
  g_free (key);
  end_subscriptions (hs);
  hs->removed = TRUE;
  hub->removed = g_list_prepend (hub->removed, hs);
  maybe_free_removed (hs);
}

static HubSession *
add_session (WsbHub *hub, const WsbSessionConfig *cfg)
{
  HubSession *hs = g_new0 (HubSession, 1);

  hs->hub = hub;
  hs->epoch = new_epoch ();
  hs->history_floor = 1;
  g_queue_init (&hs->lru);
  hs->channels = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) channel_free);
  hs->session = wsb_session_new (hub->up, cfg, &session_events, hs);
  hs->all = get_channel (hs, "*");
  g_hash_table_insert (hub->sessions, g_strdup (hs_name (hs)), hs);
  configure (hs, cfg);
  tell_listeners (hub, hs_name (hs), TRUE);
  return hs;
}

gboolean
wsb_hub_add_session (WsbHub *hub, const WsbSessionConfig *cfg, GError **error)
{
  if (g_hash_table_contains (hub->sessions, cfg->name))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "a session named '%s' already exists", cfg->name);
      return FALSE;
    }
  add_session (hub, cfg);
  return TRUE;
}

void
wsb_hub_apply_config (WsbHub *hub, GPtrArray *sessions)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter it;
  HubSession *hs;

  for (guint i = 0; i < sessions->len; i++)
    {
      WsbSessionConfig *cfg = g_ptr_array_index (sessions, i);
      g_hash_table_insert (wanted, cfg->name, cfg);
    }
  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    if (!hs->runtime && !g_hash_table_contains (wanted, hs_name (hs)))
      g_ptr_array_add (gone, hs);
  for (guint i = 0; i < gone->len; i++)
    remove_session (hub, g_ptr_array_index (gone, i), "session removed");

  for (guint i = 0; i < sessions->len; i++)
    {
      WsbSessionConfig *cfg = g_ptr_array_index (sessions, i);
      hs = g_hash_table_lookup (hub->sessions, cfg->name);
      if (hs && hs->runtime)
        g_warning ("%s: %s defines a session that was created at runtime; the runtime one "
                   "stays until it is removed",
                   cfg->name, cfg->source);
      else if (!hs)
        {
          g_message ("%s: added by the configuration", cfg->name);
          hs = add_session (hub, cfg);
          if (cfg->autoconnect)
            wsb_session_connect (hs->session);
        }
      else if (!wsb_session_config_equal (wsb_session_get_config (hs->session), cfg))
        {
          wsb_session_reconfigure (hs->session, cfg);
          configure (hs, cfg);
        }
    }
}

void
wsb_hub_wake (WsbHub *hub)
{
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    wsb_session_wake (hs->session);
}

void
wsb_hub_start (WsbHub *hub)
{
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    if (wsb_session_get_config (hs->session)->autoconnect)
      wsb_session_connect (hs->session);
}

static gboolean
shutdown_poll (gpointer data)
{
  WsbHub *hub = data;
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    if (wsb_session_has_connection (hs->session)
        && g_get_monotonic_time () < hub->shutdown_deadline)
      return G_SOURCE_CONTINUE;
  hub->shutdown_done (hub->shutdown_data);
  return G_SOURCE_REMOVE;
}

void
wsb_hub_shutdown (WsbHub *hub, GSourceFunc done, gpointer data)
{
  GHashTableIter it;
  HubSession *hs;

  hub->shutdown_done = done;
  hub->shutdown_data = data;
  hub->shutdown_deadline = g_get_monotonic_time () + SHUTDOWN_GRACE_MS * 1000;
  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    {
      wsb_session_close (hs->session, WSB_CLOSE_GOING_AWAY, "daemon shutting down");
      /* A journaled queue waits for the next start. */
      if (!wsb_session_get_config (hs->session)->queue_persist)
        wsb_session_cancel_queue (hs->session, "daemon shutting down");
    }
  g_timeout_add (SHUTDOWN_POLL_MS, shutdown_poll, hub);
}

static gint
compare_status (gconstpointer a, gconstpointer b)
{
  const WsbSessionStatus *sa = *(WsbSessionStatus *const *) a;
  const WsbSessionStatus *sb = *(WsbSessionStatus *const *) b;

  return strcmp (sa->name, sb->name);
}

static void
status_free (WsbSessionStatus *st)
{
  wsb_session_status_clear (st);
  g_free (st);
}

GPtrArray *
wsb_hub_list_status (WsbHub *hub)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) status_free);
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    {
      WsbSessionStatus *st = g_new0 (WsbSessionStatus, 1);
      fill_status (hs, st);
      g_ptr_array_add (out, st);
    }
  g_ptr_array_sort (out, compare_status);
  return out;
}

static HubSession *
lookup (WsbHub *hub, const char *name, GError **error)
{
  HubSession *hs = g_hash_table_lookup (hub->sessions, name);

  if (!hs)
    {
      g_autofree char *shown = g_utf8_make_valid (name, MIN (strlen (name), 80));
      g_set_error (error, WSB_ERROR, WSB_ERROR_NOT_FOUND, "no session named '%s'", shown);
    }
  return hs;
}

gboolean
wsb_hub_channel_is_valid (const char *channel, GError **error)
{
  return wsb_channel_name_check (channel, strlen (channel), error);
}

WsbSubscription *
wsb_hub_subscribe (WsbHub *hub, const char *session, const char *channel, guint64 since_seq,
                   guint64 epoch, const WsbSubscriberFuncs *funcs, gpointer data, GError **error)
{
  HubSession *hs = lookup (hub, session, error);
  WsbSubscription *sub;
  HubChannel *ch;

  if (!hs || !wsb_hub_channel_is_valid (channel, error))
    return NULL;
  if (since_seq && !epoch)
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "since_seq needs the epoch it was numbered in");
      return NULL;
    }
  if (since_seq > hs->last_seq && epoch == hs->epoch)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "since_seq %" G_GUINT64_FORMAT " is beyond the session's last seq %"
                   G_GUINT64_FORMAT " in epoch %" G_GUINT64_FORMAT,
                   since_seq, hs->last_seq, hs->epoch);
      return NULL;
    }
  ch = get_channel (hs, channel);
  sub = g_new0 (WsbSubscription, 1);
  sub->hs = hs;
  sub->ch = ch;
  sub->funcs = funcs;
  sub->data = data;
  sub->since_seq = since_seq;
  sub->since_epoch = epoch;
  g_ptr_array_add (ch->subs, sub);
  if (++ch->live == 1)
    channel_interest_changed (hs, ch, TRUE);
  return sub;
}

/* Where the history of ch vouches for every message from on. */
static guint64
complete_from (HubSession *hs, HubChannel *ch)
{
  return ch->history ? wsb_history_complete_from (ch->history) : hs->history_floor;
}

void
wsb_hub_catch_up (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  WsbHistory *h = sub->ch->history;
  guint64 since = sub->since_seq;
  guint64 from;

  if (!sub->since_epoch)
    return; /* live only */
  if (sub->since_epoch != hs->epoch)
    {
      /* seq restarted: nothing the subscriber knows lines up with it. */
      if (hs->last_seq)
        sub->funcs->gap (sub, 1, hs->last_seq, sub->data);
      return;
    }
  if (since >= hs->last_seq)
    return;
  from = complete_from (hs, sub->ch);
  if (since + 1 < from)
    sub->funcs->gap (sub, since + 1, MIN (from - 1, hs->last_seq), sub->data);
  if (!h)
    return;
  hs->delivering++;
  for (guint i = wsb_history_first_after (h, since); i < wsb_history_length (h) && sub->funcs; i++)
    sub->funcs->message (sub, wsb_history_nth (h, i), sub->data);
  end_delivery (hs);
}

void
wsb_hub_unsubscribe (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  HubChannel *ch = sub->ch;

  if (--ch->live == 0)
    channel_interest_changed (hs, ch, FALSE);
  if (hs->delivering)
    {
      sub->funcs = NULL;
      hs->has_dead = TRUE;
      return;
    }
  g_ptr_array_remove_fast (ch->subs, sub);
  maybe_drop_channel (hs, ch);
}

const char *
wsb_subscription_get_session (WsbSubscription *sub)
{
  return hs_name (sub->hs);
}

const char *
wsb_subscription_get_channel (WsbSubscription *sub)
{
  return sub->ch->name;
}

void
wsb_subscription_get_status (WsbSubscription *sub, WsbSessionStatus *out)
{
  fill_status (sub->hs, out);
}

gboolean
wsb_hub_send (WsbHub *hub, const char *session, const guint8 *data, gsize len, gboolean binary,
              guint32 ttl_ms, guint64 *id, GError **error)
{
  HubSession *hs = lookup (hub, session, error);

  if (!hs || !wsb_session_send (hs->session, data, len, binary, ttl_ms, id, error))
    return FALSE;
  tell_listeners (hub, session, FALSE);
  return TRUE;
}

/* ---------------------------------------------------- runtime management */

gboolean
wsb_hub_create_session (WsbHub *hub, const char *name, const char *url,
                        const char *const *keys, const char *const *values, guint n_options,
                        gboolean persist, GError **error)
{
  g_autoptr (WsbConfig) parsed = wsb_config_new ();
  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  WsbSessionConfig *cfg;
  HubSession *hs;

  if (!wsb_session_name_is_valid (name))
    {
      g_autofree char *shown = g_utf8_make_valid (name, MIN (strlen (name), 80));
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid session name '%s': use 1-64 of a-z 0-9 _ . - starting with a letter "
                   "or digit",
                   shown);
      return FALSE;
    }
  if (g_hash_table_contains (hub->sessions, name))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS, "a session named '%s' already "
                   "exists", name);
      return FALSE;
    }
  text = wsb_session_store_text (name, url, keys, values, n_options, error);
  if (!text)
    return FALSE;
  path = wsb_session_store_path (hub->config_dir, name);
  if (!wsb_config_parse_text (parsed, persist ? path : "the request", text, strlen (text), name,
                              &local))
    {
      /* The message names the key and why, never a header's value. */
      const char *msg = strstr (local->message, "[session");
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT, "%s",
                   msg ? msg : local->message);
      return FALSE;
    }
  if (persist && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS,
                   "%s exists already (reload to load it)", path);
      return FALSE;
    }
  if (persist && !wsb_session_store_write (path, text, error))
    return FALSE;
  cfg = g_ptr_array_index (parsed->sessions, 0);
  hs = add_session (hub, cfg);
  hs->runtime = !persist;
  g_message ("%s: created at runtime%s", name, persist ? " and persisted" : "");
  if (cfg->autoconnect)
    wsb_session_connect (hs->session);
  return TRUE;
}

gboolean
wsb_hub_remove_session (WsbHub *hub, const char *name, GError **error)
{
  HubSession *hs = lookup (hub, name, error);
  const char *source;

  if (!hs)
    return FALSE;
  source = wsb_session_get_config (hs->session)->source;
  if (!hs->runtime && !wsb_session_store_owns (source))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "session '%s' is defined in %s; remove it there and reload", name, source);
      return FALSE;
    }
  if (!hs->runtime && g_unlink (source) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot delete %s: %s", source,
                   g_strerror (errno));
      return FALSE;
    }
  remove_session (hub, hs, "removed by request");
  return TRUE;
}

gboolean
wsb_hub_connect (WsbHub *hub, const char *name, GError **error)
{
  HubSession *hs = lookup (hub, name, error);

  if (hs)
    wsb_session_connect (hs->session);
  return hs != NULL;
}

gboolean
wsb_hub_disconnect (WsbHub *hub, const char *name, GError **error)
{
  HubSession *hs = lookup (hub, name, error);

  if (hs)
    wsb_session_close (hs->session, WSB_CLOSE_NORMAL, "disconnected by request");
  return hs != NULL;
}

gboolean
wsb_hub_get_status (WsbHub *hub, const char *name, WsbSessionStatus *out, GError **error)
{
  HubSession *hs = lookup (hub, name, error);

  if (hs)
    fill_status (hs, out);
  return hs != NULL;
}

const WsbSessionConfig *
wsb_hub_get_config (WsbHub *hub, const char *name)
{
  HubSession *hs = g_hash_table_lookup (hub->sessions, name);

  return hs ? wsb_session_get_config (hs->session) : NULL;
}

gboolean
wsb_hub_history (WsbHub *hub, const char *session, const char *channel, guint last,
                 WsbHistoryResult *out, GError **error)
{
  HubSession *hs = lookup (hub, session, error);
  HubChannel *ch;
  WsbHistory *h;
  guint n, first, want;
  guint64 from;

  memset (out, 0, sizeof *out);
  if (!hs || !wsb_hub_channel_is_valid (channel, error))
    return FALSE;
  ch = g_hash_table_lookup (hs->channels, channel);
  h = ch ? ch->history : NULL;
  n = h ? wsb_history_length (h) : 0;
  want = last ? last : G_MAXUINT;
  first = n > want ? n - want : 0;
  out->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_message_unref);
  for (guint i = first; i < n; i++)
    g_ptr_array_add (out->messages, wsb_message_ref (wsb_history_nth (h, i)));
  fill_status (hs, &out->status);
  /* Fewer than asked for, and the history has lost older messages that
   * may belong to this channel: say which seqs are gone. */
  from = ch ? complete_from (hs, ch) : hs->history_floor;
  if (n - first < want && from > 1 && hs->last_seq)
    {
      out->gap_to = MIN (from - 1, hs->last_seq);
      out->gap_from = 1;
      /* On "*" every seq is a message of the channel: the gap is exact. */
      if (g_str_equal (channel, "*") && last && n - first < last)
        out->gap_from = MAX (1, (gint64) out->gap_to + 1 - (gint64) (last - (n - first)));
    }
  return TRUE;
}

void
wsb_history_result_clear (WsbHistoryResult *r)
{
  g_clear_pointer (&r->messages, g_ptr_array_unref);
  wsb_session_status_clear (&r->status);
}
