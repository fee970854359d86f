#include "ws-handshake.h"

#include <openssl/rand.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_HEADERS 128
#define MAX_PHRASE 80

void
wsb_http_reply_clear (WsbHttpReply *r)
{
  g_clear_pointer (&r->phrase, g_free);
  g_clear_pointer (&r->names, g_ptr_array_unref);
  g_clear_pointer (&r->values, g_ptr_array_unref);
  r->status = 0;
  r->minor = 0;
  r->header_bytes = 0;
}

/* Printable ASCII only, at most MAX_PHRASE characters: the text ends up in
 * state reasons and logs. */
static char *
sanitise (const char *s, gsize len)
{
  GString *out = g_string_sized_new (MIN (len, MAX_PHRASE));

  for (gsize i = 0; i < len && out->len < MAX_PHRASE; i++)
    g_string_append_c (out, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
  return g_string_free (out, FALSE);
}

static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || (c && strchr ("!#$%&'*+-.^_`|~", c));
}

/* One "Name: value" line (without its line end). */
static gboolean
parse_header_line (const char *line, gsize len, WsbHttpReply *r, char **why)
{
  const char *colon = memchr (line, ':', len);
  const char *v, *end = line + len;

  if (line[0] == ' ' || line[0] == '\t')
    {
      *why = g_strdup ("the server's reply uses obsolete header line folding");
      return FALSE;
    }
  if (!colon || colon == line)
    {
      *why = g_strdup ("the server's reply has a header line without a name");
      return FALSE;
    }
  for (const char *p = line; p < colon; p++)
    if (!is_token_char (*p))
      {
        *why = g_strdup ("the server's reply has a malformed header name");
        return FALSE;
      }
  if (r->names->len >= MAX_HEADERS)
    {
      *why = g_strdup_printf ("the server's reply has more than %d headers", MAX_HEADERS);
      return FALSE;
    }
  /* RFC 9110 §5.5: a field value never holds NUL, CR or LF (browsers and
   * curl refuse them; they end or split values in other parsers). */
  if (memchr (colon, '\0', (gsize) (end - colon)))
    {
      *why = g_strdup ("the server's reply has a NUL byte in a header value");
      return FALSE;
    }
  if (memchr (colon, '\r', (gsize) (end - colon)))
    {
      *why = g_strdup ("the server's reply has a bare CR in a header value");
      return FALSE;
    }
  v = colon + 1;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  g_ptr_array_add (r->names, g_ascii_strdown (line, colon - line));
  g_ptr_array_add (r->values, g_strndup (v, end - v));
  return TRUE;
}

static gboolean
parse_status_line (const char *line, gsize len, WsbHttpReply *r, char **why)
{
  if (len < 12 || (strncmp (line, "HTTP/1.1 ", 9) != 0 && strncmp (line, "HTTP/1.0 ", 9) != 0)
      || !g_ascii_isdigit (line[9]) || !g_ascii_isdigit (line[10]) || !g_ascii_isdigit (line[11])
      || (len > 12 && line[12] != ' '))
    {
      g_autofree char *shown = sanitise (line, MIN (len, 40));
      *why = g_strdup_printf ("the server did not answer with HTTP (it sent \"%s\")", shown);
      return FALSE;
    }
  r->status = (guint) ((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
  r->minor = line[7] == '1' ? 1 : 0;
  r->phrase = len > 13 ? sanitise (line + 13, len - 13) : g_strdup ("");
  return TRUE;
}

WsbHttpParse
wsb_http_reply_parse (const guint8 *data, gsize len, WsbHttpReply *r, char **why)
{
  const char *text = (const char *) data;
  gsize limit = MIN (len, (gsize) WSB_HTTP_REPLY_MAX_BYTES);
  gsize pos = 0;
  gboolean first = TRUE;

  wsb_http_reply_clear (r);
  r->names = g_ptr_array_new_with_free_func (g_free);
  r->values = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      const char *nl = memchr (text + pos, '\n', limit - pos);
      gsize line_len;

      if (!nl)
        {
          if (len >= WSB_HTTP_REPLY_MAX_BYTES)
            {
              *why = g_strdup_printf ("the server's reply headers are longer than %d KiB",
                                      WSB_HTTP_REPLY_MAX_BYTES / 1024);
              goto fail;
            }
          if (len > 0 && first && len >= 5 && strncmp (text, "HTTP/", 5) != 0)
            {
              parse_status_line (text, MIN (len, 40), r, why);
              goto fail;
            }
          wsb_http_reply_clear (r);
          return WSB_HTTP_PARSE_MORE;
        }
      line_len = (gsize) (nl - (text + pos));
      if (line_len && text[pos + line_len - 1] == '\r')
        line_len--;
      if (first)
        {
          if (!parse_status_line (text + pos, line_len, r, why))
            goto fail;
          first = FALSE;
        }
      else if (line_len == 0)
        {
          r->header_bytes = (gsize) (nl - text) + 1;
          return WSB_HTTP_PARSE_DONE;
        }
      else if (!parse_header_line (text + pos, line_len, r, why))
        goto fail;
      pos = (gsize) (nl - text) + 1;
    }
fail:
  wsb_http_reply_clear (r);
  return WSB_HTTP_PARSE_ERROR;
}

const char *
wsb_http_reply_header (const WsbHttpReply *r, const char *name)
{
  for (guint i = 0; r->names && i < r->names->len; i++)
    if (strcmp (r->names->pdata[i], name) == 0)
      return r->values->pdata[i];
  return NULL;
}

char *
wsb_http_reply_header_joined (const WsbHttpReply *r, const char *name)
{
  GString *out = NULL;

  for (guint i = 0; r->names && i < r->names->len; i++)
    if (strcmp (r->names->pdata[i], name) == 0)
      {
        if (!out)
          out = g_string_new (r->values->pdata[i]);
        else
          g_string_append_printf (out, ", %s", (char *) r->values->pdata[i]);
      }
  return out ? g_string_free (out, FALSE) : NULL;
}

static guint
header_count (const WsbHttpReply *r, const char *name)
{
  guint n = 0;

  for (guint i = 0; r->names && i < r->names->len; i++)
    n += strcmp (r->names->pdata[i], name) == 0;
  return n;
}

/* TRUE when the comma-separated list holds token (case-insensitive). */
static gboolean
list_has_token (const char *list, const char *token)
{
  g_auto (GStrv) items = list ? g_strsplit (list, ",", -1) : NULL;

  for (guint i = 0; items && items[i]; i++)
    if (g_ascii_strcasecmp (g_strstrip (items[i]), token) == 0)
      return TRUE;
  return FALSE;
}

char *
wsb_ws_key_new (void)
{
  guint8 raw[16];

  if (RAND_bytes (raw, sizeof raw) != 1)
    for (guint i = 0; i < sizeof raw; i++)
      raw[i] = (guint8) g_random_int ();
  return g_base64_encode (raw, sizeof raw);
}

char *
wsb_ws_accept_for_key (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) WS_GUID, -1);
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

