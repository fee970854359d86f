/* One object per session (SESSION_PATH_PREFIX + its escaped name), served
 * as nodes of one subtree: its properties, read from the hub at each Get
 * and announced by PropertiesChanged (state changes at once, counters
 * coalesced) to the callers that may use it, and its methods. Subscribe and
 * Unsubscribe belong to the caller (dbus-caller.c). */
#include "dbus-server-private.h"

#include <string.h>

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
  to->close_reason = g_strdup (from->close_reason);
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
  wsb_dbus_emit_to_allowed (srv, obj->watch, obj->path, "org.freedesktop.DBus.Properties",
                            "PropertiesChanged",
                            g_variant_new ("(sa{sv}as)", SESSION_IFACE, &changed, NULL));
}

static void
show_current (SessionObject *obj)
{
  WsbSessionStatus st = { 0 };

  wsb_subscription_get_status (obj->watch, &st);
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

/* The name a path element stands for (wsb_dbus_session_path undone). */
static char *
path_name (const char *path)
{
  const char *p
      = g_str_has_prefix (path, SESSION_PATH_PREFIX) ? path + strlen (SESSION_PATH_PREFIX) : path;
  GString *s = g_string_new (NULL);

  for (; *p; p++)
    if (*p == '_' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]))
      {
        g_string_append_c (s,
                           (char) (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2])));
        p += 2;
      }
    else
      g_string_append_c (s, *p);
  return g_string_free (s, FALSE);
}

/* What a caller is told of a path with no session: the hub's words for a
 * session that does not exist, or that it may not use. */
static void
return_not_found (GDBusMethodInvocation *inv)
{
  g_autofree char *name = path_name (g_dbus_method_invocation_get_object_path (inv));
  g_autofree char *shown = g_utf8_make_valid (name, MIN (strlen (name), 80));

  g_dbus_method_invocation_return_error (inv, WSB_ERROR, WSB_ERROR_NOT_FOUND,
                                         "no session named '%s'", shown);
}

static void
send_message (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
              GDBusMethodInvocation *inv, GVariant *params, gboolean binary)
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
  if (!wsb_hub_send (srv->hub, peer, obj->name, bytes, len, binary, 0, NULL, NULL, NULL, &id,
                     &error))
    {
      wsb_dbus_return_error (inv, error);
      return;
    }
  wsb_dbus_object_mark_dirty (obj);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(t)", id));
}

typedef gboolean (*SessionOp) (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error);

static void
session_op (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj, GDBusMethodInvocation *inv,
            SessionOp op)
{
  g_autoptr (GError) error = NULL;

  if (!op (srv->hub, peer, obj->name, &error))
    wsb_dbus_return_error (inv, error);
  else
    g_dbus_method_invocation_return_value (inv, NULL);
}

/* org.freedesktop.DBus.Properties Get, GetAll and Set, read from the hub at
 * each call: never stale, even between the rate-limited PropertiesChanged
 * of counters. Asynchronous like every method (the caller may not be known
 * yet), so GDBus hands them to session_call. */
static void
properties_call (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
                 GDBusMethodInvocation *inv, const char *method, GVariant *params)
{
  g_autoptr (GError) error = NULL;
  WsbSessionStatus st = { 0 };
  const char *iface, *prop = NULL;

  if (!wsb_hub_get_status (srv->hub, peer, obj->name, &st, &error))
    {
      wsb_dbus_return_error (inv, error);
      return;
    }
  if (g_str_equal (method, "Get"))
    g_variant_get (params, "(&s&s)", &iface, &prop);
  if (g_str_equal (method, "GetAll"))
    {
      GVariantBuilder all;

      g_variant_builder_init (&all, G_VARIANT_TYPE_VARDICT);
      for (guint i = 0; i < G_N_ELEMENTS (prop_names); i++)
        g_variant_builder_add (&all, "{sv}", prop_names[i], prop_value (&st, i));
      g_dbus_method_invocation_return_value (inv, g_variant_new ("(a{sv})", &all));
    }
  else if (prop)
    {
      GVariant *value = NULL;

      for (guint i = 0; i < G_N_ELEMENTS (prop_names); i++)
        if (g_str_equal (prop, prop_names[i]))
          value = prop_value (&st, i);
      if (value)
        g_dbus_method_invocation_return_value (inv, g_variant_new ("(v)", value));
      else
        g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
                                               "no property %s", prop);
    }
  else
    g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY,
                                           "the properties of %s are read-only", SESSION_IFACE);
  wsb_session_status_clear (&st);
}

static void
session_call (WsbDBusServer *srv, const WsbPeer *peer, GDBusMethodInvocation *inv)
{
  SessionObject *obj
      = g_hash_table_lookup (srv->by_path, g_dbus_method_invocation_get_object_path (inv));
  const char *method = g_dbus_method_invocation_get_method_name (inv);
  GVariant *params = g_dbus_method_invocation_get_parameters (inv);

  if (!obj)
    return_not_found (inv);
  else if (g_str_equal (g_dbus_method_invocation_get_interface_name (inv),
                        "org.freedesktop.DBus.Properties"))
    properties_call (srv, peer, obj, inv, method, params);
  else if (g_str_equal (method, "Connect"))
    session_op (srv, peer, obj, inv, wsb_hub_connect);
  else if (g_str_equal (method, "Disconnect"))
    session_op (srv, peer, obj, inv, wsb_hub_disconnect);
  else if (g_str_equal (method, "Send"))
    send_message (srv, peer, obj, inv, params, FALSE);
  else if (g_str_equal (method, "SendBinary"))
    send_message (srv, peer, obj, inv, params, TRUE);
  else if (g_str_equal (method, "Subscribe"))
    wsb_dbus_subscribe (srv, peer, obj, inv, params);
  else if (g_str_equal (method, "SubscribeWithOptions"))
    wsb_dbus_subscribe_with_options (srv, peer, obj, inv, params);
  else if (g_str_equal (method, "Unsubscribe"))
    {
      /* One who may not use it learns nothing, not even what it holds. */
      if (wsb_hub_allows (srv->hub, peer, WSB_OP_SUBSCRIBE, obj->name))
        wsb_dbus_unsubscribe (srv, obj, inv, params);
      else
        return_not_found (inv);
    }
  else
    g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "no method %s", method);
}

