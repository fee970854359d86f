#include "json-pointer.h"

#include <string.h>

GQuark
wsb_json_pointer_error_quark (void)
{
  return g_quark_from_static_string ("wsb-json-pointer-error-quark");
}

gboolean
wsb_json_pointer_check (const char *text, GError **error)
{
  if (text == NULL || text[0] == '\0')
    {
      g_set_error_literal (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID,
                           "invalid JSON pointer: it is empty; a pointer names a member, "
                           "e.g. \"/name\"");
      return FALSE;
    }
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID,
                           "invalid JSON pointer: not valid UTF-8");
      return FALSE;
    }
  if (text[0] != '/')
    {
      g_set_error (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID,
                   "invalid JSON pointer \"%s\": it must start with '/', e.g. \"/%s\"", text, text);
      return FALSE;
    }
  for (const char *p = text; *p; p++)
    if (*p == '~' && p[1] != '0' && p[1] != '1')
      {
        g_set_error (error, WSB_JSON_POINTER_ERROR, WSB_JSON_POINTER_ERROR_INVALID,
                     "invalid JSON pointer \"%s\": '~' at byte %td must be followed by "
                     "0 or 1 (\"~0\" stands for '~', \"~1\" for '/')",
                     text, p - text);
        return FALSE;
      }
  return TRUE;
}

/* RFC 6901 §4: "0", or digits without a leading zero; -1 for anything else
 * and for what no array could be long enough for. */
static gssize
parse_index (const char *token)
{
  gsize value = 0;

  if (token[0] == '\0' || (token[0] == '0' && token[1] != '\0'))
    return -1;
  for (const char *p = token; *p; p++)
    {
      if (!g_ascii_isdigit (*p) || value > (G_MAXSSIZE - 9) / 10)
        return -1;
      value = value * 10 + (gsize) (*p - '0');
    }
  return (gssize) value;
}

WsbJsonPointer *
wsb_json_pointer_new (const char *text, GError **error)
{
  WsbJsonPointer *p;
  guint n = 0;
  char *out;

  if (!wsb_json_pointer_check (text, error))
    return NULL;
  for (const char *c = text; *c; c++)
    n += *c == '/';
  /* One block: the struct, the tokens, then the keys; unescaping only
   * shortens, so each key fits where "/token" was. */
  p = g_malloc (sizeof (WsbJsonPointer) + n * sizeof (WsbJsonToken) + strlen (text) + 1);
  p->text = g_strdup (text);
  p->n_tokens = n;
  p->tokens = (WsbJsonToken *) (p + 1);
  out = (char *) (p->tokens + n);
  for (guint i = 0; i < n; i++)
    {
      char *key = out;

      for (text++; *text && *text != '/'; text++)
        {
          if (*text == '~')
            *out++ = *++text == '0' ? '~' : '/';
          else
            *out++ = *text;
        }
      *out++ = '\0';
      p->tokens[i] = (WsbJsonToken){ key, (gsize) (out - 1 - key), parse_index (key) };
    }
  return p;
}

void
wsb_json_pointer_free (WsbJsonPointer *p)
{
  if (!p)
    return;
  g_free (p->text);
  g_free (p);
}
