#include "journal.h"
#include "test-util.h"
#include "wsb-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HEADER 28
#define RECORD_HEADER 28

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = wsb_test_tmp_dir ("wsb-journal-XXXXXX");
  f->path = g_build_filename (f->dir, "queue.journal", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  wsb_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static guint64
file_size (const char *path)
{
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static GBytes *
read_all (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents;
  gsize len;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static void
write_all (const char *path, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

/* The payload of test entry id: its length varies with the id, 0 included. */
static GBytes *
payload (guint64 id)
{
  gsize len = (id * 7) % 40;
  guint8 *data = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) (id * 31 + i);
  return g_bytes_new_take (data, len);
}

static gsize
record_size (guint64 id)
{
  g_autoptr (GBytes) b = payload (id);

  return RECORD_HEADER + g_bytes_get_size (b);
}

static void
append (WsbJournal *j, guint64 id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) b = payload (id);

  g_assert_true (wsb_journal_append (j, id, id % 2, 1000000 * (gint64) id, 0,
                                     g_bytes_get_data (b, NULL), g_bytes_get_size (b), &error));
  g_assert_no_error (error);
}

static void
done (WsbJournal *j, guint64 id)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (wsb_journal_done (j, id, &error));
  g_assert_no_error (error);
}

static void
assert_entries (GPtrArray *entries, const guint64 *ids, guint n)
{
  g_assert_cmpuint (entries->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      WsbJournalEntry *e = entries->pdata[i];
      g_autoptr (GBytes) b = payload (ids[i]);

      g_assert_cmpuint (e->id, ==, ids[i]);
      g_assert_cmpint (e->binary, ==, ids[i] % 2);
      g_assert_cmpint (e->queued_us, ==, 1000000 * (gint64) ids[i]);
      g_assert_true (g_bytes_equal (e->data, b));
    }
}

/* Opens f->path, expecting success and no warning. */
static WsbJournal *
open_clean (Fixture *f, GPtrArray **entries)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *warning = NULL;
  WsbJournal *j = wsb_journal_open (f->path, entries, &warning, &error);

  g_assert_no_error (error);
  g_assert_null (warning);
  g_assert_nonnull (j);
  return j;
}

/* Opens f->path, expecting success with a warning that names the file and
 * the offset where the good data ends. */
static WsbJournal *
open_dropping (Fixture *f, GPtrArray **entries, guint64 good_end, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *offset = g_strdup_printf ("offset %" G_GUINT64_FORMAT " ", good_end);
  WsbJournal *j = wsb_journal_open (f->path, entries, &warning, &error);

  g_assert_no_error (error);
  g_assert_nonnull (j);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, f->path));
  g_assert_nonnull (strstr (warning, offset));
  g_assert_null (strchr (warning, '\n'));
  if (why)
    g_assert_nonnull (strstr (warning, why));
  return j;
}

static void
test_append_done_replay (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  WsbJournal *j;
  guint64 size;

  j = open_clean (f, &entries);
  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 0);
  for (guint64 id = 1; id <= 5; id++)
    append (j, id);
  done (j, 2);
  done (j, 4);
  /* Unknown ids are nothing to do. */
  size = file_size (f->path);
  done (j, 4);
  done (j, 99);
  g_assert_cmpuint (file_size (f->path), ==, size);
  g_assert_true (wsb_journal_sync (j, &error));
  g_assert_no_error (error);
  wsb_journal_close (j);

  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  assert_entries (entries, (guint64[]){ 1, 3, 5 }, 3);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 5);
  append (j, 6);
  done (j, 5);
  wsb_journal_close (j);

  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  assert_entries (entries, (guint64[]){ 1, 3, 6 }, 3);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 6);
  wsb_journal_close (j);
}

static void
test_ids (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  WsbJournal *j = open_clean (f, NULL);

  append (j, 1);
  g_assert_false (wsb_journal_append (j, 1, FALSE, 0, 0, (const guint8 *) "x", 1, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);
  /* Once done, an id may come back (and continues to count for max_id). */
  append (j, 7);
  done (j, 7);
  append (j, 7);
  done (j, 7);
  wsb_journal_close (j);

  /* The highest id outlives compaction of its records. */
  j = open_clean (f, &entries);
  assert_entries (entries, (guint64[]){ 1 }, 1);
  g_assert_cmpuint (file_size (f->path), ==, FILE_HEADER + record_size (1));
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 7);
  done (j, 1);
  wsb_journal_close (j);
  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 7);
  wsb_journal_close (j);
  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 7);
  wsb_journal_close (j);
}

