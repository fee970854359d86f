#include "push-deliver.h"

#include <string.h>

#define CONNECTOR_PATH "/org/unifiedpush/Connector"
#define RETRY_MAX_MS (5 * 60 * 1000)
/* How long the bus may take to start an app and the app to answer. */
#define CALL_TIMEOUT_MS 30000

typedef struct _App App;

typedef struct
{
  WsbPushDeliver *d;
  App *app; /* NULL once dropped */
  char *token;
  char *id;
  GBytes *data;
  int version;
  guint attempts;
  guint timer_id;   /* waiting to be tried again */
  gboolean in_call; /* a call is out */
  gboolean dropped; /* a call is out, but the message no longer counts */
} Pending;

struct _App
{
  WsbPushDeliver *d;
  char *service;
  GQueue pending; /* Pending, oldest first */
  gsize bytes;
};

struct _WsbPushDeliver
{
  GDBusConnection *bus;
  guint retry_initial_ms, retry_attempts, max_messages, max_bytes;
  GHashTable *apps; /* service -> App */
  const WsbPushDeliverFuncs *funcs;
  gpointer data;
  guint in_flight;
};

static void try_send (Pending *p);
static gboolean on_retry (gpointer data);

static void
pending_free (Pending *p)
{
  if (p->timer_id)
    g_source_remove (p->timer_id);
  g_free (p->token);
  g_free (p->id);
  g_bytes_unref (p->data);
  g_free (p);
}

static void
app_free (App *a)
{
  /* Calls still out keep their Pending; mark them so their reply frees it. */
  for (GList *l = a->pending.head; l; l = l->next)
    {
      Pending *p = l->data;

      p->app = NULL;
      if (p->in_call)
        p->dropped = TRUE;
      else
        pending_free (p);
    }
  g_queue_clear (&a->pending);
  g_free (a->service);
  g_free (a);
}

/* Takes P out of its app's accounting; frees it unless a call is out.
 * The message is finished. */
static void
detach (Pending *p)
{
  App *a = p->app;

  if (a)
    {
      a->d->funcs->finished (p->id, a->d->data);
      g_queue_remove (&a->pending, p);
      a->bytes -= g_bytes_get_size (p->data);
      p->app = NULL;
    }
  if (p->in_call)
    p->dropped = TRUE;
  else
    pending_free (p);
}

static void
on_message_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  Pending *p = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  App *a = p->app;
  guint delay;

  p->in_call = FALSE;
  p->d->in_flight--;
  if (p->dropped || !a)
    {
      pending_free (p);
      return;
    }
  if (reply)
    {
      g_debug ("message %s delivered to %s", p->id, a->service);
      detach (p);
      return;
    }
  if (p->attempts >= a->d->retry_attempts)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);
      g_autofree char *service = g_strdup (a->service);
      g_autofree char *token = g_strdup (p->token);
      WsbPushDeliver *d = a->d;

      g_warning ("message %s for %s dropped after %u attempts: %s", p->id, a->service, p->attempts,
                 error->message);
      detach (p);
      if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0)
        d->funcs->gone (service, token, d->data);
      return;
    }
  delay = a->d->retry_initial_ms;
  for (guint i = 1; i < p->attempts && delay < RETRY_MAX_MS; i++)
    delay *= 2;
  delay = MIN (delay, RETRY_MAX_MS);
  g_message ("message %s for %s not delivered (%s); trying again in %u ms", p->id, a->service,
             error->message, delay);
  p->timer_id = g_timeout_add (delay, on_retry, p);
}

static void
try_send (Pending *p)
{
  App *a = p->app;
  GVariant *args;
  const char *iface;
  GVariant *bytes = g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, p->data, TRUE);

  p->timer_id = 0;
  p->attempts++;
  p->in_call = TRUE;
  a->d->in_flight++;
  if (p->version == 1)
    {
      iface = "org.unifiedpush.Connector1";
      args = g_variant_new ("(s@ays)", p->token, bytes, p->id);
    }
  else
    {
      GVariantBuilder b;

      iface = "org.unifiedpush.Connector2";
      g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "token", g_variant_new_string (p->token));
      g_variant_builder_add (&b, "{sv}", "message", bytes);
      g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (p->id));
      args = g_variant_new ("(a{sv})", &b);
    }
  g_dbus_connection_call (a->d->bus, a->service, CONNECTOR_PATH, iface, "Message", args, NULL,
                          G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, on_message_reply, p);
}

static gboolean
on_retry (gpointer data)
{
  try_send (data);
  return G_SOURCE_REMOVE;
}

