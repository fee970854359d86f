#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsb-error.h"

/* The format is documented in journal.h. */
#define MAGIC "WSBJRNL\n"
#define MAGIC_LEN 8
#define VERSION 1
#define FILE_HEADER_SIZE 28
#define RECORD_HEADER_SIZE 28
#define MAX_PAYLOAD (1u << 30)
#define TYPE_ADD 1
#define TYPE_DONE 2
#define FLAG_BINARY 0x01
#define FLAG_TTL 0x02 /* the payload starts with the send's own ttl_ms (u32) */
#define TTL_SIZE 4
#define COMPACT_MIN_BYTES (64 * 1024)
#define COPY_CHUNK (64 * 1024)

/* Where a live ADD record sits, so compaction can copy it without keeping
 * payloads in memory. */
typedef struct
{
  guint64 id;
  guint64 offset;
  guint64 size;           /* header + payload */
  WsbJournalEntry *entry; /* only while replaying */
} LiveRecord;

struct _WsbJournal
{
  char *path;
  int fd;
  guint64 size;       /* end of the last good record: where the next one goes */
  guint64 live_bytes; /* sum of the live records' sizes */
  guint64 max_id;
  GHashTable *live;      /* &LiveRecord.id → LiveRecord* */
  gboolean dirty;        /* written since the last fsync */
  gboolean must_rewrite; /* an fsync or a DONE failed: only a fresh file is trustworthy */
};

static guint32 crc_table[256];

static guint32
crc32c (guint32 crc, const guint8 *p, gsize len)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      for (guint32 i = 0; i < 256; i++)
        {
          guint32 c = i;

          for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
          crc_table[i] = c;
        }
      g_once_init_leave (&initialized, 1);
    }
  crc = ~crc;
  while (len--)
    crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static inline void
put_u32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_u64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, sizeof v);
}

static inline guint16
get_u16 (const guint8 *p)
{
  guint16 v;

  memcpy (&v, p, sizeof v);
  return GUINT16_FROM_LE (v);
}

static inline guint32
get_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline guint64
get_u64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, sizeof v);
  return GUINT64_FROM_LE (v);
}

static gboolean
fail_errno (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "Could not %s %s: %s", what, path,
               g_strerror (saved_errno));
  return FALSE;
}

/* Reads len bytes at off; fewer only at the end of the file. */
static gssize
pread_full (int fd, void *buf, gsize len, guint64 off)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = pread (fd, (guint8 *) buf + done, len - done, (off_t) (off + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += n;
    }
  return done;
}

static gboolean
pwrite_full (int fd, const void *buf, gsize len, guint64 off)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = pwrite (fd, (const guint8 *) buf + done, len - done, (off_t) (off + done));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

static gboolean
fsync_dir (const char *dir, GError **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return fail_errno (error, errno, "open directory", dir);
  if (fsync (fd) < 0)
    {
      int saved_errno = errno;

      close (fd);
      return fail_errno (error, saved_errno, "fsync directory", dir);
    }
  close (fd);
  return TRUE;
}

void
wsb_journal_entry_free (WsbJournalEntry *e)
{
  if (!e)
    return;
  g_bytes_unref (e->data);
  g_free (e);
}

static void
live_record_free (gpointer p)
{
  LiveRecord *rec = p;

  wsb_journal_entry_free (rec->entry);
  g_free (rec);
}

static LiveRecord *
live_add (WsbJournal *j, guint64 id, guint64 offset, guint64 size)
{
  LiveRecord *rec = g_new0 (LiveRecord, 1);

  rec->id = id;
  rec->offset = offset;
  rec->size = size;
  g_hash_table_insert (j->live, &rec->id, rec);
  j->live_bytes += size;
  return rec;
}

static void
live_remove (WsbJournal *j, guint64 id)
{
  LiveRecord *rec = g_hash_table_lookup (j->live, &id);

  if (!rec)
    return;
  j->live_bytes -= rec->size;
  g_hash_table_remove (j->live, &id);
}

static gint
compare_offset (gconstpointer a, gconstpointer b)
{
  const LiveRecord *ra = *(LiveRecord *const *) a;
  const LiveRecord *rb = *(LiveRecord *const *) b;

  return ra->offset < rb->offset ? -1 : ra->offset > rb->offset;
}

