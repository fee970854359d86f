#include "hub.h"

#include <string.h>

#include "status.h"
#include "wsb-error.h"

#define CHANNEL_MAX_BYTES 255
#define SHUTDOWN_GRACE_MS 3500
#define SHUTDOWN_POLL_MS 20
/* Epochs stay below 2^53 so that every JSON consumer reads them exactly. */
#define EPOCH_MASK ((G_GUINT64_CONSTANT (1) << 53) - 1)

typedef struct
{
  WsbHub *hub;
  WsbSession *session;
  guint64 epoch;
  guint64 last_seq;
  GHashTable *channels; /* channel name → GPtrArray of WsbSubscription* */
  guint delivering;     /* > 0 while fanning out: unsubscribes are deferred */
  gboolean has_dead;
  gboolean removed; /* closing, no longer in hub->sessions; freed once disconnected */
  guint free_id;
} HubSession;

struct _WsbHub
{
  WsbUpstream *up;
  GHashTable *sessions; /* name → HubSession* */
  GList *removed;       /* HubSession* closing before they are freed */
  GSourceFunc shutdown_done;
  gpointer shutdown_data;
  gint64 shutdown_deadline;
};

struct _WsbSubscription
{
  HubSession *hs;
  char *channel;
  const WsbSubscriberFuncs *funcs; /* NULL once unsubscribed during delivery */
  gpointer data;
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

static void
subscription_free (WsbSubscription *sub)
{
  g_free (sub->channel);
  g_free (sub);
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

/* Removes subscriptions that were unsubscribed during a delivery. */
static gboolean
purge_dead (gpointer key, gpointer value, gpointer data)
{
  GPtrArray *subs = value;

  for (guint i = subs->len; i-- > 0;)
    {
      WsbSubscription *sub = g_ptr_array_index (subs, i);
      if (!sub->funcs)
        g_ptr_array_remove_index_fast (subs, i);
    }
  return subs->len == 0;
}

static void
end_delivery (HubSession *hs)
{
  if (--hs->delivering == 0 && hs->has_dead)
    {
      hs->has_dead = FALSE;
      g_hash_table_foreach_remove (hs->channels, purge_dead, NULL);
    }
}

static void
on_session_message (WsbSession *s, const guint8 *data, gsize len, gboolean binary,
                    gpointer user_data)
{
  HubSession *hs = user_data;
  GPtrArray *subs = g_hash_table_lookup (hs->channels, "*");
  WsbMessage *m;

  hs->last_seq++;
  if (!subs)
    return;
  m = wsb_message_new (wsb_session_get_name (s), "*", hs->last_seq, hs->epoch,
                       g_get_real_time (), binary, data, len);
  hs->delivering++;
  for (guint i = 0; i < subs->len; i++)
    {
      WsbSubscription *sub = g_ptr_array_index (subs, i);
      if (sub->funcs)
        sub->funcs->message (sub, m, sub->data);
    }
  end_delivery (hs);
  wsb_message_unref (m);
}

static void
deliver_state (gpointer key, gpointer value, gpointer data)
{
  GPtrArray *subs = value;
  WsbStateEvent *ev = data;

  for (guint i = 0; i < subs->len; i++)
    {
      WsbSubscription *sub = g_ptr_array_index (subs, i);
      if (sub->funcs)
        sub->funcs->state (sub, ev, sub->data);
    }
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
    hs->free_id = g_idle_add (free_removed, hs);
}

static void
on_session_state (WsbSession *s, gpointer user_data)
{
  HubSession *hs = user_data;
  WsbStateEvent *ev;

  if (hs->removed)
    {
      maybe_free_removed (hs);
      return;
    }
  if (g_hash_table_size (hs->channels) == 0)
    return;
  ev = g_new0 (WsbStateEvent, 1);
  ev->ref = 1;
  fill_status (hs, &ev->status);
  ev->body = wsb_status_encode_state_change (&ev->status);
  hs->delivering++;
  g_hash_table_foreach (hs->channels, deliver_state, ev);
  end_delivery (hs);
  wsb_state_event_unref (ev);
}

static const WsbSessionEvents session_events = {
  .state_changed = on_session_state,
  .message = on_session_message,
};

static void
hub_session_free (HubSession *hs)
{
  wsb_session_free (hs->session);
  g_hash_table_unref (hs->channels);
  g_free (hs);
}

WsbHub *
wsb_hub_new (WsbUpstream *up)
{
  WsbHub *hub = g_new0 (WsbHub, 1);

  hub->up = up;
  hub->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
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
  g_free (hub);
}

/* Tells every subscriber of hs that it is over, then drops the subscriptions. */
static void
end_subscriptions (HubSession *hs)
{
  GHashTableIter it;
  GPtrArray *subs;

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &subs))
    for (guint i = 0; i < subs->len; i++)
      {
        WsbSubscription *sub = g_ptr_array_index (subs, i);
        if (sub->funcs)
          sub->funcs->ended (sub, sub->data);
      }
  g_hash_table_remove_all (hs->channels);
}

