/* The hub driven through a fake session (hub-private.h, HubSessionOps): no
 * WebSocket, no main loop unless a case needs one. The fake records the
 * control frames the hub sends and the sends it queues; the test plays the
 * upstream side by calling the hub's WsbSessionEvents. */
#include "hub-private.h"

#include <glib/gstdio.h>
#include <string.h>

#include "wsb-error.h"

/* ------------------------------------------------------- fake session */

typedef struct
{
  WsbSessionConfig *cfg;
  const WsbSessionEvents *events;
  gpointer user_data;
  WsbState state;
  gboolean conn;
  GPtrArray *control; /* char*: frames the hub sent upstream */
  guint64 next_id;
} FakeSession;

/* The last session made, for the test to drive. */
static FakeSession *last_fake;

#define FAKE(s) ((FakeSession *) (s))

static WsbSession *
fake_new (WsbUpstream *up, const WsbSessionConfig *cfg, const WsbSessionEvents *events,
          gpointer user_data)
{
  FakeSession *f = g_new0 (FakeSession, 1);

  f->cfg = wsb_session_config_copy (cfg);
  f->events = events;
  f->user_data = user_data;
  f->state = WSB_STATE_DISCONNECTED;
  f->control = g_ptr_array_new_with_free_func (g_free);
  f->next_id = 1;
  last_fake = f;
  return (WsbSession *) f;
}

static void
fake_free (WsbSession *s)
{
  wsb_session_config_free (FAKE (s)->cfg);
  g_ptr_array_unref (FAKE (s)->control);
  g_free (s);
}

static const WsbSessionConfig *
fake_get_config (WsbSession *s)
{
  return FAKE (s)->cfg;
}

static WsbState
fake_get_state (WsbSession *s)
{
  return FAKE (s)->state;
}

static const char *
fake_get_reason (WsbSession *s)
{
  return "fake";
}

static void
fake_get_stats (WsbSession *s, WsbSessionStats *out)
{
  memset (out, 0, sizeof *out);
}

static guint16
fake_get_last_close (WsbSession *s, const char **reason)
{
  *reason = "";
  return 0;
}

static void
fake_set_resume_id (WsbSession *s, const char *id)
{
}

static void
set_state (FakeSession *f, WsbState state)
{
  f->state = state;
  f->events->state_changed ((WsbSession *) f, f->user_data);
}

static void
fake_connect (WsbSession *s)
{
  FAKE (s)->conn = TRUE;
  set_state (FAKE (s), WSB_STATE_CONNECTING);
}

/* Like the real one: an open connection closes after a round trip
 * (fake_connection_ends), anything else at once. */
static void
fake_close (WsbSession *s, guint16 close_code, const char *reason)
{
  FakeSession *f = FAKE (s);

  if (f->conn && f->state == WSB_STATE_OPEN)
    {
      set_state (f, WSB_STATE_CLOSING);
      return;
    }
  if (f->conn)
    {
      f->conn = FALSE;
      f->events->connection_ended (s, f->user_data);
    }
  set_state (f, WSB_STATE_DISCONNECTED);
}

static void
fake_reconfigure (WsbSession *s, const WsbSessionConfig *cfg)
{
  wsb_session_config_free (FAKE (s)->cfg);
  FAKE (s)->cfg = wsb_session_config_copy (cfg);
}

static void
fake_wake (WsbSession *s)
{
}

static gboolean
fake_has_connection (WsbSession *s)
{
  return FAKE (s)->conn;
}

static gboolean
fake_send (WsbSession *s, const guint8 *data, gsize len, gboolean binary, guint32 ttl_ms,
           guint64 *id, GError **error)
{
  *id = FAKE (s)->next_id++;
  return TRUE;
}

static gboolean
fake_send_control (WsbSession *s, const char *text)
{
  if (FAKE (s)->state != WSB_STATE_OPEN)
    return FALSE;
  g_ptr_array_add (FAKE (s)->control, g_strdup (text));
  return TRUE;
}

static gboolean
fake_set_journal (WsbSession *s, const char *path, GError **error)
{
  return TRUE;
}

static void
fake_cancel_queue (WsbSession *s, const char *reason)
{
}

static const HubSessionOps fake_ops = {
  .new = fake_new,
  .free = fake_free,
  .get_config = fake_get_config,
  .get_state = fake_get_state,
  .get_reason = fake_get_reason,
  .get_stats = fake_get_stats,
  .get_last_close = fake_get_last_close,
  .set_resume_id = fake_set_resume_id,
  .connect = fake_connect,
  .close = fake_close,
  .reconfigure = fake_reconfigure,
  .wake = fake_wake,
  .has_connection = fake_has_connection,
  .send = fake_send,
  .send_control = fake_send_control,
  .set_journal = fake_set_journal,
  .cancel_queue = fake_cancel_queue,
};