static App *
app_get (WsbPushDeliver *d, const char *service)
{
  App *a = g_hash_table_lookup (d->apps, service);

  if (!a)
    {
      a = g_new0 (App, 1);
      a->d = d;
      a->service = g_strdup (service);
      g_queue_init (&a->pending);
      g_hash_table_insert (d->apps, a->service, a);
    }
  return a;
}

/* Makes room for SIZE more bytes and one more message: the oldest waiting
 * ones go first, then the oldest on their way. */
static void
make_room (App *a, gsize size)
{
  WsbPushDeliver *d = a->d;

  while (a->pending.length > 0
         && (a->pending.length + 1 > d->max_messages || a->bytes + size > d->max_bytes))
    {
      Pending *victim = NULL;

      for (GList *l = a->pending.head; l && !victim; l = l->next)
        if (!((Pending *) l->data)->in_call)
          victim = l->data;
      if (!victim)
        victim = g_queue_peek_head (&a->pending);
      g_warning ("message %s for %s dropped: %u messages (%zu bytes) wait for the app already",
                 victim->id, a->service, a->pending.length, a->bytes);
      detach (victim);
    }
}

void
wsb_push_deliver_message (WsbPushDeliver *d, const char *service, int version, const char *token,
                          const char *id, GBytes *data)
{
  App *a = app_get (d, service);
  gsize size = g_bytes_get_size (data);
  Pending *p;

  if (size > d->max_bytes)
    {
      g_warning ("message %s for %s dropped: %zu bytes, over max_pending_bytes", id, service, size);
      d->funcs->finished (id, d->data);
      return;
    }
  make_room (a, size);
  p = g_new0 (Pending, 1);
  p->d = d;
  p->app = a;
  p->token = g_strdup (token);
  p->id = g_strdup (id);
  p->data = g_bytes_ref (data);
  p->version = version;
  g_queue_push_tail (&a->pending, p);
  a->bytes += size;
  try_send (p);
}

static void
on_fire_and_forget (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autofree char *what = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  if (!reply)
    g_message ("%s: %s", what, error->message);
}

static void
call_connector (WsbPushDeliver *d, const char *service, int version, const char *method,
                GVariant *args)
{
  g_dbus_connection_call (d->bus, service, CONNECTOR_PATH,
                          version == 1 ? "org.unifiedpush.Connector1"
                                       : "org.unifiedpush.Connector2",
                          method, args, NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL,
                          on_fire_and_forget, g_strdup_printf ("%s of %s", method, service));
}

static GVariant *
dict_args (const char *k1, const char *v1, const char *k2, const char *v2)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", k1, g_variant_new_string (v1));
  if (k2)
    g_variant_builder_add (&b, "{sv}", k2, g_variant_new_string (v2));
  return g_variant_new ("(a{sv})", &b);
}

void
wsb_push_deliver_new_endpoint (WsbPushDeliver *d, const char *service, int version,
                               const char *token, const char *endpoint)
{
  call_connector (d, service, version, "NewEndpoint",
                  version == 1 ? g_variant_new ("(ss)", token, endpoint)
                               : dict_args ("token", token, "endpoint", endpoint));
}

void
wsb_push_deliver_unregistered (WsbPushDeliver *d, const char *service, int version,
                               const char *token, gboolean confirm)
{
  App *a = g_hash_table_lookup (d->apps, service);

  if (a)
    {
      GList *l = a->pending.head;

      while (l)
        {
          GList *next = l->next;
          Pending *p = l->data;

          if (strcmp (p->token, token) == 0)
            detach (p);
          l = next;
        }
    }
  call_connector (d, service, version, "Unregistered",
                  version == 1 ? g_variant_new ("(s)", confirm ? "" : token)
                               : dict_args ("token", token, NULL, NULL));
}

guint
wsb_push_deliver_in_flight (WsbPushDeliver *d)
{
  return d->in_flight;
}

WsbPushDeliver *
wsb_push_deliver_new (GDBusConnection *bus, const WsbPushConfig *cfg,
                      const WsbPushDeliverFuncs *funcs, gpointer data)
{
  WsbPushDeliver *d = g_new0 (WsbPushDeliver, 1);

  d->funcs = funcs;
  d->data = data;
  d->bus = g_object_ref (bus);
  d->retry_initial_ms = cfg->retry_initial_ms;
  d->retry_attempts = cfg->retry_attempts;
  d->max_messages = cfg->max_pending_messages;
  d->max_bytes = cfg->max_pending_bytes;
  d->apps = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) app_free);
  return d;
}

void
wsb_push_deliver_free (WsbPushDeliver *d)
{
  if (!d)
    return;
  g_hash_table_unref (d->apps);
  g_object_unref (d->bus);
  g_free (d);
}
