#include "ws-url.h"

#include <arpa/inet.h>
#include <string.h>

void
wsb_ws_url_clear (WsbWsUrl *url)
{
  g_clear_pointer (&url->host, g_free);
  g_clear_pointer (&url->host_header, g_free);
  g_clear_pointer (&url->connect_target, g_free);
  g_clear_pointer (&url->target, g_free);
}

/* How a byte is named in a reason (it may be anything: never print it raw). */
static char *
describe_byte (guchar c)
{
  if (c == 0)
    return g_strdup ("a NUL byte");
  if (c == ' ')
    return g_strdup ("a space");
  if (c < 0x20 || c == 0x7f)
    return g_strdup_printf ("the control byte 0x%02X", c);
  if (c >= 0x80)
    return g_strdup_printf ("the non-ASCII byte 0x%02X", c);
  return g_strdup_printf ("'%c'", c);
}

static gboolean
fail_at (char **why, const char *part, const char *text, const char *at, const char *tail)
{
  g_autofree char *byte = describe_byte ((guchar) *at);

  *why = g_strdup_printf ("the URL's %s has %s at position %" G_GSIZE_FORMAT "%s", part, byte,
                          (gsize) (at - text) + 1, tail ? tail : "");
  return FALSE;
}

/* Bytes that can never go on the wire as written: CTLs, space, DEL, non-ASCII. */
static gboolean
is_wire_byte (guchar c)
{
  return c > 0x20 && c < 0x7f;
}

static gboolean
parse_port (const char *text, const char *p, const char *end, guint16 *port, char **why)
{
  guint value = 0;

  if (p == end)
    return TRUE; /* "host:" keeps the default port (RFC 3986 §3.2.3) */
  for (const char *q = p; q < end; q++)
    {
      if (!g_ascii_isdigit (*q))
        return fail_at (why, "port", text, q, NULL);
      value = MIN (value * 10 + (guint) (*q - '0'), 100000u);
    }
  if (value == 0)
    {
      *why = g_strdup_printf ("the URL's port at position %" G_GSIZE_FORMAT
                              " is 0, which cannot be connected to",
                              (gsize) (p - text) + 1);
      return FALSE;
    }
  if (value > 65535)
    {
      *why = g_strdup_printf ("the URL's port at position %" G_GSIZE_FORMAT " is over 65535",
                              (gsize) (p - text) + 1);
      return FALSE;
    }
  *port = (guint16) value;
  return TRUE;
}

/* [IPv6] at p (which is '['), up to end; sets *host and *after (past ']'). */
static gboolean
parse_ipv6 (const char *text, const char *p, const char *end, char **host, const char **after,
            char **why)
{
  const char *close = memchr (p, ']', (gsize) (end - p));
  const char *zone = memchr (p, '%', (gsize) ((close ? close : end) - p));
  g_autofree char *addr = NULL;
  struct in6_addr a6;

  if (zone)
    {
      *why = g_strdup_printf (
          "the URL's host has an IPv6 zone id (%%25…) at position %" G_GSIZE_FORMAT
          ", which wsbridge does not support (use a global or ULA address)",
          (gsize) (zone - text) + 1);
      return FALSE;
    }
  if (!close)
    return fail_at (why, "host", text, p, " without a closing ']'");
  addr = g_strndup (p + 1, (gsize) (close - p - 1));
  if (inet_pton (AF_INET6, addr, &a6) != 1)
    {
      *why = g_strdup_printf ("the URL's host at position %" G_GSIZE_FORMAT
                              " is in brackets but is not an IPv6 address",
                              (gsize) (p - text) + 1);
      return FALSE;
    }
  *host = g_steal_pointer (&addr);
  *after = close + 1;
  return TRUE;
}

/* A DNS name or an IPv4 address: letters, digits, '-', '.', '_'. */
static gboolean
parse_name (const char *text, const char *p, const char *end, char **host, const char **after,
            char **why)
{
  const char *q = p;

  for (; q < end && *q != ':'; q++)
    {
      if (*q == '%')
        return fail_at (why, "host", text, q,
                        " (percent-encoding in a host name is not supported)");
      if (!g_ascii_isalnum (*q) && *q != '-' && *q != '.' && *q != '_')
        return fail_at (why, "host", text, q, ", which a host name cannot have");
    }
  if (q == p)
    {
      *why = g_strdup ("the URL has no host");
      return FALSE;
    }
  *host = g_strndup (p, (gsize) (q - p));
  *after = q;
  return TRUE;
}

