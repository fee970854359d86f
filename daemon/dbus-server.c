#include "dbus-server.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "log.h"
#include "wsb-dbus-generated.h"
#include "wsb-error.h"

#define BUS_NAME "io.github.WsBridge1"
#define MANAGER_PATH "/io/github/WsBridge1"
#define SESSION_PATH_PREFIX "/io/github/WsBridge1/session/"
#define MANAGER_IFACE "io.github.WsBridge1.Manager"
#define SESSION_IFACE "io.github.WsBridge1.Session"
/* Counters (RxMessages, LastSeq, ...) change with every message: their
 * PropertiesChanged go out at most this often, for all sessions at once. */
#define COUNTERS_INTERVAL_MS 500

typedef struct _Caller Caller;

/* The exported object of one session. Its watch, a subscription to "*",
 * tells it of state changes, of messages (counters) and of the session's
 * end. */
typedef struct
{
  WsbDBusServer *srv;
  char *name;
  char *path;
  guint reg_id;
  WsbSubscription *watch;
  WsbSessionStatus shown; /* as PropertiesChanged last told it */
  gboolean dirty;         /* counters changed since */
} SessionObject;

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

struct _WsbDBusServer
{
  WsbHub *hub;
  WsbDaemonConfig cfg;
  gboolean system;
  GBusType bus_type;
  GDBusConnection *conn;
  gulong closed_id;
  guint own_id;
  WsbDBusNameState name_state;
  GSourceFunc replaced_func;
  gpointer replaced_data;
  guint manager_reg_id;
  GHashTable *objects; /* name → SessionObject* */
  GHashTable *by_path; /* path → SessionObject* (same objects) */
  GHashTable *callers; /* unique name → Caller* */
  GPtrArray *dirty;    /* SessionObject* with dirty set */
  guint flush_id;
  /* The parameters of the last Message signal, for the next subscriber of
   * the same message and channel. */
  WsbMessage *cache_msg;
  char *cache_channel;
  GVariant *cache_params;
};

static const char *
bus_type_name (GBusType type)
{
  return type == G_BUS_TYPE_SYSTEM ? "system" : "session";
}

/* Object path elements allow [A-Za-z0-9_]: every other byte of a session
 * name, and '_' itself, becomes _XX (its hex value), as sd-bus does, so
 * "feed.btc" is .../session/feed_2ebtc. */
static char *
session_path (const char *name)
{
  GString *s = g_string_new (SESSION_PATH_PREFIX);

  for (const char *p = name; *p; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (s, *p);
    else
      g_string_append_printf (s, "_%02x", (guchar) *p);
  return g_string_free (s, FALSE);
}

/* Errors go out as io.github.WsBridge1.Error.* (wsb-error.c). */
static void
return_error (GDBusMethodInvocation *inv, const GError *error)
{
  if (error->domain == WSB_ERROR && error->code == WSB_ERROR_CONFIG)
    g_dbus_method_invocation_return_error_literal (inv, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                                                   error->message);
  else if (error->domain == WSB_ERROR)
    g_dbus_method_invocation_return_gerror (inv, error);
  else
    g_dbus_method_invocation_return_error_literal (inv, WSB_ERROR, WSB_ERROR_FAILED,
                                                   error->message);
}

static void
clear_cache (WsbDBusServer *srv)
{
  g_clear_pointer (&srv->cache_msg, wsb_message_unref);
  g_clear_pointer (&srv->cache_channel, g_free);
  g_clear_pointer (&srv->cache_params, g_variant_unref);
}

/* -------------------------------------------------------------- properties */

static const char *const prop_names[] = {
  "Name",       "Url",        "State",      "StateReason",    "Epoch",         "LastSeq",
  "Reconnects", "RxMessages", "TxMessages", "QueuedMessages", "RoundTripUsec", "NextRetryUsec",
};

static GVariant *
prop_value (const WsbSessionStatus *st, guint i)
{
  switch (i)
    {
    case 0:
      return g_variant_new_string (st->name ? st->name : "");
    case 1:
      return g_variant_new_string (st->url ? st->url : "");
    case 2:
      return g_variant_new_string (wsb_state_to_string (st->state));
    case 3:
      return g_variant_new_string (st->reason ? st->reason : "");
    case 4:
      return g_variant_new_uint64 (st->epoch);
    case 5:
      return g_variant_new_uint64 (st->last_seq);
    case 6:
      return g_variant_new_uint64 (st->stats.reconnects);
    case 7:
      return g_variant_new_uint64 (st->stats.rx_messages);
    case 8:
      return g_variant_new_uint64 (st->stats.tx_messages);
    case 9:
      return g_variant_new_uint64 (st->stats.queued_messages);
    case 10:
      return g_variant_new_uint64 (st->stats.rtt_us);
    default:
      return g_variant_new_int64 (st->stats.next_retry_us);
    }
}

static void
status_copy (const WsbSessionStatus *from, WsbSessionStatus *to)
{
  wsb_session_status_clear (to);
  *to = *from;
  to->name = g_strdup (from->name);
  to->url = g_strdup (from->url);
  to->reason = g_strdup (from->reason);
}

/* PropertiesChanged for what differs between st and what was last shown. */
static void
show_status (SessionObject *obj, const WsbSessionStatus *st)
{
  WsbDBusServer *srv = obj->srv;
  GVariantBuilder changed;
  gboolean any = FALSE;

  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < G_N_ELEMENTS (prop_names); i++)
    {
      g_autoptr (GVariant) old = g_variant_ref_sink (prop_value (&obj->shown, i));
      g_autoptr (GVariant) now = g_variant_ref_sink (prop_value (st, i));

      if (g_variant_equal (old, now))
        continue;
      g_variant_builder_add (&changed, "{sv}", prop_names[i], now);
      any = TRUE;
    }
  status_copy (st, &obj->shown);
  if (!any)
    {
      g_variant_builder_clear (&changed);
      return;
    }
  if (srv->conn)
    g_dbus_connection_emit_signal (
        srv->conn, NULL, obj->path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
        g_variant_new ("(sa{sv}as)", SESSION_IFACE, &changed, NULL), NULL);
  else
    g_variant_builder_clear (&changed);
}

