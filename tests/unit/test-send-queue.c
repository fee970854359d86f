#include "send-queue.h"
#include "wsb-error.h"

#include <string.h>

static void
test_fifo_and_ids (void)
{
  WsbSendQueue q;
  guint64 id1, id2;

  wsb_send_queue_init (&q, 10, 1024, 16);
  g_assert_true (wsb_send_queue_push (&q, (const guint8 *) "one", 3, FALSE, &id1, NULL));
  g_assert_true (wsb_send_queue_push (&q, (const guint8 *) "\x00\x01", 2, TRUE, &id2, NULL));
  g_assert_cmpuint (id1, ==, 1);
  g_assert_cmpuint (id2, ==, 2);
  g_assert_cmpuint (wsb_send_queue_length (&q), ==, 2);
  g_assert_cmpuint (q.bytes, ==, 5);

  WsbOutMsg *m = wsb_send_queue_peek (&q);
  g_assert_cmpuint (m->id, ==, 1);
  g_assert_false (m->binary);
  g_assert_cmpmem (wsb_out_msg_payload (&q, m), m->len, "one", 3);
  /* The headroom sits before the payload. */
  g_assert_true (wsb_out_msg_payload (&q, m) == m->buf + 16);
  wsb_send_queue_drop_head (&q);
  m = wsb_send_queue_peek (&q);
  g_assert_cmpuint (m->id, ==, 2);
  g_assert_true (m->binary);
  wsb_send_queue_drop_head (&q);
  g_assert_null (wsb_send_queue_peek (&q));
  g_assert_cmpuint (q.bytes, ==, 0);
  wsb_send_queue_drop_head (&q); /* empty: harmless */
  wsb_send_queue_clear (&q);
}

static void
test_limits (void)
{
  WsbSendQueue q;
  g_autoptr (GError) error = NULL;
  guint8 buf[600] = { 0 };

  wsb_send_queue_init (&q, 2, 1000, 0);
  g_assert_true (wsb_send_queue_push (&q, buf, 600, TRUE, NULL, NULL));
  /* Bytes limit. */
  g_assert_false (wsb_send_queue_push (&q, buf, 401, TRUE, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL);
  g_clear_error (&error);
  g_assert_true (wsb_send_queue_push (&q, buf, 400, TRUE, NULL, NULL));
  /* Message limit. */
  wsb_send_queue_drop_head (&q);
  g_assert_true (wsb_send_queue_push (&q, buf, 1, TRUE, NULL, NULL));
  g_assert_false (wsb_send_queue_push (&q, buf, 1, TRUE, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL);
  g_assert_nonnull (strstr (error->message, "full"));
  g_clear_error (&error);
  /* Larger than the whole queue can ever hold: a different error. */
  wsb_send_queue_clear (&q);
  g_autofree guint8 *big = g_malloc0 (1001);
  g_assert_false (wsb_send_queue_push (&q, big, 1001, TRUE, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
  /* Empty messages are fine. */
  g_assert_true (wsb_send_queue_push (&q, NULL, 0, FALSE, NULL, NULL));
  wsb_send_queue_clear (&q);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/send-queue/fifo-and-ids", test_fifo_and_ids);
  g_test_add_func ("/send-queue/limits", test_limits);
  return g_test_run ();
}
