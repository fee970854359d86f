/* One configuration value: parsed from its text (booleans, whole numbers,
 * sizes with K/M/G suffixes), checked by its key's type (URLs, headers,
 * file names, commands, pins, proxies, pointers, templates, channels,
 * frames, the slow-client policy) and stored in its struct field. Pure: no
 * I/O (only CREDENTIALS_DIRECTORY is read, from the environment). Reasons
 * never quote a header's value or a proxy's password. */
#include "config-private.h"

#include <errno.h>
#include <string.h>

#include "channel-name.h"
#include "json-pointer.h"
#include "template.h"
#include "ws-url.h"

/* Handshake headers that lws writes itself or that have their own key. */
static const char *const reserved_headers[] = {
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "origin",
  "content-length",
};

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
  } units[] = { { "", 1 },      { "k", KIB }, { "kib", KIB }, { "m", MIB },
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
  for (const char *p = colon + 1; *p; p++)
    if (((guchar) *p < 0x20 && *p != '\t') || *p == 0x7f)
      return WSB_HEADER_CONTROL;
  if (strlen (h) > WSB_HEADER_MAX_BYTES)
    return WSB_HEADER_TOO_LONG;
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
      case WSB_HEADER_CONTROL:
        g_string_printf (why, "entry %u has a control character in its value", index);
        break;
      case WSB_HEADER_TOO_LONG:
        g_string_printf (why,
                         "entry %u is %" G_GSIZE_FORMAT " bytes long, over the %d a header "
                         "may have",
                         index, strlen (h), WSB_HEADER_MAX_BYTES);
        break;
      case WSB_HEADER_RESERVED:
        g_string_printf (why, "entry %u: header '%.*s' is set by wsbridge itself%s", index,
                         name_len, h,
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
  g_autofree char *problem = NULL;
  WsbWsUrl url = { 0 };
  gsize target_len;

  if (!wsb_ws_url_parse (v, &url, &problem))
    {
      g_string_assign (why, problem);
      return FALSE;
    }
  target_len = strlen (url.target);
  wsb_ws_url_clear (&url);
  if (target_len > WSB_URL_PATH_MAX)
    {
      g_string_printf (why,
                       "path of %" G_GSIZE_FORMAT " bytes is longer than the %d the "
                       "connection can send",
                       target_len, WSB_URL_PATH_MAX);
      return FALSE;
    }
  return TRUE;
}

/* A text that goes into a handshake header as written (origin): visible
 * ASCII, spaces and tabs inside, nothing that could end the line. */
static gboolean
check_header_value (const char *v, GString *why)
{
  gsize len = strlen (v);

  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) v[i];

      if ((c < 0x20 && c != '\t') || c == 0x7f || c >= 0x80)
        {
          g_string_printf (why,
                           "%s 0x%02X at position %" G_GSIZE_FORMAT
                           " cannot go into a header (visible ASCII only)",
                           c >= 0x80 ? "the non-ASCII byte" : "the control byte", c, i + 1);
          return FALSE;
        }
    }
  if (len && (g_ascii_isspace (v[0]) || g_ascii_isspace (v[len - 1])))
    {
      g_string_assign (why, "a header value cannot begin or end with a space");
      return FALSE;
    }
  if (len > WSB_HEADER_MAX_BYTES)
    {
      g_string_printf (why, "longer than the %d bytes a header may have", WSB_HEADER_MAX_BYTES);
      return FALSE;
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
      case KEY_STRING:
        return check_header_value (v, why);
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
          if (uri && g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0
              && g_uri_get_host (uri) && *g_uri_get_host (uri) && g_uri_get_port (uri) > 0
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
      case KEY_PARAM:
        for (const char *p = v; *p; p++)
          if (!g_ascii_isalnum (*p) && !strchr ("-._~", *p))
            {
              g_string_printf (why,
                               "must be a query parameter name (letters, digits, - . _ ~); "
                               "byte %d is not",
                               (int) (p - v) + 1);
              return FALSE;
            }
        if (*v)
          return TRUE;
        g_string_assign (why, "must not be empty");
        return FALSE;
      case KEY_MATCH:
        {
          g_autoptr (GError) err = NULL;
          const char *eq = strchr (v, '=');
          g_autofree char *pointer = eq ? g_strndup (v, (gsize) (eq - v)) : NULL;

          if (!eq)
            {
              g_string_assign (why, "must be POINTER=VALUE, e.g. /event=message");
              return FALSE;
            }
          if (wsb_json_pointer_check (pointer, &err))
            return TRUE;
          g_string_printf (why, "the pointer before '=': %s", err->message);
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

void
wsb_config_value_free (const KeyDef *k, gpointer base)
{
  gpointer field = G_STRUCT_MEMBER_P (base, k->offset);

  switch (key_storage (k->type))
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

gboolean
wsb_config_value_set (const KeyDef *k, gpointer base, GKeyFile *kf, const char *group,
                      const char *raw, GString *why)
{
  gpointer field = G_STRUCT_MEMBER_P (base, k->offset);
  g_autoptr (GError) err = NULL;
  guint64 n = 0;

  switch (key_storage (k->type))
    {
      case STORE_BOOL:
        if (!parse_bool (raw, (gboolean *) field))
          {
            g_string_printf (why,
                             "expected a boolean (true/false, yes/no, on/off or 1/0), got "
                             "'%s'",
                             raw);
            return FALSE;
          }
        return TRUE;
      case STORE_NUMBER:
        if (!parse_number (raw, k->type == KEY_SIZE, &n))
          {
            g_string_printf (
                why, "expected %s, got '%s'",
                k->type == KEY_SIZE ? "a size (e.g. 65536, 64K, 16MiB)" : "a whole number", raw);
            return FALSE;
          }
        if (n < k->min || n > k->max)
          {
            g_string_printf (why,
                             "%" G_GUINT64_FORMAT " is out of range (%" G_GUINT64_FORMAT
                             "..%" G_GUINT64_FORMAT ")",
                             n, k->min, k->max);
            return FALSE;
          }
        *(guint64 *) field = n;
        return TRUE;
      case STORE_TEXT:
        {
          g_autofree char *s
              = kf ? g_key_file_get_string (kf, group, k->name, &err) : g_strdup (raw);
          /* GLib returns the value and an error for a bad escape ("\\q"). */
          if (!s || err)
            {
              /* GLib's message quotes the value, which may be a secret. */
              g_string_assign (
                  why, g_error_matches (err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_UNKNOWN_ENCODING)
                               || (raw && !g_utf8_validate (raw, -1, NULL))
                           ? "the value is not valid UTF-8"
                           : "not a valid value (check its backslash escapes)");
              return FALSE;
            }
          if (k->type == KEY_PATH && !expand_credentials (&s, why))
            return FALSE;
          if (!check_value (k->type, s, why))
            return FALSE;
          wsb_config_value_free (k, base);
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
          wsb_config_value_free (k, base);
          *(char ***) field = g_steal_pointer (&list);
          return TRUE;
        }
    }
  g_assert_not_reached ();
}
