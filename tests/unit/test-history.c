#include "history.h"

#include <string.h>

/* A message with `size` payload bytes; the test keeps this reference so it
 * can check the ring's own reference count. */
static WsbMessage *
msg (guint64 seq, gsize size)
{
  g_autofree guint8 *data = g_malloc0 (size + 1);

  return wsb_message_new ("s", "*", seq, 1, 0, TRUE, data, size);
}

static void
unref_all (GPtrArray *msgs)
{
  for (guint i = 0; i < msgs->len; i++)
    {
      WsbMessage *m = msgs->pdata[i];

      /* Whatever the ring held, it has let go of exactly once. */
      g_assert_cmpint (m->ref, ==, 1);
      wsb_message_unref (m);
    }
  g_ptr_array_free (msgs, TRUE);
}

static void
assert_seqs (WsbHistory *h, guint64 first, guint64 last)
{
  g_assert_cmpuint (wsb_history_length (h), ==, last - first + 1);
  for (guint i = 0; i < wsb_history_length (h); i++)
    g_assert_cmpuint (wsb_history_nth (h, i)->seq, ==, first + i);
  g_assert_cmpuint (wsb_history_last_seq (h), ==, last);
}

static void
test_empty (void)
{
  g_autoptr (WsbHistory) h = wsb_history_new (64, 1 << 20, 1);

  g_assert_cmpuint (wsb_history_length (h), ==, 0);
  g_assert_cmpuint (wsb_history_bytes (h), ==, 0);
  g_assert_cmpuint (wsb_history_last_seq (h), ==, 0);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 1);
  g_assert_cmpuint (wsb_history_first_after (h, 0), ==, 0);
  g_assert_cmpuint (wsb_history_first_after (h, 100), ==, 0);
}

