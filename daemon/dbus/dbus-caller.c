/* Peers on the bus, by unique name: their credentials and what they may
 * use, their subscriptions (one per session and channel) and the Message,
 * BinaryMessage and Gap signals sent to each of them alone. A caller ends
 * when its name vanishes from the bus, and its subscriptions with it. */
#include "dbus-server-private.h"

#include <string.h>

#include "log.h"
#include "wsb-error.h"

/* One channel of one session, subscribed by one caller. */
typedef struct
{
  Caller *caller;
  char *key; /* session "/" channel: session names hold no '/' */
  char *path;
  char *channel;
  WsbSubscription *sub;
  guint64 gap_from, gap_to; /* messages the backlog made it lose (0: none) */
} CallerSub;

/* A method call waiting for its caller to be known. */
typedef struct
{
  WsbDBusCall func;
  GDBusMethodInvocation *inv;
} Waiting;

/* A peer on the bus, by unique name: who it is and its subscriptions.
 * Gone when its name vanishes. */
struct _Caller
{
  WsbDBusServer *srv;
  char *name;
  guint watch_id;
  GHashTable *subs; /* key → CallerSub* */
  WsbPeer *peer;    /* NULL until known */
  char *unknown;    /* why it could not be identified, if it could not */
  GCancellable *asking; /* its credentials are asked of the bus */
  WsbPeerWait *peer_wait;
  GQueue waiting; /* Waiting* */
};

/* ---------------------------------------------------------------- callers */

static void
caller_sub_free (CallerSub *cs)
{
  if (cs->gap_from)
    cs->caller->srv->gaps_held--;
  if (cs->sub)
    wsb_hub_unsubscribe (cs->sub);
  g_free (cs->key);
  g_free (cs->path);
  g_free (cs->channel);
  g_free (cs);
}

/* A call never run: answered, which also lets go of the invocation. */
static void
waiting_drop (Waiting *w)
{
  g_dbus_method_invocation_return_error_literal (w->inv, WSB_ERROR, WSB_ERROR_FAILED,
                                                 "the daemon is stopping");
  g_free (w);
}

void
wsb_dbus_caller_free (Caller *c)
{
  g_bus_unwatch_name (c->watch_id);
  if (c->asking)
    g_cancellable_cancel (c->asking);
  g_clear_object (&c->asking);
  wsb_peer_wait_cancel (c->peer_wait);
  g_queue_clear_full (&c->waiting, (GDestroyNotify) waiting_drop);
  g_hash_table_unref (c->subs);
  g_clear_pointer (&c->peer, wsb_peer_unref);
  g_free (c->unknown);
  g_free (c->name);
  g_free (c);
}

/* Its unique name is gone: so are its subscriptions. */
static void
on_caller_vanished (GDBusConnection *conn, const char *name, gpointer data)
{
  Caller *c = data;

  g_debug ("D-Bus: caller %s is gone (%u subscription%s)", c->name, g_hash_table_size (c->subs),
           g_hash_table_size (c->subs) == 1 ? "" : "s");
  g_hash_table_remove (c->srv->callers, c->name);
}

static Caller *
caller_get (WsbDBusServer *srv, const char *name)
{
  Caller *c = g_hash_table_lookup (srv->callers, name);

  if (c)
    return c;
  c = g_new0 (Caller, 1);
  c->srv = srv;
  c->name = g_strdup (name);
  c->subs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) caller_sub_free);
  g_queue_init (&c->waiting);
  c->watch_id = g_bus_watch_name_on_connection (srv->conn, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                NULL, on_caller_vanished, c, NULL);
  g_hash_table_insert (srv->callers, c->name, c);
  return c;
}

/* Only the system bus has other users on it; on any other bus every peer
 * is the bus's own user, and may do what the daemon may. */
static gboolean
bus_is_shared (WsbDBusServer *srv)
{
  return srv->bus_type == G_BUS_TYPE_SYSTEM;
}

static void
run_waiting (Caller *c)
{
  Waiting *w;

  /* Each invocation is answered once, which lets go of it. */
  while ((w = g_queue_pop_head (&c->waiting)))
    {
      if (c->peer)
        w->func (c->srv, c->peer, w->inv);
      else
        g_dbus_method_invocation_return_error (w->inv, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
                                               "cannot identify the caller: %s", c->unknown);
      g_free (w);
    }
}

