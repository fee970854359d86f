#include "upstream.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "wsb-error.h"

#define G_LOG_DOMAIN_LWS "lws"

struct _WsbUpstream
{
  struct lws_context *ctx;
  GHashTable *vhosts; /* spec key → struct lws_vhost* */
  gboolean system;
  guint n_vhosts;
};

static const struct lws_extension deflate_extensions[] = {
  { "permessage-deflate", wsb_session_deflate_callback,
    "permessage-deflate; client_max_window_bits" },
  { NULL, NULL, NULL },
};

static const struct lws_protocols protocols[] = {
  /* rx_buffer_size 0: 4 KiB chunks, allocated per connection; messages are
   * reassembled by the session, so a larger buffer would only cost memory. */
  { "wsbridge", wsb_session_lws_callback, 0, 0, 0, NULL, 0 },
  { NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Last error lws logged, to explain a failed context creation. */
static char last_lws_error[256];

static void
lws_log_to_glib (int level, const char *line)
{
  gsize len = strlen (line);

  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  if (level & LLL_ERR)
    g_strlcpy (last_lws_error, line, MIN (len + 1, sizeof last_lws_error));
  g_log_structured (G_LOG_DOMAIN_LWS, G_LOG_LEVEL_DEBUG, "MESSAGE", "%.*s", (int) len, line);
}

WsbUpstream *
wsb_upstream_new (GMainLoop *loop, gboolean verbose, gboolean system_instance, GError **error)
{
  g_autoptr (WsbUpstream) up = g_new0 (WsbUpstream, 1);
  struct lws_context_creation_info info;
  void *foreign_loops[] = { loop };

  lws_set_log_level (verbose ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : (LLL_ERR | LLL_WARN),
                     lws_log_to_glib);

  memset (&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT
                 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8
                 | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.foreign_loops = foreign_loops;
  /* Sessions enforce their own connect_timeout; keep lws' stage timeout out of its way. */
  info.timeout_secs = 310;
  info.pt_serv_buf_size = 64 * 1024;
  info.fd_limit_per_thread = 0;

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
  up->vhosts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  up->system = system_instance;
  return g_steal_pointer (&up);
}

struct lws_vhost *
wsb_upstream_get_vhost (WsbUpstream *up, const WsbVhostSpec *spec, GError **error)
{
  g_autofree char *key = g_strdup_printf ("%s\x1f%s\x1f%s\x1f%s\x1f%d", spec->ca_file ?: "",
                                          spec->cert_file ?: "", spec->key_file ?: "",
                                          spec->proxy ?: "", spec->compression);
  struct lws_context_creation_info info;
  struct lws_vhost *vh = g_hash_table_lookup (up->vhosts, key);
  g_autofree char *name = NULL;

  if (vh)
    return vh;
  name = g_strdup_printf ("wsb%u", ++up->n_vhosts);
  memset (&info, 0, sizeof info);
  info.vhost_name = name;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  /* DO_SSL_GLOBAL_INIT on the vhost is what makes lws give it a client TLS context. */
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_VALIDATE_UTF8
                 | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
  info.client_ssl_ca_filepath = spec->ca_file;
  info.client_ssl_cert_filepath = spec->cert_file;
  info.client_ssl_private_key_filepath = spec->key_file;
  /* Without a proxy lws would fall back to http_proxy from the environment
   * (ignoring no_proxy); wsbridge decides proxying itself. An empty address
   * keeps lws from looking (it logs an error and sets no proxy). */
  info.http_proxy_address = spec->proxy ? spec->proxy : "";
  info.extensions = spec->compression ? deflate_extensions : NULL;
  info.timeout_secs = 310;

  last_lws_error[0] = '\0';
  vh = lws_create_vhost (up->ctx, &info);
  if (vh)
    last_lws_error[0] = '\0';
  else
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "%s%s",
                   spec->ca_file || spec->cert_file ? "TLS: cannot load the CA or client "
                                                      "certificate files: "
                                                    : "cannot set up the connection: ",
                   last_lws_error[0] ? last_lws_error : "lws_create_vhost failed");
      return NULL;
    }
  g_hash_table_insert (up->vhosts, g_steal_pointer (&key), vh);
  return vh;
}

void
wsb_upstream_free (WsbUpstream *up)
{
  if (!up)
    return;
  if (up->ctx)
    lws_context_destroy (up->ctx);
  g_clear_pointer (&up->vhosts, g_hash_table_unref);
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
