/* permessage-deflate (RFC 7692): the negotiation and the per-connection
 * compressor and decompressor, on zlib. No I/O. */
#pragma once

#include <glib.h>

/* What the client offers in Sec-WebSocket-Extensions. */
#define WSB_DEFLATE_OFFER "permessage-deflate; client_max_window_bits"

typedef struct
{
  gboolean server_no_context_takeover;
  gboolean client_no_context_takeover;
  guint server_max_window_bits; /* 8..15 */
  guint client_max_window_bits; /* 8..15 */
} WsbDeflateParams;

/* Reads the server's Sec-WebSocket-Extensions (NULL: none) in answer to
 * WSB_DEFLATE_OFFER (offered: whether it was sent). *enabled says whether
 * permessage-deflate is in use; FALSE with *why when the answer is not one
 * the offer allows. */
gboolean wsb_deflate_params_parse (const char *header, gboolean offered, gboolean *enabled,
                                   WsbDeflateParams *params, char **why);

typedef enum
{
  WSB_INFLATE_OK,
  WSB_INFLATE_CORRUPT,   /* not a valid deflate stream */
  WSB_INFLATE_TOO_LARGE, /* would decompress to more than the limit */
} WsbInflateResult;

typedef struct _WsbInflater WsbInflater;

WsbInflater *wsb_inflater_new (const WsbDeflateParams *params);
void wsb_inflater_free (WsbInflater *inf);
/* Decompresses one frame's payload of a compressed message, appending to
 * out, which may grow to at most max bytes; final: the last frame (the
 * RFC 7692 tail is added and, with server_no_context_takeover, the window
 * is reset). */
WsbInflateResult wsb_inflater_feed (WsbInflater *inf, const guint8 *in, gsize len, gboolean final,
                                    GByteArray *out, gsize max);

typedef struct _WsbDeflater WsbDeflater;

/* NULL when the parameters forbid compressing what we send with zlib
 * (client_max_window_bits=8); messages then go out uncompressed, which
 * RFC 7692 allows. */
WsbDeflater *wsb_deflater_new (const WsbDeflateParams *params);
void wsb_deflater_free (WsbDeflater *def);
/* Compresses one whole message into out (replacing its content). */
void wsb_deflater_compress (WsbDeflater *def, const guint8 *in, gsize len, GByteArray *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbInflater, wsb_inflater_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbDeflater, wsb_deflater_free)
