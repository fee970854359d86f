/* Watches logind for resume from suspend (PrepareForSleep(false) on the
 * system bus), after which every connection may be dead without knowing it. */
#pragma once

#include "wake.h"

typedef struct _WsbResumeMonitor WsbResumeMonitor;

/* Never fails: without a system bus (or logind) nothing is watched, and
 * that is logged at debug level. wake gets "resume from suspend". */
WsbResumeMonitor *wsb_resume_monitor_new (WsbWakeFunc wake, gpointer user_data);
void wsb_resume_monitor_free (WsbResumeMonitor *monitor);
