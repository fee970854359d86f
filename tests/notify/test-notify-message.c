#include "notify-message.h"
#include "notify-text.h"

typedef struct
{
  WsbNotifyPointer *summary, *body, *icon, *urgency, *url;
  WsbNotifyFormat format;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->summary = wsb_notify_pointer_new ("/title", NULL);
  f->body = wsb_notify_pointer_new ("/text", NULL);
  f->icon = wsb_notify_pointer_new ("/icon", NULL);
  f->urgency = wsb_notify_pointer_new ("/level", NULL);
  f->url = wsb_notify_pointer_new ("/link", NULL);
  f->format = (WsbNotifyFormat){ f->summary, f->body,   f->icon,      f->urgency,
                                 f->url,     "demo/eu", "mail-unread" };
}

static void
teardown (Fixture *f, gconstpointer data)
{
  wsb_notify_pointer_free (f->summary);
  wsb_notify_pointer_free (f->body);
  wsb_notify_pointer_free (f->icon);
  wsb_notify_pointer_free (f->urgency);
  wsb_notify_pointer_free (f->url);
}

static WsbNotifyContent *
format (const WsbNotifyFormat *f, const char *text)
{
  return wsb_notify_format (f, text, strlen (text), FALSE);
}

static void
test_all_fields (Fixture *f, gconstpointer data)
{
  g_autoptr (WsbNotifyContent) c
      = format (&f->format,
                "{\"title\":\"Build failed\",\"text\":\"main: 3 tests\",\"icon\":\"dialog-error\","
                "\"level\":\"CRITICAL\",\"link\":\"https://ci.example.com/b/1\"}");

  g_assert_cmpstr (c->summary, ==, "Build failed");
  g_assert_cmpstr (c->body, ==, "main: 3 tests");
  g_assert_cmpstr (c->icon, ==, "dialog-error");
  g_assert_cmpint (c->urgency, ==, WSB_NOTIFY_URGENCY_CRITICAL);
  g_assert_cmpstr (c->url, ==, "https://ci.example.com/b/1");
}

static void
test_fallbacks (Fixture *f, gconstpointer data)
{
  const char *json = "{\"other\":1}";
  g_autoptr (WsbNotifyContent) c = format (&f->format, json);
  g_autoptr (WsbNotifyContent) plain = format (&f->format, "  just text\n");
  g_autoptr (WsbNotifyContent) scalar = format (&f->format, "\"a JSON string\"");
  g_autoptr (WsbNotifyContent) binary = wsb_notify_format (&f->format, "\x01\x02\x03", 3, TRUE);

  /* A JSON message whose pointers name nothing: the raw text is the body. */
  g_assert_cmpstr (c->summary, ==, "demo/eu");
  g_assert_cmpstr (c->body, ==, json);
  g_assert_cmpstr (c->icon, ==, "mail-unread");
  g_assert_cmpint (c->urgency, ==, WSB_NOTIFY_URGENCY_NORMAL);
  g_assert_null (c->url);
  g_assert_cmpstr (plain->summary, ==, "demo/eu");
  g_assert_cmpstr (plain->body, ==, "just text");
  /* Only objects and arrays are looked into. */
  g_assert_cmpstr (scalar->body, ==, "\"a JSON string\"");
  g_assert_cmpstr (binary->body, ==, "binary message (3 bytes)");
}

static void
test_without_pointers_text_is_body (void)
{
  WsbNotifyFormat none = { .default_summary = "demo" };
  g_autoptr (WsbNotifyContent) c = format (&none, "{\"title\":\"x\"}");

  g_assert_cmpstr (c->summary, ==, "demo");
  g_assert_cmpstr (c->body, ==, "{\"title\":\"x\"}");
  g_assert_null (c->icon);
}

static void
test_values_checked (Fixture *f, gconstpointer data)
{
  g_autoptr (WsbNotifyContent) c
      = format (&f->format, "{\"title\":\"  \",\"icon\":\"/etc/passwd\",\"level\":\"urgent\","
                            "\"link\":\"file:///etc/passwd\"}");
  g_autoptr (WsbNotifyContent) n = format (&f->format, "{\"title\":42,\"level\":0,\"icon\":true}");

  /* An empty summary falls back; a path is no icon name; unknown urgency
   * is normal; a file: URL gets no action. */
  g_assert_cmpstr (c->summary, ==, "demo/eu");
  g_assert_cmpstr (c->icon, ==, "mail-unread");
  g_assert_cmpint (c->urgency, ==, WSB_NOTIFY_URGENCY_NORMAL);
  g_assert_null (c->url);
  g_assert_cmpstr (n->summary, ==, "42");
  g_assert_cmpint (n->urgency, ==, WSB_NOTIFY_URGENCY_LOW);
  g_assert_cmpstr (n->icon, ==, "true");
}

static void
test_long_and_dirty_text (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) json = g_string_new ("{\"title\":\"line one\\nline two\",\"text\":\"");
  g_autoptr (WsbNotifyContent) c = NULL;

  for (guint i = 0; i < 1000; i++)
    g_string_append (json, "ab");
  g_string_append (json, "\"}");
  c = format (&f->format, json->str);
  g_assert_cmpstr (c->summary, ==, "line one line two");
  g_assert_cmpuint (g_utf8_strlen (c->body, -1), ==, WSB_NOTIFY_BODY_MAX_CHARS);
}

static void
test_checks (void)
{
  WsbNotifyUrgency u;

  g_assert_true (wsb_notify_urgency_parse ("Low", &u) && u == WSB_NOTIFY_URGENCY_LOW);
  g_assert_true (wsb_notify_urgency_parse ("2", &u) && u == WSB_NOTIFY_URGENCY_CRITICAL);
  g_assert_false (wsb_notify_urgency_parse ("3", &u));
  g_assert_false (wsb_notify_urgency_parse ("", &u));
  g_assert_false (wsb_notify_urgency_parse ("10", &u));
  g_assert_true (wsb_notify_icon_name_check ("mail-unread"));
  g_assert_true (wsb_notify_icon_name_check ("org.gnome.Foo+x_1"));
  g_assert_false (wsb_notify_icon_name_check (""));
  g_assert_false (wsb_notify_icon_name_check ("../x"));
  g_assert_false (wsb_notify_icon_name_check (".hidden"));
  g_assert_false (wsb_notify_icon_name_check ("a b"));
  g_assert_true (wsb_notify_url_check ("http://example.com"));
  g_assert_true (wsb_notify_url_check ("HTTPS://example.com/a?b=c#d"));
  g_assert_false (wsb_notify_url_check ("https://"));
  g_assert_false (wsb_notify_url_check ("javascript:alert(1)"));
  g_assert_false (wsb_notify_url_check ("file:///etc/passwd"));
  g_assert_false (wsb_notify_url_check ("https://example.com/a b"));
  g_assert_false (wsb_notify_url_check ("https://example.com/\n"));
  g_assert_false (wsb_notify_url_check ("not a url"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/notify-message/all-fields", Fixture, NULL, setup, test_all_fields, teardown);
  g_test_add ("/notify-message/fallbacks", Fixture, NULL, setup, test_fallbacks, teardown);
  g_test_add_func ("/notify-message/no-pointers", test_without_pointers_text_is_body);
  g_test_add ("/notify-message/values-checked", Fixture, NULL, setup, test_values_checked,
              teardown);
  g_test_add ("/notify-message/long-text", Fixture, NULL, setup, test_long_and_dirty_text,
              teardown);
  g_test_add_func ("/notify-message/checks", test_checks);
  return g_test_run ();
}
