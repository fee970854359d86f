/* One attempt's way to the server: fresh credentials (token_file,
 * auth_command), the route (no proxy, the configured one, or what the
 * environment and desktop settings say through GIO's proxy resolver), DNS
 * with GResolver, then the addresses raced through ws-client.c connections
 * (Happy Eyeballs, RFC 8305: IPv6 and IPv4 interleaved, IPv6 first, each
 * next one started ATTEMPT_DELAY_MS after the last or as soon as it failed;
 * the first whose TCP connects goes on, the others are dropped). Failures
 * go back to session.c's backoff. */
#include "session-private.h"

#include <string.h>

#include "wsb-error.h"

/* RFC 8305 §5: the recommended Connection Attempt Delay. */
#define ATTEMPT_DELAY_MS 250

typedef struct
{
  WsbWsClient *conn;
  char *address; /* as s->address: "ip:port" or "… via proxy …" */
} SessionCandidate;

static void try_next_address (WsbSession *s);

static void
candidate_free (gpointer data)
{
  SessionCandidate *cand = data;

  g_free (cand->address);
  g_free (cand);
}

static SessionCandidate *
find_candidate (WsbSession *s, WsbWsClient *c, guint *index)
{
  for (guint i = 0; s->racing && i < s->racing->len; i++)
    {
      SessionCandidate *cand = s->racing->pdata[i];

      if (cand->conn == c)
        {
          *index = i;
          return cand;
        }
    }
  return NULL;
}

/* Drops every connection still racing (none has TCP up). */
void
session_stop_racing (WsbSession *s)
{
  session_clear_source (&s->race_source);
  for (guint i = 0; s->racing && i < s->racing->len; i++)
    wsb_ws_client_abandon (((SessionCandidate *) s->racing->pdata[i])->conn);
  g_clear_pointer (&s->racing, g_ptr_array_unref);
}

/* c's TCP is up first: it is the attempt now; the others are dropped. */
void
session_candidate_connected (WsbSession *s, WsbWsClient *c)
{
  guint i;
  SessionCandidate *cand = find_candidate (s, c, &i);

  if (!cand)
    return;
  session_replace_str (&s->address, g_steal_pointer (&cand->address));
  g_ptr_array_remove_index (s->racing, i);
  session_stop_racing (s);
  s->conn = c;
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: TCP connected to %s", s->cfg->name, s->address);
}

static gboolean
on_race_timer (gpointer data)
{
  WsbSession *s = data;

  s->race_source = 0;
  try_next_address (s);
  return G_SOURCE_REMOVE;
}

/* A racing connection ended before its TCP was up. FALSE when c is not one
 * of them. The next address starts at once (from the loop: this runs in an
 * lws callback); with none left and nothing racing the attempt failed. */
gboolean
session_candidate_ended (WsbSession *s, WsbWsClient *c, const char *reason)
{
  guint i;
  SessionCandidate *cand = find_candidate (s, c, &i);

  if (!cand)
    return FALSE;
  session_replace_str (&s->last_failure, g_strdup_printf ("%s (%s)", reason, cand->address));
  session_replace_str (&s->address, g_steal_pointer (&cand->address));
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: %s", s->cfg->name, s->last_failure);
  g_ptr_array_remove_index (s->racing, i); /* frees cand */
  if (s->next_address)
    {
      session_clear_source (&s->race_source);
      s->race_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_race_timer, s, NULL);
      return TRUE;
    }
  if (s->racing->len)
    return TRUE;
  session_detach (s);
  if (!s->wanted)
    session_set_state (s, WSB_STATE_DISCONNECTED, "%s",
                       s->close_text ? s->close_text : "disconnected");
  else
    session_schedule_retry (s, s->last_failure);
  return TRUE;
}

void
session_free_addresses (WsbSession *s)
{
  g_resolver_free_addresses (s->addresses);
  s->addresses = NULL;
  s->next_address = NULL;
}

gboolean
session_on_next_address (gpointer data)
{
  WsbSession *s = data;

  s->retry_source = 0;
  try_next_address (s);
  return G_SOURCE_REMOVE;
}

