/* Opening a notification's URL with the user's default handler. */
#pragma once

#include <gio/gio.h>

/* Opens uri with g_app_info_launch_default_for_uri(). A program started for
 * it is moved into a transient systemd scope of its own (over bus, when a
 * systemd user manager serves org.freedesktop.systemd1 there), so that
 * stopping or restarting wsbridge-notify@.service does not take the user's
 * browser with it. Failures are logged. */
void wsb_notify_launch_uri (GDBusConnection *bus, const char *uri);
