/* What the files of the D-Bus frontend share (dbus-server.h is its face to
 * main.c):
 *
 *   dbus-server.c    the server: the bus connection, the name, the hub's listeners
 *   dbus-manager.c   the manager object's methods
 *   dbus-session.c   one object per session: properties, their coalesced
 *                    PropertiesChanged, the session methods
 *   dbus-caller.c    peers by unique name: who they are (asked of the bus
 *                    without waiting), vanishing with their name
 *   dbus-subscriptions.c  a caller's subscriptions and the Message, Gap
 *                    signals to it
 *   dbus-batch.c     the Messages signal: the messages of one read at once
 *   dbus-backlog.c   what GDBus has queued and not yet written to the bus
 *
 * Like every frontend it uses the hub and never the socket frontend. */
#pragma once

#include "dbus-server.h"

#define BUS_NAME "io.github.WsBridge1"
#define MANAGER_PATH "/io/github/WsBridge1"
#define SESSION_PATH_PREFIX "/io/github/WsBridge1/session/"
#define MANAGER_IFACE "io.github.WsBridge1.Manager"
#define SESSION_IFACE "io.github.WsBridge1.Session"

typedef struct _Caller Caller;

/* A method's work, once its caller is known (peer.h). */
typedef void (*WsbDBusCall) (WsbDBusServer *srv, const WsbPeer *peer, GDBusMethodInvocation *inv);

/* One channel of one session, subscribed by one caller. */
typedef struct
{
  Caller *caller;
  char *key; /* session "/" channel: session names hold no '/' */
  char *path;
  char *channel;
  WsbSubscription *sub;
  guint64 gap_from, gap_to; /* messages the backlog made it lose (0: none) */
  GPtrArray *batch;         /* with the batch option: WsbMessage*, not yet sent */
  gsize batch_bytes;
} CallerSub;

/* A peer on the bus, by unique name: who it is and its subscriptions.
 * Gone when its name vanishes. */
struct _Caller
{
  WsbDBusServer *srv;
  char *name;
  guint watch_id;
  GHashTable *subs;     /* key → CallerSub* */
  WsbPeer *peer;        /* NULL until known */
  char *unknown;        /* why it could not be identified, if it could not */
  GCancellable *asking; /* its credentials are asked of the bus */
  WsbPeerWait *peer_wait;
  GQueue waiting; /* Waiting* */
};

/* The exported object of one session. Its watch, a subscription to "*",
 * tells it of state changes, of messages (counters) and of the session's
 * end. */
typedef struct
{
  WsbDBusServer *srv;
  char *name;
  char *path;
  gboolean announced; /* SessionAdded went out */
  WsbSubscription *watch;
  WsbSessionStatus shown; /* as PropertiesChanged last told it */
  gboolean dirty;         /* counters changed since */
} SessionObject;

struct _WsbDBusServer
{
  WsbHub *hub;
  guint session_listener; /* the hub's, for SessionAdded and counters */
  WsbDaemonConfig cfg;
  gboolean system;
  GBusType bus_type;
  GDBusConnection *conn;
  gulong closed_id;
  guint own_id;
  WsbDBusNameState name_state;
  GSourceFunc replaced_func;
  gpointer replaced_data;
  guint manager_reg_id;
  guint sessions_reg_id; /* the subtree of the session objects */
  GHashTable *objects;   /* name → SessionObject* */
  GHashTable *by_path;   /* path → SessionObject* (same objects) */
  GHashTable *callers;   /* unique name → Caller* */
  GPtrArray *dirty;      /* SessionObject* with dirty set */
  guint flush_id;
  /* The parameters of the last Message signal, for the next subscriber of
   * the same message and channel. */
  WsbMessage *cache_msg;
  char *cache_channel;
  GVariant *cache_params;
  /* What GDBus has queued and not yet written to the bus (dbus-backlog.c):
   * the bytes of the signals sent, those known written (a flush that was
   * asked for after them finished), the flush under way, the subscriptions
   * holding a gap for what the backlog made them lose. */
  guint64 sent_bytes;
  guint64 written_bytes;
  struct _FlushWait *flush;
  guint64 lost;    /* messages not sent since the backlog last filled */
  guint gaps_held; /* CallerSubs with a gap to send */
  /* Batched subscriptions (dbus-batch.c): those holding messages, sent when
   * the hub's read is done; the last Messages signal's parameters, for the
   * next subscription of the same channel and messages. */
  guint flush_listener;
  guint batch_idle_id;
  GPtrArray *batching; /* CallerSub* */
  GPtrArray *batch_cache_msgs;
  char *batch_cache_channel;
  GVariant *batch_cache_params;
};

/* ---- dbus-server.c */

/* Errors go out as io.github.WsBridge1.Error.* (wsb-error.c). */
void wsb_dbus_return_error (GDBusMethodInvocation *inv, const GError *error);

/* ---- dbus-manager.c */

