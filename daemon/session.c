#include "session.h"

#include <string.h>
#include <sys/socket.h>

#include "auth.h"
#include "backoff.h"
#include "log.h"
#include "outbox.h"
#include "tls-verify.h"
#include "wsb-error.h"

/* Messages above this size do not keep their reassembly buffer afterwards. */
#define RX_KEEP_BYTES (64 * 1024)
/* How long a clean close may take before the connection is dropped. */
#define CLOSE_GRACE_S 3

struct _WsbSession
{
  WsbUpstream *up;
  WsbSessionConfig *cfg;
  const WsbSessionEvents *events;
  gpointer user_data;

  /* From the URL. */
  char *host;        /* for DNS, without brackets */
  char *host_header; /* Host: value, with the port when not the default */
  char *path;        /* path and query, at least "/" */
  guint16 port;
  gboolean tls;
  char *subprotocols; /* comma-separated, or NULL */

  WsbState state;
  char *reason;
  gboolean wanted; /* connect (or stay connected) when possible */

  /* The current connection: a connect attempt, or open once `opened`. */
  struct lws *wsi;
  gboolean opened;
  gboolean ever_opened;
  gint64 opened_at;  /* monotonic µs */
  gint64 last_valid; /* monotonic µs of the last pong (or of the open) */
  char *drop_reason; /* why we are dropping it ourselves */
  char *peer_close;  /* the server's close frame, described */
  guint16 close_code; /* a clean close to send at the next WRITEABLE */
  char *close_text;

  GCancellable *resolving; /* proxy lookup and DNS of the current attempt */
  WsbAuth *auth;
  char **auth_headers; /* from token_file / auth_command; secret */
  gboolean via_proxy;
  char *proxy_host;
  guint16 proxy_port;
  char *proxy_userinfo; /* secret */
  WsbTlsCheck tls_check; /* of the current connection */
  guint probe_source;   /* a wake-up probe waiting for its pong */
  GList *addresses; /* GInetAddress*, from the last lookup */
  GList *next_address;
  char *address;    /* "ip:port" being tried or connected */
  char *last_failure;
  char *logged_backoff; /* last backoff reason logged at message level */

  guint retry_source;
  guint connect_timeout_source;
  guint ping_source;
  gboolean ping_due;
  gint64 ping_sent_at; /* monotonic µs of our unanswered ping, or 0 */
  gboolean tx_draining;  /* permessage-deflate is still reading the message in flight */
  gboolean tx_empty;     /* the message being written has no payload */

  WsbBackoff backoff;
  lws_retry_bo_t keepalive; /* lws' validity policy: ping, then hang up */

  WsbOutbox *outbox;
  GByteArray *rx; /* reassembly of a fragmented message */
  gboolean rx_active;
  gboolean rx_binary;
  gboolean rx_discard; /* an oversized message is being refused */

  WsbSessionStats stats;
};

static void try_next_address (WsbSession *s);
static void begin_attempt (WsbSession *s);
static void cancel_pending (WsbSession *s);

