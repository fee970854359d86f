/* Fuzz target: the input is the byte stream a client writes to the API
 * socket. It is served twice, by a user instance to its own user and by a
 * system instance to an ordinary user; each time by a fresh hub (sessions
 * "demo" and "b", autoconnect off) and API server, over one connection
 * through a socketpair, written in chunks of varying size so that frames
 * and length prefixes arrive split, then EOF. The daemon must answer or
 * hang up, never crash, leak, log a critical or stop making progress.
 * Deterministic: the random seed (epochs, jitter) is reset for every run,
 * no daemon state or file outlives it, and there is no DNS. */
#include <errno.h>
#include <gio/gio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz-daemon.h"
#include "ipc-server.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The peer of the system instance: an ordinary user, whom the
 * configuration (fuzz-daemon.c) lets use session demo (not b) and create
 * sessions. */
#define SYSTEM_PEER_UID 1000
#define SYSTEM_PEER_GID 1000

/* Write sizes, cycled; the start depends on the input length so split
 * points vary between inputs. */
static const size_t chunk_sizes[] = { 1, 2, 3, 5, 8, 13, 21, 64, 256, 1024, 4096, 65536 };

/* Main-loop rounds in a row in which nothing happens before the connection
 * counts as stuck. From IDLE_WAIT_AFTER on, an idle round waits a little:
 * the system instance looks a caller's groups up in a worker thread
 * (peer.c), whose answer reaches the loop when it is ready, however many
 * rounds that takes; MAX_IDLE_ROUNDS then bounds the wait near 5 s. */
#define MAX_IDLE_ROUNDS 10000
#define IDLE_WAIT_AFTER 100
#define IDLE_WAIT_US 500

typedef enum
{
  PEER_QUIET,
  PEER_READ,
  PEER_CLOSED,
} PeerState;

/* Reads and discards whatever the daemon wrote. */
static PeerState
drain (int fd)
{
  PeerState st = PEER_QUIET;
  guint8 buf[65536];

  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0)
        st = PEER_READ;
      else if (n == 0 || errno == ECONNRESET)
        return PEER_CLOSED;
      else if (errno == EAGAIN || errno == EWOULDBLOCK)
        return st;
      else if (errno != EINTR)
        g_error ("reading the daemon's side: %s", g_strerror (errno));
    }
}

/* Feeds one input to a fresh connection until the daemon hangs up. */
static void
run_connection (WsbIpcServer *srv, const uint8_t *data, size_t size, uid_t uid, gid_t gid)
{
  guint chunk = size % G_N_ELEMENTS (chunk_sizes);
  size_t sent = 0;
  gboolean shut = FALSE;
  guint idle = 0;
  int sv[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    g_error ("socketpair: %s", g_strerror (errno));
  wsb_ipc_server_add_client (srv, sv[0], getpid (), uid, gid);
  for (;;)
    {
      gboolean progress = FALSE;

      if (sent < size)
        {
          ssize_t w = send (sv[1], data + sent, MIN (chunk_sizes[chunk], size - sent),
                            MSG_DONTWAIT | MSG_NOSIGNAL);
          if (w > 0)
            {
              sent += (size_t) w;
              chunk = (chunk + 1) % G_N_ELEMENTS (chunk_sizes);
              progress = TRUE;
            }
          else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            sent = size; /* the daemon hung up (EPIPE) */
        }
      if (sent == size && !shut)
        {
          shutdown (sv[1], SHUT_WR);
          shut = TRUE;
        }
      if (g_main_context_iteration (NULL, FALSE))
        progress = TRUE;
      switch (drain (sv[1]))
        {
          case PEER_CLOSED:
            close (sv[1]);
            return;
          case PEER_READ:
            progress = TRUE;
            break;
          case PEER_QUIET:
            break;
        }
      idle = progress ? 0 : idle + 1;
      if (idle > IDLE_WAIT_AFTER)
        g_usleep (IDLE_WAIT_US);
      if (idle > MAX_IDLE_ROUNDS)
        {
          fprintf (stderr,
                   "fuzz-frames: the daemon neither reads nor hangs up (%zu of %zu "
                   "bytes written%s)\n",
                   sent, size, shut ? ", then EOF" : "");
          abort ();
        }
    }
}

/* One daemon, one connection, then everything goes. */
static void
serve (const uint8_t *data, size_t size, gboolean system, uid_t uid, gid_t gid)
{
  FuzzDaemon *fd = fuzz_daemon_get ();
  WsbHub *hub = fuzz_daemon_hub_new (fd);
  WsbIpcServer *srv = wsb_ipc_server_new (hub, &fd->cfg->daemon);

  wsb_ipc_server_set_system (srv, system);
  run_connection (srv, data, size, uid, gid);
  /* The order of main.c: frontends first, then the hub. */
  wsb_ipc_server_free (srv);
  fuzz_daemon_hub_free (fd, hub);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* The user instance serves its own user; the system instance checks an
   * ordinary user's every request against allow_users and friends. */
  serve (data, size, FALSE, getuid (), getgid ());
  serve (data, size, TRUE, SYSTEM_PEER_UID, SYSTEM_PEER_GID);
  return 0;
}
