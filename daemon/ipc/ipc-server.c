/* The socket API's listening socket: binding it (or adopting systemd's),
 * accepting connections, admitting them (the peer's uid, max_clients with
 * room made by dropping a connection that never said hello,
 * max_clients_per_user on the system instance) and pausing when out of file
 * descriptors. Each admitted connection is served by ipc-client.c. */
#define _GNU_SOURCE
#include "ipc-private.h"

#include "fd-reserve.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "framing.h"
#include "wsb-error.h"

/* How long accepting pauses when the daemon is out of file descriptors. */
#define ACCEPT_PAUSE_MS 250

static void
reject_client (int fd, Wsbridge__V1__ErrorCode code, const char *text)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Error err = WSBRIDGE__V1__ERROR__INIT;
  guint8 buf[512];
  gsize len, n;

  err.code = code;
  err.message = (char *) text;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR;
  frame.error = &err;
  len = wsbridge__v1__server_frame__get_packed_size (&frame);
  if (len + WSB_VARINT_MAX <= sizeof buf)
    {
      n = wsb_varint_encode (len, buf);
      wsbridge__v1__server_frame__pack (&frame, buf + n);
      if (send (fd, buf, n + len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        g_debug ("could not tell a rejected client why: %s", g_strerror (errno));
    }
  close (fd);
}

static gboolean on_accept (int lfd, GIOCondition cond, gpointer data);

/* The longest-waiting client that has not sent its hello, or NULL. */
static WsbIpcClient *
oldest_without_hello (WsbIpcServer *srv)
{
  for (GList *l = g_list_last (srv->clients); l; l = l->prev)
    {
      WsbIpcClient *c = l->data;
      if (!c->dead && !c->hello_done)
        return c;
    }
  return NULL;
}

static guint
clients_of_uid (WsbIpcServer *srv, uid_t uid)
{
  guint n = 0;

  for (GList *l = srv->clients; l; l = l->next)
    {
      WsbIpcClient *c = l->data;
      n += !c->dead && c->cred.uid == uid;
    }
  return n;
}

/* Whether a new client with the peer cred may be served. At max_clients
 * a connection that never said hello makes room for it; on the system
 * instance one user may hold at most max_clients_per_user, so no user can
 * lock the others out. A refused client is told why. */
static gboolean
admit (WsbIpcServer *srv, const struct ucred *cred, int fd)
{
  if (srv->system && cred->uid != 0
      && clients_of_uid (srv, cred->uid) >= srv->cfg.max_clients_per_user)
    {
      g_warning (
          "refused API client pid %d: uid %u already has max_clients_per_user (%" G_GUINT64_FORMAT
          ") connections",
          cred->pid, cred->uid, srv->cfg.max_clients_per_user);
      reject_client (fd, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                     "too many connections from this user (max_clients_per_user reached)");
      return FALSE;
    }
  if (srv->n_clients >= srv->cfg.max_clients)
    {
      WsbIpcClient *idle = oldest_without_hello (srv);

      if (!idle)
        {
          g_warning ("refused API client pid %d: max_clients (%" G_GUINT64_FORMAT ") reached",
                     cred->pid, srv->cfg.max_clients);
          reject_client (fd, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                         "too many clients (max_clients reached)");
          return FALSE;
        }
      wsb_ipc_client_fail (idle, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                           "max_clients reached and no hello sent yet: making room for a new "
                           "client");
    }
  return TRUE;
}

static gboolean
on_resume_accept (gpointer data)
{
  WsbIpcServer *srv = data;

  srv->resume_id = 0;
  if (srv->listen_fd >= 0)
    srv->listen_id = g_unix_fd_add (srv->listen_fd, G_IO_IN, on_accept, srv);
  return G_SOURCE_REMOVE;
}

/* Out of file descriptors: the waiting connection would wake us at once
 * for ever. Stop listening for a moment; it stays in the backlog. */
static void
pause_accepting (WsbIpcServer *srv, int err)
{
  static WsbLogLimit log;

  wsb_log_limited (&log, G_LOG_LEVEL_WARNING,
                   "accept on the API socket failed: %s; new clients wait %d ms (the daemon's "
                   "open-file limit is reached: raise LimitNOFILE or lower the number of sessions)",
                   g_strerror (err), ACCEPT_PAUSE_MS);
  srv->listen_id = 0;
  srv->resume_id = g_timeout_add (ACCEPT_PAUSE_MS, on_resume_accept, srv);
}

static gboolean
on_accept (int lfd, GIOCondition cond, gpointer data)
{
  WsbIpcServer *srv = data;

  for (;;)
    {
      int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      struct ucred cred;
      socklen_t clen = sizeof cred;

      if (fd < 0)
        {
          /* The reserve kept for API clients gives one back for this one. */
          if (errno == EMFILE && wsb_fd_reserve_release ())
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              pause_accepting (srv, errno);
              return G_SOURCE_REMOVE;
            }
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            g_warning ("accept on the API socket failed: %s", g_strerror (errno));
          return G_SOURCE_CONTINUE;
        }
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
        {
          g_warning ("SO_PEERCRED failed: %s", g_strerror (errno));
          close (fd);
          continue;
        }
      if (!srv->system && cred.uid != getuid () && cred.uid != 0)
        {
          g_message ("refused API client pid %d: uid %u is not this instance's user", cred.pid,
                     cred.uid);
          reject_client (fd, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_ACCESS_DENIED,
                         "this wsbridged instance serves only its own user");
          continue;
        }
      if (admit (srv, &cred, fd))
        wsb_ipc_client_new (srv, fd, &cred);
    }
}

