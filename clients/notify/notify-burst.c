#include "notify-burst.h"

struct _WsbNotifyBurst
{
  guint burst;
  gint64 window;
  gint64 update;
  guint n_arrivals; /* up to burst */
  guint next;       /* where the next arrival goes: the oldest once full */
  gboolean in_storm;
  guint storm;
  guint64 count;     /* messages counted in the current (or last) storm */
  gboolean pending;  /* count changed since the summary was last shown */
  gint64 shown_at;   /* when the summary was last shown; G_MININT64: never */
  gint64 arrivals[]; /* the times of the newest `burst` messages, a ring */
};

WsbNotifyBurst *
wsb_notify_burst_new (guint burst, gint64 window_us, gint64 update_us)
{
  WsbNotifyBurst *b;

  g_return_val_if_fail (burst >= 1 && window_us > 0 && update_us > 0, NULL);
  b = g_malloc0 (sizeof (WsbNotifyBurst) + burst * sizeof (gint64));
  b->burst = burst;
  b->window = window_us;
  b->update = update_us;
  b->shown_at = G_MININT64;
  return b;
}

void
wsb_notify_burst_free (WsbNotifyBurst *b)
{
  g_free (b);
}

gboolean
wsb_notify_burst_admit (WsbNotifyBurst *b, gint64 now)
{
  gboolean full = b->n_arrivals == b->burst && b->arrivals[b->next] > now - b->window;

  b->arrivals[b->next] = now;
  b->next = (b->next + 1) % b->burst;
  b->n_arrivals = MIN (b->n_arrivals + 1, b->burst);
  if (!full)
    {
      b->in_storm = FALSE;
      return TRUE;
    }
  if (!b->in_storm)
    {
      b->in_storm = TRUE;
      b->storm++;
      b->count = 0;
      b->shown_at = G_MININT64;
    }
  b->count++;
  b->pending = TRUE;
  return FALSE;
}

guint
wsb_notify_burst_storm (const WsbNotifyBurst *b)
{
  return b->storm;
}

gint64
wsb_notify_burst_summary_due (const WsbNotifyBurst *b)
{
  if (!b->pending)
    return -1;
  if (!b->in_storm || b->shown_at == G_MININT64)
    return 0;
  return b->shown_at + b->update;
}

guint64
wsb_notify_burst_summary_take (WsbNotifyBurst *b, gint64 now, guint *storm)
{
  b->pending = FALSE;
  b->shown_at = now;
  *storm = b->storm;
  return b->count;
}

void
wsb_notify_burst_summary_unshown (WsbNotifyBurst *b)
{
  b->pending = TRUE;
  b->shown_at = G_MININT64;
}
