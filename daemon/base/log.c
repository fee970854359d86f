#include "log.h"

void
wsb_log_limited (WsbLogLimit *l, GLogLevelFlags level, const char *fmt, ...)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *text = NULL;
  va_list ap;

  if (l->last_us && now - l->last_us < WSB_LOG_LIMIT_SECONDS * G_USEC_PER_SEC)
    {
      l->repeats++;
      return;
    }
  va_start (ap, fmt);
  text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (l->repeats)
    g_log (G_LOG_DOMAIN, level, "%s (and %" G_GUINT64_FORMAT " more like it in the last minute)",
           text, l->repeats);
  else
    g_log (G_LOG_DOMAIN, level, "%s", text);
  l->last_us = now;
  l->repeats = 0;
}
