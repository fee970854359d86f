/* The configuration's key table: every key of [daemon] and [session] with
 * its type, default, range and documentation, in one place; and the structs
 * made from it (defaults, copy, compare, free). config-private.h lists the
 * other files. */
#include "config-private.h"

#include <stddef.h>
#include <string.h>

#include "suggest.h"

#define S(field) offsetof (WsbSessionConfig, field)
static const KeyDef session_keys[] = {
  { "url", KEY_URL, NULL, 0, 0, S (url), "ws:// or wss:// URL (required)", WSB_KEY_RUNTIME_ANY },
  { "autoconnect", KEY_BOOL, "true", 0, 1, S (autoconnect), "connect at start",
    WSB_KEY_RUNTIME_ANY },
  { "headers", KEY_HEADERS, NULL, 0, 0, S (headers), "extra handshake headers, 'Name: value'",
    WSB_KEY_RUNTIME_ANY },
  { "subprotocols", KEY_STRV, NULL, 0, 0, S (subprotocols), "Sec-WebSocket-Protocol list",
    WSB_KEY_RUNTIME_ANY },
  { "origin", KEY_STRING, NULL, 0, 0, S (origin), "Origin header", WSB_KEY_RUNTIME_ANY },
  { "token_file", KEY_PATH, NULL, 0, 0, S (token_file),
    "file whose content is sent as Authorization: Bearer, re-read before every connect; "
    "${CREDENTIALS_DIRECTORY}/NAME names a systemd credential (LoadCredential=)",
    WSB_KEY_RUNTIME_ADMIN },
  { "auth_command", KEY_COMMAND, NULL, 0, 0, S (auth_command),
    "command run before every connect; its 'Name: value' output lines are headers",
    WSB_KEY_RUNTIME_ADMIN },
  { "tls_ca_file", KEY_PATH, NULL, 0, 0, S (tls_ca_file),
    "PEM CA bundle to trust instead of the system store", WSB_KEY_RUNTIME_ADMIN },
  { "tls_cert_file", KEY_PATH, NULL, 0, 0, S (tls_cert_file), "PEM client certificate",
    WSB_KEY_RUNTIME_ADMIN },
  { "tls_key_file", KEY_PATH, NULL, 0, 0, S (tls_key_file), "PEM key of the client certificate",
    WSB_KEY_RUNTIME_ADMIN },
  { "tls_pin_sha256", KEY_PINS, NULL, 0, 0, S (tls_pin_sha256),
    "base64 SHA-256 SPKI pins; the server key must match one", WSB_KEY_RUNTIME_ANY },
  { "tls_insecure", KEY_BOOL, "false", 0, 1, S (tls_insecure),
    "skip certificate verification (tests only)", WSB_KEY_RUNTIME_ANY },
  { "proxy", KEY_PROXY, NULL, 0, 0, S (proxy),
    "http://[user:pw@]host:port CONNECT proxy, or none; default from the environment",
    WSB_KEY_RUNTIME_ANY },
  { "compression", KEY_BOOL, "true", 0, 1, S (compression), "permessage-deflate",
    WSB_KEY_RUNTIME_ANY },
  { "ping_interval", KEY_UINT, "30", 0, 86400, S (ping_interval),
    "seconds without a pong before a ping; 0 disables keepalive", WSB_KEY_RUNTIME_ANY },
  { "pong_timeout", KEY_UINT, "10", 1, 3600, S (pong_timeout),
    "seconds to wait for the pong before dropping the connection", WSB_KEY_RUNTIME_ANY },
  { "backoff_initial_ms", KEY_UINT, "500", 1, 3600000, S (backoff_initial_ms),
    "first reconnect delay cap", WSB_KEY_RUNTIME_ANY },
  { "backoff_max_ms", KEY_UINT, "60000", 1, 86400000, S (backoff_max_ms),
    "largest reconnect delay cap", WSB_KEY_RUNTIME_ANY },
  { "backoff_reset_s", KEY_UINT, "30", 0, 86400, S (backoff_reset_s),
    "a connection open this long starts the backoff over", WSB_KEY_RUNTIME_ANY },
  { "connect_timeout", KEY_UINT, "15", 1, 300, S (connect_timeout),
    "seconds for TCP + TLS + upgrade, per address", WSB_KEY_RUNTIME_ANY },
  { "max_message_bytes", KEY_SIZE, "16M", 1, GIB, S (max_message_bytes),
    "larger inbound messages close the connection with 1009", WSB_KEY_RUNTIME_ANY },
  { "queue_max_messages", KEY_UINT, "1000", 1, 1000000, S (queue_max_messages),
    "send queue limit in messages", WSB_KEY_RUNTIME_ANY },
  { "queue_max_bytes", KEY_SIZE, "4M", KIB, GIB, S (queue_max_bytes), "send queue limit in bytes",
    WSB_KEY_RUNTIME_ANY },
  { "queue_ttl_ms", KEY_UINT, "0", 0, 30 * G_GUINT64_CONSTANT (86400000), S (queue_ttl_ms),
    "queued messages older than this expire; 0: never", WSB_KEY_RUNTIME_ANY },
  { "queue_persist", KEY_BOOL, "false", 0, 1, S (queue_persist),
    "journal the send queue under the state directory so it survives a restart",
    WSB_KEY_RUNTIME_ANY },
  { "channel_key", KEY_POINTER, NULL, 0, 0, S (channel_key),
    "RFC 6901 pointer to the channel in inbound JSON text messages", WSB_KEY_RUNTIME_ANY },
  { "subscribe_template", KEY_TEMPLATE, NULL, 0, 0, S (subscribe_template),
    "frame sent when a channel gets its first local subscriber; {channel} is filled in",
    WSB_KEY_RUNTIME_ANY },
  { "unsubscribe_template", KEY_TEMPLATE, NULL, 0, 0, S (unsubscribe_template),
    "frame sent when a channel loses its last local subscriber", WSB_KEY_RUNTIME_ANY },
  { "on_connect", KEY_FRAMES, NULL, 0, 0, S (on_connect),
    "text frames sent first after every connect (e.g. a login)", WSB_KEY_RUNTIME_ANY },
  { "channels", KEY_CHANNELS, NULL, 0, 0, S (channels),
    "channels subscribed upstream after every connect, with or without local subscribers",
    WSB_KEY_RUNTIME_ANY },
  { "history_messages", KEY_UINT, "64", 0, 1000000, S (history_messages),
    "messages kept per channel for late joiners and resuming subscribers", WSB_KEY_RUNTIME_ANY },
  { "history_bytes", KEY_SIZE, "1M", 0, GIB, S (history_bytes), "bytes kept per channel",
    WSB_KEY_RUNTIME_ANY },
  { "ring_bytes", KEY_SIZE, "4M", 0, 256 * MIB, S (ring_bytes),
    "shared-memory ring for local subscribers that ask for it (rounded up to a power of two, at "
    "least 64 KiB; 0: none)",
    WSB_KEY_RUNTIME_ANY },
  { "resume_pointer", KEY_POINTER, NULL, 0, 0, S (resume_pointer),
    "RFC 6901 pointer to each message's id; with resume_query the daemon reconnects asking the "
    "server for what came after the last id it received",
    WSB_KEY_RUNTIME_ANY },
  { "resume_query", KEY_PARAM, NULL, 0, 0, S (resume_query),
    "query parameter added to the URL on every reconnect with the last id (ntfy: since)",
    WSB_KEY_RUNTIME_ANY },
  { "resume_filter", KEY_MATCH, NULL, 0, 0, S (resume_filter),
    "POINTER=VALUE: only messages whose value at POINTER is VALUE set the id "
    "(ntfy: /event=message)",
    WSB_KEY_RUNTIME_ANY },
  { "opening_messages", KEY_UINT, "8", 0, 1024, S (opening_messages),
    "the first messages of each upstream connection, kept for clients that open later "
    "(a greeting, a snapshot)",
    WSB_KEY_RUNTIME_ANY },
  { "opening_window_ms", KEY_UINT, "2000", 0, 600000, S (opening_window_ms),
    "only messages that arrive this soon after the connection opened count as its opening "
    "messages",
    WSB_KEY_RUNTIME_ANY },
  { "allow_users", KEY_STRV, NULL, 0, 0, S (allow_users),
    "system instance: users (names or uids) who may use the session besides root",
    WSB_KEY_RUNTIME_OWN },
  { "allow_groups", KEY_STRV, NULL, 0, 0, S (allow_groups),
    "system instance: groups who may use the session; default the group wsbridge",
    WSB_KEY_RUNTIME_OWN },
};
#undef S

