#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "router.h"
#include "suggest.h"
#include "template.h"
#include "wsb-error.h"

typedef enum
{
  KEY_BOOL,
  KEY_UINT,    /* plain whole number */
  KEY_SIZE,    /* bytes, with optional K/M/G suffix */
  KEY_STRING,
  KEY_STRV,
  KEY_URL,     /* ws:// or wss:// */
  KEY_HEADERS, /* list of "Name: value"; values never echoed */
  KEY_PATH,    /* absolute file name */
  KEY_COMMAND, /* a command line, split like a shell would (no shell runs it) */
  KEY_PINS,    /* list of base64 SHA-256 digests */
  KEY_PROXY,   /* http://[user:pw@]host:port or none */
  KEY_POINTER, /* RFC 6901 JSON pointer */
  KEY_TEMPLATE, /* text frame with {channel} */
  KEY_CHANNELS, /* list of channel names */
  KEY_FRAMES,   /* list of text frames */
  KEY_POLICY,   /* slow_client_policy: drop-oldest or disconnect */
} KeyType;

/* How a key's value is held in its struct field. */
typedef enum
{
  STORE_BOOL,   /* gboolean */
  STORE_NUMBER, /* guint64 */
  STORE_TEXT,   /* char *, owned */
  STORE_LIST,   /* char **, owned */
} Storage;

static Storage
storage (KeyType type)
{
  switch (type)
    {
    case KEY_BOOL:
      return STORE_BOOL;
    case KEY_UINT:
    case KEY_SIZE:
      return STORE_NUMBER;
    case KEY_STRV:
    case KEY_HEADERS:
    case KEY_PINS:
    case KEY_CHANNELS:
    case KEY_FRAMES:
      return STORE_LIST;
    default:
      return STORE_TEXT;
    }
}

typedef struct
{
  const char *name;
  KeyType type;
  const char *default_value; /* parsed like a file value; NULL = unset */
  guint64 min, max;
  gsize offset;
  const char *doc;
} KeyDef;

#define KIB (G_GUINT64_CONSTANT (1024))
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

