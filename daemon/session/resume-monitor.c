#include "resume-monitor.h"

#include <gio/gio.h>

struct _WsbResumeMonitor
{
  WsbWakeFunc wake;
  gpointer user_data;

  /* Cancelled on free, so a late g_bus_get answer finds nothing. */
  GCancellable *cancellable;
  GDBusConnection *bus;
  guint sleep_id;
};

static void
on_prepare_for_sleep (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                      const char *member, GVariant *params, gpointer data)
{
  WsbResumeMonitor *mon = data;
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
  WsbResumeMonitor *mon = data;

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

WsbResumeMonitor *
wsb_resume_monitor_new (WsbWakeFunc wake, gpointer user_data)
{
  WsbResumeMonitor *mon = g_new0 (WsbResumeMonitor, 1);

  mon->wake = wake;
  mon->user_data = user_data;
  mon->cancellable = g_cancellable_new ();
  g_bus_get (G_BUS_TYPE_SYSTEM, mon->cancellable, on_bus, mon);
  return mon;
}

void
wsb_resume_monitor_free (WsbResumeMonitor *mon)
{
  if (!mon)
    return;
  g_cancellable_cancel (mon->cancellable);
  g_clear_object (&mon->cancellable);
  if (mon->sleep_id)
    g_dbus_connection_signal_unsubscribe (mon->bus, mon->sleep_id);
  g_clear_object (&mon->bus);
  g_free (mon);
}
