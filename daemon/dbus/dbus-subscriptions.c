/* A caller's subscriptions (one per session and channel) and the Message,
 * BinaryMessage and Gap signals sent to each caller alone (or Messages, for
 * a subscription with the batch option: dbus-batch.c); what a congested
 * bus (dbus-backlog.c) made a subscription lose is told by one Gap. */
#include "dbus-server-private.h"

#include <string.h>

#include "log.h"
#include "wsb-error.h"

void
wsb_dbus_caller_sub_free (CallerSub *cs)
{
  if (cs->gap_from)
    cs->caller->srv->gaps_held--;
  wsb_dbus_batch_drop (cs);
  if (cs->sub)
    wsb_hub_unsubscribe (cs->sub);
  g_free (cs->key);
  g_free (cs->path);
  g_free (cs->channel);
  g_free (cs);
}

void
wsb_dbus_clear_message_cache (WsbDBusServer *srv)
{
  g_clear_pointer (&srv->cache_msg, wsb_message_unref);
  g_clear_pointer (&srv->cache_channel, g_free);
  g_clear_pointer (&srv->cache_params, g_variant_unref);
}

static void
emit_gap (CallerSub *cs, guint64 from_seq, guint64 to_seq)
{
  WsbDBusServer *srv = cs->caller->srv;

  /* The batch's seqs come before the gap's. */
  wsb_dbus_batch_send (cs);
  g_dbus_connection_emit_signal (srv->conn, cs->caller->name, cs->path, SESSION_IFACE, "Gap",
                                 g_variant_new ("(stt)", cs->channel, from_seq, to_seq), NULL);
  wsb_dbus_backlog_sent (srv, strlen (cs->channel) + 16);
}

static void
send_held_gap (CallerSub *cs)
{
  if (!cs->gap_from)
    return;
  emit_gap (cs, cs->gap_from, cs->gap_to);
  cs->gap_from = cs->gap_to = 0;
  cs->caller->srv->gaps_held--;
}

void
wsb_dbus_send_held_gaps (WsbDBusServer *srv)
{
  GHashTableIter callers, subs;
  gpointer c, cs;

  g_hash_table_iter_init (&callers, srv->callers);
  while (srv->gaps_held && g_hash_table_iter_next (&callers, NULL, &c))
    {
      g_hash_table_iter_init (&subs, ((Caller *) c)->subs);
      while (g_hash_table_iter_next (&subs, NULL, &cs))
        send_held_gap (cs);
    }
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

  if (wsb_dbus_backlog_congested (srv))
    {
      if (!srv->lost)
        g_warning ("D-Bus: the bus has not taken the last %" G_GUINT64_FORMAT
                   " bytes of signals (over client_buffer_bytes); D-Bus subscribers lose "
                   "messages, told by Gap signals, until it does",
                   wsb_dbus_backlog (srv));
      srv->lost++;
      if (!cs->gap_from)
        {
          cs->gap_from = m->seq;
          srv->gaps_held++;
        }
      cs->gap_to = m->seq;
      return;
    }
  send_held_gap (cs);
  if (cs->batch)
    {
      wsb_dbus_batch_add (cs, m);
      return;
    }
  g_dbus_connection_emit_signal (srv->conn, cs->caller->name, cs->path, SESSION_IFACE,
                                 m->binary ? "BinaryMessage" : "Message",
                                 message_params (srv, m, cs->channel), NULL);
  wsb_dbus_backlog_sent (srv, m->data_len + strlen (cs->channel));
}

static void
on_sub_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  CallerSub *cs = data;

  send_held_gap (cs);
  emit_gap (cs, from_seq, to_seq);
}

/* State changes reach D-Bus callers as PropertiesChanged of the session;
 * the messages of a read that ended the connection go before them. */
static void
on_sub_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
  wsb_dbus_batch_send (data);
}

static void
on_sub_ended (WsbSubscription *sub, gpointer data)
{
  CallerSub *cs = data;

  wsb_dbus_batch_send (cs);
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
subscribe (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj, GDBusMethodInvocation *inv,
           const char *channel, guint64 since_seq, guint64 epoch, gboolean batch)
{
  g_autoptr (GError) error = NULL;
  Caller *c = wsb_dbus_caller_get (srv, g_dbus_method_invocation_get_sender (inv));
  CallerSub *cs;
  g_autofree char *key = NULL;

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
  if (batch)
    wsb_dbus_batch_init (cs);
  /* As over the socket API: epoch 0 is live only; an epoch with since_seq
   * 0 replays all the history of that epoch. */
  cs->sub = wsb_hub_subscribe (srv->hub, peer, obj->name, channel, since_seq, epoch, &sub_funcs, cs,
                               &error);
  if (!cs->sub)
    {
      wsb_dbus_caller_sub_free (cs);
      wsb_dbus_return_error (inv, error);
      return;
    }
  cs->key = g_steal_pointer (&key);
  g_hash_table_insert (c->subs, cs->key, cs);
  wsb_session_log (obj->name, G_LOG_LEVEL_DEBUG, "D-Bus: caller %s subscribed to %s%s", c->name,
                   cs->key, batch ? " (batched)" : "");
  /* The reply goes out first; catch-up's signals follow it on the connection. */
  g_dbus_method_invocation_return_value (inv, NULL);
  wsb_hub_catch_up (cs->sub);
}

void
wsb_dbus_subscribe (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
                    GDBusMethodInvocation *inv, GVariant *params)
{
  const char *channel;
  guint64 since_seq, epoch;

  g_variant_get (params, "(&stt)", &channel, &since_seq, &epoch);
  subscribe (srv, peer, obj, inv, channel, since_seq, epoch, FALSE);
}

void
wsb_dbus_subscribe_with_options (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
                                 GDBusMethodInvocation *inv, GVariant *params)
{
  const char *channel, *option;
  guint64 since_seq, epoch;
  g_autoptr (GVariantIter) options = NULL;
  GVariant *value;
  gboolean batch = FALSE;

  g_variant_get (params, "(&stta{sv})", &channel, &since_seq, &epoch, &options);
  while (g_variant_iter_loop (options, "{&sv}", &option, &value))
    {
      if (!g_str_equal (option, "batch"))
        {
          g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                 "unknown option '%s' (known: batch)", option);
          g_variant_unref (value);
          return;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        {
          g_dbus_method_invocation_return_error (inv, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                 "option 'batch' must be a boolean (b), not %s",
                                                 g_variant_get_type_string (value));
          g_variant_unref (value);
          return;
        }
      batch = g_variant_get_boolean (value);
    }
  subscribe (srv, peer, obj, inv, channel, since_seq, epoch, batch);
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