/* The live records in file order, which is the order they were added. */
static GPtrArray *
live_sorted (WsbJournal *j)
{
  GPtrArray *recs = g_ptr_array_sized_new (g_hash_table_size (j->live));
  GHashTableIter iter;
  gpointer rec;

  g_hash_table_iter_init (&iter, j->live);
  while (g_hash_table_iter_next (&iter, NULL, &rec))
    g_ptr_array_add (recs, rec);
  g_ptr_array_sort (recs, compare_offset);
  return recs;
}

static guint64
dead_bytes (const WsbJournal *j)
{
  return j->size - FILE_HEADER_SIZE - j->live_bytes;
}

static WsbJournal *
journal_new (const char *path)
{
  WsbJournal *j = g_new0 (WsbJournal, 1);

  j->path = g_strdup (path);
  j->fd = -1;
  j->live = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, live_record_free);
  return j;
}

static void
journal_free (WsbJournal *j)
{
  if (j->fd >= 0)
    close (j->fd);
  g_hash_table_unref (j->live);
  g_free (j->path);
  g_free (j);
}

/* Writes the file header and copies the records recs from j->fd to fd,
 * storing their new offsets in offsets and the end of the file in *end. */
static gboolean
write_compacted (WsbJournal *j, int fd, const char *tmp, GPtrArray *recs, guint64 *offsets,
                 guint64 *end, GError **error)
{
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  guint64 out = FILE_HEADER_SIZE;

  memcpy (buf, MAGIC, MAGIC_LEN);
  put_u32 (buf + 8, VERSION);
  put_u32 (buf + 12, 0);
  put_u64 (buf + 16, j->max_id);
  put_u32 (buf + 24, crc32c (0, buf, 24));
  if (!pwrite_full (fd, buf, FILE_HEADER_SIZE, 0))
    return fail_errno (error, errno, "write", tmp);

  for (guint i = 0; i < recs->len; i++)
    {
      const LiveRecord *rec = recs->pdata[i];

      offsets[i] = out;
      for (guint64 copied = 0; copied < rec->size;)
        {
          gsize chunk = MIN (rec->size - copied, COPY_CHUNK);
          gssize n = pread_full (j->fd, buf, chunk, rec->offset + copied);

          if (n < 0)
            return fail_errno (error, errno, "read journal", j->path);
          if ((gsize) n < chunk)
            {
              g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                           "Could not read journal %s: it shrank while being compacted", j->path);
              return FALSE;
            }
          if (!pwrite_full (fd, buf, chunk, out))
            return fail_errno (error, errno, "write", tmp);
          out += chunk;
          copied += chunk;
        }
    }
  if (fdatasync (fd) < 0)
    return fail_errno (error, errno, "fsync", tmp);
  *end = out;
  return TRUE;
}

/* Compaction: replaces the file atomically with one holding only the live
 * records. With no file open yet, this creates a new journal. */
static gboolean
rewrite (WsbJournal *j, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (j->path);
  g_autofree char *base = g_path_get_basename (j->path);
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  g_autoptr (GPtrArray) recs = live_sorted (j);
  g_autofree guint64 *offsets = g_new (guint64, recs->len);
  guint64 end = 0;
  int fd;

  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail_errno (error, errno, "create", tmp);
  if (!write_compacted (j, fd, tmp, recs, offsets, &end, error))
    {
      close (fd);
      unlink (tmp);
      return FALSE;
    }
  if (rename (tmp, j->path) < 0)
    {
      int saved_errno = errno;

      close (fd);
      unlink (tmp);
      return fail_errno (error, saved_errno, "rename a new file to journal", j->path);
    }

  if (j->fd >= 0)
    close (j->fd);
  j->fd = fd;
  j->size = end;
  for (guint i = 0; i < recs->len; i++)
    ((LiveRecord *) recs->pdata[i])->offset = offsets[i];
  j->dirty = FALSE;
  /* Until the rename is durable a crash may bring back the old file, whose
   * latest records need not have reached the disk. */
  j->must_rewrite = !fsync_dir (dir, error);
  return !j->must_rewrite;
}

/* Reads the record at off. Returns FALSE on an I/O error; a record that is
 * not good sets *why instead. */