/* The upstream side. */

static void
fake_open (FakeSession *f)
{
  f->conn = TRUE;
  set_state (f, WSB_STATE_OPEN);
}

static void
fake_connection_ends (FakeSession *f)
{
  f->conn = FALSE;
  f->events->connection_ended ((WsbSession *) f, f->user_data);
  set_state (f, WSB_STATE_DISCONNECTED);
}

/* One read from upstream bringing texts. */
static void
fake_receive (FakeSession *f, const char *const *texts)
{
  for (guint i = 0; texts[i]; i++)
    {
      WsbWsMessage msg = { (const guint8 *) texts[i], strlen (texts[i]), FALSE, NULL };
      f->events->message ((WsbSession *) f, &msg, f->user_data);
    }
  f->events->batch_end ((WsbSession *) f, f->user_data);
}

/* -------------------------------------------------------- the fixture */

typedef struct
{
  char *dir;
  WsbHub *hub;
  FakeSession *fake;
} Fixture;

/* A hub with one session, "feed", of these extra settings, open. */
static void
fixture_init (Fixture *fx, const char *settings)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbConfig) cfg = wsb_config_new ();
  g_autofree char *text
      = g_strdup_printf ("[session feed]\nurl=ws://127.0.0.1:9/\n%s", settings ? settings : "");

  fx->dir = g_dir_make_tmp ("test-hub-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (wsb_config_parse_text (cfg, "test.conf", text, strlen (text), NULL, &error));
  g_assert_no_error (error);
  fx->hub = hub_new_with_ops (NULL, fx->dir, fx->dir, &fake_ops);
  g_assert_true (wsb_hub_add_session (fx->hub, g_ptr_array_index (cfg->sessions, 0), &error));
  fx->fake = last_fake;
  fake_open (fx->fake);
}

static void
fixture_clear (Fixture *fx)
{
  wsb_hub_free (fx->hub);
  g_rmdir (fx->dir);
  g_free (fx->dir);
}

static guint64
epoch_of (Fixture *fx)
{
  WsbSessionStatus st = { 0 };
  guint64 epoch;

  g_assert_true (wsb_hub_get_status (fx->hub, wsb_peer_daemon (), "feed", &st, NULL));
  epoch = st.epoch;
  wsb_session_status_clear (&st);
  return epoch;
}

/* Messages {"ch":"a|b","n":1..count}, alternating a, b, a, ... from seq 1. */
static void
receive_numbered (Fixture *fx, guint count)
{
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 1; i <= count; i++)
    g_ptr_array_add (texts, g_strdup_printf ("{\"ch\":\"%s\",\"n\":%u}", i % 2 ? "a" : "b", i));
  g_ptr_array_add (texts, NULL);
  fake_receive (fx->fake, (const char *const *) texts->pdata);
}

/* ------------------------------------------------------ a subscriber */

/* What one subscriber got, as text: "3 5 gap:1-2 ..." (seqs of messages). */
typedef struct
{
  GString *got;
  gboolean ended;
} Recorder;

/* The recorder's text, a space after what it holds already. */
static GString *
rec_next (Recorder *r)
{
  if (r->got->len)
    g_string_append_c (r->got, ' ');
  return r->got;
}

static void
on_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  g_string_append_printf (rec_next (data), "%" G_GUINT64_FORMAT, m->seq);
}

static void
on_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  g_string_append_printf (rec_next (data), "gap:%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, from_seq,
                          to_seq);
}

static void
on_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
}

static void
on_ended (WsbSubscription *sub, gpointer data)
{
  ((Recorder *) data)->ended = TRUE;
}

static const WsbSubscriberFuncs rec_funcs = { on_message, on_gap, on_state, on_ended };

static WsbSubscription *
subscribe (Fixture *fx, Recorder *r, const char *channel, guint64 since, guint64 epoch)
{
  g_autoptr (GError) error = NULL;
  WsbSubscription *sub;

  if (!r->got)
    r->got = g_string_new (NULL);
  sub = wsb_hub_subscribe (fx->hub, wsb_peer_daemon (), "feed", channel, since, epoch, &rec_funcs,
                           r, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sub);
  wsb_hub_catch_up (sub);
  return sub;
}

static void
recorder_clear (Recorder *r)
{
  if (r->got)
    g_string_free (r->got, TRUE);
}

