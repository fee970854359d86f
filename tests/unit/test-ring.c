/* The shared-memory ring (proto/ring): what a reader gets is exactly what
 * was written, in order, or a loss it is told of with the exact seqs; a
 * reader racing a writer that laps it never delivers a torn record. */
#include <glib.h>
#include <string.h>

#include "ring.h"

#define DATA_BYTES (64u * 1024)

typedef struct
{
  guint8 *map;
  WsbRingWriter w;
} Ring;

static void
ring_init (Ring *ring, guint64 data_bytes)
{
  ring->map = g_malloc0 (wsb_ring_file_bytes (data_bytes));
  wsb_ring_writer_init (&ring->w, ring->map, data_bytes, 42);
}

/* The payload of seq: its length and bytes follow from the seq, so a
 * reader can check any record alone. */
static gsize
payload_len (guint64 seq)
{
  return (seq * 7919) % 3000;
}

static void
payload (guint64 seq, guint8 *out, gsize len)
{
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) (seq * 31 + i);
}

static void
write_seq (Ring *ring, guint64 seq)
{
  gsize len = payload_len (seq);
  g_autofree guint8 *data = g_malloc (len + 1);
  g_autofree char *channel = g_strdup_printf ("ch%" G_GUINT64_FORMAT, seq % 5);

  payload (seq, data, len);
  g_assert_true (wsb_ring_write (&ring->w, seq, (gint64) seq * 1000, seq % 2, channel,
                                 seq % 5 == 0 ? 0 : strlen (channel), data, len));
}

static void
check_record (const WsbRingRecord *rec)
{
  g_autofree guint8 *want = g_malloc (payload_len (rec->seq) + 1);
  g_autofree char *channel = g_strdup_printf ("ch%" G_GUINT64_FORMAT, rec->seq % 5);

  payload (rec->seq, want, payload_len (rec->seq));
  g_assert_cmpmem (rec->data, rec->len, want, payload_len (rec->seq));
  g_assert_cmpint (rec->time_us, ==, (gint64) rec->seq * 1000);
  g_assert_cmpint (rec->binary, ==, rec->seq % 2);
  if (rec->seq % 5 == 0)
    g_assert_cmpuint (rec->channel_len, ==, 0);
  else
    g_assert_cmpmem (rec->channel, rec->channel_len, channel, strlen (channel));
}

static void
test_header_checks (void)
{
  Ring ring;
  WsbRingReader r;
  const char *error = NULL;
  guint64 size = wsb_ring_file_bytes (DATA_BYTES);

  ring_init (&ring, DATA_BYTES);
  g_assert_true (wsb_ring_reader_init (&r, ring.map, size, 0, 0, &error));
  g_assert_cmpuint (r.epoch, ==, 42);
  g_assert_false (wsb_ring_reader_init (&r, ring.map, size - 1, 0, 0, &error));
  g_assert_cmpstr (error, ==, "the ring's file size does not match its header");
  g_assert_false (wsb_ring_reader_init (&r, ring.map, 100, 0, 0, &error));
  g_assert_cmpstr (error, ==, "the ring is smaller than its header");
  g_assert_false (wsb_ring_reader_init (&r, ring.map, size, 3, 0, &error));
  g_assert_cmpstr (error, ==, "the ring's start position is not a record boundary");
  ring.map[8] = 2;
  g_assert_false (wsb_ring_reader_init (&r, ring.map, size, 0, 0, &error));
  g_assert_cmpstr (error, ==, "the ring's layout version is not 1");
  ring.map[0] = 'X';
  g_assert_false (wsb_ring_reader_init (&r, ring.map, size, 0, 0, &error));
  g_assert_cmpstr (error, ==, "the ring's header has no WSBRING magic");
  g_assert_false (wsb_ring_data_bytes_valid (DATA_BYTES + 8));
  g_assert_false (wsb_ring_data_bytes_valid (32 * 1024));
  g_free (ring.map);
}

/* A reader that keeps up gets everything, across many wraps; one that
 * starts late gets what was written after its start. */
static void
test_reader_keeping_up (void)
{
  Ring ring;
  WsbRingReader r, late;
  WsbRingRecord rec;
  const char *error;
  guint64 next = 1;

  ring_init (&ring, DATA_BYTES);
  g_assert_true (
      wsb_ring_reader_init (&r, ring.map, wsb_ring_file_bytes (DATA_BYTES), 0, 0, &error));
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_EMPTY);
  for (guint64 seq = 1; seq <= 5000; seq++)
    {
      write_seq (&ring, seq);
      if (seq == 100)
        g_assert_true (wsb_ring_reader_init (&late, ring.map, wsb_ring_file_bytes (DATA_BYTES),
                                             wsb_ring_writer_position (&ring.w), 100, &error));
      if (seq % 7 == 0 || seq == 5000)
        while (wsb_ring_next (&r, &rec) == WSB_RING_MESSAGE)
          {
            g_assert_cmpuint (rec.seq, ==, next);
            g_assert_cmpuint (rec.lost_from, ==, 0);
            check_record (&rec);
            next++;
          }
    }
  g_assert_cmpuint (next, ==, 5001);
  /* The late reader lapped: it learns exactly which seqs it lost. */
  g_assert_cmpint (wsb_ring_next (&late, &rec), ==, WSB_RING_MESSAGE);
  g_assert_cmpuint (rec.lost_from, ==, 101);
  g_assert_cmpuint (rec.lost_to, ==, rec.seq - 1);
  check_record (&rec);
  wsb_ring_reader_clear (&r);
  wsb_ring_reader_clear (&late);
  g_free (ring.map);
}

