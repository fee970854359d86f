/* Fuzz target: the send-queue journal (journal.c) as a daemon restart reads
 * it. The input is a script: appends and dones made through the API, then
 * damage to the file (a cut at some length, a flipped byte), then a reopen;
 * or, with the first byte's top bit set, the raw bytes of a journal file.
 * Findings: a crash, a sanitizer report, a leak, and for scripts any entry
 * replayed that was not appended (or with other bytes), out of order, or
 * lost without damage; a second reopen that differs from the first. Files
 * live in /dev/shm when it exists, so fsync costs nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "journal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct
{
  guint64 id;
  GBytes *data;
  gboolean live;
} Sent;

static char *dir;

static GLogWriterOutput
quiet (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    abort ();
  return G_LOG_WRITER_HANDLED;
}

static GPtrArray *
reopen (const char *path, gboolean expect_clean)
{
  GPtrArray *entries = NULL;
  g_autofree char *warning = NULL;
  g_autoptr (GError) error = NULL;
  WsbJournal *j = wsb_journal_open (path, &entries, &warning, &error);

  if (!j)
    {
      g_assert_nonnull (error);
      g_assert_false (expect_clean);
      return NULL;
    }
  g_assert_true (!expect_clean || !warning);
  wsb_journal_close (j);
  return entries;
}

static void
check_replay (GPtrArray *entries, GArray *sent, gboolean damaged)
{
  guint k = 0;

  for (guint i = 0; entries && i < entries->len; i++)
    {
      WsbJournalEntry *e = g_ptr_array_index (entries, i);

      /* In append order, one of ours, with its bytes. */
      while (k < sent->len && g_array_index (sent, Sent, k).id != e->id)
        {
          g_assert_true (damaged || !g_array_index (sent, Sent, k).live);
          k++;
        }
      g_assert_cmpuint (k, <, sent->len);
      g_assert_true (g_bytes_equal (e->data, g_array_index (sent, Sent, k).data));
      k++;
    }
  for (; !damaged && k < sent->len; k++)
    g_assert_false (g_array_index (sent, Sent, k).live);
}

static void
run_script (const char *path, const uint8_t *data, size_t size)
{
  g_autoptr (GArray) sent = g_array_new (FALSE, TRUE, sizeof (Sent));
  g_autoptr (GError) error = NULL;
  WsbJournal *j = wsb_journal_open (path, NULL, NULL, &error);
  gboolean damaged = FALSE;
  GPtrArray *first, *second;
  size_t pos = 1;

  g_assert_nonnull (j);
  /* ops: 0-3 append (len from the next byte), 4-5 done of an earlier one,
   * 6 sync, 7 end of the ops */
  while (pos < size && (data[pos] & 7) != 7)
    {
      guint8 op = data[pos++] & 7;

      if (op <= 3)
        {
          gsize len = pos < size ? MIN ((gsize) data[pos], size - pos - 1) : 0;
          Sent s = { wsb_journal_max_id (j) + 1, NULL, TRUE };

          pos += pos < size;
          s.data = g_bytes_new (data + pos, len);
          g_assert_true (wsb_journal_append (j, s.id, op & 1, (gint64) s.id * 1000, op & 2 ? 5 : 0,
                                             data + pos, len, NULL));
          pos += len;
          g_array_append_val (sent, s);
        }
      else if (op <= 5 && sent->len && pos < size)
        {
          Sent *s = &g_array_index (sent, Sent, data[pos++] % sent->len);
          g_assert_true (wsb_journal_done (j, s->id, NULL));
          s->live = FALSE;
        }
      else if (op == 6)
        g_assert_true (wsb_journal_sync (j, NULL));
    }
  wsb_journal_close (j);
  pos++;
  /* damage: a cut at a length, then a flipped byte */
  if (pos + 2 < size && data[pos] & 1)
    {
      struct stat st;
      g_assert_true (g_stat (path, &st) == 0);
      g_assert_true (truncate (path, (off_t) (((gsize) data[pos + 1] << 8 | data[pos + 2])
                                              % ((gsize) st.st_size + 1)))
                     == 0);
      damaged = TRUE;
    }
  if (pos + 4 < size && data[pos] & 2)
    {
      g_autofree char *text = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (path, &text, &len, NULL));
      if (len)
        {
          text[((gsize) data[pos + 3] << 8 | data[pos + 4]) % len] ^= 0x20;
          g_assert_true (g_file_set_contents (path, text, (gssize) len, NULL));
          damaged = TRUE;
        }
    }
  first = reopen (path, !damaged);
  check_replay (first, sent, damaged);
  /* The first reopen repaired whatever it cut (a file whose header was hit
   * is no journal any more and stays refused). */
  second = reopen (path, first != NULL);
  g_assert_cmpuint (first ? first->len : 0, ==, second ? second->len : 0);
  if (first)
    g_ptr_array_unref (first);
  if (second)
    g_ptr_array_unref (second);
  for (guint i = 0; i < sent->len; i++)
    g_bytes_unref (g_array_index (sent, Sent, i).data);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  GPtrArray *entries;

  if (!dir)
    {
      g_autofree char *tmpl = g_build_filename (
          g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir (),
          "wsb-fuzz-journal-XXXXXX", NULL);
      dir = g_mkdtemp (g_steal_pointer (&tmpl));
      g_assert_nonnull (dir);
      g_log_set_writer_func (quiet, NULL, NULL);
    }
  path = g_build_filename (dir, "s.journal", NULL);
  g_unlink (path);
  if (size == 0)
    return 0;
  if (data[0] & 0x80)
    {
      /* Raw file contents: whatever is replayed, a second open agrees. */
      g_assert_true (g_file_set_contents (path, (const char *) data + 1, (gssize) size - 1, NULL));
      entries = reopen (path, FALSE);
      if (entries)
        {
          GPtrArray *again = reopen (path, TRUE);
          g_assert_cmpuint (entries->len, ==, again->len);
          g_ptr_array_unref (again);
          g_ptr_array_unref (entries);
        }
    }
  else
    run_script (path, data, size);
  g_unlink (path);
  return 0;
}
