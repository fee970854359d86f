/* The burst rule of wsbridge-notify (pure logic, driven by timestamps):
 * at most `burst` notifications per `window`; what comes faster is counted
 * into one summary notification instead.
 *
 * A message is shown on its own when fewer than `burst` messages (shown or
 * counted) arrived in the window before it, so no window ever holds more
 * than `burst` of them. Otherwise it starts or continues a "storm": it is
 * counted, and the storm's summary notification ("47 new messages") shows
 * the count, first at once, then updated in place at most once per `update`
 * interval. A storm ends when a message may be shown on its own again; its
 * final count is due at once then, and the next storm gets a new summary. */
#pragma once

#include <glib.h>

typedef struct _WsbNotifyBurst WsbNotifyBurst;

/* burst >= 1; window_us, update_us > 0. */
WsbNotifyBurst *wsb_notify_burst_new (guint burst, gint64 window_us, gint64 update_us);
void wsb_notify_burst_free (WsbNotifyBurst *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyBurst, wsb_notify_burst_free)

/* A message arrived at now (µs of a monotonic clock; never decreasing):
 * TRUE when it may be shown on its own, FALSE when the summary counted it. */
gboolean wsb_notify_burst_admit (WsbNotifyBurst *b, gint64 now);

/* The number of the current (or last) storm; 0 before the first. */
guint wsb_notify_burst_storm (const WsbNotifyBurst *b);

/* When the summary should next be shown (a time <= now: at once), or -1
 * when it shows its current count already. */
gint64 wsb_notify_burst_summary_due (const WsbNotifyBurst *b);

/* The summary is being shown at now: returns the count it should show and
 * sets *storm to the storm's number (1, 2, …; a new number means a new
 * notification, the same one an update in place). */
guint64 wsb_notify_burst_summary_take (WsbNotifyBurst *b, gint64 now, guint *storm);

/* The summary taken could not be shown (no server): it is due again at once. */
void wsb_notify_burst_summary_unshown (WsbNotifyBurst *b);
