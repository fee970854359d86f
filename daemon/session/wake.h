/* A moment when every session should retry or re-check its connection at
 * once, reported by the monitors that watch for one: the network coming up
 * (netmon.h) and resume from suspend (resume-monitor.h). */
#pragma once

#include <glib.h>

/* why: what happened ("network up", "resume from suspend"). */
typedef void (*WsbWakeFunc) (const char *why, gpointer user_data);
