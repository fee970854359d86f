/* Calls to the apps' connectors (org.unifiedpush.Connector1/2 at
 * /org/unifiedpush/Connector on the app's bus name): NewEndpoint, Message,
 * Unregistered. Every call lets the bus start the app (D-Bus activation)
 * and none is waited for: the reply only tells whether a message arrived.
 *
 * A Message whose call fails (activation failed, the app is gone, no
 * reply) is tried again after retry_initial_ms, doubling up to 5 minutes,
 * retry_attempts times in all, then dropped with a warning. Per app (bus
 * name) at most max_pending_messages messages and max_pending_bytes bytes
 * are on their way or waiting; beyond that the oldest waiting one is
 * dropped with a warning. A message is finished when its call succeeded or
 * it was dropped; the stream's position only passes finished messages
 * (push-store.h), so what still waits when the distributor stops is asked
 * for again at its next start.
 *
 * A message dropped because the app's name is neither owned nor
 * activatable any more (org.freedesktop.DBus.Error.ServiceUnknown at the
 * last attempt: the app was uninstalled) is reported to the gone callback. */
#pragma once

#include <gio/gio.h>

#include "push-config.h"

typedef struct _WsbPushDeliver WsbPushDeliver;

typedef struct
{
  /* A message is done with: delivered, or dropped (never for messages
   * still waiting when the deliverer is freed). */
  void (*finished) (const char *id, gpointer data);
  /* SERVICE's name is gone for good (see above). */
  void (*gone) (const char *service, const char *token, gpointer data);
} WsbPushDeliverFuncs;

WsbPushDeliver *wsb_push_deliver_new (GDBusConnection *bus, const WsbPushConfig *cfg,
                                      const WsbPushDeliverFuncs *funcs, gpointer data);
void wsb_push_deliver_free (WsbPushDeliver *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPushDeliver, wsb_push_deliver_free)

void wsb_push_deliver_new_endpoint (WsbPushDeliver *d, const char *service, int version,
                                    const char *token, const char *endpoint);
/* CONFIRM: the answer to the app's own Unregister (Connector1 then gets an
 * empty token, as the specification says); else the distributor removed
 * the registration by itself. Drops what still waits for that token. */
void wsb_push_deliver_unregistered (WsbPushDeliver *d, const char *service, int version,
                                    const char *token, gboolean confirm);
void wsb_push_deliver_message (WsbPushDeliver *d, const char *service, int version,
                               const char *token, const char *id, GBytes *data);

/* Message calls whose answer has not come yet (all apps). */
guint wsb_push_deliver_in_flight (WsbPushDeliver *d);