const char *
wsb_state_to_string (WsbState state)
{
  static const char *const names[] = { "disconnected", "connecting", "open", "backoff", "closing" };

  return state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

static void
replace_str (char **field, char *value)
{
  g_free (*field);
  *field = value;
}

#define session_log(s, level, ...) wsb_session_log ((s)->cfg->name, level, __VA_ARGS__)

/* A server that stays down would log every retry; say each distinct
 * failure once and keep the repeats for -v. */
static GLogLevelFlags
state_log_level (WsbSession *s, WsbState state, const char *reason)
{
  if (state == WSB_STATE_CONNECTING)
    return G_LOG_LEVEL_DEBUG;
  if (state != WSB_STATE_BACKOFF)
    {
      g_clear_pointer (&s->logged_backoff, g_free);
      return G_LOG_LEVEL_MESSAGE;
    }
  if (g_strcmp0 (s->logged_backoff, reason) == 0)
    return G_LOG_LEVEL_DEBUG;
  replace_str (&s->logged_backoff, g_strdup (reason));
  return G_LOG_LEVEL_MESSAGE;
}

static void G_GNUC_PRINTF (3, 4)
set_state (WsbSession *s, WsbState state, const char *fmt, ...)
{
  g_autofree char *reason = NULL;
  va_list ap;

  va_start (ap, fmt);
  reason = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (s->state == state && g_strcmp0 (s->reason, reason) == 0)
    return;
  session_log (s, state_log_level (s, state, reason), "%s: %s (%s)", s->cfg->name,
               wsb_state_to_string (state), reason);
  s->state = state;
  g_free (s->reason);
  s->reason = g_steal_pointer (&reason);
  if (state != WSB_STATE_BACKOFF)
    s->stats.next_retry_us = 0;
  s->events->state_changed (s, s->user_data);
}

static void
clear_source (guint *id)
{
  if (*id)
    g_source_remove (*id);
  *id = 0;
}

static void
rx_reset (WsbSession *s)
{
  s->rx_active = FALSE;
  if (s->rx && s->rx->len > RX_KEEP_BYTES)
    g_clear_pointer (&s->rx, g_byte_array_unref);
  else if (s->rx)
    g_byte_array_set_size (s->rx, 0);
}

/* Forget the connection: later lws callbacks for it are ignored. */
static void
detach (WsbSession *s, struct lws *wsi, gboolean kill)
{
  if (wsi)
    {
      lws_set_opaque_user_data (wsi, NULL);
      if (kill)
        lws_set_timeout (wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
  if (wsi == s->wsi || !wsi)
    s->wsi = NULL;
  clear_source (&s->connect_timeout_source);
  clear_source (&s->ping_source);
  clear_source (&s->probe_source);
  s->ping_due = FALSE;
  s->ping_sent_at = 0;
  s->tx_draining = FALSE;
  wsb_outbox_connection_ended (s->outbox);
  s->rx_discard = FALSE;
  rx_reset (s);
}

static void
free_addresses (WsbSession *s)
{
  g_resolver_free_addresses (s->addresses);
  s->addresses = NULL;
  s->next_address = NULL;
}

static gboolean
on_retry_timer (gpointer data)
{
  WsbSession *s = data;

  s->retry_source = 0;
  begin_attempt (s);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (WsbSession *s, const char *reason)
{
  guint delay = wsb_backoff_next_ms (&s->backoff, g_random_double ());

  free_addresses (s);
  clear_source (&s->retry_source);
  s->retry_source = g_timeout_add (delay, on_retry_timer, s);
  s->stats.next_retry_us = g_get_real_time () + (gint64) delay * 1000;
  set_state (s, WSB_STATE_BACKOFF, "%s", reason);
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: next try in %u ms", s->cfg->name, delay);
}

static gboolean
on_next_address (gpointer data)
{
  WsbSession *s = data;

  s->retry_source = 0;
  try_next_address (s);
  return G_SOURCE_REMOVE;
}

/* The attempt to reach s->address did not open. */
static void
attempt_failed (WsbSession *s, struct lws *wsi, gboolean kill, const char *reason)
{
  detach (s, wsi, kill);
  replace_str (&s->last_failure, g_strdup_printf ("%s (%s)", reason, s->address));
  if (!s->wanted)
    {
      set_state (s, WSB_STATE_DISCONNECTED, "%s", s->close_text ? s->close_text : "disconnected");
      return;
    }
  if (s->next_address)
    {
      session_log (s, G_LOG_LEVEL_DEBUG, "%s: %s; trying the next address", s->cfg->name,
                   s->last_failure);
      /* Never reconnect from inside an lws callback: come back from the loop. */
      s->retry_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_next_address, s, NULL);
      return;
    }
  schedule_retry (s, s->last_failure);
}

/* The open connection ended. */
static void
connection_lost (WsbSession *s, struct lws *wsi, const char *reason)
{
  gint64 open_ms = (g_get_monotonic_time () - s->opened_at) / 1000;

  detach (s, wsi, FALSE);
  s->opened = FALSE;
  wsb_backoff_connection_ended (&s->backoff, (guint64) MAX (open_ms, 0));
  if (!s->wanted)
    {
      set_state (s, WSB_STATE_DISCONNECTED, "%s", s->close_text ? s->close_text : reason);
      return;
    }
  schedule_retry (s, reason);
}

static gboolean
on_connect_timeout (gpointer data)
{
  WsbSession *s = data;
  g_autofree char *why = g_strdup_printf ("no WebSocket connection within connect_timeout (%"
                                          G_GUINT64_FORMAT " s)",
                                          s->cfg->connect_timeout);

  s->connect_timeout_source = 0;
  attempt_failed (s, s->wsi, TRUE, why);
  return G_SOURCE_REMOVE;
}

static void
try_next_address (WsbSession *s)
{
  struct lws_client_connect_info ci;
  GInetAddress *addr;
  g_autofree char *ip = NULL;
  g_autofree char *bracketed = NULL;
  g_autofree char *proxy = NULL;
  g_autoptr (GError) error = NULL;
  WsbVhostSpec spec;
  struct lws_vhost *vhost;
  struct lws *wsi;

  if (!s->next_address)
    {
      schedule_retry (s, s->last_failure ? s->last_failure : "no address to connect to");
      return;
    }
  addr = s->next_address->data;
  s->next_address = s->next_address->next;
  ip = g_inet_address_to_string (addr);
  bracketed = g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6
                  ? g_strdup_printf ("[%s]", ip)
                  : g_strdup (ip);
  if (s->via_proxy)
    {
      replace_str (&s->address, g_strdup_printf ("%s:%u via proxy %s:%u", s->host, s->port,
                                                 bracketed, s->proxy_port));
      proxy = g_strdup_printf ("%s%s%s:%u", s->proxy_userinfo ? s->proxy_userinfo : "",
                               s->proxy_userinfo ? "@" : "", bracketed, s->proxy_port);
    }
  else
    replace_str (&s->address, g_strdup_printf ("%s:%u", bracketed, s->port));

  spec.ca_file = s->cfg->tls_ca_file;
  spec.cert_file = s->cfg->tls_cert_file;
  spec.key_file = s->cfg->tls_key_file;
  spec.proxy = proxy;
  spec.compression = s->cfg->compression;
  vhost = wsb_upstream_get_vhost (s->up, &spec, &error);
  if (!vhost)
    {
      /* Not an address problem: the next address would fail the same way. */
      free_addresses (s);
      schedule_retry (s, error->message);
      return;
    }

  memset (&ci, 0, sizeof ci);
  ci.context = wsb_upstream_get_context (s->up);
  ci.vhost = vhost;
  /* Through a proxy lws connects to the vhost's proxy and names the target
   * in its CONNECT line; the proxy resolves it. */
  ci.address = s->via_proxy ? s->host : ip;
  ci.port = s->port;
  ci.path = s->path;
  ci.host = s->host_header;
  ci.origin = s->cfg->origin;
  ci.protocol = s->subprotocols;
  ci.ssl_connection = s->tls ? LCCSCF_USE_SSL : 0;
  if (s->tls && s->cfg->tls_insecure)
    {
      ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK
                           | LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
      session_log (s, G_LOG_LEVEL_WARNING,
                   "%s: tls_insecure=true: the server's certificate is not verified",
                   s->cfg->name);
    }
  ci.local_protocol_name = "wsbridge";
  ci.retry_and_idle_policy = &s->keepalive;
  ci.opaque_user_data = s;

  s->opened = FALSE;
  wsb_tls_check_reset (&s->tls_check, s->cfg->tls_insecure, s->cfg->tls_pin_sha256);
  g_clear_pointer (&s->drop_reason, g_free);
  g_clear_pointer (&s->peer_close, g_free);
  set_state (s, WSB_STATE_CONNECTING, "connecting to %s", s->address);
  s->connect_timeout_source
      = g_timeout_add ((guint) s->cfg->connect_timeout * 1000, on_connect_timeout, s);

  /* lws may already report the failure through the callback before returning NULL. */
  s->wsi = NULL;
  wsi = lws_client_connect_via_info (&ci);
  if (wsi && s->connect_timeout_source)
    s->wsi = wsi;
  else if (!wsi && s->connect_timeout_source)
    attempt_failed (s, NULL, FALSE, "cannot start a connection (see the lws log with -v)");
}

static void
on_resolved (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &error);
  WsbSession *s = data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* s may be gone */
  g_clear_object (&s->resolving);
  if (!addrs)
    {
      g_autofree char *why = g_strdup_printf ("DNS: cannot resolve %s%s: %s",
                                              s->via_proxy ? "proxy " : "",
                                              s->via_proxy ? s->proxy_host : s->host,
                                              error->message);
      schedule_retry (s, why);
      return;
    }
  free_addresses (s);
  s->addresses = addrs;
  s->next_address = addrs;
  g_clear_pointer (&s->last_failure, g_free);
  try_next_address (s);
}

static void
resolve (WsbSession *s, const char *name)
{
  g_autoptr (GResolver) resolver = g_resolver_get_default ();

  set_state (s, WSB_STATE_CONNECTING, "resolving %s", name);
  g_resolver_lookup_by_name_async (resolver, name, s->resolving, on_resolved, s);
}

/* proxy_uri: http://[user:pw@]host:port (validated by the config or the
 * proxy resolver's answer). */
static void
use_proxy (WsbSession *s, const char *proxy_uri)
{
  g_autoptr (GUri) uri = g_uri_parse (proxy_uri, G_URI_FLAGS_NONE, NULL);
  const char *userinfo;

  if (!uri || g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0 || !g_uri_get_host (uri))
    {
      g_autofree char *why = g_strdup_printf (
          "proxy: only http:// CONNECT proxies are supported (got a %s proxy)",
          uri ? g_uri_get_scheme (uri) : "malformed");
      schedule_retry (s, why);
      return;
    }
  s->via_proxy = TRUE;
  replace_str (&s->proxy_host, g_strdup (g_uri_get_host (uri)));
  s->proxy_port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 3128;
  userinfo = g_uri_get_userinfo (uri);
  replace_str (&s->proxy_userinfo, userinfo ? g_uri_unescape_string (userinfo, NULL) : NULL);
  resolve (s, s->proxy_host);
}

static void
on_proxy_lookup (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source), res, &error);
  WsbSession *s = data;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* s may be gone */
  if (!proxies || !proxies[0] || g_str_has_prefix (proxies[0], "direct://"))
    {
      if (error)
        session_log (s, G_LOG_LEVEL_DEBUG, "%s: proxy lookup failed, going direct: %s",
                     s->cfg->name, error->message);
      resolve (s, s->host);
      return;
    }
  use_proxy (s, proxies[0]);
}

