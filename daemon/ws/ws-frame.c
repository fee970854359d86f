#include "ws-frame.h"

#include <openssl/rand.h>
#include <string.h>

gsize
wsb_ws_frame_header_decode (const guint8 *data, gsize avail, WsbWsFrameHeader *h)
{
  gsize need = 2;
  guint8 len7;

  if (avail < 2)
    return 0;
  h->fin = (data[0] & 0x80) != 0;
  h->rsv = data[0] & 0x70;
  h->opcode = data[0] & 0x0f;
  h->masked = (data[1] & 0x80) != 0;
  h->length_too_big = FALSE;
  len7 = data[1] & 0x7f;
  need += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  need += h->masked ? 4 : 0;
  if (avail < need)
    return 0;
  if (len7 < 126)
    h->length = len7;
  else if (len7 == 126)
    h->length = (guint64) data[2] << 8 | data[3];
  else
    {
      h->length = 0;
      for (guint i = 0; i < 8; i++)
        h->length = h->length << 8 | data[2 + i];
      h->length_too_big = (data[2] & 0x80) != 0;
    }
  if (h->masked)
    memcpy (h->mask, data + need - 4, 4);
  else
    memset (h->mask, 0, 4);
  return need;
}

gsize
wsb_ws_frame_header_encode (guint8 *out, guint8 opcode, gboolean fin, gboolean rsv1, guint64 length,
                            const guint8 mask[4])
{
  gsize n = 2;

  out[0] = (guint8) ((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f));
  if (length < 126)
    out[1] = (guint8) (0x80 | length);
  else if (length <= 0xffff)
    {
      out[1] = 0x80 | 126;
      out[2] = (guint8) (length >> 8);
      out[3] = (guint8) length;
      n = 4;
    }
  else
    {
      out[1] = 0x80 | 127;
      for (guint i = 0; i < 8; i++)
        out[2 + i] = (guint8) (length >> (56 - 8 * i));
      n = 10;
    }
  memcpy (out + n, mask, 4);
  return n + 4;
}

void
wsb_ws_mask (guint8 *dst, const guint8 *src, gsize len, const guint8 mask[4], guint64 offset)
{
  guint8 m[8];
  guint64 word;
  gsize i = 0;

  for (guint k = 0; k < 8; k++)
    m[k] = mask[(offset + k) & 3];
  memcpy (&word, m, 8);
  for (; i + 8 <= len; i += 8)
    {
      guint64 v;
      memcpy (&v, src + i, 8);
      v ^= word;
      memcpy (dst + i, &v, 8);
    }
  for (; i < len; i++)
    dst[i] = src[i] ^ m[i & 7];
}

void
wsb_ws_frame_append (GByteArray *out, guint8 opcode, gboolean rsv1, const guint8 *payload,
                     gsize len, const guint8 mask[4])
{
  guint8 header[WSB_WS_MAX_HEADER];
  gsize hlen = wsb_ws_frame_header_encode (header, opcode, TRUE, rsv1, len, mask);
  guint start;

  g_byte_array_append (out, header, (guint) hlen);
  start = out->len;
  g_byte_array_set_size (out, (guint) (start + len));
  if (len)
    wsb_ws_mask (out->data + start, payload, len, mask, 0);
}

const char *
wsb_ws_opcode_name (guint8 opcode)
{
  switch (opcode)
    {
      case WSB_WS_OP_CONTINUATION:
        return "continuation";
      case WSB_WS_OP_TEXT:
        return "text";
      case WSB_WS_OP_BINARY:
        return "binary";
      case WSB_WS_OP_CLOSE:
        return "close";
      case WSB_WS_OP_PING:
        return "ping";
      case WSB_WS_OP_PONG:
        return "pong";
      default:
        return "reserved";
    }
}

gboolean
wsb_ws_close_code_valid (guint code)
{
  /* 1004-1006 and 1015 are reserved; 1012-1014 are registered. */
  if (code >= 1000 && code <= 1014)
    return code != 1004 && code != 1005 && code != 1006;
  return code >= 3000 && code <= 4999;
}