static gboolean
on_connect_timeout (gpointer data)
{
  WsbSession *s = data;
  const char *stage = s->conn                       ? wsb_ws_client_waiting_for (s->conn)
                      : s->racing && s->racing->len ? "the TCP connect"
                                                    : NULL;
  g_autofree char *why = g_strdup_printf (
      "no WebSocket connection within connect_timeout (%" G_GUINT64_FORMAT " s)%s%s",
      s->cfg->connect_timeout, stage ? ": stuck in " : "", stage ? stage : "");

  s->connect_timeout_source = 0;
  session_attempt_failed (s, why);
  return G_SOURCE_REMOVE;
}

static void
try_next_address (WsbSession *s)
{
  WsbWsClientParams p = { 0 };
  GInetAddress *addr;
  g_autofree char *ip = NULL;
  g_autofree char *bracketed = NULL;
  g_autofree char *tunnel = NULL;
  g_autofree char *target = NULL;
  g_autoptr (GError) error = NULL;
  SSL_CTX *tls = NULL;

  if (!s->next_address)
    {
      if (!s->racing || !s->racing->len)
        session_schedule_retry (s, s->last_failure ? s->last_failure : "no address to connect to");
      return;
    }
  if (s->url.tls)
    {
      tls = wsb_upstream_get_tls (s->up, s->cfg->tls_ca_file, s->cfg->tls_cert_file,
                                  s->cfg->tls_key_file, &error);
      if (!tls)
        {
          /* Not an address problem: the next address would fail the same way. */
          session_free_addresses (s);
          session_schedule_retry (s, error->message);
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
      session_replace_str (
          &s->address,
          g_strdup_printf ("%s via proxy %s:%u", s->url.connect_target, bracketed, s->proxy_port));
      /* The proxy resolves the name it is given: the URL's validated host. */
      tunnel = g_strdup (s->url.connect_target);
      p.port = s->proxy_port;
      p.proxy_userinfo = s->proxy_userinfo;
    }
  else
    {
      session_replace_str (&s->address, g_strdup_printf ("%s:%u", bracketed, s->url.port));
      p.port = s->url.port;
    }
  p.address = ip;
  p.tunnel = tunnel;
  p.tls = tls;
  p.tls_host = s->url.host;
  p.tls_insecure = s->cfg->tls_insecure;
  p.tls_pins = s->cfg->tls_pin_sha256;
  if (s->cfg->resume_query && s->resume_id)
    target = wsb_ws_url_target_with (s->url.target, s->cfg->resume_query, s->resume_id);
  p.path = target ? target : s->url.target;
  p.host_header = s->url.host_header;
  p.origin = s->cfg->origin;
  p.subprotocols = s->subprotocols;
  p.headers = s->cfg->headers;
  p.auth_headers = s->auth_headers;
  p.compression = s->cfg->compression;
  p.max_message_bytes = s->cfg->max_message_bytes;
  if (s->url.tls && s->cfg->tls_insecure)
    session_log (s, G_LOG_LEVEL_WARNING,
                 "%s: tls_insecure=true: the server's certificate is not verified", s->cfg->name);

  s->opened = FALSE;
  session_set_state (s, WSB_STATE_CONNECTING, "connecting to %s", s->address);
  {
    WsbWsClient *conn = wsb_ws_client_connect (s->up, &p, &session_conn_events, s, &error);
    SessionCandidate *cand;

    if (!conn)
      {
        session_replace_str (&s->last_failure,
                             g_strdup_printf ("%s (%s)", error->message, s->address));
        if (s->next_address)
          try_next_address (s);
        else if (!s->racing || !s->racing->len)
          session_attempt_failed (s, error->message);
        return;
      }
    cand = g_new0 (SessionCandidate, 1);
    cand->conn = conn;
    cand->address = g_strdup (s->address);
    if (!s->racing)
      s->racing = g_ptr_array_new_with_free_func (candidate_free);
    g_ptr_array_add (s->racing, cand);
  }
  /* connect_timeout covers the whole attempt, from its first address. */
  if (!s->connect_timeout_source)
    s->connect_timeout_source
        = g_timeout_add ((guint) s->cfg->connect_timeout * 1000, on_connect_timeout, s);
  session_clear_source (&s->race_source);
  if (s->next_address)
    s->race_source = g_timeout_add (ATTEMPT_DELAY_MS, on_race_timer, s);
}

/* RFC 8305 §4: IPv6 and IPv4 alternate, IPv6 first, each family in the
 * resolver's order. */
static GList *
interleave_families (GList *addrs)
{
  GList *v6 = NULL, *v4 = NULL, *out = NULL;

  for (GList *l = addrs; l; l = l->next)
    {
      if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV6)
        v6 = g_list_prepend (v6, l->data);
      else
        v4 = g_list_prepend (v4, l->data);
    }
  g_list_free (addrs);
  v6 = g_list_reverse (v6);
  v4 = g_list_reverse (v4);
  for (GList *a = v6, *b = v4; a || b; a = a ? a->next : NULL, b = b ? b->next : NULL)
    {
      if (a)
        out = g_list_prepend (out, a->data);
      if (b)
        out = g_list_prepend (out, b->data);
    }
  g_list_free (v6);
  g_list_free (v4);
  return g_list_reverse (out);
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
      g_autofree char *why
          = g_strdup_printf ("DNS: cannot resolve %s%s: %s", s->via_proxy ? "proxy " : "",
                             s->via_proxy ? s->proxy_host : s->url.host, error->message);
      session_schedule_retry (s, why);
      return;
    }
  session_free_addresses (s);
  s->addresses = interleave_families (addrs);
  s->next_address = s->addresses;
  g_clear_pointer (&s->last_failure, g_free);
  try_next_address (s);
}

