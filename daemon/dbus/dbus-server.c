/* The D-Bus frontend's server: its own connection to the bus, the name,
 * and what it follows of the hub (new sessions, changed counters).
 * dbus-server-private.h lists the other files. */
#include "dbus-server-private.h"

#include "wsb-dbus-generated.h"
#include "wsb-error.h"

static const char *
bus_type_name (GBusType type)
{
  return type == G_BUS_TYPE_SYSTEM ? "system" : "session";
}

void
wsb_dbus_return_error (GDBusMethodInvocation *inv, const GError *error)
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

void
wsb_dbus_server_sync (WsbDBusServer *srv)
{
  g_autoptr (GPtrArray) list = NULL;

  if (!srv->conn)
    return;
  list = wsb_hub_list_status (srv->hub, wsb_peer_daemon ());
  for (guint i = 0; i < list->len; i++)
    wsb_dbus_object_ensure (srv, ((WsbSessionStatus *) g_ptr_array_index (list, i))->name);
}

static void
on_session_added (const char *session, gpointer data)
{
  WsbDBusServer *srv = data;

  if (srv->conn)
    wsb_dbus_object_ensure (srv, session);
}

static void
on_session_changed (const char *session, gpointer data)
{
  WsbDBusServer *srv = data;
  SessionObject *obj = g_hash_table_lookup (srv->objects, session);

  if (obj)
    wsb_dbus_object_mark_dirty (obj);
}

static const WsbHubSessionFuncs session_funcs = {
  .added = on_session_added,
  .changed = on_session_changed,
};

/* A read from upstream has been fanned out: its batches go. */
static void
on_read_done (gpointer data)
{
  wsb_dbus_batch_send_all (data);
}

static const WsbHubFlushFuncs flush_funcs = {
  .flush = on_read_done,
};

/* ------------------------------------------------------------- the bus */

/* Everything that lives on the connection; the server stays, serving no bus. */
static void
drop_bus (WsbDBusServer *srv)
{
  if (!srv->conn)
    return;
  g_hash_table_remove_all (srv->callers);
  wsb_dbus_backlog_reset (srv);
  g_hash_table_remove_all (srv->by_path);
  g_hash_table_remove_all (srv->objects);
  wsb_dbus_clear_message_cache (srv);
  if (srv->manager_reg_id)
    g_dbus_connection_unregister_object (srv->conn, srv->manager_reg_id);
  srv->manager_reg_id = 0;
  if (srv->sessions_reg_id)
    g_dbus_connection_unregister_subtree (srv->conn, srv->sessions_reg_id);
  srv->sessions_reg_id = 0;
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

void
wsb_dbus_server_stop (WsbDBusServer *srv)
{
  drop_bus (srv);
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

gboolean
wsb_dbus_server_serve (WsbDBusServer *srv, GDBusConnection *conn, GBusType bus_type, GError **error)
{
  g_return_val_if_fail (!srv->conn, FALSE);
  srv->bus_type = bus_type;
  srv->conn = g_object_ref (conn);
  g_dbus_connection_set_exit_on_close (srv->conn, FALSE);
  srv->closed_id = g_signal_connect (srv->conn, "closed", G_CALLBACK (on_closed), srv);
  srv->manager_reg_id = g_dbus_connection_register_object (
      srv->conn, MANAGER_PATH, wsb_dbus_manager_interface_info (), wsb_dbus_manager_vtable (), srv,
      NULL, error);
  if (srv->manager_reg_id)
    srv->sessions_reg_id = wsb_dbus_sessions_register (srv, error);
  if (!srv->sessions_reg_id)
    {
      drop_bus (srv);
      return FALSE;
    }
  wsb_dbus_server_sync (srv);
  return TRUE;
}

void
wsb_dbus_server_start (WsbDBusServer *srv, GBusType bus_type, gboolean replace)
{
  GBusNameOwnerFlags flags = G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT;

  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) conn = NULL;
  g_autofree char *address = NULL;

  srv->bus_type = bus_type;
  srv->name_state = WSB_DBUS_NAME_NOT_OWNED;
  /* A connection of our own, not the process-wide shared one, so that
   * freeing the server closes it. */
  address = g_dbus_address_get_for_bus_sync (bus_type, NULL, &error);
  if (address)
    conn = g_dbus_connection_new_for_address_sync (
        address,
        G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
            | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
        NULL, NULL, &error);
  if (!conn)
    {
      g_warning ("cannot connect to the D-Bus %s bus: %s; serving the socket API only",
                 bus_type_name (bus_type), error->message);
      return;
    }
  if (!wsb_dbus_server_serve (srv, conn, bus_type, &error))
    {
      g_warning ("cannot export %s on the D-Bus %s bus: %s; serving the socket API only",
                 MANAGER_PATH, bus_type_name (bus_type), error->message);
      return;
    }
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
  srv->objects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) wsb_dbus_object_free);
  srv->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  srv->callers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) wsb_dbus_caller_free);
  srv->dirty = g_ptr_array_new ();
  srv->batching = g_ptr_array_new ();
  srv->session_listener = wsb_hub_add_session_listener (hub, &session_funcs, srv);
  srv->flush_listener = wsb_hub_add_flush_listener (hub, &flush_funcs, srv);
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
  wsb_hub_remove_session_listener (srv->hub, srv->session_listener);
  wsb_hub_remove_flush_listener (srv->hub, srv->flush_listener);
  g_hash_table_unref (srv->callers);
  g_hash_table_unref (srv->by_path);
  g_hash_table_unref (srv->objects);
  g_ptr_array_unref (srv->dirty);
  wsb_dbus_batch_server_free (srv);
  g_free (srv);
}
