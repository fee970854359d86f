#include "upstream.h"

#include <libwebsockets.h>
#include <string.h>

#include "lws-log.h"
#include "tls-context-cache.h"
#include "ws-client.h"
#include "wsb-error.h"

struct _WsbUpstream
{
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  WsbTlsContextCache *tls;
  GHashTable *conns; /* conn → its GDestroyNotify */
  gboolean system;
};

static int
raw_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
  return wsb_ws_client_lws_callback (wsi, (int) reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
  /* Raw sockets: TLS, the upgrade and frames are ws-client.c's. */
  { "wsbridge", raw_callback, 0, 0, 0, NULL, 0 },
  { NULL, NULL, 0, 0, 0, NULL, 0 },
};

WsbUpstream *
wsb_upstream_new (GMainLoop *loop, gboolean verbose, gboolean system_instance, GError **error)
{
  g_autoptr (WsbUpstream) up = g_new0 (WsbUpstream, 1);
  struct lws_context_creation_info info;
  void *foreign_loops[] = { loop };
  g_autofree char *context_error = NULL;
  g_autofree char *vhost_error = NULL;

  wsb_lws_log_init (verbose);
  up->conns = g_hash_table_new (NULL, NULL);
  up->tls = wsb_tls_context_cache_new ();
  memset (&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.foreign_loops = foreign_loops;
  /* Sessions enforce their own connect_timeout; keep lws' stage timeout out of its way. */
  info.timeout_secs = 310;
  info.pt_serv_buf_size = 64 * 1024;

  wsb_lws_log_capture_begin ();
  up->ctx = lws_create_context (&info);
  context_error = wsb_lws_log_capture_end ();
  if (!up->ctx)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "cannot start libwebsockets on the GLib main loop: %s (is the "
                   "libwebsockets-evlib-glib package installed?)",
                   context_error ? context_error : "lws_create_context failed");
      return NULL;
    }

  memset (&info, 0, sizeof info);
  info.vhost_name = "wsbridge";
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  /* lws would otherwise connect through http_proxy from the environment
   * (ignoring no_proxy); wsbridge decides proxying itself. An empty address
   * keeps lws from looking (it logs an error and sets no proxy). */
  info.http_proxy_address = "";
  info.timeout_secs = 310;
  wsb_lws_log_capture_begin ();
  up->vhost = lws_create_vhost (up->ctx, &info);
  vhost_error = wsb_lws_log_capture_end ();
  if (!up->vhost)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot set up libwebsockets: %s",
                   vhost_error ? vhost_error : "lws_create_vhost failed");
      return NULL;
    }
  up->system = system_instance;
  return g_steal_pointer (&up);
}

SSL_CTX *
wsb_upstream_get_tls (WsbUpstream *up, const char *ca_file, const char *cert_file,
                      const char *key_file, GError **error)
{
  return wsb_tls_context_cache_get (up->tls, ca_file, cert_file, key_file, error);
}

void
wsb_upstream_track (WsbUpstream *up, gpointer conn, GDestroyNotify free_func)
{
  g_hash_table_insert (up->conns, conn, free_func);
}

void
wsb_upstream_untrack (WsbUpstream *up, gpointer conn)
{
  GDestroyNotify free_func = g_hash_table_lookup (up->conns, conn);

  if (g_hash_table_remove (up->conns, conn))
    free_func (conn);
}

void
wsb_upstream_free (WsbUpstream *up)
{
  GHashTableIter it;
  gpointer conn, free_func;

  if (!up)
    return;
  /* Destroys every connection lws still has (each frees itself). */
  if (up->ctx)
    lws_context_destroy (up->ctx);
  if (up->conns)
    {
      g_hash_table_iter_init (&it, up->conns);
      while (g_hash_table_iter_next (&it, &conn, &free_func))
        {
          g_hash_table_iter_steal (&it);
          ((GDestroyNotify) free_func) (conn);
        }
      g_hash_table_unref (up->conns);
    }
  g_clear_pointer (&up->tls, wsb_tls_context_cache_free);
  g_free (up);
}

gboolean
wsb_upstream_is_system (WsbUpstream *up)
{
  return up->system;
}

struct lws_context *
wsb_upstream_get_context (WsbUpstream *up)
{
  return up->ctx;
}

struct lws_vhost *
wsb_upstream_get_vhost (WsbUpstream *up)
{
  return up->vhost;
}