/* Only bytes that cannot end or split a line go out: a request target or
 * authority is visible ASCII (never a space), a header value anything but
 * a control byte (tab aside). The config checks this already; the builders
 * check again so that no path to the wire depends on every caller. */
static gboolean
wire_ok (const char *s, gboolean is_value)
{
  for (const guchar *p = (const guchar *) s; *p; p++)
    {
      if (is_value ? (*p < 0x20 && *p != '\t') || *p == 0x7f : *p <= 0x20 || *p >= 0x7f)
        return FALSE;
    }
  return TRUE;
}

static gboolean
append_headers (GString *out, char *const *headers, char **why)
{
  for (guint i = 0; headers && headers[i]; i++)
    {
      const char *h = headers[i], *colon = strchr (h, ':');
      const char *value;

      if (!colon)
        continue;
      for (const char *p = h; p < colon; p++)
        if (!is_token_char (*p))
          {
            *why = g_strdup_printf ("header entry %u has an invalid name", i + 1);
            return FALSE;
          }
      value = colon + 1;
      while (*value == ' ' || *value == '\t')
        value++;
      if (!wire_ok (value, TRUE))
        {
          *why = g_strdup_printf ("header entry %u has a control byte in its value", i + 1);
          return FALSE;
        }
      g_string_append_len (out, h, colon - h);
      g_string_append_printf (out, ": %s\r\n", value);
    }
  return TRUE;
}

GString *
wsb_ws_request_build (const WsbWsRequest *req, char **why)
{
  g_autoptr (GString) out = g_string_sized_new (512);
  static const struct
  {
    const char *name;
    gsize offset;
  } values[] = {
    { "Origin", G_STRUCT_OFFSET (WsbWsRequest, origin) },
    { "Sec-WebSocket-Protocol", G_STRUCT_OFFSET (WsbWsRequest, subprotocols) },
    { "Sec-WebSocket-Extensions", G_STRUCT_OFFSET (WsbWsRequest, extensions) },
  };

  if (!wire_ok (req->path, FALSE) || req->path[0] != '/')
    {
      *why = g_strdup ("the request target is not visible ASCII starting with /");
      return NULL;
    }
  if (!wire_ok (req->host_header, FALSE))
    {
      *why = g_strdup ("the Host value is not visible ASCII");
      return NULL;
    }
  g_string_append_printf (out,
                          "GET %s HTTP/1.1\r\n"
                          "Host: %s\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n",
                          req->path, req->host_header, req->key);
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      const char *v = G_STRUCT_MEMBER (const char *, req, values[i].offset);

      if (!v)
        continue;
      if (!wire_ok (v, TRUE))
        {
          *why = g_strdup_printf ("the %s value has a control byte", values[i].name);
          return NULL;
        }
      g_string_append_printf (out, "%s: %s\r\n", values[i].name, v);
    }
  if (!append_headers (out, req->headers, why) || !append_headers (out, req->auth_headers, why))
    return NULL;
  g_string_append (out, "\r\n");
  return g_steal_pointer (&out);
}

