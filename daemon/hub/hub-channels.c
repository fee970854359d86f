/* A session's channels in the hub: each channel's subscribers and history,
 * the fan-out of every inbound message (one shared WsbMessage for the
 * histories and every subscriber), resume with since_seq/epoch and its gaps,
 * upstream subscribe/unsubscribe frames refcounted over local subscribers,
 * and state changes to subscribers. The session table is hub.c's. */
#include "hub-private.h"

#include <string.h>

#include "log.h"
#include "template.h"
#include "wsb-error.h"

/* Channels of one session that keep a history; the least recently active
 * one loses its history when a new channel needs one. */
#define HISTORY_CHANNELS_MAX 1024

/* ---------------------------------------------------------- channels */

void
hub_channel_free (HubChannel *ch)
{
  g_ptr_array_unref (ch->subs);
  g_clear_pointer (&ch->history, wsb_history_free);
  g_free (ch->name);
  g_free (ch);
}

HubChannel *
hub_get_channel (HubSession *hs, const char *name)
{
  HubChannel *ch = g_hash_table_lookup (hs->channels, name);

  if (ch)
    return ch;
  ch = g_new0 (HubChannel, 1);
  ch->name = g_strdup (name);
  ch->subs = g_ptr_array_new_with_free_func (g_free);
  ch->lru.data = ch;
  g_hash_table_insert (hs->channels, ch->name, ch);
  return ch;
}

/* Frees ch once it has neither subscribers nor history ("*" stays). */
static void
maybe_drop_channel (HubSession *hs, HubChannel *ch)
{
  if (ch != hs->all && ch->subs->len == 0 && !ch->history)
    g_hash_table_remove (hs->channels, ch->name);
}

static void
drop_history (HubSession *hs, HubChannel *ch)
{
  hs->history_floor = MAX (hs->history_floor, wsb_history_last_seq (ch->history) + 1);
  g_queue_unlink (&hs->lru, &ch->lru);
  g_clear_pointer (&ch->history, wsb_history_free);
  maybe_drop_channel (hs, ch);
}

static void
history_push (HubSession *hs, HubChannel *ch, WsbMessage *m)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);

  if (!ch->history)
    {
      if (ch != hs->all && hs->lru.length >= HISTORY_CHANNELS_MAX)
        drop_history (hs, hs->lru.head->data);
      ch->history = wsb_history_new (cfg->history_messages, cfg->history_bytes,
                                     ch == hs->all ? 1 : hs->history_floor);
    }
  if (ch != hs->all)
    {
      if (ch->lru.prev || hs->lru.head == &ch->lru)
        g_queue_unlink (&hs->lru, &ch->lru);
      g_queue_push_tail_link (&hs->lru, &ch->lru);
    }
  wsb_history_push (ch->history, m);
}

/* ---------------------------------------------------------- delivery */

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
    maybe_drop_channel (hs, g_ptr_array_index (empty, i));
}

static void
end_delivery (HubSession *hs)
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
      if (sub->funcs)
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
    m = wsb_message_new (hs_name (hs), channel, hs->last_seq, hs->epoch, hs->read_time,
                         msg->binary, msg->data, msg->len);
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
  history_push (hs, hs->all, m);
  if (ch)
    history_push (hs, ch, m);
  if (hs->opening->len < hs->opening_max && hs->read_time <= hs->opening_until)
    {
      g_ptr_array_add (hs->opening, wsb_message_ref (m));
      g_ptr_array_add (hs->opening_channels, ch ? g_strdup (ch->name) : NULL);
    }
  hs->delivering++;
  deliver (hs->all, m);
  if (ch)
    deliver (ch, m);
  end_delivery (hs);
  wsb_message_unref (m);
}

/* ------------------------------------------------- upstream channels */

static gboolean
is_configured_channel (HubSession *hs, const char *name)
{
  char **list = wsb_session_get_config (hs->session)->channels;

  return list && g_strv_contains ((const char *const *) list, name);
}

