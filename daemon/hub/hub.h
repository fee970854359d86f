/* The hub: owns the sessions, numbers inbound messages (seq/epoch), keeps the
 * subscriptions of every frontend and fans messages and state changes out to
 * them. Frontends depend on the hub; the hub knows no frontend. It makes and
 * drives its sessions through a small table of session operations
 * (HubSessionOps, hub-private.h): session.h's by default, a fake one in
 * tests/unit/test-hub.c. */
#pragma once

#include "access.h"
#include "config.h"
#include "message.h"
#include "session.h"

typedef struct _WsbHub WsbHub;
typedef struct _WsbSubscription WsbSubscription;

typedef struct
{
  char *name;
  char *url;
  WsbState state;
  char *reason;
  guint64 epoch;
  guint64 last_seq;
  WsbSessionStats stats;
  guint close_code; /* wsb_session_get_last_close */
  char *close_reason;
} WsbSessionStatus;

/* A state change, shared by every subscriber that receives it (a frontend
 * may keep its own encoding of it while it holds a reference). */
typedef struct
{
  gint ref;
  WsbSessionStatus status;
} WsbStateEvent;

/* Called by the hub on its own stack; they must not free the subscription
 * (unsubscribing from inside is allowed and takes effect after delivery). */
typedef struct
{
  void (*message) (WsbSubscription *sub, WsbMessage *m, gpointer data);
  void (*gap) (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data);
  void (*state) (WsbSubscription *sub, WsbStateEvent *ev, gpointer data);
  /* The session is gone (removed from the configuration): the subscription
   * is over and freed by the hub; do not unsubscribe it. */
  void (*ended) (WsbSubscription *sub, gpointer data);
} WsbSubscriberFuncs;

/* An accepted send ended: sent, expired or cancelled (reason NULL when sent). */
typedef void (*WsbHubOutcomeFunc) (const char *session, guint64 id, WsbSendResult result,
                                   const char *reason, gpointer data);

/* A requester's interest in the outcome of one send (wsb_hub_send). */
typedef struct _WsbSendWait WsbSendWait;

/* The newest messages of one channel's history (wsb_hub_history). */
typedef struct
{
  GPtrArray *messages; /* WsbMessage*, oldest first */
  /* Seqs gap_from..gap_to are lost to the history; both 0 when none is. */
  guint64 gap_from;
  guint64 gap_to;
  WsbSessionStatus status;
} WsbHistoryResult;

/* config_dir receives sessions.d/NAME.conf of persisted runtime sessions;
 * state_dir holds the send-queue journals (queues/NAME.journal).
 *
 * Every operation a frontend asks for takes the caller (peer.h) and is
 * decided by access.h first. A session the caller may not use is to it as
 * one that does not exist: it is not listed, and every operation on it
 * fails with the same NOT_FOUND "no session named 'NAME'" (the denial is
 * logged with its reason). */
WsbHub *wsb_hub_new (WsbUpstream *up, const char *config_dir, const char *state_dir);
void wsb_hub_free (WsbHub *hub);
/* Who may do what (taken; replaces the one before, at a reload). Until
 * it is set, the hub admits only its own user (a user instance). */
void wsb_hub_set_access (WsbHub *hub, WsbAccess *access);

gboolean wsb_hub_add_session (WsbHub *hub, const WsbSessionConfig *cfg, GError **error);
/* Connects every session with autoconnect=true. */
void wsb_hub_start (WsbHub *hub);
/* Closes every session with 1001, then calls done once, from the main loop,
 * when the last connection has ended (told by the sessions, not polled), or
 * after a grace period. */
void wsb_hub_shutdown (WsbHub *hub, GSourceFunc done, gpointer data);

/* Makes the sessions match sessions (WsbSessionConfig*): unchanged ones are
 * not touched, changed ones reconnect with the new settings, removed ones
 * close with 1001, new ones start. */
void wsb_hub_apply_config (WsbHub *hub, GPtrArray *sessions);

/* Network up or resume: every session retries or re-checks at once. */
void wsb_hub_wake (WsbHub *hub);

/* Status of every session the peer may see, sorted by name; free with
 * g_ptr_array_unref. */
GPtrArray *wsb_hub_list_status (WsbHub *hub, const WsbPeer *peer);
void wsb_session_status_clear (WsbSessionStatus *st);

gboolean wsb_hub_channel_is_valid (const char *channel, GError **error);

/* epoch 0 (and since_seq 0): live messages only. With an epoch, catch-up
 * replays what came after since_seq of that epoch (0: from its start);
 * since_seq may not lie beyond the session's last seq in that epoch. The
 * first subscriber of a channel makes the hub send its subscribe frame
 * upstream (subscribe_template); the last one leaving, its unsubscribe frame. */
WsbSubscription *wsb_hub_subscribe (WsbHub *hub, const WsbPeer *peer, const char *session,
                                    const char *channel, guint64 since_seq, guint64 epoch,
                                    const WsbSubscriberFuncs *funcs, gpointer data, GError **error);
/* Delivers what the subscriber missed since its since_seq: a gap for what
 * the history no longer holds, then the messages it does (a wrong epoch: one
 * gap for all of the current epoch). Call it right after the subscribe reply
 * went out, before returning to the main loop. */
