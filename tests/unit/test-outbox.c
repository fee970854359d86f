#include "config.h"
#include "outbox.h"
#include "test-util.h"
#include "wsb-error.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct
{
  guint64 id;
  WsbSendResult result;
  char *reason;
} Outcome;

static void
outcome_clear (gpointer data)
{
  g_free (((Outcome *) data)->reason);
}

static void
record (guint64 id, WsbSendResult result, const char *reason, gpointer data)
{
  Outcome o = { id, result, g_strdup (reason) };

  g_array_append_val ((GArray *) data, o);
}

static GArray *
new_log (void)
{
  GArray *log = g_array_new (FALSE, TRUE, sizeof (Outcome));

  g_array_set_clear_func (log, outcome_clear);
  return log;
}

static WsbSessionConfig *
config (guint64 max_messages, guint64 ttl_ms)
{
  WsbSessionConfig *cfg = wsb_session_config_new_default ("t");

  cfg->queue_max_messages = max_messages;
  cfg->queue_ttl_ms = ttl_ms;
  return cfg;
}

static void
push_text (WsbOutbox *ob, const char *text, guint64 *id)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (wsb_outbox_push (ob, (const guint8 *) text, strlen (text), FALSE, 0, id, &error));
  g_assert_no_error (error);
}

/* Writes the next message and returns its text. */
static char *
write_next (WsbOutbox *ob)
{
  WsbOutMsg *m = wsb_outbox_begin (ob);
  char *text;

  g_assert_nonnull (m);
  text = g_strndup ((const char *) m->data, m->len);
  wsb_outbox_written (ob);
  return text;
}

static void
test_control_first_and_outcomes (void)
{
  g_autoptr (WsbSessionConfig) cfg = config (10, 0);
  g_autoptr (GArray) log = new_log ();
  WsbOutbox *ob = wsb_outbox_new (cfg, record, log);
  guint64 a, b;

  push_text (ob, "a", &a);
  push_text (ob, "b", &b);
  g_assert_cmpuint (b, ==, a + 1);
  wsb_outbox_push_control (ob, "login");
  wsb_outbox_push_control (ob, "subscribe");
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 2);

  g_autofree char *t1 = write_next (ob);
  g_autofree char *t2 = write_next (ob);
  g_autofree char *t3 = write_next (ob);
  g_assert_cmpstr (t1, ==, "login");
  g_assert_cmpstr (t2, ==, "subscribe");
  g_assert_cmpstr (t3, ==, "a");
  /* Control frames have no outcome; a queued message is sent once written. */
  g_assert_cmpuint (log->len, ==, 1);
  g_assert_cmpuint (g_array_index (log, Outcome, 0).id, ==, a);
  g_assert_cmpint (g_array_index (log, Outcome, 0).result, ==, WSB_SEND_SENT);
  g_assert_null (g_array_index (log, Outcome, 0).reason);

  /* While a message is in flight nothing else is handed out. */
  g_assert_nonnull (wsb_outbox_begin (ob));
  g_assert_true (wsb_outbox_in_flight (ob));
  g_assert_null (wsb_outbox_begin (ob));
  /* The connection ends before it was written: it stays queued. */
  wsb_outbox_push_control (ob, "unsubscribe");
  wsb_outbox_connection_ended (ob);
  g_assert_false (wsb_outbox_in_flight (ob));
  g_autofree char *t4 = write_next (ob);
  g_assert_cmpstr (t4, ==, "b");
  g_assert_null (wsb_outbox_begin (ob));
  g_assert_false (wsb_outbox_has_pending (ob));

  push_text (ob, "c", NULL);
  wsb_outbox_cancel_all (ob, "session removed");
  g_assert_cmpuint (log->len, ==, 3);
  g_assert_cmpint (g_array_index (log, Outcome, 2).result, ==, WSB_SEND_CANCELLED);
  g_assert_cmpstr (g_array_index (log, Outcome, 2).reason, ==, "session removed");
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 0);
  wsb_outbox_free (ob);
}