static void
send_channel_frame (HubSession *hs, const char *tmpl, const char *channel)
{
  g_autofree char *frame = NULL;

  if (!tmpl || g_str_equal (channel, "*"))
    return;
  frame = wsb_template_fill (tmpl, channel);
  if (wsb_session_send_control (hs->session, frame))
    wsb_session_log (
        hs_name (hs), G_LOG_LEVEL_DEBUG, "%s: upstream %s for channel %s", hs_name (hs),
        tmpl == wsb_session_get_config (hs->session)->subscribe_template ? "subscribe"
                                                                         : "unsubscribe",
        channel);
}

/* After every (re)connect: subscribe frames for every channel that is
 * configured or has local subscribers (the session sent on_connect first). */
static void
subscribe_upstream (HubSession *hs)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);
  g_autoptr (GHashTable) done = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it;
  HubChannel *ch;

  hs->subscribed_upstream = TRUE;
  if (!cfg->subscribe_template)
    return;
  for (guint i = 0; cfg->channels && cfg->channels[i]; i++)
    if (g_hash_table_add (done, cfg->channels[i]))
      send_channel_frame (hs, cfg->subscribe_template, cfg->channels[i]);
  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    if (ch->live && g_hash_table_add (done, ch->name))
      send_channel_frame (hs, cfg->subscribe_template, ch->name);
}

/* A channel's local subscriber count went 0→1 (or 1→0). */
static void
channel_interest_changed (HubSession *hs, HubChannel *ch, gboolean wanted)
{
  const WsbSessionConfig *cfg = wsb_session_get_config (hs->session);

  if (!hs->subscribed_upstream || is_configured_channel (hs, ch->name))
    return;
  send_channel_frame (hs, wanted ? cfg->subscribe_template : cfg->unsubscribe_template, ch->name);
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

  if (wsb_session_get_state (hs->session) != WSB_STATE_OPEN)
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
      subscribe_upstream (hs);
    }
  if (!has_subscribers (hs))
    return;
  ev = g_new0 (WsbStateEvent, 1);
  ev->ref = 1;
  hub_fill_status (hs, &ev->status);
  hs->delivering++;
  for_each_subscription (hs, send_state, ev);
  end_delivery (hs);
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

/* ----------------------------------------------------- subscriptions */

gboolean
wsb_hub_channel_is_valid (const char *channel, GError **error)
{
  return wsb_channel_name_check (channel, strlen (channel), error);
}

WsbSubscription *
wsb_hub_subscribe (WsbHub *hub, const WsbPeer *peer, const char *session, const char *channel,
                   guint64 since_seq, guint64 epoch, const WsbSubscriberFuncs *funcs, gpointer data,
                   GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_SUBSCRIBE, session, error);
  WsbSubscription *sub;
  HubChannel *ch;

  if (!hs || !wsb_hub_channel_is_valid (channel, error))
    return NULL;
  if (since_seq && !epoch)
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "since_seq needs the epoch it was numbered in");
      return NULL;
    }
  if (since_seq > hs->last_seq && epoch == hs->epoch)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "since_seq %" G_GUINT64_FORMAT
                   " is beyond the session's last seq %" G_GUINT64_FORMAT
                   " in epoch %" G_GUINT64_FORMAT,
                   since_seq, hs->last_seq, hs->epoch);
      return NULL;
    }
  ch = hub_get_channel (hs, channel);
  sub = g_new0 (WsbSubscription, 1);
  sub->hs = hs;
  sub->ch = ch;
  sub->funcs = funcs;
  sub->data = data;
  sub->since_seq = since_seq;
  sub->since_epoch = epoch;
  g_ptr_array_add (ch->subs, sub);
  if (++ch->live == 1)
    channel_interest_changed (hs, ch, TRUE);
  return sub;
}

/* Where the history of ch vouches for every message from on. */
static guint64
complete_from (HubSession *hs, HubChannel *ch)
{
  return ch->history ? wsb_history_complete_from (ch->history) : hs->history_floor;
}

void
wsb_subscription_want_opening (WsbSubscription *sub)
{
  sub->opening = TRUE;
}

/* The connection's opening messages of the subscription's channel. */
static void
deliver_opening (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  gboolean all = sub->ch == hs->all;

  hs->delivering++;
  for (guint i = 0; i < hs->opening->len && sub->funcs; i++)
    if (all || g_strcmp0 (g_ptr_array_index (hs->opening_channels, i), sub->ch->name) == 0)
      sub->funcs->message (sub, g_ptr_array_index (hs->opening, i), sub->data);
  end_delivery (hs);
}

