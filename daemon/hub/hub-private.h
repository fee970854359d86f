/* What hub.c (the session table), hub-channels.c (channels, their
 * histories, upstream subscribe frames), hub-delivery.c (fan-out of
 * messages and state changes), hub-subscriptions.c (subscribe, catch-up,
 * history queries), hub-send.c (sends and their outcomes) and hub-resume.c
 * share, and the seam to the sessions that tests/unit/test-hub.c fakes. Not
 * for frontends: they see hub.h. */
#pragma once

#include "history.h"
#include "listeners.h"
#include "resume.h"
#include "hub.h"
#include "router.h"
#include "session.h"

/* The seam between the hub and its sessions: how it makes and drives
 * them. The daemon's hub uses session.h's functions (hub_real_session_ops);
 * a unit test gives its own (hub_new_with_ops) to drive the hub without a
 * WebSocket. A fake's handle need not be a real WsbSession: the hub only
 * passes it back to these functions, and it reports to the hub through the
 * WsbSessionEvents it was made with, as session.h describes (state changes,
 * messages, batch ends, send outcomes, the connection's end). */
typedef struct
{
  WsbSession *(*new) (WsbUpstream *up, const WsbSessionConfig *cfg, const WsbSessionEvents *events,
                      gpointer user_data);
  void (*free) (WsbSession *s);
  const WsbSessionConfig *(*get_config) (WsbSession *s);
  WsbState (*get_state) (WsbSession *s);
  const char *(*get_reason) (WsbSession *s);
  void (*get_stats) (WsbSession *s, WsbSessionStats *out);
  guint16 (*get_last_close) (WsbSession *s, const char **reason);
  void (*set_resume_id) (WsbSession *s, const char *id);
  void (*connect) (WsbSession *s);
  void (*close) (WsbSession *s, guint16 close_code, const char *reason);
  void (*reconfigure) (WsbSession *s, const WsbSessionConfig *cfg);
  void (*wake) (WsbSession *s);
  gboolean (*has_connection) (WsbSession *s);
  gboolean (*send) (WsbSession *s, const guint8 *data, gsize len, gboolean binary, guint32 ttl_ms,
                    guint64 *id, GError **error);
  gboolean (*send_control) (WsbSession *s, const char *text);
  gboolean (*set_journal) (WsbSession *s, const char *path, GError **error);
  void (*cancel_queue) (WsbSession *s, const char *reason);
} HubSessionOps;

extern const HubSessionOps hub_real_session_ops;

/* wsb_hub_new with sessions made and driven by ops (kept, not copied). */
WsbHub *hub_new_with_ops (WsbUpstream *up, const char *config_dir, const char *state_dir,
                          const HubSessionOps *ops);

/* One channel of a session: its subscribers and its history. It exists
 * while it has either. */
typedef struct
{
  char *name;
  GPtrArray *subs;     /* WsbSubscription*; unsubscribed ones linger during delivery */
  guint live;          /* subscriptions not unsubscribed */
  WsbHistory *history; /* NULL until a message arrives on it */
  GList lru;           /* link in HubSession.lru while it has a history (not for "*") */
} HubChannel;

typedef struct
{
  WsbHub *hub;
  WsbSession *session;
  guint64 epoch;
  guint64 last_seq;
  WsbRouter *router;    /* NULL without channel_key */
  HubChannel *all;      /* "*" */
  GHashTable *channels; /* name → HubChannel*, "*" included */
  GQueue lru;           /* HubChannels with a history, least recently active first */
  /* Histories made now vouch only for messages from here on: before it, an
   * evicted history may have held messages of their channel. */
  guint64 history_floor;
  gboolean subscribed_upstream; /* subscribe frames went out on this connection */
  gboolean runtime;             /* created over an API without persist: reloads keep it */
  uid_t holder;                 /* the uid whose max_sessions_per_user counts it, or -1 */
  guint delivering;             /* > 0 while fanning out: unsubscribes are deferred */
  gint64 read_time;             /* the time_us of the messages of this read; 0: not read yet */
  guint opening_max;            /* opening_messages */
  gint64 opening_until;         /* real time µs: later messages are not opening ones */
  gint64 opening_window_us;     /* opening_window_ms */
  GPtrArray *opening;           /* WsbMessage*: the first of the current connection */
  GPtrArray *opening_channels;  /* char*: the channel of each (NULL: "*" only) */
  WsbResume *resume;            /* NULL without resume_pointer */
  guint resume_save_id;         /* the last id is written soon (queue_persist) */
  GHashTable *waits; /* send id → WsbSendWait*: outcomes a requester waits for; NULL: none yet */
  gboolean has_dead;
  gboolean removed; /* closing, no longer in hub->sessions; freed once disconnected */
  guint free_id;
} HubSession;

