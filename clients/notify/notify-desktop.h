/* The desktop side of wsbridge-notify: notifications through libnotify,
 * the burst rule, and the wait for a notification server.
 *
 * It watches org.freedesktop.Notifications on the session bus. While no
 * server owns the name, what comes is kept in order and shown once one
 * appears: the first message that waits asks the bus to start a server (D-Bus
 * activation, again every RETRY seconds while it waits), and server_changed
 * tells the caller to stop reading meanwhile, so the queue stays as short as
 * one read; a storm of held messages is coalesced as usual when shown.
 *
 * Every notification carries the "desktop-entry" hint (the shipped
 * wsbridge-notify.desktop, so desktops' per-application settings apply) and
 * a category. */
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

/* The desktop entry's name and the icon of the notifier's own notices. */
#define WSB_NOTIFY_DESKTOP_ENTRY "wsbridge-notify"
#define WSB_NOTIFY_DEFAULT_ICON "wsbridge-notify"
/* The category of messages and of the notifier's notices. */
#define WSB_NOTIFY_CATEGORY "im.received"
#define WSB_NOTIFY_CATEGORY_MISSED "network.error"
void wsb_notify_desktop_free (WsbNotifyDesktop *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyDesktop, wsb_notify_desktop_free)

/* One message's notification (seq of epoch), under the burst rule. Takes
 * content. */
void wsb_notify_desktop_show (WsbNotifyDesktop *d, WsbNotifyContent *content, guint64 epoch,
                              guint64 seq);

/* A message that shows nothing (filtered out): done once what waits before
 * it is. */
void wsb_notify_desktop_skip (WsbNotifyDesktop *d, guint64 epoch, guint64 seq);

/* Messages from_seq..to_seq will never come: one "some messages were missed"
 * notification that counts them ("2,398 messages were missed"), updated in
 * place by later gaps until it is closed. */
void wsb_notify_desktop_gap (WsbNotifyDesktop *d, guint64 from_seq, guint64 to_seq, guint64 epoch);

/* Called with each message's position once it has been shown (or counted
 * into a burst, or skipped): what a restart may resume after. Messages held
 * for a notification server are not done until they are shown. */
typedef void (*WsbNotifyPositionFunc) (guint64 epoch, guint64 seq, gpointer data);
void wsb_notify_desktop_set_position_func (WsbNotifyDesktop *d, WsbNotifyPositionFunc func,
                                           gpointer data);