static void
on_caller_peer (WsbPeer *peer, gpointer data)
{
  Caller *c = data;

  c->peer_wait = NULL;
  c->peer = wsb_peer_ref (peer);
  run_waiting (c);
}

static void
on_credentials (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  g_autoptr (GVariant) creds = NULL;
  Caller *c = data;
  guint32 uid, pid = 0;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the caller is gone, and c with it */
  g_clear_object (&c->asking);
  if (reply)
    creds = g_variant_get_child_value (reply, 0);
  if (!creds || !g_variant_lookup (creds, "UnixUserID", "u", &uid))
    {
      c->unknown = g_strdup (error ? error->message : "the bus does not know its uid");
      run_waiting (c);
      return;
    }
  g_variant_lookup (creds, "ProcessID", "u", &pid);
  c->peer_wait = wsb_peer_lookup (c->srv->system, uid, (pid_t) pid, on_caller_peer, c);
}

/* Asks the bus who the caller is, once per unique name, without waiting. */
static void
caller_identify (Caller *c)
{
  if (c->peer || c->unknown || c->asking || c->peer_wait)
    return;
  c->asking = g_cancellable_new ();
  g_dbus_connection_call (c->srv->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionCredentials",
                          g_variant_new ("(s)", c->name), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, -1, c->asking, on_credentials, c);
}

void
wsb_dbus_with_peer (WsbDBusServer *srv, GDBusMethodInvocation *inv, WsbDBusCall func)
{
  const char *sender = g_dbus_method_invocation_get_sender (inv);
  Waiting *w;
  Caller *c;

  if (!bus_is_shared (srv) || !sender)
    {
      func (srv, wsb_peer_daemon (), inv);
      return;
    }
  c = caller_get (srv, sender);
  if (c->peer)
    {
      func (srv, c->peer, inv);
      return;
    }
  w = g_new0 (Waiting, 1);
  w->func = func;
  w->inv = inv; /* ours until answered (GDBus hands it over) */
  g_queue_push_tail (&c->waiting, w);
  if (c->unknown)
    run_waiting (c);
  else
    caller_identify (c);
}

const WsbPeer *
wsb_dbus_known_peer (WsbDBusServer *srv, const char *sender)
{
  Caller *c;

  if (!bus_is_shared (srv))
    return wsb_peer_daemon ();
  if (!sender)
    return NULL;
  c = caller_get (srv, sender);
  caller_identify (c);
  return c->peer;
}

void
wsb_dbus_emit_to_allowed (WsbDBusServer *srv, WsbSubscription *watch, const char *path,
                          const char *iface, const char *signal, GVariant *params)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (params);
  GHashTableIter it;
  Caller *c;

  if (!srv->conn)
    return;
  if (!bus_is_shared (srv))
    {
      g_dbus_connection_emit_signal (srv->conn, NULL, path, iface, signal, owned, NULL);
      return;
    }
  g_hash_table_iter_init (&it, srv->callers);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &c))
    if (c->peer && wsb_subscription_allows (watch, c->peer, WSB_OP_LIST))
      g_dbus_connection_emit_signal (srv->conn, c->name, path, iface, signal, owned, NULL);
}

/* ---------------------------------------------------------- subscriptions */

void
wsb_dbus_clear_message_cache (WsbDBusServer *srv)
{
  g_clear_pointer (&srv->cache_msg, wsb_message_unref);
  g_clear_pointer (&srv->cache_channel, g_free);
  g_clear_pointer (&srv->cache_params, g_variant_unref);
}

/* ---------------------------------------------------------------- backlog */

/* GDBus queues each signal until its worker thread has written it to the
 * bus, without limit, so a bus that stops reading (a stalled dbus-daemon)
 * would grow the daemon by every message. The bytes of the signals sent
 * are counted, a flush is asked for every FLUSH_EVERY of them, and what a
 * finished flush proves written comes off: with more than
 * client_buffer_bytes unwritten, D-Bus subscribers lose messages, each
 * subscription's run of them told by one Gap signal before its next message
 * or once the bus has caught up, as a slow socket client's are. */
#define FLUSH_EVERY (64 * 1024)
/* What a signal costs besides its arguments: GDBus's message and blob. */
#define SIGNAL_OVERHEAD 512

struct _FlushWait
{
  WsbDBusServer *srv; /* NULL once the connection went */
  guint64 mark;       /* sent_bytes when the flush was asked for */
};

static guint64
backlog (WsbDBusServer *srv)
{
  return srv->sent_bytes - srv->written_bytes;
}