static void
test_needs_sync (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  WsbJournal *j = open_clean (f, NULL);

  g_assert_false (wsb_journal_needs_sync (j));
  append (j, 1);
  append (j, 2);
  g_assert_true (wsb_journal_needs_sync (j));
  g_assert_true (wsb_journal_sync (j, &error));
  g_assert_no_error (error);
  g_assert_false (wsb_journal_needs_sync (j));
  done (j, 1);
  g_assert_true (wsb_journal_needs_sync (j));
  g_assert_true (wsb_journal_sync (j, &error));
  g_assert_false (wsb_journal_needs_sync (j));
  /* Nothing to do is not a write. */
  done (j, 1);
  g_assert_false (wsb_journal_needs_sync (j));
  wsb_journal_close (j);
}

static void
assert_only_journal_in_dir (Fixture *f)
{
  GDir *dir = g_dir_open (f->dir, 0, NULL);

  g_assert_cmpstr (g_dir_read_name (dir), ==, "queue.journal");
  g_assert_null (g_dir_read_name (dir));
  g_dir_close (dir);
}

static void
test_compaction (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autofree guint8 *big = g_malloc0 (70000);
  WsbJournal *j = open_clean (f, NULL);
  guint64 live = FILE_HEADER, size;

  for (guint64 id = 1; id <= 10; id++)
    {
      append (j, id);
      live += record_size (id);
    }
  /* Below 64 KiB dead records are left alone. */
  append (j, 11);
  done (j, 11);
  g_assert_true (wsb_journal_sync (j, &error));
  size = file_size (f->path);
  g_assert_cmpuint (size, ==, live + record_size (11) + RECORD_HEADER);

  /* Past 64 KiB, with dead bytes over twice the live ones: compacted. */
  g_assert_true (wsb_journal_append (j, 12, TRUE, 0, 0, big, 70000, &error));
  done (j, 12);
  g_assert_cmpuint (file_size (f->path), ==, size + RECORD_HEADER + 70000 + RECORD_HEADER);
  g_assert_true (wsb_journal_sync (j, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_size (f->path), ==, live);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 12);
  assert_only_journal_in_dir (f);
  g_assert_cmpint (g_access (f->path, F_OK), ==, 0);

  /* The live records moved: later operations still find them. */
  for (guint64 id = 1; id <= 5; id++)
    done (j, id);
  append (j, 13);
  wsb_journal_close (j);
  j = open_clean (f, &entries);
  assert_entries (entries, (guint64[]){ 6, 7, 8, 9, 10, 13 }, 6);
  wsb_journal_close (j);
  assert_only_journal_in_dir (f);
}

static void
test_compaction_many (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GArray) expect = g_array_new (FALSE, FALSE, sizeof (guint64));
  WsbJournal *j = open_clean (f, NULL);
  guint64 written = 0;

  /* A queue that mostly drains, synced in batches: the file stays small. */
  for (guint64 id = 1; id <= 5000; id++)
    {
      append (j, id);
      written += record_size (id);
      if (id % 97 == 0)
        g_array_append_val (expect, id);
      /* Each send leaves the queue three sends later, but every 97th stays. */
      if (id > 3 && (id - 3) % 97)
        {
          done (j, id - 3);
          written += RECORD_HEADER;
        }
      if (id % 50 == 0)
        {
          g_assert_true (wsb_journal_sync (j, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (file_size (f->path), <, 128 * 1024);
        }
    }
  g_assert_cmpuint (written, >, 256 * 1024);
  for (guint64 id = 4998; id <= 5000; id++)
    if (id % 97)
      done (j, id);
  wsb_journal_close (j);
  j = open_clean (f, &entries);
  assert_entries (entries, &g_array_index (expect, guint64, 0), expect->len);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 5000);
  wsb_journal_close (j);
}