void
wsb_ipc_server_add_client (WsbIpcServer *srv, int fd, pid_t pid, uid_t uid, gid_t gid)
{
  struct ucred cred = { .pid = pid, .uid = uid, .gid = gid };

  wsb_ipc_client_new (srv, fd, &cred);
}

static const WsbHubFlushFuncs flush_funcs = {
  .flush = wsb_ipc_clients_flush_pending,
};

WsbIpcServer *
wsb_ipc_server_new (WsbHub *hub, const WsbDaemonConfig *cfg)
{
  WsbIpcServer *srv = g_new0 (WsbIpcServer, 1);

  srv->hub = hub;
  srv->cfg = *cfg;
  srv->listen_fd = -1;
  g_queue_init (&srv->pending);
  wsb_ipc_rings_init (srv);
  srv->flush_listener = wsb_hub_add_flush_listener (hub, &flush_funcs, srv);
  return srv;
}

void
wsb_ipc_server_set_system (WsbIpcServer *srv, gboolean system)
{
  srv->system = system;
}

gboolean
wsb_ipc_server_adopt (WsbIpcServer *srv, int fd, GError **error)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot use the API socket: %s",
                   g_strerror (errno));
      return FALSE;
    }
  srv->listen_fd = fd;
  srv->listen_id = g_unix_fd_add (fd, G_IO_IN, on_accept, srv);
  return TRUE;
}

/* TRUE when something accepts connections on path. */
static gboolean
someone_listens (const struct sockaddr_un *addr)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean yes;

  if (fd < 0)
    return FALSE;
  yes = connect (fd, (const struct sockaddr *) addr, sizeof *addr) == 0;
  close (fd);
  return yes;
}

static gboolean
prepare_dir (const char *path, gboolean private_dir, gboolean system, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, system ? 0755 : 0700) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot create %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (private_dir && g_chmod (dir, 0700) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot make %s private: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
wsb_ipc_server_listen (WsbIpcServer *srv, const char *path, gboolean private_dir, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd, saved_errno;
  mode_t old_umask;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "socket path is too long (%zu bytes, at most %zu): %s", strlen (path),
                   sizeof addr.sun_path - 1, path);
      return FALSE;
    }
  strcpy (addr.sun_path, path);
  if (!prepare_dir (path, private_dir, srv->system, error))
    return FALSE;
  if (someone_listens (&addr))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS,
                   "another wsbridged is already listening on %s", path);
      return FALSE;
    }
  if (g_unlink (path) < 0 && errno != ENOENT)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot remove stale socket %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "socket: %s", g_strerror (errno));
      return FALSE;
    }
  /* The system instance's socket is open to every local user; each request
   * is checked against the session's allow_users/allow_groups. */
  old_umask = umask (srv->system ? 0111 : 0177);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 128) < 0)
    {
      saved_errno = errno;
      umask (old_umask);
      close (fd);
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot listen on %s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  umask (old_umask);
  srv->path = g_strdup (path);
  srv->listen_fd = fd;
  srv->listen_id = g_unix_fd_add (fd, G_IO_IN, on_accept, srv);
  return TRUE;
}

void
wsb_ipc_server_stop_listening (WsbIpcServer *srv)
{
  if (srv->listen_id)
    g_source_remove (srv->listen_id);
  srv->listen_id = 0;
  if (srv->resume_id)
    g_source_remove (srv->resume_id);
  srv->resume_id = 0;
  /* Unlink before closing: while the socket accepts, a successor started
   * with --replace waits; once it does not, the path is already gone, so
   * we cannot unlink the successor's new socket. */
  if (srv->path)
    g_unlink (srv->path);
  g_clear_pointer (&srv->path, g_free);
  if (srv->listen_fd >= 0)
    close (srv->listen_fd);
  srv->listen_fd = -1;
}

void
wsb_ipc_server_free (WsbIpcServer *srv)
{
  if (!srv)
    return;
  while (srv->clients)
    {
      WsbIpcClient *c = srv->clients->data;
      wsb_ipc_client_close (c);
      wsb_ipc_client_free (c);
    }
  wsb_ipc_server_stop_listening (srv);
  wsb_hub_remove_flush_listener (srv->hub, srv->flush_listener);
  wsb_ipc_forget_state (srv);
  wsb_ipc_rings_free (srv);
  g_free (srv);
}