#define D(field) offsetof (WsbDaemonConfig, field)
static const KeyDef daemon_keys[] = {
  { "max_clients", KEY_UINT, "256", 1, 65536, D (max_clients), "simultaneous API clients" },
  { "max_clients_per_user", KEY_UINT, "64", 1, 65536, D (max_clients_per_user),
    "system instance: API clients one user (uid) may hold; root is not counted" },
  { "hello_timeout_ms", KEY_UINT, "5000", 100, 600000, D (hello_timeout_ms),
    "a client that has not sent its hello by then is disconnected" },
  { "max_frame_bytes", KEY_SIZE, "16M", KIB, 256 * MIB, D (max_frame_bytes),
    "largest API frame accepted" },
  { "client_buffer_bytes", KEY_SIZE, "4M", 64 * KIB, GIB, D (client_buffer_bytes),
    "outbound buffer per API client" },
  { "slow_client_policy", KEY_POLICY, "drop-oldest", 0, 0, D (slow_client_policy),
    "a client over client_buffer_bytes: drop-oldest (its oldest messages, then a gap) "
    "or disconnect" },
  { "max_subscriptions_per_client", KEY_UINT, "4096", 1, 1000000, D (max_subscriptions_per_client),
    "subscriptions one API client may hold" },
  { "max_requests_per_client", KEY_UINT, "256", 1, 65536, D (max_requests_per_client),
    "replies one API client may leave unread before the daemon stops reading its requests" },
  { "create_allow_groups", KEY_STRV, NULL, 0, 0, D (create_allow_groups),
    "system instance: groups whose members may create sessions at runtime (root always may)" },
  { "admin_groups", KEY_STRV, NULL, 0, 0, D (admin_groups),
    "system instance: groups whose members may create sessions and set every key, as root may" },
  { "max_sessions", KEY_UINT, "10000", 1, 1000000, D (max_sessions),
    "sessions in all (configured, persisted and runtime); creating more is refused" },
  { "max_sessions_per_user", KEY_UINT, "32", 1, 1000000, D (max_sessions_per_user),
    "system instance: runtime and persisted sessions one uid other than root may hold" },
};
#undef D

