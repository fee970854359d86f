#include "ring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Header fields (proto/RING.md); the positions written while readers read
 * each have a cache line of their own. */
enum
{
  OFF_MAGIC = 0,
  OFF_VERSION = 8,
  OFF_HEADER_BYTES = 12,
  OFF_DATA_BYTES = 16,
  OFF_EPOCH = 24,
  OFF_WRITE_POS = 64,
  OFF_TAIL_POS = 128,
};

/* Record head fields. */
enum
{
  REC_SIZE = 0,
  REC_KIND = 4,
  REC_FLAGS = 6,
  REC_SEQ = 8,
  REC_TIME = 16,
  REC_LEN = 24,
  REC_CHANNEL_LEN = 28,
};

/* A reader that keeps finding its record overwritten while it copies it
 * (a writer lapping it without pause) gives up for this call. */
#define MAX_RETRIES 1000
/* How many bytes of records a reader copies out of the ring at once. */
#define RUN_BYTES (64 * 1024)

static inline uint64_t
align8 (uint64_t n)
{
  return (n + 7) & ~(uint64_t) 7;
}

static inline _Atomic uint64_t *
pos_field (const uint8_t *map, size_t off)
{
  return (_Atomic uint64_t *) (uintptr_t) (map + off);
}

static inline uint64_t
get64 (const uint8_t *p)
{
  uint64_t v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline uint32_t
get32 (const uint8_t *p)
{
  uint32_t v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline uint16_t
get16 (const uint8_t *p)
{
  uint16_t v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
put64 (uint8_t *p, uint64_t v)
{
  memcpy (p, &v, sizeof v);
}

static inline void
put32 (uint8_t *p, uint32_t v)
{
  memcpy (p, &v, sizeof v);
}

static inline void
put16 (uint8_t *p, uint16_t v)
{
  memcpy (p, &v, sizeof v);
}

uint64_t
wsb_ring_file_bytes (uint64_t data_bytes)
{
  return WSB_RING_HEADER_BYTES + data_bytes;
}

bool
wsb_ring_data_bytes_valid (uint64_t data_bytes)
{
  return data_bytes >= WSB_RING_MIN_DATA_BYTES && data_bytes <= WSB_RING_MAX_DATA_BYTES
         && (data_bytes & (data_bytes - 1)) == 0;
}

uint64_t
wsb_ring_max_record (uint64_t data_bytes)
{
  /* A quarter: a record that large still leaves room for three more
   * before a reader that is one record behind loses it. */
  return data_bytes / 4 - WSB_RING_RECORD_HEAD;
}

bool
wsb_ring_fits (uint64_t data_bytes, size_t channel_len, size_t len)
{
  return channel_len <= UINT16_MAX && len <= UINT32_MAX
         && channel_len + len <= wsb_ring_max_record (data_bytes);
}

/* ------------------------------------------------------------- writer */

void
wsb_ring_writer_init (WsbRingWriter *w, void *map, uint64_t data_bytes, uint64_t epoch)
{
  uint8_t *m = map;

  w->map = m;
  w->data_bytes = data_bytes;
  memcpy (m + OFF_MAGIC, WSB_RING_MAGIC, 8);
  put32 (m + OFF_VERSION, WSB_RING_VERSION);
  put32 (m + OFF_HEADER_BYTES, WSB_RING_HEADER_BYTES);
  put64 (m + OFF_DATA_BYTES, data_bytes);
  put64 (m + OFF_EPOCH, epoch);
  atomic_store_explicit (pos_field (m, OFF_TAIL_POS), 0, memory_order_relaxed);
  atomic_store_explicit (pos_field (m, OFF_WRITE_POS), 0, memory_order_release);
}

uint64_t
wsb_ring_writer_position (const WsbRingWriter *w)
{
  return atomic_load_explicit (pos_field (w->map, OFF_WRITE_POS), memory_order_relaxed);
}

static inline uint8_t *
at (const WsbRingWriter *w, uint64_t pos)
{
  return w->map + WSB_RING_HEADER_BYTES + (pos & (w->data_bytes - 1));
}

/* Moves the tail past every record that writing up to end overwrites, and
 * tells readers before a byte of them changes. Once the ring is full every
 * record written would move it, each time with a full fence: it moves a
 * sixty-fourth of the ring further instead, so the fence comes once per
 * that many bytes of records (RING.md, Writing). */
static void
make_room (WsbRingWriter *w, uint64_t pos, uint64_t end)
{
  _Atomic uint64_t *tailp = pos_field (w->map, OFF_TAIL_POS);
  uint64_t tail = atomic_load_explicit (tailp, memory_order_relaxed);
  uint64_t slack = w->data_bytes / 64;

  if (end - tail <= w->data_bytes)
    return;
  while (tail < pos && end + slack - tail > w->data_bytes)
    tail += get32 (at (w, tail) + REC_SIZE);
  atomic_store_explicit (tailp, tail, memory_order_relaxed);
  /* The new tail is seen before any byte written below it. */
  atomic_thread_fence (memory_order_seq_cst);
}

bool
wsb_ring_write (WsbRingWriter *w, uint64_t seq, int64_t time_us, bool binary, const char *channel,
                size_t channel_len, const uint8_t *data, size_t len)
{
  uint64_t pos = wsb_ring_writer_position (w);
  uint64_t off = pos & (w->data_bytes - 1);
  uint64_t need = align8 ((uint64_t) WSB_RING_RECORD_HEAD + channel_len + len);
  bool stored = wsb_ring_fits (w->data_bytes, channel_len, len);
  uint8_t *rec;

  if (!stored)
    {
      /* The channel stays, so that a reader knows whether the message
       * that comes on the socket is one of its own. */
      if (!wsb_ring_fits (w->data_bytes, channel_len, 0))
        channel_len = 0;
      need = align8 ((uint64_t) WSB_RING_RECORD_HEAD + channel_len);
    }
  if (w->data_bytes - off < need)
    {
      uint64_t pad = w->data_bytes - off;

      make_room (w, pos, pos + pad);
      put32 (at (w, pos) + REC_SIZE, (uint32_t) pad);
      put16 (at (w, pos) + REC_KIND, WSB_RING_KIND_PAD);
      pos += pad;
      /* Published at once, so that the tail never passes write_pos. */
      atomic_store_explicit (pos_field (w->map, OFF_WRITE_POS), pos, memory_order_release);
    }
  make_room (w, pos, pos + need);
  rec = at (w, pos);
  put32 (rec + REC_SIZE, (uint32_t) need);
  put16 (rec + REC_KIND, stored ? WSB_RING_KIND_MESSAGE : WSB_RING_KIND_ELSEWHERE);
  put16 (rec + REC_FLAGS, binary ? WSB_RING_FLAG_BINARY : 0);
  put64 (rec + REC_SEQ, seq);
  put64 (rec + REC_TIME, (uint64_t) time_us);
  if (!stored)
    len = 0;
  put32 (rec + REC_LEN, (uint32_t) len);
  put16 (rec + REC_CHANNEL_LEN, (uint16_t) channel_len);
  put16 (rec + 30, 0);
  if (channel_len)
    memcpy (rec + WSB_RING_RECORD_HEAD, channel, channel_len);
  if (len)
    memcpy (rec + WSB_RING_RECORD_HEAD + channel_len, data, len);
  memset (rec + WSB_RING_RECORD_HEAD + channel_len + len, 0,
          need - WSB_RING_RECORD_HEAD - channel_len - len);
  atomic_store_explicit (pos_field (w->map, OFF_WRITE_POS), pos + need, memory_order_release);
  return stored;
}

/* ------------------------------------------------------------- reader */

bool
wsb_ring_reader_init (WsbRingReader *r, const void *map, uint64_t map_len, uint64_t start_pos,
                      uint64_t last_seq, const char **error)
{
  const uint8_t *m = map;
  uint64_t data_bytes;

  memset (r, 0, sizeof *r);
  if (map_len < WSB_RING_HEADER_BYTES)
    return *error = "the ring is smaller than its header", false;
  if (memcmp (m + OFF_MAGIC, WSB_RING_MAGIC, 8) != 0)
    return *error = "the ring's header has no WSBRING magic", false;
  if (get32 (m + OFF_VERSION) != WSB_RING_VERSION)
    return *error = "the ring's layout version is not 1", false;
  if (get32 (m + OFF_HEADER_BYTES) != WSB_RING_HEADER_BYTES)
    return *error = "the ring's header size is not 4096", false;
  data_bytes = get64 (m + OFF_DATA_BYTES);
  if (!wsb_ring_data_bytes_valid (data_bytes))
    return *error = "the ring's size is not a power of two between 64 KiB and 1 GiB", false;
  if (map_len != wsb_ring_file_bytes (data_bytes))
    return *error = "the ring's file size does not match its header", false;
  if (start_pos % 8)
    return *error = "the ring's start position is not a record boundary", false;
  r->map = m;
  r->data_bytes = data_bytes;
  r->epoch = get64 (m + OFF_EPOCH);
  r->pos = start_pos;
  r->last_seq = last_seq;
  return true;
}

void
wsb_ring_reader_clear (WsbRingReader *r)
{
  free (r->copy);
  r->copy = NULL;
  r->copy_size = 0;
}

uint64_t
wsb_ring_reader_write_position (const WsbRingReader *r)
{
  return atomic_load_explicit (pos_field (r->map, OFF_WRITE_POS), memory_order_acquire);
}

/* The largest record the writer makes: a head and wsb_ring_max_record's
 * bytes, aligned. */
static inline uint64_t
max_record_size (const WsbRingReader *r)
{
  return WSB_RING_RECORD_HEAD + wsb_ring_max_record (r->data_bytes) + 8;
}

static inline const uint8_t *
rd_at (const WsbRingReader *r, uint64_t pos)
{
  return r->map + WSB_RING_HEADER_BYTES + (pos & (r->data_bytes - 1));
}

/* Whether the bytes at pos may have changed since they were copied. */
static inline bool
overwritten (const WsbRingReader *r, uint64_t pos)
{
  atomic_thread_fence (memory_order_acquire);
  return atomic_load_explicit (pos_field (r->map, OFF_TAIL_POS), memory_order_relaxed) > pos;
}

static bool
ensure_copy (WsbRingReader *r, size_t size)
{
  uint8_t *p;

  if (r->copy_size >= size)
    return true;
  p = realloc (r->copy, size);
  if (!p)
    return false;
  r->copy = p;
  r->copy_size = size;
  return true;
}

/* What the steps of a read come to besides the public outcomes. */
enum
{
  STEP_RETRY = 100, /* the tail moved or passed the copy: start over */
  STEP_FILLED,      /* the run holds the record at pos */
  STEP_REFILL,      /* the record at pos is not whole in the run */
};

/* Copies the run of records from r->pos up to the writer's position (at
 * most RUN_BYTES, or the one record at pos if it is larger, never past the
 * end of the record area) out of the ring, checking the tail once for all
 * of them (RING.md, Reading, steps 1 to 3). */
static int
fill_run (WsbRingReader *r)
{
  /* The tail, then the write position, then the tail again: when it did
   * not move, the two describe one moment of the writer, at which tail <=
   * write_pos <= tail + data_bytes holds (the writer keeps it). */
  uint64_t tail = atomic_load_explicit (pos_field (r->map, OFF_TAIL_POS), memory_order_acquire);
  uint64_t w = atomic_load_explicit (pos_field (r->map, OFF_WRITE_POS), memory_order_acquire);
  uint64_t remaining, len, size;

  if (atomic_load_explicit (pos_field (r->map, OFF_TAIL_POS), memory_order_acquire) != tail)
    return STEP_RETRY;
  if (tail > w || w - tail > r->data_bytes || (w | tail) % 8)
    return WSB_RING_CORRUPT;
  if (r->pos < tail)
    r->pos = tail; /* fell behind by more than the ring */
  if (r->pos == w)
    return WSB_RING_EMPTY;
  if (r->pos > w)
    return WSB_RING_CORRUPT;
  remaining = r->data_bytes - (r->pos & (r->data_bytes - 1));
  len = w - r->pos < remaining ? w - r->pos : remaining;
  if (len > RUN_BYTES)
    len = RUN_BYTES;
  if (!ensure_copy (r, len))
    return WSB_RING_CORRUPT;
  memcpy (r->copy, rd_at (r, r->pos), len);
  if (overwritten (r, r->pos))
    return STEP_RETRY;
  /* A record larger than a run comes alone; take_from_run checks it. */
  size = get32 (r->copy + REC_SIZE);
  if (get16 (r->copy + REC_KIND) != WSB_RING_KIND_PAD && size > len && size <= remaining
      && size <= w - r->pos && size <= max_record_size (r))
    {
      len = size;
      if (!ensure_copy (r, len))
        return WSB_RING_CORRUPT;
      memcpy (r->copy, rd_at (r, r->pos), len);
      if (overwritten (r, r->pos))
        return STEP_RETRY;
    }
  r->run_pos = r->pos;
  r->run_len = len;
  r->run_write_pos = w;
  return STEP_FILLED;
}

/* The record at r->pos, parsed from the run; every field is checked, as
 * the ring's bytes may be anything a hostile writer put there. */
static int
take_from_run (WsbRingReader *r, WsbRingRecord *rec)
{
  uint64_t at = r->pos - r->run_pos;
  uint64_t left = r->run_len - at;
  const uint8_t *p = r->copy + at;
  uint64_t size = get32 (p + REC_SIZE), seq, plen, clen;
  unsigned kind = get16 (p + REC_KIND);

  if (kind == WSB_RING_KIND_PAD)
    {
      if (size != r->data_bytes - (r->pos & (r->data_bytes - 1))
          || size > r->run_write_pos - r->pos)
        return WSB_RING_CORRUPT;
      r->pos += size;
      return STEP_REFILL;
    }
  if (size < WSB_RING_RECORD_HEAD || size % 8 || size > max_record_size (r))
    return WSB_RING_CORRUPT;
  if (size > left)
    /* Cut off by the run's end: copied again from its start, where a
     * record that does not fit at all is corrupt. */
    return at ? STEP_REFILL : WSB_RING_CORRUPT;
  seq = get64 (p + REC_SEQ);
  plen = get32 (p + REC_LEN);
  clen = get16 (p + REC_CHANNEL_LEN);
  if ((kind != WSB_RING_KIND_MESSAGE && kind != WSB_RING_KIND_ELSEWHERE)
      || size != align8 (WSB_RING_RECORD_HEAD + clen + plen)
      || (kind == WSB_RING_KIND_ELSEWHERE && plen) || seq <= r->last_seq)
    return WSB_RING_CORRUPT;
  /* A session's seqs are consecutive in its ring: a jump is a loss (the
   * reader fell behind by more than the ring). */
  if (seq > r->last_seq + 1)
    {
      rec->lost_from = r->last_seq + 1;
      rec->lost_to = seq - 1;
    }
  rec->seq = seq;
  rec->time_us = (int64_t) get64 (p + REC_TIME);
  rec->binary = (get16 (p + REC_FLAGS) & WSB_RING_FLAG_BINARY) != 0;
  rec->channel = (const char *) p + WSB_RING_RECORD_HEAD;
  rec->channel_len = clen;
  rec->data = p + WSB_RING_RECORD_HEAD + clen;
  rec->len = plen;
  r->pos += size;
  r->last_seq = seq;
  return kind == WSB_RING_KIND_MESSAGE ? WSB_RING_MESSAGE : WSB_RING_ELSEWHERE;
}

/* The records are read a run at a time: one copy and one check of the
 * tail for all the records the writer had written, then each parsed from
 * the copy, which the writer cannot touch. A record delivered from a run
 * may have been overwritten in the ring since; it was whole when copied. */
WsbRingStatus
wsb_ring_next (WsbRingReader *r, WsbRingRecord *rec)
{
  memset (rec, 0, sizeof *rec);
  for (int attempt = 0; attempt < MAX_RETRIES;)
    {
      int step;

      if (r->pos >= r->run_pos && r->pos - r->run_pos < r->run_len)
        step = take_from_run (r, rec);
      else
        step = fill_run (r);
      switch (step)
        {
          case STEP_RETRY:
            attempt++;
            /* fall through */
          case STEP_REFILL:
            r->run_len = 0;
            /* fall through */
          case STEP_FILLED:
            continue;
          default:
            return step;
        }
    }
  return WSB_RING_EMPTY;
}
