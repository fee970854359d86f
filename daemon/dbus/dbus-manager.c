/* The manager object (MANAGER_PATH): ListSessions, GetSession,
 * CreateSession and RemoveSession. Its SessionAdded and SessionRemoved
 * signals go out as session objects come and go (dbus-session.c). */
#include "dbus-server-private.h"

#include "wsb-error.h"

/* ------------------------------------------------------- manager methods */

static void
list_sessions (WsbDBusServer *srv, const WsbPeer *peer, GDBusMethodInvocation *inv)
{
  g_autoptr (GPtrArray) list = wsb_hub_list_status (srv->hub, peer);
  GVariantBuilder paths;

  g_variant_builder_init (&paths, G_VARIANT_TYPE ("ao"));
  for (guint i = 0; i < list->len; i++)
    {
      SessionObject *obj
          = wsb_dbus_object_ensure (srv, ((WsbSessionStatus *) g_ptr_array_index (list, i))->name);

      if (obj)
        g_variant_builder_add (&paths, "o", obj->path);
    }
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(ao)", &paths));
}

static void
get_session (WsbDBusServer *srv, const WsbPeer *peer, GDBusMethodInvocation *inv)
{
  g_autoptr (GError) error = NULL;
  WsbSessionStatus st = { 0 };
  const char *name;
  SessionObject *obj = NULL;

  g_variant_get (g_dbus_method_invocation_get_parameters (inv), "(&s)", &name);
  if (wsb_hub_get_status (srv->hub, peer, name, &st, &error))
    obj = wsb_dbus_object_ensure (srv, name);
  wsb_session_status_clear (&st);
  if (!obj)
    {
      wsb_dbus_return_error (inv, error);
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
create_session (WsbDBusServer *srv, const WsbPeer *peer, GDBusMethodInvocation *inv)
{
  GVariant *params = g_dbus_method_invocation_get_parameters (inv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  const char *name, *url, *key;
  gboolean persist = FALSE;
  GVariant *value;
  SessionObject *obj;

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
          wsb_dbus_return_error (inv, error);
          g_variant_unref (value);
          return;
        }
      g_ptr_array_add (keys, (gpointer) key);
      g_ptr_array_add (values, text);
    }
  if (!wsb_hub_create_session (srv->hub, peer, name, url, (const char *const *) keys->pdata,
                               (const char *const *) values->pdata, keys->len, persist, &error))
    {
      wsb_dbus_return_error (inv, error);
      return;
    }
  obj = wsb_dbus_object_ensure (srv, name);
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(o)", obj->path));
}

static void
remove_session (WsbDBusServer *srv, const WsbPeer *peer, GDBusMethodInvocation *inv)
{
  g_autoptr (GError) error = NULL;
  const char *name;

  g_variant_get (g_dbus_method_invocation_get_parameters (inv), "(&s)", &name);
  /* Its object, if it never had one, is made first: SessionRemoved names it. */
  if (wsb_hub_allows (srv->hub, peer, WSB_OP_REMOVE, name))
    wsb_dbus_object_ensure (srv, name);
  if (!wsb_hub_remove_session (srv->hub, peer, name, &error))
    {
      wsb_dbus_return_error (inv, error);
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
    wsb_dbus_with_peer (srv, inv, list_sessions);
  else if (g_str_equal (method, "GetSession"))
    wsb_dbus_with_peer (srv, inv, get_session);
  else if (g_str_equal (method, "CreateSession"))
    wsb_dbus_with_peer (srv, inv, create_session);
  else if (g_str_equal (method, "RemoveSession"))
    wsb_dbus_with_peer (srv, inv, remove_session);
  else
    g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "no method %s", method);
}

const GDBusInterfaceVTable *
wsb_dbus_manager_vtable (void)
{
  static const GDBusInterfaceVTable vtable = {
    .method_call = manager_method_call,
  };

  return &vtable;
}