static gboolean
replay_record (WsbJournal *j, guint64 off, guint64 file_size, guint64 *size, char **why,
               GError **error)
{
  guint8 hdr[RECORD_HEADER_SIZE];
  g_autofree guint8 *payload = NULL;
  guint8 type, flags;
  guint32 len;
  guint64 id;
  gssize n;

  n = pread_full (j->fd, hdr, MIN (file_size - off, sizeof hdr), off);
  if (n < 0)
    return fail_errno (error, errno, "read journal", j->path);
  if ((gsize) n < sizeof hdr)
    {
      *why = g_strdup ("incomplete record header");
      return TRUE;
    }
  type = hdr[4];
  flags = hdr[5];
  len = get_u32 (hdr + 8);
  id = get_u64 (hdr + 12);
  if ((type != TYPE_ADD && type != TYPE_DONE) || (flags & ~(FLAG_BINARY | FLAG_TTL))
      || get_u16 (hdr + 6) || (type == TYPE_DONE && (len || flags))
      || ((flags & FLAG_TTL) && len < TTL_SIZE))
    {
      *why = g_strdup ("bad record header");
      return TRUE;
    }
  if (len > MAX_PAYLOAD)
    {
      *why = g_strdup_printf ("record length %u is over the 1 GiB limit", len);
      return TRUE;
    }
  if (len > file_size - off - RECORD_HEADER_SIZE)
    {
      *why = g_strdup_printf ("incomplete record (%u payload bytes, %" G_GUINT64_FORMAT
                              " left in the file)",
                              len, file_size - off - RECORD_HEADER_SIZE);
      return TRUE;
    }
  payload = g_malloc (len);
  n = pread_full (j->fd, payload, len, off + RECORD_HEADER_SIZE);
  if (n < 0)
    return fail_errno (error, errno, "read journal", j->path);
  if ((gsize) n < len)
    {
      *why = g_strdup ("incomplete record");
      return TRUE;
    }
  if (crc32c (crc32c (0, hdr + 4, sizeof hdr - 4), payload, len) != get_u32 (hdr))
    {
      *why = g_strdup ("bad checksum");
      return TRUE;
    }
  if (type == TYPE_ADD && g_hash_table_contains (j->live, &id))
    {
      *why = g_strdup_printf ("id %" G_GUINT64_FORMAT " added twice", id);
      return TRUE;
    }

  *size = RECORD_HEADER_SIZE + (guint64) len;
  j->max_id = MAX (j->max_id, id);
  if (type == TYPE_DONE)
    {
      live_remove (j, id);
      return TRUE;
    }
  LiveRecord *rec = live_add (j, id, off, *size);
  rec->entry = g_new0 (WsbJournalEntry, 1);
  rec->entry->id = id;
  rec->entry->binary = (flags & FLAG_BINARY) != 0;
  rec->entry->queued_us = (gint64) get_u64 (hdr + 20);
  if (flags & FLAG_TTL)
    {
      rec->entry->ttl_ms = get_u32 (payload);
      rec->entry->data = g_bytes_new (payload + TTL_SIZE, len - TTL_SIZE);
    }
  else
    rec->entry->data = g_bytes_new_take (g_steal_pointer (&payload), len);
  return TRUE;
}

/* Replays the open file. *good_end is where the good part of the file ends
 * (0 when even the file header is unusable); *why says why the rest is not. */
static gboolean
replay (WsbJournal *j, guint64 file_size, guint64 *good_end, char **why, GError **error)
{
  guint8 hdr[FILE_HEADER_SIZE];
  guint64 off = FILE_HEADER_SIZE;
  gssize n;

  *good_end = 0;
  if (file_size == 0)
    return TRUE;
  n = pread_full (j->fd, hdr, MIN (file_size, sizeof hdr), 0);
  if (n < 0)
    return fail_errno (error, errno, "read journal", j->path);
  if (memcmp (hdr, MAGIC, MIN ((gsize) n, MAGIC_LEN)) != 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "%s is not a wsbridge journal (bad magic); left untouched", j->path);
      return FALSE;
    }
  if ((gsize) n < sizeof hdr)
    {
      *why = g_strdup ("incomplete file header");
      return TRUE;
    }
  /* A newer format may differ in more than the version: keep it for the
   * wsbridge that wrote it rather than cutting it off as corrupt. */
  if (get_u32 (hdr + 8) != VERSION)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "Journal %s has format version %u, this wsbridge reads version %u; left "
                   "untouched",
                   j->path, get_u32 (hdr + 8), VERSION);
      return FALSE;
    }
  if (get_u32 (hdr + 12) != 0 || get_u32 (hdr + 24) != crc32c (0, hdr, 24))
    {
      *why = g_strdup ("bad file header");
      return TRUE;
    }
  j->max_id = get_u64 (hdr + 16);

  while (off < file_size)
    {
      guint64 size = 0;

      if (!replay_record (j, off, file_size, &size, why, error))
        return FALSE;
      if (*why)
        break;
      off += size;
    }
  *good_end = off;
  return TRUE;
}

