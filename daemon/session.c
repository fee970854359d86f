#include "session.h"

#include <string.h>

#include "auth.h"
#include "backoff.h"
#include "outbox.h"
#include "ws-client.h"
#include "ws-frame.h"
#include "wsb-error.h"

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
  WsbWsClient *conn;
  gboolean opened;
  gboolean ever_opened;
  gint64 opened_at;  /* monotonic µs */
  char *close_text;  /* why we closed it ourselves (disconnect, remove) */

  GCancellable *resolving; /* proxy lookup and DNS of the current attempt */
  WsbAuth *auth;
  char **auth_headers; /* from token_file / auth_command; secret */
  gboolean via_proxy;
  char *proxy_host;
  guint16 proxy_port;
  char *proxy_userinfo; /* secret */
  GList *addresses; /* GInetAddress*, from the last lookup */
  GList *next_address;
  char *address;    /* "ip:port" being tried or connected */
  char *last_failure;
  char *logged_backoff; /* last backoff reason logged at message level */

  guint retry_source;
  guint connect_timeout_source;
  guint ping_source;
  guint pong_source;   /* our ping is unanswered: drop when it fires */
  gboolean probing;    /* the unanswered ping is a wake-up probe */
  gint64 ping_sent_at; /* monotonic µs of our unanswered ping, or 0 */

  WsbBackoff backoff;
  WsbOutbox *outbox;
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

#define session_log(s, level, ...)                                                                \
  g_log_structured (G_LOG_DOMAIN, level, "WSB_SESSION", (s)->cfg->name, "MESSAGE", __VA_ARGS__)

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

/* Let go of the connection: no more events from it; it is dropped unless
 * it already ended. */
