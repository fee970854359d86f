/* One WebSocket client connection's life: connect (ws-client.h has the
 * whole story), the lws raw-socket callback that drives the input and
 * output halves, the close handshake's deadline, drops, and the end,
 * reported to the owner exactly once. */
#include "ws-client-private.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-reserve.h"
#include "lws-log.h"
#include "wsb-error.h"

void
ws_client_set_reason (WsbWsClient *c, const char *why)
{
  if (!c->end_reason)
    c->end_reason = g_strdup (why);
}

static void
client_free (gpointer data)
{
  WsbWsClient *c = data;

  if (c->proxy_request)
    g_string_free (c->proxy_request, TRUE);
  if (c->pongs)
    g_byte_array_unref (c->pongs);
  if (c->ssl_ctx)
    SSL_CTX_free (c->ssl_ctx);
  g_free (c->tls_host);
  g_strfreev (c->tls_pins);
  if (c->request)
    g_string_free (c->request, TRUE);
  g_free (c->key);
  g_free (c->subprotocols);
  wsb_tls_client_free (c->tls);
  if (c->head)
    g_byte_array_unref (c->head);
  wsb_ws_rx_free (c->rx);
  wsb_deflater_free (c->deflater);
  if (c->scratch)
    g_byte_array_unref (c->scratch);
  if (c->plain)
    g_byte_array_unref (c->plain);
  g_byte_array_unref (c->wire);
  g_free (c->close_text);
  g_free (c->end_reason);
  if (c->grace_source)
    g_source_remove (c->grace_source);
  g_free (c);
}

/* Closes the socket under lws: it sees the hang-up at once and reports the
 * close like any other. (A timeout set with lws_set_timeout from outside an
 * lws callback is not noticed by lws 4.1.6 on the GLib loop until its next
 * event, and a dead peer makes none.) */
void
ws_client_hang_up_now (WsbWsClient *c)
{
  int fd = c->wsi ? lws_get_socket_fd (c->wsi) : -1;

  if (!c->wsi)
    return;
  if (fd < 0 || shutdown (fd, SHUT_RDWR) < 0)
    {
      lws_set_timeout (c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
      lws_callback_on_writable (c->wsi);
    }
}

static gboolean
on_grace_over (gpointer data)
{
  WsbWsClient *c = data;

  c->grace_source = 0;
  ws_client_hang_up_now (c);
  return G_SOURCE_REMOVE;
}

/* The close handshake has CLOSE_GRACE_S to complete. */
void
ws_client_start_grace (WsbWsClient *c)
{
  if (!c->grace_source)
    c->grace_source = g_timeout_add_seconds (CLOSE_GRACE_S, on_grace_over, c);
}

static const char *
default_reason (WsbWsClient *c)
{
  switch (c->phase)
    {
      case PHASE_TCP:
        return "TCP connect failed";
      case PHASE_PROXY:
        return "proxy: closed the connection before answering CONNECT";
      case PHASE_TLS:
        return "TLS handshake failed: the server closed the connection";
      case PHASE_UPGRADE:
        return "connection closed before the WebSocket upgrade completed";
      case PHASE_OPEN:
        return "connection lost";
      case PHASE_CLOSING:
      default:
        return "connection closed";
    }
}

static void
end (WsbWsClient *c)
{
  const WsbWsClientEvents *events = c->events;

  if (c->ended)
    return;
  c->ended = TRUE;
  c->events = NULL;
  if (c->rx)
    wsb_ws_rx_stop (c->rx);
  if (events)
    events->ended (c, c->end_reason ? c->end_reason : default_reason (c), c->user_data);
}

int
wsb_ws_client_lws_callback (struct lws *wsi, int reason, void *user, void *in, size_t len)
{
  WsbWsClient *c = wsi ? lws_get_opaque_user_data (wsi) : NULL;

  if (!c)
    return 0;
  c->hang_up = FALSE;
  switch (reason)
    {
      case LWS_CALLBACK_RAW_CONNECTED:
        if (!c->ended)
          ws_client_on_connected (c);
        break;

      case LWS_CALLBACK_RAW_RX:
        if (!c->ended)
          ws_client_on_bytes (c, in, len);
        if (c->events && c->phase == PHASE_OPEN)
          c->events->read_done (c, c->user_data);
        break;

      case LWS_CALLBACK_RAW_WRITEABLE:
        if (!c->ended && ws_client_on_writeable (c) < 0)
          return -1;
        break;

      case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (in && *(const char *) in && g_strcmp0 (in, "Unable to connect") != 0)
          {
            g_autofree char *why = g_strdup_printf ("TCP connect failed: %s", (const char *) in);
            ws_client_set_reason (c, why);
          }
        else
          ws_client_set_reason (c, "TCP connect failed (connection refused or host unreachable)");
        end (c);
        break;

      case LWS_CALLBACK_RAW_CLOSE:
        end (c);
        break;

      case LWS_CALLBACK_WSI_DESTROY:
        end (c);
        lws_set_opaque_user_data (wsi, NULL);
        c->wsi = NULL;
        if (c->connecting)
          c->destroyed = TRUE; /* freed once lws_client_connect_via_info returns */
        else
          wsb_upstream_untrack (c->up, c);
        return 0;

      default:
        break;
    }
  return c->hang_up ? -1 : 0;
}

/* lws does not say why it could not make a socket; the usual reason is
 * the open-file limit, which a probe shows. */
static char *
fd_shortage (void)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int err = errno;

  if (fd >= 0)
    {
      close (fd);
      return NULL;
    }
  if (err != EMFILE && err != ENFILE)
    return NULL;
  return g_strdup_printf ("%s (the daemon's open-file limit is reached)", g_strerror (err));
}