static void
test_torn_tail (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  WsbJournal *j = open_clean (f, NULL);
  gsize last = record_size (3), len, good;

  g_assert_cmpuint (last, >, RECORD_HEADER);
  for (guint64 id = 1; id <= 3; id++)
    append (j, id);
  wsb_journal_close (j);
  whole = read_all (f->path);
  len = g_bytes_get_size (whole);
  good = len - last;

  for (gsize cut = 1; cut <= last; cut++)
    {
      g_autoptr (GPtrArray) entries = NULL;

      write_all (f->path, g_bytes_get_data (whole, NULL), len - cut);
      if (cut == last)
        j = open_clean (f, &entries); /* a whole record gone looks clean */
      else
        j = open_dropping (f, &entries, good, cut > last - RECORD_HEADER ? "header" : "record");
      assert_entries (entries, (guint64[]){ 1, 2 }, 2);
      g_assert_cmpuint (file_size (f->path), ==, good);
      g_assert_cmpuint (wsb_journal_max_id (j), ==, 2);
      wsb_journal_close (j);

      g_clear_pointer (&entries, g_ptr_array_unref);
      j = open_clean (f, &entries);
      assert_entries (entries, (guint64[]){ 1, 2 }, 2);
      wsb_journal_close (j);
    }
}

/* Writes whole with one byte changed to f->path; returns what it wrote. */
static GBytes *
flip_byte (Fixture *f, GBytes *whole, gsize pos)
{
  gsize len = g_bytes_get_size (whole);
  guint8 *copy = g_memdup2 (g_bytes_get_data (whole, NULL), len);

  copy[pos] ^= 0x20;
  write_all (f->path, copy, len);
  return g_bytes_new_take (copy, len);
}

static void
test_corrupt_middle (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  WsbJournal *j = open_clean (f, NULL);
  gsize third = FILE_HEADER + record_size (1) + record_size (2);

  g_assert_cmpuint (record_size (3), >, RECORD_HEADER);
  for (guint64 id = 1; id <= 5; id++)
    append (j, id);
  wsb_journal_close (j);
  whole = read_all (f->path);

  g_bytes_unref (flip_byte (f, whole, third + RECORD_HEADER + 1));
  j = open_dropping (f, &entries, third, "checksum");
  assert_entries (entries, (guint64[]){ 1, 2 }, 2);
  g_assert_cmpuint (file_size (f->path), ==, third);
  wsb_journal_close (j);
  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  assert_entries (entries, (guint64[]){ 1, 2 }, 2);
  wsb_journal_close (j);
}

/* Flipping any byte of a journal never crashes and never invents data: it
 * is either refused (magic, version) with the file untouched, or reported,
 * keeping only entries that really were live up to the damage. */
static void
test_every_byte (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  WsbJournal *j = open_clean (f, NULL);

  for (guint64 id = 1; id <= 4; id++)
    append (j, id);
  done (j, 2);
  wsb_journal_close (j);
  whole = read_all (f->path);

  for (gsize pos = 0; pos < g_bytes_get_size (whole); pos++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) entries = NULL;
      g_autofree char *warning = NULL;
      g_autoptr (GBytes) flipped = flip_byte (f, whole, pos);

      j = wsb_journal_open (f->path, &entries, &warning, &error);
      if (pos < 12)
        {
          g_autoptr (GBytes) now = read_all (f->path);

          g_assert_null (j);
          g_assert_error (error, WSB_ERROR, WSB_ERROR_FAILED);
          g_assert_nonnull (strstr (error->message, f->path));
          g_assert_true (g_bytes_equal (now, flipped));
          continue;
        }
      g_assert_no_error (error);
      g_assert_nonnull (j);
      g_assert_nonnull (warning);
      for (guint i = 0; i < entries->len; i++)
        {
          WsbJournalEntry *e = entries->pdata[i];
          g_autoptr (GBytes) b = payload (e->id);

          g_assert_cmpuint (e->id, >=, 1);
          g_assert_cmpuint (e->id, <=, 4);
          g_assert_true (g_bytes_equal (e->data, b));
        }
      wsb_journal_close (j);
      g_clear_pointer (&entries, g_ptr_array_unref);
      j = open_clean (f, &entries);
      wsb_journal_close (j);
    }
}

static void
test_impossible_length (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autofree guint8 *copy = NULL;
  WsbJournal *j = open_clean (f, NULL);
  gsize second = FILE_HEADER + record_size (1), len;

  append (j, 1);
  append (j, 2);
  wsb_journal_close (j);
  whole = read_all (f->path);
  copy = g_memdup2 (g_bytes_get_data (whole, &len), g_bytes_get_size (whole));

  /* Over 1 GiB in the second record's length field. */
  copy[second + 8] = 0x01;
  copy[second + 11] = 0x40;
  write_all (f->path, copy, len);
  j = open_dropping (f, &entries, second, "1 GiB");
  assert_entries (entries, (guint64[]){ 1 }, 1);
  wsb_journal_close (j);
  g_clear_pointer (&entries, g_ptr_array_unref);

  /* Larger than what is left of the file. */
  copy[second + 11] = 0x00;
  copy[second + 10] = 0x10;
  write_all (f->path, copy, len);
  j = open_dropping (f, &entries, second, "left in the file");
  assert_entries (entries, (guint64[]){ 1 }, 1);
  wsb_journal_close (j);
}