/* Direct, the configured proxy, or whatever the environment and desktop
 * settings say (GIO's proxy resolver, asked with the http(s) equivalent of
 * the URL, which is what proxy settings are written for). */
static void
find_route (WsbSession *s)
{
  g_autoptr (GProxyResolver) resolver = NULL;
  g_autofree char *url = NULL;

  s->via_proxy = FALSE;
  if (s->cfg->proxy && g_ascii_strcasecmp (s->cfg->proxy, "none") == 0)
    {
      resolve (s, s->host);
      return;
    }
  if (s->cfg->proxy)
    {
      use_proxy (s, s->cfg->proxy);
      return;
    }
  resolver = g_object_ref (g_proxy_resolver_get_default ());
  url = g_strdup_printf ("%s://%s/", s->tls ? "https" : "http", s->host_header);
  /* Connecting from here on: a second connect request waits for this one. */
  set_state (s, WSB_STATE_CONNECTING, "looking up the proxy for %s", s->host_header);
  g_proxy_resolver_lookup_async (resolver, url, s->resolving, on_proxy_lookup, s);
}

static void
on_auth_done (char **headers, const char *error, gpointer data)
{
  WsbSession *s = data;

  s->auth = NULL;
  if (!headers)
    {
      schedule_retry (s, error);
      return;
    }
  g_strfreev (s->auth_headers);
  s->auth_headers = headers;
  find_route (s);
}

