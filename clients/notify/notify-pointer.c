#include "notify-pointer.h"

#include <string.h>

struct _WsbNotifyPointer
{
  char *text;
  char **tokens; /* unescaped, NULL-terminated */
};

/* "~1" stands for '/' and "~0" for '~' (RFC 6901 §4); checked beforehand. */
static void
unescape_token (char *token)
{
  char *out = token;

  for (const char *in = token; *in; in++)
    *out++ = *in == '~' ? (*++in == '1' ? '/' : '~') : *in;
  *out = '\0';
}

WsbNotifyPointer *
wsb_notify_pointer_new (const char *text, GError **error)
{
  WsbNotifyPointer *p;
  const char *tilde;

  if (!text || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "invalid JSON pointer: not valid UTF-8");
      return NULL;
    }
  if (text[0] != '/')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "invalid JSON pointer \"%s\": it must start with '/', e.g. \"/title\"", text);
      return NULL;
    }
  for (tilde = strchr (text, '~'); tilde; tilde = strchr (tilde + 1, '~'))
    if (tilde[1] != '0' && tilde[1] != '1')
      {
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "invalid JSON pointer \"%s\": '~' must be followed by 0 or 1 "
                     "(\"~0\" stands for '~', \"~1\" for '/')",
                     text);
        return NULL;
      }
  p = g_new0 (WsbNotifyPointer, 1);
  p->text = g_strdup (text);
  /* g_strsplit() gives no token for "": "/" names the member "". */
  if (text[1])
    p->tokens = g_strsplit (text + 1, "/", -1);
  else
    p->tokens = g_strdupv ((char *[]){ "", NULL });
  for (char **t = p->tokens; *t; t++)
    unescape_token (*t);
  return p;
}

void
wsb_notify_pointer_free (WsbNotifyPointer *p)
{
  if (!p)
    return;
  g_free (p->text);
  g_strfreev (p->tokens);
  g_free (p);
}

const char *
wsb_notify_pointer_text (const WsbNotifyPointer *p)
{
  return p->text;
}

/* The element an array token names, or NULL: "0", or digits without a
 * leading zero, below the array's length. */
static JsonNode *
array_element (JsonArray *array, const char *token)
{
  guint64 index;

  if (token[0] == '0' && token[1] != '\0')
    return NULL;
  if (!g_ascii_string_to_unsigned (token, 10, 0, G_MAXUINT, &index, NULL))
    return NULL;
  if (index >= json_array_get_length (array))
    return NULL;
  return json_array_get_element (array, (guint) index);
}

/* The shortest %g text that reads back as d (1 to 17 significant digits). */
static char *
double_text (double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (int digits = 1; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (buf, sizeof buf, format, d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }
  return g_strdup (buf);
}

JsonNode *
wsb_notify_pointer_find (const WsbNotifyPointer *p, JsonNode *root)
{
  JsonNode *node = root;

  for (char **t = p->tokens; *t && node; t++)
    {
      if (JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (json_node_get_object (node), *t);
      else if (JSON_NODE_HOLDS_ARRAY (node))
        node = array_element (json_node_get_array (node), *t);
      else
        node = NULL;
    }
  return node;
}

char *
wsb_notify_pointer_get (const WsbNotifyPointer *p, JsonNode *root)
{
  JsonNode *node = wsb_notify_pointer_find (p, root);

  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_STRING:
        return g_strdup (json_node_get_string (node));
      case G_TYPE_INT64:
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      case G_TYPE_DOUBLE:
        return double_text (json_node_get_double (node));
      case G_TYPE_BOOLEAN:
        return g_strdup (json_node_get_boolean (node) ? "true" : "false");
      default:
        return NULL;
    }
}

struct _WsbNotifyMatch
{
  char *text;
  WsbNotifyPointer *pointer;
  char *value;
};

WsbNotifyMatch *
wsb_notify_match_new (const char *text, GError **error)
{
  const char *eq = strchr (text, '=');
  g_autofree char *ptr = NULL;
  WsbNotifyPointer *pointer;
  WsbNotifyMatch *m;

  if (!eq)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "\"%s\" is not PTR=VALUE",
                   text);
      return NULL;
    }
  ptr = g_strndup (text, (gsize) (eq - text));
  pointer = wsb_notify_pointer_new (ptr, error);
  if (!pointer)
    return NULL;
  m = g_new0 (WsbNotifyMatch, 1);
  m->text = g_strdup (text);
  m->pointer = pointer;
  m->value = g_strdup (eq + 1);
  return m;
}

void
wsb_notify_match_free (WsbNotifyMatch *m)
{
  if (!m)
    return;
  g_free (m->text);
  wsb_notify_pointer_free (m->pointer);
  g_free (m->value);
  g_free (m);
}

const char *
wsb_notify_match_text (const WsbNotifyMatch *m)
{
  return m->text;
}

gboolean
wsb_notify_match_test (const WsbNotifyMatch *m, JsonNode *root)
{
  g_autofree char *value = root ? wsb_notify_pointer_get (m->pointer, root) : NULL;

  return value && strcmp (value, m->value) == 0;
}