static void
test_bound_by_count (void)
{
  WsbHistory *h = wsb_history_new (5, G_MAXUINT64, 1);
  GPtrArray *msgs = g_ptr_array_new ();
  guint64 bytes = 0;

  for (guint64 seq = 1; seq <= 12; seq++)
    {
      WsbMessage *m = msg (seq, 10);

      g_ptr_array_add (msgs, m);
      wsb_history_push (h, m);
      g_assert_cmpint (m->ref, ==, 2);
      if (seq <= 5)
        {
          g_assert_cmpuint (wsb_history_complete_from (h), ==, 1);
          assert_seqs (h, 1, seq);
        }
      else
        {
          /* The oldest went; the ring no longer vouches for it. */
          g_assert_cmpint (((WsbMessage *) msgs->pdata[seq - 6])->ref, ==, 1);
          g_assert_cmpuint (wsb_history_complete_from (h), ==, seq - 4);
          assert_seqs (h, seq - 4, seq);
        }
    }
  for (guint i = 7; i < 12; i++)
    bytes += ((WsbMessage *) msgs->pdata[i])->enc_len;
  g_assert_cmpuint (wsb_history_bytes (h), ==, bytes);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_bound_by_bytes (void)
{
  GPtrArray *msgs = g_ptr_array_new ();
  WsbHistory *h;
  guint64 size;

  for (guint64 seq = 1; seq <= 6; seq++)
    g_ptr_array_add (msgs, msg (seq, 100));
  size = ((WsbMessage *) msgs->pdata[0])->enc_len;
  for (guint i = 1; i < msgs->len; i++)
    g_assert_cmpuint (((WsbMessage *) msgs->pdata[i])->enc_len, ==, size);

  /* Room for three and a half messages: three fit. */
  h = wsb_history_new (1000, 3 * size + size / 2, 1);
  for (guint i = 0; i < 3; i++)
    wsb_history_push (h, msgs->pdata[i]);
  assert_seqs (h, 1, 3);
  g_assert_cmpuint (wsb_history_bytes (h), ==, 3 * size);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 1);
  wsb_history_push (h, msgs->pdata[3]);
  assert_seqs (h, 2, 4);
  g_assert_cmpuint (wsb_history_bytes (h), ==, 3 * size);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 2);

  /* Exactly at the limit is allowed. */
  wsb_history_set_limits (h, 1000, 3 * size);
  assert_seqs (h, 2, 4);
  wsb_history_push (h, msgs->pdata[4]);
  wsb_history_push (h, msgs->pdata[5]);
  assert_seqs (h, 4, 6);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 4);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_oversized (void)
{
  GPtrArray *msgs = g_ptr_array_new ();
  WsbHistory *h = wsb_history_new (10, 500, 1);
  WsbMessage *big;

  for (guint64 seq = 1; seq <= 3; seq++)
    {
      g_ptr_array_add (msgs, msg (seq, 10));
      wsb_history_push (h, msgs->pdata[seq - 1]);
    }
  big = msg (4, 600);
  g_ptr_array_add (msgs, big);
  g_assert_cmpuint (big->enc_len, >, 500);
  wsb_history_push (h, big);
  g_assert_cmpuint (wsb_history_length (h), ==, 0);
  g_assert_cmpuint (wsb_history_bytes (h), ==, 0);
  g_assert_cmpuint (wsb_history_last_seq (h), ==, 0);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 5);
  g_assert_cmpint (big->ref, ==, 1);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (((WsbMessage *) msgs->pdata[i])->ref, ==, 1);

  /* The ring carries on after it. */
  g_ptr_array_add (msgs, msg (5, 10));
  wsb_history_push (h, msgs->pdata[4]);
  assert_seqs (h, 5, 5);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 5);

  /* max_messages = 0 keeps nothing. */
  wsb_history_set_limits (h, 0, 500);
  g_assert_cmpuint (wsb_history_length (h), ==, 0);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 6);
  g_ptr_array_add (msgs, msg (9, 10));
  wsb_history_push (h, msgs->pdata[5]);
  g_assert_cmpuint (wsb_history_length (h), ==, 0);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 10);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_complete_from (void)
{
  GPtrArray *msgs = g_ptr_array_new ();
  /* A channel created late vouches only for what comes after. */
  WsbHistory *h = wsb_history_new (2, G_MAXUINT64, 101);

  /* Sequence numbers of one channel have holes (other channels' messages). */
  guint64 seqs[] = { 101, 105, 230, 231, 400 };
  guint64 expect[] = { 101, 101, 102, 106, 231 };
  for (guint i = 0; i < G_N_ELEMENTS (seqs); i++)
    {
      g_ptr_array_add (msgs, msg (seqs[i], 1));
      wsb_history_push (h, msgs->pdata[i]);
      g_assert_cmpuint (wsb_history_complete_from (h), ==, expect[i]);
      g_assert_cmpuint (wsb_history_last_seq (h), ==, seqs[i]);
    }
  /* Growing the limits does not make the ring vouch for more. */
  wsb_history_set_limits (h, 100, G_MAXUINT64);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 231);
  g_assert_cmpuint (wsb_history_length (h), ==, 2);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_first_after (void)
{
  GPtrArray *msgs = g_ptr_array_new ();
  WsbHistory *h = wsb_history_new (8, G_MAXUINT64, 1);

  /* Seqs 2, 4, …: every position, the holes between and the ends. Pushing
   * 11 into 8 slots moves the head, so the search also crosses the wrap. */
  for (guint64 i = 1; i <= 11; i++)
    {
      g_ptr_array_add (msgs, msg (2 * i, 1));
      wsb_history_push (h, msgs->pdata[i - 1]);
    }
  g_assert_cmpuint (wsb_history_nth (h, 0)->seq, ==, 8);
  for (guint n = 0; n <= 8; n++)
    {
      guint64 held = 8 + 2 * n; /* the seq at index n, or one past the end */

      g_assert_cmpuint (wsb_history_first_after (h, held - 1), ==, n);
      g_assert_cmpuint (wsb_history_first_after (h, held - 2), ==, n);
    }
  g_assert_cmpuint (wsb_history_first_after (h, 0), ==, 0);
  g_assert_cmpuint (wsb_history_first_after (h, 22), ==, 8);
  g_assert_cmpuint (wsb_history_first_after (h, G_MAXUINT64), ==, 8);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_set_limits (void)
{
  GPtrArray *msgs = g_ptr_array_new ();
  WsbHistory *h = wsb_history_new (100, G_MAXUINT64, 1);
  guint64 size;

  for (guint64 seq = 1; seq <= 50; seq++)
    {
      g_ptr_array_add (msgs, msg (seq, 20));
      wsb_history_push (h, msgs->pdata[seq - 1]);
    }
  size = ((WsbMessage *) msgs->pdata[0])->enc_len;
  assert_seqs (h, 1, 50);

  /* Shrink by count. */
  wsb_history_set_limits (h, 10, G_MAXUINT64);
  assert_seqs (h, 41, 50);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 41);
  for (guint i = 0; i < 40; i++)
    g_assert_cmpint (((WsbMessage *) msgs->pdata[i])->ref, ==, 1);

  /* Shrink by bytes. */
  wsb_history_set_limits (h, 10, 4 * size);
  assert_seqs (h, 47, 50);
  g_assert_cmpuint (wsb_history_bytes (h), ==, 4 * size);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 47);

  /* Grow: nothing is lost and more fits from now on. */
  wsb_history_set_limits (h, 1000, G_MAXUINT64);
  assert_seqs (h, 47, 50);
  for (guint64 seq = 51; seq <= 300; seq++)
    {
      g_ptr_array_add (msgs, msg (seq, 20));
      wsb_history_push (h, msgs->pdata[seq - 1]);
    }
  assert_seqs (h, 47, 300);
  g_assert_cmpuint (wsb_history_complete_from (h), ==, 47);

  /* A shrink in the middle of a wrapped array keeps the newest, in order. */
  wsb_history_set_limits (h, 7, G_MAXUINT64);
  assert_seqs (h, 294, 300);
  for (guint64 seq = 301; seq <= 305; seq++)
    {
      g_ptr_array_add (msgs, msg (seq, 20));
      wsb_history_push (h, msgs->pdata[seq - 1]);
    }
  assert_seqs (h, 299, 305);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_wrap_around (void)
{
  GPtrArray *msgs = g_ptr_array_new ();
  /* Odd limits so the capacity is not a power of two. */
  WsbHistory *h = wsb_history_new (13, G_MAXUINT64, 1);

  for (guint64 seq = 1; seq <= 1000; seq++)
    {
      g_ptr_array_add (msgs, msg (seq, seq % 7));
      wsb_history_push (h, msgs->pdata[seq - 1]);
      assert_seqs (h, seq > 13 ? seq - 12 : 1, seq);
      g_assert_cmpuint (wsb_history_first_after (h, seq - 1), ==, wsb_history_length (h) - 1);
    }
  /* Growing while wrapped keeps the order. */
  wsb_history_set_limits (h, 40, G_MAXUINT64);
  for (guint64 seq = 1001; seq <= 1030; seq++)
    {
      g_ptr_array_add (msgs, msg (seq, 1));
      wsb_history_push (h, msgs->pdata[seq - 1]);
    }
  assert_seqs (h, 991, 1030);
  wsb_history_free (h);
  unref_all (msgs);
}

