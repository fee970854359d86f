/* bench-router: the json-glib half. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "bench-router.h"

typedef struct
{
  BenchPointer ptr;
  JsonParser *parser;
} GlibState;

static gpointer
setup_with (const char *pointer, JsonParser *parser)
{
  GlibState *st = g_new0 (GlibState, 1);

  bench_pointer_init (&st->ptr, pointer);
  st->parser = parser;
  return st;
}

gpointer
bench_glib_setup (const char *pointer)
{
  return setup_with (pointer, json_parser_new ());
}

gpointer
bench_glib_immutable_setup (const char *pointer)
{
  return setup_with (pointer, json_parser_new_immutable ());
}

char *
bench_glib_route (gpointer state, const char *data, gsize len)
{
  GlibState *st = state;
  JsonNode *node;
  GError *error = NULL;
  const char *s;

  if (!json_parser_load_from_data (st->parser, data, (gssize) len, &error))
    {
      g_error_free (error);
      return NULL;
    }
  node = json_parser_get_root (st->parser);
  for (guint i = 0; i < st->ptr.n && node; i++)
    {
      gint64 index = st->ptr.indexes[i];

      if (JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (json_node_get_object (node), st->ptr.keys[i]);
      else if (JSON_NODE_HOLDS_ARRAY (node) && index >= 0
               && index < json_array_get_length (json_node_get_array (node)))
        node = json_array_get_element (json_node_get_array (node), (guint) index);
      else
        node = NULL;
    }
  if (!node || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return bench_finish (NULL, 0, TRUE, json_node_get_int (node));
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  s = json_node_get_string (node);
  return bench_finish (s, strlen (s), FALSE, 0);
}

void
bench_glib_teardown (gpointer state)
{
  GlibState *st = state;

  bench_pointer_clear (&st->ptr);
  g_object_unref (st->parser);
  g_free (st);
}
