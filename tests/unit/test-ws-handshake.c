#include <string.h>

#include "ws-handshake.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static WsbHttpParse
parse (const char *text, WsbHttpReply *r, char **why)
{
  return wsb_http_reply_parse ((const guint8 *) text, strlen (text), r, why);
}

static void
test_accept_rfc_example (void)
{
  g_autofree char *accept = wsb_ws_accept_for_key (KEY);
  g_autofree char *k1 = wsb_ws_key_new ();
  g_autofree char *k2 = wsb_ws_key_new ();

  g_assert_cmpstr (accept, ==, ACCEPT); /* RFC 6455 §1.3 */
  g_assert_cmpuint (strlen (k1), ==, 24);
  g_assert_cmpstr (k1, !=, k2);
}

static void
test_request (void)
{
  char *headers[] = { "X-A: 1", "Authorization:  Bearer t", NULL };
  WsbWsRequest req = { "/feed?x=1",          "h.example:8080", "https://o", "a, b",
                       "permessage-deflate", headers,          NULL,        KEY };
  char *why = NULL;
  g_autoptr (GString) out = wsb_ws_request_build (&req, &why);

  g_assert_true (g_str_has_prefix (out->str, "GET /feed?x=1 HTTP/1.1\r\nHost: h.example:8080\r\n"));
  g_assert_nonnull (strstr (out->str, "\r\nSec-WebSocket-Key: " KEY "\r\n"));
  g_assert_nonnull (strstr (out->str, "\r\nSec-WebSocket-Version: 13\r\n"));
  g_assert_nonnull (strstr (out->str, "\r\nOrigin: https://o\r\n"));
  g_assert_nonnull (strstr (out->str, "\r\nSec-WebSocket-Protocol: a, b\r\n"));
  g_assert_nonnull (strstr (out->str, "\r\nX-A: 1\r\nAuthorization: Bearer t\r\n"));
  g_assert_true (g_str_has_suffix (out->str, "\r\n\r\n"));
  g_assert_null (why);
}

/* Whatever a caller passes, no field can end or split a line: the request
 * is refused, never sent with the bytes decoded, escaped or dropped. */
