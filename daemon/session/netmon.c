#include "netmon.h"

#include <gio/gio.h>

/* NetworkManager announces one switch as a burst of changes (addresses,
 * routes, DNS, connectivity); they fold into one wake at the end of this
 * window, when the new network is usually usable. */
#define COALESCE_MS 1000

struct _WsbNetmon
{
  WsbWakeFunc wake;
  gpointer user_data;

  GNetworkMonitor *monitor;
  gboolean available;
  gboolean was_down; /* since the last wake */
  guint coalesce_source;
};

static gboolean
on_coalesced (gpointer data)
{
  WsbNetmon *mon = data;

  mon->coalesce_source = 0;
  if (!mon->available)
    return G_SOURCE_REMOVE;
  if (mon->was_down)
    g_message ("network is up: retrying sessions now");
  else
    g_message ("network changed: re-checking sessions now");
  mon->was_down = FALSE;
  mon->wake ("network up", mon->user_data);
  return G_SOURCE_REMOVE;
}

/* The argument of network-changed is ignored: with the NetworkManager
 * backend it comes from the kernel's routes while the property follows
 * NetworkManager, so the property is what counts. */
static void
network_event (WsbNetmon *mon)
{
  gboolean available = g_network_monitor_get_network_available (mon->monitor);

  if (available != mon->available)
    g_debug ("network %s", available ? "available" : "unavailable");
  mon->available = available;
  if (!available)
    {
      /* Nothing to retry towards; the way back up wakes us. */
      mon->was_down = TRUE;
      g_clear_handle_id (&mon->coalesce_source, g_source_remove);
      return;
    }
  /* The window starts at the first change and is not extended by later
   * ones, so a network that keeps flapping still wakes once a second. */
  if (!mon->coalesce_source)
    mon->coalesce_source = g_timeout_add (COALESCE_MS, on_coalesced, mon);
}

static void
on_network_changed (GNetworkMonitor *monitor, gboolean available, gpointer data)
{
  network_event (data);
}

/* GNetworkMonitorNM reports NetworkManager's state and connectivity only
 * through these notifications, never through network-changed. */
static void
on_property_notify (GObject *monitor, GParamSpec *pspec, gpointer data)
{
  network_event (data);
}

WsbNetmon *
wsb_netmon_new (WsbWakeFunc wake, gpointer user_data)
{
  WsbNetmon *mon = g_new0 (WsbNetmon, 1);

  mon->wake = wake;
  mon->user_data = user_data;
  mon->monitor = g_object_ref (g_network_monitor_get_default ());
  mon->available = g_network_monitor_get_network_available (mon->monitor);
  mon->was_down = !mon->available;
  g_signal_connect (mon->monitor, "network-changed", G_CALLBACK (on_network_changed), mon);
  g_signal_connect (mon->monitor, "notify::network-available", G_CALLBACK (on_property_notify),
                    mon);
  g_signal_connect (mon->monitor, "notify::connectivity", G_CALLBACK (on_property_notify), mon);
  g_debug ("network monitor %s: network %s", G_OBJECT_TYPE_NAME (mon->monitor),
           mon->available ? "available" : "unavailable");
  return mon;
}

void
wsb_netmon_free (WsbNetmon *mon)
{
  if (!mon)
    return;
  g_signal_handlers_disconnect_by_data (mon->monitor, mon);
  g_clear_object (&mon->monitor);
  g_clear_handle_id (&mon->coalesce_source, g_source_remove);
  g_free (mon);
}
