/* The inbound buffer: bytes read from the socket collect in
 * data[start..end), and complete delimited frames are taken from its front.
 * Pure: memory only, no I/O (the reads are client-io.c's). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framing.h"

/* Greedy reads (dispatch/run) ask for at least this much. */
#define WSBC_RX_CHUNK (256 * 1024)
/* An idle buffer larger than this is released after a big frame. */
#define WSBC_RX_KEEP (1024 * 1024)

typedef struct
{
  uint8_t *data;
  size_t cap;
  size_t start;
  size_t end;
} WsbcRx;

static inline size_t
wsbc_rx_buffered (const WsbcRx *rx)
{
  return rx->end - rx->start;
}

/* Makes room for `want` more bytes at data + end, moving the buffered ones
 * to the front first; false when out of memory (the buffer is unchanged). */
bool wsbc_rx_reserve (WsbcRx *rx, size_t want);

/* Bytes still missing to complete the first buffered frame: 1 while the
 * length prefix is incomplete (the frame could be as short as the prefix),
 * or when there is nothing or something invalid buffered. */
size_t wsbc_rx_missing (const WsbcRx *rx, uint64_t max_frame);

/* How much a greedy read asks for: a chunk, or the rest of a big frame. */
size_t wsbc_rx_greedy_size (const WsbcRx *rx, uint64_t max_frame);

/* Takes the first buffered frame off the front. WSB_FRAME_OK: *body and
 * *body_len are its body, valid until the next wsbc_rx_reserve().
 * WSB_FRAME_NEED_MORE: nothing complete (or nothing) is buffered.
 * WSB_FRAME_TOO_LARGE: *body_len is 0 and *announced the length the prefix
 * announced; WSB_FRAME_BAD_VARINT: the prefix is invalid. Nothing is taken
 * unless WSB_FRAME_OK. */
WsbFrameStatus wsbc_rx_take_frame (WsbcRx *rx, uint64_t max_frame, const uint8_t **body,
                                   size_t *body_len, uint64_t *announced);

/* Drops buffer memory held for one big frame once it has been handled. */
void wsbc_rx_trim (WsbcRx *rx);

/* Frees the buffer and forgets what it held. */
void wsbc_rx_clear (WsbcRx *rx);
