/* Subscriptions to a session's channels: subscribing and unsubscribing
 * (the first and last subscriber of a channel move its upstream
 * subscription), catch-up from since_seq/epoch with its gaps, and history
 * queries. */
#include "hub-private.h"

#include <string.h>

#include "wsb-error.h"

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
    hub_channel_interest_changed (hs, ch, TRUE);
  return sub;
}

/* Where the history of ch vouches for every message from on. */
void
wsb_subscription_want_opening (WsbSubscription *sub)
{
  sub->opening = TRUE;
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
        hub_deliver_opening (sub);
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
  from = hub_channel_complete_from (hs, sub->ch);
  if (since + 1 < from)
    sub->funcs->gap (sub, since + 1, MIN (from - 1, hs->last_seq), sub->data);
  if (!h)
    return;
  hs->delivering++;
  for (guint i = wsb_history_first_after (h, since); i < wsb_history_length (h) && sub->funcs; i++)
    sub->funcs->message (sub, wsb_history_nth (h, i), sub->data);
  hub_end_delivery (hs);
}

void
wsb_hub_unsubscribe (WsbSubscription *sub)
{
  HubSession *hs = sub->hs;
  HubChannel *ch = sub->ch;

  if (--ch->live == 0)
    hub_channel_interest_changed (hs, ch, FALSE);
  if (hs->delivering)
    {
      sub->funcs = NULL;
      hs->has_dead = TRUE;
      return;
    }
  g_ptr_array_remove_fast (ch->subs, sub);
  hub_channel_maybe_drop (hs, ch);
}

const char *
wsb_subscription_get_session (WsbSubscription *sub)
{
  return hs_name (sub->hs);
}

void
wsb_subscription_set_messages_elsewhere (WsbSubscription *sub)
{
  sub->messages_elsewhere = TRUE;
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
                           sub->hs->hub->ops->get_config (sub->hs->session), NULL, NULL);
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
  from = ch ? hub_channel_complete_from (hs, ch) : hs->history_floor;
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
