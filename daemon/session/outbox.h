/* What one session sends upstream: the control frames of the current
 * connection (on_connect, subscribe and unsubscribe frames) first, then the
 * bounded send queue of local clients, with queue_ttl_ms expiry, the
 * optional journal (queue_persist) and exactly one outcome per accepted send.
 * Knows nothing of the connection: the session asks for the next message to
 * write and says when it was written. */
#pragma once

#include "config.h"
#include "send-queue.h"

typedef enum
{
  WSB_SEND_SENT = 1,      /* handed to the socket */
  WSB_SEND_EXPIRED = 2,   /* waited longer than queue_ttl_ms */
  WSB_SEND_CANCELLED = 4, /* the session was removed, or the daemon stopped without a journal */
} WsbSendResult;

const char *wsb_send_result_to_string (WsbSendResult result);

typedef void (*WsbOutcomeFunc) (guint64 id, WsbSendResult result, const char *reason,
                                gpointer data);

typedef struct _WsbOutbox WsbOutbox;

WsbOutbox *wsb_outbox_new (const WsbSessionConfig *cfg, WsbOutcomeFunc outcome, gpointer data);
/* Closes the journal (its entries stay for the next start) and frees what
 * is queued without outcomes: use wsb_outbox_cancel_all first if they are
 * not to survive. */
void wsb_outbox_free (WsbOutbox *ob);

/* Limits and queue_ttl_ms from cfg (on creation and reload). */
void wsb_outbox_configure (WsbOutbox *ob, const WsbSessionConfig *cfg);

/* Persists the queue in the journal at path: replays what it holds (those
 * messages get new ids and go out after the ones already queued) and writes
 * what is queued now into it. path NULL stops persisting and deletes the
 * journal. */
gboolean wsb_outbox_set_journal (WsbOutbox *ob, const char *path, GError **error);

/* Queues a message of a local client; ttl_ms 0: the session's queue_ttl_ms. */
gboolean wsb_outbox_push (WsbOutbox *ob, const guint8 *data, gsize len, gboolean binary,
                          guint32 ttl_ms, guint64 *id, GError **error);

/* A text frame for the current connection only, ahead of the queue. */
void wsb_outbox_push_control (WsbOutbox *ob, const char *text);
/* The connection is gone: control frames are dropped, a message being
 * written stays queued. */
void wsb_outbox_connection_ended (WsbOutbox *ob);

/* The message to write next (control frames first; expired messages are
 * reported and skipped), or NULL. It is "in flight" until
 * wsb_outbox_written: kept and never expired. Calling it again while a
 * message is in flight returns NULL. */
WsbOutMsg *wsb_outbox_begin (WsbOutbox *ob);
/* The in-flight message is fully handed to the socket: a queued one is
 * reported `sent` and leaves the journal (then TRUE; FALSE for a control
 * frame). */
gboolean wsb_outbox_written (WsbOutbox *ob);
gboolean wsb_outbox_in_flight (WsbOutbox *ob);

/* Every queued message is reported `cancelled` with reason and leaves the journal. */
void wsb_outbox_cancel_all (WsbOutbox *ob, const char *reason);

guint wsb_outbox_length (WsbOutbox *ob);
/* Something waits to be written (control or queued). */
gboolean wsb_outbox_has_pending (WsbOutbox *ob);
