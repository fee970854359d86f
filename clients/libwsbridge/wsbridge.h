/* libwsbridge — C client of wsbridged's Unix-socket protobuf API (wsbridge.v1).
 *
 * The library speaks the wire protocol of proto/wsbridge.proto: it connects,
 * performs the hello, numbers requests, matches replies to them and hands
 * events to a callback. Requests, replies and events are the protobuf-c
 * structs generated from wsbridge.proto (Wsbridge__V1__*), so every operation
 * of the schema is reachable through wsb_client_call() even when no typed
 * helper exists for it yet. It depends only on libc and protobuf-c; it never
 * prints, never exits and never raises SIGPIPE (writes use MSG_NOSIGNAL).
 *
 * Building: the pkg-config package is "wsbridge"; #include <wsbridge.h> and
 *   cc -o app app.c $(pkg-config --cflags --libs wsbridge)
 * This header and the generated wsbridge.pb-c.h it includes are installed in
 * INCLUDEDIR/wsbridge-1/ and need C11 or later (protobuf-c's oneofs are
 * anonymous unions) or C++. libwsbridge.so.1 exports the wsb_client_*
 * functions and the protobuf-c code generated from wsbridge.proto
 * (wsbridge__v1__*), nothing else. examples/wsbridge-list.c is a complete
 * program.
 *
 * Threads: a WsbClient is used from one thread at a time. Different clients
 * are independent.
 *
 * Errors: every fallible function returns a WsbClientStatus; WSB_CLIENT_OK is 0.
 * wsb_client_error() gives a message for the last failure and
 * wsb_client_error_code() the daemon's ErrorCode when it sent one:
 *   WSB_CLIENT_ERR_UNREACHABLE  connect() failed (ENOENT, ECONNREFUSED, EACCES…)
 *                               or the hello failed (refused, EOF, timeout). The
 *                               message gives the reason, not the socket path.
 *   WSB_CLIENT_ERR_DAEMON       the daemon answered a request with Reply.error; the
 *                               message is the daemon's text, the code its ErrorCode.
 *                               The connection stays usable.
 *   WSB_CLIENT_ERR_CONNECTION   the daemon sent a connection-level ServerFrame.error
 *                               (message and code are the daemon's) and closes.
 *   WSB_CLIENT_ERR_CLOSED       the daemon closed the connection.
 *   WSB_CLIENT_ERR_PROTOCOL     the daemon sent something this client cannot accept
 *                               (bad length prefix, frame over the size limit,
 *                               undecodable frame, reply with an unknown id).
 *   WSB_CLIENT_ERR_IO           a read or write failed (errno text in the message).
 *   WSB_CLIENT_ERR_TIMEOUT      no reply within the timeout (see
 *                               wsb_client_set_timeout()); the connection stays
 *                               usable and the late reply is dropped.
 *   WSB_CLIENT_ERR_USAGE        the API was misused (not connected, NULL argument…).
 *   WSB_CLIENT_ERR_NOMEM        out of memory.
 * CONNECTION, CLOSED, PROTOCOL and IO are fatal: the connection is dead and
 * every later call returns the same status and message until
 * wsb_client_close() (after which wsb_client_connect() may be called again).
 *
 * Event loops: wsb_client_get_fd() is a descriptor to poll for reading
 * (the non-blocking socket, or, when the daemon offers shared-memory rings,
 * an epoll descriptor over the socket and the rings' wake-ups); call
 * wsb_client_dispatch() when it is readable: that reads the socket once,
 * handles every complete frame read so far and every message the rings
 * hold. wsb_client_run() is the same loop, blocking, until
 * wsb_client_stop() or an error. The descriptor stays the same for the
 * whole connection.
 *
 * Shared-memory rings (proto/RING.md): every subscription asks the daemon
 * for its session's ring when the daemon has them, and the library turns
 * what the ring holds into the same message and gap events, in the same
 * order, as the socket would have given (a message too large for the ring
 * still comes on the socket, in its place). A subscriber that falls behind
 * by more than the ring (ring_bytes) gets a gap event. WSBRIDGE_NO_RING=1
 * in the environment keeps everything on the socket.
 *
 * Blocking calls: wsb_client_call() (and the typed helpers) send a request and
 * wait for its reply. Events that arrive meanwhile are delivered to the event
 * callback from inside the call, in arrival order. The call reads nothing past
 * its reply, so a poll loop never misses data that the call has taken off the
 * socket, and events of a new subscription are delivered only after
 * wsb_client_subscribe() has returned its id. Calls may be made from inside
 * event and reply callbacks.
 *
 * Callbacks receive structs owned by the library, valid only until the
 * callback returns. Callbacks must not call wsb_client_close() or
 * wsb_client_free().
 *
 * Example — print every message of session "demo":
 *
 *   static void
 *   on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *user_data)
 *   {
 *     if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_MESSAGE)
 *       printf ("#%" PRIu64 " %.*s\n", ev->message->seq,
 *               (int) ev->message->data.len, (const char *) ev->message->data.data);
 *   }
 *
 *   WsbClient *client = wsb_client_new ();
 *   uint64_t sub;
 *   WsbClientStatus st = wsb_client_connect (client, "/run/user/1000/wsbridge/wsbridge.sock",
 *                                            "example");
 *   if (st == WSB_CLIENT_OK)
 *     {
 *       wsb_client_set_event_callback (client, on_event, NULL);
 *       st = wsb_client_subscribe (client, "demo", "*", 0, 0, &sub, NULL);
 *     }
 *   if (st == WSB_CLIENT_OK)
 *     st = wsb_client_run (client);      // until wsb_client_stop() or an error
 *   if (st != WSB_CLIENT_OK)
 *     fprintf (stderr, "wsbridge: %s\n", wsb_client_error (client));
 *   wsb_client_free (client);
 *
 * Example — the same client in the application's own poll() loop, instead of
 * wsb_client_run(), next to its other descriptors:
 *
 *   struct pollfd pfd = { .fd = wsb_client_get_fd (client), .events = POLLIN };
 *
 *   for (;;)
 *     {
 *       if (poll (&pfd, 1, -1) < 0 && errno != EINTR)
 *         break;
 *       if (pfd.revents && (st = wsb_client_dispatch (client)) != WSB_CLIENT_OK)
 *         break;                          // on_event ran for every event read
 *     }
 *
 * Example — in a GLib main loop (this is the application's code, with
 * <glib-unix.h>; the library itself does not use GLib):
 *
 *   static gboolean
 *   on_readable (int fd, GIOCondition condition, gpointer user_data)
 *   {
 *     WsbClient *client = user_data;
 *
 *     if (wsb_client_dispatch (client) == WSB_CLIENT_OK)
 *       return G_SOURCE_CONTINUE;
 *     g_warning ("wsbridge: %s", wsb_client_error (client));
 *     return G_SOURCE_REMOVE;             // the connection is dead
 *   }
 *
 *   g_unix_fd_add (wsb_client_get_fd (client), G_IO_IN, on_readable, client);
 *   g_main_loop_run (loop);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsbridge.pb-c.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* Inbound frames announcing more than this are a protocol error. */
