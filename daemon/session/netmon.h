/* Watches for moments when every session should retry or re-check its
 * connection at once: the network coming up (GNetworkMonitor) and resume
 * from suspend (logind's PrepareForSleep(false) on the system bus). */
#pragma once

#include <glib.h>

typedef struct _WsbNetmon WsbNetmon;

/* why: "network up", "resume from suspend". */
typedef void (*WsbWakeFunc) (const char *why, gpointer user_data);

/* Never fails: without a system bus (or logind) only the network is watched,
 * and that is logged at debug level. */
WsbNetmon *wsb_netmon_new (WsbWakeFunc wake, gpointer user_data);
void wsb_netmon_free (WsbNetmon *monitor);