static void
begin_attempt (WsbSession *s)
{
  /* A lookup still running (a wake-up in the middle of one) must end with
   * this attempt: its callback would otherwise outlive the session. */
  cancel_pending (s);
  g_clear_pointer (&s->close_text, g_free);
  s->close_code = 0;
  s->resolving = g_cancellable_new ();
  if (wsb_auth_needed (s->cfg))
    {
      set_state (s, WSB_STATE_CONNECTING, "fetching credentials");
      s->auth = wsb_auth_fetch (s->cfg, wsb_upstream_is_system (s->up), on_auth_done, s);
      return;
    }
  find_route (s);
}

/* Stop whatever is in progress short of an open connection. */
static void
cancel_pending (WsbSession *s)
{
  clear_source (&s->retry_source);
  if (s->resolving)
    {
      g_cancellable_cancel (s->resolving);
      g_clear_object (&s->resolving);
    }
  g_clear_pointer (&s->auth, wsb_auth_cancel);
  free_addresses (s);
}

void
wsb_session_connect (WsbSession *s)
{
  s->wanted = TRUE;
  if (s->state == WSB_STATE_CONNECTING || s->state == WSB_STATE_OPEN)
    return;
  if (s->state == WSB_STATE_CLOSING)
    return; /* the close completes first; connection_lost then schedules the retry */
  wsb_backoff_init (&s->backoff, (guint) s->cfg->backoff_initial_ms,
                    (guint) s->cfg->backoff_max_ms, (guint) s->cfg->backoff_reset_s * 1000);
  begin_attempt (s);
}

void
wsb_session_close (WsbSession *s, guint16 close_code, const char *reason)
{
  s->wanted = FALSE;
  replace_str (&s->close_text, g_strdup (reason));
  cancel_pending (s);
  if (s->wsi && s->opened)
    {
      s->close_code = close_code;
      set_state (s, WSB_STATE_CLOSING, "%s", reason);
      lws_set_timeout (s->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
      lws_callback_on_writable (s->wsi);
      return;
    }
  detach (s, s->wsi, TRUE);
  set_state (s, WSB_STATE_DISCONNECTED, "%s", reason);
}

gboolean
wsb_session_has_connection (WsbSession *s)
{
  return s->wsi != NULL;
}

gboolean
wsb_session_send (WsbSession *s, const guint8 *data, gsize len, gboolean binary, guint32 ttl_ms,
                  guint64 *id, GError **error)
{
  if (!binary && !g_utf8_validate_len ((const char *) data, len, NULL))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "a text message must be valid UTF-8 (send it as binary instead)");
      return FALSE;
    }
  if (!wsb_outbox_push (s->outbox, data, len, binary, ttl_ms, id, error))
    return FALSE;
  if (s->wsi && s->opened && s->state == WSB_STATE_OPEN)
    lws_callback_on_writable (s->wsi);
  return TRUE;
}

gboolean
wsb_session_send_control (WsbSession *s, const char *text)
{
  if (!s->wsi || !s->opened || s->state != WSB_STATE_OPEN)
    return FALSE;
  wsb_outbox_push_control (s->outbox, text);
  lws_callback_on_writable (s->wsi);
  return TRUE;
}

gboolean
wsb_session_set_journal (WsbSession *s, const char *path, GError **error)
{
  gboolean ok = wsb_outbox_set_journal (s->outbox, path, error);

  if (ok && s->wsi && s->opened && s->state == WSB_STATE_OPEN && wsb_outbox_has_pending (s->outbox))
    lws_callback_on_writable (s->wsi);
  return ok;
}

void
wsb_session_cancel_queue (WsbSession *s, const char *reason)
{
  wsb_outbox_cancel_all (s->outbox, reason);
}