#define S(field) offsetof (WsbSessionConfig, field)
static const KeyDef session_keys[] = {
  { "url", KEY_URL, NULL, 0, 0, S (url), "ws:// or wss:// URL (required)" },
  { "autoconnect", KEY_BOOL, "true", 0, 1, S (autoconnect), "connect at start" },
  { "headers", KEY_HEADERS, NULL, 0, 0, S (headers), "extra handshake headers, 'Name: value'" },
  { "subprotocols", KEY_STRV, NULL, 0, 0, S (subprotocols), "Sec-WebSocket-Protocol list" },
  { "origin", KEY_STRING, NULL, 0, 0, S (origin), "Origin header" },
  { "token_file", KEY_PATH, NULL, 0, 0, S (token_file),
    "file whose content is sent as Authorization: Bearer, re-read before every connect; "
    "${CREDENTIALS_DIRECTORY}/NAME names a systemd credential (LoadCredential=)" },
  { "auth_command", KEY_COMMAND, NULL, 0, 0, S (auth_command),
    "command run before every connect; its 'Name: value' output lines are headers" },
  { "tls_ca_file", KEY_PATH, NULL, 0, 0, S (tls_ca_file), "PEM CA bundle to trust instead of "
                                                          "the system store" },
  { "tls_cert_file", KEY_PATH, NULL, 0, 0, S (tls_cert_file), "PEM client certificate" },
  { "tls_key_file", KEY_PATH, NULL, 0, 0, S (tls_key_file), "PEM key of the client certificate" },
  { "tls_pin_sha256", KEY_PINS, NULL, 0, 0, S (tls_pin_sha256),
    "base64 SHA-256 SPKI pins; the server key must match one" },
  { "tls_insecure", KEY_BOOL, "false", 0, 1, S (tls_insecure),
    "skip certificate verification (tests only)" },
  { "proxy", KEY_PROXY, NULL, 0, 0, S (proxy),
    "http://[user:pw@]host:port CONNECT proxy, or none; default from the environment" },
  { "compression", KEY_BOOL, "true", 0, 1, S (compression), "permessage-deflate" },
  { "ping_interval", KEY_UINT, "30", 0, 86400, S (ping_interval),
    "seconds without a pong before a ping; 0 disables keepalive" },
  { "pong_timeout", KEY_UINT, "10", 1, 3600, S (pong_timeout),
    "seconds to wait for the pong before dropping the connection" },
  { "backoff_initial_ms", KEY_UINT, "500", 1, 3600000, S (backoff_initial_ms),
    "first reconnect delay cap" },
  { "backoff_max_ms", KEY_UINT, "60000", 1, 86400000, S (backoff_max_ms),
    "largest reconnect delay cap" },
  { "backoff_reset_s", KEY_UINT, "30", 0, 86400, S (backoff_reset_s),
    "a connection open this long starts the backoff over" },
  { "connect_timeout", KEY_UINT, "15", 1, 300, S (connect_timeout),
    "seconds for TCP + TLS + upgrade, per address" },
  { "max_message_bytes", KEY_SIZE, "16M", 1, GIB, S (max_message_bytes),
    "larger inbound messages close the connection with 1009" },
  { "queue_max_messages", KEY_UINT, "1000", 1, 1000000, S (queue_max_messages),
    "send queue limit in messages" },
  { "queue_max_bytes", KEY_SIZE, "4M", KIB, GIB, S (queue_max_bytes),
    "send queue limit in bytes" },
  { "queue_ttl_ms", KEY_UINT, "0", 0, 30 * G_GUINT64_CONSTANT (86400000), S (queue_ttl_ms),
    "queued messages older than this expire; 0: never" },
  { "queue_persist", KEY_BOOL, "false", 0, 1, S (queue_persist),
    "journal the send queue under the state directory so it survives a restart" },
  { "channel_key", KEY_POINTER, NULL, 0, 0, S (channel_key),
    "RFC 6901 pointer to the channel in inbound JSON text messages" },
  { "subscribe_template", KEY_TEMPLATE, NULL, 0, 0, S (subscribe_template),
    "frame sent when a channel gets its first local subscriber; {channel} is filled in" },
  { "unsubscribe_template", KEY_TEMPLATE, NULL, 0, 0, S (unsubscribe_template),
    "frame sent when a channel loses its last local subscriber" },
  { "on_connect", KEY_FRAMES, NULL, 0, 0, S (on_connect),
    "text frames sent first after every connect (e.g. a login)" },
  { "channels", KEY_CHANNELS, NULL, 0, 0, S (channels),
    "channels subscribed upstream after every connect, with or without local subscribers" },
  { "history_messages", KEY_UINT, "64", 0, 1000000, S (history_messages),
    "messages kept per channel for late joiners and resuming subscribers" },
  { "history_bytes", KEY_SIZE, "1M", 0, GIB, S (history_bytes),
    "bytes kept per channel" },
  { "allow_users", KEY_STRV, NULL, 0, 0, S (allow_users),
    "system instance: users (names or uids) who may use the session besides root" },
  { "allow_groups", KEY_STRV, NULL, 0, 0, S (allow_groups),
    "system instance: groups who may use the session; default the group wsbridge" },
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
  { "max_subscriptions_per_client", KEY_UINT, "4096", 1, 1000000,
    D (max_subscriptions_per_client), "subscriptions one API client may hold" },
  { "max_requests_per_client", KEY_UINT, "256", 1, 65536, D (max_requests_per_client),
    "replies one API client may leave unread before the daemon stops reading its requests" },
  { "create_allow_groups", KEY_STRV, NULL, 0, 0, D (create_allow_groups),
    "system instance: groups whose members may create sessions at runtime (root always may)" },
};
#undef D

/* Handshake headers that lws writes itself or that have their own key. */
static const char *const reserved_headers[] = {
  "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
  "sec-websocket-extensions", "sec-websocket-protocol", "origin", "content-length",
};

static const char *
type_name (KeyType type)
{
  static const char *const names[] = {
    [KEY_BOOL] = "boolean",    [KEY_UINT] = "number",   [KEY_SIZE] = "size",
    [KEY_STRING] = "text",     [KEY_STRV] = "list",     [KEY_URL] = "url",
    [KEY_HEADERS] = "headers", [KEY_PATH] = "file",     [KEY_COMMAND] = "command",
    [KEY_PINS] = "pins",       [KEY_PROXY] = "proxy",   [KEY_POINTER] = "pointer",
    [KEY_TEMPLATE] = "template", [KEY_CHANNELS] = "channels", [KEY_FRAMES] = "frames",
    [KEY_POLICY] = "policy",
  };

  return names[type];
}