static void
test_bad_magic (Fixture *f, gconstpointer data)
{
  static const char junk[] = "[session]\nurl=wss://example.com\n";
  static const char *const files[] = { junk, "X", "WSBJRNL\r" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) entries = NULL;
      g_autofree char *warning = NULL;
      g_autoptr (GBytes) now = NULL;

      write_all (f->path, files[i], strlen (files[i]));
      g_assert_null (wsb_journal_open (f->path, &entries, &warning, &error));
      g_assert_error (error, WSB_ERROR, WSB_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, f->path));
      g_assert_nonnull (strstr (error->message, "magic"));
      g_assert_null (entries);
      g_assert_null (warning);
      now = read_all (f->path);
      g_assert_cmpmem (g_bytes_get_data (now, NULL), g_bytes_get_size (now), files[i],
                       strlen (files[i]));
    }
}

static void
test_bad_version (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GBytes) now = NULL;
  g_autofree guint8 *copy = NULL;
  WsbJournal *j = open_clean (f, NULL);
  gsize len;

  append (j, 1);
  wsb_journal_close (j);
  whole = read_all (f->path);
  copy = g_memdup2 (g_bytes_get_data (whole, &len), g_bytes_get_size (whole));
  copy[8] = 2;
  write_all (f->path, copy, len);
  g_assert_null (wsb_journal_open (f->path, NULL, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "version 2"));
  now = read_all (f->path);
  g_assert_cmpmem (g_bytes_get_data (now, NULL), g_bytes_get_size (now), copy, len);
}

static void
test_empty_and_short_files (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) entries = NULL;
  WsbJournal *j;

  /* An empty file becomes a new journal without fuss. */
  write_all (f->path, "", 0);
  j = open_clean (f, &entries);
  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 0);
  g_assert_cmpuint (file_size (f->path), ==, FILE_HEADER);
  append (j, 1);
  wsb_journal_close (j);
  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  assert_entries (entries, (guint64[]){ 1 }, 1);
  wsb_journal_close (j);

  /* A torn file header is dropped with a warning. */
  for (gsize len = 1; len < FILE_HEADER; len++)
    {
      g_autoptr (GBytes) header = NULL;

      g_clear_pointer (&entries, g_ptr_array_unref);
      j = open_clean (f, NULL);
      wsb_journal_close (j);
      header = read_all (f->path);
      write_all (f->path, g_bytes_get_data (header, NULL), len);
      j = open_dropping (f, &entries, 0, "header");
      g_assert_cmpuint (entries->len, ==, 0);
      g_assert_cmpuint (file_size (f->path), ==, FILE_HEADER);
      wsb_journal_close (j);
    }
}

static void
test_stale_temp_files (Fixture *f, gconstpointer data)
{
  g_autofree char *stale = g_build_filename (f->dir, ".queue.journal.AbC123", NULL);
  g_autofree char *other = g_build_filename (f->dir, ".queue.journal.keep", NULL);
  WsbJournal *j;

  /* What a crash during compaction leaves behind goes; other files stay. */
  write_all (stale, "x", 1);
  write_all (other, "x", 1);
  j = open_clean (f, NULL);
  g_assert_cmpint (g_access (stale, F_OK), ==, -1);
  g_assert_cmpint (g_access (other, F_OK), ==, 0);
  wsb_journal_close (j);
}

static void
test_header_only (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) entries = NULL;
  WsbJournal *j = open_clean (f, &entries);

  wsb_journal_close (j);
  g_assert_cmpuint (file_size (f->path), ==, FILE_HEADER);
  g_clear_pointer (&entries, g_ptr_array_unref);
  j = open_clean (f, &entries);
  g_assert_cmpuint (entries->len, ==, 0);
  wsb_journal_close (j);
}