static char *
describe_status (const WsbHttpReply *r)
{
  const char *location = wsb_http_reply_header (r, "location");

  if (r->status == 401 || r->status == 403)
    return g_strdup_printf ("unauthorized (HTTP %u during the WebSocket upgrade)", r->status);
  if (r->status >= 300 && r->status < 400 && location)
    {
      g_autofree char *shown = sanitise (location, strlen (location));
      return g_strdup_printf ("HTTP %u during the WebSocket upgrade: the server redirects to "
                              "%s (redirects are not followed; point url there)",
                              r->status, shown);
    }
  if (r->status == 200)
    return g_strdup ("HTTP 200 during the WebSocket upgrade: the server answered as a plain "
                     "web server (is this the WebSocket endpoint?)");
  return *r->phrase
             ? g_strdup_printf ("HTTP %u (%s) during the WebSocket upgrade", r->status, r->phrase)
             : g_strdup_printf ("HTTP %u during the WebSocket upgrade", r->status);
}

gboolean
wsb_ws_reply_check (const WsbHttpReply *r, const char *key, const char *subprotocols,
                    char **protocol, char **extensions, char **why)
{
  g_autofree char *upgrade = wsb_http_reply_header_joined (r, "upgrade");
  g_autofree char *connection = wsb_http_reply_header_joined (r, "connection");
  g_autofree char *expected = NULL;
  const char *accept = wsb_http_reply_header (r, "sec-websocket-accept");
  const char *chosen = wsb_http_reply_header (r, "sec-websocket-protocol");

  *protocol = NULL;
  *extensions = NULL;
  if (r->status != 101)
    {
      *why = describe_status (r);
      return FALSE;
    }
  if (r->minor == 0)
    {
      *why = g_strdup ("the server answered the upgrade with HTTP/1.0 101 (a WebSocket upgrade "
                       "is HTTP/1.1, RFC 6455 §4.1)");
      return FALSE;
    }
  if (header_count (r, "sec-websocket-accept") > 1
      || header_count (r, "sec-websocket-protocol") > 1)
    {
      *why = g_strdup_printf ("the server's 101 reply has %s more than once (RFC 6455 §11.3.%s)",
                              header_count (r, "sec-websocket-accept") > 1
                                  ? "Sec-WebSocket-Accept"
                                  : "Sec-WebSocket-Protocol",
                              header_count (r, "sec-websocket-accept") > 1 ? "3" : "4");
      return FALSE;
    }
  if (!list_has_token (upgrade, "websocket"))
    {
      *why = g_strdup ("the server's 101 reply lacks \"Upgrade: websocket\"");
      return FALSE;
    }
  if (!list_has_token (connection, "upgrade"))
    {
      *why = g_strdup ("the server's 101 reply lacks \"Connection: Upgrade\"");
      return FALSE;
    }
  expected = wsb_ws_accept_for_key (key);
  if (!accept)
    {
      *why = g_strdup ("the server's 101 reply has no Sec-WebSocket-Accept");
      return FALSE;
    }
  if (strcmp (accept, expected) != 0)
    {
      *why = g_strdup ("the server's Sec-WebSocket-Accept does not match our key "
                       "(not a WebSocket server, or a proxy rewrote the handshake)");
      return FALSE;
    }
  if (chosen && !list_has_token (subprotocols, chosen))
    {
      g_autofree char *shown = sanitise (chosen, strlen (chosen));
      *why = subprotocols
                 ? g_strdup_printf ("the server chose subprotocol \"%s\", which we did not offer",
                                    shown)
                 : g_strdup_printf ("the server chose subprotocol \"%s\" although we offered "
                                    "none",
                                    shown);
      return FALSE;
    }
  *protocol = g_strdup (chosen);
  *extensions = wsb_http_reply_header_joined (r, "sec-websocket-extensions");
  return TRUE;
}

GString *
wsb_proxy_request_build (const char *host_port, const char *userinfo, char **why)
{
  GString *out;

  if (!*host_port || !wire_ok (host_port, FALSE))
    {
      *why = g_strdup ("the CONNECT authority is not visible ASCII");
      return NULL;
    }
  out = g_string_new (NULL);

  g_string_append_printf (out, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", host_port, host_port);
  if (userinfo)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) userinfo, strlen (userinfo));
      g_string_append_printf (out, "Proxy-Authorization: Basic %s\r\n", b64);
    }
  g_string_append (out, "\r\n");
  return out;
}

char *
wsb_proxy_reply_check (const WsbHttpReply *r)
{
  if (r->status >= 200 && r->status < 300)
    return NULL;
  if (r->status == 407)
    return g_strdup ("proxy: authentication required (HTTP 407; put user:password in the proxy "
                     "URL)");
  return *r->phrase
             ? g_strdup_printf ("proxy: refused the tunnel (HTTP %u %s)", r->status, r->phrase)
             : g_strdup_printf ("proxy: refused the tunnel (HTTP %u)", r->status);
}