const GDBusInterfaceVTable *wsb_dbus_manager_vtable (void);

/* ---- dbus-session.c */

/* Object path elements allow [A-Za-z0-9_]: every other byte of a session
 * name, and '_' itself, becomes _XX (its hex value), as sd-bus does, so
 * "feed.btc" is .../session/feed_2ebtc. */
char *wsb_dbus_session_path (const char *name);

/* The object of session name, announced (SessionAdded) if it has none yet;
 * NULL if there is no such session. */
SessionObject *wsb_dbus_object_ensure (WsbDBusServer *srv, const char *name);

/* Serves the session objects: one subtree under SESSION_PATH_PREFIX whose
 * nodes each caller sees only for the sessions it may use; a path of no
 * session, or of one the caller may not use, answers as one that does not
 * exist. Returns the registration id, 0 with error. */
guint wsb_dbus_sessions_register (WsbDBusServer *srv, GError **error);

/* The counters changed: they are shown within a coalescing interval. */
void wsb_dbus_object_mark_dirty (SessionObject *obj);

/* Unexports it (srv->objects' destroy function: no SessionRemoved). */
void wsb_dbus_object_free (SessionObject *obj);

/* ---- dbus-caller.c */

/* srv->callers' destroy function: ends the caller's subscriptions. */
void wsb_dbus_caller_free (Caller *c);

/* The caller of unique name name, made (and its name watched) if new. */
Caller *wsb_dbus_caller_get (WsbDBusServer *srv, const char *name);

/* Runs func with the caller of inv: at once when it is known, else once the
 * bus has said who it is (GetConnectionCredentials, asked without waiting,
 * once per unique name) and its groups are looked up. On any bus but the
 * system bus, every peer is the bus's own user and func runs at once with
 * the daemon's own peer. The hub decides what the peer may do. */
void wsb_dbus_with_peer (WsbDBusServer *srv, GDBusMethodInvocation *inv, WsbDBusCall func);

/* The peer of sender if it is known now, else NULL (and it is asked for). */
const WsbPeer *wsb_dbus_known_peer (WsbDBusServer *srv, const char *sender);

/* Emits a signal of watch's session: on the system bus to each known caller
 * that may see the session, unicast; on any other bus to all. Takes params. */
void wsb_dbus_emit_to_allowed (WsbDBusServer *srv, WsbSubscription *watch, const char *path,
                               const char *iface, const char *signal, GVariant *params);

/* ---- dbus-subscriptions.c */

/* c->subs' destroy function: unsubscribes from the hub. */
void wsb_dbus_caller_sub_free (CallerSub *cs);

/* Session methods Subscribe(s channel, t since_seq, t epoch) and
 * Unsubscribe(s channel) of obj, for the invocation's sender. */
void wsb_dbus_subscribe (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
                         GDBusMethodInvocation *inv, GVariant *params);
/* SubscribeWithOptions(s channel, t since_seq, t epoch, a{sv} options). */
void wsb_dbus_subscribe_with_options (WsbDBusServer *srv, const WsbPeer *peer, SessionObject *obj,
                                      GDBusMethodInvocation *inv, GVariant *params);
void wsb_dbus_unsubscribe (WsbDBusServer *srv, SessionObject *obj, GDBusMethodInvocation *inv,
                           GVariant *params);

/* Forgets the last Message signal's parameters. */
void wsb_dbus_clear_message_cache (WsbDBusServer *srv);

/* ---- dbus-batch.c */

/* Makes cs a batched subscription, its messages sent as Messages signals. */
void wsb_dbus_batch_init (CallerSub *cs);
/* Holds m for cs's next Messages signal (sending the held ones first if
 * the signal is full). */
void wsb_dbus_batch_add (CallerSub *cs, WsbMessage *m);
/* Sends what cs holds, if anything. */
void wsb_dbus_batch_send (CallerSub *cs);
/* Sends what every batched subscription holds: the hub's read is done. */
void wsb_dbus_batch_send_all (WsbDBusServer *srv);
/* Forgets what cs holds, unsent (it is going). */
void wsb_dbus_batch_drop (CallerSub *cs);
void wsb_dbus_batch_server_free (WsbDBusServer *srv);

/* The bus has caught up: each subscription's held Gap goes out. */
void wsb_dbus_send_held_gaps (WsbDBusServer *srv);

/* ---- dbus-backlog.c */

/* The bytes of signals sent and not known written. */
guint64 wsb_dbus_backlog (WsbDBusServer *srv);
/* More of them than client_buffer_bytes: subscribers lose messages. */
gboolean wsb_dbus_backlog_congested (WsbDBusServer *srv);
/* A signal of about bytes went out (a flush is asked for now and then). */
void wsb_dbus_backlog_sent (WsbDBusServer *srv, gsize bytes);
/* The connection is going: forgets the backlog and the flush under way. */
void wsb_dbus_backlog_reset (WsbDBusServer *srv);