static void
foreach_key (const char *group, const KeyDef *keys, gsize n, WsbConfigKeyFunc func,
             gpointer data)
{
  for (gsize i = 0; i < n; i++)
    {
      const KeyDef *k = &keys[i];
      WsbConfigKeyInfo info = { group, k->name, type_name (k->type), k->default_value,
                                storage (k->type) == STORE_NUMBER, k->min, k->max, k->doc };
      func (&info, data);
    }
}

void
wsb_config_foreach_key (WsbConfigKeyFunc func, gpointer data)
{
  foreach_key ("daemon", daemon_keys, G_N_ELEMENTS (daemon_keys), func, data);
  foreach_key ("session", session_keys, G_N_ELEMENTS (session_keys), func, data);
}

gboolean
wsb_config_is_session_key (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (session_keys); i++)
    if (g_str_equal (session_keys[i].name, key))
      return TRUE;
  return FALSE;
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

/* ------------------------------------------------------------------ values */

typedef struct
{
  const char *path;
  const char *text;
  gsize len;
} Source;

/* Line of "key=" inside "[group]", for messages; 0 when not found. */
static guint
find_line (const Source *src, const char *group, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (src->text, "\n", -1);
  gboolean in_group = FALSE;

  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      while (g_ascii_isspace (*l))
        l++;
      if (*l == '[')
        {
          const char *end = strchr (l, ']');
          in_group = end && (gsize) (end - l - 1) == strlen (group)
                     && strncmp (l + 1, group, end - l - 1) == 0;
          if (in_group && !key)
            return i + 1;
          continue;
        }
      if (!in_group || !key)
        continue;
      gsize klen = strlen (key);
      if (strncmp (l, key, klen) == 0)
        {
          const char *r = l + klen;
          while (*r == ' ' || *r == '\t')
            r++;
          if (*r == '=')
            return i + 1;
        }
    }
  return 0;
}

static char *
where (const Source *src, const char *group, const char *key)
{
  guint line = find_line (src, group, key);

  return line ? g_strdup_printf ("%s:%u", src->path, line) : g_strdup (src->path);
}

static gboolean G_GNUC_PRINTF (5, 6)
key_error (const Source *src, const char *group, const char *key, GError **error,
           const char *fmt, ...)
{
  g_autofree char *loc = where (src, group, key);
  g_autofree char *reason = NULL;
  va_list ap;

  va_start (ap, fmt);
  reason = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s: [%s] %s: %s", loc, group, key, reason);
  return FALSE;
}

static gboolean
parse_bool (const char *v, gboolean *out)
{
  static const char *const yes[] = { "true", "yes", "on", "1" };
  static const char *const no[] = { "false", "no", "off", "0" };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (v, yes[i]) == 0)
        return *out = TRUE, TRUE;
      if (g_ascii_strcasecmp (v, no[i]) == 0)
        return *out = FALSE, TRUE;
    }
  return FALSE;
}

/* Whole number with an optional binary size suffix when sizes is set. */
static gboolean
parse_number (const char *v, gboolean sizes, guint64 *out)
{
  static const struct
  {
    const char *suffix;
    guint64 mult;
  } units[] = { { "", 1 },     { "k", KIB }, { "kib", KIB }, { "m", MIB },
                { "mib", MIB }, { "g", GIB }, { "gib", GIB } };
  char *end = NULL;
  guint64 n;

  if (!g_ascii_isdigit (*v))
    return FALSE;
  errno = 0;
  n = g_ascii_strtoull (v, &end, 10);
  if (errno)
    return FALSE;
  while (*end == ' ')
    end++;
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      if (g_ascii_strcasecmp (end, units[i].suffix) != 0)
        continue;
      if (i > 0 && !sizes)
        return FALSE;
      if (n > G_MAXUINT64 / units[i].mult)
        return FALSE;
      *out = n * units[i].mult;
      return TRUE;
    }
  return FALSE;
}

