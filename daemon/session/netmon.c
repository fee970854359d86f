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

  /* Cancelled on free, so a late g_bus_get answer finds nothing. */
  GCancellable *cancellable;
  GDBusConnection *bus;
  guint sleep_id;
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

static void
on_prepare_for_sleep (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                      const char *member, GVariant *params, gpointer data)
{
  WsbNetmon *mon = data;
  gboolean sleeping;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(b)")))
    {
      g_debug ("ignoring PrepareForSleep with arguments %s", g_variant_get_type_string (params));
      return;
    }
  g_variant_get (params, "(b)", &sleeping);
  if (sleeping)
    {
      g_debug ("going to sleep");
      return;
    }
  g_message ("resumed from suspend: re-checking sessions");
  mon->wake ("resume from suspend", mon->user_data);
}

static void
on_bus (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (res, &error);
  WsbNetmon *mon = data;

  if (!bus)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return; /* mon is freed */
      g_debug ("no system bus; not watching for resume from suspend (%s)", error->message);
      return;
    }
  mon->bus = bus;
  /* The shared system bus connection would exit the daemon if the bus went
   * away; the daemon serves without it. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  /* The well-known sender name makes the bus (and GDBus) accept the signal
   * only from logind itself, not from any client that emits one. */
  mon->sleep_id = g_dbus_connection_signal_subscribe (
      bus, "org.freedesktop.login1", "org.freedesktop.login1.Manager", "PrepareForSleep",
      "/org/freedesktop/login1", NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_prepare_for_sleep, mon, NULL);
  g_debug ("watching logind for resume from suspend");
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
  mon->cancellable = g_cancellable_new ();
  g_bus_get (G_BUS_TYPE_SYSTEM, mon->cancellable, on_bus, mon);
  return mon;
}

void
wsb_netmon_free (WsbNetmon *mon)
{
  if (!mon)
    return;
  g_cancellable_cancel (mon->cancellable);
  g_clear_object (&mon->cancellable);
  if (mon->sleep_id)
    g_dbus_connection_signal_unsubscribe (mon->bus, mon->sleep_id);
  g_clear_object (&mon->bus);
  g_signal_handlers_disconnect_by_data (mon->monitor, mon);
  g_clear_object (&mon->monitor);
  g_clear_handle_id (&mon->coalesce_source, g_source_remove);
  g_free (mon);
}