static void
show_current (SessionObject *obj)
{
  WsbSessionStatus st = { 0 };

  if (wsb_hub_get_status (obj->srv->hub, obj->name, &st, NULL))
    show_status (obj, &st);
  wsb_session_status_clear (&st);
}

static gboolean
flush_counters (gpointer data)
{
  WsbDBusServer *srv = data;
  g_autoptr (GPtrArray) dirty = srv->dirty;

  srv->flush_id = 0;
  srv->dirty = g_ptr_array_new ();
  for (guint i = 0; i < dirty->len; i++)
    {
      SessionObject *obj = g_ptr_array_index (dirty, i);
      obj->dirty = FALSE;
      show_current (obj);
    }
  return G_SOURCE_REMOVE;
}

/* The counters changed: they are shown within COUNTERS_INTERVAL_MS. The
 * one timer runs only while something changes. */
static void
mark_dirty (SessionObject *obj)
{
  WsbDBusServer *srv = obj->srv;

  if (obj->dirty)
    return;
  obj->dirty = TRUE;
  g_ptr_array_add (srv->dirty, obj);
  if (!srv->flush_id)
    srv->flush_id = g_timeout_add (COUNTERS_INTERVAL_MS, flush_counters, srv);
}

/* ------------------------------------------------------- session objects */

static void object_remove (SessionObject *obj);

static void
on_watch_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  mark_dirty (data);
}

static void
on_watch_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
}

/* State changes are shown at once, counters with them. */
static void
on_watch_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
  show_status (data, &ev->status);
}

/* The session was removed (by any API or a reload). */
static void
on_watch_ended (WsbSubscription *sub, gpointer data)
{
  SessionObject *obj = data;

  obj->watch = NULL;
  object_remove (obj);
}

static const WsbSubscriberFuncs watch_funcs = {
  .message = on_watch_message,
  .gap = on_watch_gap,
  .state = on_watch_state,
  .ended = on_watch_ended,
};

static void
object_free (SessionObject *obj)
{
  WsbDBusServer *srv = obj->srv;

  if (obj->watch)
    wsb_hub_unsubscribe (obj->watch);
  if (obj->reg_id && srv->conn)
    g_dbus_connection_unregister_object (srv->conn, obj->reg_id);
  if (obj->dirty)
    g_ptr_array_remove_fast (srv->dirty, obj);
  wsb_session_status_clear (&obj->shown);
  g_free (obj->name);
  g_free (obj->path);
  g_free (obj);
}

static void
emit_manager_signal (WsbDBusServer *srv, const char *signal_name, SessionObject *obj)
{
  if (srv->conn)
    g_dbus_connection_emit_signal (srv->conn, NULL, MANAGER_PATH, MANAGER_IFACE, signal_name,
                                   g_variant_new ("(so)", obj->name, obj->path), NULL);
}