static gboolean
header_name_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c);
}

WsbHeaderProblem
wsb_header_check (const char *h)
{
  const char *colon = strchr (h, ':');

  if (!colon || colon == h)
    return WSB_HEADER_MALFORMED;
  for (const char *p = h; p < colon; p++)
    if (!header_name_char (*p))
      return WSB_HEADER_BAD_NAME;
  if (strpbrk (colon, "\r\n") != NULL)
    return WSB_HEADER_LINE_BREAK;
  for (guint i = 0; i < G_N_ELEMENTS (reserved_headers); i++)
    if ((gsize) (colon - h) == strlen (reserved_headers[i])
        && g_ascii_strncasecmp (h, reserved_headers[i], colon - h) == 0)
      return WSB_HEADER_RESERVED;
  return WSB_HEADER_OK;
}

/* Checks one "Name: value" entry without ever putting the value in a message. */
static gboolean
check_header (const char *h, guint index, GString *why)
{
  int name_len = (int) (strchr (h, ':') ? strchr (h, ':') - h : 0);

  switch (wsb_header_check (h))
    {
    case WSB_HEADER_OK:
      return TRUE;
    case WSB_HEADER_MALFORMED:
      g_string_printf (why, "entry %u is not of the form 'Name: value'", index);
      break;
    case WSB_HEADER_BAD_NAME:
      g_string_printf (why, "entry %u has an invalid character in its name", index);
      break;
    case WSB_HEADER_LINE_BREAK:
      g_string_printf (why, "entry %u has a line break in its value", index);
      break;
    case WSB_HEADER_RESERVED:
      g_string_printf (why, "entry %u: header '%.*s' is set by wsbridge itself%s", index, name_len,
                       h,
                       g_ascii_strncasecmp (h, "origin", 6) == 0 ? " (use the origin key)"
                       : g_ascii_strncasecmp (h, "sec-websocket-protocol", 22) == 0
                           ? " (use the subprotocols key)"
                           : "");
      break;
    }
  return FALSE;
}

static gboolean
check_url (const char *v, GString *why)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GUri) uri = g_uri_parse (v, G_URI_FLAGS_NONE, &err);
  const char *scheme;

  if (!uri)
    {
      g_string_printf (why, "not a valid URL: %s", err->message);
      return FALSE;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "ws") != 0 && g_ascii_strcasecmp (scheme, "wss") != 0)
    {
      g_string_printf (why, "scheme must be ws:// or wss://, not %s://", scheme);
      return FALSE;
    }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri))
    {
      g_string_assign (why, "the URL has no host");
      return FALSE;
    }
  if (g_uri_get_userinfo (uri))
    {
      g_string_assign (why, "credentials in the URL are not supported (use headers)");
      return FALSE;
    }
  if (g_uri_get_fragment (uri))
    {
      g_string_assign (why, "a WebSocket URL cannot have a #fragment");
      return FALSE;
    }
  {
    const char *query = g_uri_get_query (uri);
    gsize path_len = strlen (g_uri_get_path (uri)) + (query ? 1 + strlen (query) : 0);

    if (path_len > WSB_URL_PATH_MAX)
      {
        g_string_printf (why, "path of %" G_GSIZE_FORMAT " bytes is longer than the %d the "
                         "connection can send",
                         path_len, WSB_URL_PATH_MAX);
        return FALSE;
      }
  }
  return TRUE;
}

