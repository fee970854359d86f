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
#include <glib/gstdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "hub.h"
#include "ipc-server.h"
#include "upstream.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The peer of the system instance: an ordinary user, whom the
 * configuration below lets use session demo (not b) and create sessions. */
#define SYSTEM_PEER_UID 1000
#define SYSTEM_PEER_GID 1000

/* The daemon the inputs talk to. Sessions point at a closed local port with
 * no proxy lookup, in case a request makes one connect. Small limits make
 * the limit paths reachable with small inputs. */
static const char fuzz_config[] = "[daemon]\n"
                                  "max_subscriptions_per_client=8\n"
                                  "create_allow_groups=1000\n"
                                  "\n"
                                  "[session demo]\n"
                                  "url=ws://127.0.0.1:9/feed\n"
                                  "autoconnect=false\n"
                                  "proxy=none\n"
                                  "channel_key=/channel\n"
                                  "subscribe_template={\"op\":\"sub\",\"ch\":\"{channel}\"}\n"
                                  "unsubscribe_template={\"op\":\"unsub\",\"ch\":\"{channel}\"}\n"
                                  "channels=status\n"
                                  "history_messages=4\n"
                                  "queue_max_messages=4\n"
                                  "queue_ttl_ms=60000\n"
                                  "allow_users=1000\n"
                                  "\n"
                                  "[session b]\n"
                                  "url=ws://127.0.0.1:9/\n"
                                  "autoconnect=false\n"
                                  "proxy=none\n"
                                  "queue_max_bytes=1K\n";

/* Write sizes, cycled; the start depends on the input length so split
 * points vary between inputs. */
static const size_t chunk_sizes[] = { 1, 2, 3, 5, 8, 13, 21, 64, 256, 1024, 4096, 65536 };

/* Main-loop rounds in a row in which nothing happens before the connection
 * counts as stuck. */
#define MAX_IDLE_ROUNDS 10000

/* No DNS: a request may create a session with any host name and connect
 * it, and a real lookup would make the run depend on the network. A name
 * fails at once; IP addresses and "localhost" never get here (GResolver
 * answers them itself), so those attempts are made for real. */
typedef GResolver FuzzResolver;
typedef GResolverClass FuzzResolverClass;
static GType fuzz_resolver_get_type (void);
G_DEFINE_TYPE (FuzzResolver, fuzz_resolver, G_TYPE_RESOLVER)

static void
fuzz_resolver_lookup_by_name_async (GResolver *resolver, const char *hostname,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer data)
{
  g_autoptr (GTask) task = g_task_new (resolver, cancellable, callback, data);

  g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                           "no DNS in the fuzzer");
}

static GList *
fuzz_resolver_lookup_by_name_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fuzz_resolver_class_init (FuzzResolverClass *klass)
{
  klass->lookup_by_name_async = fuzz_resolver_lookup_by_name_async;
  klass->lookup_by_name_finish = fuzz_resolver_lookup_by_name_finish;
}

static void
fuzz_resolver_init (FuzzResolver *resolver)
{
}

typedef struct
{
  GMainLoop *loop;
  WsbUpstream *up;
  WsbConfig *cfg;
  char *dir;        /* removed at exit */
  char *config_dir; /* dir/config: sessions.d/ of persisted runtime sessions */
  char *state_dir;  /* dir/state: send queue journals */
} Fixture;

static Fixture *fixture;

/* Quiet, except that a critical is a bug like a crash. WSB_FUZZ_LOG=1
 * shows everything (to see what a reproducer does). */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  static int verbose = -1;

  if (verbose < 0)
    verbose = g_strcmp0 (g_getenv ("WSB_FUZZ_LOG"), "1") == 0;
  if (verbose || (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)))
    g_log_writer_standard_streams (level, fields, n_fields, data);
  if (level & G_LOG_LEVEL_CRITICAL)
    abort ();
  return G_LOG_WRITER_HANDLED;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_cleanup (void)
{
  remove_tree (fixture->dir);
}

static void
fixture_init (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GResolver) resolver = NULL;

  /* Neither the desktop's proxy settings (dconf, libproxy) nor DNS. */
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  resolver = g_object_new (fuzz_resolver_get_type (), NULL);
  g_resolver_set_default (resolver);
  g_log_set_writer_func (log_writer, NULL, NULL);
  /* As the daemon does: a client that hangs up is an EPIPE, not a signal. */
  signal (SIGPIPE, SIG_IGN);
  fixture = g_new0 (Fixture, 1);
  fixture->cfg = wsb_config_new ();
  if (!wsb_config_parse_text (fixture->cfg, "fuzz.conf", fuzz_config, sizeof fuzz_config - 1, NULL,
                              &error))
    g_error ("fuzz config: %s", error->message);
  fixture->dir = g_dir_make_tmp ("wsb-fuzz-XXXXXX", &error);
  if (!fixture->dir)
    g_error ("temporary directory: %s", error->message);
  atexit (fixture_cleanup);
  fixture->config_dir = g_build_filename (fixture->dir, "config", NULL);
  fixture->state_dir = g_build_filename (fixture->dir, "state", NULL);
  fixture->loop = g_main_loop_new (NULL, FALSE);
  fixture->up = wsb_upstream_new (fixture->loop, FALSE, FALSE, &error);
  if (!fixture->up)
    g_error ("%s", error->message);
}

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

/* Removes what the daemon may have written (persisted sessions, send
 * queue journals), so that no input sees another's. */
static void
clear_dirs (void)
{
  remove_tree (fixture->config_dir);
  remove_tree (fixture->state_dir);
}

/* One daemon, one connection, then everything goes. */
static void
serve (const uint8_t *data, size_t size, gboolean system, uid_t uid, gid_t gid)
{
  g_autoptr (GError) error = NULL;
  WsbIpcServer *srv;
  WsbHub *hub;

  g_random_set_seed (1);
  hub = wsb_hub_new (fixture->up, fixture->config_dir, fixture->state_dir);
  for (guint i = 0; i < fixture->cfg->sessions->len; i++)
    if (!wsb_hub_add_session (hub, g_ptr_array_index (fixture->cfg->sessions, i), &error))
      g_error ("%s", error->message);
  srv = wsb_ipc_server_new (hub, &fixture->cfg->daemon);
  wsb_ipc_server_set_system (srv, system);

  run_connection (srv, data, size, uid, gid);

  /* The order of main.c: frontends first, then the hub. */
  wsb_ipc_server_free (srv);
  wsb_hub_free (hub);
  for (guint i = 0; i < 1000 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  clear_dirs ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (!fixture)
    fixture_init ();
  /* The user instance serves its own user; the system instance checks an
   * ordinary user's every request against allow_users and friends. */
  serve (data, size, FALSE, getuid (), getgid ());
  serve (data, size, TRUE, SYSTEM_PEER_UID, SYSTEM_PEER_GID);
  return 0;
}
