/* WebSocket frames (RFC 6455 §5), pure logic: header decoding and
 * encoding, masking, close codes, UTF-8 validation. No I/O. */
#pragma once

#include <glib.h>

enum
{
  WSB_WS_OP_CONTINUATION = 0x0,
  WSB_WS_OP_TEXT = 0x1,
  WSB_WS_OP_BINARY = 0x2,
  WSB_WS_OP_CLOSE = 0x8,
  WSB_WS_OP_PING = 0x9,
  WSB_WS_OP_PONG = 0xa,
};

/* A client frame header is at most this long (2 + 8 length + 4 mask). */
#define WSB_WS_MAX_HEADER 14
/* Control frame payloads are at most this long. */
#define WSB_WS_MAX_CONTROL 125

typedef struct
{
  gboolean fin;
  guint8 rsv; /* the three RSV bits, as 0x40/0x20/0x10 */
  guint8 opcode;
  gboolean masked;
  guint8 mask[4];
  guint64 length;
  gboolean length_too_big; /* the 64-bit length had its top bit set */
} WsbWsFrameHeader;

/* Decodes a frame header from data[0..avail): its length in bytes, or 0
 * when more bytes are needed. */
gsize wsb_ws_frame_header_decode (const guint8 *data, gsize avail, WsbWsFrameHeader *h);

/* Writes a masked client frame header into out (WSB_WS_MAX_HEADER bytes
 * of room); returns its length. rsv1: permessage-deflate's bit. */
gsize wsb_ws_frame_header_encode (guint8 *out, guint8 opcode, gboolean fin, gboolean rsv1,
                                  guint64 length, const guint8 mask[4]);

/* dst[i] = src[i] ^ mask[(offset + i) % 4]; dst may be src. */
void wsb_ws_mask (guint8 *dst, const guint8 *src, gsize len, const guint8 mask[4], guint64 offset);

/* Appends one whole masked frame to out. */
void wsb_ws_frame_append (GByteArray *out, guint8 opcode, gboolean rsv1, const guint8 *payload,
                          gsize len, const guint8 mask[4]);

/* "text", "ping", ... for messages. */
const char *wsb_ws_opcode_name (guint8 opcode);

/* A close code an endpoint may send (RFC 6455 §7.4, IANA registry). */
gboolean wsb_ws_close_code_valid (guint code);

/* Whether s[0..len) is UTF-8 as RFC 3629 defines it (no surrogates, nothing
 * above U+10FFFF, shortest forms); U+0000 is allowed. */
gboolean wsb_utf8_valid (const guint8 *s, gsize len);
/* Whether s[0..len) can still begin valid UTF-8: FALSE as soon as a byte
 * makes that impossible; else *complete is the length of its whole
 * characters (the rest, at most 3 bytes, is a character's valid start).
 * For checking a text message fragment by fragment. */
gboolean wsb_utf8_valid_prefix (const guint8 *s, gsize len, gsize *complete);

/* Fresh random mask keys: a small generator seeded from the system's. */
typedef struct
{
  guint64 state[2];
} WsbWsMaskGen;

void wsb_ws_mask_gen_init (WsbWsMaskGen *g);
void wsb_ws_mask_gen_next (WsbWsMaskGen *g, guint8 mask[4]);