WsbWsClient *
wsb_ws_client_connect (WsbUpstream *up, const WsbWsClientParams *p, const WsbWsClientEvents *events,
                       gpointer user_data, GError **error)
{
  static const lws_retry_bo_t no_keepalive = { 0 }; /* keepalive is the owner's */
  struct lws_client_connect_info ci;
  WsbWsClient *c;
  WsbWsRequest req = { 0 };
  g_autofree char *bad_request = NULL;
  g_autofree char *lws_error = NULL;
  struct lws *wsi;
  int err;

  if (!wsb_fd_reserve_allows_upstream (error))
    return NULL;
  c = g_new0 (WsbWsClient, 1);

  c->up = up;
  c->events = events;
  c->user_data = user_data;
  if (p->tls)
    {
      SSL_CTX_up_ref (p->tls);
      c->ssl_ctx = p->tls;
    }
  c->tls_host = g_strdup (p->tls_host);
  c->tls_insecure = p->tls_insecure;
  c->tls_pins = g_strdupv ((char **) p->tls_pins);
  c->key = wsb_ws_key_new ();
  c->subprotocols = g_strdup (p->subprotocols);
  c->compression = p->compression;
  c->max_message_bytes = p->max_message_bytes;
  c->head = g_byte_array_new ();
  c->wire = g_byte_array_sized_new (LWS_PRE + 4096);
  g_byte_array_set_size (c->wire, LWS_PRE);
  wsb_ws_mask_gen_init (&c->masks);

  req.path = p->path;
  req.host_header = p->host_header;
  req.origin = p->origin;
  req.subprotocols = p->subprotocols;
  req.extensions = p->compression ? WSB_DEFLATE_OFFER : NULL;
  req.headers = p->headers;
  req.auth_headers = p->auth_headers;
  req.key = c->key;
  c->request = wsb_ws_request_build (&req, &bad_request);
  if (c->request && p->tunnel)
    c->proxy_request = wsb_proxy_request_build (p->tunnel, p->proxy_userinfo, &bad_request);
  if (bad_request)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot build the request: %s", bad_request);
      client_free (c);
      return NULL;
    }

  memset (&ci, 0, sizeof ci);
  ci.context = wsb_upstream_get_context (up);
  ci.vhost = wsb_upstream_get_vhost (up);
  ci.address = p->address;
  ci.port = p->port;
  ci.host = p->address;
  ci.path = "/";
  ci.method = "RAW";
  ci.local_protocol_name = "wsbridge";
  ci.retry_and_idle_policy = &no_keepalive;
  ci.opaque_user_data = c;

  wsb_upstream_track (up, c, client_free);
  c->connecting = TRUE;
  errno = 0;
  wsb_lws_log_capture_begin ();
  wsi = lws_client_connect_via_info (&ci);
  err = errno;
  lws_error = wsb_lws_log_capture_end ();
  c->connecting = FALSE;
  if (wsi && !c->destroyed)
    {
      c->wsi = wsi;
      return c;
    }
  {
    g_autofree char *shortage = fd_shortage ();
    const char *why = shortage ? shortage : lws_error ? lws_error : err ? g_strerror (err) : NULL;
    g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot start a connection%s%s",
                 why ? ": " : "", why ? why : "");
  }
  c->events = NULL;
  c->ended = TRUE;
  /* A wsi that lws keeps (and destroys later) still points here: the
   * upstream frees this once lws lets go, or when it is freed itself. */
  if (c->destroyed)
    wsb_upstream_untrack (up, c);
  return NULL;
}

guint16
wsb_ws_client_peer_close (WsbWsClient *c, const char **reason)
{
  *reason = c->rx ? wsb_ws_rx_peer_reason (c->rx) : "";
  return c->rx ? wsb_ws_rx_peer_code (c->rx) : 0;
}

gboolean
wsb_ws_client_is_open (WsbWsClient *c)
{
  return c->phase == PHASE_OPEN;
}

void
wsb_ws_client_close (WsbWsClient *c, guint16 code, const char *reason)
{
  if (c->ended || !c->wsi)
    return;
  ws_client_set_reason (c, reason);
  if (c->phase != PHASE_OPEN)
    {
      if (c->phase != PHASE_CLOSING)
        wsb_ws_client_drop (c, reason);
      return;
    }
  c->phase = PHASE_CLOSING;
  ws_client_queue_close (c, code, reason);
  ws_client_start_grace (c);
}

void
wsb_ws_client_drop (WsbWsClient *c, const char *reason)
{
  if (c->ended || !c->wsi)
    return;
  ws_client_set_reason (c, reason);
  ws_client_hang_up_now (c);
}

void
wsb_ws_client_abandon (WsbWsClient *c)
{
  c->events = NULL;
  if (c->rx)
    wsb_ws_rx_stop (c->rx);
  wsb_ws_client_drop (c, "abandoned");
}

const char *
wsb_ws_client_waiting_for (WsbWsClient *c)
{
  switch (c->phase)
    {
      case PHASE_TCP:
        return "the TCP connect";
      case PHASE_PROXY:
        return "the proxy's answer to CONNECT";
      case PHASE_TLS:
        return "the TLS handshake";
      case PHASE_UPGRADE:
        return "the server's answer to the upgrade request";
      default:
        return NULL;
    }
}

guint64
wsb_ws_client_rx_bytes (WsbWsClient *c)
{
  return c->rx_bytes;
}
