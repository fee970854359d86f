/* Watches the network (GNetworkMonitor) for it coming up or changing, when
 * every session should retry or re-check its connection at once. */
#pragma once

#include "wake.h"

typedef struct _WsbNetmon WsbNetmon;

/* Never fails. wake gets "network up", once per burst of changes. */
WsbNetmon *wsb_netmon_new (WsbWakeFunc wake, gpointer user_data);
void wsb_netmon_free (WsbNetmon *monitor);
