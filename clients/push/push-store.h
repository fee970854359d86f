/* What wsbridge-push keeps across restarts: the registrations (an app's
 * token, bus name, description, topic and the interface version it
 * registered with) and the stream's position (the id up to which every
 * ntfy message is finished, and the recent finished ids, so a replay never
 * delivers twice).
 * One JSON file, written atomically (mode 0600) after every change. */
#pragma once

#include <glib.h>

typedef struct
{
  char *token;         /* the connector's token, ≤ 100 bytes of UTF-8 */
  char *service;       /* the app's well-known bus name */
  char *description;   /* "" when none */
  char *topic;         /* ntfy topic (push-ntfy.h) */
  int version;         /* 1: Connector1, 2: Connector2 */
  gint64 registered;   /* unix seconds */
  gint64 last_message; /* unix seconds, 0: none yet */
} WsbPushReg;

typedef struct _WsbPushStore WsbPushStore;

/* How many delivered ids are remembered to drop repeats. */
#define WSB_PUSH_RECENT_IDS 1024

/* Loads PATH; a missing file is an empty store. A file that cannot be read
 * is an error naming it. */
WsbPushStore *wsb_push_store_load (const char *path, GError **error);
void wsb_push_store_free (WsbPushStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPushStore, wsb_push_store_free)

gboolean wsb_push_store_save (WsbPushStore *s, GError **error);

/* The registrations, oldest first (owned by the store). */
GPtrArray *wsb_push_store_regs (WsbPushStore *s);
WsbPushReg *wsb_push_store_by_token (WsbPushStore *s, const char *token);
WsbPushReg *wsb_push_store_by_topic (WsbPushStore *s, const char *topic);
/* Takes a new registration (its fields are copied). */
WsbPushReg *wsb_push_store_add (WsbPushStore *s, const char *token, const char *service,
                                const char *description, const char *topic, int version);
void wsb_push_store_remove (WsbPushStore *s, WsbPushReg *reg);

/* The topics of every registration, NULL-terminated (free with g_free only:
 * the strings are the store's). */
const char **wsb_push_store_topics (WsbPushStore *s);

/* The push server the registrations' topics live on (NULL: not known),
 * and a change of it: the stream's position is forgotten with it. */
const char *wsb_push_store_server (WsbPushStore *s);
void wsb_push_store_set_server (WsbPushStore *s, const char *server);

/* Where the stream resumes (since=): the id of the newest message that it
 * and every message before it are finished, or NULL. A message taken but
 * not finished when the distributor stops is asked for again at the next
 * start. */
const char *wsb_push_store_last_id (WsbPushStore *s);
/* FALSE when ID was taken already (a repeat); else TRUE: ID is taken. */
gboolean wsb_push_store_take_id (WsbPushStore *s, const char *id);
/* A taken message is done with (delivered, dropped, or for nobody): its id
 * is remembered among the recent ones and the position may advance.
 * FALSE for an id not taken. */
gboolean wsb_push_store_finish_id (WsbPushStore *s, const char *id);