/* ------------------------------------------------------------- cases */

static void
test_catch_up_replays_after_since (void)
{
  Fixture fx;
  Recorder all = { 0 }, a = { 0 }, live = { 0 };
  WsbSubscription *s1, *s2, *s3;

  fixture_init (&fx, "channel_key=/ch\n");
  receive_numbered (&fx, 6);
  s1 = subscribe (&fx, &all, "*", 2, epoch_of (&fx));
  g_assert_cmpstr (all.got->str, ==, "3 4 5 6");
  /* Since 0 of the epoch: all of the channel's history. */
  s2 = subscribe (&fx, &a, "a", 0, epoch_of (&fx));
  g_assert_cmpstr (a.got->str, ==, "1 3 5");
  /* Epoch 0: live only. */
  s3 = subscribe (&fx, &live, "*", 0, 0);
  g_assert_cmpstr (live.got->str, ==, "");
  receive_numbered (&fx, 1); /* seq 7, channel a */
  g_assert_cmpstr (all.got->str, ==, "3 4 5 6 7");
  g_assert_cmpstr (a.got->str, ==, "1 3 5 7");
  g_assert_cmpstr (live.got->str, ==, "7");
  /* Up to date: nothing to replay. */
  wsb_hub_unsubscribe (s1);
  g_string_truncate (all.got, 0);
  s1 = subscribe (&fx, &all, "*", 7, epoch_of (&fx));
  g_assert_cmpstr (all.got->str, ==, "");
  wsb_hub_unsubscribe (s1);
  wsb_hub_unsubscribe (s2);
  wsb_hub_unsubscribe (s3);
  fixture_clear (&fx);
  recorder_clear (&all);
  recorder_clear (&a);
  recorder_clear (&live);
}

