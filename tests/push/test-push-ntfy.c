#include "push-ntfy.h"

#include <string.h>

static void
test_topic (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < 1000; i++)
    {
      char *t = wsb_push_topic_new ();

      g_assert_true (wsb_push_topic_valid (t));
      g_assert_false (g_hash_table_contains (seen, t));
      g_hash_table_add (seen, t);
    }
  g_assert_false (wsb_push_topic_valid ("up123"));
  g_assert_false (wsb_push_topic_valid ("xx0123456789ab"));
  g_assert_false (wsb_push_topic_valid ("up0123456789a-"));
  g_assert_false (wsb_push_topic_valid (NULL));
}

static void
test_server (void)
{
  struct
  {
    const char *in, *out;
  } ok[] = {
    { "https://ntfy.sh", "https://ntfy.sh" },
    { "https://ntfy.sh/", "https://ntfy.sh" },
    { "http://127.0.0.1:8080/push/", "http://127.0.0.1:8080/push" },
  };
  const char *bad[] = { "",
                        "ntfy.sh",
                        "wss://ntfy.sh",
                        "https://u:p@ntfy.sh",
                        "https://ntfy.sh/?a=1",
                        "https://ntfy.sh/#x",
                        "https://nt fy.sh",
                        "https:///x" };

  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *n = wsb_push_server_normalize (ok[i].in, NULL);

      g_assert_cmpstr (n, ==, ok[i].out);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *n = wsb_push_server_normalize (bad[i], &error);

      g_assert_null (n);
      g_assert_nonnull (error);
    }
}

static void
test_urls (void)
{
  const char *topics[] = { "upAAAAAAAAAAAA", "upBBBBBBBBBBBB", NULL };
  g_autofree char *e = wsb_push_endpoint ("https://ntfy.sh", "upAAAAAAAAAAAA");
  g_autofree char *s1 = wsb_push_stream_url ("https://ntfy.sh", topics, NULL);
  g_autofree char *s2 = wsb_push_stream_url ("http://h:1/p", topics, "abc123");

  g_assert_cmpstr (e, ==, "https://ntfy.sh/upAAAAAAAAAAAA?up=1");
  g_assert_cmpstr (s1, ==, "wss://ntfy.sh/upAAAAAAAAAAAA,upBBBBBBBBBBBB/ws");
  g_assert_cmpstr (s2, ==, "ws://h:1/p/upAAAAAAAAAAAA,upBBBBBBBBBBBB/ws?since=abc123");
}

static void
parse_ok (const char *json, WsbPushEventKind kind, const char *id, const char *topic,
          const void *data, gsize len)
{
  g_auto (WsbPushEvent) ev = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (wsb_push_event_parse (json, strlen (json), &ev, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ev.kind, ==, kind);
  if (kind != WSB_PUSH_EVENT_MESSAGE)
    return;
  g_assert_cmpstr (ev.id, ==, id);
  g_assert_cmpstr (ev.topic, ==, topic);
  g_assert_cmpmem (g_bytes_get_data (ev.data, NULL), g_bytes_get_size (ev.data), data, len);
}

static void
test_parse (void)
{
  const char *bad[] = {
    "",
    "not json",
    "[1]",
    "{\"id\":\"a\"}",
    "{\"event\":\"message\",\"topic\":\"t\",\"message\":\"m\"}",
    "{\"event\":\"message\",\"id\":\"a b\",\"topic\":\"t\"}",
    "{\"event\":\"message\",\"id\":\"a\",\"message\":\"m\"}",
    "{\"event\":\"message\",\"id\":\"a\",\"topic\":\"t\",\"message\":\"!!\",\"encoding\":"
    "\"base64\"}",
    "{\"event\":\"message\",\"id\":\"a\",\"topic\":\"t\",\"message\":\"x\",\"encoding\":\"rot13\"}",
    "{\"event\":7}",
  };

  parse_ok ("{\"id\":\"x1\",\"time\":1,\"event\":\"open\",\"topic\":\"a,b\"}", WSB_PUSH_EVENT_OTHER,
            NULL, NULL, NULL, 0);
  parse_ok ("{\"id\":\"x2\",\"time\":1,\"event\":\"keepalive\",\"topic\":\"a\"}",
            WSB_PUSH_EVENT_OTHER, NULL, NULL, NULL, 0);
  parse_ok (
      "{\"id\":\"m1\",\"time\":1,\"event\":\"message\",\"topic\":\"upA\",\"message\":\"h\\u00e9\"}",
      WSB_PUSH_EVENT_MESSAGE, "m1", "upA", "h\xc3\xa9", 3);
  parse_ok ("{\"id\":\"m2\",\"event\":\"message\",\"topic\":\"upA\",\"message\":\"/wA=\","
            "\"encoding\":\"base64\"}",
            WSB_PUSH_EVENT_MESSAGE, "m2", "upA", "\xff\x00", 2);
  parse_ok ("{\"id\":\"m3\",\"event\":\"message\",\"topic\":\"upA\"}", WSB_PUSH_EVENT_MESSAGE, "m3",
            "upA", "", 0);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (WsbPushEvent) ev = { 0 };
      g_autoptr (GError) error = NULL;

      g_assert_false (wsb_push_event_parse (bad[i], strlen (bad[i]), &ev, &error));
      g_assert_nonnull (error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/push/ntfy/topic", test_topic);
  g_test_add_func ("/push/ntfy/server", test_server);
  g_test_add_func ("/push/ntfy/urls", test_urls);
  g_test_add_func ("/push/ntfy/parse", test_parse);
  return g_test_run ();
}
