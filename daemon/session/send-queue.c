#include "send-queue.h"

#include <string.h>

#include "wsb-error.h"

void
wsb_send_queue_init (WsbSendQueue *q, guint64 max_messages, guint64 max_bytes)
{
  g_queue_init (&q->items);
  q->bytes = 0;
  q->max_messages = max_messages;
  q->max_bytes = max_bytes;
  q->next_id = 1;
}

void
wsb_send_queue_clear (WsbSendQueue *q)
{
  g_queue_clear_full (&q->items, g_free);
  q->bytes = 0;
}

WsbOutMsg *
wsb_out_msg_new (guint64 id, gboolean binary, gint64 queued_us, const guint8 *data, gsize len)
{
  WsbOutMsg *m = g_malloc (sizeof *m + len);

  m->id = id;
  m->binary = binary;
  m->queued_us = queued_us;
  m->ttl_ms = 0;
  m->len = len;
  if (len)
    memcpy (m->data, data, len);
  return m;
}

gboolean
wsb_send_queue_check (const WsbSendQueue *q, gsize len, GError **error)
{
  if (len > q->max_bytes)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "message of %" G_GSIZE_FORMAT " bytes is larger than the session's "
                   "queue_max_bytes (%" G_GUINT64_FORMAT "): every send passes through the "
                   "send queue, so that is also the largest message the session sends "
                   "(raise queue_max_bytes for larger ones)",
                   len, q->max_bytes);
      return FALSE;
    }
  if (q->items.length >= q->max_messages || q->bytes + len > q->max_bytes)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL,
                   "send queue is full (%u messages, %" G_GUINT64_FORMAT
                   " bytes; limits %" G_GUINT64_FORMAT " messages, %" G_GUINT64_FORMAT " bytes)",
                   q->items.length, q->bytes, q->max_messages, q->max_bytes);
      return FALSE;
    }
  return TRUE;
}

gboolean
wsb_send_queue_push (WsbSendQueue *q, const guint8 *data, gsize len, gboolean binary,
                     gint64 queued_us, guint64 *id, GError **error)
{
  if (!wsb_send_queue_check (q, len, error))
    return FALSE;
  wsb_send_queue_restore (q, wsb_out_msg_new (q->next_id, binary, queued_us, data, len));
  if (id)
    *id = q->next_id - 1;
  return TRUE;
}

void
wsb_send_queue_restore (WsbSendQueue *q, WsbOutMsg *m)
{
  g_queue_push_tail (&q->items, m);
  q->bytes += m->len;
  q->next_id = MAX (q->next_id, m->id + 1);
}

WsbOutMsg *
wsb_send_queue_pop_nth (WsbSendQueue *q, guint n)
{
  WsbOutMsg *m = g_queue_pop_nth (&q->items, n);

  if (m)
    q->bytes -= m->len;
  return m;
}

WsbOutMsg *
wsb_send_queue_remove_link (WsbSendQueue *q, GList *l)
{
  WsbOutMsg *m = l->data;

  g_queue_delete_link (&q->items, l);
  q->bytes -= m->len;
  return m;
}
