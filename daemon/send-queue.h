/* Bounded FIFO of outbound messages (pure logic). Each entry keeps `headroom`
 * spare bytes before its payload so it can be handed to lws_write as is. */
#pragma once

#include <glib.h>

typedef struct
{
  guint64 id;
  gboolean binary;
  gsize len;
  guint8 buf[]; /* headroom + payload */
} WsbOutMsg;

typedef struct
{
  GQueue items; /* WsbOutMsg* */
  guint64 bytes;
  guint64 max_messages;
  guint64 max_bytes;
  gsize headroom;
  guint64 next_id;
} WsbSendQueue;

void wsb_send_queue_init (WsbSendQueue *q, guint64 max_messages, guint64 max_bytes, gsize headroom);
void wsb_send_queue_clear (WsbSendQueue *q);

/* Appends a copy of data. Fails with WSB_ERROR_QUEUE_FULL when either limit
 * would be exceeded, WSB_ERROR_INVALID_ARGUMENT when the message alone is
 * larger than max_bytes. */
gboolean wsb_send_queue_push (WsbSendQueue *q, const guint8 *data, gsize len, gboolean binary,
                              guint64 *id, GError **error);

static inline WsbOutMsg *
wsb_send_queue_peek (WsbSendQueue *q)
{
  return g_queue_peek_head (&q->items);
}

static inline guint8 *
wsb_out_msg_payload (WsbSendQueue *q, WsbOutMsg *m)
{
  return m->buf + q->headroom;
}

static inline guint
wsb_send_queue_length (const WsbSendQueue *q)
{
  return q->items.length;
}

/* Removes and frees the head. */
void wsb_send_queue_drop_head (WsbSendQueue *q);