/* A crash during compaction leaves its temp file behind; nothing reads it. */
static void
remove_stale_temp_files (const char *dir, const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *prefix = g_strdup_printf (".%s.", base);
  gsize temp_len = strlen (prefix) + 6; /* the XXXXXX of g_mkstemp_full */
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (!d)
    return;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *stale = NULL;

      if (!g_str_has_prefix (name, prefix) || strlen (name) != temp_len)
        continue;
      stale = g_build_filename (dir, name, NULL);
      if (unlink (stale) < 0)
        g_debug ("Could not remove %s: %s", stale, g_strerror (errno));
    }
  g_dir_close (d);
}

static gboolean
journal_load (WsbJournal *j, GPtrArray **entries, char **warning, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (j->path);
  g_autofree char *why = NULL;
  g_autoptr (GPtrArray) recs = NULL;
  guint64 good_end;
  struct stat st;

  *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_journal_entry_free);
  if (g_mkdir_with_parents (dir, 0700) < 0)
    return fail_errno (error, errno, "create the directory of journal", j->path);
  remove_stale_temp_files (dir, j->path);

  j->fd = open (j->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (j->fd < 0 && errno == ENOENT)
    return rewrite (j, error); /* a new journal appears with its header, atomically */
  if (j->fd < 0)
    return fail_errno (error, errno, "open journal", j->path);
  if (fstat (j->fd, &st) < 0)
    return fail_errno (error, errno, "stat journal", j->path);
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "Journal %s is not a regular file", j->path);
      return FALSE;
    }

  if (!replay (j, st.st_size, &good_end, &why, error))
    return FALSE;
  recs = live_sorted (j);
  for (guint i = 0; i < recs->len; i++)
    {
      LiveRecord *rec = recs->pdata[i];

      g_ptr_array_add (*entries, g_steal_pointer (&rec->entry));
    }
  if (why)
    *warning = g_strdup_printf ("Journal %s: dropped %" G_GUINT64_FORMAT
                                " bytes from byte offset %" G_GUINT64_FORMAT " (%s)",
                                j->path, (guint64) st.st_size - good_end, good_end, why);

  /* Empty, or its header unusable: start the file over. */
  if (good_end < FILE_HEADER_SIZE)
    return rewrite (j, error);
  j->size = good_end;
  if (good_end < (guint64) st.st_size
      && (ftruncate (j->fd, (off_t) good_end) < 0 || fdatasync (j->fd) < 0))
    return fail_errno (error, errno, "truncate journal", j->path);
  if (dead_bytes (j) > 0)
    return rewrite (j, error);
  return TRUE;
}

