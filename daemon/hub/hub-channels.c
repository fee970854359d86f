/* A session's channels in the hub: each channel with its subscribers and
 * its history, the histories bounded per session (the least recently
 * active channel loses its history first), and the upstream
 * subscribe/unsubscribe frames refcounted over local subscribers. The
 * session table is hub.c's; delivery hub-delivery.c's; subscriptions and
 * history queries hub-subscriptions.c's. */
#include "hub-private.h"

#include "log.h"
#include "template.h"

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
void
hub_channel_maybe_drop (HubSession *hs, HubChannel *ch)
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
  hub_channel_maybe_drop (hs, ch);
}

void
hub_history_push (HubSession *hs, HubChannel *ch, WsbMessage *m)
{
  const WsbSessionConfig *cfg = hs->hub->ops->get_config (hs->session);

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

guint64
hub_channel_complete_from (HubSession *hs, HubChannel *ch)
{
  return ch->history ? wsb_history_complete_from (ch->history) : hs->history_floor;
}

/* ------------------------------------------------- upstream channels */

static gboolean
is_configured_channel (HubSession *hs, const char *name)
{
  char **list = hs->hub->ops->get_config (hs->session)->channels;

  return list && g_strv_contains ((const char *const *) list, name);
}

static void
send_channel_frame (HubSession *hs, const char *tmpl, const char *channel)
{
  g_autofree char *frame = NULL;

  if (!tmpl || g_str_equal (channel, "*"))
    return;
  frame = wsb_template_fill (tmpl, channel);
  if (hs->hub->ops->send_control (hs->session, frame))
    wsb_session_log (
        hs_name (hs), G_LOG_LEVEL_DEBUG, "%s: upstream %s for channel %s", hs_name (hs),
        tmpl == hs->hub->ops->get_config (hs->session)->subscribe_template ? "subscribe"
                                                                           : "unsubscribe",
        channel);
}

/* After every (re)connect: subscribe frames for every channel that is
 * configured or has local subscribers (the session sent on_connect first). */
void
hub_subscribe_upstream (HubSession *hs)
{
  const WsbSessionConfig *cfg = hs->hub->ops->get_config (hs->session);
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
void
hub_channel_interest_changed (HubSession *hs, HubChannel *ch, gboolean wanted)
{
  const WsbSessionConfig *cfg = hs->hub->ops->get_config (hs->session);

  if (!hs->subscribed_upstream || is_configured_channel (hs, ch->name))
    return;
  send_channel_frame (hs, wanted ? cfg->subscribe_template : cfg->unsubscribe_template, ch->name);
}
