#include "notify-message.h"

#include <string.h>

#include "notify-emoji.h"
#include "notify-text.h"

void
wsb_notify_content_free (WsbNotifyContent *c)
{
  if (!c)
    return;
  g_free (c->summary);
  g_free (c->body);
  g_free (c->icon);
  g_free (c->url);
  for (guint i = 0; i < c->n_actions; i++)
    {
      g_free (c->actions[i].label);
      g_free (c->actions[i].url);
    }
  g_free (c);
}

gboolean
wsb_notify_icon_name_check (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 128 || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("._+-", *p))
      return FALSE;
  return TRUE;
}

gboolean
wsb_notify_url_check (const char *url)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme;

  if (strlen (url) > WSB_NOTIFY_URL_MAX_BYTES)
    return FALSE;
  for (const char *p = url; *p; p++)
    if ((guchar) *p <= ' ' || *p == 0x7f)
      return FALSE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (!uri)
    return FALSE;
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    return FALSE;
  return g_uri_get_host (uri) && *g_uri_get_host (uri);
}

/* The root of a message that is a JSON object or array, or NULL. */
static JsonNode *
parse_json (const char *data, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;

  if (len > G_MAXSSIZE || !json_parser_load_from_data (parser, data, (gssize) len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!root || !(JSON_NODE_HOLDS_OBJECT (root) || JSON_NODE_HOLDS_ARRAY (root)))
    return NULL;
  return json_node_ref (root);
}

static char *
lookup (const WsbNotifyPointer *p, JsonNode *root)
{
  return p && root ? wsb_notify_pointer_get (p, root) : NULL;
}

static char *
choose_icon (const WsbNotifyFormat *f, JsonNode *root)
{
  g_autofree char *icon = lookup (f->icon, root);

  if (icon && wsb_notify_icon_name_check (icon))
    return g_steal_pointer (&icon);
  if (icon)
    g_debug ("ignoring icon \"%s\" from %s: not an icon theme name", icon,
             wsb_notify_pointer_text (f->icon));
  return f->default_icon && *f->default_icon ? g_strdup (f->default_icon) : NULL;
}

static WsbNotifyUrgency
choose_urgency (const WsbNotifyFormat *f, JsonNode *root)
{
  g_autofree char *text = lookup (f->urgency, root);
  WsbNotifyUrgency urgency = WSB_NOTIFY_URGENCY_NORMAL;

  if (!text)
    return urgency;
  if (f->urgency_map)
    {
      if (!wsb_notify_urgency_map_lookup (f->urgency_map, text, &urgency))
        g_debug ("urgency \"%s\" from %s is not in the urgency map: normal", text,
                 wsb_notify_pointer_text (f->urgency));
    }
  else if (!wsb_notify_urgency_parse (text, &urgency))
    g_debug ("ignoring urgency \"%s\" from %s: not low, normal, critical, 0, 1 or 2", text,
             wsb_notify_pointer_text (f->urgency));
  return urgency;
}

/* The string members of an array of strings (others are skipped). */
static GPtrArray *
string_array (const WsbNotifyPointer *p, JsonNode *root)
{
  JsonNode *node = p && root ? wsb_notify_pointer_find (p, root) : NULL;
  GPtrArray *out = g_ptr_array_new ();
  JsonArray *array;

  if (!node || !JSON_NODE_HOLDS_ARRAY (node))
    return out;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_ptr_array_add (out, (gpointer) json_node_get_string (e));
    }
  return out;
}

/* ntfy's tags: the emoji ones before the summary, the rest as a last line of
 * the body. */
static void
apply_tags (const WsbNotifyFormat *f, JsonNode *root, char **summary, char **body)
{
  g_autoptr (GPtrArray) tags = string_array (f->tags, root);
  g_autoptr (GString) emoji = g_string_new (NULL);
  g_autoptr (GString) words = g_string_new (NULL);

  for (guint i = 0; i < tags->len; i++)
    {
      const char *tag = g_ptr_array_index (tags, i);
      const char *e = wsb_notify_emoji_lookup (tag);

      if (e)
        g_string_append (emoji, e);
      else if (*tag)
        g_string_append_printf (words, "%s%s", words->len ? ", " : "", tag);
    }
  if (emoji->len)
    {
      char *s = g_strdup_printf ("%s %s", emoji->str, *summary);

      g_free (*summary);
      *summary = wsb_notify_text_clean (s, -1, WSB_NOTIFY_SUMMARY_MAX_CHARS, FALSE);
      g_free (s);
    }
  if (words->len)
    {
      char *b = g_strdup_printf ("%s%sTags: %s", *body, **body ? "\n" : "", words->str);

      g_free (*body);
      *body = wsb_notify_text_clean (b, -1, WSB_NOTIFY_BODY_MAX_CHARS, TRUE);
      g_free (b);
    }
}

