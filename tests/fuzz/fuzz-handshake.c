/* Fuzz target: the server's answer to the upgrade (and a proxy's answer to
 * CONNECT): ws-handshake.c's reply parser and checks, then the
 * permessage-deflate negotiation of whatever Sec-WebSocket-Extensions it
 * accepts. Findings: a crash, a sanitizer report, a leak, a prefix of a
 * complete reply that parses differently, a head longer than the input or
 * than the limit, a failure without a reason. */
#include <stdint.h>
#include <string.h>

#include "ws-deflate.h"
#include "ws-handshake.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  WsbHttpReply r = { 0 };
  char *why = NULL;
  WsbHttpParse p = wsb_http_reply_parse (data, size, &r, &why);

  if (p == WSB_HTTP_PARSE_ERROR)
    {
      g_assert_nonnull (why);
      g_assert_true (*why);
      g_free (why);
      return 0;
    }
  if (p == WSB_HTTP_PARSE_MORE)
    return 0;
  g_assert_true (r.header_bytes <= size && r.header_bytes <= WSB_HTTP_REPLY_MAX_BYTES);
  /* Any longer input with the same head gives the same head. */
  {
    WsbHttpReply again = { 0 };
    char *why2 = NULL;
    g_assert_cmpint (wsb_http_reply_parse (data, r.header_bytes, &again, &why2), ==,
                     WSB_HTTP_PARSE_DONE);
    g_assert_cmpuint (again.status, ==, r.status);
    g_assert_cmpuint (again.names->len, ==, r.names->len);
    wsb_http_reply_clear (&again);
  }
  {
    g_autofree char *protocol = NULL;
    g_autofree char *extensions = NULL;
    g_autofree char *refused = wsb_proxy_reply_check (&r);
    gboolean ok = wsb_ws_reply_check (&r, KEY, "a, b", &protocol, &extensions, &why);

    g_assert_true (ok || (why && *why));
    g_clear_pointer (&why, g_free);
    if (ok)
      {
        WsbDeflateParams params;
        gboolean on;

        if (!wsb_deflate_params_parse (extensions, TRUE, &on, &params, &why))
          g_assert_true (why && *why);
        else if (on)
          {
            g_assert_true (params.server_max_window_bits >= 8
                           && params.server_max_window_bits <= 15);
            wsb_deflater_free (wsb_deflater_new (&params));
            wsb_inflater_free (wsb_inflater_new (&params));
          }
        g_free (why);
      }
  }
  wsb_http_reply_clear (&r);
  return 0;
}
