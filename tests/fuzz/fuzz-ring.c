/* The shared-memory ring's reader (proto/ring) against anything a writer
 * could leave in the mapping, and the writer and reader against each
 * other. The first byte picks the mode:
 *   even: a hostile ring: the next 32 bytes are the write and tail
 *         positions, the reader's start and its last seq (little endian),
 *         the rest the record area (64 KiB, repeated to fill it); the
 *         reader must return, stay inside the mapping (ASan), and deliver
 *         only records that lie within the run it copied, in rising seqs;
 *   odd:  a script for an honest writer: each 4 bytes a message (channel
 *         length, payload length, how many records the reader lets pass
 *         before reading); the reader must get every message byte for
 *         byte, or be told exactly which seqs it lost. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

#define DATA_BYTES (64u * 1024)

static uint8_t map[WSB_RING_HEADER_BYTES + DATA_BYTES];

static uint64_t
le64 (const uint8_t *p)
{
  uint64_t v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void
hostile (const uint8_t *data, size_t size)
{
  WsbRingWriter w;
  WsbRingReader r;
  WsbRingRecord rec;
  const char *error;
  uint8_t head[32] = { 0 };
  uint64_t last;

  memset (map, 0, sizeof map);
  wsb_ring_writer_init (&w, map, DATA_BYTES, 1);
  memcpy (head, data, size < 32 ? size : 32);
  data += size < 32 ? size : 32;
  size -= size < 32 ? size : 32;
  memcpy (map + 64, head, 8);      /* write position */
  memcpy (map + 128, head + 8, 8); /* tail */
  for (size_t off = 0; size && off < DATA_BYTES; off += size)
    memcpy (map + WSB_RING_HEADER_BYTES + off, data,
            size < DATA_BYTES - off ? size : DATA_BYTES - off);
  if (!wsb_ring_reader_init (&r, map, sizeof map, le64 (head + 16), le64 (head + 24), &error))
    return;
  last = r.last_seq;
  for (int i = 0; i < 100000; i++)
    {
      WsbRingStatus st = wsb_ring_next (&r, &rec);

      if (st == WSB_RING_EMPTY || st == WSB_RING_CORRUPT)
        break;
      if (rec.seq <= last)
        abort ();
      /* Inside the run the reader copied: a head, the channel, the data. */
      if (r.run_len > r.copy_size || (const uint8_t *) rec.channel < r.copy + WSB_RING_RECORD_HEAD
          || rec.data != (const uint8_t *) rec.channel + rec.channel_len
          || rec.data > r.copy + r.run_len || rec.len > (size_t) (r.copy + r.run_len - rec.data))
        abort ();
      last = rec.seq;
    }
  wsb_ring_reader_clear (&r);
}

/* Message seq's payload byte i is seq * 131 + i * 7 (mod 256): a pattern
 * that shows a shifted or foreign byte. As 7 * 183 = 1 (mod 256), that is
 * pattern[i + 183 * (seq * 131 mod 256) mod 256] with pattern[j] = 7 * j,
 * so every payload is a window of one buffer, written and compared with
 * memcmp rather than byte by byte (the instrumented loops made an input of
 * a few thousand messages take a second). */
static uint8_t pattern[256 + DATA_BYTES];

static const uint8_t *
payload_of (uint64_t seq)
{
  if (!pattern[1])
    for (size_t j = 0; j < sizeof pattern; j++)
      pattern[j] = (uint8_t) (7 * j);
  return pattern + (183 * (uint8_t) (seq * 131)) % 256;
}

static void
honest (const uint8_t *data, size_t size)
{
  WsbRingWriter w;
  WsbRingReader r;
  WsbRingRecord rec;
  const char *error;
  static char channel[300], expected_channel[300];
  uint64_t seq = 0, expect = 1;

  memset (map, 0, sizeof map);
  wsb_ring_writer_init (&w, map, DATA_BYTES, 1);
  if (!wsb_ring_reader_init (&r, map, sizeof map, 0, 0, &error))
    abort ();
  for (size_t i = 0; i + 4 <= size; i += 4)
    {
      size_t clen = data[i] % 40;
      size_t len = ((size_t) data[i + 1] << 8 | data[i + 2]) % (DATA_BYTES / 3);
      int skip = data[i + 3];

      seq++;
      memset (channel, 'a' + (int) (seq % 26), clen);
      wsb_ring_write (&w, seq, (int64_t) seq, seq & 1, channel, clen, payload_of (seq), len);
      if (skip % 4)
        continue; /* the reader waits: the writer may lap it */
      for (;;)
        {
          WsbRingStatus st = wsb_ring_next (&r, &rec);

          if (st == WSB_RING_EMPTY)
            break;
          if (st == WSB_RING_CORRUPT)
            abort ();
          if (rec.lost_from && (rec.lost_from != expect || rec.lost_to != rec.seq - 1))
            abort ();
          if (!rec.lost_from && rec.seq != expect)
            abort ();
          if (st == WSB_RING_MESSAGE)
            {
              if (rec.binary != (rec.seq & 1) || rec.time_us != (int64_t) rec.seq)
                abort ();
              memset (expected_channel, 'a' + (int) (rec.seq % 26), sizeof expected_channel);
              if (rec.len > DATA_BYTES || memcmp (rec.data, payload_of (rec.seq), rec.len) != 0
                  || rec.channel_len > sizeof expected_channel
                  || memcmp (rec.channel, expected_channel, rec.channel_len) != 0)
                abort ();
            }
          expect = rec.seq + 1;
        }
    }
  wsb_ring_reader_clear (&r);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  if (data[0] & 1)
    honest (data + 1, size - 1);
  else
    hostile (data + 1, size - 1);
  return 0;
}
