/* The Messages signal: a subscription made with the batch option
 * (SubscribeWithOptions) collects the messages of one read from upstream
 * and gets them in one signal when the hub says the read is done, so a busy
 * feed costs GDBus one signal per read instead of one per message on both
 * ends. A batch also goes out when it is full, before a Gap signal of its
 * subscription (whose seqs follow the batch's) and when the subscription
 * ends; one built for a subscription is reused for the next one of the same
 * channel and messages, as Message signals' bodies are. */
#include "dbus-server-private.h"

#include <string.h>

/* A signal's limits: far below the bus's message size limit (128 MiB on the
 * session bus, 32 MiB on the system bus), small enough that a subscriber
 * takes one in a moment. A message larger than BATCH_MAX_BYTES goes alone. */
#define BATCH_MAX_MESSAGES 8192
#define BATCH_MAX_BYTES (512 * 1024)
/* What an element costs besides its payload: seq, time, flag, length. */
#define ELEMENT_OVERHEAD 24

static void
batch_clear_cache (WsbDBusServer *srv)
{
  g_clear_pointer (&srv->batch_cache_msgs, g_ptr_array_unref);
  g_clear_pointer (&srv->batch_cache_channel, g_free);
  g_clear_pointer (&srv->batch_cache_params, g_variant_unref);
}

static gboolean
same_messages (GPtrArray *a, GPtrArray *b)
{
  if (!a || a->len != b->len)
    return FALSE;
  return memcmp (a->pdata, b->pdata, a->len * sizeof (gpointer)) == 0;
}

static GVariant *
batch_params (WsbDBusServer *srv, CallerSub *cs)
{
  GVariantBuilder b;

  if (same_messages (srv->batch_cache_msgs, cs->batch)
      && g_str_equal (srv->batch_cache_channel, cs->channel))
    return srv->batch_cache_params;
  batch_clear_cache (srv);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(txbay)"));
  for (guint i = 0; i < cs->batch->len; i++)
    {
      WsbMessage *m = g_ptr_array_index (cs->batch, i);
      GVariant *data
          = g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, wsb_message_data (m), m->data_len,
                                     TRUE, (GDestroyNotify) wsb_message_unref, wsb_message_ref (m));

      g_variant_builder_add (&b, "(txb@ay)", m->seq, m->time_us, m->binary, data);
    }
  srv->batch_cache_params = g_variant_ref_sink (g_variant_new ("(sa(txbay))", cs->channel, &b));
  srv->batch_cache_channel = g_strdup (cs->channel);
  /* The pointers alone (g_ptr_array_copy would take the free function too):
   * the variant's data holds a reference to each message. */
  srv->batch_cache_msgs = g_ptr_array_sized_new (cs->batch->len);
  for (guint i = 0; i < cs->batch->len; i++)
    g_ptr_array_add (srv->batch_cache_msgs, g_ptr_array_index (cs->batch, i));
  return srv->batch_cache_params;
}

static void
batch_forget (CallerSub *cs)
{
  g_ptr_array_set_size (cs->batch, 0);
  cs->batch_bytes = 0;
}

void
wsb_dbus_batch_send (CallerSub *cs)
{
  WsbDBusServer *srv = cs->caller->srv;

  if (!cs->batch || !cs->batch->len)
    return;
  if (srv->conn)
    {
      g_dbus_connection_emit_signal (srv->conn, cs->caller->name, cs->path, SESSION_IFACE,
                                     "Messages", batch_params (srv, cs), NULL);
      wsb_dbus_backlog_sent (srv, cs->batch_bytes + strlen (cs->channel));
    }
  batch_forget (cs);
  g_ptr_array_remove_fast (srv->batching, cs);
}

/* Messages delivered outside a read from upstream (the history a new
 * subscription catches up with, the opening messages of a connection) have
 * no end of read after them: they go out once the main loop is idle. */
static gboolean
send_when_idle (gpointer data)
{
  WsbDBusServer *srv = data;

  srv->batch_idle_id = 0;
  wsb_dbus_batch_send_all (srv);
  return G_SOURCE_REMOVE;
}

void
wsb_dbus_batch_add (CallerSub *cs, WsbMessage *m)
{
  WsbDBusServer *srv = cs->caller->srv;
  gsize bytes = m->data_len + ELEMENT_OVERHEAD;

  if (cs->batch->len
      && (cs->batch->len >= BATCH_MAX_MESSAGES || cs->batch_bytes + bytes > BATCH_MAX_BYTES))
    wsb_dbus_batch_send (cs);
  if (!cs->batch->len)
    {
      if (!srv->batching->len && !srv->batch_idle_id)
        srv->batch_idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, send_when_idle, srv, NULL);
      g_ptr_array_add (srv->batching, cs);
    }
  g_ptr_array_add (cs->batch, wsb_message_ref (m));
  cs->batch_bytes += bytes;
}

void
wsb_dbus_batch_send_all (WsbDBusServer *srv)
{
  /* Each send takes its subscription off the list. */
  while (srv->batching->len)
    wsb_dbus_batch_send (g_ptr_array_index (srv->batching, srv->batching->len - 1));
  /* The messages of the read are out: the cache would only hold them. */
  batch_clear_cache (srv);
}

void
wsb_dbus_batch_drop (CallerSub *cs)
{
  if (!cs->batch)
    return;
  if (cs->batch->len)
    g_ptr_array_remove_fast (cs->caller->srv->batching, cs);
  g_clear_pointer (&cs->batch, g_ptr_array_unref);
}

void
wsb_dbus_batch_init (CallerSub *cs)
{
  cs->batch = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_message_unref);
}

void
wsb_dbus_batch_server_free (WsbDBusServer *srv)
{
  if (srv->batch_idle_id)
    g_source_remove (srv->batch_idle_id);
  batch_clear_cache (srv);
  g_clear_pointer (&srv->batching, g_ptr_array_unref);
}
