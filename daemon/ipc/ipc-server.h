/* The socket API frontend (DESIGN §5): the Unix socket speaking
 * wsbridge.v1 (proto/wsbridge.proto, varint-delimited frames). Each client
 * says hello, makes requests the hub decides on with its peer (uid, groups),
 * and gets its subscriptions' events through its own bounded output queue
 * (client_buffer_bytes, slow_client_policy), or live messages through the
 * session's shared-memory ring when it asked (proto/RING.md). The only part
 * of the daemon that sees the protobuf-c structs. */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "hub.h"

typedef struct _WsbIpcServer WsbIpcServer;

WsbIpcServer *wsb_ipc_server_new (WsbHub *hub, const WsbDaemonConfig *cfg);
void wsb_ipc_server_free (WsbIpcServer *srv);

/* The system instance: every local uid may connect (the socket is 0666),
 * and each request is checked against the session's allow_users and
 * allow_groups; creating sessions needs root or create_allow_groups. */
void wsb_ipc_server_set_system (WsbIpcServer *srv, gboolean system);

/* Binds and listens on path (socket mode 0600). A missing parent directory
 * is created with mode 0700; with private_dir the existing parent is also
 * forced to 0700 (the daemon's own runtime directory). Fails with
 * WSB_ERROR_ALREADY_EXISTS when another daemon already answers on path. */
gboolean wsb_ipc_server_listen (WsbIpcServer *srv, const char *path, gboolean private_dir,
                                GError **error);

/* Serves an already listening socket (systemd socket activation). */
gboolean wsb_ipc_server_adopt (WsbIpcServer *srv, int fd, GError **error);

/* Stops accepting and removes the socket made by wsb_ipc_server_listen
 * (an adopted one stays systemd's); connected clients are still served.
 * For a daemon replaced by another (--replace), which takes the path. */
void wsb_ipc_server_stop_listening (WsbIpcServer *srv);

/* Serves one connected, non-blocking socket as a client with this peer
 * identity (the fuzz target feeds frames this way; accepted clients go
 * through the same path after the SO_PEERCRED and max_clients checks). */
void wsb_ipc_server_add_client (WsbIpcServer *srv, int fd, pid_t pid, uid_t uid, gid_t gid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbIpcServer, wsb_ipc_server_free)