static const char *
type_name (KeyType type)
{
  static const char *const names[] = {
    [KEY_BOOL] = "boolean",      [KEY_UINT] = "number",       [KEY_SIZE] = "size",
    [KEY_STRING] = "text",       [KEY_STRV] = "list",         [KEY_URL] = "url",
    [KEY_HEADERS] = "headers",   [KEY_PATH] = "file",         [KEY_COMMAND] = "command",
    [KEY_PINS] = "pins",         [KEY_PROXY] = "proxy",       [KEY_POINTER] = "pointer",
    [KEY_TEMPLATE] = "template", [KEY_CHANNELS] = "channels", [KEY_FRAMES] = "frames",
    [KEY_POLICY] = "policy",     [KEY_PARAM] = "parameter",   [KEY_MATCH] = "match",
  };

  return names[type];
}

static void
foreach_key (const char *group, const KeyDef *keys, gsize n, WsbConfigKeyFunc func, gpointer data)
{
  for (gsize i = 0; i < n; i++)
    {
      const KeyDef *k = &keys[i];
      WsbConfigKeyInfo info
          = { group,
              k->name,
              type_name (k->type),
              k->default_value,
              key_storage (k->type) == STORE_NUMBER,
              k->min,
              k->max,
              k->doc,
              keys == session_keys ? wsb_config_key_runtime_name (k->runtime) : NULL };
      func (&info, data);
    }
}

