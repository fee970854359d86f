/* The HTTP side of a WebSocket client connection (RFC 6455 §4.1), pure
 * logic: the upgrade request, the server's reply and its checks, and the
 * CONNECT request and reply of an HTTP proxy. No I/O. */
#pragma once

#include <glib.h>

/* The handshake reply may be at most this long (status line and headers). */
#define WSB_HTTP_REPLY_MAX_BYTES (16 * 1024)

typedef struct
{
  guint status;       /* e.g. 101 */
  guint minor;        /* HTTP/1.minor */
  char *phrase;       /* reason phrase, sanitised for display */
  GPtrArray *names;   /* lower-case header names, in order */
  GPtrArray *values;  /* their values, trimmed */
  gsize header_bytes; /* length of the whole head, through the blank line */
} WsbHttpReply;

void wsb_http_reply_clear (WsbHttpReply *r);

typedef enum
{
  WSB_HTTP_PARSE_MORE,  /* incomplete: feed more bytes */
  WSB_HTTP_PARSE_DONE,  /* *r is filled; r->header_bytes of data were the head */
  WSB_HTTP_PARSE_ERROR, /* *why says what is wrong */
} WsbHttpParse;

/* Parses an HTTP/1.x response head at the start of data[0..len). */
WsbHttpParse wsb_http_reply_parse (const guint8 *data, gsize len, WsbHttpReply *r, char **why);

/* The value of header name (lower case), the first one; NULL if absent. */
const char *wsb_http_reply_header (const WsbHttpReply *r, const char *name);
/* All values of header name joined with ", " as RFC 9110 allows; NULL if absent. */
char *wsb_http_reply_header_joined (const WsbHttpReply *r, const char *name);

/* A fresh Sec-WebSocket-Key (16 random bytes, base64). */
char *wsb_ws_key_new (void);
/* The Sec-WebSocket-Accept a server must answer to key. */
char *wsb_ws_accept_for_key (const char *key);

typedef struct
{
  const char *path;          /* path and query as written in the URL, at least "/" */
  const char *host_header;   /* Host: value */
  const char *origin;        /* or NULL */
  const char *subprotocols;  /* comma-separated, or NULL */
  const char *extensions;    /* Sec-WebSocket-Extensions offer, or NULL */
  char *const *headers;      /* "Name: value" from the config, or NULL */
  char *const *auth_headers; /* from token_file / auth_command, or NULL */
  const char *key;
} WsbWsRequest;

/* The upgrade request, ready to write; NULL with *why when a field holds a
 * byte that could end or split its line (path and Host: visible ASCII only;
 * header values: no control byte but tab). Nothing is decoded or escaped:
 * the path goes out as given. */
GString *wsb_ws_request_build (const WsbWsRequest *req, char **why);

/* Checks a complete reply against the request: 101, Upgrade, Connection,
 * Sec-WebSocket-Accept, a subprotocol we offered. On success *protocol is
 * the chosen subprotocol (or NULL) and *extensions the server's
 * Sec-WebSocket-Extensions (or NULL), for the caller to check. On failure
 * *why names the problem. */
gboolean wsb_ws_reply_check (const WsbHttpReply *r, const char *key, const char *subprotocols,
                             char **protocol, char **extensions, char **why);

/* CONNECT request for host_port ("host:port", brackets around IPv6) with
 * Basic credentials from userinfo ("user:password", or NULL). */
GString *wsb_proxy_request_build (const char *host_port, const char *userinfo, char **why);
/* NULL when the proxy's reply opens the tunnel, else why not. */
char *wsb_proxy_reply_check (const WsbHttpReply *r);
