#include "notify-message.h"

#include <string.h>

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
  g_free (c);
}

gboolean
wsb_notify_urgency_parse (const char *text, WsbNotifyUrgency *urgency)
{
  static const char *const names[] = { "low", "normal", "critical" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (text, names[i]) == 0 || ((guint) text[0] == '0' + i && !text[1]))
      {
        *urgency = (WsbNotifyUrgency) i;
        return TRUE;
      }
  return FALSE;
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

  if (text && !wsb_notify_urgency_parse (text, &urgency))
    g_debug ("ignoring urgency \"%s\" from %s: not low, normal, critical, 0, 1 or 2", text,
             wsb_notify_pointer_text (f->urgency));
  return urgency;
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
  WsbNotifyContent *c = g_new0 (WsbNotifyContent, 1);
  gboolean any_pointer = f->summary || f->body || f->icon || f->urgency || f->url;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;

  if (!binary && any_pointer)
    root = parse_json (data, len);
  summary = lookup (f->summary, root);
  if (summary)
    c->summary = wsb_notify_text_clean (summary, -1, WSB_NOTIFY_SUMMARY_MAX_CHARS, FALSE);
  if (!c->summary || !*c->summary)
    {
      g_free (c->summary);
      c->summary
          = wsb_notify_text_clean (f->default_summary, -1, WSB_NOTIFY_SUMMARY_MAX_CHARS, FALSE);
    }
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
  return c;
}
