/* The message events of a subscription, decoded without protobuf-c's
 * generic unpacker (which costs ~2 500 instructions per event, most of a
 * subscriber's time). Pure logic: it reads an encoded ServerFrame and says
 * where each field is; anything it does not expect (another frame kind,
 * an unknown field, a wire type that does not fit) is left to protobuf-c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct
{
  uint64_t subscription_id;
  const uint8_t *session;
  size_t session_len;
  const uint8_t *channel;
  size_t channel_len;
  uint64_t seq;
  uint64_t epoch;
  int64_t time_us;
  bool binary;
  const uint8_t *data;
  size_t data_len;
} WsbcFastMessage;

/* True when body (a ServerFrame) is an Event holding a Message with only
 * the fields this schema version knows; *out then points into body. As
 * protobuf does, a field given twice counts with its last value. */
bool wsbc_fast_decode_message_event (const uint8_t *body, size_t len, WsbcFastMessage *out);
