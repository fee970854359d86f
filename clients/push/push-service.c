#include "push-service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "push-deliver.h"
#include "push-feed.h"
#include "push-ntfy.h"
#include "push-store.h"

#define OBJECT_PATH "/org/unifiedpush/Distributor"
#define MAX_TOKEN 100
#define MAX_TEXT 1000

#define SUCCEEDED "REGISTRATION_SUCCEEDED"
#define FAILED "REGISTRATION_FAILED"

static const char INTROSPECTION[]
    = "<node>"
      "  <interface name='org.unifiedpush.Distributor1'>"
      "    <method name='Register'>"
      "      <arg name='serviceName' type='s' direction='in'/>"
      "      <arg name='token' type='s' direction='in'/>"
      "      <arg name='description' type='s' direction='in'/>"
      "      <arg name='registrationResult' type='s' direction='out'/>"
      "      <arg name='registrationResultReason' type='s' direction='out'/>"
      "    </method>"
      "    <method name='Unregister'>"
      "      <arg name='token' type='s' direction='in'/>"
      "    </method>"
      "  </interface>"
      "  <interface name='org.unifiedpush.Distributor2'>"
      "    <method name='Register'>"
      "      <arg name='args' type='a{sv}' direction='in'/>"
      "      <arg name='result' type='a{sv}' direction='out'/>"
      "    </method>"
      "    <method name='Unregister'>"
      "      <arg name='args' type='a{sv}' direction='in'/>"
      "      <arg name='result' type='a{sv}' direction='out'/>"
      "    </method>"
      "  </interface>"
      "</node>";

struct _WsbPushService
{
  GDBusConnection *bus;
  char *server;
  WsbPushStore *store;
  WsbPushFeed *feed;
  WsbPushDeliver *deliver;
  GDBusNodeInfo *info;
  guint object_ids[2];
  char *socket_path;
  char *token_file;
};

typedef struct
{
  const char *service;
  const char *token;
  const char *description;
} RegisterArgs;

static void
save (WsbPushService *s)
{
  g_autoptr (GError) error = NULL;

  if (!wsb_push_store_save (s->store, &error))
    g_warning ("cannot keep the registrations: %s", error->message);
}

static void
update_topics (WsbPushService *s)
{
  g_autofree const char **topics = NULL;

  if (!s->feed)
    return; /* not started: wsb_push_service_start() applies them */
  topics = wsb_push_store_topics (s->store);

  wsb_push_feed_set_topics (s->feed, topics);
}

/* ---------------------------------------------------------------- stream */

static void
on_stream_message (const char *text, gsize len, gpointer data)
{
  WsbPushService *s = data;
  g_auto (WsbPushEvent) ev = { 0 };
  g_autoptr (GError) error = NULL;
  WsbPushReg *reg;

  if (!wsb_push_event_parse (text, len, &ev, &error))
    {
      g_warning ("push server stream: %s (%zu bytes) ignored", error->message, len);
      return;
    }
  if (ev.kind != WSB_PUSH_EVENT_MESSAGE)
    return;
  if (!wsb_push_store_take_id (s->store, ev.id))
    {
      g_debug ("message %s was taken already; skipped", ev.id);
      return;
    }
  reg = wsb_push_store_by_topic (s->store, ev.topic);
  if (!reg)
    {
      g_message ("message %s for a topic no longer registered dropped", ev.id);
      wsb_push_store_finish_id (s->store, ev.id);
      save (s);
      return;
    }
  reg->last_message = g_get_real_time () / G_USEC_PER_SEC;
  g_debug ("message %s (%zu bytes) for %s", ev.id, g_bytes_get_size (ev.data), reg->service);
  /* Saved when it is finished (on_finished). */
  wsb_push_deliver_message (s->deliver, reg->service, reg->version, reg->token, ev.id, ev.data);
}

static void
on_finished (const char *id, gpointer data)
{
  WsbPushService *s = data;

  if (wsb_push_store_finish_id (s->store, id))
    save (s);
}

static const char *
stream_since (gpointer data)
{
  WsbPushService *s = data;

  return wsb_push_store_last_id (s->store);
}

static const WsbPushFeedFuncs feed_funcs = {
  .message = on_stream_message,
  .since = stream_since,
};

