/* Urgency of a notification (pure logic, no I/O): the three levels of the
 * notification specification, read from a message's value directly or
 * through a map such as a feed's priorities ("1-2:low,3:normal,4-5:critical"). */
#pragma once

#include <glib.h>

/* The values of libnotify's NotifyUrgency and of the "urgency" hint. */
typedef enum
{
  WSB_NOTIFY_URGENCY_LOW = 0,
  WSB_NOTIFY_URGENCY_NORMAL = 1,
  WSB_NOTIFY_URGENCY_CRITICAL = 2,
} WsbNotifyUrgency;

/* "low", "normal", "critical" (any case) or "0", "1", "2". */
gboolean wsb_notify_urgency_parse (const char *text, WsbNotifyUrgency *urgency);

typedef struct _WsbNotifyUrgencyMap WsbNotifyUrgencyMap;

/* Compiles a map, a comma-separated list of KEY:URGENCY, URGENCY as
 * wsb_notify_urgency_parse() takes it and KEY either a whole number, a range
 * of them ("4-7", both ends included) or any other text without ',' and ':',
 * compared exactly. NULL and G_OPTION_ERROR_BAD_VALUE naming the entry and
 * the problem when it is not one. */
WsbNotifyUrgencyMap *wsb_notify_urgency_map_new (const char *text, GError **error);
void wsb_notify_urgency_map_free (WsbNotifyUrgencyMap *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyUrgencyMap, wsb_notify_urgency_map_free)

/* The urgency the map gives value: its first entry naming the text, else its
 * first range holding the value read as a whole number (so "3.0" or "03" is
 * 3). FALSE when none does. */
gboolean wsb_notify_urgency_map_lookup (const WsbNotifyUrgencyMap *m, const char *value,
                                        WsbNotifyUrgency *urgency);
