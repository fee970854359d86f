/* Shutdown: every session closes with 1001 (a queue without queue_persist
 * is cancelled), and done is called once the last connection has ended,
 * or after a grace period, whatever is left. */
#include "hub-private.h"

#define SHUTDOWN_GRACE_MS 3500

static void
shutdown_finish (WsbHub *hub)
{
  GSourceFunc done = g_steal_pointer (&hub->shutdown_done);

  g_clear_handle_id (&hub->shutdown_check_id, g_source_remove);
  g_clear_handle_id (&hub->shutdown_grace_id, g_source_remove);
  if (done)
    done (hub->shutdown_data);
}

static gboolean
shutdown_check (gpointer data)
{
  WsbHub *hub = data;
  GHashTableIter it;
  HubSession *hs;

  hub->shutdown_check_id = 0;
  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    if (hs->hub->ops->has_connection (hs->session))
      return G_SOURCE_REMOVE; /* its end schedules the next check */
  shutdown_finish (hub);
  return G_SOURCE_REMOVE;
}

static gboolean
shutdown_grace_over (gpointer data)
{
  WsbHub *hub = data;

  hub->shutdown_grace_id = 0;
  shutdown_finish (hub);
  return G_SOURCE_REMOVE;
}

void
hub_shutdown_connection_ended (WsbHub *hub)
{
  if (hub->shutdown_done && !hub->shutdown_check_id)
    hub->shutdown_check_id = g_idle_add (shutdown_check, hub);
}

void
wsb_hub_shutdown (WsbHub *hub, GSourceFunc done, gpointer data)
{
  GHashTableIter it;
  HubSession *hs;

  hub->shutdown_done = done;
  hub->shutdown_data = data;
  hub->shutdown_grace_id = g_timeout_add (SHUTDOWN_GRACE_MS, shutdown_grace_over, hub);
  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    {
      hs->hub->ops->close (hs->session, WSB_CLOSE_GOING_AWAY, "daemon shutting down");
      /* A journaled queue waits for the next start. */
      if (!hs->hub->ops->get_config (hs->session)->queue_persist)
        hs->hub->ops->cancel_queue (hs->session, "daemon shutting down");
    }
  /* With no connection open, done comes at once. */
  hub_shutdown_connection_ended (hub);
}
