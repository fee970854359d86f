/* Sends into a session's queue and their outcomes: each send's outcome goes
 * to the requester that gave a callback with it (and to nobody else), unless
 * the requester lost interest first (it went away). */
#include "hub-private.h"

struct _WsbSendWait
{
  HubSession *hs; /* NULL once the session is gone without an outcome */
  guint64 id;
  WsbHubOutcomeFunc func;
  gpointer data;
};

static void
wait_orphan (gpointer value)
{
  ((WsbSendWait *) value)->hs = NULL;
}

gboolean
wsb_hub_send (WsbHub *hub, const WsbPeer *peer, const char *session, const guint8 *data, gsize len,
              gboolean binary, guint32 ttl_ms, WsbHubOutcomeFunc done, gpointer done_data,
              WsbSendWait **wait, guint64 *id, GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_SEND, session, error);
  guint64 send_id;
  WsbSendWait *w;

  if (wait)
    *wait = NULL;
  if (!hs || !hs->hub->ops->send (hs->session, data, len, binary, ttl_ms, &send_id, error))
    return FALSE;
  if (id)
    *id = send_id;
  hub_tell_changed (hub, session);
  if (!done)
    return TRUE;
  /* The outcome comes from the main loop, never from inside the send. */
  w = g_new0 (WsbSendWait, 1);
  w->hs = hs;
  w->id = send_id;
  w->func = done;
  w->data = done_data;
  if (!hs->waits)
    hs->waits = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, wait_orphan);
  g_hash_table_insert (hs->waits, &w->id, w);
  if (wait)
    *wait = w;
  return TRUE;
}

void
wsb_send_wait_cancel (WsbSendWait *wait)
{
  if (!wait)
    return;
  if (wait->hs)
    g_hash_table_steal (wait->hs->waits, &wait->id);
  g_free (wait);
}

void
hub_send_done (HubSession *hs, guint64 id, WsbSendResult result, const char *reason)
{
  WsbSendWait *w = NULL;

  if (hs->waits && g_hash_table_steal_extended (hs->waits, &id, NULL, (gpointer *) &w))
    {
      w->func (hs_name (hs), id, result, reason, w->data);
      g_free (w);
    }
  /* TxMessages and QueuedMessages changed. */
  hub_tell_changed (hs->hub, hs_name (hs));
}

void
hub_sends_forget (HubSession *hs)
{
  /* Each wait left is its requester's to cancel; it no longer points here. */
  g_clear_pointer (&hs->waits, g_hash_table_unref);
}
