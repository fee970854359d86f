/* Peers on the bus, by unique name: their credentials and what they may
 * use, their subscriptions (one per session and channel) and the Message,
 * BinaryMessage and Gap signals sent to each of them alone. A caller ends
 * when its name vanishes from the bus, and its subscriptions with it. */
#include "dbus-server-private.h"

#include <pwd.h>
#include <unistd.h>

#include "access.h"
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
} CallerSub;

/* A peer on the bus, by unique name: its subscriptions, and on the system
 * bus its uid. Gone when its name vanishes. */
struct _Caller
{
  WsbDBusServer *srv;
  char *name;
  guint watch_id;
  GHashTable *subs; /* key → CallerSub* */
  gboolean have_cred;
  uid_t uid;
  gid_t gid;
};

/* ---------------------------------------------------------------- callers */

static void
caller_sub_free (CallerSub *cs)
{
  if (cs->sub)
    wsb_hub_unsubscribe (cs->sub);
  g_free (cs->key);
  g_free (cs->path);
  g_free (cs->channel);
  g_free (cs);
}

void
wsb_dbus_caller_free (Caller *c)
{
  g_bus_unwatch_name (c->watch_id);
  g_hash_table_unref (c->subs);
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
  c->watch_id = g_bus_watch_name_on_connection (srv->conn, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                NULL, on_caller_vanished, c, NULL);
  g_hash_table_insert (srv->callers, c->name, c);
  return c;
}

/* On the system bus: the caller's uid and primary group, asked of the bus
 * once per unique name. */
static gboolean
caller_cred (Caller *c, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) local = NULL;
  struct passwd *pw;
  guint32 uid;

  if (c->have_cred)
    return TRUE;
  reply = g_dbus_connection_call_sync (
      c->srv->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetConnectionUnixUser", g_variant_new ("(s)", c->name), G_VARIANT_TYPE ("(u)"),
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &local);
  if (!reply)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED, "cannot identify the caller: %s",
                   local->message);
      return FALSE;
    }
  g_variant_get (reply, "(u)", &uid);
  pw = getpwuid (uid);
  c->uid = uid;
  c->gid = pw ? pw->pw_gid : (gid_t) -1;
  c->have_cred = TRUE;
  return TRUE;
}

/* Only the system bus has other users on it: there the system instance
 * checks access.c's rules and a user instance admits its own uid and root. */
gboolean
wsb_dbus_may_use (WsbDBusServer *srv, const char *sender, const char *name, GError **error)
{
  const WsbSessionConfig *cfg;
  Caller *c;

  if (srv->bus_type != G_BUS_TYPE_SYSTEM || !sender)
    return TRUE;
  c = caller_get (srv, sender);
  if (!caller_cred (c, error))
    return FALSE;
  if (!srv->system)
    {
      if (c->uid == getuid () || c->uid == 0)
        return TRUE;
      g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
                   "this wsbridged instance serves only its own user");
      return FALSE;
    }
  if (!name)
    return wsb_access_create_allowed (&srv->cfg, c->uid, c->gid, error);
  cfg = wsb_hub_get_config (srv->hub, name);
  return !cfg || wsb_access_session_allowed (cfg, c->uid, c->gid, error);
}

/* ---------------------------------------------------------- subscriptions */

void
wsb_dbus_clear_message_cache (WsbDBusServer *srv)
{
  g_clear_pointer (&srv->cache_msg, wsb_message_unref);
  g_clear_pointer (&srv->cache_channel, g_free);
  g_clear_pointer (&srv->cache_params, g_variant_unref);
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

  g_dbus_connection_emit_signal (srv->conn, cs->caller->name, cs->path, SESSION_IFACE,
                                 m->binary ? "BinaryMessage" : "Message",
                                 message_params (srv, m, cs->channel), NULL);
}

static void
on_sub_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  CallerSub *cs = data;

  g_dbus_connection_emit_signal (cs->caller->srv->conn, cs->caller->name, cs->path, SESSION_IFACE,
                                 "Gap", g_variant_new ("(stt)", cs->channel, from_seq, to_seq),
                                 NULL);
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
wsb_dbus_subscribe (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv,
                    GVariant *params)
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
  cs->sub
      = wsb_hub_subscribe (srv->hub, obj->name, channel, since_seq, epoch, &sub_funcs, cs, &error);
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