static void
detach (WsbSession *s)
{
  if (s->conn)
    wsb_ws_client_abandon (g_steal_pointer (&s->conn));
  s->opened = FALSE;
  clear_source (&s->connect_timeout_source);
  clear_source (&s->ping_source);
  clear_source (&s->pong_source);
  s->probing = FALSE;
  s->ping_sent_at = 0;
  wsb_outbox_connection_ended (s->outbox);
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
attempt_failed (WsbSession *s, const char *reason)
{
  detach (s);
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
connection_lost (WsbSession *s, const char *reason)
{
  gint64 open_ms = (g_get_monotonic_time () - s->opened_at) / 1000;

  detach (s);
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
  attempt_failed (s, why);
  return G_SOURCE_REMOVE;
}

static const WsbWsClientEvents conn_events;

static void
try_next_address (WsbSession *s)
{
  WsbWsClientParams p = { 0 };
  GInetAddress *addr;
  g_autofree char *ip = NULL;
  g_autofree char *bracketed = NULL;
  g_autofree char *tunnel = NULL;
  g_autoptr (GError) error = NULL;
  SSL_CTX *tls = NULL;

  if (!s->next_address)
    {
      schedule_retry (s, s->last_failure ? s->last_failure : "no address to connect to");
      return;
    }
  if (s->tls)
    {
      tls = wsb_upstream_get_tls (s->up, s->cfg->tls_ca_file, s->cfg->tls_cert_file,
                                  s->cfg->tls_key_file, &error);
      if (!tls)
        {
          /* Not an address problem: the next address would fail the same way. */
          free_addresses (s);
          schedule_retry (s, error->message);
          return;
        }
    }
  addr = s->next_address->data;
  s->next_address = s->next_address->next;
  ip = g_inet_address_to_string (addr);
  bracketed = g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6
                  ? g_strdup_printf ("[%s]", ip)
                  : g_strdup (ip);
  if (s->via_proxy)
    {
      g_autofree char *host = strchr (s->host, ':') ? g_strdup_printf ("[%s]", s->host)
                                                     : g_strdup (s->host);
      replace_str (&s->address, g_strdup_printf ("%s:%u via proxy %s:%u", s->host, s->port,
                                                 bracketed, s->proxy_port));
      /* The proxy resolves the name it is given. */
      tunnel = g_strdup_printf ("%s:%u", host, s->port);
      p.port = s->proxy_port;
      p.proxy_userinfo = s->proxy_userinfo;
    }
  else
    {
      replace_str (&s->address, g_strdup_printf ("%s:%u", bracketed, s->port));
      p.port = s->port;
    }
  p.address = ip;
  p.tunnel = tunnel;
  p.tls = tls;
  p.tls_host = s->host;
  p.tls_insecure = s->cfg->tls_insecure;
  p.tls_pins = s->cfg->tls_pin_sha256;
  p.path = s->path;
  p.host_header = s->host_header;
  p.origin = s->cfg->origin;
  p.subprotocols = s->subprotocols;
  p.headers = s->cfg->headers;
  p.auth_headers = s->auth_headers;
  p.compression = s->cfg->compression;
  p.max_message_bytes = s->cfg->max_message_bytes;
  if (s->tls && s->cfg->tls_insecure)
    session_log (s, G_LOG_LEVEL_WARNING,
                 "%s: tls_insecure=true: the server's certificate is not verified",
                 s->cfg->name);

  s->opened = FALSE;
  set_state (s, WSB_STATE_CONNECTING, "connecting to %s", s->address);
  s->conn = wsb_ws_client_connect (s->up, &p, &conn_events, s, &error);
  if (!s->conn)
    {
      attempt_failed (s, error->message);
      return;
    }
  s->connect_timeout_source
      = g_timeout_add ((guint) s->cfg->connect_timeout * 1000, on_connect_timeout, s);
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
  if (s->conn && s->opened)
    {
      clear_source (&s->ping_source);
      clear_source (&s->pong_source);
      set_state (s, WSB_STATE_CLOSING, "%s", reason);
      wsb_ws_client_close (s->conn, close_code, reason);
      return;
    }
  detach (s);
  set_state (s, WSB_STATE_DISCONNECTED, "%s", reason);
}

gboolean
wsb_session_has_connection (WsbSession *s)
{
  return s->conn != NULL;
}

static gboolean
is_open (WsbSession *s)
{
  return s->conn && s->opened && s->state == WSB_STATE_OPEN;
}

gboolean
wsb_session_send (WsbSession *s, const guint8 *data, gsize len, gboolean binary, guint32 ttl_ms,
                  guint64 *id, GError **error)
{
  if (!binary && !wsb_utf8_valid (data, len))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "a text message must be valid UTF-8 (send it as binary instead)");
      return FALSE;
    }
  if (!wsb_outbox_push (s->outbox, data, len, binary, ttl_ms, id, error))
    return FALSE;
  if (is_open (s))
    wsb_ws_client_want_write (s->conn);
  return TRUE;
}

gboolean
wsb_session_send_control (WsbSession *s, const char *text)
{
  if (!is_open (s))
    return FALSE;
  wsb_outbox_push_control (s->outbox, text);
  wsb_ws_client_want_write (s->conn);
  return TRUE;
}

gboolean
wsb_session_set_journal (WsbSession *s, const char *path, GError **error)
{
  gboolean ok = wsb_outbox_set_journal (s->outbox, path, error);

  if (ok && is_open (s) && wsb_outbox_has_pending (s->outbox))
    wsb_ws_client_want_write (s->conn);
  return ok;
}

void
wsb_session_cancel_queue (WsbSession *s, const char *reason)
{
  wsb_outbox_cancel_all (s->outbox, reason);
}

/* ------------------------------------------------------ connection events */

