#include "message.h"

#include <string.h>

#include "framing.h"

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
  m->data_offset = wsb_message_encode (m->enc, session, slen, channel, clen, seq, epoch, time_us,
                                       binary, data, len);
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
    g_free (m);
}
