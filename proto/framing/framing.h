/* Delimited protobuf framing (varint length prefix) and the hand-built
 * encodings of the hot-path events, shared by the daemon and the clients.
 * Pure functions: no I/O, no allocation. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define WSB_VARINT_MAX 10

/* Room for a frame length + Event header + field tag/length of the payload. */
#define WSB_EVENT_HEADER_MAX (WSB_VARINT_MAX * 4 + 3)

typedef enum
{
  WSB_FRAME_OK,         /* a whole frame is in the buffer */
  WSB_FRAME_NEED_MORE,  /* the buffer ends inside the prefix or the frame */
  WSB_FRAME_BAD_VARINT, /* more than 10 bytes, or a value over 64 bits */
  WSB_FRAME_TOO_LARGE,  /* the prefix announces more than the limit */
} WsbFrameStatus;

/* Inline: the fan-out path encodes several varints per message and
 * subscriber. */
static inline size_t
wsb_varint_encode (uint64_t value, uint8_t out[WSB_VARINT_MAX])
{
  size_t n = 0;

  while (value >= 0x80)
    {
      out[n++] = (uint8_t) (value | 0x80);
      value >>= 7;
    }
  out[n++] = (uint8_t) value;
  return n;
}

static inline size_t
wsb_varint_size (uint64_t value)
{
  size_t n = 1;

  while (value >= 0x80)
    {
      value >>= 7;
      n++;
    }
  return n;
}

/* Returns WSB_FRAME_OK (value and *used set), WSB_FRAME_NEED_MORE or
 * WSB_FRAME_BAD_VARINT. */
WsbFrameStatus wsb_varint_decode (const uint8_t *buf, size_t len, uint64_t *value, size_t *used);

/* Looks at the start of buf for one delimited frame. On WSB_FRAME_OK the frame
 * body is buf[*prefix_len .. *prefix_len + *body_len). On WSB_FRAME_NEED_MORE
 * *body_len holds the announced length when the prefix is complete, else 0. */
WsbFrameStatus wsb_frame_peek (const uint8_t *buf, size_t len, uint64_t max_body,
                               size_t *prefix_len, size_t *body_len);

/* Field numbers of ServerFrame and Event used by the hand-built encodings;
 * they must match wsbridge.proto (the unit tests check against protobuf-c). */
enum
{
  WSB_SERVER_FRAME_EVENT = 3,
  WSB_EVENT_SUBSCRIPTION_ID = 1,
  WSB_EVENT_MESSAGE = 2,
  WSB_EVENT_GAP = 3,
  WSB_EVENT_STATE = 4,
};

/* Writes the bytes that precede an already-encoded event body (a Message,
 * Gap or StateChange of body_len bytes) to make a complete delimited
 * ServerFrame { event { subscription_id, <field> = body } }.
 * Returns the header length (at most WSB_EVENT_HEADER_MAX). */
size_t wsb_event_header_encode (uint8_t out[WSB_EVENT_HEADER_MAX], uint64_t subscription_id,
                                unsigned event_field, size_t body_len);

/* Size of an encoded Message with these field sizes. */
size_t wsb_message_encoded_size (size_t session_len, size_t channel_len, uint64_t seq,
                                 int64_t time_us, bool binary, size_t data_len);

/* Encodes a Message's head, every field up to the data bytes (which come
 * right behind it) into out; returns its length, which is
 * wsb_message_encoded_size minus data_len. */
size_t wsb_message_head_encode (uint8_t *out, const char *session, size_t session_len,
                                const char *channel, size_t channel_len, uint64_t seq,
                                uint64_t epoch, int64_t time_us, bool binary, size_t data_len);

/* Encodes a Message into out (wsb_message_encoded_size bytes). Returns the
 * offset of the data bytes within out. */
size_t wsb_message_encode (uint8_t *out, const char *session, size_t session_len,
                           const char *channel, size_t channel_len, uint64_t seq, uint64_t epoch,
                           int64_t time_us, bool binary, const uint8_t *data, size_t data_len);
