/* The hub: owns the sessions, numbers inbound messages (seq/epoch), keeps the
 * subscriptions of every frontend and fans messages and state changes out to
 * them. Frontends depend on the hub; the hub knows no frontend. */
#pragma once

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
} WsbSessionStatus;

/* A state change, shared by every subscriber that receives it. body is the
 * encoded wsbridge.v1.StateChange, made once. */
typedef struct
{
  gint ref;
  WsbSessionStatus status;
  GBytes *body;
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

WsbHub *wsb_hub_new (WsbUpstream *up);
void wsb_hub_free (WsbHub *hub);

gboolean wsb_hub_add_session (WsbHub *hub, const WsbSessionConfig *cfg, GError **error);
/* Connects every session with autoconnect=true. */
void wsb_hub_start (WsbHub *hub);
/* Closes every session with 1001, then calls done once all connections are
 * gone (or after a grace period). */
void wsb_hub_shutdown (WsbHub *hub, GSourceFunc done, gpointer data);

/* Makes the sessions match sessions (WsbSessionConfig*): unchanged ones are
 * not touched, changed ones reconnect with the new settings, removed ones
 * close with 1001, new ones start. */
void wsb_hub_apply_config (WsbHub *hub, GPtrArray *sessions);

/* Network up or resume: every session retries or re-checks at once. */
void wsb_hub_wake (WsbHub *hub);

/* Status of every session sorted by name; free with g_ptr_array_unref. */
GPtrArray *wsb_hub_list_status (WsbHub *hub);
void wsb_session_status_clear (WsbSessionStatus *st);

gboolean wsb_hub_channel_is_valid (const char *channel, GError **error);

WsbSubscription *wsb_hub_subscribe (WsbHub *hub, const char *session, const char *channel,
                                    const WsbSubscriberFuncs *funcs, gpointer data,
                                    GError **error);
/* Delivers what the subscriber missed since since_seq of epoch (0, 0: live
 * only); what cannot be replayed comes as a gap. Call it right after the
 * subscribe reply went out, before returning to the main loop. */
void wsb_hub_catch_up (WsbSubscription *sub, guint64 since_seq, guint64 epoch);
void wsb_hub_unsubscribe (WsbSubscription *sub);
const char *wsb_subscription_get_session (WsbSubscription *sub);
const char *wsb_subscription_get_channel (WsbSubscription *sub);
/* The status of the subscription's session now. */
void wsb_subscription_get_status (WsbSubscription *sub, WsbSessionStatus *out);

gboolean wsb_hub_send (WsbHub *hub, const char *session, const guint8 *data, gsize len,
                       gboolean binary, guint64 *id, GError **error);

WsbStateEvent *wsb_state_event_ref (WsbStateEvent *ev);
void wsb_state_event_unref (WsbStateEvent *ev);
