/* Bounded FIFO of outbound messages (pure logic). The WebSocket client
 * frames each payload into its own write buffer (ws-client-output.c), so an
 * entry is its head and the payload, nothing more. */
#pragma once

#include <glib.h>

typedef struct
{
  guint64 id;
  gboolean binary;
  gint64 queued_us; /* wall clock when it was queued (queue_ttl_ms counts from here) */
  guint32 ttl_ms;   /* its own TTL; 0: the session's */
  gsize len;
  guint8 data[]; /* the payload */
} WsbOutMsg;

typedef struct
{
  GQueue items; /* WsbOutMsg* */
  guint64 bytes;
  guint64 max_messages;
  guint64 max_bytes;
  guint64 next_id;
} WsbSendQueue;

void wsb_send_queue_init (WsbSendQueue *q, guint64 max_messages, guint64 max_bytes);
void wsb_send_queue_clear (WsbSendQueue *q);

/* A message, not in any queue yet; free with g_free. */
WsbOutMsg *wsb_out_msg_new (guint64 id, gboolean binary, gint64 queued_us, const guint8 *data,
                            gsize len);

/* Checks that one more message of len bytes fits: WSB_ERROR_QUEUE_FULL when
 * either limit would be exceeded, WSB_ERROR_INVALID_ARGUMENT when the
 * message alone is larger than max_bytes. */
gboolean wsb_send_queue_check (const WsbSendQueue *q, gsize len, GError **error);

/* Appends a copy of data with the next id, after wsb_send_queue_check. */
gboolean wsb_send_queue_push (WsbSendQueue *q, const guint8 *data, gsize len, gboolean binary,
                              gint64 queued_us, guint64 *id, GError **error);

/* Appends m (taking it) whatever the limits: messages restored from a
 * journal are never dropped. Ids continue after the largest seen. */
void wsb_send_queue_restore (WsbSendQueue *q, WsbOutMsg *m);

static inline WsbOutMsg *
wsb_send_queue_peek (WsbSendQueue *q)
{
  return g_queue_peek_head (&q->items);
}

static inline guint
wsb_send_queue_length (const WsbSendQueue *q)
{
  return q->items.length;
}

/* Removes the n-th message (0: the head) and returns it (the caller frees
 * it with g_free), or NULL. */
WsbOutMsg *wsb_send_queue_pop_nth (WsbSendQueue *q, guint n);

/* Removes the message of link l (a link of q->items) and returns it. */
WsbOutMsg *wsb_send_queue_remove_link (WsbSendQueue *q, GList *l);

static inline WsbOutMsg *
wsb_send_queue_pop (WsbSendQueue *q)
{
  return wsb_send_queue_pop_nth (q, 0);
}
