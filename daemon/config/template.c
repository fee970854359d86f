#include "template.h"

#include <string.h>

#include "json-text.h"
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

char *
wsb_template_fill (const char *tmpl, const char *channel)
{
  g_autofree char *escaped = wsb_json_escape (channel);
  GString *out;
  const char *hole;

  if (!escaped)
    return NULL;
  out = g_string_sized_new (strlen (tmpl) + strlen (escaped));
  while ((hole = strstr (tmpl, WSB_TEMPLATE_PLACEHOLDER)))
    {
      g_string_append_len (out, tmpl, hole - tmpl);
      g_string_append (out, escaped);
      tmpl = hole + strlen (WSB_TEMPLATE_PLACEHOLDER);
    }
  g_string_append (out, tmpl);
  return g_string_free (out, FALSE);
}
