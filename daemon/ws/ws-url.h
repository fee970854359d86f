/* A ws:// or wss:// URL taken apart without decoding anything (RFC 3986,
 * RFC 6455 §3), pure logic, no I/O. What a user wrote is what goes on the
 * wire: the path and query byte for byte (percent-encoding kept), the host
 * as written. A URL that could not go on the wire as written is refused,
 * the reason naming the part and the position (1-based) of the offending
 * byte: a control byte, space, NUL or non-ASCII byte anywhere, a #fragment,
 * userinfo, a host that is not a DNS name or an IP literal (an IPv6 zone id
 * included), port 0 or one over 65535. */
#pragma once

#include <glib.h>

typedef struct
{
  gboolean tls;         /* wss:// */
  char *host;           /* DNS name or IP address (no brackets): resolver, SNI, certificate */
  guint16 port;         /* explicit or the scheme's default */
  char *host_header;    /* Host: host[:port], brackets around IPv6, port only when not default */
  char *connect_target; /* CONNECT authority: host:port, brackets around IPv6 */
  char *target;         /* request target: path and query as written, "/" for an empty path */
} WsbWsUrl;

/* Fills *url, or returns FALSE with *why saying what is wrong (and *url untouched). */
gboolean wsb_ws_url_parse (const char *text, WsbWsUrl *url, char **why);
void wsb_ws_url_clear (WsbWsUrl *url);

/* A request target (url->target) with query parameter name set to value
 * (percent-encoded but for RFC 3986's unreserved bytes): the parameter's
 * other occurrences go, the rest stays as written. */
char *wsb_ws_url_target_with (const char *target, const char *name, const char *value);
