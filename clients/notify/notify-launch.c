#include "notify-launch.h"

static void
on_scope_started (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);

  if (!reply)
    g_debug ("the program opened stays in this unit's cgroup: %s", error->message);
}

static void
on_launched (GAppLaunchContext *ctx, GAppInfo *info, GVariant *platform_data, gpointer data)
{
  GDBusConnection *bus = data;
  g_autofree char *unit = NULL;
  GVariantBuilder props;
  gint32 pid;

  if (!g_variant_lookup (platform_data, "pid", "i", &pid) || pid <= 0)
    return; /* D-Bus activated: not our child */
  unit = g_strdup_printf ("app-wsbridge\\x2dnotify-%d.scope", pid);
  g_variant_builder_init (&props, G_VARIANT_TYPE ("a(sv)"));
  g_variant_builder_add (&props, "(sv)", "PIDs",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                    &(guint32){ (guint32) pid }, 1,
                                                    sizeof (guint32)));
  g_variant_builder_add (&props, "(sv)", "CollectMode",
                         g_variant_new_string ("inactive-or-failed"));
  g_dbus_connection_call (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", "StartTransientUnit",
                          g_variant_new ("(ssa(sv)a(sa(sv)))", unit, "fail", &props, NULL),
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL,
                          on_scope_started, NULL);
}

void
wsb_notify_launch_uri (GDBusConnection *bus, const char *uri)
{
  g_autoptr (GAppLaunchContext) ctx = g_app_launch_context_new ();
  g_autoptr (GError) error = NULL;

  g_signal_connect (ctx, "launched", G_CALLBACK (on_launched), bus);
  /* The URL is not logged: feeds put tokens in them. */
  if (g_app_info_launch_default_for_uri (uri, ctx, &error))
    g_message ("opened the link of a notification");
  else
    g_warning ("cannot open the link of a notification: %s", error->message);
}
