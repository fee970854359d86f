#include "push-store.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "push-ntfy.h"

struct _WsbPushStore
{
  char *path;
  GPtrArray *regs;   /* WsbPushReg */
  GQueue recent;     /* char *: finished ids, newest last */
  GHashTable *seen;  /* the same strings */
  GQueue order;      /* char *: ids taken this run and not yet behind last_id */
  GHashTable *taken; /* the same strings -> GINT_TO_POINTER (finished) */
  char *last_id;
  char *server;
};

static void
reg_free (WsbPushReg *r)
{
  g_free (r->token);
  g_free (r->service);
  g_free (r->description);
  g_free (r->topic);
  g_free (r);
}

static WsbPushReg *
reg_new (const char *token, const char *service, const char *description, const char *topic,
         int version)
{
  WsbPushReg *r = g_new0 (WsbPushReg, 1);

  r->token = g_strdup (token);
  r->service = g_strdup (service);
  r->description = g_strdup (description ? description : "");
  r->topic = g_strdup (topic);
  r->version = version;
  return r;
}

static void
remember (WsbPushStore *s, const char *id)
{
  char *copy = g_strdup (id);

  g_queue_push_tail (&s->recent, copy);
  g_hash_table_add (s->seen, copy);
  while (s->recent.length > WSB_PUSH_RECENT_IDS)
    {
      char *old = g_queue_pop_head (&s->recent);

      g_hash_table_remove (s->seen, old);
      g_free (old);
    }
}

static const char *
str_member (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gboolean
bad (GError **error, const char *path, const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", path, what);
  return FALSE;
}

static gboolean
load_reg (WsbPushStore *s, JsonNode *node, GError **error)
{
  JsonObject *o;
  const char *token, *service, *description, *topic;
  gint64 version;
  WsbPushReg *r;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return bad (error, s->path, "a registration is not an object");
  o = json_node_get_object (node);
  token = str_member (o, "token");
  service = str_member (o, "service");
  description = str_member (o, "description");
  topic = str_member (o, "topic");
  version = json_object_get_int_member_with_default (o, "version", 0);
  if (!token || !*token || !service || !g_dbus_is_name (service) || g_dbus_is_unique_name (service)
      || !wsb_push_topic_valid (topic) || (version != 1 && version != 2))
    return bad (error, s->path, "a registration lacks token, service, topic or version");
  if (wsb_push_store_by_token (s, token))
    return bad (error, s->path, "a token is registered twice");
  r = wsb_push_store_add (s, token, service, description, topic, (int) version);
  r->registered = json_object_get_int_member_with_default (o, "registered", 0);
  r->last_message = json_object_get_int_member_with_default (o, "last_message", 0);
  return TRUE;
}

static gboolean
load (WsbPushStore *s, const char *text, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonObject *o;
  JsonArray *a;
  const char *last;

  if (!json_parser_load_from_data (parser, text, (gssize) len, &local))
    return bad (error, s->path, local->message);
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return bad (error, s->path, "not a JSON object");
  o = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (o, "registrations"))
    {
      if (!JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "registrations")))
        return bad (error, s->path, "\"registrations\" is not an array");
      a = json_object_get_array_member (o, "registrations");
      for (guint i = 0; i < json_array_get_length (a); i++)
        if (!load_reg (s, json_array_get_element (a, i), error))
          return FALSE;
    }
  if (json_object_has_member (o, "recent_ids")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "recent_ids")))
    {
      a = json_object_get_array_member (o, "recent_ids");
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *n = json_array_get_element (a, i);

          if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
            remember (s, json_node_get_string (n));
        }
    }
  last = str_member (o, "last_id");
  if (last && *last)
    s->last_id = g_strdup (last);
  if (str_member (o, "server"))
    s->server = g_strdup (str_member (o, "server"));
  return TRUE;
}

WsbPushStore *
wsb_push_store_load (const char *path, GError **error)
{
  g_autoptr (WsbPushStore) s = g_new0 (WsbPushStore, 1);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;

  s->path = g_strdup (path);
  s->regs = g_ptr_array_new_with_free_func ((GDestroyNotify) reg_free);
  g_queue_init (&s->recent);
  s->seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&s->order);
  s->taken = g_hash_table_new (g_str_hash, g_str_equal);
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&s);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (!load (s, text, len, error))
    return NULL;
  return g_steal_pointer (&s);
}

void
wsb_push_store_free (WsbPushStore *s)
{
  if (!s)
    return;
  g_free (s->path);
  if (s->regs)
    g_ptr_array_unref (s->regs);
  g_queue_clear_full (&s->recent, g_free);
  if (s->seen)
    g_hash_table_unref (s->seen);
  g_queue_clear_full (&s->order, g_free);
  if (s->taken)
    g_hash_table_unref (s->taken);
  g_free (s->last_id);
  g_free (s->server);
  g_free (s);
}