static gboolean
congested (WsbDBusServer *srv)
{
  return backlog (srv) > srv->cfg.client_buffer_bytes;
}

static void maybe_flush (WsbDBusServer *srv);
static void send_held_gaps (WsbDBusServer *srv);

static void
on_flushed (GObject *source, GAsyncResult *res, gpointer data)
{
  struct _FlushWait *w = data;
  WsbDBusServer *srv = w->srv;
  guint64 mark = w->mark;

  /* An error means the connection is closing: drop_bus follows. */
  g_dbus_connection_flush_finish (G_DBUS_CONNECTION (source), res, NULL);
  g_free (w);
  if (!srv)
    return;
  srv->flush = NULL;
  srv->written_bytes = MAX (srv->written_bytes, mark);
  if (!congested (srv))
    {
      if (srv->lost)
        g_message ("D-Bus: the bus has caught up; D-Bus subscribers lost %" G_GUINT64_FORMAT
                   " message%s meanwhile (told by Gap signals)",
                   srv->lost, srv->lost == 1 ? "" : "s");
      srv->lost = 0;
      send_held_gaps (srv);
    }
  maybe_flush (srv);
}

static void
maybe_flush (WsbDBusServer *srv)
{
  if (srv->flush || !srv->conn || backlog (srv) < FLUSH_EVERY)
    return;
  srv->flush = g_new (struct _FlushWait, 1);
  srv->flush->srv = srv;
  srv->flush->mark = srv->sent_bytes;
  g_dbus_connection_flush (srv->conn, NULL, on_flushed, srv->flush);
}

static void
sent (WsbDBusServer *srv, gsize bytes)
{
  srv->sent_bytes += bytes + SIGNAL_OVERHEAD;
  maybe_flush (srv);
}

void
wsb_dbus_backlog_reset (WsbDBusServer *srv)
{
  if (srv->flush)
    srv->flush->srv = NULL;
  srv->flush = NULL;
  srv->sent_bytes = srv->written_bytes = 0;
  srv->lost = 0;
}

static void
emit_gap (CallerSub *cs, guint64 from_seq, guint64 to_seq)
{
  WsbDBusServer *srv = cs->caller->srv;

  g_dbus_connection_emit_signal (srv->conn, cs->caller->name, cs->path, SESSION_IFACE, "Gap",
                                 g_variant_new ("(stt)", cs->channel, from_seq, to_seq), NULL);
  sent (srv, strlen (cs->channel) + 16);
}

static void
send_held_gap (CallerSub *cs)
{
  if (!cs->gap_from)
    return;
  emit_gap (cs, cs->gap_from, cs->gap_to);
  cs->gap_from = cs->gap_to = 0;
  cs->caller->srv->gaps_held--;
}

static void
send_held_gaps (WsbDBusServer *srv)
{
  GHashTableIter callers, subs;
  gpointer c, cs;

  g_hash_table_iter_init (&callers, srv->callers);
  while (srv->gaps_held && g_hash_table_iter_next (&callers, NULL, &c))
    {
      g_hash_table_iter_init (&subs, ((Caller *) c)->subs);
      while (g_hash_table_iter_next (&subs, NULL, &cs))
        send_held_gap (cs);
    }
}

/* Message(s channel, t seq, x time_usec, s text) or BinaryMessage(..., ay):
 * the body is made once per message and channel, whatever the number of
 * subscribers. */
static GVariant *
message_params (WsbDBusServer *srv, WsbMessage *m, const char *channel)
{
  const char *data = (const char *) wsb_message_data (m);
  GVariant *payload;

  if (srv->cache_msg == m && g_str_equal (srv->cache_channel, channel))
    return srv->cache_params;
  wsb_dbus_clear_message_cache (srv);
  if (m->binary)
    payload = g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, m->data_len, TRUE,
                                       (GDestroyNotify) wsb_message_unref, wsb_message_ref (m));
  else if (g_utf8_validate_len (data, m->data_len, NULL))
    payload = g_variant_new_take_string (g_strndup (data, m->data_len));
  else
    /* D-Bus strings are UTF-8 without NUL; what is not shows as U+FFFD. */
    payload = g_variant_new_take_string (g_utf8_make_valid (data, (gssize) m->data_len));
  srv->cache_msg = wsb_message_ref (m);
  srv->cache_channel = g_strdup (channel);
  srv->cache_params
      = g_variant_ref_sink (g_variant_new ("(stx@*)", channel, m->seq, m->time_us, payload));
  return srv->cache_params;
}

