/* The daemon of the fuzz targets that serve one (fuzz-daemon.h). */
#include "fuzz-daemon.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "upstream.h"

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

/* The daemon both targets talk to. Sessions point at a closed local port with
 * no proxy lookup, in case a request makes one connect. Small limits make
 * the limit paths reachable with small inputs. User 1000 (group 1000) is
 * the caller both targets give the system instance. */
static const char fuzz_config[] = "[daemon]\n"
                                  "max_subscriptions_per_client=4\n"
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

static FuzzDaemon *fixture;

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
  fixture = g_new0 (FuzzDaemon, 1);
  fixture->cfg = wsb_config_new ();
  if (!wsb_config_parse_text (fixture->cfg, "fuzz.conf", fuzz_config, strlen (fuzz_config), NULL,
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

FuzzDaemon *
fuzz_daemon_get (void)
{
  if (!fixture)
    fixture_init ();
  return fixture;
}

WsbHub *
fuzz_daemon_hub_new (FuzzDaemon *fd)
{
  g_autoptr (GError) error = NULL;
  WsbHub *hub;

  g_random_set_seed (1);
  hub = wsb_hub_new (fd->up, fd->config_dir, fd->state_dir);
  for (guint i = 0; i < fd->cfg->sessions->len; i++)
    if (!wsb_hub_add_session (hub, g_ptr_array_index (fd->cfg->sessions, i), &error))
      g_error ("%s", error->message);
  return hub;
}

void
fuzz_daemon_hub_free (FuzzDaemon *fd, WsbHub *hub)
{
  wsb_hub_free (hub);
  for (guint i = 0; i < 1000 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  remove_tree (fd->config_dir);
  remove_tree (fd->state_dir);
}