static void
object_remove (SessionObject *obj)
{
  WsbDBusServer *srv = obj->srv;

  wsb_session_log (obj->name, G_LOG_LEVEL_DEBUG, "D-Bus: %s: object %s removed", obj->name,
                   obj->path);
  g_hash_table_steal (srv->objects, obj->name);
  g_hash_table_steal (srv->by_path, obj->path);
  if (obj->reg_id)
    emit_manager_signal (srv, "SessionRemoved", obj);
  object_free (obj);
}

static const GDBusInterfaceVTable session_vtable;

/* The object of session name, exported (with SessionAdded) if it has none
 * yet; NULL if there is no such session. */
static SessionObject *
object_ensure (WsbDBusServer *srv, const char *name)
{
  g_autoptr (GError) error = NULL;
  SessionObject *obj = g_hash_table_lookup (srv->objects, name);

  if (obj)
    return obj;
  obj = g_new0 (SessionObject, 1);
  obj->srv = srv;
  obj->name = g_strdup (name);
  obj->path = session_path (name);
  obj->watch = wsb_hub_subscribe (srv->hub, name, "*", 0, 0, &watch_funcs, obj, NULL);
  if (!obj->watch || !wsb_hub_get_status (srv->hub, name, &obj->shown, NULL))
    {
      object_free (obj);
      return NULL;
    }
  obj->reg_id = g_dbus_connection_register_object (
      srv->conn, obj->path, wsb_dbus_session_interface_info (), &session_vtable, srv, NULL, &error);
  if (!obj->reg_id)
    wsb_session_log (name, G_LOG_LEVEL_WARNING, "D-Bus: %s: cannot export %s: %s", name,
                     obj->path, error->message);
  g_hash_table_insert (srv->objects, obj->name, obj);
  g_hash_table_insert (srv->by_path, obj->path, obj);
  if (obj->reg_id)
    emit_manager_signal (srv, "SessionAdded", obj);
  return obj;
}

void
wsb_dbus_server_sync (WsbDBusServer *srv)
{
  g_autoptr (GPtrArray) list = NULL;

  if (!srv->conn)
    return;
  list = wsb_hub_list_status (srv->hub);
  for (guint i = 0; i < list->len; i++)
    object_ensure (srv, ((WsbSessionStatus *) g_ptr_array_index (list, i))->name);
}

/* A send of any API ended: TxMessages and QueuedMessages changed. */
static void
on_send_outcome (const char *session, guint64 id, WsbSendResult result, const char *reason,
                 gpointer data)
{
  WsbDBusServer *srv = data;
  SessionObject *obj = g_hash_table_lookup (srv->objects, session);

  if (obj)
    mark_dirty (obj);
}

static void
on_session_added (const char *session, gpointer data)
{
  WsbDBusServer *srv = data;

  if (srv->conn)
    object_ensure (srv, session);
}

static void
on_session_changed (const char *session, gpointer data)
{
  WsbDBusServer *srv = data;
  SessionObject *obj = g_hash_table_lookup (srv->objects, session);

  if (obj)
    mark_dirty (obj);
}

static const WsbHubSessionFuncs session_funcs = {
  .added = on_session_added,
  .changed = on_session_changed,
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

static void
caller_free (Caller *c)
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

/* Whether sender may use session name (NULL: create sessions). Only the
 * system bus has other users on it: there the system instance checks
 * access.c's rules and a user instance admits its own uid and root. */
static gboolean
may_use (WsbDBusServer *srv, const char *sender, const char *name, GError **error)
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
  clear_cache (srv);
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

static void
subscribe (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv, GVariant *params)
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
  cs->sub = wsb_hub_subscribe (srv->hub, obj->name, channel, since_seq, epoch,
                               &sub_funcs, cs, &error);
  if (!cs->sub)
    {
      caller_sub_free (cs);
      return_error (inv, error);
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

static void
unsubscribe (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv, GVariant *params)
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

/* ------------------------------------------------------- session methods */

static void
send_message (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv, GVariant *params,
              gboolean binary)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) data = NULL;
  const guint8 *bytes;
  gsize len;
  guint64 id = 0;

  g_variant_get_child (params, 0, binary ? "@ay" : "@s", &data);
  if (binary)
    bytes = g_variant_get_fixed_array (data, &len, 1);
  else
    bytes = (const guint8 *) g_variant_get_string (data, &len);
  if (!wsb_hub_send (srv->hub, obj->name, bytes, len, binary, 0, &id, &error))
    {
      return_error (inv, error);
      return;
    }
  mark_dirty (obj);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(t)", id));
}