static gboolean
check_value (KeyType type, const char *v, GString *why)
{
  switch (type)
    {
    case KEY_URL:
      return check_url (v, why);
    case KEY_PATH:
      if (g_path_is_absolute (v))
        return TRUE;
      g_string_assign (why, "must be an absolute file name");
      return FALSE;
    case KEY_COMMAND:
      {
        g_auto (GStrv) argv = NULL;
        if (g_shell_parse_argv (v, NULL, &argv, NULL))
          return TRUE;
        g_string_assign (why, "not a valid command line (check the quoting)");
        return FALSE;
      }
    case KEY_PROXY:
      {
        g_autoptr (GUri) uri = NULL;
        if (g_ascii_strcasecmp (v, "none") == 0)
          return TRUE;
        uri = g_uri_parse (v, G_URI_FLAGS_HAS_PASSWORD, NULL);
        if (uri && g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0 && g_uri_get_host (uri)
            && *g_uri_get_host (uri) && g_uri_get_port (uri) > 0
            && (!*g_uri_get_path (uri) || strcmp (g_uri_get_path (uri), "/") == 0))
          return TRUE;
        /* The value may carry a password: say what is wrong without it. */
        g_string_assign (why, "must be http://[user:password@]host:port or none");
        return FALSE;
      }
    case KEY_POINTER:
    case KEY_TEMPLATE:
      {
        g_autoptr (GError) err = NULL;
        if (type == KEY_POINTER ? wsb_json_pointer_check (v, &err) : wsb_template_check (v, &err))
          return TRUE;
        g_string_assign (why, err->message);
        return FALSE;
      }
    case KEY_POLICY:
      if (g_str_equal (v, "drop-oldest") || g_str_equal (v, "disconnect"))
        return TRUE;
      g_string_printf (why, "must be drop-oldest or disconnect, not '%s'", v);
      return FALSE;
    default:
      return TRUE;
    }
}

