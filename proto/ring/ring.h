/* The shared-memory message ring (proto/RING.md, layout version 1): the
 * daemon writes each inbound message of a session once into a ring in a
 * sealed memfd, which local subscribers map read-only and read in place.
 * The writer never waits for readers; a reader that falls more than the
 * ring behind finds out from the positions and learns which seqs it lost.
 *
 * Pure: no I/O, no allocation but the reader's copy buffer; plain C11 with
 * <stdatomic.h>, shared by the daemon (writer) and libwsbridge (reader).
 * A reader trusts nothing in the mapping: every size and position is
 * checked, so a hostile or broken writer yields WSB_RING_CORRUPT, never an
 * access outside the mapping, and every call returns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSB_RING_MAGIC "WSBRING\0"
#define WSB_RING_VERSION 1u
/* Where the records start: the header has a page of its own. */
#define WSB_RING_HEADER_BYTES 4096u
#define WSB_RING_MIN_DATA_BYTES (64u * 1024)
#define WSB_RING_MAX_DATA_BYTES (1ull << 30)
/* Every record is this much, then its channel and payload, padded to 8. */
#define WSB_RING_RECORD_HEAD 32u

typedef enum
{
  WSB_RING_KIND_MESSAGE = 1,
  WSB_RING_KIND_PAD = 2,       /* the rest of the ring up to its end is unused */
  WSB_RING_KIND_ELSEWHERE = 3, /* a message too large for the ring (its channel, no
                                * payload): it comes on the socket */
} WsbRingKind;

enum
{
  WSB_RING_FLAG_BINARY = 1,
};

/* The total size of a ring file (header and records) of data_bytes. */
uint64_t wsb_ring_file_bytes (uint64_t data_bytes);
/* data_bytes is a power of two within the limits above. */
bool wsb_ring_data_bytes_valid (uint64_t data_bytes);
/* The largest message (channel and payload) stored in the ring itself; a
 * larger one is written as an ELSEWHERE record. */
uint64_t wsb_ring_max_record (uint64_t data_bytes);
/* Whether wsb_ring_write stores a message of these sizes in the ring. */
bool wsb_ring_fits (uint64_t data_bytes, size_t channel_len, size_t len);

/* ------------------------------------------------------------- writer */

typedef struct
{
  uint8_t *map; /* wsb_ring_file_bytes (data_bytes), writable */
  uint64_t data_bytes;
} WsbRingWriter;

/* Lays out an empty ring in map (zeroed memory of wsb_ring_file_bytes). */
void wsb_ring_writer_init (WsbRingWriter *w, void *map, uint64_t data_bytes, uint64_t epoch);

/* Appends a message. Returns true when it went into the ring, false when
 * it was too large and an ELSEWHERE record for its seq went instead (the
 * owner then delivers it another way). seq must grow from call to call. */
bool wsb_ring_write (WsbRingWriter *w, uint64_t seq, int64_t time_us, bool binary,
                     const char *channel, size_t channel_len, const uint8_t *data, size_t len);

/* Where the next record will go: a reader that starts here reads what is
 * written from now on. */
uint64_t wsb_ring_writer_position (const WsbRingWriter *w);

/* ------------------------------------------------------------- reader */

typedef struct
{
  const uint8_t *map;
  uint64_t data_bytes;
  uint64_t epoch;
  uint64_t pos;      /* the next record to read */
  uint64_t last_seq; /* of the last record read (or the one before the start) */
  uint8_t *copy;     /* the run of records being delivered, copied out of the ring */
  size_t copy_size;
  uint64_t run_pos;       /* the ring position of copy's first byte */
  uint64_t run_len;       /* bytes of records in copy (0: none) */
  uint64_t run_write_pos; /* the writer's position when the run was copied */
} WsbRingReader;

typedef enum
{
  WSB_RING_EMPTY,     /* nothing new: wait for the wake-up */
  WSB_RING_MESSAGE,   /* rec holds a message */
  WSB_RING_ELSEWHERE, /* rec.seq is a message that comes on the socket */
  WSB_RING_CORRUPT,   /* the ring breaks its layout: stop using it */
} WsbRingStatus;

typedef struct
{
  uint64_t seq;
  int64_t time_us;
  bool binary;
  const char *channel; /* not NUL-terminated; "" (length 0) for no channel */
  size_t channel_len;
  const uint8_t *data;
  size_t len;
  /* Seqs lost since the last record read because the reader fell behind
   * by more than the ring (lost_from..lost_to; both 0 when none). */
  uint64_t lost_from, lost_to;
} WsbRingRecord;

/* Checks the header of a mapping of map_len bytes (the file's size as
 * fstat gives it). On failure returns false with *error a static text
 * naming the problem. The reader starts at start_pos with last_seq the seq
 * of the message right before it (both from the daemon, so that they match
 * the socket's catch-up; 0 before the session's first message). */
bool wsb_ring_reader_init (WsbRingReader *r, const void *map, uint64_t map_len, uint64_t start_pos,
                           uint64_t last_seq, const char **error);
void wsb_ring_reader_clear (WsbRingReader *r);

/* The next record. rec's pointers stay valid until the next call. */
WsbRingStatus wsb_ring_next (WsbRingReader *r, WsbRingRecord *rec);

/* The writer's position as the reader sees it (for tests and wake-up
 * decisions). */
uint64_t wsb_ring_reader_write_position (const WsbRingReader *r);