static void
on_sub_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  CallerSub *cs = data;
  WsbDBusServer *srv = cs->caller->srv;

  if (congested (srv))
    {
      if (!srv->lost)
        g_warning ("D-Bus: the bus has not taken the last %" G_GUINT64_FORMAT
                   " bytes of signals (over client_buffer_bytes); D-Bus subscribers lose "
                   "messages, told by Gap signals, until it does",
                   backlog (srv));
      srv->lost++;
      if (!cs->gap_from)
        {
          cs->gap_from = m->seq;
          srv->gaps_held++;
        }
      cs->gap_to = m->seq;
      return;
    }
  send_held_gap (cs);
  g_dbus_connection_emit_signal (srv->conn, cs->caller->name, cs->path, SESSION_IFACE,
                                 m->binary ? "BinaryMessage" : "Message",
                                 message_params (srv, m, cs->channel), NULL);
  sent (srv, m->data_len + strlen (cs->channel));
}

static void
on_sub_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  CallerSub *cs = data;

  send_held_gap (cs);
  emit_gap (cs, from_seq, to_seq);
}

/* State changes reach D-Bus callers as PropertiesChanged of the session. */
static void
on_sub_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
}

static void
on_sub_ended (WsbSubscription *sub, gpointer data)
{
  CallerSub *cs = data;

  /* The hub frees the subscription itself. */
  cs->sub = NULL;
  g_hash_table_remove (cs->caller->subs, cs->key);
}

static const WsbSubscriberFuncs sub_funcs = {
  .message = on_sub_message,
  .gap = on_sub_gap,
  .state = on_sub_state,
  .ended = on_sub_ended,
};

void
wsb_dbus_subscribe (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
                    GDBusMethodInvocation *inv, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  const char *channel;
  guint64 since_seq, epoch;
  Caller *c = caller_get (srv, g_dbus_method_invocation_get_sender (inv));
  CallerSub *cs;
  g_autofree char *key = NULL;

  g_variant_get (params, "(&stt)", &channel, &since_seq, &epoch);
  key = g_strconcat (obj->name, "/", channel, NULL);
  if (g_hash_table_contains (c->subs, key))
    {
      g_dbus_method_invocation_return_error (inv, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS,
                                             "already subscribed to channel '%s'", channel);
      return;
    }
  if (g_hash_table_size (c->subs) >= srv->cfg.max_subscriptions_per_client)
    {
      g_dbus_method_invocation_return_error_literal (
          inv, WSB_ERROR, WSB_ERROR_LIMIT_EXCEEDED,
          "too many subscriptions of this caller (max_subscriptions_per_client)");
      return;
    }
  cs = g_new0 (CallerSub, 1);
  cs->caller = c;
  cs->channel = g_strdup (channel);
  cs->path = g_strdup (obj->path);
  /* As over the socket API: epoch 0 is live only; an epoch with since_seq
   * 0 replays all the history of that epoch. */
  cs->sub = wsb_hub_subscribe (srv->hub, peer, obj->name, channel, since_seq, epoch, &sub_funcs,
                               cs, &error);
  if (!cs->sub)
    {
      caller_sub_free (cs);
      wsb_dbus_return_error (inv, error);
      return;
    }
  cs->key = g_steal_pointer (&key);
  g_hash_table_insert (c->subs, cs->key, cs);
  wsb_session_log (obj->name, G_LOG_LEVEL_DEBUG, "D-Bus: caller %s subscribed to %s", c->name,
                   cs->key);
  /* The reply goes out first; catch-up's signals follow it on the connection. */
  g_dbus_method_invocation_return_value (inv, NULL);
  wsb_hub_catch_up (cs->sub);
}

void
wsb_dbus_unsubscribe (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv,
                      GVariant *params)
{
  const char *channel;
  Caller *c = g_hash_table_lookup (srv->callers, g_dbus_method_invocation_get_sender (inv));
  g_autofree char *key = NULL;

  g_variant_get (params, "(&s)", &channel);
  key = g_strconcat (obj->name, "/", channel, NULL);
  if (!c || !g_hash_table_remove (c->subs, key))
    {
      g_dbus_method_invocation_return_error (inv, WSB_ERROR, WSB_ERROR_NOT_FOUND,
                                             "not subscribed to channel '%s'", channel);
      return;
    }
  g_dbus_method_invocation_return_value (inv, NULL);
}