static gboolean
parse_authority (const char *text, const char *p, const char *end, WsbWsUrl *url, char **why)
{
  const char *after = NULL;
  guint16 default_port = url->tls ? 443 : 80;
  gboolean v6 = p < end && *p == '[';
  g_autofree char *bracketed = NULL;

  for (const char *q = p; q < end; q++)
    if (!is_wire_byte ((guchar) *q))
      return fail_at (why, "host", text, q, NULL);
  if (memchr (p, '@', (gsize) (end - p)))
    {
      *why = g_strdup ("credentials in the URL are not supported (use headers)");
      return FALSE;
    }
  if (p == end)
    {
      *why = g_strdup ("the URL has no host");
      return FALSE;
    }
  if (!(v6 ? parse_ipv6 (text, p, end, &url->host, &after, why)
           : parse_name (text, p, end, &url->host, &after, why)))
    return FALSE;
  url->port = default_port;
  if (after < end && *after != ':')
    return fail_at (why, "host", text, after, " after the IPv6 address");
  if (after < end && !parse_port (text, after + 1, end, &url->port, why))
    return FALSE;
  bracketed = v6 ? g_strdup_printf ("[%s]", url->host) : g_strdup (url->host);
  url->connect_target = g_strdup_printf ("%s:%u", bracketed, url->port);
  url->host_header
      = url->port == default_port ? g_steal_pointer (&bracketed) : g_strdup (url->connect_target);
  return TRUE;
}

/* Path and query: taken as written, never decoded. */
static gboolean
parse_target (const char *text, const char *p, WsbWsUrl *url, char **why)
{
  const char *query = NULL;

  for (const char *q = p; *q; q++)
    {
      if (*q == '#')
        {
          *why = g_strdup_printf (
              "a WebSocket URL cannot have a #fragment (position %" G_GSIZE_FORMAT ")",
              (gsize) (q - text) + 1);
          return FALSE;
        }
      if (*q == '?' && !query)
        query = q;
      if (!is_wire_byte ((guchar) *q))
        return fail_at (why, query ? "query" : "path", text, q, NULL);
    }
  url->target = *p == '/' ? g_strdup (p) : g_strconcat ("/", p, NULL);
  return TRUE;
}

gboolean
wsb_ws_url_parse (const char *text, WsbWsUrl *url, char **why)
{
  const char *sep = strstr (text, "://");
  const char *authority, *authority_end;
  g_autofree char *scheme = NULL;
  WsbWsUrl out = { 0 };

  if (!sep || sep == text || !g_ascii_isalpha (text[0]))
    goto not_a_url;
  for (const char *q = text; q < sep; q++)
    if (!g_ascii_isalnum (*q) && !strchr ("+-.", *q))
      goto not_a_url;
  scheme = g_strndup (text, (gsize) (sep - text));
  if (g_ascii_strcasecmp (scheme, "ws") != 0 && g_ascii_strcasecmp (scheme, "wss") != 0)
    {
      *why = g_strdup_printf ("scheme must be ws:// or wss://, not %s://", scheme);
      return FALSE;
    }
  out.tls = g_ascii_strcasecmp (scheme, "wss") == 0;
  authority = sep + 3;
  authority_end = authority + strcspn (authority, "/?#");
  if (!parse_authority (text, authority, authority_end, &out, why)
      || !parse_target (text, authority_end, &out, why))
    {
      wsb_ws_url_clear (&out);
      return FALSE;
    }
  *url = out;
  return TRUE;

not_a_url:
  *why = g_strdup ("not a valid URL (expected ws://host[:port]/path or wss://…)");
  return FALSE;
}

char *
wsb_ws_url_target_with (const char *target, const char *name, const char *value)
{
  GString *out = g_string_new (NULL);
  const char *query = strchr (target, '?');
  gsize name_len = strlen (name);
  gboolean any = FALSE;

  g_string_append_len (out, target, query ? query - target : (gssize) strlen (target));
  for (const char *p = query ? query + 1 : NULL; p && *p;)
    {
      gsize len = strcspn (p, "&");

      if (!(len >= name_len && strncmp (p, name, name_len) == 0
            && (len == name_len || p[name_len] == '=')))
        {
          g_string_append_c (out, any ? '&' : '?');
          g_string_append_len (out, p, (gssize) len);
          any = TRUE;
        }
      p += len;
      if (*p == '&')
        p++;
    }
  g_string_append_c (out, any ? '&' : '?');
  g_string_append (out, name);
  g_string_append_c (out, '=');
  g_string_append_uri_escaped (out, value, NULL, FALSE);
  return g_string_free (out, FALSE);
}
