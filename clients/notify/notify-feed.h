/* The daemon side of wsbridge-notify: one subscription over libwsbridge on
 * the GLib main loop, kept alive across daemon restarts. It reconnects with
 * exponential backoff and resubscribes with the seq and epoch of the last
 * message it delivered, so the session's history fills what it missed and
 * the daemon reports the rest as a gap; a message it delivered already is
 * never delivered again. */
#pragma once

#include <glib.h>

#include "wsbridge.h"

typedef struct
{
  void (*message) (const Wsbridge__V1__Message *message, gpointer data);
  void (*gap) (guint64 from_seq, guint64 to_seq, guint64 epoch, gpointer data);
  /* The subscription cannot work (no such session, access denied, a bad
   * channel): the message says why. */
  void (*fatal) (const char *message, gpointer data);
  /* Subscribed: nothing after seq of epoch was delivered yet. */
  void (*subscribed) (guint64 epoch, guint64 seq, gpointer data);
} WsbNotifyFeedFuncs;

typedef struct _WsbNotifyFeed WsbNotifyFeed;

WsbNotifyFeed *wsb_notify_feed_new (const char *socket_path, const char *session,
                                    const char *channel, const WsbNotifyFeedFuncs *funcs,
                                    gpointer data);
void wsb_notify_feed_free (WsbNotifyFeed *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyFeed, wsb_notify_feed_free)

/* Where an earlier run stopped: the first subscription resumes after seq
 * of epoch rather than starting with new messages. Before start only. */
void wsb_notify_feed_set_position (WsbNotifyFeed *f, guint64 epoch, guint64 seq);

/* Connects and subscribes now (and retries until it can). */
void wsb_notify_feed_start (WsbNotifyFeed *f);

/* While paused the feed reads nothing: what arrives waits in the daemon
 * (whose slow-client policy turns a long pause into a gap or a resume). */
void wsb_notify_feed_set_paused (WsbNotifyFeed *f, gboolean paused);
