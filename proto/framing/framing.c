#include "framing.h"

#include <string.h>

enum
{
  WIRE_VARINT = 0,
  WIRE_FIXED64 = 1,
  WIRE_LEN = 2,
};

/* Message field numbers, in wsbridge.proto order. */
enum
{
  MSG_SESSION = 1,
  MSG_CHANNEL = 2,
  MSG_SEQ = 3,
  MSG_EPOCH = 4,
  MSG_TIME_US = 5,
  MSG_BINARY = 6,
  MSG_DATA = 7,
};

#define TAG(field, wire) ((uint8_t) (((field) << 3) | (wire)))

WsbFrameStatus
wsb_varint_decode (const uint8_t *buf, size_t len, uint64_t *value, size_t *used)
{
  uint64_t v = 0;

  for (size_t i = 0; i < WSB_VARINT_MAX; i++)
    {
      if (i == len)
        return WSB_FRAME_NEED_MORE;
      uint8_t b = buf[i];
      /* The tenth byte may only carry the 64th bit. */
      if (i == WSB_VARINT_MAX - 1 && (b & 0xfe))
        return WSB_FRAME_BAD_VARINT;
      v |= (uint64_t) (b & 0x7f) << (7 * i);
      if (!(b & 0x80))
        {
          *value = v;
          *used = i + 1;
          return WSB_FRAME_OK;
        }
    }
  return WSB_FRAME_BAD_VARINT;
}

WsbFrameStatus
wsb_frame_peek (const uint8_t *buf, size_t len, uint64_t max_body, size_t *prefix_len,
                size_t *body_len)
{
  uint64_t announced;
  size_t used;
  WsbFrameStatus st = wsb_varint_decode (buf, len, &announced, &used);

  *prefix_len = 0;
  *body_len = 0;
  if (st != WSB_FRAME_OK)
    return st;
  if (announced > max_body)
    return WSB_FRAME_TOO_LARGE;
  *prefix_len = used;
  *body_len = (size_t) announced;
  return len - used >= announced ? WSB_FRAME_OK : WSB_FRAME_NEED_MORE;
}

size_t
wsb_event_header_encode (uint8_t out[WSB_EVENT_HEADER_MAX], uint64_t subscription_id,
                         unsigned event_field, size_t body_len)
{
  size_t event_len
      = 1 + wsb_varint_size (subscription_id) + 1 + wsb_varint_size (body_len) + body_len;
  size_t frame_len = 1 + wsb_varint_size (event_len) + event_len;
  size_t n = wsb_varint_encode (frame_len, out);

  out[n++] = TAG (WSB_SERVER_FRAME_EVENT, WIRE_LEN);
  n += wsb_varint_encode (event_len, out + n);
  out[n++] = TAG (WSB_EVENT_SUBSCRIPTION_ID, WIRE_VARINT);
  n += wsb_varint_encode (subscription_id, out + n);
  out[n++] = TAG (event_field, WIRE_LEN);
  n += wsb_varint_encode (body_len, out + n);
  return n;
}

static size_t
len_field_size (size_t len)
{
  return 1 + wsb_varint_size (len) + len;
}

size_t
wsb_message_encoded_size (size_t session_len, size_t channel_len, uint64_t seq, int64_t time_us,
                          bool binary, size_t data_len)
{
  return len_field_size (session_len) + len_field_size (channel_len) + 1 + wsb_varint_size (seq) + 1
         + 8 + 1 + wsb_varint_size ((uint64_t) time_us) + (binary ? 2 : 0)
         + len_field_size (data_len);
}

static size_t
put_len_field (uint8_t *out, unsigned field, const void *data, size_t len)
{
  size_t n = 0;

  out[n++] = TAG (field, WIRE_LEN);
  n += wsb_varint_encode (len, out + n);
  if (len)
    memcpy (out + n, data, len);
  return n + len;
}

size_t
wsb_message_head_encode (uint8_t *out, const char *session, size_t session_len, const char *channel,
                         size_t channel_len, uint64_t seq, uint64_t epoch, int64_t time_us,
                         bool binary, size_t data_len)
{
  size_t n = 0;

  n += put_len_field (out + n, MSG_SESSION, session, session_len);
  n += put_len_field (out + n, MSG_CHANNEL, channel, channel_len);
  out[n++] = TAG (MSG_SEQ, WIRE_VARINT);
  n += wsb_varint_encode (seq, out + n);
  out[n++] = TAG (MSG_EPOCH, WIRE_FIXED64);
  for (int i = 0; i < 8; i++)
    out[n++] = (uint8_t) (epoch >> (8 * i));
  out[n++] = TAG (MSG_TIME_US, WIRE_VARINT);
  n += wsb_varint_encode ((uint64_t) time_us, out + n);
  if (binary)
    {
      out[n++] = TAG (MSG_BINARY, WIRE_VARINT);
      out[n++] = 1;
    }
  out[n++] = TAG (MSG_DATA, WIRE_LEN);
  n += wsb_varint_encode (data_len, out + n);
  return n;
}

size_t
wsb_message_encode (uint8_t *out, const char *session, size_t session_len, const char *channel,
                    size_t channel_len, uint64_t seq, uint64_t epoch, int64_t time_us, bool binary,
                    const uint8_t *data, size_t data_len)
{
  size_t n = wsb_message_head_encode (out, session, session_len, channel, channel_len, seq, epoch,
                                      time_us, binary, data_len);

  if (data_len)
    memcpy (out + n, data, data_len);
  return n;
}
