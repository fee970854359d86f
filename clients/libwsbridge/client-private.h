/* What the files of libwsbridge share: the client object and the functions
 * one file calls in another. Nothing here is API. libwsbridge.map exports
 * every wsb_client_* name, so internal names start with wsbc_ instead; the
 * prefix also keeps them apart from the daemon core's wsb_* names where the
 * static library is linked (wsbridgectl, wsbridge-notify).
 *
 *   wsbridge-client.c   the object: lifecycle, settings, error recording
 *   client-connect.c    the socket connect and the hello
 *   client-io.c         reading into the inbound buffer, writing frames, deadlines
 *   client-dispatch.c   handling inbound frames: events, replies, run/dispatch
 *   client-call.c       requests: numbering, pending entries, reply matching
 *   client-requests.c   the typed request helpers over wsb_client_call()
 *   client-ring.c       shared-memory rings: the RingStart, epoll, records as events
 *   client-arena.c, client-rx.c, client-pending.c: pure parts, unit-tested */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "client-arena.h"
#include "client-pending.h"
#include "client-rx.h"
#include "wsbridge.h"

#define WSBC_MAX_FDS 16

typedef enum
{
  WSBC_PHASE_IDLE,  /* no socket */
  WSBC_PHASE_HELLO, /* hello sent, waiting for HelloReply */
  WSBC_PHASE_READY,
} WsbcPhase;

struct WsbClient
{
  int fd;
  WsbcPhase phase;
  WsbClientStatus fatal;
  char *error;
  int error_code;
  bool error_oom;

  int timeout_ms;
  size_t max_frame;
  uint64_t next_id;

  WsbcRx rx;

  WsbcArena arena;
  ProtobufCAllocator arena_allocator;

  WsbcPending *pending;
  Wsbridge__V1__HelloReply *hello;
  bool got_hello;

  WsbClientEventFunc event_func;
  void *event_data;
  volatile sig_atomic_t stop;

  /* client-ring.c */
  int epfd; /* the socket and the rings' eventfds; -1 without rings */
  struct WsbcRingSub *ring_subs;
  int fds[WSBC_MAX_FDS]; /* received (SCM_RIGHTS), not yet used */
  int n_fds;
  bool draining;
};

/* ---- wsbridge-client.c: error recording */

/* Records a failure that leaves the connection usable. */
WsbClientStatus wsbc_set_error (WsbClient *c, WsbClientStatus status, int code, const char *fmt,
                                ...) __attribute__ ((format (printf, 4, 5)));

/* Records a failure that ends the connection; the first one sticks. */
WsbClientStatus wsbc_fail (WsbClient *c, WsbClientStatus status, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

WsbClientStatus wsbc_nomem (WsbClient *c);

/* The fatal status, or WSB_CLIENT_ERR_USAGE when not connected. */
WsbClientStatus wsbc_check_ready (WsbClient *c);

/* Text for a daemon-sent Error whose message may be empty. */
const char *wsbc_error_text (const Wsbridge__V1__Error *err);

/* ---- client-connect.c */

/* A ServerFrame.hello: kept as the client's hello (taken out of frame). */
WsbClientStatus wsbc_handle_hello (WsbClient *c, Wsbridge__V1__ServerFrame *frame);

/* ---- client-io.c */

/* -1: no deadline. */
int64_t wsbc_deadline_after (int timeout_ms);

typedef enum
{
  WSBC_READ_GOT_DATA,
  WSBC_READ_NOTHING, /* would block (non-blocking) or interrupted by stop (run) */
  WSBC_READ_EOF,
  WSBC_READ_ERROR, /* fatal error recorded, or timeout */
} WsbcReadResult;

/* One successful read of at most `max` bytes into c->rx. blocking: poll
 * until data, EOF, the deadline (WSB_CLIENT_ERR_TIMEOUT in *st) or, when
 * stoppable, a stop request. */
WsbcReadResult wsbc_read_once (WsbClient *c, size_t max, bool blocking, bool stoppable,
                               int64_t deadline, WsbClientStatus *st);

/* The fatal status for the daemon's EOF. */
WsbClientStatus wsbc_closed_error (WsbClient *c);

/* Encodes one delimited ClientFrame and writes it. When the daemon has
 * closed the socket, what it sent before (its reason) is handled first. */
WsbClientStatus wsbc_write_frame (WsbClient *c, const Wsbridge__V1__ClientFrame *frame,
                                  int64_t deadline);

/* ---- client-dispatch.c */

/* Handles every complete buffered frame. */
WsbClientStatus wsbc_handle_buffered_all (WsbClient *c);

/* Handles frames until *done, reading only as much as the frame in progress
 * needs so that nothing after the awaited frame is taken off the socket. */
WsbClientStatus wsbc_wait_until (WsbClient *c, const bool *done, int64_t deadline);

/* Hands an event to the application (or to the ring it belongs to). */
WsbClientStatus wsbc_deliver_event (WsbClient *c, const Wsbridge__V1__Event *event);

/* ---- client-ring.c */

/* Offers ring layout 1 in the hello (unless WSBRIDGE_NO_RING is set). */
void wsbc_ring_hello (WsbClient *c, Wsbridge__V1__Hello *hello);
/* After the hello: when the daemon agreed, the epoll descriptor. */
WsbClientStatus wsbc_ring_ready (WsbClient *c);
/* Whether subscriptions ask for rings. */
bool wsbc_ring_wanted (const WsbClient *c);
WsbClientStatus wsbc_ring_subscribed (WsbClient *c, uint64_t id, const char *session,
                                      const char *channel);
void wsbc_ring_unsubscribed (WsbClient *c, uint64_t id);
/* Keeps the descriptors that came with a read. */
void wsbc_ring_take_fds (WsbClient *c, struct msghdr *msg);
/* An event for the rings: the RingStart (taken: true), or the socket
 * message a ring waits for (false: deliver it too). */
bool wsbc_ring_event (WsbClient *c, const Wsbridge__V1__Event *event, WsbClientStatus *st);
/* Delivers what the rings hold. */
WsbClientStatus wsbc_ring_drain (WsbClient *c);
/* Waits up to timeout_ms for the socket or a ring; false without rings. */
bool wsbc_ring_wait (WsbClient *c, int timeout_ms);
void wsbc_ring_clear (WsbClient *c);

/* ---- client-call.c */

/* A ServerFrame.reply: to its pending request (taken out of frame). */
WsbClientStatus wsbc_handle_reply (WsbClient *c, Wsbridge__V1__ServerFrame *frame);
