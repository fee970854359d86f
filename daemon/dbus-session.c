/* One exported object per session (SESSION_PATH_PREFIX + its escaped name):
 * its properties, read from the hub at each Get and announced by
 * PropertiesChanged (state changes at once, counters coalesced), and its
 * methods. Subscribe and Unsubscribe belong to the caller (dbus-caller.c). */
#include "dbus-server-private.h"

#include "log.h"
#include "wsb-dbus-generated.h"
#include "wsb-error.h"

/* Counters (RxMessages, LastSeq, ...) change with every message: their
 * PropertiesChanged go out at most this often, for all sessions at once. */
#define COUNTERS_INTERVAL_MS 500

char *
wsb_dbus_session_path (const char *name)
{
  GString *s = g_string_new (SESSION_PATH_PREFIX);

  for (const char *p = name; *p; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (s, *p);
    else
      g_string_append_printf (s, "_%02x", (guchar) *p);
  return g_string_free (s, FALSE);
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

/* Shown within COUNTERS_INTERVAL_MS; the one timer runs only while
 * something changes. */
void
wsb_dbus_object_mark_dirty (SessionObject *obj)
{
  WsbDBusServer *srv = obj->srv;

  if (obj->dirty)
    return;
  obj->dirty = TRUE;
  g_ptr_array_add (srv->dirty, obj);
  if (!srv->flush_id)
    srv->flush_id = g_timeout_add (COUNTERS_INTERVAL_MS, flush_counters, srv);
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
      wsb_dbus_return_error (inv, error);
      return;
    }
  wsb_dbus_object_mark_dirty (obj);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(t)", id));
}

typedef gboolean (*SessionOp) (WsbHub *hub, const char *name, GError **error);

static void
session_op (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv, SessionOp op)
{
  g_autoptr (GError) error = NULL;

  if (!op (srv->hub, obj->name, &error))
    wsb_dbus_return_error (inv, error);
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
  if (!wsb_dbus_may_use (srv, sender, obj->name, &error))
    {
      wsb_session_log (obj->name, G_LOG_LEVEL_MESSAGE, "D-Bus: caller %s: denied: %s", sender,
                       error->message);
      wsb_dbus_return_error (inv, error);
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
    wsb_dbus_subscribe (srv, obj, inv, params);
  else if (g_str_equal (method, "Unsubscribe"))
    wsb_dbus_unsubscribe (srv, obj, inv, params);
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
  if (!wsb_dbus_may_use (srv, sender, obj->name, error)
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

/* ------------------------------------------------------- session objects */

static void object_remove (SessionObject *obj);

static void
on_watch_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  wsb_dbus_object_mark_dirty (data);
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

void
wsb_dbus_object_free (SessionObject *obj)
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
  wsb_dbus_object_free (obj);
}

SessionObject *
wsb_dbus_object_ensure (WsbDBusServer *srv, const char *name)
{
  g_autoptr (GError) error = NULL;
  SessionObject *obj = g_hash_table_lookup (srv->objects, name);

  if (obj)
    return obj;
  obj = g_new0 (SessionObject, 1);
  obj->srv = srv;
  obj->name = g_strdup (name);
  obj->path = wsb_dbus_session_path (name);
  obj->watch = wsb_hub_subscribe (srv->hub, name, "*", 0, 0, &watch_funcs, obj, NULL);
  if (!obj->watch || !wsb_hub_get_status (srv->hub, name, &obj->shown, NULL))
    {
      wsb_dbus_object_free (obj);
      return NULL;
    }
  obj->reg_id = g_dbus_connection_register_object (
      srv->conn, obj->path, wsb_dbus_session_interface_info (), &session_vtable, srv, NULL, &error);
  if (!obj->reg_id)
    wsb_session_log (name, G_LOG_LEVEL_WARNING, "D-Bus: %s: cannot export %s: %s", name, obj->path,
                     error->message);
  g_hash_table_insert (srv->objects, obj->name, obj);
  g_hash_table_insert (srv->by_path, obj->path, obj);
  if (obj->reg_id)
    emit_manager_signal (srv, "SessionAdded", obj);
  return obj;
}