static gboolean
check_pin (const char *pin, guint index, GString *why)
{
  gsize len = 0;
  g_autofree guchar *raw = NULL;

  if (strlen (pin) != 44)
    {
      g_string_printf (why, "entry %u is not a base64 SHA-256 digest (44 characters)", index);
      return FALSE;
    }
  raw = g_base64_decode (pin, &len);
  if (len != 32)
    {
      g_string_printf (why, "entry %u does not decode to 32 bytes", index);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_list_entry (KeyType type, const char *v, guint index, GString *why)
{
  g_autoptr (GError) err = NULL;

  switch (type)
    {
    case KEY_STRV:
      if (*v && !strpbrk (v, ", \t\r\n"))
        return TRUE;
      g_string_printf (why, "entry %u must be a non-empty token", index);
      return FALSE;
    case KEY_CHANNELS:
      if (wsb_channel_name_check (v, strlen (v), &err))
        return TRUE;
      g_string_printf (why, "entry %u: %s", index, err->message);
      return FALSE;
    case KEY_FRAMES:
      if (*v && g_utf8_validate (v, -1, NULL))
        return TRUE;
      g_string_printf (why, "entry %u must be a non-empty UTF-8 text frame", index);
      return FALSE;
    case KEY_HEADERS:
      return check_header (v, index, why);
    case KEY_PINS:
      return check_pin (v, index, why);
    default:
      return TRUE;
    }
}

static void
free_field (const KeyDef *k, gpointer base)
{
  gpointer field = G_STRUCT_MEMBER_P (base, k->offset);

  switch (storage (k->type))
    {
    case STORE_TEXT:
      g_clear_pointer ((char **) field, g_free);
      break;
    case STORE_LIST:
      g_clear_pointer ((char ***) field, g_strfreev);
      break;
    default:
      break;
    }
}

/* Any file name key may start with ${CREDENTIALS_DIRECTORY}/, the
 * directory of the service's systemd credentials (LoadCredential=), which
 * is only known when the daemon runs. */
#define CREDENTIALS_PREFIX "${CREDENTIALS_DIRECTORY}/"

static gboolean
expand_credentials (char **path, GString *why)
{
  const char *dir = g_getenv ("CREDENTIALS_DIRECTORY");
  const char *name;
  char *expanded;

  if (!g_str_has_prefix (*path, CREDENTIALS_PREFIX))
    return TRUE;
  name = *path + strlen (CREDENTIALS_PREFIX);
  if (!*name || strchr (name, '/') || g_str_equal (name, ".") || g_str_equal (name, ".."))
    {
      g_string_assign (why, "a credential name (one file name) must follow "
                            "${CREDENTIALS_DIRECTORY}/");
      return FALSE;
    }
  if (!dir || !g_path_is_absolute (dir))
    {
      g_string_assign (why, "CREDENTIALS_DIRECTORY is not set: wsbridged was not started by "
                            "systemd with LoadCredential= or SetCredential=");
      return FALSE;
    }
  expanded = g_build_filename (dir, name, NULL);
  g_free (*path);
  *path = expanded;
  return TRUE;
}

/* Sets one field from its raw text. why gets the reason on failure. */
static gboolean
set_field (const KeyDef *k, gpointer base, GKeyFile *kf, const char *group, const char *raw,
           GString *why)
{
  gpointer field = G_STRUCT_MEMBER_P (base, k->offset);
  g_autoptr (GError) err = NULL;
  guint64 n = 0;

  switch (storage (k->type))
    {
    case STORE_BOOL:
      if (!parse_bool (raw, (gboolean *) field))
        {
          g_string_printf (why, "expected a boolean (true/false, yes/no, on/off or 1/0), got "
                           "'%s'",
                           raw);
          return FALSE;
        }
      return TRUE;
    case STORE_NUMBER:
      if (!parse_number (raw, k->type == KEY_SIZE, &n))
        {
          g_string_printf (why, "expected %s, got '%s'",
                           k->type == KEY_SIZE ? "a size (e.g. 65536, 64K, 16MiB)"
                                               : "a whole number",
                           raw);
          return FALSE;
        }
      if (n < k->min || n > k->max)
        {
          g_string_printf (why, "%" G_GUINT64_FORMAT " is out of range (%" G_GUINT64_FORMAT
                                "..%" G_GUINT64_FORMAT ")",
                           n, k->min, k->max);
          return FALSE;
        }
      *(guint64 *) field = n;
      return TRUE;
    case STORE_TEXT:
      {
        g_autofree char *s = kf ? g_key_file_get_string (kf, group, k->name, &err)
                                : g_strdup (raw);
        /* GLib returns the value and an error for a bad escape ("\\q"). */
        if (!s || err)
          {
            g_string_printf (why, "%s", err ? err->message : "not a valid value");
            return FALSE;
          }
        if (k->type == KEY_PATH && !expand_credentials (&s, why))
          return FALSE;
        if (!check_value (k->type, s, why))
          return FALSE;
        free_field (k, base);
        *(char **) field = g_steal_pointer (&s);
        return TRUE;
      }
    case STORE_LIST:
      {
        g_auto (GStrv) list = kf ? g_key_file_get_string_list (kf, group, k->name, NULL, &err)
                                 : g_strsplit (raw, ";", -1);
        if (!list)
          {
            g_string_assign (why, "not a valid list");
            return FALSE;
          }
        for (guint i = 0; list[i]; i++)
          {
            /* Frames are taken as written. */
            if (k->type != KEY_FRAMES)
              g_strstrip (list[i]);
            if (!check_list_entry (k->type, list[i], i + 1, why))
              return FALSE;
          }
        free_field (k, base);
        *(char ***) field = g_steal_pointer (&list);
        return TRUE;
      }
    }
  g_assert_not_reached ();
}

static void
set_defaults (const KeyDef *keys, gsize n, gpointer base)
{
  g_autoptr (GString) why = g_string_new (NULL);

  for (gsize i = 0; i < n; i++)
    if (keys[i].default_value)
      {
        gboolean ok = set_field (&keys[i], base, NULL, NULL, keys[i].default_value, why);
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
    free_field (&session_keys[i], sc);
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
      switch (storage (session_keys[i].type))
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
      switch (storage (keys[i].type))
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
    free_field (&daemon_keys[i], &cfg->daemon);
  g_free (cfg);
}

/* ---------------------------------------------------------------- parsing */

static const KeyDef *
lookup_key (const KeyDef *keys, gsize n, const char *name)
{
  for (gsize i = 0; i < n; i++)
    if (strcmp (keys[i].name, name) == 0)
      return &keys[i];
  return NULL;
}

/* The known key an unknown one was probably meant to be, or NULL. */
static const char *
closest_key (const KeyDef *keys, gsize n, const char *name)
{
  g_autofree const char **names = g_new0 (const char *, n + 1);

  for (gsize i = 0; i < n; i++)
    names[i] = keys[i].name;
  return wsb_suggest (name, names);
}

static gboolean
apply_group (const Source *src, GKeyFile *kf, const char *group, const KeyDef *keys, gsize n,
             gpointer base, WsbConfig *cfg, GError **error)
{
  g_auto (GStrv) names = g_key_file_get_keys (kf, group, NULL, NULL);
  g_autoptr (GString) why = g_string_new (NULL);

  for (guint i = 0; names && names[i]; i++)
    {
      const KeyDef *k = lookup_key (keys, n, names[i]);
      g_autofree char *raw = g_key_file_get_value (kf, group, names[i], NULL);
      if (!k)
        {
          g_autofree char *loc = where (src, group, names[i]);
          const char *guess = closest_key (keys, n, names[i]);
          g_autofree char *hint = guess ? g_strdup_printf (" (did you mean '%s'?)", guess) : NULL;
          g_ptr_array_add (cfg->warnings,
                           g_strdup_printf ("%s: unknown key '%s' in [%s] ignored%s", loc,
                                            names[i], group, hint ? hint : ""));
          continue;
        }
      if (!set_field (k, base, kf, group, raw, why))
        return key_error (src, group, names[i], error, "%s", why->str);
    }
  return TRUE;
}

static gboolean
check_session (const Source *src, const char *group, WsbSessionConfig *sc, GError **error)
{
  if (!sc->url)
    return key_error (src, group, "url", error, "missing (every session needs a url)");
  if (!sc->tls_cert_file != !sc->tls_key_file)
    return key_error (src, group, sc->tls_cert_file ? "tls_key_file" : "tls_cert_file", error,
                      "missing (tls_cert_file and tls_key_file go together)");
  if (sc->backoff_max_ms < sc->backoff_initial_ms)
    return key_error (src, group, "backoff_max_ms", error,
                      "%" G_GUINT64_FORMAT " is smaller than backoff_initial_ms (%" G_GUINT64_FORMAT
                      ")",
                      sc->backoff_max_ms, sc->backoff_initial_ms);
  return TRUE;
}

static gboolean
add_session (WsbConfig *cfg, const Source *src, GKeyFile *kf, const char *group,
             const char *name, GError **error)
{
  g_autoptr (WsbSessionConfig) sc = NULL;

  if (!wsb_session_name_is_valid (name))
    {
      g_autofree char *loc = where (src, group, NULL);
      g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                   "%s: [%s]: invalid session name '%s' (use 1-64 of a-z 0-9 _ . -, "
                   "starting with a letter or digit)",
                   loc, group, name);
      return FALSE;
    }
  for (guint i = 0; i < cfg->sessions->len; i++)
    {
      WsbSessionConfig *other = g_ptr_array_index (cfg->sessions, i);
      if (strcmp (other->name, name) == 0)
        {
          g_autofree char *loc = where (src, group, NULL);
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                       "%s: [%s]: session '%s' is already defined in %s", loc, group, name,
                       other->source);
          return FALSE;
        }
    }
  sc = wsb_session_config_new_default (name);
  sc->source = g_strdup (src->path);
  if (!apply_group (src, kf, group, session_keys, G_N_ELEMENTS (session_keys), sc, cfg, error)
      || !check_session (src, group, sc, error))
    return FALSE;
  g_ptr_array_add (cfg->sessions, g_steal_pointer (&sc));
  return TRUE;
}

/* GKeyFile's own parse errors quote the offending line, which may hold a
 * secret header, and give no line number; find the line and say what is
 * wrong with it instead. */
static void
syntax_error (const Source *src, GError **error)
{
  g_auto (GStrv) lines = NULL;
  gboolean in_group = FALSE;

  if (memchr (src->text, '\0', src->len))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s: contains a NUL byte (not a text file?)",
                   src->path);
      return;
    }
  lines = g_strsplit (src->text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *why = NULL;
      char *l = g_strstrip (lines[i]);

      if (!g_utf8_validate (l, -1, NULL))
        why = "not valid UTF-8";
      else if (!*l || *l == '#')
        continue;
      else if (*l == '[' && l[strlen (l) - 1] != ']')
        why = "unclosed group header (a [group] line must end with ']')";
      else if (*l == '[')
        in_group = TRUE;
      else if (!strchr (l, '='))
        why = "not a key=value pair, [group] or comment";
      else if (!in_group)
        why = "key outside any [group] (put it under [daemon] or a [session NAME] group)";
      if (why)
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s:%u: %s", src->path, i + 1, why);
          return;
        }
    }
  g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s: syntax error", src->path);
}