typedef gboolean (*SessionOp) (WsbHub *hub, const char *name, GError **error);

static void
session_op (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv, SessionOp op)
{
  g_autoptr (GError) error = NULL;

  if (!op (srv->hub, obj->name, &error))
    return_error (inv, error);
  else
    g_dbus_method_invocation_return_value (inv, NULL);
}

static void
session_method_call (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                     const char *method, GVariant *params, GDBusMethodInvocation *inv,
                     gpointer data)
{
  WsbDBusServer *srv = data;
  g_autoptr (GError) error = NULL;
  SessionObject *obj = g_hash_table_lookup (srv->by_path, path);

  if (!obj)
    {
      g_dbus_method_invocation_return_error (inv, WSB_ERROR, WSB_ERROR_NOT_FOUND,
                                             "the session of %s is gone", path);
      return;
    }
  if (!may_use (srv, sender, obj->name, &error))
    {
      wsb_session_log (obj->name, G_LOG_LEVEL_MESSAGE, "D-Bus: caller %s: denied: %s", sender,
                       error->message);
      return_error (inv, error);
      return;
    }
  if (g_str_equal (method, "Connect"))
    session_op (srv, obj, inv, wsb_hub_connect);
  else if (g_str_equal (method, "Disconnect"))
    session_op (srv, obj, inv, wsb_hub_disconnect);
  else if (g_str_equal (method, "Send"))
    send_message (srv, obj, inv, params, FALSE);
  else if (g_str_equal (method, "SendBinary"))
    send_message (srv, obj, inv, params, TRUE);
  else if (g_str_equal (method, "Subscribe"))
    subscribe (srv, obj, inv, params);
  else if (g_str_equal (method, "Unsubscribe"))
    unsubscribe (srv, obj, inv, params);
  else
    g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "no method %s", method);
}

/* Read from the hub at each Get: never stale, even between the rate-limited
 * PropertiesChanged of counters. */
static GVariant *
session_get_property (GDBusConnection *conn, const char *sender, const char *path,
                      const char *iface, const char *prop, GError **error, gpointer data)
{
  WsbDBusServer *srv = data;
  SessionObject *obj = g_hash_table_lookup (srv->by_path, path);
  WsbSessionStatus st = { 0 };
  GVariant *value = NULL;

  if (!obj)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_NOT_FOUND, "the session of %s is gone", path);
      return NULL;
    }
  if (!may_use (srv, sender, obj->name, error)
      || !wsb_hub_get_status (srv->hub, obj->name, &st, error))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (prop_names); i++)
    if (g_str_equal (prop, prop_names[i]))
      value = prop_value (&st, i);
  wsb_session_status_clear (&st);
  if (!value)
    g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", prop);
  return value;
}

static const GDBusInterfaceVTable session_vtable = {
  .method_call = session_method_call,
  .get_property = session_get_property,
};

/* ------------------------------------------------------- manager methods */

static void
list_sessions (WsbDBusServer *srv, const char *sender, GDBusMethodInvocation *inv)
{
  g_autoptr (GPtrArray) list = wsb_hub_list_status (srv->hub);
  GVariantBuilder paths;

  g_variant_builder_init (&paths, G_VARIANT_TYPE ("ao"));
  for (guint i = 0; i < list->len; i++)
    {
      const char *name = ((WsbSessionStatus *) g_ptr_array_index (list, i))->name;
      SessionObject *obj = object_ensure (srv, name);

      /* The system instance lists only what the caller may use. */
      if (obj && may_use (srv, sender, name, NULL))
        g_variant_builder_add (&paths, "o", obj->path);
    }
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(ao)", &paths));
}

static void
get_session (WsbDBusServer *srv, const char *sender, GDBusMethodInvocation *inv, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  const char *name;
  SessionObject *obj;

  g_variant_get (params, "(&s)", &name);
  if (!may_use (srv, sender, name, &error))
    {
      return_error (inv, error);
      return;
    }
  obj = object_ensure (srv, name);
  if (!obj)
    {
      g_dbus_method_invocation_return_error (inv, WSB_ERROR, WSB_ERROR_NOT_FOUND,
                                             "no session named '%s'", name);
      return;
    }
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(o)", obj->path));
}