/* ------------------------------------------------------------ lws callback */

static void
deliver (WsbSession *s, const guint8 *data, gsize len, gboolean binary)
{
  s->stats.rx_messages++;
  s->events->message (s, data, len, binary, s->user_data);
}

static int
on_receive (WsbSession *s, struct lws *wsi, const guint8 *in, gsize len)
{
  gboolean final = lws_is_final_fragment (wsi) && lws_remaining_packet_payload (wsi) == 0;
  gsize have = s->rx_active && s->rx ? s->rx->len : 0;

  if (s->rx_discard)
    return 0;
  if (!s->rx_active)
    {
      s->rx_active = TRUE;
      s->rx_binary = lws_frame_is_binary (wsi);
    }
  if (have + len > s->cfg->max_message_bytes)
    {
      replace_str (&s->drop_reason,
                   g_strdup_printf ("inbound message larger than max_message_bytes (%"
                                    G_GUINT64_FORMAT "); closed with 1009",
                                    s->cfg->max_message_bytes));
      /* Close from WRITEABLE: returning -1 here makes lws 4.1.6 write past its
       * rx buffer while sending the close frame. */
      s->rx_discard = TRUE;
      s->close_code = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
      replace_str (&s->close_text, g_strdup ("message too large"));
      rx_reset (s);
      lws_callback_on_writable (wsi);
      return 0;
    }
  if (final && have == 0)
    {
      deliver (s, in, len, s->rx_binary);
      s->rx_active = FALSE;
      return 0;
    }
  if (!s->rx)
    s->rx = g_byte_array_sized_new ((guint) MIN (have + len, RX_KEEP_BYTES));
  g_byte_array_append (s->rx, in, (guint) len);
  if (final)
    {
      deliver (s, s->rx->data, s->rx->len, s->rx_binary);
      rx_reset (s);
    }
  return 0;
}

/* Our own pings give the round trip (lws' keepalive pings are invisible to
 * us); lws' validity policy still hangs up a silent peer. The send time
 * stays here, not in the payload: lws 4.1.6 spins when a ping with a payload
 * goes through permessage-deflate. */
