#include "client-rx.h"

#include <stdlib.h>
#include <string.h>

bool
wsbc_rx_reserve (WsbcRx *rx, size_t want)
{
  size_t have;
  size_t cap;
  uint8_t *data;

  if (rx->start == rx->end)
    rx->start = rx->end = 0;
  if (rx->cap - rx->end >= want)
    return true;
  have = rx->end - rx->start;
  if (rx->start > 0)
    {
      memmove (rx->data, rx->data + rx->start, have);
      rx->start = 0;
      rx->end = have;
      if (rx->cap - rx->end >= want)
        return true;
    }
  cap = have + want;
  if (cap < WSBC_RX_CHUNK)
    cap = WSBC_RX_CHUNK;
  data = realloc (rx->data, cap);
  if (!data)
    return false;
  rx->data = data;
  rx->cap = cap;
  return true;
}

size_t
wsbc_rx_missing (const WsbcRx *rx, uint64_t max_frame)
{
  size_t prefix_len, body_len;
  size_t have = wsbc_rx_buffered (rx);

  if (have == 0
      || wsb_frame_peek (rx->data + rx->start, have, max_frame, &prefix_len, &body_len)
             != WSB_FRAME_NEED_MORE
      || prefix_len == 0)
    return 1;
  return prefix_len + body_len - have;
}

size_t
wsbc_rx_greedy_size (const WsbcRx *rx, uint64_t max_frame)
{
  size_t missing = wsbc_rx_missing (rx, max_frame);

  return missing > WSBC_RX_CHUNK ? missing : WSBC_RX_CHUNK;
}

WsbFrameStatus
wsbc_rx_take_frame (WsbcRx *rx, uint64_t max_frame, const uint8_t **body, size_t *body_len,
                    uint64_t *announced)
{
  size_t prefix_len;
  size_t used;
  WsbFrameStatus st;

  *body = NULL;
  *body_len = 0;
  *announced = 0;
  if (rx->start == rx->end)
    return WSB_FRAME_NEED_MORE;
  st = wsb_frame_peek (rx->data + rx->start, wsbc_rx_buffered (rx), max_frame, &prefix_len,
                       body_len);
  if (st == WSB_FRAME_TOO_LARGE)
    wsb_varint_decode (rx->data + rx->start, wsbc_rx_buffered (rx), announced, &used);
  if (st != WSB_FRAME_OK)
    {
      *body_len = 0;
      return st;
    }
  *body = rx->data + rx->start + prefix_len;
  rx->start += prefix_len + *body_len;
  return WSB_FRAME_OK;
}

void
wsbc_rx_trim (WsbcRx *rx)
{
  if (rx->cap > WSBC_RX_KEEP && rx->start == rx->end)
    wsbc_rx_clear (rx);
}

void
wsbc_rx_clear (WsbcRx *rx)
{
  free (rx->data);
  rx->data = NULL;
  rx->cap = rx->start = rx->end = 0;
}