static void
test_full_queue_refused (void)
{
  g_autoptr (WsbSessionConfig) cfg = config (1, 0);
  g_autoptr (GArray) log = new_log ();
  g_autoptr (GError) error = NULL;
  WsbOutbox *ob = wsb_outbox_new (cfg, record, log);

  push_text (ob, "a", NULL);
  g_assert_false (wsb_outbox_push (ob, (const guint8 *) "b", 1, FALSE, 0, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL);
  /* Refused at once: no outcome follows. */
  g_assert_cmpuint (log->len, ==, 0);
  wsb_outbox_free (ob);
}

static void
test_ttl_expires_but_not_in_flight (void)
{
  g_autoptr (WsbSessionConfig) cfg = config (10, 50);
  g_autoptr (GArray) log = new_log ();
  WsbOutbox *ob = wsb_outbox_new (cfg, record, log);
  guint64 a, b;

  push_text (ob, "a", &a);
  push_text (ob, "b", &b);
  /* "a" is being written when the deadline passes: it is not expired. */
  g_assert_nonnull (wsb_outbox_begin (ob));
  wsb_test_run_ms (150);
  g_assert_cmpuint (log->len, ==, 1);
  g_assert_cmpuint (g_array_index (log, Outcome, 0).id, ==, b);
  g_assert_cmpint (g_array_index (log, Outcome, 0).result, ==, WSB_SEND_EXPIRED);
  g_assert_nonnull (strstr (g_array_index (log, Outcome, 0).reason, "queue_ttl_ms (50 ms)"));
  wsb_outbox_written (ob);
  g_assert_cmpuint (log->len, ==, 2);
  g_assert_cmpuint (g_array_index (log, Outcome, 1).id, ==, a);
  g_assert_cmpint (g_array_index (log, Outcome, 1).result, ==, WSB_SEND_SENT);

  /* A reload that sets a TTL applies to what is queued already. */
  cfg->queue_ttl_ms = 0;
  wsb_outbox_configure (ob, cfg);
  push_text (ob, "c", NULL);
  wsb_test_run_ms (80);
  g_assert_cmpuint (log->len, ==, 2);
  cfg->queue_ttl_ms = 20;
  wsb_outbox_configure (ob, cfg);
  g_assert_cmpuint (log->len, ==, 3);
  g_assert_cmpint (g_array_index (log, Outcome, 2).result, ==, WSB_SEND_EXPIRED);
  wsb_outbox_free (ob);
}

static void
test_own_ttl (void)
{
  g_autofree char *dir = wsb_test_tmp_dir ("wsb-outbox-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "t.journal", NULL);
  g_autoptr (WsbSessionConfig) cfg = config (10, 0);
  g_autoptr (GArray) log = new_log ();
  g_autoptr (GError) error = NULL;
  WsbOutbox *ob = wsb_outbox_new (cfg, record, log);
  guint64 slow, fast;

  /* A message with a short TTL of its own expires behind one without. */
  push_text (ob, "no-ttl", NULL);
  g_assert_true (wsb_outbox_push (ob, (const guint8 *) "slow", 4, FALSE, 10000, &slow, NULL));
  g_assert_true (wsb_outbox_push (ob, (const guint8 *) "fast", 4, FALSE, 30, &fast, NULL));
  wsb_test_run_ms (120);
  g_assert_cmpuint (log->len, ==, 1);
  g_assert_cmpuint (g_array_index (log, Outcome, 0).id, ==, fast);
  g_assert_nonnull (strstr (g_array_index (log, Outcome, 0).reason, "its ttl_ms (30 ms)"));
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 2);

  /* The TTL of its own survives in the journal. */
  g_assert_true (wsb_outbox_set_journal (ob, path, &error));
  wsb_outbox_free (ob);
  ob = wsb_outbox_new (cfg, record, log);
  g_assert_true (wsb_outbox_set_journal (ob, path, &error));
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 2);
  g_autofree char *t1 = write_next (ob);
  g_assert_cmpstr (t1, ==, "no-ttl");
  g_assert_cmpuint (((WsbOutMsg *) wsb_outbox_begin (ob))->ttl_ms, ==, 10000);
  wsb_outbox_written (ob);
  g_assert_true (wsb_outbox_set_journal (ob, NULL, &error));
  wsb_outbox_free (ob);
  wsb_test_rm_rf (dir);
}

static void
test_journal_restores_under_new_ids (void)
{
  g_autofree char *dir = wsb_test_tmp_dir ("wsb-outbox-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "queues", "t.journal", NULL);
  g_autoptr (WsbSessionConfig) cfg = config (10, 0);
  g_autoptr (GArray) log = new_log ();
  g_autoptr (GError) error = NULL;
  WsbOutbox *ob = wsb_outbox_new (cfg, record, log);
  guint64 id;

  push_text (ob, "before", NULL);
  g_assert_true (wsb_outbox_set_journal (ob, path, &error));
  g_assert_no_error (error);
  push_text (ob, "one", NULL);
  push_text (ob, "two", NULL);
  g_free (write_next (ob)); /* "before" is sent and leaves the journal */
  wsb_outbox_free (ob);

  /* A new run: its own queue first, then the journal's under new ids. */
  ob = wsb_outbox_new (cfg, record, log);
  push_text (ob, "fresh", &id);
  g_assert_cmpuint (id, ==, 1);
  g_assert_true (wsb_outbox_set_journal (ob, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 3);
  g_autofree char *t1 = write_next (ob);
  g_autofree char *t2 = write_next (ob);
  g_assert_cmpstr (t1, ==, "fresh");
  g_assert_cmpstr (t2, ==, "one");
  push_text (ob, "three", &id);
  g_assert_cmpuint (id, ==, 4);
  wsb_outbox_free (ob);

  /* What was left ("two", "three") survives another restart. */
  ob = wsb_outbox_new (cfg, record, log);
  g_assert_true (wsb_outbox_set_journal (ob, path, &error));
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 2);
  g_autofree char *t3 = write_next (ob);
  g_assert_cmpstr (t3, ==, "two");
  /* Stopping persistence deletes the journal; the queue stays in memory. */
  g_assert_true (wsb_outbox_set_journal (ob, NULL, &error));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (wsb_outbox_length (ob), ==, 1);
  wsb_outbox_free (ob);

  wsb_test_rm_rf (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/outbox/control-first-and-outcomes", test_control_first_and_outcomes);
  g_test_add_func ("/outbox/full-queue-refused", test_full_queue_refused);
  g_test_add_func ("/outbox/ttl", test_ttl_expires_but_not_in_flight);
  g_test_add_func ("/outbox/own-ttl", test_own_ttl);
  g_test_add_func ("/outbox/journal", test_journal_restores_under_new_ids);
  return g_test_run ();
}
