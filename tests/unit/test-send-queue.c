#include "send-queue.h"
#include "wsb-error.h"

#include <string.h>

static void
test_fifo_and_ids (void)
{
  WsbSendQueue q;
  guint64 id1, id2;

  wsb_send_queue_init (&q, 10, 1024);
  g_assert_true (wsb_send_queue_push (&q, (const guint8 *) "one", 3, FALSE, 0, &id1, NULL));
  g_assert_true (wsb_send_queue_push (&q, (const guint8 *) "\x00\x01", 2, TRUE, 0, &id2, NULL));
  g_assert_cmpuint (id1, ==, 1);
  g_assert_cmpuint (id2, ==, 2);
  g_assert_cmpuint (wsb_send_queue_length (&q), ==, 2);
  g_assert_cmpuint (q.bytes, ==, 5);

  WsbOutMsg *m = wsb_send_queue_peek (&q);
  g_assert_cmpuint (m->id, ==, 1);
  g_assert_false (m->binary);
  g_assert_cmpmem (m->data, m->len, "one", 3);
  g_free (wsb_send_queue_pop (&q));
  m = wsb_send_queue_peek (&q);
  g_assert_cmpuint (m->id, ==, 2);
  g_assert_true (m->binary);
  g_free (wsb_send_queue_pop (&q));
  g_assert_null (wsb_send_queue_peek (&q));
  g_assert_cmpuint (q.bytes, ==, 0);
  g_assert_null (wsb_send_queue_pop (&q)); /* empty: harmless */
  wsb_send_queue_clear (&q);
}

static void
test_limits (void)
{
  WsbSendQueue q;
  g_autoptr (GError) error = NULL;
  guint8 buf[600] = { 0 };

  wsb_send_queue_init (&q, 2, 1000);
  g_assert_true (wsb_send_queue_push (&q, buf, 600, TRUE, 0, NULL, NULL));
  /* Bytes limit. */
  g_assert_false (wsb_send_queue_push (&q, buf, 401, TRUE, 0, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL);
  g_clear_error (&error);
  g_assert_true (wsb_send_queue_push (&q, buf, 400, TRUE, 0, NULL, NULL));
  /* Message limit. */
  g_free (wsb_send_queue_pop (&q));
  g_assert_true (wsb_send_queue_push (&q, buf, 1, TRUE, 0, NULL, NULL));
  g_assert_false (wsb_send_queue_push (&q, buf, 1, TRUE, 0, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL);
  g_assert_nonnull (strstr (error->message, "full"));
  g_clear_error (&error);
  /* Larger than the whole queue can ever hold: a different error. */
  wsb_send_queue_clear (&q);
  g_autofree guint8 *big = g_malloc0 (1001);
  g_assert_false (wsb_send_queue_push (&q, big, 1001, TRUE, 0, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
  /* Empty messages are fine. */
  g_assert_true (wsb_send_queue_push (&q, NULL, 0, FALSE, 0, NULL, NULL));
  wsb_send_queue_clear (&q);
}

static void
test_restore_keeps_everything (void)
{
  WsbSendQueue q;
  guint64 id;

  wsb_send_queue_init (&q, 1, 1024);
  /* Restored entries go in whatever the limits say, and ids continue after them. */
  wsb_send_queue_restore (&q, wsb_out_msg_new (7, FALSE, 11, (const guint8 *) "a", 1));
  wsb_send_queue_restore (&q, wsb_out_msg_new (9, TRUE, 12, (const guint8 *) "bc", 2));
  g_assert_cmpuint (wsb_send_queue_length (&q), ==, 2);
  g_assert_cmpuint (q.bytes, ==, 3);
  g_assert_false (wsb_send_queue_push (&q, (const guint8 *) "x", 1, FALSE, 0, &id, NULL));
  g_free (wsb_send_queue_pop (&q));
  g_free (wsb_send_queue_pop (&q));
  g_assert_true (wsb_send_queue_push (&q, (const guint8 *) "x", 1, FALSE, 13, &id, NULL));
  g_assert_cmpuint (id, ==, 10);
  g_assert_cmpint (wsb_send_queue_peek (&q)->queued_us, ==, 13);
  wsb_send_queue_clear (&q);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/send-queue/fifo-and-ids", test_fifo_and_ids);
  g_test_add_func ("/send-queue/limits", test_limits);
  g_test_add_func ("/send-queue/restore", test_restore_keeps_everything);
  return g_test_run ();
}