gboolean
wsb_utf8_valid (const guint8 *s, gsize n)
{
  gsize i = 0;

  while (i < n)
    {
      guint8 c;

      for (; i + 8 <= n; i += 8)
        {
          guint64 w;
          memcpy (&w, s + i, 8);
          if (w & G_GUINT64_CONSTANT (0x8080808080808080))
            break;
        }
      if (i >= n)
        break;
      c = s[i];
      if (c < 0x80)
        {
          i++;
          continue;
        }
      if (c < 0xc2 || c > 0xf4)
        return FALSE;
      if (c < 0xe0)
        {
          if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80)
            return FALSE;
          i += 2;
          continue;
        }
      if (c < 0xf0)
        {
          if (i + 2 >= n || (s[i + 1] & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80)
            return FALSE;
          if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0))
            return FALSE; /* overlong, or a surrogate */
          i += 3;
          continue;
        }
      if (i + 3 >= n || (s[i + 1] & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80
          || (s[i + 3] & 0xc0) != 0x80)
        return FALSE;
      if ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
        return FALSE; /* overlong, or above U+10FFFF */
      i += 4;
    }
  return TRUE;
}

/* Bytes a sequence starting with lead has; 0 for a byte no sequence starts with. */
static guint
utf8_sequence_length (guint8 lead)
{
  if (lead < 0x80)
    return 1;
  if (lead < 0xc2 || lead > 0xf4)
    return 0;
  return lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/* Whether the truncated sequence s[0..n) (n shorter than its length) can
 * still become a valid character. */
static gboolean
utf8_partial_ok (const guint8 *s, gsize n)
{
  guint8 lo = 0x80, hi = 0xbf;

  if (s[0] == 0xe0)
    lo = 0xa0;
  else if (s[0] == 0xed)
    hi = 0x9f;
  else if (s[0] == 0xf0)
    lo = 0x90;
  else if (s[0] == 0xf4)
    hi = 0x8f;
  if (n >= 2 && (s[1] < lo || s[1] > hi))
    return FALSE;
  return n < 3 || (s[2] & 0xc0) == 0x80;
}

gboolean
wsb_utf8_valid_prefix (const guint8 *s, gsize n, gsize *complete)
{
  gsize start = n;

  /* The last character's lead byte, if it is among the last three bytes
   * and its sequence does not fit. */
  for (gsize back = 1; back <= 3 && back <= n; back++)
    {
      guint8 c = s[n - back];
      guint need;

      if ((c & 0xc0) == 0x80)
        continue;
      need = utf8_sequence_length (c);
      if (need > back)
        start = n - back;
      break;
    }
  if (!wsb_utf8_valid (s, start))
    return FALSE;
  if (start < n && !utf8_partial_ok (s + start, n - start))
    return FALSE;
  *complete = start;
  return TRUE;
}

/* xorshift128+: masking keys need to be unpredictable to web content on
 * the path, not cryptographically strong; the seed is. */
void
wsb_ws_mask_gen_init (WsbWsMaskGen *g)
{
  if (RAND_bytes ((unsigned char *) g->state, sizeof g->state) != 1)
    {
      g->state[0] = (guint64) g_random_int () << 32 | g_random_int ();
      g->state[1] = (guint64) g_random_int () << 32 | g_random_int ();
    }
  if (!g->state[0] && !g->state[1])
    g->state[1] = 1;
}

void
wsb_ws_mask_gen_next (WsbWsMaskGen *g, guint8 mask[4])
{
  guint64 s1 = g->state[0];
  const guint64 s0 = g->state[1];
  guint32 v;

  g->state[0] = s0;
  s1 ^= s1 << 23;
  g->state[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
  v = (guint32) ((g->state[1] + s0) >> 32);
  memcpy (mask, &v, 4);
}
