/* Exponential backoff with full jitter (pure logic, no I/O). */
#pragma once

#include <glib.h>

typedef struct
{
  guint initial_ms;
  guint max_ms;
  guint reset_after_ms; /* a connection open this long starts the backoff over */
  guint attempt;        /* consecutive failed tries since the last reset */
} WsbBackoff;

void wsb_backoff_init (WsbBackoff *b, guint initial_ms, guint max_ms, guint reset_after_ms);

/* Upper bound of the next delay: min(max_ms, initial_ms * 2^attempt). */
guint wsb_backoff_cap_ms (const WsbBackoff *b);

/* The delay before the next try, uniform in [0, cap] when rand01 is uniform
 * in [0, 1); advances the attempt counter. */
guint wsb_backoff_next_ms (WsbBackoff *b, double rand01);

/* Tell the policy a connection that had opened has ended after open_ms. */
void wsb_backoff_connection_ended (WsbBackoff *b, guint64 open_ms);