static void
test_request_refuses_line_breaks (void)
{
  char *bad_header[] = { "X-A: 1\r\nX-Injected: yes", NULL };
  char *bad_name[] = { "X A: 1", NULL };
  const struct
  {
    WsbWsRequest req;
    const char *why;
  } cases[] = {
    { { "/a\r\nX-Injected: yes", "h", NULL, NULL, NULL, NULL, NULL, KEY }, "request target" },
    { { "/a b", "h", NULL, NULL, NULL, NULL, NULL, KEY }, "request target" },
    { { "/\x80", "h", NULL, NULL, NULL, NULL, NULL, KEY }, "request target" },
    { { "a", "h", NULL, NULL, NULL, NULL, NULL, KEY }, "request target" },
    { { "/", "h\r\nX: y", NULL, NULL, NULL, NULL, NULL, KEY }, "Host value" },
    { { "/", "h", "https://o\r\nX: y", NULL, NULL, NULL, NULL, KEY }, "Origin value" },
    { { "/", "h", "https://o\x01", NULL, NULL, NULL, NULL, KEY }, "Origin value" },
    { { "/", "h", NULL, "a\nb", NULL, NULL, NULL, KEY }, "Sec-WebSocket-Protocol value" },
    { { "/", "h", NULL, NULL, NULL, bad_header, NULL, KEY }, "header entry 1" },
    { { "/", "h", NULL, NULL, NULL, NULL, bad_header, KEY }, "header entry 1" },
    { { "/", "h", NULL, NULL, NULL, bad_name, NULL, KEY }, "header entry 1 has an invalid name" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *why = NULL;
      GString *out = wsb_ws_request_build (&cases[i].req, &why);

      g_assert_null (out);
      g_assert_nonnull (strstr (why, cases[i].why));
    }
}

static void
test_reply_ok_and_incremental (void)
{
  const char *text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
                     "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: " ACCEPT "\r\n"
                     "Sec-WebSocket-Protocol: b\r\n\r\nFRAMES";
  WsbHttpReply r = { 0 };
  char *why = NULL;
  g_autofree char *protocol = NULL;
  g_autofree char *ext = NULL;

  for (gsize n = 0; n < strlen (text) - 6; n++)
    g_assert_cmpint (wsb_http_reply_parse ((const guint8 *) text, n, &r, &why), ==,
                     WSB_HTTP_PARSE_MORE);
  g_assert_cmpint (parse (text, &r, &why), ==, WSB_HTTP_PARSE_DONE);
  g_assert_cmpuint (r.header_bytes, ==, strlen (text) - 6);
  g_assert_true (wsb_ws_reply_check (&r, KEY, "a, b", &protocol, &ext, &why));
  g_assert_cmpstr (protocol, ==, "b");
  g_assert_null (ext);
  wsb_http_reply_clear (&r);
}

static void
expect_check_fails (const char *text, const char *subprotocols, const char *needle)
{
  WsbHttpReply r = { 0 };
  g_autofree char *why = NULL;
  g_autofree char *protocol = NULL;
  g_autofree char *ext = NULL;

  g_assert_cmpint (parse (text, &r, &why), ==, WSB_HTTP_PARSE_DONE);
  g_assert_false (wsb_ws_reply_check (&r, KEY, subprotocols, &protocol, &ext, &why));
  if (!strstr (why, needle))
    g_error ("reason '%s' lacks '%s'", why, needle);
  wsb_http_reply_clear (&r);
}

static void
test_reply_checks (void)
{
  expect_check_fails ("HTTP/1.1 401 Unauthorized\r\n\r\n", NULL, "unauthorized (HTTP 401");
  expect_check_fails ("HTTP/1.1 302 Found\r\nLocation: wss://new/\r\n\r\n", NULL,
                      "redirects to wss://new/");
  expect_check_fails ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", NULL, "plain web server");
  expect_check_fails ("HTTP/1.1 503 Busy\r\n\r\n", NULL, "HTTP 503 (Busy)");
  expect_check_fails ("HTTP/1.1 101 X\r\nConnection: upgrade\r\nSec-WebSocket-Accept: " ACCEPT
                      "\r\n\r\n",
                      NULL, "Upgrade: websocket");
  expect_check_fails ("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " ACCEPT
                      "\r\n\r\n",
                      NULL, "Connection: Upgrade");
  expect_check_fails ("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", NULL,
                      "no Sec-WebSocket-Accept");
  expect_check_fails ("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: AAAA\r\n\r\n",
                      NULL, "does not match our key");
  expect_check_fails ("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: " ACCEPT "\r\nSec-WebSocket-Protocol: c\r\n\r\n",
                      "a, b", "\"c\", which we did not offer");
}

static void
expect_parse_error (const char *text, const char *needle)
{
  WsbHttpReply r = { 0 };
  g_autofree char *why = NULL;

  g_assert_cmpint (parse (text, &r, &why), ==, WSB_HTTP_PARSE_ERROR);
  if (!strstr (why, needle))
    g_error ("reason '%s' lacks '%s'", why, needle);
}

/* RFC 6455 and RFC 9110 where they are strict: each refused with its reason. */
static void
test_reply_strict (void)
{
  static const struct
  {
    const char *head, *needle;
  } refused[] = {
    { "HTTP/1.0 101 Switching Protocols\r\n", "HTTP/1.0 101" },
    { "HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: " ACCEPT "\r\n",
      "Sec-WebSocket-Accept more than once (RFC 6455 §11.3.3)" },
    { "HTTP/1.1 101 OK\r\nSec-WebSocket-Protocol: b\r\nSec-WebSocket-Protocol: b\r\n",
      "Sec-WebSocket-Protocol more than once (RFC 6455 §11.3.4)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *text = g_strconcat (refused[i].head,
                                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                           "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
                                           NULL);
      WsbHttpReply r = { 0 };
      g_autofree char *why = NULL;
      g_autofree char *protocol = NULL;
      g_autofree char *ext = NULL;

      g_assert_cmpint (parse (text, &r, &why), ==, WSB_HTTP_PARSE_DONE);
      g_assert_false (wsb_ws_reply_check (&r, KEY, "b", &protocol, &ext, &why));
      if (!strstr (why, refused[i].needle))
        g_error ("reason '%s' lacks '%s'", why, refused[i].needle);
      wsb_http_reply_clear (&r);
    }
  {
    static const char nul[] = "HTTP/1.1 101 OK\r\nX-A: a\0b\r\n\r\n";
    WsbHttpReply r = { 0 };
    g_autofree char *why = NULL;

    g_assert_cmpint (wsb_http_reply_parse ((const guint8 *) nul, sizeof nul - 1, &r, &why), ==,
                     WSB_HTTP_PARSE_ERROR);
    g_assert_cmpstr (why, ==, "the server's reply has a NUL byte in a header value");
  }
  expect_parse_error ("HTTP/1.1 101 OK\r\nX-A: a\rb\r\n\r\n", "a bare CR in a header value");
}

static void
test_reply_malformed (void)
{
  g_autofree char *endless = NULL;
  GString *big = g_string_new ("HTTP/1.1 101 OK\r\n");

  expect_parse_error ("SSH-2.0-OpenSSH\r\n", "did not answer with HTTP");
  expect_parse_error ("\x16\x03\x01\x02\x05garbage", "did not answer with HTTP");
  expect_parse_error ("HTTP/1.1 1x1 Eh\r\n\r\n", "did not answer with HTTP");
  expect_parse_error ("HTTP/1.1 101 OK\r\n folded\r\n\r\n", "folding");
  expect_parse_error ("HTTP/1.1 101 OK\r\nNo colon here\r\n\r\n", "without a name");
  while (big->len < WSB_HTTP_REPLY_MAX_BYTES + 10)
    g_string_append_printf (big, "X-Padding: %0200d\r\n", 0);
  endless = g_string_free (big, FALSE);
  expect_parse_error (endless, "longer than 16 KiB");
}

static void
test_proxy (void)
{
  char *why = NULL;
  g_autoptr (GString) req = wsb_proxy_request_build ("h:443", "u:p", &why);
  WsbHttpReply r = { 0 };
  g_autofree char *refused = NULL;

  g_assert_cmpstr (req->str, ==,
                   "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n"
                   "Proxy-Authorization: Basic dTpw\r\n\r\n");
  /* An authority that could split the line is refused. */
  g_assert_null (wsb_proxy_request_build ("evil\r\nX-Inj: y:443", NULL, &why));
  g_assert_nonnull (strstr (why, "CONNECT authority"));
  g_clear_pointer (&why, g_free);
  g_assert_null (wsb_proxy_request_build ("a b:443", NULL, &why));
  g_clear_pointer (&why, g_free);
  g_assert_cmpint (parse ("HTTP/1.0 200 Connection established\r\n\r\n", &r, &why), ==,
                   WSB_HTTP_PARSE_DONE);
  g_assert_null (wsb_proxy_reply_check (&r));
  wsb_http_reply_clear (&r);
  g_assert_cmpint (parse ("HTTP/1.1 407 Auth\r\n\r\n", &r, &why), ==, WSB_HTTP_PARSE_DONE);
  refused = wsb_proxy_reply_check (&r);
  g_assert_nonnull (strstr (refused, "HTTP 407"));
  wsb_http_reply_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ws-handshake/accept", test_accept_rfc_example);
  g_test_add_func ("/ws-handshake/request", test_request);
  g_test_add_func ("/ws-handshake/reply-strict", test_reply_strict);
  g_test_add_func ("/ws-handshake/request-refuses-line-breaks", test_request_refuses_line_breaks);
  g_test_add_func ("/ws-handshake/reply-ok", test_reply_ok_and_incremental);
  g_test_add_func ("/ws-handshake/reply-checks", test_reply_checks);
  g_test_add_func ("/ws-handshake/reply-malformed", test_reply_malformed);
  g_test_add_func ("/ws-handshake/proxy", test_proxy);
  return g_test_run ();
}
