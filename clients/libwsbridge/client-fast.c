#include "client-fast.h"

#include <string.h>

/* Field numbers and wire types of wsbridge.proto that the decoder knows. */
enum
{
  WIRE_VARINT = 0,
  WIRE_FIXED64 = 1,
  WIRE_LEN = 2,
};

typedef struct
{
  const uint8_t *p, *end;
} Cursor;

static bool
varint_slow (Cursor *c, uint64_t *v)
{
  uint64_t x = 0;

  for (unsigned shift = 0; shift < 64 && c->p < c->end; shift += 7)
    {
      uint8_t b = *c->p++;
      x |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        {
          /* The tenth byte may only carry the top bit. */
          if (shift == 63 && b > 1)
            return false;
          *v = x;
          return true;
        }
    }
  return false;
}

/* Tags and lengths are one byte: that case inline. */
static inline bool
varint (Cursor *c, uint64_t *v)
{
  if (c->p < c->end && *c->p < 0x80)
    {
      *v = *c->p++;
      return true;
    }
  return varint_slow (c, v);
}

static bool
length_delimited (Cursor *c, const uint8_t **data, size_t *len)
{
  uint64_t n;

  if (!varint (c, &n) || n > (uint64_t) (c->end - c->p))
    return false;
  *data = c->p;
  *len = (size_t) n;
  c->p += n;
  return true;
}

static bool
fixed64 (Cursor *c, uint64_t *v)
{
  uint64_t x = 0;

  if (c->end - c->p < 8)
    return false;
  for (int i = 7; i >= 0; i--)
    x = x << 8 | c->p[i];
  c->p += 8;
  *v = x;
  return true;
}

static bool
decode_message (Cursor c, WsbcFastMessage *m)
{
  while (c.p < c.end)
    {
      uint64_t tag, v;
      bool ok;

      if (!varint (&c, &tag))
        return false;
      switch (tag)
        {
          case 1 << 3 | WIRE_LEN:
            ok = length_delimited (&c, &m->session, &m->session_len);
            break;
          case 2 << 3 | WIRE_LEN:
            ok = length_delimited (&c, &m->channel, &m->channel_len);
            break;
          case 3 << 3 | WIRE_VARINT:
            ok = varint (&c, &m->seq);
            break;
          case 4 << 3 | WIRE_FIXED64:
            ok = fixed64 (&c, &m->epoch);
            break;
          case 5 << 3 | WIRE_VARINT:
            ok = varint (&c, &v);
            m->time_us = (int64_t) v;
            break;
          case 6 << 3 | WIRE_VARINT:
            ok = varint (&c, &v);
            m->binary = v != 0;
            break;
          case 7 << 3 | WIRE_LEN:
            ok = length_delimited (&c, &m->data, &m->data_len);
            break;
          default:
            return false;
        }
      if (!ok)
        return false;
    }
  return true;
}

bool
wsbc_fast_decode_message_event (const uint8_t *body, size_t len, WsbcFastMessage *out)
{
  Cursor frame = { body, body + len };
  const uint8_t *ev = NULL, *msg = NULL;
  size_t ev_len = 0, msg_len = 0;
  uint64_t tag;

  memset (out, 0, sizeof *out);
  /* ServerFrame: exactly one field, `event` (3). */
  if (!varint (&frame, &tag) || tag != (3 << 3 | WIRE_LEN)
      || !length_delimited (&frame, &ev, &ev_len) || frame.p != frame.end)
    return false;
  /* Event: subscription_id (1) and `message` (2), nothing else. */
  Cursor c = { ev, ev + ev_len };
  while (c.p < c.end)
    {
      if (!varint (&c, &tag))
        return false;
      if (tag == (1 << 3 | WIRE_VARINT))
        {
          if (!varint (&c, &out->subscription_id))
            return false;
        }
      else if (tag == (2 << 3 | WIRE_LEN) && !msg)
        {
          /* (Twice, protobuf would merge the two: left to protobuf-c.) */
          if (!length_delimited (&c, &msg, &msg_len))
            return false;
        }
      else
        return false;
    }
  if (!msg)
    return false;
  return decode_message ((Cursor){ msg, msg + msg_len }, out);
}
