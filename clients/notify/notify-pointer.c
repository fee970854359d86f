#include "notify-pointer.h"

#include <string.h>

#include "json-text.h"

struct _WsbNotifyPointer
{
  WsbJsonPointer *pointer;
};

WsbNotifyPointer *
wsb_notify_pointer_new (const char *text, GError **error)
{
  g_autoptr (GError) local = NULL;
  WsbJsonPointer *pointer = wsb_json_pointer_new (text, &local);
  WsbNotifyPointer *p;

  if (!pointer)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, local->message);
      return NULL;
    }
  p = g_new (WsbNotifyPointer, 1);
  p->pointer = pointer;
  return p;
}

void
wsb_notify_pointer_free (WsbNotifyPointer *p)
{
  if (!p)
    return;
  wsb_json_pointer_free (p->pointer);
  g_free (p);
}

const char *
wsb_notify_pointer_text (const WsbNotifyPointer *p)
{
  return p->pointer->text;
}

/* The element an array token names, or NULL. */
static JsonNode *
array_element (JsonArray *array, const WsbJsonToken *token)
{
  if (token->index < 0 || (gsize) token->index >= json_array_get_length (array))
    return NULL;
  return json_array_get_element (array, (guint) token->index);
}

JsonNode *
wsb_notify_pointer_find (const WsbNotifyPointer *p, JsonNode *root)
{
  JsonNode *node = root;

  for (guint i = 0; i < p->pointer->n_tokens && node; i++)
    {
      const WsbJsonToken *t = &p->pointer->tokens[i];

      if (JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (json_node_get_object (node), t->key);
      else if (JSON_NODE_HOLDS_ARRAY (node))
        node = array_element (json_node_get_array (node), t);
      else
        node = NULL;
    }
  return node;
}

char *
wsb_notify_pointer_get (const WsbNotifyPointer *p, JsonNode *root)
{
  JsonNode *node = wsb_notify_pointer_find (p, root);
  char buf[WSB_JSON_DOUBLE_BUF_SIZE];

  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_STRING:
        return g_strdup (json_node_get_string (node));
      case G_TYPE_INT64:
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
      case G_TYPE_DOUBLE:
        return g_strdup (wsb_json_format_double (json_node_get_double (node), buf));
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
