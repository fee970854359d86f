/* One upstream WebSocket connection kept alive: resolve, connect (each
 * address in turn), keepalive, reassemble, send queue, backoff. Knows nothing
 * of subscribers or frontends; it reports to its owner through WsbSessionEvents. */
#pragma once

#include "config.h"
#include "outbox.h"
#include "upstream.h"
#include "ws-rx.h"

typedef enum
{
  WSB_STATE_DISCONNECTED,
  WSB_STATE_CONNECTING,
  WSB_STATE_OPEN,
  WSB_STATE_BACKOFF,
  WSB_STATE_CLOSING,
} WsbState;

/* Close codes the daemon itself closes with. */
#define WSB_CLOSE_NORMAL 1000
#define WSB_CLOSE_GOING_AWAY 1001

typedef struct _WsbSession WsbSession;

typedef struct
{
  void (*state_changed) (WsbSession *s, gpointer user_data);
  /* A whole inbound message, only valid during the call; a large one's
   * block may be taken instead of copied (WsbWsMessage, ws-rx.h). */
  void (*message) (WsbSession *s, WsbWsMessage *msg, gpointer user_data);
  /* The messages of one read from the upstream were all delivered. */
  void (*batch_end) (WsbSession *s, gpointer user_data);
  /* An accepted send ended (sent, expired or cancelled); reason is NULL when sent. */
  void (*send_done) (WsbSession *s, guint64 id, WsbSendResult result, const char *reason,
                     gpointer user_data);
  /* Its connection is gone (wsb_session_has_connection turned FALSE); maybe
   * in the middle of one of the session's own calls, so the owner acts on
   * it from the loop. Not called while the session is freed. */
  void (*connection_ended) (WsbSession *s, gpointer user_data);
} WsbSessionEvents;

typedef struct
{
  guint64 reconnects;
  guint64 rx_messages;
  guint64 tx_messages;
  guint64 queued_messages;
  guint64 rtt_us;
  gint64 next_retry_us; /* wall clock, 0 unless in backoff */
} WsbSessionStats;

const char *wsb_state_to_string (WsbState state);

WsbSession *wsb_session_new (WsbUpstream *up, const WsbSessionConfig *cfg,
                             const WsbSessionEvents *events, gpointer user_data);
/* Drops the connection at once (no close frame); use wsb_session_close first
 * for a clean close. */
void wsb_session_free (WsbSession *s);

const char *wsb_session_get_name (WsbSession *s);
const WsbSessionConfig *wsb_session_get_config (WsbSession *s);
WsbState wsb_session_get_state (WsbSession *s);
const char *wsb_session_get_reason (WsbSession *s);
void wsb_session_get_stats (WsbSession *s, WsbSessionStats *out);
/* The id of the last message of the feed (resume.h): every connect asks for
 * what came after it, in the query parameter resume_query. */
void wsb_session_set_resume_id (WsbSession *s, const char *id);

/* How its last open connection ended: the server's close code and reason;
 * the daemon's (1000, 1001) when it closed; 1006 when the connection
 * dropped without a close frame; 0 and "" before any ended. */
guint16 wsb_session_get_last_close (WsbSession *s, const char **reason);

/* Wants the session connected: connects now unless already connected or connecting. */
void wsb_session_connect (WsbSession *s);

/* Wants it disconnected: an open connection is closed with close_code (1000
 * or 1001) and the session ends in `disconnected`. */
void wsb_session_close (WsbSession *s, guint16 close_code, const char *reason);

/* Applies a changed configuration: the connection is closed (1001) and made
 * again with the new settings; queue, seq and subscriptions are kept. */
void wsb_session_reconfigure (WsbSession *s, const WsbSessionConfig *cfg);

/* The network came up or the machine resumed: a session in backoff retries
 * now; an open one is pinged and replaced if no pong comes within
 * pong_timeout. */
void wsb_session_wake (WsbSession *s);

/* TRUE while a connection still exists (closing takes a round trip). */
gboolean wsb_session_has_connection (WsbSession *s);

/* Queues one message; it goes out in order once the session is open, after
 * the control frames of the connection. */
gboolean wsb_session_send (WsbSession *s, const guint8 *data, gsize len, gboolean binary,
                           guint32 ttl_ms, guint64 *id, GError **error);

/* A text frame for the current connection, ahead of queued sends
 * (subscribe and unsubscribe frames). FALSE when the session is not open:
 * the frame would be meaningless on the next connection. */
gboolean wsb_session_send_control (WsbSession *s, const char *text);

/* Persists the send queue in the journal at path (queue_persist), or stops
 * persisting and deletes the journal when path is NULL. */
gboolean wsb_session_set_journal (WsbSession *s, const char *path, GError **error);

/* Every queued message ends `cancelled` with reason. */
void wsb_session_cancel_queue (WsbSession *s, const char *reason);