static void
test_since_beyond_last_seq_is_refused (void)
{
  g_autoptr (GError) error = NULL;
  Fixture fx;

  fixture_init (&fx, NULL);
  receive_numbered (&fx, 2);
  g_assert_null (wsb_hub_subscribe (fx.hub, wsb_peer_daemon (), "feed", "*", 3, epoch_of (&fx),
                                    &rec_funcs, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (
      wsb_hub_subscribe (fx.hub, wsb_peer_daemon (), "feed", "*", 1, 0, &rec_funcs, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
  fixture_clear (&fx);
}

static void
test_gaps_for_what_the_history_lost (void)
{
  Fixture fx;
  Recorder old = { 0 }, other = { 0 }, chan = { 0 };
  WsbSubscription *s1, *s2, *s3;

  fixture_init (&fx, "channel_key=/ch\nhistory_messages=3\n");
  receive_numbered (&fx, 8);
  /* "*" holds 6..8: what came after 1 and is gone is one gap. */
  s1 = subscribe (&fx, &old, "*", 1, epoch_of (&fx));
  g_assert_cmpstr (old.got->str, ==, "gap:2-5 6 7 8");
  /* Another epoch: nothing lines up, one gap for all of this one. */
  s2 = subscribe (&fx, &other, "*", 4, epoch_of (&fx) ^ 1);
  g_assert_cmpstr (other.got->str, ==, "gap:1-8");
  /* Channel a holds 3 5 7: it lost its message 1, so it vouches only for
   * what came after that, and seq 1 is a gap (seq 2 was b's, not lost). */
  s3 = subscribe (&fx, &chan, "a", 0, epoch_of (&fx));
  g_assert_cmpstr (chan.got->str, ==, "gap:1-1 3 5 7");
  wsb_hub_unsubscribe (s1);
  wsb_hub_unsubscribe (s2);
  wsb_hub_unsubscribe (s3);
  fixture_clear (&fx);
  recorder_clear (&old);
  recorder_clear (&other);
  recorder_clear (&chan);
}

static void
on_state_recorded (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
  g_string_append_printf (rec_next (data), "state:%s", wsb_state_to_string (ev->status.state));
}

static const WsbSubscriberFuncs rec_state_funcs
    = { on_message, on_gap, on_state_recorded, on_ended };

static void
test_messages_elsewhere_skip_only_live_messages (void)
{
  g_autoptr (GError) error = NULL;
  Fixture fx;
  Recorder ring = { .got = g_string_new (NULL) }, plain = { 0 };
  WsbSubscription *s1, *s2;

  fixture_init (&fx, NULL);
  receive_numbered (&fx, 2);
  s1 = wsb_hub_subscribe (fx.hub, wsb_peer_daemon (), "feed", "*", 0, epoch_of (&fx),
                          &rec_state_funcs, &ring, &error);
  g_assert_no_error (error);
  /* Catch-up comes as ever; then live messages go elsewhere. */
  wsb_hub_catch_up (s1);
  wsb_subscription_set_messages_elsewhere (s1);
  s2 = subscribe (&fx, &plain, "*", 0, 0);
  receive_numbered (&fx, 2);
  g_assert_cmpstr (plain.got->str, ==, "3 4");
  /* State changes and the end still come. */
  fake_connection_ends (fx.fake);
  g_assert_cmpstr (ring.got->str, ==, "1 2 state:disconnected");
  g_assert_false (ring.ended);
  wsb_hub_unsubscribe (s1);
  wsb_hub_unsubscribe (s2);
  fixture_clear (&fx);
  recorder_clear (&ring);
  recorder_clear (&plain);
}

static void
test_upstream_subscriptions_are_refcounted (void)
{
  Fixture fx;
  Recorder r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
  WsbSubscription *s1, *s2, *s3;
  GPtrArray *control;

  fixture_init (&fx, "channel_key=/ch\n"
                     "subscribe_template={\"op\":\"sub\",\"ch\":\"{channel}\"}\n"
                     "unsubscribe_template={\"op\":\"unsub\",\"ch\":\"{channel}\"}\n");
  control = fx.fake->control;
  s1 = subscribe (&fx, &r1, "btc", 0, 0);
  s2 = subscribe (&fx, &r2, "btc", 0, 0);
  g_assert_cmpuint (control->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (control, 0), ==, "{\"op\":\"sub\",\"ch\":\"btc\"}");
  /* "*" is never subscribed upstream. */
  s3 = subscribe (&fx, &r3, "*", 0, 0);
  g_assert_cmpuint (control->len, ==, 1);
  wsb_hub_unsubscribe (s1);
  g_assert_cmpuint (control->len, ==, 1);
  wsb_hub_unsubscribe (s2);
  g_assert_cmpuint (control->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (control, 1), ==, "{\"op\":\"unsub\",\"ch\":\"btc\"}");
  /* After a reconnect, a channel with subscribers is subscribed again, once. */
  s1 = subscribe (&fx, &r1, "eth", 0, 0);
  s2 = subscribe (&fx, &r2, "eth", 0, 0);
  g_assert_cmpuint (control->len, ==, 3);
  set_state (fx.fake, WSB_STATE_BACKOFF);
  fake_open (fx.fake);
  g_assert_cmpuint (control->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (control, 3), ==, "{\"op\":\"sub\",\"ch\":\"eth\"}");
  wsb_hub_unsubscribe (s1);
  wsb_hub_unsubscribe (s2);
  wsb_hub_unsubscribe (s3);
  g_assert_cmpuint (control->len, ==, 5);
  fixture_clear (&fx);
  recorder_clear (&r1);
  recorder_clear (&r2);
  recorder_clear (&r3);
}

static void
test_history_is_bounded (void)
{
  g_autoptr (GError) error = NULL;
  Fixture fx;
  WsbHistoryResult h;

  fixture_init (&fx, "channel_key=/ch\nhistory_messages=3\n");
  receive_numbered (&fx, 8);
  g_assert_true (wsb_hub_history (fx.hub, wsb_peer_daemon (), "feed", "*", 0, &h, &error));
  g_assert_cmpuint (h.messages->len, ==, 3);
  g_assert_cmpuint (((WsbMessage *) g_ptr_array_index (h.messages, 0))->seq, ==, 6);
  g_assert_cmpuint (h.gap_from, ==, 1);
  g_assert_cmpuint (h.gap_to, ==, 5);
  wsb_history_result_clear (&h);
  /* The last 5 of "*": 3 are held, seqs 4 and 5 are lost. */
  g_assert_true (wsb_hub_history (fx.hub, wsb_peer_daemon (), "feed", "*", 5, &h, &error));
  g_assert_cmpuint (h.messages->len, ==, 3);
  g_assert_cmpuint (h.gap_from, ==, 4);
  g_assert_cmpuint (h.gap_to, ==, 5);
  wsb_history_result_clear (&h);
  /* Fewer asked for than held: no gap. */
  g_assert_true (wsb_hub_history (fx.hub, wsb_peer_daemon (), "feed", "b", 2, &h, &error));
  g_assert_cmpuint (h.messages->len, ==, 2);
  g_assert_cmpuint (((WsbMessage *) g_ptr_array_index (h.messages, 1))->seq, ==, 8);
  g_assert_cmpuint (h.gap_to, ==, 0);
  wsb_history_result_clear (&h);
  /* A channel without messages. */
  g_assert_true (wsb_hub_history (fx.hub, wsb_peer_daemon (), "feed", "none", 0, &h, &error));
  g_assert_cmpuint (h.messages->len, ==, 0);
  wsb_history_result_clear (&h);
  g_assert_no_error (error);
  fixture_clear (&fx);
}

static void
on_outcome (const char *session, guint64 id, WsbSendResult result, const char *reason,
            gpointer data)
{
  g_string_append_printf (data, "%s:%" G_GUINT64_FORMAT ":%s ", session, id,
                          wsb_send_result_to_string (result));
}

static void
test_send_outcome_goes_to_its_requester (void)
{
  g_autoptr (GString) got = g_string_new (NULL);
  g_autoptr (GString) other = g_string_new (NULL);
  Fixture fx;
  WsbSendWait *w1, *w2;
  guint64 id1, id2, id3;

  fixture_init (&fx, NULL);
  g_assert_true (wsb_hub_send (fx.hub, wsb_peer_daemon (), "feed", (const guint8 *) "x", 1, FALSE,
                               0, on_outcome, got, &w1, &id1, NULL));
  g_assert_true (wsb_hub_send (fx.hub, wsb_peer_daemon (), "feed", (const guint8 *) "y", 1, FALSE,
                               0, on_outcome, other, &w2, &id2, NULL));
  /* Without a callback nobody hears of it. */
  g_assert_true (wsb_hub_send (fx.hub, wsb_peer_daemon (), "feed", (const guint8 *) "z", 1, FALSE,
                               0, NULL, NULL, NULL, &id3, NULL));
  fx.fake->events->send_done ((WsbSession *) fx.fake, id1, WSB_SEND_SENT, NULL, fx.fake->user_data);
  fx.fake->events->send_done ((WsbSession *) fx.fake, id3, WSB_SEND_SENT, NULL, fx.fake->user_data);
  g_assert_cmpstr (got->str, ==, "feed:1:sent ");
  g_assert_cmpstr (other->str, ==, "");
  /* Its requester went away: the outcome goes nowhere. */
  wsb_send_wait_cancel (w2);
  fx.fake->events->send_done ((WsbSession *) fx.fake, id2, WSB_SEND_EXPIRED, "old",
                              fx.fake->user_data);
  g_assert_cmpstr (other->str, ==, "");
  fixture_clear (&fx);
}

static gboolean
on_shutdown_done (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_REMOVE;
}

static void
test_shutdown_waits_for_the_last_connection (void)
{
  Fixture fx;
  guint done = 0;

  fixture_init (&fx, NULL);
  wsb_hub_shutdown (fx.hub, on_shutdown_done, &done);
  g_assert_cmpint (fx.fake->state, ==, WSB_STATE_CLOSING);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (done, ==, 0);
  fake_connection_ends (fx.fake);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (done, ==, 1);
  fixture_clear (&fx);
}

static void
test_duplicate_name_is_one_error (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error2 = NULL;
  Fixture fx;

  fixture_init (&fx, NULL);
  g_assert_false (wsb_hub_add_session (fx.hub, fx.fake->cfg, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS);
  g_assert_false (wsb_hub_create_session (fx.hub, wsb_peer_daemon (), "feed", "ws://h/", NULL, NULL,
                                          0, FALSE, &error2));
  g_assert_error (error2, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS);
  g_assert_cmpstr (error->message, ==, error2->message);
  g_assert_cmpstr (error->message, ==, "a session named 'feed' already exists");
  fixture_clear (&fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hub/catch-up-replays-after-since", test_catch_up_replays_after_since);
  g_test_add_func ("/hub/since-beyond-last-seq-is-refused", test_since_beyond_last_seq_is_refused);
  g_test_add_func ("/hub/gaps-for-what-the-history-lost", test_gaps_for_what_the_history_lost);
  g_test_add_func ("/hub/messages-elsewhere-skip-only-live-messages",
                   test_messages_elsewhere_skip_only_live_messages);
  g_test_add_func ("/hub/upstream-subscriptions-are-refcounted",
                   test_upstream_subscriptions_are_refcounted);
  g_test_add_func ("/hub/history-is-bounded", test_history_is_bounded);
  g_test_add_func ("/hub/send-outcome-goes-to-its-requester",
                   test_send_outcome_goes_to_its_requester);
  g_test_add_func ("/hub/shutdown-waits-for-the-last-connection",
                   test_shutdown_waits_for_the_last_connection);
  g_test_add_func ("/hub/duplicate-name-is-one-error", test_duplicate_name_is_one_error);
  return g_test_run ();
}
