/* Peers on the bus, by unique name: their credentials and what they may
 * use. A caller ends when its name vanishes from the bus, and its
 * subscriptions (dbus-subscriptions.c) with it. */
#include "dbus-server-private.h"

#include "log.h"
#include "wsb-error.h"

/* A method call waiting for its caller to be known. */
typedef struct
{
  WsbDBusCall func;
  GDBusMethodInvocation *inv;
} Waiting;

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

Caller *
wsb_dbus_caller_get (WsbDBusServer *srv, const char *name)
{
  Caller *c = g_hash_table_lookup (srv->callers, name);

  if (c)
    return c;
  c = g_new0 (Caller, 1);
  c->srv = srv;
  c->name = g_strdup (name);
  c->subs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                   (GDestroyNotify) wsb_dbus_caller_sub_free);
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
  c = wsb_dbus_caller_get (srv, sender);
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
  c = wsb_dbus_caller_get (srv, sender);
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
