/* An inbound message, encoded once as a wsbridge.v1.Message and shared by
 * reference between history and every subscriber. The encoding lives in the
 * message's own allocation, or, for a large message, in the block the
 * WebSocket client reassembled it in (its head written into the block's
 * headroom), so that a message of max_message_bytes is never held twice. */
#pragma once

#include <glib.h>

/* The longest head an encoded Message puts before its payload: the session
 * and channel names at their limits (64 and 255 bytes), the varints at 10
 * bytes each, the fixed fields and the tags. */
#define WSB_MESSAGE_HEAD_MAX 400

typedef struct
{
  gint ref;
  gboolean binary;
  guint64 seq;
  gint64 time_us;
  gsize data_offset; /* payload bytes within enc */
  gsize data_len;
  guint32 channel_offset; /* the channel's name within enc (not NUL-terminated) */
  guint32 channel_len;
  gsize enc_len;
  guint8 *enc;   /* the encoded Message: into block, or tail */
  guint8 *block; /* the adopted block, or NULL */
  guint8 tail[];
} WsbMessage;

WsbMessage *wsb_message_new (const char *session, const char *channel, guint64 seq, guint64 epoch,
                             gint64 time_us, gboolean binary, const guint8 *data, gsize len);
/* The same, taking over block (g_free-able), which holds the len payload
 * bytes headroom bytes in: the head goes into the headroom, the payload
 * stays where it is. NULL, and block left to the caller, when the head
 * does not fit in headroom. */
WsbMessage *wsb_message_new_in_block (const char *session, const char *channel, guint64 seq,
                                      guint64 epoch, gint64 time_us, gboolean binary, guint8 *block,
                                      gsize headroom, gsize len);
WsbMessage *wsb_message_ref (WsbMessage *m);
void wsb_message_unref (WsbMessage *m);

static inline const guint8 *
wsb_message_data (const WsbMessage *m)
{
  return m->enc + m->data_offset;
}

/* The channel's name ("*" unless routed), channel_len bytes. */
static inline const char *
wsb_message_channel (const WsbMessage *m)
{
  return (const char *) m->enc + m->channel_offset;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbMessage, wsb_message_unref)
