#include "message.h"

#include <string.h>

#include "framing.h"

/* Where the encoding puts the channel's name: after the session field and
 * the channel's own tag and length (wsb_message_head_encode's order). */
static void
set_channel (WsbMessage *m, gsize slen, gsize clen)
{
  m->channel_offset = (guint32) (1 + wsb_varint_size (slen) + slen + 1 + wsb_varint_size (clen));
  m->channel_len = (guint32) clen;
}

WsbMessage *
wsb_message_new (const char *session, const char *channel, guint64 seq, guint64 epoch,
                 gint64 time_us, gboolean binary, const guint8 *data, gsize len)
{
  gsize slen = strlen (session), clen = strlen (channel);
  gsize enc_len = wsb_message_encoded_size (slen, clen, seq, time_us, binary, len);
  WsbMessage *m = g_malloc (sizeof *m + enc_len);

  m->ref = 1;
  m->binary = binary;
  m->seq = seq;
  m->time_us = time_us;
  m->data_len = len;
  m->enc_len = enc_len;
  m->enc = m->tail;
  m->block = NULL;
  m->data_offset = wsb_message_encode (m->enc, session, slen, channel, clen, seq, epoch, time_us,
                                       binary, data, len);
  set_channel (m, slen, clen);
  return m;
}

WsbMessage *
wsb_message_new_in_block (const char *session, const char *channel, guint64 seq, guint64 epoch,
                          gint64 time_us, gboolean binary, guint8 *block, gsize headroom, gsize len)
{
  gsize slen = strlen (session), clen = strlen (channel);
  gsize head = wsb_message_encoded_size (slen, clen, seq, time_us, binary, len) - len;
  WsbMessage *m;

  if (head > headroom)
    return NULL;
  m = g_new (WsbMessage, 1);
  m->ref = 1;
  m->binary = binary;
  m->seq = seq;
  m->time_us = time_us;
  m->data_len = len;
  m->enc_len = head + len;
  /* The block may be larger than its content (it grew by doubling). */
  m->block = g_realloc (block, headroom + len);
  m->enc = m->block + headroom - head;
  m->data_offset = wsb_message_head_encode (m->enc, session, slen, channel, clen, seq, epoch,
                                            time_us, binary, len);
  set_channel (m, slen, clen);
  return m;
}

WsbMessage *
wsb_message_ref (WsbMessage *m)
{
  m->ref++;
  return m;
}

void
wsb_message_unref (WsbMessage *m)
{
  if (m && --m->ref == 0)
    {
      g_free (m->block);
      g_free (m);
    }
}
