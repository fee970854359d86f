#include "backoff.h"

void
wsb_backoff_init (WsbBackoff *b, guint initial_ms, guint max_ms, guint reset_after_ms)
{
  b->initial_ms = MAX (initial_ms, 1);
  b->max_ms = MAX (max_ms, b->initial_ms);
  b->reset_after_ms = reset_after_ms;
  b->attempt = 0;
}

guint
wsb_backoff_cap_ms (const WsbBackoff *b)
{
  guint64 cap = b->initial_ms;

  for (guint i = 0; i < b->attempt && cap < b->max_ms; i++)
    cap *= 2;
  return (guint) MIN (cap, (guint64) b->max_ms);
}

guint
wsb_backoff_next_ms (WsbBackoff *b, double rand01)
{
  guint cap = wsb_backoff_cap_ms (b);

  rand01 = CLAMP (rand01, 0.0, 1.0);
  if (b->attempt < G_MAXUINT)
    b->attempt++;
  /* Scale to [0, cap + 1) so every whole delay in [0, cap] is equally likely. */
  return MIN ((guint) (rand01 * ((double) cap + 1.0)), cap);
}

void
wsb_backoff_connection_ended (WsbBackoff *b, guint64 open_ms)
{
  if (open_ms >= b->reset_after_ms)
    b->attempt = 0;
}
