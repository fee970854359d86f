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
wsb_upstream_new (GMainLoop *loop, gboolean verbose, GError **error)
{
  g_autoptr (WsbUpstream) up = g_new0 (WsbUpstream, 1);
  struct lws_context_creation_info info;
  void *foreign_loops[] = { loop };
  g_autofree char *saved_proxy = g_strdup (g_getenv ("http_proxy"));

  lws_set_log_level (verbose ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : (LLL_ERR | LLL_WARN),
                     lws_log_to_glib);

  memset (&info, 0, sizeof info);
  info.options = LWS_SERVER_OPTION_GLIB | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT
                 | LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.foreign_loops = foreign_loops;
  /* Sessions enforce their own connect_timeout; keep lws' stage timeout out of its way. */
  info.timeout_secs = 310;
  info.pt_serv_buf_size = 64 * 1024;
  info.fd_limit_per_thread = 0;

  /* lws would read http_proxy from the environment for every connection;
   * proxying is decided by wsbridge, so hide it while the vhost is made. */
  g_unsetenv ("http_proxy");
  last_lws_error[0] = '\0';
  up->ctx = lws_create_context (&info);
  if (saved_proxy)
    g_setenv ("http_proxy", saved_proxy, TRUE);

  if (!up->ctx)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "cannot start libwebsockets on the GLib main loop: %s (is the "
                   "libwebsockets-evlib-glib package installed?)",
                   last_lws_error[0] ? last_lws_error : "lws_create_context failed");
      return NULL;
    }
  return g_steal_pointer (&up);
}

void
wsb_upstream_free (WsbUpstream *up)
{
  if (!up)
    return;
  if (up->ctx)
    lws_context_destroy (up->ctx);
  g_free (up);
}

struct lws_context *
wsb_upstream_get_context (WsbUpstream *up)
{
  return up->ctx;
}