/* A message larger than a quarter of the ring leaves an ELSEWHERE record:
 * its seq keeps its place in the order. */
static void
test_too_large_goes_elsewhere (void)
{
  Ring ring;
  WsbRingReader r;
  WsbRingRecord rec;
  const char *error;
  gsize big = wsb_ring_max_record (DATA_BYTES) + 1;
  g_autofree guint8 *data = g_malloc0 (big);

  ring_init (&ring, DATA_BYTES);
  g_assert_true (
      wsb_ring_reader_init (&r, ring.map, wsb_ring_file_bytes (DATA_BYTES), 0, 0, &error));
  write_seq (&ring, 1);
  g_assert_false (wsb_ring_write (&ring.w, 2, 0, TRUE, "big", 3, data, big - 3));
  g_assert_true (wsb_ring_write (&ring.w, 3, 0, TRUE, "", 0, data, big - 1));
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_MESSAGE);
  g_assert_cmpuint (rec.seq, ==, 1);
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_ELSEWHERE);
  g_assert_cmpuint (rec.seq, ==, 2);
  g_assert_cmpmem (rec.channel, rec.channel_len, "big", 3); /* whose it is */
  g_assert_cmpuint (rec.len, ==, 0);
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_MESSAGE);
  g_assert_cmpuint (rec.seq, ==, 3);
  g_assert_cmpuint (rec.len, ==, big - 1);
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_EMPTY);
  wsb_ring_reader_clear (&r);
  g_free (ring.map);
}

/* Broken layouts are reported, not followed. */
static void
test_corrupt_is_reported (void)
{
  Ring ring;
  WsbRingReader r;
  WsbRingRecord rec;
  const char *error;
  guint32 bad = 12;

  ring_init (&ring, DATA_BYTES);
  write_seq (&ring, 1);
  write_seq (&ring, 2);
  g_assert_true (
      wsb_ring_reader_init (&r, ring.map, wsb_ring_file_bytes (DATA_BYTES), 0, 0, &error));
  memcpy (ring.map + WSB_RING_HEADER_BYTES, &bad, 4); /* a size that is no record */
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_CORRUPT);
  wsb_ring_reader_clear (&r);

  /* A reader ahead of the writer. */
  g_assert_true (
      wsb_ring_reader_init (&r, ring.map, wsb_ring_file_bytes (DATA_BYTES), 1 << 20, 0, &error));
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_CORRUPT);
  wsb_ring_reader_clear (&r);
  g_free (ring.map);
}

/* A writer thread laps a reader thread that reads slowly: every record the
 * reader delivers is whole and in order, and the seqs it did not get are
 * exactly the ones it was told it lost. */
typedef struct
{
  Ring *ring;
  guint64 last;
  gint done;
} Race;

static gpointer
writer_thread (gpointer data)
{
  Race *race = data;

  for (guint64 seq = 1; seq <= race->last; seq++)
    write_seq (race->ring, seq);
  g_atomic_int_set (&race->done, 1);
  return NULL;
}

static void
test_writer_laps_reader (void)
{
  Ring ring;
  Race race = { &ring, 200000, 0 };
  WsbRingReader r;
  WsbRingRecord rec;
  const char *error;
  guint64 got = 0, lost = 0, expect = 1;
  GThread *t;

  ring_init (&ring, DATA_BYTES);
  g_assert_true (
      wsb_ring_reader_init (&r, ring.map, wsb_ring_file_bytes (DATA_BYTES), 0, 0, &error));
  t = g_thread_new ("writer", writer_thread, &race);
  for (;;)
    {
      WsbRingStatus st = wsb_ring_next (&r, &rec);

      g_assert_cmpint (st, !=, WSB_RING_CORRUPT);
      if (st == WSB_RING_EMPTY)
        {
          if (g_atomic_int_get (&race.done) && wsb_ring_reader_write_position (&r) == r.pos)
            break;
          g_thread_yield ();
          continue;
        }
      if (rec.lost_from)
        {
          g_assert_cmpuint (rec.lost_from, ==, expect);
          g_assert_cmpuint (rec.lost_to, ==, rec.seq - 1);
          lost += rec.lost_to - rec.lost_from + 1;
        }
      g_assert_cmpuint (rec.seq, ==, rec.lost_from ? rec.lost_to + 1 : expect);
      check_record (&rec);
      expect = rec.seq + 1;
      got++;
      if (got % 256 == 0)
        g_usleep (20); /* slower than the writer: it laps us now and then */
    }
  g_thread_join (t);
  g_assert_cmpuint (got + lost, ==, race.last);
  g_assert_cmpuint (expect, ==, race.last + 1);
  g_test_message ("%" G_GUINT64_FORMAT " delivered, %" G_GUINT64_FORMAT " lost", got, lost);
  wsb_ring_reader_clear (&r);
  g_free (ring.map);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ring/header-checks", test_header_checks);
  g_test_add_func ("/ring/reader-keeping-up", test_reader_keeping_up);
  g_test_add_func ("/ring/too-large-goes-elsewhere", test_too_large_goes_elsewhere);
  g_test_add_func ("/ring/corrupt-is-reported", test_corrupt_is_reported);
  g_test_add_func ("/ring/writer-laps-reader", test_writer_laps_reader);
  return g_test_run ();
}
