/* The hub's fan-out: every inbound message numbered and encoded once (one
 * shared WsbMessage for the histories and every subscriber), kept in the
 * connection's opening ring, delivered to the subscribers of "*" and of its
 * channel; state changes and a session's end to every subscriber.
 * Unsubscribing during a delivery takes effect after it. */
#include "hub-private.h"

#include "log.h"

/* Removes subscriptions that were unsubscribed during a delivery. */
static void
purge_dead (HubSession *hs)
{
  GHashTableIter it;
  HubChannel *ch;
  g_autoptr (GPtrArray) empty = g_ptr_array_new ();

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    {
      for (guint i = ch->subs->len; i-- > 0;)
        if (!((WsbSubscription *) g_ptr_array_index (ch->subs, i))->funcs)
          g_ptr_array_remove_index_fast (ch->subs, i);
      if (ch->subs->len == 0)
        g_ptr_array_add (empty, ch);
    }
  for (guint i = 0; i < empty->len; i++)
    hub_channel_maybe_drop (hs, g_ptr_array_index (empty, i));
}

void
hub_end_delivery (HubSession *hs)
{
  if (--hs->delivering == 0 && hs->has_dead)
    {
      hs->has_dead = FALSE;
      purge_dead (hs);
    }
}

static void
deliver (HubChannel *ch, WsbMessage *m)
{
  for (guint i = 0; i < ch->subs->len; i++)
    {
      WsbSubscription *sub = g_ptr_array_index (ch->subs, i);
      if (sub->funcs && !sub->messages_elsewhere)
        sub->funcs->message (sub, m, sub->data);
    }
}

G_STATIC_ASSERT (WSB_MESSAGE_HEAD_MAX <= WSB_WS_RX_HEADROOM);

/* The message encoded once; a large one around its reassembly block (no
 * second copy of up to max_message_bytes). */
static WsbMessage *
encode_message (HubSession *hs, const char *channel, WsbWsMessage *msg)
{
  WsbMessage *m = NULL;

  if (msg->block)
    m = wsb_message_new_in_block (hs_name (hs), channel, hs->last_seq, hs->epoch, hs->read_time,
                                  msg->binary, msg->block, WSB_WS_RX_HEADROOM, msg->len);
  if (m)
    msg->block = NULL; /* ours now */
  else
    m = wsb_message_new (hs_name (hs), channel, hs->last_seq, hs->epoch, hs->read_time, msg->binary,
                         msg->data, msg->len);
  return m;
}

void
hub_on_message (WsbSession *s, WsbWsMessage *msg, gpointer user_data)
{
  HubSession *hs = user_data;
  const guint8 *data = msg->data;
  gsize len = msg->len;
  gboolean binary = msg->binary;
  g_autofree char *routed = NULL;
  HubChannel *ch = NULL;
  WsbMessage *m;

  /* A feed replayed after a reconnect repeats nothing already delivered. */
  if (hs->resume && !binary)
    {
      gboolean advanced;

      if (!wsb_resume_take (hs->resume, (const char *) data, len, &advanced))
        {
          wsb_session_log (hs_name (hs), G_LOG_LEVEL_DEBUG,
                           "%s: a message whose id was delivered already is dropped", hs_name (hs));
          return;
        }
      if (advanced)
        hub_resume_advanced (hs);
    }
  hs->last_seq++;
  /* No parse at all without channel_key. */
  if (hs->router && !binary)
    routed = wsb_router_route (hs->router, (const char *) data, len);
  if (routed && !g_str_equal (routed, "*"))
    ch = hub_get_channel (hs, routed);
  /* The clock once per read from upstream, not per message: all of a read's
   * messages arrived together (a read takes up to 64 KiB, hundreds of small
   * messages, and the clock was a sixth of the daemon's time per message). */
  if (!hs->read_time)
    hs->read_time = g_get_real_time ();
  m = encode_message (hs, ch ? ch->name : "*", msg);
  hub_history_push (hs, hs->all, m);
  if (ch)
    hub_history_push (hs, ch, m);
  if (hs->opening->len < hs->opening_max && hs->read_time <= hs->opening_until)
    {
      g_ptr_array_add (hs->opening, wsb_message_ref (m));
      g_ptr_array_add (hs->opening_channels, ch ? g_strdup (ch->name) : NULL);
    }
  hs->delivering++;
  deliver (hs->all, m);
  if (ch)
    deliver (ch, m);
  hub_end_delivery (hs);
  wsb_message_unref (m);
}

/* The connection's opening messages of the subscription's channel. */
void
hub_deliver_opening (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  gboolean all = sub->ch == hs->all;

  hs->delivering++;
  for (guint i = 0; i < hs->opening->len && sub->funcs; i++)
    if (all || g_strcmp0 (g_ptr_array_index (hs->opening_channels, i), sub->ch->name) == 0)
      sub->funcs->message (sub, g_ptr_array_index (hs->opening, i), sub->data);
  hub_end_delivery (hs);
}

/* ------------------------------------------------------------- state */

/* Calls func for every subscription not unsubscribed. */
static void
for_each_subscription (HubSession *hs, void (*func) (WsbSubscription *sub, gpointer data),
                       gpointer data)
{
  GHashTableIter it;
  HubChannel *ch;

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    for (guint i = 0; i < ch->subs->len; i++)
      {
        WsbSubscription *sub = g_ptr_array_index (ch->subs, i);
        if (sub->funcs)
          func (sub, data);
      }
}

static void
send_state (WsbSubscription *sub, gpointer ev)
{
  sub->funcs->state (sub, ev, sub->data);
}

static gboolean
has_subscribers (HubSession *hs)
{
  GHashTableIter it;
  HubChannel *ch;

  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    if (ch->subs->len)
      return TRUE;
  return FALSE;
}

/* After a state change: subscribe frames on a new connection, and the
 * change to every subscriber. */
void
hub_state_changed (HubSession *hs)
{
  WsbStateEvent *ev;

  if (hs->hub->ops->get_state (hs->session) != WSB_STATE_OPEN)
    {
      /* What the connection opened with went with it: a subscription that
       * opens before the next one gets the next one's, live. */
      hs->subscribed_upstream = FALSE;
      g_ptr_array_set_size (hs->opening, 0);
      g_ptr_array_set_size (hs->opening_channels, 0);
    }
  else if (!hs->subscribed_upstream)
    {
      /* A new connection: its opening messages are those of its first moments. */
      hs->opening_until = g_get_real_time () + hs->opening_window_us;
      hub_subscribe_upstream (hs);
    }
  if (!has_subscribers (hs))
    return;
  ev = g_new0 (WsbStateEvent, 1);
  ev->ref = 1;
  hub_fill_status (hs, &ev->status);
  hs->delivering++;
  for_each_subscription (hs, send_state, ev);
  hub_end_delivery (hs);
  wsb_state_event_unref (ev);
}

static void
send_ended (WsbSubscription *sub, gpointer data)
{
  sub->funcs->ended (sub, sub->data);
}

/* Tells every subscriber of hs that it is over, then drops the subscriptions. */
void
hub_end_subscriptions (HubSession *hs)
{
  GHashTableIter it;
  HubChannel *ch;

  for_each_subscription (hs, send_ended, NULL);
  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    {
      g_ptr_array_set_size (ch->subs, 0);
      ch->live = 0;
    }
}
