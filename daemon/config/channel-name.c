#include "channel-name.h"

#include "wsb-error.h"

gboolean
wsb_channel_name_check (const char *name, gsize len, GError **error)
{
  const char *end;

  if (len == 0 || len > WSB_CHANNEL_MAX_BYTES)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid channel name: it must be 1-%d bytes long, not %" G_GSIZE_FORMAT,
                   WSB_CHANNEL_MAX_BYTES, len);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if ((guchar) name[i] < 0x20 || name[i] == 0x7f)
      {
        g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                     "invalid channel name: control character 0x%02x at byte %" G_GSIZE_FORMAT,
                     (guchar) name[i], i);
        return FALSE;
      }
  if (!g_utf8_validate_len (name, len, &end))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid channel name: not valid UTF-8 at byte %td", end - name);
      return FALSE;
    }
  return TRUE;
}