static void
resolve (WsbSession *s, const char *name)
{
  g_autoptr (GResolver) resolver = g_resolver_get_default ();

  session_set_state (s, WSB_STATE_CONNECTING, "resolving %s", name);
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
      g_autofree char *why
          = g_strdup_printf ("proxy: only http:// CONNECT proxies are supported (got a %s proxy)",
                             uri ? g_uri_get_scheme (uri) : "malformed");
      session_schedule_retry (s, why);
      return;
    }
  s->via_proxy = TRUE;
  session_replace_str (&s->proxy_host, g_strdup (g_uri_get_host (uri)));
  s->proxy_port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 3128;
  userinfo = g_uri_get_userinfo (uri);
  session_replace_str (&s->proxy_userinfo,
                       userinfo ? g_uri_unescape_string (userinfo, NULL) : NULL);
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
      resolve (s, s->url.host);
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
      resolve (s, s->url.host);
      return;
    }
  if (s->cfg->proxy)
    {
      use_proxy (s, s->cfg->proxy);
      return;
    }
  resolver = g_object_ref (g_proxy_resolver_get_default ());
  url = g_strdup_printf ("%s://%s/", s->url.tls ? "https" : "http", s->url.host_header);
  /* Connecting from here on: a second connect request waits for this one. */
  session_set_state (s, WSB_STATE_CONNECTING, "looking up the proxy for %s", s->url.host_header);
  g_proxy_resolver_lookup_async (resolver, url, s->resolving, on_proxy_lookup, s);
}

static void
on_auth_done (char **headers, const char *error, gpointer data)
{
  WsbSession *s = data;

  s->auth = NULL;
  if (!headers)
    {
      session_schedule_retry (s, error);
      return;
    }
  g_strfreev (s->auth_headers);
  s->auth_headers = headers;
  find_route (s);
}

void
session_begin_attempt (WsbSession *s)
{
  /* A lookup still running (a wake-up in the middle of one) must end with
   * this attempt: its callback would otherwise outlive the session. */
  session_cancel_pending (s);
  g_clear_pointer (&s->close_text, g_free);
  s->resolving = g_cancellable_new ();
  if (wsb_auth_needed (s->cfg))
    {
      session_set_state (s, WSB_STATE_CONNECTING, "fetching credentials");
      s->auth = wsb_auth_fetch (s->cfg, wsb_upstream_is_system (s->up), on_auth_done, s);
      return;
    }
  find_route (s);
}

/* Stop whatever is in progress short of an open connection. */
void
session_cancel_pending (WsbSession *s)
{
  session_clear_source (&s->retry_source);
  session_stop_racing (s);
  if (s->resolving)
    {
      g_cancellable_cancel (s->resolving);
      g_clear_object (&s->resolving);
    }
  g_clear_pointer (&s->auth, wsb_auth_cancel);
  session_free_addresses (s);
}
