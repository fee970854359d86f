/* A session's shared-memory ring as a file (proto/RING.md): a sealed memfd
 * the daemon maps read-write and writes with proto/ring's writer, and hands
 * to allowed subscribers as a separate read-only descriptor of the same
 * file, which cannot be mapped writable, grown or shrunk. Also the
 * subscriber's wake-up eventfd. */
#pragma once

#include <glib.h>

#include "ring.h"

typedef struct _WsbRingFile WsbRingFile;

/* data_bytes: a valid ring size (wsb_ring_data_bytes_valid). The memory is
 * the memfd's: pages count once they are written. */
WsbRingFile *wsb_ring_file_new (const char *session, guint64 data_bytes, guint64 epoch,
                                GError **error);
void wsb_ring_file_free (WsbRingFile *rf);

WsbRingWriter *wsb_ring_file_writer (WsbRingFile *rf);
/* A new read-only descriptor of the ring for one subscriber (the caller
 * closes it once it was sent), or -1 with error. */
int wsb_ring_file_reader_fd (WsbRingFile *rf, GError **error);

/* A non-blocking eventfd for a subscriber's wake-ups, or -1 with error. */
int wsb_ring_wakeup_fd_new (GError **error);
/* Adds one to the eventfd (a reader that has not read it yet sees one
 * wake-up however many came). */
void wsb_ring_wakeup (int fd);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbRingFile, wsb_ring_file_free)
