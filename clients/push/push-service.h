/* The distributor: org.unifiedpush.Distributor.wsbridge on the session bus
 * with org.unifiedpush.Distributor1 and Distributor2 at
 * /org/unifiedpush/Distributor (UnifiedPush D-Bus specification
 * DBUS_0.3.0), the registrations (push-store.h), the stream
 * (push-feed.h) and the calls to the apps (push-deliver.h).
 *
 * Arguments are checked before anything changes: a token of 1 to 100
 * bytes, a well-known bus name for the app, a description of at most 1000
 * bytes, a vapid key (unused by ntfy) of at most 1000 bytes. A call that
 * breaks these rules is refused with org.freedesktop.DBus.Error.InvalidArgs
 * and changes nothing; an Unregister of an unknown token is ignored.
 * An app whose messages cannot be delivered because its name is gone from
 * the bus for good (push-deliver.h) loses its registration. */
#pragma once

#include <gio/gio.h>

#include "push-config.h"

#define WSB_PUSH_BUS_NAME "org.unifiedpush.Distributor.wsbridge"
#define WSB_PUSH_MAX_REGISTRATIONS 256

typedef struct _WsbPushService WsbPushService;

/* Loads the registrations from STATE_PATH (a file that cannot be
 * understood is renamed to STATE_PATH.bad-TIME with a warning, and the
 * distributor starts without registrations). */
WsbPushService *wsb_push_service_new (GDBusConnection *bus, const WsbPushConfig *cfg,
                                      const char *socket_path, const char *state_path,
                                      GError **error);
/* Exports the object (before the name is owned). */
gboolean wsb_push_service_export (WsbPushService *s, GError **error);
/* Starts the stream: once the bus name is ours, so that a second instance
 * that cannot own it never touches the session of the first. */
void wsb_push_service_start (WsbPushService *s);
/* Waits up to TIMEOUT_MS for the answers to the Message calls that are
 * out, so that what was delivered is not asked for again. */
void wsb_push_service_drain (WsbPushService *s, guint timeout_ms);
void wsb_push_service_free (WsbPushService *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPushService, wsb_push_service_free)
