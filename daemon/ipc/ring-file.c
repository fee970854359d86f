#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */

#include "ring-file.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

struct _WsbRingFile
{
  int fd; /* the memfd, read-write */
  void *map;
  guint64 size;
  WsbRingWriter writer;
};

static void
fail_errno (GError **error, int err, const char *what, const char *session)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err), "%s: cannot %s: %s", session, what,
               g_strerror (err));
}

WsbRingFile *
wsb_ring_file_new (const char *session, guint64 data_bytes, guint64 epoch, GError **error)
{
  g_autofree char *name = g_strdup_printf ("wsbridge-ring-%s", session);
  WsbRingFile *rf;

  g_return_val_if_fail (wsb_ring_data_bytes_valid (data_bytes), NULL);
  rf = g_new0 (WsbRingFile, 1);
  rf->fd = -1;
  rf->map = MAP_FAILED;
  rf->size = wsb_ring_file_bytes (data_bytes);
  rf->fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (rf->fd < 0)
    goto failed_create;
  if (ftruncate (rf->fd, (off_t) rf->size) < 0)
    goto failed_size;
  /* Its size is fixed for good: no reader's mapping can be cut short. */
  if (fcntl (rf->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
    goto failed_seal;
  rf->map = mmap (NULL, rf->size, PROT_READ | PROT_WRITE, MAP_SHARED, rf->fd, 0);
  if (rf->map == MAP_FAILED)
    goto failed_map;
  wsb_ring_writer_init (&rf->writer, rf->map, data_bytes, epoch);
  return rf;

failed_create:
  fail_errno (error, errno, "create the ring's memfd", session);
  goto out;
failed_size:
  fail_errno (error, errno, "size the ring's memfd", session);
  goto out;
failed_seal:
  fail_errno (error, errno, "seal the ring's memfd", session);
  goto out;
failed_map:
  fail_errno (error, errno, "map the ring's memfd", session);
out:
  wsb_ring_file_free (rf);
  return NULL;
}

void
wsb_ring_file_free (WsbRingFile *rf)
{
  if (!rf)
    return;
  if (rf->map != MAP_FAILED)
    munmap (rf->map, rf->size);
  if (rf->fd >= 0)
    close (rf->fd);
  g_free (rf);
}

WsbRingWriter *
wsb_ring_file_writer (WsbRingFile *rf)
{
  return &rf->writer;
}

int
wsb_ring_file_reader_fd (WsbRingFile *rf, GError **error)
{
  char path[64];
  int fd;

  /* Opened anew read-only: mmap of this descriptor with PROT_WRITE fails
   * (EACCES), whatever the subscriber does with it. */
  snprintf (path, sizeof path, "/proc/self/fd/%d", rf->fd);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail_errno (error, errno, "open a read-only descriptor of the ring", "wsbridged");
  return fd;
}

int
wsb_ring_wakeup_fd_new (GError **error)
{
  int fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);

  if (fd < 0)
    fail_errno (error, errno, "create a subscriber's eventfd", "wsbridged");
  return fd;
}

void
wsb_ring_wakeup (int fd)
{
  guint64 one = 1;

  /* EAGAIN only when the counter is at its maximum: it is readable anyway. */
  (void) !write (fd, &one, sizeof one);
}