static int
send_ping (WsbSession *s, struct lws *wsi)
{
  guint8 buf[LWS_PRE + 1];

  s->ping_due = FALSE;
  if (lws_write (wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
    {
      replace_str (&s->drop_reason, g_strdup ("write to the server failed"));
      return -1;
    }
  s->ping_sent_at = g_get_monotonic_time ();
  if (wsb_outbox_has_pending (s->outbox))
    lws_callback_on_writable (wsi);
  return 0;
}

static gboolean
on_ping_timer (gpointer data)
{
  WsbSession *s = data;

  s->ping_due = TRUE;
  lws_callback_on_writable (s->wsi);
  return G_SOURCE_CONTINUE;
}

/* The message in flight is handed over; a queued one counts as sent. */
static void
finish_write (WsbSession *s)
{
  if (wsb_outbox_written (s->outbox))
    s->stats.tx_messages++;
}

static int
on_writeable (WsbSession *s, struct lws *wsi)
{
  WsbOutMsg *m;
  int n;

  if (s->close_code)
    {
      gsize tlen = MIN (strlen (s->close_text ? s->close_text : ""), 120);
      lws_close_reason (wsi, (enum lws_close_status) s->close_code,
                        (unsigned char *) (s->close_text ? s->close_text : ""), tlen);
      return -1;
    }
  /* lws holds WRITEABLE back while it drains the deflate extension; the
   * message the compressor was reading is then handed over. */
  if (!s->tx_draining)
    finish_write (s);
  if (s->ping_due)
    return send_ping (s, wsi);
  if (s->state != WSB_STATE_OPEN || !(m = wsb_outbox_begin (s->outbox)))
    return 0;
  s->tx_empty = m->len == 0;
  n = lws_write (wsi, wsb_out_msg_payload (LWS_PRE, m), m->len,
                 m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
  s->tx_empty = FALSE;
  if (n < (int) m->len)
    {
      replace_str (&s->drop_reason, g_strdup ("write to the server failed"));
      return -1;
    }
  if (s->tx_draining)
    return 0; /* the compressor keeps reading this message's bytes */
  finish_write (s);
  if (wsb_outbox_has_pending (s->outbox))
    lws_callback_on_writable (wsi);
  return 0;
}

/* lws 4.1.6's private enum pmd_return: the compressor has more output than
 * its buffer held and will go on reading the caller's data. */
#define LWS_PMDR_HAS_PENDING 2

int
wsb_session_deflate_callback (struct lws_context *context, const struct lws_extension *ext,
                              struct lws *wsi, enum lws_extension_callback_reasons reason,
                              void *user, void *in, size_t len)
{
  WsbSession *s = wsi ? lws_get_opaque_user_data (wsi) : NULL;
  int n;

  /* lws 4.1.6 asserts when it compresses an empty message after the first
   * one (the flushed stream yields no bytes to trim). An empty message
   * goes out uncompressed instead (RSV1 clear), which RFC 7692 allows. */
  if (s && s->tx_empty && reason == LWS_EXT_CB_PAYLOAD_TX)
    return 0;
  n = lws_extension_callback_pm_deflate (context, ext, wsi, reason, user, in, len);

  if (s && reason == LWS_EXT_CB_PAYLOAD_TX)
    {
      gboolean was = s->tx_draining;
      s->tx_draining = n == LWS_PMDR_HAS_PENDING;
      if (was && !s->tx_draining)
        lws_callback_on_writable (wsi);
    }
  return n;
}

static void
on_established (WsbSession *s, struct lws *wsi)
{
  clear_source (&s->connect_timeout_source);
  s->wsi = wsi;
  s->opened = TRUE;
  s->opened_at = g_get_monotonic_time ();
  s->last_valid = s->opened_at;
  if (s->ever_opened)
    s->stats.reconnects++;
  s->ever_opened = TRUE;
  free_addresses (s);
  if (s->cfg->ping_interval)
    s->ping_source = g_timeout_add_seconds ((guint) s->cfg->ping_interval, on_ping_timer, s);
  /* on_connect frames go first; the owner adds its subscribe frames when it
   * sees the state change, all before the queue. */
  for (guint i = 0; s->cfg->on_connect && s->cfg->on_connect[i]; i++)
    wsb_outbox_push_control (s->outbox, s->cfg->on_connect[i]);
  set_state (s, WSB_STATE_OPEN, "connected to %s", s->address);
  if (wsb_outbox_has_pending (s->outbox))
    lws_callback_on_writable (wsi);
}

static char *
describe_peer_close (const guint8 *in, gsize len)
{
  guint code;
  g_autofree char *text = NULL;

  if (len < 2)
    return g_strdup ("server closed the connection (no close code)");
  code = (guint) in[0] << 8 | in[1];
  text = g_utf8_make_valid ((const char *) in + 2, (gssize) len - 2);
  for (char *p = text; *p; p++)
    if ((guchar) *p < 0x20)
      *p = ' ';
  /* lws 4.1 turns 1012-1014 (restart, try again later, bad gateway), like
   * invalid codes, into 1002 before we see them. */
  const char *alias = code == LWS_CLOSE_STATUS_PROTOCOL_ERR
                          ? " (or 1012-1014, which libwebsockets 4.1 reports as 1002)"
                          : "";
  return *text ? g_strdup_printf ("server closed the connection with %u%s: %s", code, alias, text)
               : g_strdup_printf ("server closed the connection with %u%s", code, alias);
}

static char *
describe_connection_error (WsbSession *s, struct lws *wsi, const char *in)
{
  unsigned int status = lws_http_client_http_response (wsi);
  g_autofree char *lws_error = wsb_upstream_take_error (s->up);

  if (s->tls_check.failure)
    return g_strdup (s->tls_check.failure);
  if (status == 401 || status == 403)
    return g_strdup_printf ("unauthorized (HTTP %u during the WebSocket upgrade)", status);
  if (status && status != 101)
    return g_strdup_printf ("HTTP %u during the WebSocket upgrade", status);
  /* lws' callback text is generic ("tls: ..."); its log line has the cause. */
  if (s->tls && lws_error && (strstr (lws_error, "SSL") || strstr (lws_error, "ssl")))
    return g_strdup_printf ("TLS: handshake failed: %s", lws_error);
  /* With TLS 1.3 a server's "certificate required" alert only shows up as a
   * failed read of the upgrade reply. */
  if (s->tls && !s->cfg->tls_cert_file && g_strcmp0 (in, "read failed") == 0)
    return g_strdup ("TLS: the server closed the connection before the upgrade reply "
                     "(does it require a client certificate? see tls_cert_file)");
  return g_strdup (in && *in ? in : "connection failed");
}

/* The reason an open connection ended, most specific first. */
static char *
describe_loss (WsbSession *s)
{
  if (s->drop_reason)
    return g_strdup (s->drop_reason);
  if (s->peer_close)
    return g_strdup (s->peer_close);
  /* lws hangs up silently when its validity policy expires. */
  if (s->keepalive.secs_since_valid_hangup)
    {
      gint64 silent_ms = (g_get_monotonic_time () - s->last_valid) / 1000;
      if (silent_ms >= (gint64) s->keepalive.secs_since_valid_hangup * 1000 - 1000)
        return g_strdup_printf ("no pong for %u s (keepalive)",
                                s->keepalive.secs_since_valid_hangup);
    }
  return g_strdup ("connection lost");
}

/* Appends "Name: value" entries as handshake headers. */
static gboolean
append_headers (WsbSession *s, struct lws *wsi, char **headers, unsigned char **p,
                unsigned char *end)
{
  for (guint i = 0; headers && headers[i]; i++)
    {
      const char *h = headers[i], *colon = strchr (h, ':');
      g_autofree char *name = g_strndup (h, colon - h + 1);
      const char *value = colon + 1;
      while (*value == ' ' || *value == '\t')
        value++;
      if (lws_add_http_header_by_name (wsi, (const unsigned char *) name,
                                       (const unsigned char *) value, (int) strlen (value), p,
                                       end))
        {
          replace_str (&s->drop_reason, g_strdup ("handshake headers too large"));
          return FALSE;
        }
    }
  return TRUE;
}

int
wsb_session_lws_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
  WsbSession *s = wsi ? lws_get_opaque_user_data (wsi) : NULL;
  g_autofree char *why = NULL;

  if (!s)
    return 0;

  switch (reason)
    {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
      {
        unsigned char **p = in, *end = *p + len;
        if (!append_headers (s, wsi, s->cfg->headers, p, end)
            || !append_headers (s, wsi, s->auth_headers, p, end))
          return -1;
        return 0;
      }

    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
      return wsb_tls_check_certificate (&s->tls_check, user, (int) len);

    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      on_established (s, wsi);
      return 0;

    case LWS_CALLBACK_CLIENT_RECEIVE:
      return on_receive (s, wsi, in, len);

    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
      s->last_valid = g_get_monotonic_time ();
      clear_source (&s->probe_source);
      if (s->ping_sent_at)
        s->stats.rtt_us = (guint64) (s->last_valid - s->ping_sent_at);
      s->ping_sent_at = 0;
      return 0;

    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return on_writeable (s, wsi);

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      replace_str (&s->peer_close, describe_peer_close (in, len));
      /* lws echoes this buffer as our close frame: answer a close that it
       * rewrote to 1002 with 1000 rather than blame the server. */
      if (len >= 2 && ((guint8 *) in)[0] == 0x03 && ((guint8 *) in)[1] == 0xea)
        {
          ((guint8 *) in)[0] = LWS_CLOSE_STATUS_NORMAL >> 8;
          ((guint8 *) in)[1] = LWS_CLOSE_STATUS_NORMAL & 0xff;
        }
      return 0;

    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      why = describe_connection_error (s, wsi, in);
      if (s->opened)
        connection_lost (s, wsi, why);
      else
        attempt_failed (s, wsi, FALSE, why);
      return 0;

    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
      if (s->opened)
        {
          why = describe_loss (s);
          connection_lost (s, wsi, why);
        }
      else
        attempt_failed (s, wsi, FALSE,
                        s->drop_reason ? s->drop_reason
                                       : "connection closed before the WebSocket upgrade completed");
      return 0;

    default:
      return 0;
    }
}

/* ---------------------------------------------------------- construction */

static gboolean
parse_url (WsbSession *s)
{
  g_autoptr (GUri) uri = g_uri_parse (s->cfg->url, G_URI_FLAGS_NONE, NULL);
  const char *query;
  int port;
  guint16 default_port;

  if (!uri)
    return FALSE;
  s->tls = g_ascii_strcasecmp (g_uri_get_scheme (uri), "wss") == 0;
  default_port = s->tls ? 443 : 80;
  port = g_uri_get_port (uri);
  s->port = port > 0 ? (guint16) port : default_port;
  s->host = g_strdup (g_uri_get_host (uri));
  {
    g_autofree char *bracketed
        = strchr (s->host, ':') ? g_strdup_printf ("[%s]", s->host) : g_strdup (s->host);
    s->host_header = s->port == default_port
                         ? g_steal_pointer (&bracketed)
                         : g_strdup_printf ("%s:%u", bracketed, s->port);
  }
  query = g_uri_get_query (uri);
  s->path = g_strdup_printf ("%s%s%s", *g_uri_get_path (uri) ? g_uri_get_path (uri) : "/",
                             query ? "?" : "", query ? query : "");
  return TRUE;
}

/* Derives everything that comes from the config (on creation and reload). */
static void
apply_config (WsbSession *s, const WsbSessionConfig *cfg)
{
  WsbSessionConfig *old = s->cfg;

  s->cfg = wsb_session_config_copy (cfg);
  wsb_session_config_free (old);
  g_clear_pointer (&s->host, g_free);
  g_clear_pointer (&s->host_header, g_free);
  g_clear_pointer (&s->path, g_free);
  g_clear_pointer (&s->subprotocols, g_free);
  if (!parse_url (s))
    g_error ("session %s: URL passed validation but does not parse", cfg->name);
  if (cfg->subprotocols && cfg->subprotocols[0])
    s->subprotocols = g_strjoinv (", ", cfg->subprotocols);
  memset (&s->keepalive, 0, sizeof s->keepalive);
  if (cfg->ping_interval)
    {
      /* lws pings only when ours went unanswered; it hangs up after
       * ping_interval + pong_timeout without a pong. */
      guint hangup = (guint) MIN (cfg->ping_interval + cfg->pong_timeout, 65000);
      guint ping = (guint) MIN (cfg->ping_interval + 1, 60000);
      s->keepalive.secs_since_valid_ping = (uint16_t) (ping < hangup ? ping : hangup - 1);
      s->keepalive.secs_since_valid_hangup = (uint16_t) hangup;
    }
  wsb_backoff_init (&s->backoff, (guint) cfg->backoff_initial_ms, (guint) cfg->backoff_max_ms,
                    (guint) cfg->backoff_reset_s * 1000);
  if (s->outbox)
    wsb_outbox_configure (s->outbox, cfg);
}

static void
on_outcome (guint64 id, WsbSendResult result, const char *reason, gpointer data)
{
  WsbSession *s = data;

  if (result != WSB_SEND_SENT)
    session_log (s, G_LOG_LEVEL_DEBUG, "%s: send %" G_GUINT64_FORMAT " %s: %s", s->cfg->name, id,
                 wsb_send_result_to_string (result), reason);
  s->events->send_done (s, id, result, reason, s->user_data);
}

WsbSession *
wsb_session_new (WsbUpstream *up, const WsbSessionConfig *cfg, const WsbSessionEvents *events,
                 gpointer user_data)
{
  WsbSession *s = g_new0 (WsbSession, 1);

  s->up = up;
  s->events = events;
  s->user_data = user_data;
  s->outbox = wsb_outbox_new (cfg, LWS_PRE, on_outcome, s);
  apply_config (s, cfg);
  s->state = WSB_STATE_DISCONNECTED;
  s->reason = g_strdup (cfg->autoconnect ? "starting" : "autoconnect is off");
  return s;
}

void
wsb_session_reconfigure (WsbSession *s, const WsbSessionConfig *cfg)
{
  gboolean want = cfg->autoconnect || s->wanted;

  session_log (s, G_LOG_LEVEL_MESSAGE, "%s: configuration changed; reconnecting", cfg->name);
  /* An open connection closes cleanly and the retry uses the new settings. */
  wsb_session_close (s, LWS_CLOSE_STATUS_GOINGAWAY, "configuration changed");
  apply_config (s, cfg);
  if (want)
    wsb_session_connect (s);
}

static gboolean
on_probe_timeout (gpointer data)
{
  WsbSession *s = data;

  s->probe_source = 0;
  replace_str (&s->drop_reason, g_strdup_printf ("no pong within pong_timeout (%" G_GUINT64_FORMAT
                                                 " s) after a wake-up",
                                                 s->cfg->pong_timeout));
  /* The peer is dead: a kill through lws would first try a close handshake
   * with it and wait. Shutting the socket down makes lws see the hang-up at
   * once, and its close callbacks report it like any other loss. */
  if (shutdown (lws_get_socket_fd (s->wsi), SHUT_RDWR) < 0)
    lws_set_timeout (s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  return G_SOURCE_REMOVE;
}

void
wsb_session_wake (WsbSession *s)
{
  if (!s->wanted)
    return;
  if (s->state == WSB_STATE_BACKOFF)
    {
      /* The reason for the failures may be gone: start over. */
      wsb_backoff_init (&s->backoff, (guint) s->cfg->backoff_initial_ms,
                        (guint) s->cfg->backoff_max_ms, (guint) s->cfg->backoff_reset_s * 1000);
      begin_attempt (s);
      return;
    }
  if (s->state == WSB_STATE_OPEN && s->wsi && !s->probe_source)
    {
      /* The connection may have died while the network or the machine was away. */
      s->ping_due = TRUE;
      lws_callback_on_writable (s->wsi);
      s->probe_source
          = g_timeout_add ((guint) s->cfg->pong_timeout * 1000, on_probe_timeout, s);
    }
}

void
wsb_session_free (WsbSession *s)
{
  if (!s)
    return;
  cancel_pending (s);
  detach (s, s->wsi, TRUE);
  wsb_outbox_free (s->outbox);
  g_clear_pointer (&s->rx, g_byte_array_unref);
  g_free (s->host);
  g_free (s->host_header);
  g_free (s->path);
  g_free (s->subprotocols);
  g_free (s->reason);
  g_free (s->drop_reason);
  g_free (s->peer_close);
  g_free (s->close_text);
  g_free (s->address);
  g_free (s->last_failure);
  g_free (s->logged_backoff);
  g_strfreev (s->auth_headers);
  g_free (s->proxy_host);
  g_free (s->proxy_userinfo);
  wsb_tls_check_clear (&s->tls_check);
  wsb_session_config_free (s->cfg);
  g_free (s);
}

const char *
wsb_session_get_name (WsbSession *s)
{
  return s->cfg->name;
}

const WsbSessionConfig *
wsb_session_get_config (WsbSession *s)
{
  return s->cfg;
}

WsbState
wsb_session_get_state (WsbSession *s)
{
  return s->state;
}

const char *
wsb_session_get_reason (WsbSession *s)
{
  return s->reason;
}

void
wsb_session_get_stats (WsbSession *s, WsbSessionStats *out)
{
  *out = s->stats;
  out->queued_messages = wsb_outbox_length (s->outbox);
}
