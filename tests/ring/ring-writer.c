/* Writes a shared-memory ring (proto/ring) into a file for the tests of the
 * clients' readers, with the same messages as tests/unit/test-ring.c: seq
 * N's payload is (N * 7919) % 3000 bytes of (N * 31 + i) & 0xff, its
 * channel "ch" N % 5 (none when N % 5 == 0), binary when N is odd, time
 * N * 1000.
 *   ring-writer FILE DATA_BYTES COUNT [PAUSE_EVERY PAUSE_US]
 * The file is made (or truncated) to the ring's size, laid out, then COUNT
 * messages are written, pausing PAUSE_US every PAUSE_EVERY messages (a
 * reader racing the writer); prints "READY" once the ring is laid out and
 * "DONE <write position>" at the end. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring.h"

int
main (int argc, char **argv)
{
  unsigned long long data_bytes, count, pause_every = 0, pause_us = 0;
  static unsigned char payload[4096];
  WsbRingWriter w;
  char channel[32];
  void *map;
  int fd;

  if (argc != 4 && argc != 6)
    {
      fprintf (stderr, "usage: ring-writer FILE DATA_BYTES COUNT [PAUSE_EVERY PAUSE_US]\n");
      return 2;
    }
  data_bytes = strtoull (argv[2], NULL, 10);
  count = strtoull (argv[3], NULL, 10);
  if (argc == 6)
    {
      pause_every = strtoull (argv[4], NULL, 10);
      pause_us = strtoull (argv[5], NULL, 10);
    }
  if (!wsb_ring_data_bytes_valid (data_bytes))
    {
      fprintf (stderr, "ring-writer: %s is not a valid ring size\n", argv[2]);
      return 2;
    }
  fd = open (argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate (fd, (off_t) wsb_ring_file_bytes (data_bytes)) < 0)
    {
      perror (argv[1]);
      return 1;
    }
  map = mmap (NULL, wsb_ring_file_bytes (data_bytes), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    {
      perror ("mmap");
      return 1;
    }
  wsb_ring_writer_init (&w, map, data_bytes, 42);
  printf ("READY\n");
  fflush (stdout);
  for (unsigned long long seq = 1; seq <= count; seq++)
    {
      size_t len = (seq * 7919) % 3000;

      for (size_t i = 0; i < len; i++)
        payload[i] = (unsigned char) (seq * 31 + i);
      snprintf (channel, sizeof channel, "ch%llu", seq % 5);
      wsb_ring_write (&w, seq, (long long) seq * 1000, seq % 2, channel,
                      seq % 5 == 0 ? 0 : strlen (channel), payload, len);
      if (pause_every && seq % pause_every == 0)
        usleep ((useconds_t) pause_us);
    }
  printf ("DONE %llu\n", (unsigned long long) wsb_ring_writer_position (&w));
  return 0;
}
