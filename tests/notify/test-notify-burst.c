#include "notify-burst.h"

#define S G_USEC_PER_SEC

static void
test_burst_then_storm (void)
{
  /* The case: 50 messages within 100 ms, 3 per 5 s. */
  g_autoptr (WsbNotifyBurst) b = wsb_notify_burst_new (3, 5 * S, S);
  gint64 t0 = 1000 * S;
  guint single = 0, storm = 0;
  guint64 count;

  g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, -1);
  for (guint i = 0; i < 50; i++)
    {
      gint64 now = t0 + i * 2000;

      if (wsb_notify_burst_admit (b, now))
        single++;
      if (i == 3)
        {
          /* The first counted message makes the summary due at once. */
          g_assert_cmpint (wsb_notify_burst_summary_due (b), <=, now);
          g_assert_cmpuint (wsb_notify_burst_summary_take (b, now, &storm), ==, 1);
          g_assert_cmpuint (storm, ==, 1);
        }
      else if (i > 3)
        /* Then updates wait for the interval. */
        g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, t0 + 3 * 2000 + S);
    }
  g_assert_cmpuint (single, ==, 3);
  count = wsb_notify_burst_summary_take (b, t0 + 3 * 2000 + S, &storm);
  g_assert_cmpuint (count, ==, 47);
  g_assert_cmpuint (storm, ==, 1);
  g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, -1);
}

static void
test_never_more_than_burst_per_window (void)
{
  g_autoptr (WsbNotifyBurst) b = wsb_notify_burst_new (4, 10 * S, S);
  GRand *r = g_rand_new_with_seed (7);
  GArray *shown = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 now = 0;

  for (guint i = 0; i < 20000; i++)
    {
      now += g_rand_int_range (r, 0, 6 * S);
      if (wsb_notify_burst_admit (b, now))
        g_array_append_val (shown, now);
    }
  /* Any burst + 1 consecutive single notifications span at least a window. */
  for (guint i = 4; i < shown->len; i++)
    g_assert_cmpint (g_array_index (shown, gint64, i) - g_array_index (shown, gint64, i - 4), >=,
                     10 * S);
  g_assert_cmpuint (shown->len, >, 1000);
  g_array_free (shown, TRUE);
  g_rand_free (r);
}

static void
test_storm_ends_and_next_storm_is_new (void)
{
  g_autoptr (WsbNotifyBurst) b = wsb_notify_burst_new (1, 2 * S, S);
  guint storm;

  g_assert_true (wsb_notify_burst_admit (b, 0));
  g_assert_false (wsb_notify_burst_admit (b, S / 10));
  g_assert_cmpuint (wsb_notify_burst_summary_take (b, S / 10, &storm), ==, 1);
  g_assert_false (wsb_notify_burst_admit (b, S / 5));
  /* Still within the interval: the update waits. */
  g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, S / 10 + S);
  g_assert_cmpuint (wsb_notify_burst_storm (b), ==, 1);
  /* A quiet window: this one shows on its own, and the storm's final
   * count is due at once. */
  g_assert_true (wsb_notify_burst_admit (b, 3 * S));
  g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, 0);
  g_assert_cmpuint (wsb_notify_burst_summary_take (b, 3 * S, &storm), ==, 2);
  g_assert_cmpuint (storm, ==, 1);
  /* The next storm starts counting again, under a new number. */
  g_assert_false (wsb_notify_burst_admit (b, 3 * S + 1));
  g_assert_cmpuint (wsb_notify_burst_summary_take (b, 3 * S + 1, &storm), ==, 1);
  g_assert_cmpuint (storm, ==, 2);
}

static void
test_sustained_rate_stays_one_storm (void)
{
  /* One message a second against 3 per 5 s: after the first three, every
   * message goes into the same storm, whose summary shows them all. */
  g_autoptr (WsbNotifyBurst) b = wsb_notify_burst_new (3, 5 * S, S);
  guint storm = 0;
  guint64 count = 0;

  for (guint i = 0; i < 100; i++)
    {
      gboolean single = wsb_notify_burst_admit (b, i * S);

      g_assert_true (single == (i < 3));
      if (wsb_notify_burst_summary_due (b) >= 0 && wsb_notify_burst_summary_due (b) <= i * S)
        count = wsb_notify_burst_summary_take (b, i * S, &storm);
    }
  g_assert_cmpuint (count, ==, 97);
  g_assert_cmpuint (storm, ==, 1);
}

static void
test_unshown_summary_is_due_again (void)
{
  g_autoptr (WsbNotifyBurst) b = wsb_notify_burst_new (1, 5 * S, S);
  guint storm;

  wsb_notify_burst_admit (b, 0);
  wsb_notify_burst_admit (b, 1);
  wsb_notify_burst_admit (b, 2);
  g_assert_cmpuint (wsb_notify_burst_summary_take (b, 2, &storm), ==, 2);
  g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, -1);
  wsb_notify_burst_summary_unshown (b);
  g_assert_cmpint (wsb_notify_burst_summary_due (b), ==, 0);
  g_assert_cmpuint (wsb_notify_burst_summary_take (b, 3, &storm), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify-burst/burst-then-storm", test_burst_then_storm);
  g_test_add_func ("/notify-burst/never-more-than-burst", test_never_more_than_burst_per_window);
  g_test_add_func ("/notify-burst/storm-ends", test_storm_ends_and_next_storm_is_new);
  g_test_add_func ("/notify-burst/sustained-rate", test_sustained_rate_stays_one_storm);
  g_test_add_func ("/notify-burst/unshown", test_unshown_summary_is_due_again);
  return g_test_run ();
}