/* GKeyFile silently merges a group that appears twice; refuse it instead. */
static gboolean
check_duplicate_groups (const Source *src, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (src->text, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; lines[i]; i++)
    {
      const char *l = g_strstrip (lines[i]);
      const char *end = strchr (l, ']');
      if (*l != '[' || !end)
        continue;
      char *group = g_strndup (l + 1, end - l - 1);
      if (g_hash_table_contains (seen, group))
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                       "%s:%u: [%s] appears twice in this file", src->path, i + 1, group);
          g_free (group);
          return FALSE;
        }
      g_hash_table_add (seen, group);
    }
  return TRUE;
}

gboolean
wsb_config_parse_text (WsbConfig *cfg, const char *path, const char *text, gsize len,
                       const char *default_session, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_auto (GStrv) groups = NULL;
  g_autofree char *copy = g_strndup (text, len);
  Source src = { path, copy, len };

  if (memchr (text, '\0', len) || !g_key_file_load_from_data (kf, text, len, G_KEY_FILE_NONE, NULL))
    {
      syntax_error (&src, error);
      return FALSE;
    }
  if (!check_duplicate_groups (&src, error))
    return FALSE;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      const char *g = groups[i];
      if (strcmp (g, "daemon") == 0 && !default_session)
        {
          if (!apply_group (&src, kf, g, daemon_keys, G_N_ELEMENTS (daemon_keys), &cfg->daemon,
                            cfg, error))
            return FALSE;
        }
      else if (g_str_has_prefix (g, "session ") && g[8])
        {
          if (!add_session (cfg, &src, kf, g, g + 8, error))
            return FALSE;
        }
      else if (strcmp (g, "session") == 0 && default_session)
        {
          if (!add_session (cfg, &src, kf, g, default_session, error))
            return FALSE;
        }
      else
        {
          g_autofree char *loc = where (&src, g, NULL);
          g_ptr_array_add (cfg->warnings,
                           g_strdup_printf ("%s: unknown group [%s] ignored%s", loc, g,
                                            strcmp (g, "session") == 0
                                                ? " (a bare [session] group belongs in "
                                                  "sessions.d/NAME.conf)"
                                                : ""));
        }
    }
  return TRUE;
}

