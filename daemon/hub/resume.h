/* Resuming an upstream feed where it stopped, for servers that can replay
 * (ntfy's since=ID): the id of each inbound message (session key
 * resume_pointer, an RFC 6901 pointer), of those that match resume_filter
 * (POINTER=VALUE), is remembered; the session asks for what came after the
 * last one at every reconnect (resume_query, session-route.c), and a
 * message whose id was delivered already (a replay overlapping what
 * arrived) is not delivered again. Pure logic, no I/O. */
#pragma once

#include "config.h"

/* How many of the newest ids are remembered to drop repeats. */
#define WSB_RESUME_RECENT_IDS 256

typedef struct _WsbResume WsbResume;

/* NULL when cfg has no resume_pointer. */
WsbResume *wsb_resume_new (const WsbSessionConfig *cfg);
void wsb_resume_free (WsbResume *r);

/* One inbound text message: FALSE when its id was delivered already (drop
 * it); else TRUE, and a message that matches the filter makes its id the
 * last one (*advanced set). */
gboolean wsb_resume_take (WsbResume *r, const char *data, gsize len, gboolean *advanced);
/* The last id, or NULL before any. */
const char *wsb_resume_last_id (const WsbResume *r);
/* The last id as kept from an earlier run. */
void wsb_resume_set_last_id (WsbResume *r, const char *id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbResume, wsb_resume_free)