/* An option of CreateSession as the text a configuration file would hold. */
static char *
option_text (const char *key, GVariant *value, GError **error)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return g_strdup (g_variant_get_boolean (value) ? "true" : "false");
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32)
      || g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32)
      || g_variant_is_of_type (value, G_VARIANT_TYPE_INT64)
      || g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_print (value, FALSE);
  g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
               "option '%s' is of type '%s'; give it as a string, as in a configuration file", key,
               g_variant_get_type_string (value));
  return NULL;
}

static void
create_session (WsbDBusServer *srv, const char *sender, GDBusMethodInvocation *inv,
                GVariant *params)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  const char *name, *url, *key;
  gboolean persist = FALSE;
  GVariant *value;
  SessionObject *obj;

  if (!may_use (srv, sender, NULL, &error))
    {
      g_message ("D-Bus: caller %s: denied: %s", sender, error->message);
      return_error (inv, error);
      return;
    }
  g_variant_get (params, "(&s&sa{sv})", &name, &url, &iter);
  while (g_variant_iter_loop (iter, "{&sv}", &key, &value))
    {
      char *text;

      if (g_str_equal (key, "persist"))
        {
          if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
            {
              g_dbus_method_invocation_return_error (
                  inv, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                  "option 'persist' must be a boolean, not of type '%s'",
                  g_variant_get_type_string (value));
              g_variant_unref (value);
              return;
            }
          persist = g_variant_get_boolean (value);
          continue;
        }
      text = option_text (key, value, &error);
      if (!text)
        {
          return_error (inv, error);
          g_variant_unref (value);
          return;
        }
      g_ptr_array_add (keys, (gpointer) key);
      g_ptr_array_add (values, text);
    }
  if (!wsb_hub_create_session (srv->hub, name, url, (const char *const *) keys->pdata,
                               (const char *const *) values->pdata, keys->len, persist, &error))
    {
      return_error (inv, error);
      return;
    }
  obj = object_ensure (srv, name);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(o)", obj->path));
}

static void
remove_session (WsbDBusServer *srv, const char *sender, GDBusMethodInvocation *inv,
                GVariant *params)
{
  g_autoptr (GError) error = NULL;
  const char *name;

  g_variant_get (params, "(&s)", &name);
  /* Its object, if it never had one, is made first: SessionRemoved names it. */
  object_ensure (srv, name);
  if (!may_use (srv, sender, name, &error) || !wsb_hub_remove_session (srv->hub, name, &error))
    {
      return_error (inv, error);
      return;
    }
  g_dbus_method_invocation_return_value (inv, NULL);
}

static void
manager_method_call (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                     const char *method, GVariant *params, GDBusMethodInvocation *inv,
                     gpointer data)
{
  WsbDBusServer *srv = data;

  if (g_str_equal (method, "ListSessions"))
    list_sessions (srv, sender, inv);
  else if (g_str_equal (method, "GetSession"))
    get_session (srv, sender, inv, params);
  else if (g_str_equal (method, "CreateSession"))
    create_session (srv, sender, inv, params);
  else if (g_str_equal (method, "RemoveSession"))
    remove_session (srv, sender, inv, params);
  else
    g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "no method %s", method);
}

static const GDBusInterfaceVTable manager_vtable = {
  .method_call = manager_method_call,
};

/* ------------------------------------------------------------- the bus */

/* Everything that lives on the connection; the server stays, serving no bus. */
static void
drop_bus (WsbDBusServer *srv)
{
  if (!srv->conn)
    return;
  g_hash_table_remove_all (srv->callers);
  g_hash_table_remove_all (srv->by_path);
  g_hash_table_remove_all (srv->objects);
  clear_cache (srv);
  if (srv->manager_reg_id)
    g_dbus_connection_unregister_object (srv->conn, srv->manager_reg_id);
  srv->manager_reg_id = 0;
  if (srv->own_id)
    g_bus_unown_name (srv->own_id);
  srv->own_id = 0;
  srv->name_state = WSB_DBUS_NAME_NOT_OWNED;
  g_signal_handler_disconnect (srv->conn, srv->closed_id);
  g_clear_object (&srv->conn);
}

static void
on_closed (GDBusConnection *conn, gboolean remote_peer_vanished, GError *error, gpointer data)
{
  WsbDBusServer *srv = data;

  g_warning ("lost the connection to the D-Bus %s bus (%s); the socket API keeps working",
             bus_type_name (srv->bus_type), error ? error->message : "closed");
  drop_bus (srv);
}

static void
on_name_acquired (GDBusConnection *conn, const char *name, gpointer data)
{
  WsbDBusServer *srv = data;

  srv->name_state = WSB_DBUS_NAME_OWNED;
  g_message ("serving D-Bus name %s on the %s bus", name, bus_type_name (srv->bus_type));
}

