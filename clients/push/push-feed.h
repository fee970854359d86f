/* The daemon side of wsbridge-push: one runtime session ("unifiedpush")
 * in wsbridged on ntfy's multi-topic stream, over libwsbridge on the GLib
 * main loop.
 *
 * The distributor, not the daemon, keeps the stream's position: every
 * time the session is (re)made — at start, after losing the daemon, when
 * the topics change, after a gap — it is removed and created again with
 * since=<the last id the distributor took> (since=all before any), so
 * ntfy replays what came after it and nothing published in between is
 * lost; the distributor drops ids it took already. While the session
 * lives, the daemon's own reconnects resume with its since= (the
 * resume_pointer/query/filter keys). The session is not persisted and has
 * no queue_persist: a daemon's kept id could be ahead of what the
 * distributor took. */
#pragma once

#include <glib.h>

#include "wsbridge.h"

#define WSB_PUSH_SESSION "unifiedpush"

typedef struct
{
  /* A text message of the stream. */
  void (*message) (const char *text, gsize len, gpointer data);
  /* The since= value for a session made now (NULL: since=all). */
  const char *(*since) (gpointer data);
} WsbPushFeedFuncs;

typedef struct _WsbPushFeed WsbPushFeed;

/* TOKEN_FILE may be NULL. */
WsbPushFeed *wsb_push_feed_new (const char *socket_path, const char *server, const char *token_file,
                                const WsbPushFeedFuncs *funcs, gpointer data);
/* Removes the session from the daemon when it is reachable. */
void wsb_push_feed_free (WsbPushFeed *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPushFeed, wsb_push_feed_free)

/* The topics to follow (NULL or empty: none, the session is removed).
 * Applied now when the daemon is there, else when it is reached. */
void wsb_push_feed_set_topics (WsbPushFeed *f, const char *const *topics);