static void
test_out_of_order (void)
{
  g_autoptr (WsbHistory) h = wsb_history_new (10, G_MAXUINT64, 1);
  g_autoptr (WsbMessage) a = msg (5, 1);
  g_autoptr (WsbMessage) b = msg (5, 1);

  wsb_history_push (h, a);
  /* Not newer than what is held: refused with a critical, nothing taken. */
  g_test_expect_message ("wsbridge", G_LOG_LEVEL_CRITICAL, "*seq*");
  wsb_history_push (h, b);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (wsb_history_length (h), ==, 1);
  g_assert_cmpint (b->ref, ==, 1);
}

/* A message built around a block (the large-message path) encodes exactly
 * as one built by copy, with the longest names; a head that does not fit is
 * refused and leaves the block to the caller. */
static void
test_message_in_block (void)
{
  g_autofree char *session = g_strnfill (64, 's');
  g_autofree char *channel = g_strnfill (255, 'c');
  gsize len = 100000, headroom = WSB_MESSAGE_HEAD_MAX;
  guint64 big = G_MAXUINT64;
  g_autofree guint8 *payload = g_malloc (len);
  guint8 *block;
  WsbMessage *copy, *in_block;

  for (gsize i = 0; i < len; i++)
    payload[i] = (guint8) (i * 7);
  block = g_malloc (headroom + len + 4096); /* larger than its content, as reassembly leaves it */
  memcpy (block + headroom, payload, len);
  copy = wsb_message_new (session, channel, big, big, G_MAXINT64, TRUE, payload, len);
  in_block = wsb_message_new_in_block (session, channel, big, big, G_MAXINT64, TRUE, block,
                                       headroom, len);
  g_assert_nonnull (in_block);
  g_assert_true (in_block->block != NULL);
  g_assert_cmpmem (in_block->enc, in_block->enc_len, copy->enc, copy->enc_len);
  g_assert_cmpuint (in_block->data_offset, ==, copy->data_offset);
  g_assert_cmpmem (wsb_message_data (in_block), in_block->data_len, payload, len);
  /* Both know where their channel's name is. */
  g_assert_cmpmem (wsb_message_channel (copy), copy->channel_len, channel, 255);
  g_assert_cmpmem (wsb_message_channel (in_block), in_block->channel_len, channel, 255);
  wsb_message_unref (copy);
  wsb_message_unref (in_block);

  block = g_malloc (10 + len);
  g_assert_null (wsb_message_new_in_block ("s", "*", 1, 1, 0, FALSE, block, 10, len));
  g_free (block);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/history/empty", test_empty);
  g_test_add_func ("/history/bound-by-count", test_bound_by_count);
  g_test_add_func ("/history/bound-by-bytes", test_bound_by_bytes);
  g_test_add_func ("/history/oversized", test_oversized);
  g_test_add_func ("/history/complete-from", test_complete_from);
  g_test_add_func ("/history/first-after", test_first_after);
  g_test_add_func ("/history/set-limits", test_set_limits);
  g_test_add_func ("/history/wrap-around", test_wrap_around);
  g_test_add_func ("/history/out-of-order", test_out_of_order);
  g_test_add_func ("/message/in-block", test_message_in_block);
  return g_test_run ();
}