static gboolean
parse_file (WsbConfig *cfg, const char *path, const char *default_session, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) err = NULL;

  if (!g_file_get_contents (path, &text, &len, &err))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG, "%s", err->message);
      return FALSE;
    }
  return wsb_config_parse_text (cfg, path, text, len, default_session, error);
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  const WsbSessionConfig *sa = *(WsbSessionConfig *const *) a;
  const WsbSessionConfig *sb = *(WsbSessionConfig *const *) b;

  return strcmp (sa->name, sb->name);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

WsbConfig *
wsb_config_load_dir (const char *dir, GError **error)
{
  g_autoptr (WsbConfig) cfg = wsb_config_new ();
  g_autofree char *main_file = g_build_filename (dir, "wsbridge.conf", NULL);
  g_autofree char *sessions_dir = g_build_filename (dir, "sessions.d", NULL);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = NULL;
  const char *entry;

  if (g_file_test (main_file, G_FILE_TEST_EXISTS) && !parse_file (cfg, main_file, NULL, error))
    return NULL;

  d = g_dir_open (sessions_dir, 0, NULL);
  while (d && (entry = g_dir_read_name (d)))
    if (g_str_has_suffix (entry, ".conf") && entry[0] != '.')
      g_ptr_array_add (files, g_strdup (entry));
  g_ptr_array_sort (files, compare_strings);

  for (guint i = 0; i < files->len; i++)
    {
      const char *fname = g_ptr_array_index (files, i);
      g_autofree char *path = g_build_filename (sessions_dir, fname, NULL);
      g_autofree char *base = g_strndup (fname, strlen (fname) - strlen (".conf"));
      if (!wsb_session_name_is_valid (base))
        {
          g_set_error (error, WSB_ERROR, WSB_ERROR_CONFIG,
                       "%s: the file name must be a valid session name followed by .conf", path);
          return NULL;
        }
      if (!parse_file (cfg, path, base, error))
        return NULL;
    }
  g_ptr_array_sort (cfg->sessions, compare_names);
  return g_steal_pointer (&cfg);
}