static void
on_name_lost (GDBusConnection *conn, const char *name, gpointer data)
{
  WsbDBusServer *srv = data;
  gboolean had_it = srv->name_state == WSB_DBUS_NAME_OWNED;

  srv->name_state = WSB_DBUS_NAME_NOT_OWNED;
  if (!conn || g_dbus_connection_is_closed (conn))
    return; /* on_closed tells */
  if (had_it)
    {
      g_message ("another wsbridged took over the D-Bus name %s (--replace)", name);
      if (srv->replaced_func)
        srv->replaced_func (srv->replaced_data);
      return;
    }
  g_warning ("cannot own the D-Bus name %s on the %s bus (another wsbridged?); the socket "
             "API keeps working",
             name, bus_type_name (srv->bus_type));
}

WsbDBusNameState
wsb_dbus_server_get_name_state (WsbDBusServer *srv)
{
  return srv->name_state;
}

void
wsb_dbus_server_set_replaced_func (WsbDBusServer *srv, GSourceFunc func, gpointer data)
{
  srv->replaced_func = func;
  srv->replaced_data = data;
}

void
wsb_dbus_server_start (WsbDBusServer *srv, GBusType bus_type, gboolean replace)
{
  GBusNameOwnerFlags flags = G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT;

  g_autoptr (GError) error = NULL;
  g_autofree char *address = NULL;

  srv->bus_type = bus_type;
  srv->name_state = WSB_DBUS_NAME_NOT_OWNED;
  /* A connection of our own, not the process-wide shared one, so that
   * freeing the server closes it. */
  address = g_dbus_address_get_for_bus_sync (bus_type, NULL, &error);
  if (address)
    srv->conn = g_dbus_connection_new_for_address_sync (
        address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
            | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
        NULL, NULL, &error);
  if (!srv->conn)
    {
      g_warning ("cannot connect to the D-Bus %s bus: %s; serving the socket API only",
                 bus_type_name (bus_type), error->message);
      return;
    }
  g_dbus_connection_set_exit_on_close (srv->conn, FALSE);
  srv->closed_id = g_signal_connect (srv->conn, "closed", G_CALLBACK (on_closed), srv);
  srv->manager_reg_id = g_dbus_connection_register_object (srv->conn, MANAGER_PATH,
                                                           wsb_dbus_manager_interface_info (),
                                                           &manager_vtable, srv, NULL, &error);
  if (!srv->manager_reg_id)
    {
      g_warning ("cannot export %s on the D-Bus %s bus: %s; serving the socket API only",
                 MANAGER_PATH, bus_type_name (bus_type), error->message);
      drop_bus (srv);
      return;
    }
  wsb_dbus_server_sync (srv);
  if (replace)
    flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
  srv->name_state = WSB_DBUS_NAME_PENDING;
  srv->own_id = g_bus_own_name_on_connection (srv->conn, BUS_NAME, flags, on_name_acquired,
                                              on_name_lost, srv, NULL);
}

WsbDBusServer *
wsb_dbus_server_new (WsbHub *hub, const WsbDaemonConfig *cfg, gboolean system)
{
  WsbDBusServer *srv = g_new0 (WsbDBusServer, 1);

  srv->hub = hub;
  srv->cfg = *cfg;
  srv->system = system;
  srv->objects
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) object_free);
  srv->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  srv->callers
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) caller_free);
  srv->dirty = g_ptr_array_new ();
  wsb_hub_add_outcome_listener (hub, on_send_outcome, srv);
  wsb_hub_add_session_listener (hub, &session_funcs, srv);
  return srv;
}

void
wsb_dbus_server_free (WsbDBusServer *srv)
{
  if (!srv)
    return;
  if (srv->conn)
    {
      g_autoptr (GDBusConnection) conn = g_object_ref (srv->conn);

      drop_bus (srv);
      g_dbus_connection_close_sync (conn, NULL, NULL);
    }
  if (srv->flush_id)
    g_source_remove (srv->flush_id);
  wsb_hub_remove_outcome_listener (srv->hub, on_send_outcome, srv);
  wsb_hub_remove_session_listener (srv->hub, &session_funcs, srv);
  g_hash_table_unref (srv->callers);
  g_hash_table_unref (srv->by_path);
  g_hash_table_unref (srv->objects);
  g_ptr_array_unref (srv->dirty);
  g_free (srv);
}