/* ntfy's "view" actions: buttons that open a URL. Others (http, broadcast)
 * would act on the user's behalf and are not offered. */
static void
take_actions (const WsbNotifyFormat *f, JsonNode *root, WsbNotifyContent *c)
{
  JsonNode *node = f->actions && root ? wsb_notify_pointer_find (f->actions, root) : NULL;
  JsonArray *array;

  if (!node || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array) && c->n_actions < WSB_NOTIFY_MAX_ACTIONS; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *action = o ? json_object_get_string_member_with_default (o, "action", "") : "";
      const char *label = o ? json_object_get_string_member_with_default (o, "label", "") : "";
      const char *url = o ? json_object_get_string_member_with_default (o, "url", "") : "";
      g_autofree char *clean = NULL;

      if (g_ascii_strcasecmp (action, "view") != 0)
        continue;
      clean = wsb_notify_text_clean (label, -1, WSB_NOTIFY_LABEL_MAX_CHARS, FALSE);
      if (!*clean || !wsb_notify_url_check (url))
        {
          g_debug ("ignoring a view action without a label or an http(s) URL");
          continue;
        }
      c->actions[c->n_actions].label = g_steal_pointer (&clean);
      c->actions[c->n_actions].url = g_strdup (url);
      c->n_actions++;
    }
}

static char *
choose_url (const WsbNotifyFormat *f, JsonNode *root)
{
  g_autofree char *url = lookup (f->url, root);

  if (url && wsb_notify_url_check (url))
    return g_steal_pointer (&url);
  if (url)
    g_debug ("ignoring URL from %s: not an http or https URL", wsb_notify_pointer_text (f->url));
  return NULL;
}

WsbNotifyContent *
wsb_notify_format (const WsbNotifyFormat *f, const void *data, gsize len, gboolean binary)
{
  WsbNotifyContent *c;
  gboolean any_pointer = f->filter || f->summary || f->summary_fallback || f->body || f->icon
                         || f->urgency || f->url || f->actions || f->tags || f->markdown;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *body = NULL;
  const WsbNotifyPointer *summaries[] = { f->summary, f->summary_fallback };

  if (!binary && any_pointer)
    root = parse_json (data, len);
  if (f->filter && !wsb_notify_match_test (f->filter, root))
    return NULL;
  c = g_new0 (WsbNotifyContent, 1);
  for (guint i = 0; i < G_N_ELEMENTS (summaries) && !c->summary; i++)
    {
      g_autofree char *summary = lookup (summaries[i], root);

      if (summary)
        c->summary = wsb_notify_text_clean (summary, -1, WSB_NOTIFY_SUMMARY_MAX_CHARS, FALSE);
      if (c->summary && !*c->summary)
        g_clear_pointer (&c->summary, g_free);
    }
  if (!c->summary)
    c->summary
        = wsb_notify_text_clean (f->default_summary, -1, WSB_NOTIFY_SUMMARY_MAX_CHARS, FALSE);
  body = lookup (f->body, root);
  if (binary)
    c->body = g_strdup_printf ("binary message (%" G_GSIZE_FORMAT " bytes)", len);
  else if (body)
    c->body = wsb_notify_text_clean (body, -1, WSB_NOTIFY_BODY_MAX_CHARS, TRUE);
  else
    c->body = wsb_notify_text_clean (data, (gssize) MIN (len, (gsize) G_MAXSSIZE),
                                     WSB_NOTIFY_BODY_MAX_CHARS, TRUE);
  c->icon = choose_icon (f, root);
  c->urgency = choose_urgency (f, root);
  c->url = choose_url (f, root);
  c->markdown = !binary && f->markdown && wsb_notify_match_test (f->markdown, root);
  take_actions (f, root, c);
  apply_tags (f, root, &c->summary, &c->body);
  return c;
}