struct _WsbHub
{
  const HubSessionOps *ops;
  WsbUpstream *up;
  char *state_dir;
  char *config_dir;
  WsbListeners *session_listeners; /* WsbHubSessionFuncs */
  WsbListeners *flush_listeners;   /* WsbHubFlushFuncs */
  GHashTable *sessions;            /* name → HubSession* */
  WsbAccess *access;
  GHashTable *held;          /* holder uid → sessions it holds (guint) */
  GHashTable *denials;       /* uid → WsbLogLimit*: its denials, logged at most once a minute */
  GList *removed;            /* HubSession* closing before they are freed */
  GSourceFunc shutdown_done; /* set while shutting down, until called */
  gpointer shutdown_data;
  guint shutdown_check_id; /* a connection ended: are they all gone? */
  guint shutdown_grace_id; /* done is called then, whatever is left */
};

struct _WsbSubscription
{
  HubSession *hs;
  HubChannel *ch;
  const WsbSubscriberFuncs *funcs; /* NULL once unsubscribed during delivery */
  gpointer data;
  guint64 since_seq; /* what catch-up replays after */
  guint64 since_epoch;
  gboolean opening;            /* catch-up starts with the connection's opening messages */
  gboolean messages_elsewhere; /* live messages are not delivered to it */
};

static inline const char *
hs_name (HubSession *hs)
{
  return hs->hub->ops->get_config (hs->session)->name;
}

/* hub.c */
void hub_fill_status (HubSession *hs, WsbSessionStatus *st);
HubSession *hub_lookup (WsbHub *hub, const char *name, GError **error);
/* Who may do what; until wsb_hub_set_access, a user instance's defaults. */
const WsbAccess *hub_access (WsbHub *hub);
/* The session name, if peer may do op on it; else NULL with the error it
 * is told (the same as for none) and the denial logged. */
HubSession *hub_find (WsbHub *hub, const WsbPeer *peer, WsbOp op, const char *name, GError **error);
/* The session's counters changed without a message or state change. */
void hub_tell_changed (WsbHub *hub, const char *session);

/* hub-send.c: a send of hs ended (its requester is told, if it waits); hs
 * is being freed (the waits left are their requesters' to cancel). */
void hub_send_done (HubSession *hs, guint64 id, WsbSendResult result, const char *reason);
void hub_sends_forget (HubSession *hs);

/* hub-resume.c: hs->resume follows the configuration (a persisting session
 * starts from the last id of its earlier run); a message's id was taken by
 * hs->resume (the next connect asks for what follows it, a persisting
 * session writes it down within a second); the session is freed (an id not
 * written yet is, unless it was removed); it was removed (its file goes). */
void hub_resume_configure (HubSession *hs, const WsbSessionConfig *cfg);
void hub_resume_advanced (HubSession *hs);
void hub_resume_finish (HubSession *hs);
void hub_resume_forget (HubSession *hs);

/* hub-shutdown.c */
/* While shutting down, every connection that ends may be the last one:
 * checked once from the loop for all that ended in the same turn. */
void hub_shutdown_connection_ended (WsbHub *hub);

/* hub-channels.c */
HubChannel *hub_get_channel (HubSession *hs, const char *name);
void hub_channel_free (HubChannel *ch);
/* Frees ch once it has neither subscribers nor history ("*" stays). */
void hub_channel_maybe_drop (HubSession *hs, HubChannel *ch);
/* m goes into ch's history (made if need be, another channel's dropped
 * beyond the bound); ch becomes the most recently active. */
void hub_history_push (HubSession *hs, HubChannel *ch, WsbMessage *m);
/* Where the history of ch vouches for every message from on. */
guint64 hub_channel_complete_from (HubSession *hs, HubChannel *ch);
/* After every (re)connect: subscribe frames for every channel that is
 * configured or has local subscribers. */
void hub_subscribe_upstream (HubSession *hs);
/* A channel's local subscriber count went 0→1 (wanted) or 1→0. */
void hub_channel_interest_changed (HubSession *hs, HubChannel *ch, gboolean wanted);

/* hub-delivery.c */
void hub_on_message (WsbSession *s, WsbWsMessage *msg, gpointer user_data);
/* Ends a fan-out begun with hs->delivering++: subscriptions unsubscribed
 * during it go now. */
void hub_end_delivery (HubSession *hs);
/* The connection's opening messages of the subscription's channel. */
void hub_deliver_opening (WsbSubscription *sub);
void hub_state_changed (HubSession *hs);
/* Tells every subscriber of hs that it is over, then drops the subscriptions. */
void hub_end_subscriptions (HubSession *hs);