static void
remove_session (WsbHub *hub, HubSession *hs)
{
  g_message ("%s: removed from the configuration", wsb_session_get_name (hs->session));
  /* Subscribers see the session close, then their subscription end. */
  wsb_session_close (hs->session, LWS_CLOSE_STATUS_GOINGAWAY, "session removed");
  g_hash_table_steal (hub->sessions, wsb_session_get_name (hs->session));
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
  hs->channels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_ptr_array_unref);
  hs->session = wsb_session_new (hub->up, cfg, &session_events, hs);
  g_hash_table_insert (hub->sessions, (gpointer) wsb_session_get_name (hs->session), hs);
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
    if (!g_hash_table_contains (wanted, wsb_session_get_name (hs->session)))
      g_ptr_array_add (gone, hs);
  for (guint i = 0; i < gone->len; i++)
    remove_session (hub, g_ptr_array_index (gone, i));

  for (guint i = 0; i < sessions->len; i++)
    {
      WsbSessionConfig *cfg = g_ptr_array_index (sessions, i);
      hs = g_hash_table_lookup (hub->sessions, cfg->name);
      if (!hs)
        {
          g_message ("%s: added by the configuration", cfg->name);
          hs = add_session (hub, cfg);
          if (cfg->autoconnect)
            wsb_session_connect (hs->session);
        }
      else if (!wsb_session_config_equal (wsb_session_get_config (hs->session), cfg))
        wsb_session_reconfigure (hs->session, cfg);
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
    wsb_session_close (hs->session, LWS_CLOSE_STATUS_GOINGAWAY, "daemon shutting down");
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
  gsize len = strlen (channel);

  if (len == 0 || len > CHANNEL_MAX_BYTES || !g_utf8_validate (channel, (gssize) len, NULL))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid channel name: must be 1-%d bytes of UTF-8", CHANNEL_MAX_BYTES);
      return FALSE;
    }
  for (const char *p = channel; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                             "invalid channel name: control characters are not allowed");
        return FALSE;
      }
  return TRUE;
}

WsbSubscription *
wsb_hub_subscribe (WsbHub *hub, const char *session, const char *channel,
                   const WsbSubscriberFuncs *funcs, gpointer data, GError **error)
{
  HubSession *hs = lookup (hub, session, error);
  WsbSubscription *sub;
  GPtrArray *subs;

  if (!hs || !wsb_hub_channel_is_valid (channel, error))
    return NULL;
  sub = g_new0 (WsbSubscription, 1);
  sub->hs = hs;
  sub->channel = g_strdup (channel);
  sub->funcs = funcs;
  sub->data = data;
  subs = g_hash_table_lookup (hs->channels, channel);
  if (!subs)
    {
      subs = g_ptr_array_new_with_free_func ((GDestroyNotify) subscription_free);
      g_hash_table_insert (hs->channels, g_strdup (channel), subs);
    }
  g_ptr_array_add (subs, sub);
  return sub;
}

void
wsb_hub_catch_up (WsbSubscription *sub, guint64 since_seq, guint64 epoch)
{
  HubSession *hs = sub->hs;
  guint64 first;

  if (!since_seq && !epoch)
    return;
  /* No history is kept yet: everything after since_seq that was already
   * numbered is a gap. In another epoch seq restarted, so all of it is. */
  first = epoch == hs->epoch ? since_seq + 1 : 1;
  if (first <= hs->last_seq)
    sub->funcs->gap (sub, first, hs->last_seq, sub->data);
}

void
wsb_hub_unsubscribe (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  GPtrArray *subs = g_hash_table_lookup (hs->channels, sub->channel);

  if (hs->delivering)
    {
      sub->funcs = NULL;
      hs->has_dead = TRUE;
      return;
    }
  if (subs->len == 1)
    g_hash_table_remove (hs->channels, sub->channel); /* frees subs, and sub with it */
  else
    g_ptr_array_remove_fast (subs, sub);
}

const char *
wsb_subscription_get_session (WsbSubscription *sub)
{
  return wsb_session_get_name (sub->hs->session);
}

const char *
wsb_subscription_get_channel (WsbSubscription *sub)
{
  return sub->channel;
}

void
wsb_subscription_get_status (WsbSubscription *sub, WsbSessionStatus *out)
{
  fill_status (sub->hs, out);
}

gboolean
wsb_hub_send (WsbHub *hub, const char *session, const guint8 *data, gsize len, gboolean binary,
              guint64 *id, GError **error)
{
  HubSession *hs = lookup (hub, session, error);

  return hs && wsb_session_send (hs->session, data, len, binary, id, error);
}
