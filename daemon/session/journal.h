/* Append-only journal of one session's send queue (queue_persist=true), so
 * queued sends survive a daemon restart. Plain file I/O, no main-loop
 * sources: the caller decides when to sync (once per batch of appends).
 *
 * File format, all integers little-endian, checksums CRC-32C (Castagnoli):
 *
 *   File header, 28 bytes
 *      0  8  magic "WSBJRNL\n"
 *      8  4  version, 1
 *     12  4  flags, 0
 *     16  8  max_id: the highest id the file has recorded; compaction keeps
 *            it here so ids never repeat once their records are gone
 *     24  4  CRC-32C of bytes 0..23
 *
 *   Records, back to back, each 28 bytes + payload
 *      0  4  CRC-32C of bytes 4..end of the record, payload included
 *      4  1  type: 1 = ADD (a queued send), 2 = DONE (it left the queue)
 *      5  1  flags: bit 0 = binary, bit 1 = the payload starts with the
 *            send's own ttl_ms (u32) before the message (ADD); DONE has 0
 *      6  2  reserved, 0
 *      8  4  payload length (DONE: 0); more than 1 GiB is corruption
 *     12  8  id
 *     20  8  queued_us, signed wall-clock µs (DONE: 0)
 *     28  …  payload
 *
 * An entry is live from its ADD until a DONE with its id. A DONE for an id
 * not live is ignored. Replay stops at the first record that is short, has
 * an unknown type or non-zero reserved bits, an impossible length, a bad
 * checksum or repeats a live id: that record and everything after it are
 * cut off. A file whose magic is wrong, or whose version is not 1, is left
 * alone and reported as an error.
 *
 * Compaction rewrites only the live ADD records, copied from the old file
 * in their order, to a temp file in the same directory (fsync, rename,
 * fsync of the directory). It happens on open when the file holds any dead
 * record, and in wsb_journal_sync when the file is over 64 KiB and its dead
 * bytes exceed twice its live bytes: the file stays within about 3× the
 * queued data (or 64 KiB), and a rewrite copies at most half as many bytes
 * as were appended since the previous one. */
#pragma once

#include <glib.h>

typedef struct
{
  guint64 id;
  gboolean binary;
  gint64 queued_us; /* wall clock µs when it was queued (for queue_ttl_ms after a restart) */
  guint32 ttl_ms;   /* the send's own TTL, 0: the session's queue_ttl_ms */
  GBytes *data;
} WsbJournalEntry;

void wsb_journal_entry_free (WsbJournalEntry *e);

typedef struct _WsbJournal WsbJournal;

/* Opens or creates path (mode 0600; missing parent directories are created
 * 0700) and replays it. *entries (may be NULL) is set to a new array of
 * WsbJournalEntry* (with a free func): the entries added and not marked
 * done, in the order added. A torn or corrupt tail is cut off (the file is
 * truncated to the last good record) and *warning is set to one line naming
 * the file, the byte offset and what was dropped; NULL when clean. With a
 * NULL warning the line is logged instead. Not a journal (bad magic) or an
 * unknown version: WSB_ERROR_FAILED, the file untouched. Temp files that a
 * crash during compaction left next to it (".<name>.XXXXXX") are removed. */
WsbJournal *wsb_journal_open (const char *path, GPtrArray **entries, char **warning,
                              GError **error);

/* Highest id ever recorded in the file (new ids continue after it); 0 for a
 * new journal. */
guint64 wsb_journal_max_id (const WsbJournal *j);

const char *wsb_journal_path (const WsbJournal *j);

/* Writes an ADD record at once with write(2), so a daemon crash loses
 * nothing; fsync waits for wsb_journal_sync. Fails with
 * WSB_ERROR_INVALID_ARGUMENT if id is live already or len is over 1 GiB. */
gboolean wsb_journal_append (WsbJournal *j, guint64 id, gboolean binary, gint64 queued_us,
                             guint32 ttl_ms, const guint8 *data, gsize len, GError **error);

/* Writes a DONE record for id; nothing (and TRUE) if id is not live. When
 * the record cannot be written, id is forgotten all the same and the next
 * wsb_journal_sync rewrites the file without it (FALSE until one succeeds). */
gboolean wsb_journal_done (WsbJournal *j, guint64 id, GError **error);

/* TRUE when records were written since the last successful sync. */
gboolean wsb_journal_needs_sync (const WsbJournal *j);

/* One fsync for everything written since the last sync, then compaction if
 * dead records dominate (see above). After a failed fsync the next sync
 * rewrites the file instead, since the kernel may have dropped the pages
 * that failed. On FALSE the journal stays usable. */
gboolean wsb_journal_sync (WsbJournal *j, GError **error);

/* Syncs (logging a failure) and closes. */
void wsb_journal_close (WsbJournal *j);

/* Closes and deletes the file (the session was removed), durably; j is
 * freed either way. FALSE if the file could not be removed or the removal
 * not synced. */
gboolean wsb_journal_remove (WsbJournal *j, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbJournalEntry, wsb_journal_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbJournal, wsb_journal_close)