/* ---------------------------------------------------------------- calls */

static gboolean refuse (GDBusMethodInvocation *inv, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GDBusMethodInvocation *inv, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_message ("%s from %s refused: %s", g_dbus_method_invocation_get_method_name (inv),
             g_dbus_method_invocation_get_sender (inv), msg);
  g_dbus_method_invocation_return_dbus_error (inv, "org.freedesktop.DBus.Error.InvalidArgs", msg);
  return FALSE;
}

static gboolean
check_token (GDBusMethodInvocation *inv, const char *token)
{
  if (!token)
    return refuse (inv, "no token");
  if (!*token || strlen (token) > MAX_TOKEN)
    return refuse (inv, "a token has 1 to %d bytes", MAX_TOKEN);
  return TRUE;
}

static gboolean
check_register (GDBusMethodInvocation *inv, const RegisterArgs *a)
{
  if (!a->service)
    return refuse (inv, "no service");
  if (!g_dbus_is_name (a->service) || g_dbus_is_unique_name (a->service))
    return refuse (inv, "the service is not a well-known bus name");
  if (!check_token (inv, a->token))
    return FALSE;
  if (strlen (a->description) > MAX_TEXT)
    return refuse (inv, "the description is over %d bytes", MAX_TEXT);
  return TRUE;
}

/* Registers, or registers again; *REASON is a v2 reason word, *WHY text. */
static WsbPushReg *
do_register (WsbPushService *s, const RegisterArgs *a, int version, const char **reason,
             const char **why)
{
  WsbPushReg *reg = wsb_push_store_by_token (s->store, a->token);
  g_autofree char *topic = NULL;
  g_autoptr (GError) error = NULL;

  if (!s->server)
    {
      *reason = "ACTION_REQUIRED";
      *why = "no push server configured (server= in push.conf)";
      return NULL;
    }
  if (reg && strcmp (reg->service, a->service) != 0)
    {
      *reason = "INTERNAL_ERROR";
      *why = "the token is registered by another app";
      return NULL;
    }
  if (reg)
    {
      g_free (reg->description);
      reg->description = g_strdup (a->description);
      reg->version = version;
      save (s);
      g_message ("%s registered again", a->service);
      return reg;
    }
  if (wsb_push_store_regs (s->store)->len >= WSB_PUSH_MAX_REGISTRATIONS)
    {
      *reason = "INTERNAL_ERROR";
      *why = "too many registrations";
      return NULL;
    }
  do
    {
      g_free (topic);
      topic = wsb_push_topic_new ();
    }
  while (wsb_push_store_by_topic (s->store, topic));
  reg = wsb_push_store_add (s->store, a->token, a->service, a->description, topic, version);
  if (!wsb_push_store_save (s->store, &error))
    {
      g_warning ("cannot keep the registration of %s: %s", a->service, error->message);
      wsb_push_store_remove (s->store, reg);
      *reason = "INTERNAL_ERROR";
      *why = "cannot keep the registration";
      return NULL;
    }
  g_message ("%s registered", a->service);
  update_topics (s);
  return reg;
}

static void
send_endpoint (WsbPushService *s, WsbPushReg *reg)
{
  g_autofree char *endpoint = wsb_push_endpoint (s->server, reg->topic);

  wsb_push_deliver_new_endpoint (s->deliver, reg->service, reg->version, reg->token, endpoint);
}

static void
do_unregister (WsbPushService *s, const char *token, int version)
{
  WsbPushReg *reg = wsb_push_store_by_token (s->store, token);
  g_autofree char *service = NULL;

  if (!reg)
    {
      g_debug ("Unregister of an unknown token ignored");
      return;
    }
  service = g_strdup (reg->service);
  g_message ("%s unregistered", service);
  wsb_push_store_remove (s->store, reg);
  save (s);
  update_topics (s);
  wsb_push_deliver_unregistered (s->deliver, service, version, token, TRUE);
}

static gboolean
lookup_string (GDBusMethodInvocation *inv, GVariant *dict, const char *key, const char **out)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (dict, key, NULL);

  *out = NULL;
  if (!v)
    return TRUE;
  if (!g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
    return refuse (inv, "\"%s\" is not a string", key);
  /* "&s" points into DICT, which lives as long as the call. */
  g_variant_lookup (dict, key, "&s", out);
  return TRUE;
}