WsbJournal *
wsb_journal_open (const char *path, GPtrArray **entries, char **warning, GError **error)
{
  g_autoptr (GPtrArray) replayed = NULL;
  g_autofree char *dropped = NULL;
  WsbJournal *j;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (warning == NULL || *warning == NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  j = journal_new (path);
  if (!journal_load (j, &replayed, &dropped, error))
    {
      journal_free (j);
      return NULL;
    }
  if (entries)
    *entries = g_steal_pointer (&replayed);
  if (warning)
    *warning = g_steal_pointer (&dropped);
  else if (dropped)
    g_warning ("%s", dropped);
  return j;
}

guint64
wsb_journal_max_id (const WsbJournal *j)
{
  return j->max_id;
}

const char *
wsb_journal_path (const WsbJournal *j)
{
  return j->path;
}

/* Writes one record at the end of the good part of the file. On failure the
 * file is cut back, so a torn record never sits before later ones. */
static gboolean
write_record (WsbJournal *j, const guint8 *rec, gsize size, GError **error)
{
  if (!pwrite_full (j->fd, rec, size, j->size))
    {
      int saved_errno = errno;

      /* Best effort: should this fail too, the next record overwrites the
       * torn one, and replay cuts off whatever is left of it. */
      if (ftruncate (j->fd, (off_t) j->size) < 0)
        g_debug ("Could not truncate journal %s: %s", j->path, g_strerror (errno));
      return fail_errno (error, saved_errno, "write journal", j->path);
    }
  j->size += size;
  j->dirty = TRUE;
  return TRUE;
}

static void
encode_record_header (guint8 *hdr, guint8 type, guint8 flags, guint32 len, guint64 id,
                      gint64 queued_us)
{
  hdr[4] = type;
  hdr[5] = flags;
  hdr[6] = hdr[7] = 0;
  put_u32 (hdr + 8, len);
  put_u64 (hdr + 12, id);
  put_u64 (hdr + 20, (guint64) queued_us);
}

gboolean
wsb_journal_append (WsbJournal *j, guint64 id, gboolean binary, gint64 queued_us, guint32 ttl_ms,
                    const guint8 *data, gsize len, GError **error)
{
  g_autofree guint8 *rec = NULL;
  gsize extra = ttl_ms ? TTL_SIZE : 0;
  gsize size;

  g_return_val_if_fail (j != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len > MAX_PAYLOAD - TTL_SIZE)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "Could not add to journal %s: a message of %" G_GSIZE_FORMAT
                   " bytes is over the 1 GiB limit",
                   j->path, len);
      return FALSE;
    }
  if (g_hash_table_contains (j->live, &id))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "Could not add to journal %s: id %" G_GUINT64_FORMAT " is already queued",
                   j->path, id);
      return FALSE;
    }

  size = RECORD_HEADER_SIZE + extra + len;
  rec = g_malloc (size);
  encode_record_header (rec, TYPE_ADD, (binary ? FLAG_BINARY : 0) | (ttl_ms ? FLAG_TTL : 0),
                        (guint32) (extra + len), id, queued_us);
  if (ttl_ms)
    put_u32 (rec + RECORD_HEADER_SIZE, ttl_ms);
  if (len)
    memcpy (rec + RECORD_HEADER_SIZE + extra, data, len);
  put_u32 (rec, crc32c (0, rec + 4, size - 4));

  if (!write_record (j, rec, size, error))
    return FALSE;
  live_add (j, id, j->size - size, size);
  j->max_id = MAX (j->max_id, id);
  return TRUE;
}

gboolean
wsb_journal_done (WsbJournal *j, guint64 id, GError **error)
{
  guint8 rec[RECORD_HEADER_SIZE];

  g_return_val_if_fail (j != NULL, FALSE);

  if (!g_hash_table_contains (j->live, &id))
    return TRUE;
  encode_record_header (rec, TYPE_DONE, 0, 0, id, 0);
  put_u32 (rec, crc32c (0, rec + 4, sizeof rec - 4));
  if (!write_record (j, rec, sizeof rec, error))
    {
      /* The file still holds id as live: only a rewrite without it can
       * keep a send that went out from being replayed. */
      live_remove (j, id);
      j->must_rewrite = TRUE;
      return FALSE;
    }
  live_remove (j, id);
  return TRUE;
}

gboolean
wsb_journal_needs_sync (const WsbJournal *j)
{
  return j->dirty || j->must_rewrite;
}

gboolean
wsb_journal_sync (WsbJournal *j, GError **error)
{
  g_return_val_if_fail (j != NULL, FALSE);

  if (j->dirty && !j->must_rewrite)
    {
      if (fdatasync (j->fd) < 0)
        {
          /* Retrying fsync could report success for pages the kernel has
           * already given up on; copy everything to a fresh file instead. */
          j->must_rewrite = TRUE;
          return fail_errno (error, errno, "fsync journal", j->path);
        }
      j->dirty = FALSE;
    }
  if (j->must_rewrite || (j->size > COMPACT_MIN_BYTES && dead_bytes (j) > 2 * j->live_bytes))
    return rewrite (j, error);
  return TRUE;
}

void
wsb_journal_close (WsbJournal *j)
{
  g_autoptr (GError) error = NULL;

  if (!j)
    return;
  if (wsb_journal_needs_sync (j) && !wsb_journal_sync (j, &error))
    g_warning ("%s", error->message);
  journal_free (j);
}

gboolean
wsb_journal_remove (WsbJournal *j, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (j->path);
  gboolean ok = TRUE;

  if (unlink (j->path) < 0 && errno != ENOENT)
    ok = fail_errno (error, errno, "remove journal", j->path);
  /* Make the removal durable, so a restart does not resend what the
   * session's removal cancelled. */
  else
    ok = fsync_dir (dir, error);
  journal_free (j);
  return ok;
}
