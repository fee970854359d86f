#include "send-queue.h"

#include <string.h>

#include "wsb-error.h"

void
wsb_send_queue_init (WsbSendQueue *q, guint64 max_messages, guint64 max_bytes, gsize headroom)
{
  g_queue_init (&q->items);
  q->bytes = 0;
  q->max_messages = max_messages;
  q->max_bytes = max_bytes;
  q->headroom = headroom;
  q->next_id = 1;
}

void
wsb_send_queue_clear (WsbSendQueue *q)
{
  g_queue_clear_full (&q->items, g_free);
  q->bytes = 0;
}

gboolean
wsb_send_queue_push (WsbSendQueue *q, const guint8 *data, gsize len, gboolean binary,
                     guint64 *id, GError **error)
{
  WsbOutMsg *m;

  if (len > q->max_bytes)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "message of %" G_GSIZE_FORMAT " bytes is larger than the session's "
                   "queue_max_bytes (%" G_GUINT64_FORMAT ")",
                   len, q->max_bytes);
      return FALSE;
    }
  if (q->items.length >= q->max_messages || q->bytes + len > q->max_bytes)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL,
                   "send queue is full (%u messages, %" G_GUINT64_FORMAT " bytes; limits %"
                   G_GUINT64_FORMAT " messages, %" G_GUINT64_FORMAT " bytes)",
                   q->items.length, q->bytes, q->max_messages, q->max_bytes);
      return FALSE;
    }
  m = g_malloc (sizeof *m + q->headroom + len);
  m->id = q->next_id++;
  m->binary = binary;
  m->len = len;
  if (len)
    memcpy (m->buf + q->headroom, data, len);
  g_queue_push_tail (&q->items, m);
  q->bytes += len;
  if (id)
    *id = m->id;
  return TRUE;
}

void
wsb_send_queue_drop_head (WsbSendQueue *q)
{
  WsbOutMsg *m = g_queue_pop_head (&q->items);

  if (!m)
    return;
  q->bytes -= m->len;
  g_free (m);
}