void
wsb_config_foreach_key (WsbConfigKeyFunc func, gpointer data)
{
  foreach_key ("daemon", daemon_keys, G_N_ELEMENTS (daemon_keys), func, data);
  foreach_key ("session", session_keys, G_N_ELEMENTS (session_keys), func, data);
}

WsbKeyRuntime
wsb_config_key_runtime (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (session_keys); i++)
    if (g_str_equal (session_keys[i].name, key))
      return session_keys[i].runtime;
  return WSB_KEY_RUNTIME_ADMIN;
}

const char *
wsb_config_key_runtime_name (WsbKeyRuntime runtime)
{
  switch (runtime)
    {
      case WSB_KEY_RUNTIME_ANY:
        return "any creator";
      case WSB_KEY_RUNTIME_OWN:
        return "own ids";
      case WSB_KEY_RUNTIME_ADMIN:
        break;
    }
  return "admin";
}

gboolean
wsb_config_is_session_key (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (session_keys); i++)
    if (g_str_equal (session_keys[i].name, key))
      return TRUE;
  return FALSE;
}

static const KeyDef *
group_keys (KeyGroup group, gsize *n)
{
  if (group == KEYS_DAEMON)
    {
      *n = G_N_ELEMENTS (daemon_keys);
      return daemon_keys;
    }
  *n = G_N_ELEMENTS (session_keys);
  return session_keys;
}

const KeyDef *
wsb_config_key_lookup (KeyGroup group, const char *name)
{
  gsize n;
  const KeyDef *keys = group_keys (group, &n);

  for (gsize i = 0; i < n; i++)
    if (strcmp (keys[i].name, name) == 0)
      return &keys[i];
  return NULL;
}

const char *
wsb_config_key_closest (KeyGroup group, const char *name)
{
  gsize n;
  const KeyDef *keys = group_keys (group, &n);
  g_autofree const char **names = g_new0 (const char *, n + 1);

  for (gsize i = 0; i < n; i++)
    names[i] = keys[i].name;
  return wsb_suggest (name, names);
}

char *
wsb_url_redact (const char *url)
{
  GString *out = g_string_sized_new (strlen (url));
  const char *scheme_end = strstr (url, "://");
  const char *p = scheme_end ? scheme_end + 3 : url;
  const char *auth_end = p + strcspn (p, "/?#");
  const char *at = memchr (p, '@', (gsize) (auth_end - p));

  g_string_append_len (out, url, p - url);
  if (at)
    {
      /* The last '@' of the authority ends the userinfo. */
      while (memchr (at + 1, '@', (gsize) (auth_end - at - 1)))
        at = memchr (at + 1, '@', (gsize) (auth_end - at - 1));
      g_string_append (out, "…@");
      p = at + 1;
    }
  while (*p && *p != '?' && *p != '#')
    g_string_append_c (out, *p++);
  if (*p == '?')
    {
      g_string_append_c (out, *p++);
      while (*p && *p != '#')
        {
          gsize name = strcspn (p, "=&#");

          g_string_append_len (out, p, (gssize) name);
          p += name;
          if (*p == '=')
            {
              g_string_append (out, "=…");
              p += 1 + strcspn (p + 1, "&#");
            }
          if (*p == '&')
            g_string_append_c (out, *p++);
        }
    }
  if (*p == '#')
    g_string_append (out, "#…");
  return g_string_free (out, FALSE);
}

gboolean
wsb_session_name_is_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > WSB_SESSION_NAME_MAX)
    return FALSE;
  if (!g_ascii_islower (name[0]) && !g_ascii_isdigit (name[0]))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    {
      char c = name[i];
      if (!g_ascii_islower (c) && !g_ascii_isdigit (c) && c != '_' && c != '.' && c != '-')
        return FALSE;
    }
  return TRUE;
}

