/* The ring as a file (daemon/ipc/ring-file.c): what the daemon writes, a
 * subscriber's read-only descriptor shows; that descriptor cannot be mapped
 * writable, and nobody can change the file's size. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring-file.h"

#define DATA_BYTES (64u * 1024)

static void
test_reader_sees_writes_and_cannot_write (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbRingFile) rf = wsb_ring_file_new ("s", DATA_BYTES, 9, &error);
  int fd;
  void *ro, *rw;
  WsbRingReader r;
  WsbRingRecord rec;
  const char *why;

  g_assert_no_error (error);
  fd = wsb_ring_file_reader_fd (rf, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  ro = mmap (NULL, wsb_ring_file_bytes (DATA_BYTES), PROT_READ, MAP_SHARED, fd, 0);
  g_assert_true (ro != MAP_FAILED);
  rw = mmap (NULL, wsb_ring_file_bytes (DATA_BYTES), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  g_assert_true (rw == MAP_FAILED);
  g_assert_cmpint (errno, ==, EACCES);
  g_assert_cmpint (ftruncate (fd, 4096), ==, -1);
  g_assert_true (wsb_ring_reader_init (&r, ro, wsb_ring_file_bytes (DATA_BYTES), 0, 0, &why));
  g_assert_cmpuint (r.epoch, ==, 9);
  g_assert_true (
      wsb_ring_write (wsb_ring_file_writer (rf), 1, 5, FALSE, "c", 1, (const guint8 *) "hello", 5));
  g_assert_cmpint (wsb_ring_next (&r, &rec), ==, WSB_RING_MESSAGE);
  g_assert_cmpmem (rec.data, rec.len, "hello", 5);
  wsb_ring_reader_clear (&r);
  munmap (ro, wsb_ring_file_bytes (DATA_BYTES));
  close (fd);
}

static void
test_wakeups_coalesce (void)
{
  g_autoptr (GError) error = NULL;
  int fd = wsb_ring_wakeup_fd_new (&error);
  guint64 n = 0;

  g_assert_no_error (error);
  g_assert_cmpint (read (fd, &n, sizeof n), ==, -1); /* non-blocking, nothing yet */
  g_assert_cmpint (errno, ==, EAGAIN);
  wsb_ring_wakeup (fd);
  wsb_ring_wakeup (fd);
  g_assert_cmpint (read (fd, &n, sizeof n), ==, sizeof n);
  g_assert_cmpuint (n, ==, 2);
  close (fd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ring-file/reader-sees-writes-and-cannot-write",
                   test_reader_sees_writes_and_cannot_write);
  g_test_add_func ("/ring-file/wakeups-coalesce", test_wakeups_coalesce);
  return g_test_run ();
}