#define WSB_CLIENT_DEFAULT_MAX_FRAME (64u * 1024 * 1024)

  typedef struct WsbClient WsbClient;

  typedef enum
  {
    WSB_CLIENT_OK = 0,
    WSB_CLIENT_ERR_UNREACHABLE,
    WSB_CLIENT_ERR_DAEMON,
    WSB_CLIENT_ERR_CONNECTION,
    WSB_CLIENT_ERR_CLOSED,
    WSB_CLIENT_ERR_PROTOCOL,
    WSB_CLIENT_ERR_IO,
    WSB_CLIENT_ERR_TIMEOUT,
    WSB_CLIENT_ERR_USAGE,
    WSB_CLIENT_ERR_NOMEM,
  } WsbClientStatus;

  /* Called for every ServerFrame.event. */
  typedef void (*WsbClientEventFunc) (WsbClient *client, const Wsbridge__V1__Event *event,
                                      void *user_data);

  /* Called with the reply to a request sent by wsb_client_request(), including
   * replies that carry Reply.error. */
  typedef void (*WsbClientReplyFunc) (WsbClient *client, const Wsbridge__V1__Reply *reply,
                                      void *user_data);

  /* Lifecycle. wsb_client_new() returns NULL only when out of memory. */
  WsbClient *wsb_client_new (void);
  void wsb_client_free (WsbClient *client);

  /* Connects to the socket at path (blocking), sends Hello{api_major = 1,
   * api_minor = 0, client_name} and waits for the daemon's HelloReply. Any
   * failure is WSB_CLIENT_ERR_UNREACHABLE and leaves the client unconnected. */
  WsbClientStatus wsb_client_connect (WsbClient *client, const char *path, const char *client_name);

  /* Closes the connection. Pending requests are dropped without calling their
   * callbacks. The client may connect again. */
  void wsb_client_close (WsbClient *client);

  /* The connected socket (non-blocking), or -1. */
  int wsb_client_get_fd (const WsbClient *client);

  /* The daemon's HelloReply (version, the caller's uid/gid/pid as the daemon
   * sees them), or NULL when not connected. */
  const Wsbridge__V1__HelloReply *wsb_client_get_hello (const WsbClient *client);

  /* How long the hello, wsb_client_call() and the typed helpers wait for an
   * answer, and a write for room in the socket; -1 (the default) waits forever. */
  void wsb_client_set_timeout (WsbClient *client, int timeout_ms);

  /* Largest inbound frame body accepted (default WSB_CLIENT_DEFAULT_MAX_FRAME). */
  void wsb_client_set_max_frame_size (WsbClient *client, size_t max_bytes);

  /* Events (and nothing else) go to func; without a callback they are dropped. */
  void wsb_client_set_event_callback (WsbClient *client, WsbClientEventFunc func, void *user_data);

  /* Sends a request without waiting. The library assigns request->id (from a
   * counter starting at 1), stores it in *id if id is non-NULL, and calls func
   * (may be NULL) with the reply from wsb_client_dispatch(), wsb_client_run()
   * or a later blocking call. */
  WsbClientStatus wsb_client_request (WsbClient *client, Wsbridge__V1__Request *request,
                                      WsbClientReplyFunc func, void *user_data, uint64_t *id);

  /* Sends a request and waits for its reply. On WSB_CLIENT_OK *reply (if reply
   * is non-NULL) is the daemon's reply, to be freed with wsb_client_reply_free().
   * A Reply.error is returned as WSB_CLIENT_ERR_DAEMON with *reply = NULL. */
  WsbClientStatus wsb_client_call (WsbClient *client, Wsbridge__V1__Request *request,
                                   Wsbridge__V1__Reply **reply);

  void wsb_client_reply_free (Wsbridge__V1__Reply *reply);

  /* Typed helpers over wsb_client_call(). Out-parameters may be NULL. */

  /* Every session's status, sorted by name: (*reply)->list_sessions->sessions. */
  WsbClientStatus wsb_client_list_sessions (WsbClient *client, Wsbridge__V1__Reply **reply);

  /* Subscribes to a channel ("*" or NULL: every message) of a session.
   * since_seq = 0: live messages only; else replay after since_seq of epoch.
   * *reply holds the SubscribeReply, with the session's status. */
  WsbClientStatus wsb_client_subscribe (WsbClient *client, const char *session, const char *channel,
                                        uint64_t since_seq, uint64_t epoch,
                                        uint64_t *subscription_id, Wsbridge__V1__Reply **reply);

  WsbClientStatus wsb_client_unsubscribe (WsbClient *client, uint64_t subscription_id);

  /* Sends one message upstream (text must be UTF-8 unless binary). A refused
   * send (full queue, …) is WSB_CLIENT_ERR_DAEMON: its `rejected` outcome.
   * An accepted one later gets exactly one event with a SendOutcome (sent,
   * expired or cancelled; subscription_id 0) carrying session and *send_id. */
  WsbClientStatus wsb_client_send (WsbClient *client, const char *session, const void *data,
                                   size_t len, bool binary, uint64_t *send_id);
  /* The same with a TTL of its own: it expires after ttl_ms in the queue
   * (0: the session's queue_ttl_ms). */
  WsbClientStatus wsb_client_send_full (WsbClient *client, const char *session, const void *data,
                                        size_t len, bool binary, uint32_t ttl_ms,
                                        uint64_t *send_id);

  /* The newest `last` messages (0: all) of a channel's history ("*" or NULL:
   * the catch-all): (*reply)->history, with a gap when older ones are lost. */
  WsbClientStatus wsb_client_history (WsbClient *client, const char *session, const char *channel,
                                      uint32_t last, Wsbridge__V1__Reply **reply);

  /* One session's status: (*reply)->session. */
  WsbClientStatus wsb_client_get_session (WsbClient *client, const char *session,
                                          Wsbridge__V1__Reply **reply);

  /* Creates a session at runtime with options keys[i]=values[i] as in
   * wsbridge.conf(5) (lists separated by ';'); persist writes it to the
   * daemon's sessions.d/ so it survives restarts. (*reply)->session is its
   * status. Errors: ALREADY_EXISTS, INVALID_ARGUMENT naming the key,
   * ACCESS_DENIED on the system instance. */
  WsbClientStatus wsb_client_create_session (WsbClient *client, const char *name, const char *url,
                                             const char *const *keys, const char *const *values,
                                             size_t n_options, bool persist,
                                             Wsbridge__V1__Reply **reply);

  /* Removes a session created at runtime (a persisted one loses its file). */
  WsbClientStatus wsb_client_remove_session (WsbClient *client, const char *session);

  /* Wants the session connected, or closes it (1000) and keeps it closed. */
  WsbClientStatus wsb_client_connect_session (WsbClient *client, const char *session);
  WsbClientStatus wsb_client_disconnect_session (WsbClient *client, const char *session);

  /* Reads what the socket has (never blocks) and handles every complete frame:
   * events to the event callback, replies to their request's callback.
   * Returns WSB_CLIENT_OK, or the fatal status when the connection ended
   * (WSB_CLIENT_ERR_CLOSED on EOF, after handling the frames before it). */
  WsbClientStatus wsb_client_dispatch (WsbClient *client);

  /* Dispatches, blocking, until wsb_client_stop() (returns WSB_CLIENT_OK) or a
   * fatal error (WSB_CLIENT_ERR_CLOSED when the daemon closes the connection).
   * Frames already read when stop takes effect stay buffered for the next
   * wsb_client_run() or wsb_client_dispatch(). */
  WsbClientStatus wsb_client_run (WsbClient *client);

  /* Makes wsb_client_run() return after the frame being handled; when called
   * outside of run, the next run returns at once. Only sets a flag, so it may
   * also be called from a signal handler, though a signal that lands just
   * before run blocks takes effect at the next frame. */
  void wsb_client_stop (WsbClient *client);

  /* Message for the last failure ("" if none); valid until the next call on
   * this client. */
  const char *wsb_client_error (const WsbClient *client);

  /* The daemon's Wsbridge__V1__ErrorCode for WSB_CLIENT_ERR_DAEMON and
   * WSB_CLIENT_ERR_CONNECTION (and a refused hello), else 0. */
  int wsb_client_error_code (const WsbClient *client);

  /* Static names: "ok", "unreachable", "daemon error", … */
  const char *wsb_client_status_to_string (WsbClientStatus status);

  /* Lowercase session state names as used by the CLI and D-Bus: "disconnected",
   * "connecting", "open", "backoff", "closing"; "unknown" for anything else. */
  const char *wsb_client_state_to_string (Wsbridge__V1__SessionState state);

#ifdef __cplusplus
}
#endif
