#include "backoff.h"

static void
test_caps_double_until_max (void)
{
  WsbBackoff b;

  wsb_backoff_init (&b, 500, 60000, 30000);
  g_assert_cmpuint (wsb_backoff_cap_ms (&b), ==, 500);
  guint expected[] = { 500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000 };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_assert_cmpuint (wsb_backoff_cap_ms (&b), ==, expected[i]);
      wsb_backoff_next_ms (&b, 0.5);
    }
}

static void
test_full_jitter_bounds (void)
{
  WsbBackoff b;

  wsb_backoff_init (&b, 100, 1000, 1000);
  /* The extremes of the random input reach both ends of [0, cap]. */
  g_assert_cmpuint (wsb_backoff_next_ms (&b, 0.0), ==, 0);
  wsb_backoff_init (&b, 100, 1000, 1000);
  g_assert_cmpuint (wsb_backoff_next_ms (&b, 0.999999), ==, 100);
  wsb_backoff_init (&b, 100, 1000, 1000);
  g_assert_cmpuint (wsb_backoff_next_ms (&b, 1.0), ==, 100);
  /* Out-of-range input is clamped, never past the cap. */
  wsb_backoff_init (&b, 100, 1000, 1000);
  g_assert_cmpuint (wsb_backoff_next_ms (&b, 7.0), ==, 100);
  wsb_backoff_init (&b, 100, 1000, 1000);
  g_assert_cmpuint (wsb_backoff_next_ms (&b, -3.0), ==, 0);
}

static void
test_jitter_spreads (void)
{
  WsbBackoff b;
  GRand *r = g_rand_new_with_seed (42);
  guint buckets[4] = { 0 };

  /* With the cap at the max, delays spread over the whole range. */
  for (guint i = 0; i < 4000; i++)
    {
      wsb_backoff_init (&b, 1000, 1000, 0);
      guint d = wsb_backoff_next_ms (&b, g_rand_double (r));
      g_assert_cmpuint (d, <=, 1000);
      buckets[MIN (d / 250, 3)]++;
    }
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (buckets[i], >, 800);
  g_rand_free (r);
}

static void
test_reset_after_long_connection (void)
{
  WsbBackoff b;

  wsb_backoff_init (&b, 100, 10000, 30000);
  for (guint i = 0; i < 5; i++)
    wsb_backoff_next_ms (&b, 0.5);
  g_assert_cmpuint (wsb_backoff_cap_ms (&b), ==, 3200);
  /* A short-lived connection keeps growing the backoff ... */
  wsb_backoff_connection_ended (&b, 29999);
  g_assert_cmpuint (wsb_backoff_cap_ms (&b), ==, 3200);
  /* ... one that stayed open backoff_reset_s starts over. */
  wsb_backoff_connection_ended (&b, 30000);
  g_assert_cmpuint (wsb_backoff_cap_ms (&b), ==, 100);
}

static void
test_no_overflow (void)
{
  WsbBackoff b;

  wsb_backoff_init (&b, 3600000, 86400000, 0);
  b.attempt = G_MAXUINT - 1;
  g_assert_cmpuint (wsb_backoff_next_ms (&b, 0.999), <=, 86400000);
  g_assert_cmpuint (wsb_backoff_next_ms (&b, 0.999), <=, 86400000);
  g_assert_cmpuint (b.attempt, ==, G_MAXUINT);
  /* A max below the initial value is raised to it. */
  wsb_backoff_init (&b, 500, 10, 0);
  g_assert_cmpuint (wsb_backoff_cap_ms (&b), ==, 500);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backoff/caps-double-until-max", test_caps_double_until_max);
  g_test_add_func ("/backoff/full-jitter-bounds", test_full_jitter_bounds);
  g_test_add_func ("/backoff/jitter-spreads", test_jitter_spreads);
  g_test_add_func ("/backoff/reset-after-long-connection", test_reset_after_long_connection);
  g_test_add_func ("/backoff/no-overflow", test_no_overflow);
  return g_test_run ();
}