static gboolean
on_pong_timeout (gpointer data)
{
  WsbSession *s = data;
  g_autofree char *why = NULL;

  s->pong_source = 0;
  why = s->probing ? g_strdup_printf ("no pong within pong_timeout (%" G_GUINT64_FORMAT
                                      " s) after a wake-up",
                                      s->cfg->pong_timeout)
                   : g_strdup_printf ("no pong within pong_timeout (%" G_GUINT64_FORMAT
                                      " s) of a ping (keepalive)",
                                      s->cfg->pong_timeout);
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: %s", s->cfg->name, why);
  wsb_ws_client_drop (s->conn, why);
  return G_SOURCE_REMOVE;
}

/* A ping now, and the connection is dropped unless its pong comes within
 * pong_timeout. While one is unanswered no other is sent. */
static void
ping (WsbSession *s, gboolean probe)
{
  if (s->pong_source)
    {
      s->probing = s->probing || probe;
      return;
    }
  s->probing = probe;
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: ping%s", s->cfg->name, probe ? " (wake-up probe)" : "");
  s->ping_sent_at = g_get_monotonic_time ();
  wsb_ws_client_ping (s->conn);
  s->pong_source = g_timeout_add ((guint) s->cfg->pong_timeout * 1000, on_pong_timeout, s);
}

static gboolean
on_ping_timer (gpointer data)
{
  ping (data, FALSE);
  return G_SOURCE_CONTINUE;
}

static void
on_conn_open (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;

  clear_source (&s->connect_timeout_source);
  s->opened = TRUE;
  s->opened_at = g_get_monotonic_time ();
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
    wsb_ws_client_want_write (c);
}

static void
on_conn_message (WsbWsClient *c, const guint8 *data, gsize len, gboolean binary, gpointer d)
{
  WsbSession *s = d;

  s->stats.rx_messages++;
  s->events->message (s, data, len, binary, s->user_data);
}

static void
on_conn_pong (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;

  if (!s->ping_sent_at)
    return; /* unsolicited */
  s->stats.rtt_us = (guint64) (g_get_monotonic_time () - s->ping_sent_at);
  s->ping_sent_at = 0;
  s->probing = FALSE;
  clear_source (&s->pong_source);
}

/* Batches queued messages into the connection's next write. */
static void
on_conn_writable (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;
  WsbOutMsg *m;

  if (s->state != WSB_STATE_OPEN)
    return;
  while (wsb_ws_client_has_room (c) && (m = wsb_outbox_begin (s->outbox)))
    {
      wsb_ws_client_send (c, wsb_out_msg_payload (0, m), m->len, m->binary);
      if (wsb_outbox_written (s->outbox))
        s->stats.tx_messages++;
    }
  if (wsb_outbox_has_pending (s->outbox))
    wsb_ws_client_want_write (c);
}

static void
on_conn_ended (WsbWsClient *c, const char *reason, gpointer data)
{
  WsbSession *s = data;
  g_autofree char *why = g_strdup (reason);

  s->conn = NULL; /* it is gone */
  if (s->opened)
    connection_lost (s, why);
  else
    attempt_failed (s, why);
}

static const WsbWsClientEvents conn_events = {
  on_conn_open, on_conn_message, on_conn_pong, on_conn_writable, on_conn_ended,
};

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
  s->outbox = wsb_outbox_new (cfg, 0, on_outcome, s);
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
  wsb_session_close (s, WSB_CLOSE_GOING_AWAY, "configuration changed");
  apply_config (s, cfg);
  if (want)
    wsb_session_connect (s);
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
  /* The connection may have died while the network or the machine was away. */
  if (is_open (s))
    ping (s, TRUE);
}

void
wsb_session_free (WsbSession *s)
{
  if (!s)
    return;
  cancel_pending (s);
  detach (s);
  wsb_outbox_free (s->outbox);
  g_free (s->host);
  g_free (s->host_header);
  g_free (s->path);
  g_free (s->subprotocols);
  g_free (s->reason);
  g_free (s->close_text);
  g_free (s->address);
  g_free (s->last_failure);
  g_free (s->logged_backoff);
  g_strfreev (s->auth_headers);
  g_free (s->proxy_host);
  g_free (s->proxy_userinfo);
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