static void
register_v1 (WsbPushService *s, GVariant *params, GDBusMethodInvocation *inv)
{
  RegisterArgs a;
  const char *reason, *why;
  WsbPushReg *reg;

  g_variant_get (params, "(&s&s&s)", &a.service, &a.token, &a.description);
  if (!check_register (inv, &a))
    return;
  reg = do_register (s, &a, 1, &reason, &why);
  if (!reg)
    {
      g_dbus_method_invocation_return_value (inv, g_variant_new ("(ss)", FAILED, why));
      return;
    }
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(ss)", SUCCEEDED, ""));
  send_endpoint (s, reg);
}

static void
register_v2 (WsbPushService *s, GVariant *params, GDBusMethodInvocation *inv)
{
  g_autoptr (GVariant) dict = g_variant_get_child_value (params, 0);
  RegisterArgs a;
  const char *vapid, *reason, *why;
  WsbPushReg *reg;
  GVariantBuilder b;

  if (!lookup_string (inv, dict, "service", &a.service)
      || !lookup_string (inv, dict, "token", &a.token)
      || !lookup_string (inv, dict, "description", &a.description)
      || !lookup_string (inv, dict, "vapid", &vapid))
    return;
  if (!a.description)
    a.description = "";
  if (!check_register (inv, &a))
    return;
  if (vapid && strlen (vapid) > MAX_TEXT)
    {
      refuse (inv, "the vapid key is over %d bytes", MAX_TEXT);
      return;
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  reg = do_register (s, &a, 2, &reason, &why);
  if (!reg)
    {
      g_message ("registration of %s failed: %s", a.service, why);
      g_variant_builder_add (&b, "{sv}", "success", g_variant_new_string (FAILED));
      g_variant_builder_add (&b, "{sv}", "reason", g_variant_new_string (reason));
      g_dbus_method_invocation_return_value (inv, g_variant_new ("(a{sv})", &b));
      return;
    }
  g_variant_builder_add (&b, "{sv}", "success", g_variant_new_string (SUCCEEDED));
  g_dbus_method_invocation_return_value (inv, g_variant_new ("(a{sv})", &b));
  send_endpoint (s, reg);
}

static void
on_method_call (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
  WsbPushService *s = data;
  gboolean v2 = strcmp (iface, "org.unifiedpush.Distributor2") == 0;

  if (strcmp (method, "Register") == 0)
    {
      if (v2)
        register_v2 (s, params, inv);
      else
        register_v1 (s, params, inv);
      return;
    }
  /* Unregister */
  if (v2)
    {
      g_autoptr (GVariant) dict = g_variant_get_child_value (params, 0);
      const char *token;

      if (!lookup_string (inv, dict, "token", &token) || !check_token (inv, token))
        return;
      do_unregister (s, token, 2);
      g_dbus_method_invocation_return_value (inv, g_variant_new_parsed ("(@a{sv} {},)"));
    }
  else
    {
      const char *token;

      g_variant_get (params, "(&s)", &token);
      if (!check_token (inv, token))
        return;
      do_unregister (s, token, 1);
      g_dbus_method_invocation_return_value (inv, NULL);
    }
}

static const GDBusInterfaceVTable vtable = { .method_call = on_method_call };

/* The app was uninstalled: its registration and topic go. */
static void
on_app_gone (const char *service, const char *token, gpointer data)
{
  WsbPushService *s = data;
  WsbPushReg *reg = wsb_push_store_by_token (s->store, token);

  if (!reg || strcmp (reg->service, service) != 0)
    return;
  g_warning ("%s can no longer be reached or started: its registration is removed", service);
  wsb_push_store_remove (s->store, reg);
  save (s);
  update_topics (s);
}

static const WsbPushDeliverFuncs deliver_funcs = {
  .finished = on_finished,
  .gone = on_app_gone,
};

/* ---------------------------------------------------------------- life */

/* A state file that cannot be understood is kept aside, not overwritten,
 * and the distributor starts empty: apps register again when they start. */
static WsbPushStore *
load_store (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  WsbPushStore *store = wsb_push_store_load (path, &local);
  g_autofree char *aside = NULL;

  if (store || !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    {
      if (!store)
        g_propagate_error (error, g_steal_pointer (&local));
      return store;
    }
  aside = g_strdup_printf ("%s.bad-%" G_GINT64_FORMAT, path, g_get_real_time () / G_USEC_PER_SEC);
  if (rename (path, aside) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s; and cannot move it aside: %s",
                   local->message, g_strerror (errno));
      return NULL;
    }
  g_warning ("%s; kept as %s, starting without registrations", local->message, aside);
  return wsb_push_store_load (path, error);
}

WsbPushService *
wsb_push_service_new (GDBusConnection *bus, const WsbPushConfig *cfg, const char *socket_path,
                      const char *state_path, GError **error)
{
  g_autoptr (WsbPushService) s = g_new0 (WsbPushService, 1);
  GPtrArray *regs;

  s->bus = g_object_ref (bus);
  s->server = g_strdup (cfg->server);
  s->info = g_dbus_node_info_new_for_xml (INTROSPECTION, error);
  if (!s->info)
    return NULL;
  s->store = load_store (state_path, error);
  if (!s->store)
    return NULL;
  regs = wsb_push_store_regs (s->store);
  g_message ("%u registration(s) in %s", regs->len, state_path);
  s->deliver = wsb_push_deliver_new (bus, cfg, &deliver_funcs, s);
  s->socket_path = g_strdup (socket_path);
  s->token_file = g_strdup (cfg->token_file);
  if (!s->server)
    g_warning ("no push server configured: set server= in the [push] group of push.conf; "
               "registrations fail until then");
  return g_steal_pointer (&s);
}

/* Endpoints are made from the server: when it changed since the last run,
 * every app gets its new endpoint (the specification asks for NewEndpoint
 * whenever the endpoint changes), and the stream starts over there. */
static void
follow_server (WsbPushService *s)
{
  g_autofree char *before = g_strdup (wsb_push_store_server (s->store));
  GPtrArray *regs = wsb_push_store_regs (s->store);

  if (g_strcmp0 (before, s->server) == 0)
    return;
  wsb_push_store_set_server (s->store, s->server);
  save (s);
  if (!before)
    return;
  g_message ("the push server changed from %s to %s: new endpoints for %u app(s)", before,
             s->server, regs->len);
  for (guint i = 0; i < regs->len; i++)
    send_endpoint (s, g_ptr_array_index (regs, i));
}

void
wsb_push_service_start (WsbPushService *s)
{
  if (s->feed || !s->server)
    return;
  follow_server (s);
  s->feed = wsb_push_feed_new (s->socket_path, s->server, s->token_file, &feed_funcs, s);
  update_topics (s);
}

gboolean
wsb_push_service_export (WsbPushService *s, GError **error)
{
  for (guint i = 0; i < 2; i++)
    {
      s->object_ids[i] = g_dbus_connection_register_object (
          s->bus, OBJECT_PATH, s->info->interfaces[i], &vtable, s, NULL, error);
      if (!s->object_ids[i])
        return FALSE;
    }
  return TRUE;
}

static gboolean
on_drain_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
wsb_push_service_drain (WsbPushService *s, guint timeout_ms)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (timeout_ms, on_drain_timeout, &expired);

  while (!expired && wsb_push_deliver_in_flight (s->deliver) > 0)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  else
    g_message ("stopping with %u message(s) unanswered: they come again at the next start",
               wsb_push_deliver_in_flight (s->deliver));
}

void
wsb_push_service_free (WsbPushService *s)
{
  if (!s)
    return;
  for (guint i = 0; i < 2; i++)
    if (s->object_ids[i])
      g_dbus_connection_unregister_object (s->bus, s->object_ids[i]);
  wsb_push_feed_free (s->feed);
  wsb_push_deliver_free (s->deliver);
  wsb_push_store_free (s->store);
  if (s->info)
    g_dbus_node_info_unref (s->info);
  g_free (s->server);
  g_free (s->socket_path);
  g_free (s->token_file);
  g_object_unref (s->bus);
  g_free (s);
}
