#include "upstream.h"

#include <libwebsockets.h>
#include <string.h>

#include "tls-client.h"
#include "ws-client.h"
#include "wsb-error.h"

#define G_LOG_DOMAIN_LWS "lws"

struct _WsbUpstream
{
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  GHashTable *tls;   /* spec key → SSL_CTX* */
  GHashTable *conns; /* conn → its GDestroyNotify */
  gboolean system;
};

static int
raw_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
              size_t len)
{
  return wsb_ws_client_lws_callback (wsi, (int) reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
  /* Raw sockets: TLS, the upgrade and frames are ws-client.c's. */
  { "wsbridge", raw_callback, 0, 0, 0, NULL, 0 },
  { NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Last error or warning lws logged, to explain a failure its API does not. */
static char last_lws_error[256];

static void
lws_log_to_glib (int level, const char *line)
{
  gsize len = strlen (line);

  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  if (level & (LLL_ERR | LLL_WARN))
    g_strlcpy (last_lws_error, line, MIN (len + 1, sizeof last_lws_error));
  g_log_structured (G_LOG_DOMAIN_LWS, G_LOG_LEVEL_DEBUG, "MESSAGE", "%.*s", (int) len, line);
}

WsbUpstream *
wsb_upstream_new (GMainLoop *loop, gboolean verbose, gboolean system_instance, GError **error)
{
  g_autoptr (WsbUpstream) up = g_new0 (WsbUpstream, 1);
  struct lws_context_creation_info info;
  void *foreign_loops[] = { loop };

  /* lws formats a line before it filters by level: only errors and
   * warnings reach the formatter unless -v. */
  lws_set_log_level (verbose ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : (LLL_ERR | LLL_WARN),
                     lws_log_to_glib);

  up->conns = g_hash_table_new (NULL, NULL);
  up->tls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) SSL_CTX_free);
  memset (&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.foreign_loops = foreign_loops;
  /* Sessions enforce their own connect_timeout; keep lws' stage timeout out of its way. */
  info.timeout_secs = 310;
  info.pt_serv_buf_size = 64 * 1024;

  last_lws_error[0] = '\0';
  up->ctx = lws_create_context (&info);
  if (!up->ctx)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "cannot start libwebsockets on the GLib main loop: %s (is the "
                   "libwebsockets-evlib-glib package installed?)",
                   last_lws_error[0] ? last_lws_error : "lws_create_context failed");
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
  up->vhost = lws_create_vhost (up->ctx, &info);
  if (!up->vhost)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot set up libwebsockets: %s",
                   last_lws_error[0] ? last_lws_error : "lws_create_vhost failed");
      return NULL;
    }
  last_lws_error[0] = '\0';
  up->system = system_instance;
  return g_steal_pointer (&up);
}

SSL_CTX *
wsb_upstream_get_tls (WsbUpstream *up, const char *ca_file, const char *cert_file,
                      const char *key_file, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s\x1f%s\x1f%s", ca_file ?: "", cert_file ?: "",
                                          key_file ?: "");
  SSL_CTX *ctx = g_hash_table_lookup (up->tls, key);

  if (ctx)
    return ctx;
  ctx = wsb_tls_context_new (ca_file, cert_file, key_file, error);
  if (ctx)
    g_hash_table_insert (up->tls, g_steal_pointer (&key), ctx);
  return ctx;
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
  g_clear_pointer (&up->tls, g_hash_table_unref);
  g_free (up);
}

gboolean
wsb_upstream_is_system (WsbUpstream *up)
{
  return up->system;
}

char *
wsb_upstream_take_error (WsbUpstream *up)
{
  char *e = last_lws_error[0] ? g_strdup (last_lws_error) : NULL;

  last_lws_error[0] = '\0';
  return e;
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
