/* An inbound message, encoded once as a wsbridge.v1.Message in a single
 * allocation and shared by reference between history and every subscriber. */
#pragma once

#include <glib.h>

typedef struct
{
  gint ref;
  gboolean binary;
  guint64 seq;
  gint64 time_us;
  gsize data_offset; /* payload bytes within enc */
  gsize data_len;
  gsize enc_len;
  guint8 enc[]; /* the encoded Message */
} WsbMessage;

WsbMessage *wsb_message_new (const char *session, const char *channel, guint64 seq, guint64 epoch,
                             gint64 time_us, gboolean binary, const guint8 *data, gsize len);
WsbMessage *wsb_message_ref (WsbMessage *m);
void wsb_message_unref (WsbMessage *m);

static inline const guint8 *
wsb_message_data (const WsbMessage *m)
{
  return m->enc + m->data_offset;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbMessage, wsb_message_unref)