void wsb_hub_catch_up (WsbSubscription *sub);
/* Before wsb_hub_catch_up, for a live subscription (epoch 0): catch-up
 * starts with what the session's current upstream connection opened with
 * (its first opening_messages messages of the channel), as a connection
 * of the subscriber's own would have received them, then live ones. */
void wsb_subscription_want_opening (WsbSubscription *sub);
/* Live messages reach sub another way from now on (the socket frontend's
 * ring, whose own subscription to every message hands on those the ring
 * cannot hold): the hub no longer calls its message function for them, so
 * a hundred such subscribers cost a message nothing each. Gaps, state
 * changes and the end still come. */
void wsb_subscription_set_messages_elsewhere (WsbSubscription *sub);
void wsb_hub_unsubscribe (WsbSubscription *sub);
const char *wsb_subscription_get_session (WsbSubscription *sub);
const char *wsb_subscription_get_channel (WsbSubscription *sub);
/* The status of the subscription's session now. */
void wsb_subscription_get_status (WsbSubscription *sub, WsbSessionStatus *out);
/* The configuration of the subscription's session (valid until the
 * subscription ends or the session is reconfigured). */
const WsbSessionConfig *wsb_subscription_get_config (WsbSubscription *sub);
/* Whether peer may do op on the subscription's session (also from its
 * ended callback); silent: nothing is logged. */
gboolean wsb_subscription_allows (WsbSubscription *sub, const WsbPeer *peer, WsbOp op);

/* Queues a message; ttl_ms: how long it may wait in the queue; 0: the
 * session's queue_ttl_ms. With done, the send's one outcome goes to
 * done(done_data) alone, from the main loop, never from inside this call;
 * *wait (if wait is given) is the requester's handle on that interest until
 * then: a requester going away first cancels it (wsb_send_wait_cancel),
 * and after done it is gone. A send whose session goes without an outcome
 * (a journaled queue at shutdown) never calls done: its wait stays the
 * requester's to cancel. Without done nobody hears of the outcome. */
gboolean wsb_hub_send (WsbHub *hub, const WsbPeer *peer, const char *session, const guint8 *data,
                       gsize len, gboolean binary, guint32 ttl_ms, WsbHubOutcomeFunc done,
                       gpointer done_data, WsbSendWait **wait, guint64 *id, GError **error);
/* The requester no longer wants the outcome (only before done was called);
 * frees wait. NULL is allowed. */
void wsb_send_wait_cancel (WsbSendWait *wait);
/* Frontends that show every session (D-Bus objects) hear of new ones and of
 * counters that changed without a message or state change (a send queued
 * or ended). */
typedef struct
{
  void (*added) (const char *session, gpointer data);
  void (*changed) (const char *session, gpointer data);
} WsbHubSessionFuncs;

/* Listeners (listeners.h): adding returns the id that removes it; removing
 * is allowed while they are being called. */
guint wsb_hub_add_session_listener (WsbHub *hub, const WsbHubSessionFuncs *funcs, gpointer data);
void wsb_hub_remove_session_listener (WsbHub *hub, guint id);

/* After every read from an upstream has been fanned out: frontends flush
 * what it queued now, not a main-loop turn later (latency). */
typedef struct
{
  void (*flush) (gpointer data);
} WsbHubFlushFuncs;

guint wsb_hub_add_flush_listener (WsbHub *hub, const WsbHubFlushFuncs *funcs, gpointer data);
void wsb_hub_remove_flush_listener (WsbHub *hub, guint id);

/* The newest `last` messages (0: all) that the channel's history holds. */
gboolean wsb_hub_history (WsbHub *hub, const WsbPeer *peer, const char *session,
                          const char *channel, guint last, WsbHistoryResult *out, GError **error);
void wsb_history_result_clear (WsbHistoryResult *r);

/* Creates a session at runtime from options (keys[i] = values[i], as in a
 * configuration file; url may not be among them), validated like a file,
 * if access.h lets peer (wsb_access_check_create). A creator on the system
 * instance other than root joins allow_users (session-store.h) and holds
 * the session (max_sessions_per_user). With persist it is written to
 * sessions.d/NAME.conf (0600) and loaded at every start; without, reloads
 * keep it until it is removed. */
gboolean wsb_hub_create_session (WsbHub *hub, const WsbPeer *peer, const char *name,
                                 const char *url, const char *const *keys,
                                 const char *const *values, guint n_options, gboolean persist,
                                 GError **error);
/* Removes a runtime or persisted session (deleting its file); a session of
 * a configuration file the daemon did not write is refused. */
gboolean wsb_hub_remove_session (WsbHub *hub, const WsbPeer *peer, const char *name,
                                 GError **error);
gboolean wsb_hub_connect (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error);
/* Closes with 1000 and stays disconnected until wsb_hub_connect. */
gboolean wsb_hub_disconnect (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error);
gboolean wsb_hub_get_status (WsbHub *hub, const WsbPeer *peer, const char *name,
                             WsbSessionStatus *out, GError **error);
/* Whether peer may do op on session name (FALSE when there is none);
 * silent: nothing is logged. */
gboolean wsb_hub_allows (WsbHub *hub, const WsbPeer *peer, WsbOp op, const char *name);

WsbStateEvent *wsb_state_event_ref (WsbStateEvent *ev);
void wsb_state_event_unref (WsbStateEvent *ev);
