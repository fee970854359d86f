#include "push-ntfy.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/random.h>

static const char ALPHABET[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

char *
wsb_push_topic_new (void)
{
  GString *s = g_string_new ("up");

  while (s->len < WSB_PUSH_TOPIC_LEN)
    {
      guint8 b;

      if (getrandom (&b, 1, 0) != 1)
        g_error ("getrandom failed: %s", g_strerror (errno));
      /* 62 * 4 = 248: rejecting the rest keeps every letter equally likely. */
      if (b < 248)
        g_string_append_c (s, ALPHABET[b % 62]);
    }
  return g_string_free (s, FALSE);
}

gboolean
wsb_push_topic_valid (const char *topic)
{
  if (!topic || strlen (topic) != WSB_PUSH_TOPIC_LEN || !g_str_has_prefix (topic, "up"))
    return FALSE;
  for (const char *p = topic + 2; *p; p++)
    if (!g_ascii_isalnum (*p))
      return FALSE;
  return TRUE;
}

char *
wsb_push_server_normalize (const char *base, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) local = NULL;
  const char *scheme;
  g_autofree char *trimmed = NULL;

  if (!base || !*base)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "server= is empty");
      return NULL;
    }
  uri = g_uri_parse (base, G_URI_FLAGS_ENCODED, &local);
  if (!uri)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "server=%s is not a URL: %s", base, local->message);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "server=%s: the scheme must be https or http", base);
      return NULL;
    }
  if (!g_uri_get_host (uri) || !*g_uri_get_host (uri) || g_uri_get_userinfo (uri)
      || g_uri_get_query (uri) || g_uri_get_fragment (uri))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "server=%s: give scheme, host, port and path only (no user, query or fragment)",
                   base);
      return NULL;
    }
  for (const char *p = base; *p; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     "server=%s: a space, control or non-ASCII byte at %d", base,
                     (int) (p - base) + 1);
        return NULL;
      }
  trimmed = g_strdup (base);
  while (g_str_has_suffix (trimmed, "/"))
    trimmed[strlen (trimmed) - 1] = '\0';
  return g_steal_pointer (&trimmed);
}

char *
wsb_push_endpoint (const char *base, const char *topic)
{
  return g_strdup_printf ("%s/%s?up=1", base, topic);
}

char *
wsb_push_stream_url (const char *base, const char *const *topics, const char *since)
{
  GString *s = g_string_new (NULL);
  g_autofree char *joined = g_strjoinv (",", (char **) topics);

  if (g_str_has_prefix (base, "https://"))
    g_string_append_printf (s, "wss://%s", base + strlen ("https://"));
  else
    g_string_append_printf (s, "ws://%s", base + strlen ("http://"));
  g_string_append_printf (s, "/%s/ws", joined);
  if (since)
    {
      g_autofree char *q = g_uri_escape_string (since, NULL, FALSE);

      g_string_append_printf (s, "?since=%s", q);
    }
  return g_string_free (s, FALSE);
}

void
wsb_push_event_clear (WsbPushEvent *ev)
{
  g_clear_pointer (&ev->id, g_free);
  g_clear_pointer (&ev->topic, g_free);
  g_clear_pointer (&ev->data, g_bytes_unref);
  ev->kind = WSB_PUSH_EVENT_OTHER;
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gboolean
fail (GError **error, const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not an ntfy event: %s", what);
  return FALSE;
}

/* ntfy ids are short letters and digits; anything else would not go back
 * into since= as it came. */
static gboolean
id_valid (const char *id)
{
  gsize n = strlen (id);

  if (n == 0 || n > 64)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

gboolean
wsb_push_event_parse (const char *text, gsize len, WsbPushEvent *ev, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *o;
  const char *event, *id, *topic, *message, *encoding;

  wsb_push_event_clear (ev);
  if (!g_utf8_validate (text, (gssize) len, NULL))
    return fail (error, "not UTF-8");
  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL))
    return fail (error, "not JSON");
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return fail (error, "not a JSON object");
  o = json_node_get_object (root);
  event = member_string (o, "event");
  if (!event)
    return fail (error, "no \"event\"");
  if (strcmp (event, "message") != 0)
    return TRUE;

  id = member_string (o, "id");
  topic = member_string (o, "topic");
  message = member_string (o, "message");
  encoding = member_string (o, "encoding");
  if (!id || !id_valid (id))
    return fail (error, "a message without a valid \"id\"");
  if (!topic || !*topic)
    return fail (error, "a message without \"topic\"");
  if (!message)
    message = ""; /* ntfy leaves an empty body out */
  if (encoding && strcmp (encoding, "base64") == 0)
    {
      gsize n = 0;
      guchar *raw;

      /* g_base64_decode never fails; check the alphabet first. */
      for (const char *p = message; *p; p++)
        if (!g_ascii_isalnum (*p) && !strchr ("+/=", *p))
          return fail (error, "a base64 message that is not base64");
      raw = g_base64_decode (message, &n);
      ev->data = g_bytes_new_take (raw, n);
    }
  else if (encoding && *encoding)
    return fail (error, "an unknown \"encoding\"");
  else
    ev->data = g_bytes_new (message, strlen (message));
  ev->kind = WSB_PUSH_EVENT_MESSAGE;
  ev->id = g_strdup (id);
  ev->topic = g_strdup (topic);
  return TRUE;
}
