/* What the files of the socket API share; nothing else includes this.
 *   ipc-server.c         the listening socket: accept, admission, the server's lifetime
 *   ipc-client.c         one connection: reading frames, the hello, writing its
 *                        queue (out-queue.c), slow_client_policy, closing
 *   ipc-requests.c       the requests and their replies; send outcomes
 *   ipc-subscriptions.c  a client's subscriptions: the hub's events into its queue
 * The server makes clients; a client hands its requests to ipc-requests.c,
 * which makes subscriptions; both queue their frames back on the client.
 * All of it depends on the hub; the hub knows none of it. */
#pragma once

/* struct ucred: the including file defines _GNU_SOURCE first. */
#include <sys/socket.h>

#include "out-queue.h"
#include "ipc-server.h"
#include "wsbridge.pb-c.h"

typedef struct _WsbIpcClient WsbIpcClient;
typedef struct _WsbIpcRing WsbIpcRing;
typedef struct _WsbIpcSend WsbIpcSend;

struct _WsbIpcServer
{
  WsbHub *hub;
  guint flush_listener; /* the hub's: after each read's fan-out */
  gboolean system;      /* any uid may connect; the hub checks each request (access.h) */
  WsbDaemonConfig cfg;
  int listen_fd;
  guint listen_id;
  guint resume_id; /* accepting is paused: out of file descriptors */
  char *path;      /* unlinked on free when we bound it */
  GList *clients;
  guint n_clients; /* not closed yet */
  GQueue pending;  /* clients with output queued since the last flush */
  /* The last state change's StateChange encoding, made once for every
   * client that receives it (the hub shares one event among them). */
  WsbStateEvent *state_ev;
  GBytes *state_body;
  GHashTable *rings;        /* session name → WsbIpcRing*, while read */
  GPtrArray *rings_written; /* WsbIpcRing* written since the last flush */
  GArray *wake_polls;       /* struct pollfd, scratch for waking readers */
  guint wake_idle_id;       /* the readers of rings_written are woken when idle */
  guint wake_timeout_id;    /* or after a millisecond */
};

struct _WsbIpcClient
{
  WsbIpcServer *srv;
  int fd;
  GSource *source;
  gpointer fd_tag;
  struct ucred cred;
  WsbPeer *peer;          /* who it is (peer.h); NULL until known */
  WsbPeerWait *peer_wait; /* while its groups are looked up */
  gboolean hello_done;
  guint32 ring_version; /* the ring layout agreed in the hello; 0: none */
  guint hello_timer;    /* until the hello arrives: hello_timeout_ms */
  GList pending_link;   /* in srv->pending while output waits for the next flush */
  gboolean pending;
  gboolean dead;
  guint free_id;
  GByteArray *in;
  gsize in_start; /* bytes of `in` already handled */
  guint64 skip;   /* bytes still to discard of a request refused for its size */
  WsbOutQueue *out;
  gboolean out_full;            /* the last write found the socket full */
  gboolean in_held;             /* requests wait in `in` while too many replies are queued */
  gboolean src_in_off, src_out; /* what the source polls for, besides G_IO_IN */
  GHashTable *subs;             /* subscription id → WsbIpcSub* */
  GQueue sends;                 /* WsbIpcSend*: its sends whose outcomes are to come */
  guint64 next_sub_id;
  char *name;
};

typedef struct
{
  WsbQueueSub q; /* first: the queue's WsbQueueSub* is this */
  WsbIpcClient *client;
  WsbSubscription *sub;
  WsbIpcRing *ring; /* live messages go through it (ipc-ring.c) */
  int wake_fd;      /* its eventfd, -1 without a ring */
} WsbIpcSub;

/* ipc-client.c */
/* Serves fd, a connected non-blocking socket whose peer is cred. */
WsbIpcClient *wsb_ipc_client_new (WsbIpcServer *srv, int fd, const struct ucred *cred);
/* Ends the connection now; the memory goes from an idle callback, so no
 * caller up the stack (a dispatch, a hub delivery) is left holding a freed
 * client. */
void wsb_ipc_client_close (WsbIpcClient *c);
/* Frees a closed client now (the server going away). */
void wsb_ipc_client_free (WsbIpcClient *c);
/* Sends a connection-level error and closes the connection. */
void wsb_ipc_client_fail (WsbIpcClient *c, Wsbridge__V1__ErrorCode code, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
/* Queues a whole ServerFrame. */
void wsb_ipc_client_send_frame (WsbIpcClient *c, const Wsbridge__V1__ServerFrame *frame);
/* Something was queued on c->out (over: it is over client_buffer_bytes). */
void wsb_ipc_client_queued (WsbIpcClient *c, gboolean over);
/* Writes what the upstream reads since the last call made the clients
 * queue (the hub calls it after each read's fan-out). */
void wsb_ipc_clients_flush_pending (gpointer srv);

/* ipc-requests.c */
/* nul_in: the field holding a NUL byte, if any (wsb_pb_unpack_strict). */
void wsb_ipc_handle_request (WsbIpcClient *c, const Wsbridge__V1__Request *req, const char *nul_in);
/* The outcome of a send goes to the client that made it (the hub calls it
 * back); a client going away first tells the hub it no longer waits. */
void wsb_ipc_client_forget_sends (WsbIpcClient *c);

/* ipc-ring.c */
void wsb_ipc_rings_init (WsbIpcServer *srv);
void wsb_ipc_rings_free (WsbIpcServer *srv);
/* Right after cs's reply and catch-up (it asked for a ring): sends it the
 * session's ring in a RingStart event; on failure (logged) cs stays on the
 * socket. */
void wsb_ipc_ring_attach (WsbIpcSub *cs);
/* cs ends: its ring goes with the last reader. */
void wsb_ipc_ring_detach (WsbIpcSub *cs);
/* After a read's fan-out: wakes the readers of the rings written (during a
 * burst, per eighth of a ring; else once the main loop is idle). */
void wsb_ipc_rings_flush (WsbIpcServer *srv);

/* ipc-subscriptions.c */
/* Drops the kept encoding of the last state change. */
void wsb_ipc_forget_state (WsbIpcServer *srv);
/* The table of c's subscriptions, by id; removing one unsubscribes it. */
GHashTable *wsb_ipc_subs_new (void);
/* How c->out asks c's subscriptions for their gaps (data: the client). */
extern const WsbOutQueueFuncs wsb_ipc_sub_queue_funcs;
/* Queues m for cs's client on the socket. */
void wsb_ipc_sub_push_message (WsbIpcSub *cs, WsbMessage *m);
/* Subscribes c and adds the subscription to c->subs. */
WsbIpcSub *wsb_ipc_sub_new (WsbIpcClient *c, const char *session, const char *channel,
                            guint64 since_seq, guint64 epoch, GError **error);
