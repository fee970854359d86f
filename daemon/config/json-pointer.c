#include "json-pointer.h"

#include "wsb-error.h"

gboolean
wsb_json_pointer_check (const char *pointer, GError **error)
{
  if (pointer == NULL || pointer[0] == '\0')
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "invalid JSON pointer: it is empty; a channel is a member, "
                           "e.g. \"/channel\"");
      return FALSE;
    }
  if (!g_utf8_validate (pointer, -1, NULL))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "invalid JSON pointer: not valid UTF-8");
      return FALSE;
    }
  if (pointer[0] != '/')
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid JSON pointer \"%s\": it must start with '/'", pointer);
      return FALSE;
    }
  for (const char *p = pointer; *p; p++)
    if (*p == '~' && p[1] != '0' && p[1] != '1')
      {
        g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                     "invalid JSON pointer \"%s\": '~' at byte %td must be followed by "
                     "0 or 1 (\"~0\" stands for '~', \"~1\" for '/')",
                     pointer, p - pointer);
        return FALSE;
      }
  return TRUE;
}

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