gboolean
wsb_push_store_save (WsbPushStore *s, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *dir = g_path_get_dirname (s->path);
  g_autofree char *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "registrations");
  json_builder_begin_array (b);
  for (guint i = 0; i < s->regs->len; i++)
    {
      WsbPushReg *r = g_ptr_array_index (s->regs, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "token");
      json_builder_add_string_value (b, r->token);
      json_builder_set_member_name (b, "service");
      json_builder_add_string_value (b, r->service);
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, r->description);
      json_builder_set_member_name (b, "topic");
      json_builder_add_string_value (b, r->topic);
      json_builder_set_member_name (b, "version");
      json_builder_add_int_value (b, r->version);
      json_builder_set_member_name (b, "registered");
      json_builder_add_int_value (b, r->registered);
      json_builder_set_member_name (b, "last_message");
      json_builder_add_int_value (b, r->last_message);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "server");
  if (s->server)
    json_builder_add_string_value (b, s->server);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "last_id");
  if (s->last_id)
    json_builder_add_string_value (b, s->last_id);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "recent_ids");
  json_builder_begin_array (b);
  for (GList *l = s->recent.head; l; l = l->next)
    json_builder_add_string_value (b, l->data);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      int e = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot create %s: %s", dir,
                   g_strerror (e));
      return FALSE;
    }
  return g_file_set_contents_full (s->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

GPtrArray *
wsb_push_store_regs (WsbPushStore *s)
{
  return s->regs;
}

WsbPushReg *
wsb_push_store_by_token (WsbPushStore *s, const char *token)
{
  for (guint i = 0; i < s->regs->len; i++)
    {
      WsbPushReg *r = g_ptr_array_index (s->regs, i);

      if (strcmp (r->token, token) == 0)
        return r;
    }
  return NULL;
}

WsbPushReg *
wsb_push_store_by_topic (WsbPushStore *s, const char *topic)
{
  for (guint i = 0; i < s->regs->len; i++)
    {
      WsbPushReg *r = g_ptr_array_index (s->regs, i);

      if (strcmp (r->topic, topic) == 0)
        return r;
    }
  return NULL;
}

WsbPushReg *
wsb_push_store_add (WsbPushStore *s, const char *token, const char *service,
                    const char *description, const char *topic, int version)
{
  WsbPushReg *r = reg_new (token, service, description, topic, version);

  r->registered = g_get_real_time () / G_USEC_PER_SEC;
  g_ptr_array_add (s->regs, r);
  return r;
}

void
wsb_push_store_remove (WsbPushStore *s, WsbPushReg *reg)
{
  g_ptr_array_remove (s->regs, reg);
}

const char **
wsb_push_store_topics (WsbPushStore *s)
{
  const char **out = g_new0 (const char *, s->regs->len + 1);

  for (guint i = 0; i < s->regs->len; i++)
    out[i] = ((WsbPushReg *) g_ptr_array_index (s->regs, i))->topic;
  return out;
}

const char *
wsb_push_store_server (WsbPushStore *s)
{
  return s->server;
}

void
wsb_push_store_set_server (WsbPushStore *s, const char *server)
{
  if (g_strcmp0 (s->server, server) == 0)
    return;
  g_free (s->server);
  s->server = g_strdup (server);
  g_clear_pointer (&s->last_id, g_free);
  g_hash_table_remove_all (s->seen);
  g_queue_clear_full (&s->recent, g_free);
  g_queue_init (&s->recent);
  g_hash_table_remove_all (s->taken);
  g_queue_clear_full (&s->order, g_free);
  g_queue_init (&s->order);
}

const char *
wsb_push_store_last_id (WsbPushStore *s)
{
  return s->last_id;
}

gboolean
wsb_push_store_take_id (WsbPushStore *s, const char *id)
{
  char *copy;

  if (g_hash_table_contains (s->seen, id) || g_hash_table_contains (s->taken, id))
    return FALSE;
  copy = g_strdup (id);
  g_queue_push_tail (&s->order, copy);
  g_hash_table_insert (s->taken, copy, GINT_TO_POINTER (FALSE));
  return TRUE;
}

gboolean
wsb_push_store_finish_id (WsbPushStore *s, const char *id)
{
  char *key;

  if (!g_hash_table_lookup_extended (s->taken, id, (gpointer *) &key, NULL))
    return FALSE;
  g_hash_table_insert (s->taken, key, GINT_TO_POINTER (TRUE));
  remember (s, id);
  while (s->order.length
         && GPOINTER_TO_INT (g_hash_table_lookup (s->taken, g_queue_peek_head (&s->order))))
    {
      char *head = g_queue_pop_head (&s->order);

      g_hash_table_remove (s->taken, head);
      g_free (s->last_id);
      s->last_id = head;
    }
  return TRUE;
}