static void
set_defaults (const KeyDef *keys, gsize n, gpointer base)
{
  g_autoptr (GString) why = g_string_new (NULL);

  for (gsize i = 0; i < n; i++)
    if (keys[i].default_value)
      {
        gboolean ok = wsb_config_value_set (&keys[i], base, NULL, NULL, keys[i].default_value, why);
        g_assert (ok);
      }
}

/* ---------------------------------------------------------------- structs */

WsbSessionConfig *
wsb_session_config_new_default (const char *name)
{
  WsbSessionConfig *sc = g_new0 (WsbSessionConfig, 1);

  sc->name = g_strdup (name);
  set_defaults (session_keys, G_N_ELEMENTS (session_keys), sc);
  return sc;
}

void
wsb_session_config_free (WsbSessionConfig *sc)
{
  if (!sc)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (session_keys); i++)
    wsb_config_value_free (&session_keys[i], sc);
  g_free (sc->name);
  g_free (sc->source);
  g_free (sc);
}

WsbSessionConfig *
wsb_session_config_copy (const WsbSessionConfig *src)
{
  WsbSessionConfig *sc = g_memdup2 (src, sizeof *src);

  sc->name = g_strdup (src->name);
  sc->source = g_strdup (src->source);
  for (gsize i = 0; i < G_N_ELEMENTS (session_keys); i++)
    {
      gpointer field = G_STRUCT_MEMBER_P (sc, session_keys[i].offset);
      switch (key_storage (session_keys[i].type))
        {
          case STORE_TEXT:
            *(char **) field = g_strdup (*(char **) field);
            break;
          case STORE_LIST:
            *(char ***) field = g_strdupv (*(char ***) field);
            break;
          default:
            break;
        }
    }
  return sc;
}

static gboolean
strv_equal0 (char **a, char **b)
{
  if (!a || !b)
    return (!a || !*a) && (!b || !*b);
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

static gboolean
fields_equal (const KeyDef *keys, gsize n, gconstpointer a, gconstpointer b)
{
  for (gsize i = 0; i < n; i++)
    {
      gconstpointer fa = G_STRUCT_MEMBER_P (a, keys[i].offset);
      gconstpointer fb = G_STRUCT_MEMBER_P (b, keys[i].offset);
      gboolean same = TRUE;
      switch (key_storage (keys[i].type))
        {
          case STORE_BOOL:
            same = *(const gboolean *) fa == *(const gboolean *) fb;
            break;
          case STORE_NUMBER:
            same = *(const guint64 *) fa == *(const guint64 *) fb;
            break;
          case STORE_TEXT:
            same = g_strcmp0 (*(char *const *) fa, *(char *const *) fb) == 0;
            break;
          case STORE_LIST:
            same = strv_equal0 (*(char **const *) fa, *(char **const *) fb);
            break;
        }
      if (!same)
        return FALSE;
    }
  return TRUE;
}

gboolean
wsb_session_config_equal (const WsbSessionConfig *a, const WsbSessionConfig *b)
{
  return g_strcmp0 (a->name, b->name) == 0
         && fields_equal (session_keys, G_N_ELEMENTS (session_keys), a, b);
}

gboolean
wsb_daemon_config_equal (const WsbDaemonConfig *a, const WsbDaemonConfig *b)
{
  return fields_equal (daemon_keys, G_N_ELEMENTS (daemon_keys), a, b);
}

WsbConfig *
wsb_config_new (void)
{
  WsbConfig *cfg = g_new0 (WsbConfig, 1);

  set_defaults (daemon_keys, G_N_ELEMENTS (daemon_keys), &cfg->daemon);
  cfg->sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_session_config_free);
  cfg->warnings = g_ptr_array_new_with_free_func (g_free);
  return cfg;
}

void
wsb_config_free (WsbConfig *cfg)
{
  if (!cfg)
    return;
  g_ptr_array_unref (cfg->sessions);
  g_ptr_array_unref (cfg->warnings);
  for (gsize i = 0; i < G_N_ELEMENTS (daemon_keys); i++)
    wsb_config_value_free (&daemon_keys[i], &cfg->daemon);
  g_free (cfg);
}
