#include "template.h"

#include <jansson.h>
#include <string.h>

#include "wsb-error.h"

gboolean
wsb_template_check (const char *tmpl, GError **error)
{
  if (!g_utf8_validate (tmpl, -1, NULL))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "invalid template: not valid UTF-8");
      return FALSE;
    }
  if (!strstr (tmpl, WSB_TEMPLATE_PLACEHOLDER))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid template \"%s\": it must contain " WSB_TEMPLATE_PLACEHOLDER
                   ", e.g. {\"op\":\"subscribe\",\"channel\":\"" WSB_TEMPLATE_PLACEHOLDER "\"}",
                   tmpl);
      return FALSE;
    }
  return TRUE;
}

/* channel as a JSON string, quotes included, as jansson encodes it. */
static char *
escape (const char *channel, gsize *len)
{
  json_t *s = json_string (channel); /* NULL unless valid UTF-8 */
  char *quoted = NULL;

  if (!s)
    return NULL;
  *len = json_dumpb (s, NULL, 0, JSON_ENCODE_ANY);
  if (*len >= 2)
    {
      quoted = g_malloc (*len);
      json_dumpb (s, quoted, *len, JSON_ENCODE_ANY);
    }
  json_decref (s);
  return quoted;
}

char *
wsb_template_fill (const char *tmpl, const char *channel)
{
  gsize quoted_len = 0;
  g_autofree char *quoted = escape (channel, &quoted_len);
  GString *out;
  const char *hole;

  if (!quoted)
    return NULL;
  out = g_string_sized_new (strlen (tmpl) + quoted_len);
  while ((hole = strstr (tmpl, WSB_TEMPLATE_PLACEHOLDER)))
    {
      g_string_append_len (out, tmpl, hole - tmpl);
      g_string_append_len (out, quoted + 1, (gssize) quoted_len - 2);
      tmpl = hole + strlen (WSB_TEMPLATE_PLACEHOLDER);
    }
  g_string_append (out, tmpl);
  return g_string_free (out, FALSE);
}