static void
session_method_call (GDBusConnection *conn, const char *sender, const char *path, const char *iface,
                     const char *method, GVariant *params, GDBusMethodInvocation *inv,
                     gpointer data)
{
  wsb_dbus_with_peer (data, inv, session_call);
}

/* No get_property: Get and GetAll come to session_method_call. */
static const GDBusInterfaceVTable session_vtable = {
  .method_call = session_method_call,
};

/* ----------------------------------------------------- the session subtree */

/* The nodes a caller sees: the sessions it may use, once it is known. */
static char **
subtree_enumerate (GDBusConnection *conn, const char *sender, const char *object_path,
                   gpointer data)
{
  WsbDBusServer *srv = data;
  const WsbPeer *peer = wsb_dbus_known_peer (srv, sender);
  g_autoptr (GPtrArray) list = peer ? wsb_hub_list_status (srv->hub, peer) : NULL;
  GPtrArray *nodes = g_ptr_array_new ();

  for (guint i = 0; list && i < list->len; i++)
    {
      g_autofree char *path
          = wsb_dbus_session_path (((WsbSessionStatus *) g_ptr_array_index (list, i))->name);
      g_ptr_array_add (nodes, g_strdup (path + strlen (SESSION_PATH_PREFIX)));
    }
  g_ptr_array_add (nodes, NULL);
  return (char **) g_ptr_array_free (nodes, FALSE);
}

/* Every node has the session interface, whether a session is there or the
 * caller may use it or not: the answer says nothing of either. */
static GDBusInterfaceInfo **
subtree_introspect (GDBusConnection *conn, const char *sender, const char *object_path,
                    const char *node, gpointer data)
{
  GDBusInterfaceInfo **infos;

  if (!node)
    return NULL;
  infos = g_new0 (GDBusInterfaceInfo *, 2);
  infos[0] = g_dbus_interface_info_ref (wsb_dbus_session_interface_info ());
  return infos;
}

static const GDBusInterfaceVTable *
subtree_dispatch (GDBusConnection *conn, const char *sender, const char *object_path,
                  const char *iface, const char *node, gpointer *out_data, gpointer data)
{
  *out_data = data;
  return node ? &session_vtable : NULL;
}

guint
wsb_dbus_sessions_register (WsbDBusServer *srv, GError **error)
{
  static const GDBusSubtreeVTable vtable = {
    .enumerate = subtree_enumerate,
    .introspect = subtree_introspect,
    .dispatch = subtree_dispatch,
  };
  g_autofree char *root = g_strndup (SESSION_PATH_PREFIX, strlen (SESSION_PATH_PREFIX) - 1);

  return g_dbus_connection_register_subtree (srv->conn, root, &vtable,
                                             G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                             srv, NULL, error);
}

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
  object_remove (data);
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
  wsb_dbus_emit_to_allowed (srv, obj->watch, MANAGER_PATH, MANAGER_IFACE, signal_name,
                            g_variant_new ("(so)", obj->name, obj->path));
}

/* From its watch's ended callback: the watch still tells who may know. */
static void
object_remove (SessionObject *obj)
{
  WsbDBusServer *srv = obj->srv;

  wsb_session_log (obj->name, G_LOG_LEVEL_DEBUG, "D-Bus: %s: object %s removed", obj->name,
                   obj->path);
  g_hash_table_steal (srv->objects, obj->name);
  g_hash_table_steal (srv->by_path, obj->path);
  if (obj->announced)
    emit_manager_signal (srv, "SessionRemoved", obj);
  obj->watch = NULL;
  wsb_dbus_object_free (obj);
}

SessionObject *
wsb_dbus_object_ensure (WsbDBusServer *srv, const char *name)
{
  SessionObject *obj = g_hash_table_lookup (srv->objects, name);

  if (obj)
    return obj;
  obj = g_new0 (SessionObject, 1);
  obj->srv = srv;
  obj->name = g_strdup (name);
  obj->path = wsb_dbus_session_path (name);
  obj->watch
      = wsb_hub_subscribe (srv->hub, wsb_peer_daemon (), name, "*", 0, 0, &watch_funcs, obj, NULL);
  if (!obj->watch)
    {
      wsb_dbus_object_free (obj);
      return NULL;
    }
  wsb_subscription_get_status (obj->watch, &obj->shown);
  g_hash_table_insert (srv->objects, obj->name, obj);
  g_hash_table_insert (srv->by_path, obj->path, obj);
  obj->announced = srv->conn != NULL;
  if (obj->announced)
    emit_manager_signal (srv, "SessionAdded", obj);
  return obj;
}