void
wsb_hub_catch_up (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  WsbHistory *h = sub->ch->history;
  guint64 since = sub->since_seq;
  guint64 from;

  if (!sub->since_epoch)
    {
      if (sub->opening)
        deliver_opening (sub);
      return; /* live only */
    }
  if (sub->since_epoch != hs->epoch)
    {
      /* seq restarted: nothing the subscriber knows lines up with it. */
      if (hs->last_seq)
        sub->funcs->gap (sub, 1, hs->last_seq, sub->data);
      return;
    }
  if (since >= hs->last_seq)
    return;
  from = complete_from (hs, sub->ch);
  if (since + 1 < from)
    sub->funcs->gap (sub, since + 1, MIN (from - 1, hs->last_seq), sub->data);
  if (!h)
    return;
  hs->delivering++;
  for (guint i = wsb_history_first_after (h, since); i < wsb_history_length (h) && sub->funcs; i++)
    sub->funcs->message (sub, wsb_history_nth (h, i), sub->data);
  end_delivery (hs);
}

void
wsb_hub_unsubscribe (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  HubChannel *ch = sub->ch;

  if (--ch->live == 0)
    channel_interest_changed (hs, ch, FALSE);
  if (hs->delivering)
    {
      sub->funcs = NULL;
      hs->has_dead = TRUE;
      return;
    }
  g_ptr_array_remove_fast (ch->subs, sub);
  maybe_drop_channel (hs, ch);
}

const char *
wsb_subscription_get_session (WsbSubscription *sub)
{
  return hs_name (sub->hs);
}

const char *
wsb_subscription_get_channel (WsbSubscription *sub)
{
  return sub->ch->name;
}

void
wsb_subscription_get_status (WsbSubscription *sub, WsbSessionStatus *out)
{
  hub_fill_status (sub->hs, out);
}

const WsbSessionConfig *
wsb_subscription_get_config (WsbSubscription *sub)
{
  return wsb_session_get_config (sub->hs->session);
}

gboolean
wsb_subscription_allows (WsbSubscription *sub, const WsbPeer *peer, WsbOp op)
{
  return wsb_access_check (hub_access (sub->hs->hub), peer, op,
                              wsb_session_get_config (sub->hs->session), NULL, NULL);
}

/* ----------------------------------------------------------- history */

gboolean
wsb_hub_history (WsbHub *hub, const WsbPeer *peer, const char *session, const char *channel,
                 guint last, WsbHistoryResult *out, GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_HISTORY, session, error);
  HubChannel *ch;
  WsbHistory *h;
  guint n, first, want;
  guint64 from;

  memset (out, 0, sizeof *out);
  if (!hs || !wsb_hub_channel_is_valid (channel, error))
    return FALSE;
  ch = g_hash_table_lookup (hs->channels, channel);
  h = ch ? ch->history : NULL;
  n = h ? wsb_history_length (h) : 0;
  want = last ? last : G_MAXUINT;
  first = n > want ? n - want : 0;
  out->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_message_unref);
  for (guint i = first; i < n; i++)
    g_ptr_array_add (out->messages, wsb_message_ref (wsb_history_nth (h, i)));
  hub_fill_status (hs, &out->status);
  /* Fewer than asked for, and the history has lost older messages that
   * may belong to this channel: say which seqs are gone. */
  from = ch ? complete_from (hs, ch) : hs->history_floor;
  if (n - first < want && from > 1 && hs->last_seq)
    {
      out->gap_to = MIN (from - 1, hs->last_seq);
      out->gap_from = 1;
      /* On "*" every seq is a message of the channel: the gap is exact. */
      if (g_str_equal (channel, "*") && last && n - first < last)
        out->gap_from = MAX (1, (gint64) out->gap_to + 1 - (gint64) (last - (n - first)));
    }
  return TRUE;
}

void
wsb_history_result_clear (WsbHistoryResult *r)
{
  g_clear_pointer (&r->messages, g_ptr_array_unref);
  wsb_session_status_clear (&r->status);
}
