/* The desktop side of wsbridge-notify: notifications through libnotify,
 * the burst rule, and the wait for a notification server.
 *
 * It watches org.freedesktop.Notifications on the session bus (asking the
 * bus to start one when one is activatable). While no server owns the name,
 * what comes is kept in order and shown once one appears; server_changed
 * tells the caller, so that it stops reading meanwhile and the queue stays
 * as short as one read. */
#pragma once

#include <gio/gio.h>

#include "notify-message.h"

typedef struct _WsbNotifyDesktop WsbNotifyDesktop;

typedef void (*WsbNotifyServerFunc) (gboolean present, gpointer data);

/* libnotify must be initialised (notify_init()). target names the feed in
 * the texts it writes itself ("demo", "demo/eu"). */
WsbNotifyDesktop *wsb_notify_desktop_new (GDBusConnection *bus, const char *app_name,
                                          const char *target, guint burst, double window_s,
                                          WsbNotifyServerFunc server_changed, gpointer data);
void wsb_notify_desktop_free (WsbNotifyDesktop *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyDesktop, wsb_notify_desktop_free)

/* One message's notification, under the burst rule. Takes content. */
void wsb_notify_desktop_show (WsbNotifyDesktop *d, WsbNotifyContent *content);

/* Messages from_seq..to_seq will never come: one "some messages were missed"
 * notification, updated in place by later gaps. */
void wsb_notify_desktop_gap (WsbNotifyDesktop *d, guint64 from_seq, guint64 to_seq);
