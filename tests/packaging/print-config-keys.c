/* Prints the configuration table of the daemon's core (daemon/config/config.c), one
 * JSON object per key, for test_manpage.py: the man page is checked against
 * the real table, not against a copy of it. */
#include <json-glib/json-glib.h>

#include "config.h"

static void
print_key (const WsbConfigKeyInfo *key, gpointer data)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "group");
  json_builder_add_string_value (b, key->group);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, key->name);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, key->type);
  json_builder_set_member_name (b, "default");
  if (key->default_value)
    json_builder_add_string_value (b, key->default_value);
  else
    json_builder_add_null_value (b);
  if (key->ranged)
    {
      /* As text: JSON numbers lose precision past 2^53. */
      g_autofree char *min = g_strdup_printf ("%" G_GUINT64_FORMAT, key->min);
      g_autofree char *max = g_strdup_printf ("%" G_GUINT64_FORMAT, key->max);
      json_builder_set_member_name (b, "min");
      json_builder_add_string_value (b, min);
      json_builder_set_member_name (b, "max");
      json_builder_add_string_value (b, max);
    }
  json_builder_set_member_name (b, "doc");
  json_builder_add_string_value (b, key->doc);
  if (key->runtime)
    {
      json_builder_set_member_name (b, "runtime");
      json_builder_add_string_value (b, key->runtime);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

int
main (void)
{
  wsb_config_foreach_key (print_key, NULL);
  return 0;
}
