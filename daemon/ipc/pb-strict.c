#include "pb-strict.h"

#include <string.h>

/* The unpack's allocations, so that a string's wire length (its allocation
 * less the terminating NUL) can be compared with its strlen. */
static void *
track_alloc (void *data, size_t size)
{
  void *p = g_malloc (size ? size : 1);

  g_hash_table_insert (data, p, GSIZE_TO_POINTER (size));
  return p;
}

static void
track_free (void *data, void *p)
{
  g_hash_table_remove (data, p);
  g_free (p);
}

static void
plain_free (void *data, void *p)
{
  g_free (p);
}

static gboolean
string_ok (GHashTable *sizes, const char *s)
{
  gpointer size;

  /* Strings not allocated by the unpack are protobuf-c's static defaults. */
  if (!s || !g_hash_table_lookup_extended (sizes, s, NULL, &size))
    return TRUE;
  return strlen (s) + 1 == GPOINTER_TO_SIZE (size);
}

/* The name of the first string field holding a NUL byte, or NULL. */
static const char *
nul_field (GHashTable *sizes, const ProtobufCMessage *msg)
{
  const ProtobufCMessageDescriptor *desc = msg->descriptor;

  for (unsigned i = 0; i < desc->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &desc->fields[i];
      const guint8 *base = (const guint8 *) msg;
      const void *member = base + f->offset;
      size_t n = 1;

      if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
        continue;
      if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
          && *(const uint32_t *) (base + f->quantifier_offset) != f->id)
        continue;
      if (f->label == PROTOBUF_C_LABEL_REPEATED)
        {
          n = *(const size_t *) (base + f->quantifier_offset);
          member = *(void *const *) member;
        }
      for (size_t k = 0; k < n; k++)
        {
          void *item = ((void *const *) member)[k];
          const char *bad = NULL;
          if (f->type == PROTOBUF_C_TYPE_STRING)
            bad = string_ok (sizes, item) ? NULL : f->name;
          else if (item)
            bad = nul_field (sizes, item);
          if (bad)
            return bad;
        }
    }
  return NULL;
}

ProtobufCMessage *
wsb_pb_unpack_strict (const ProtobufCMessageDescriptor *desc, const guint8 *data, gsize len,
                      const char **nul_in)
{
  g_autoptr (GHashTable) sizes = g_hash_table_new (g_direct_hash, g_direct_equal);
  ProtobufCAllocator tracker = { track_alloc, track_free, sizes };
  ProtobufCMessage *msg = protobuf_c_message_unpack (desc, &tracker, len, data);

  *nul_in = msg ? nul_field (sizes, msg) : NULL;
  return msg;
}

void
wsb_pb_free_strict (ProtobufCMessage *msg)
{
  ProtobufCAllocator plain = { track_alloc, plain_free, NULL };

  if (msg)
    protobuf_c_message_free_unpacked (msg, &plain);
}