static void
test_nothing_pending (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) entries = NULL;
  WsbJournal *j = open_clean (f, NULL);

  for (guint64 id = 1; id <= 3; id++)
    append (j, id);
  for (guint64 id = 1; id <= 3; id++)
    done (j, id);
  wsb_journal_close (j);
  j = open_clean (f, &entries);
  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (file_size (f->path), ==, FILE_HEADER);
  wsb_journal_close (j);
}

static void
test_done_unknown_id (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) whole = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autofree guint8 *only_done = NULL;
  WsbJournal *j = open_clean (f, NULL);
  gsize len;

  append (j, 9);
  done (j, 9);
  wsb_journal_close (j);
  /* Cut the ADD out: a DONE for an id the file never added. */
  whole = read_all (f->path);
  len = g_bytes_get_size (whole);
  g_assert_cmpuint (len, ==, FILE_HEADER + record_size (9) + RECORD_HEADER);
  only_done = g_malloc (FILE_HEADER + RECORD_HEADER);
  memcpy (only_done, g_bytes_get_data (whole, NULL), FILE_HEADER);
  memcpy (only_done + FILE_HEADER,
          (const guint8 *) g_bytes_get_data (whole, NULL) + len - RECORD_HEADER, RECORD_HEADER);
  write_all (f->path, only_done, FILE_HEADER + RECORD_HEADER);

  j = open_clean (f, &entries);
  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (wsb_journal_max_id (j), ==, 9);
  g_assert_cmpuint (file_size (f->path), ==, FILE_HEADER);
  wsb_journal_close (j);
}

static void
test_permissions (Fixture *f, gconstpointer data)
{
  g_autofree char *parent = g_build_filename (f->dir, "state", "wsbridge", NULL);
  g_autofree char *path = g_build_filename (parent, "s.journal", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GBytes) big = g_bytes_new_take (g_malloc0 (100000), 100000);
  WsbJournal *j;
  struct stat st;

  j = wsb_journal_open (path, &entries, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (g_stat (parent, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  /* Also after a compaction replaced the file. */
  g_assert_true (wsb_journal_append (j, 1, TRUE, 0, 0, g_bytes_get_data (big, NULL),
                                     g_bytes_get_size (big), &error));
  done (j, 1);
  g_assert_true (wsb_journal_sync (j, &error));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_size, ==, FILE_HEADER);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  wsb_journal_close (j);
}

static void
test_open_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *blocker = g_build_filename (f->dir, "file", NULL);
  g_autofree char *under = g_build_filename (blocker, "q.journal", NULL);

  /* A directory where the journal should be. */
  g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
  g_assert_null (wsb_journal_open (f->path, NULL, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, f->path));
  g_clear_error (&error);

  /* A file where its directory should be. */
  write_all (blocker, "", 0);
  g_assert_null (wsb_journal_open (under, NULL, NULL, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, under));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOTDIR)));
}

static void
test_remove (Fixture *f, gconstpointer data)
{
  WsbJournal *j = open_clean (f, NULL);
  g_autoptr (GError) error = NULL;
  GDir *dir;

  append (j, 1);
  g_assert_true (wsb_journal_remove (j, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_access (f->path, F_OK), ==, -1);
  dir = g_dir_open (f->dir, 0, NULL);
  g_assert_null (g_dir_read_name (dir));
  g_dir_close (dir);
}

static void
add (const char *name, void (*func) (Fixture *, gconstpointer))
{
  g_test_add (name, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add ("/journal/append-done-replay", test_append_done_replay);
  add ("/journal/ids", test_ids);
  add ("/journal/needs-sync", test_needs_sync);
  add ("/journal/compaction", test_compaction);
  add ("/journal/compaction-many", test_compaction_many);
  add ("/journal/torn-tail", test_torn_tail);
  add ("/journal/corrupt-middle", test_corrupt_middle);
  add ("/journal/every-byte", test_every_byte);
  add ("/journal/impossible-length", test_impossible_length);
  add ("/journal/bad-magic", test_bad_magic);
  add ("/journal/bad-version", test_bad_version);
  add ("/journal/empty-and-short-files", test_empty_and_short_files);
  add ("/journal/header-only", test_header_only);
  add ("/journal/stale-temp-files", test_stale_temp_files);
  add ("/journal/nothing-pending", test_nothing_pending);
  add ("/journal/done-unknown-id", test_done_unknown_id);
  add ("/journal/permissions", test_permissions);
  add ("/journal/open-errors", test_open_errors);
  add ("/journal/remove", test_remove);
  return g_test_run ();
}
