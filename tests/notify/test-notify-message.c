#include "notify-emoji.h"
#include "notify-message.h"
#include "notify-options.h"
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
  f->format = (WsbNotifyFormat){ .summary = f->summary,
                                 .body = f->body,
                                 .icon = f->icon,
                                 .urgency = f->urgency,
                                 .url = f->url,
                                 .default_summary = "demo/eu",
                                 .default_icon = "mail-unread" };
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

/* A format made by the options of preset (and args), as wsbridge-notify makes it. */
typedef struct
{
  WsbNotifyOptions o;
  WsbNotifyFormat f;
} Preset;

static void
preset_setup (Preset *p, const char *preset)
{
  const char *argv0[] = { "wsbridge-notify", "--preset", preset, "demo", NULL };
  g_autofree char **argv = g_memdup2 (argv0, sizeof argv0);
  char **args = argv;
  int argc = 4;
  g_autoptr (GError) error = NULL;

  g_assert_true (wsb_notify_options_parse (&p->o, &argc, &args, &error));
  g_assert_no_error (error);
  p->f = (WsbNotifyFormat){ .filter = p->o.filter,
                            .summary = p->o.summary,
                            .summary_fallback = p->o.summary_fallback,
                            .body = p->o.body,
                            .urgency = p->o.urgency_key,
                            .urgency_map = p->o.urgency_map,
                            .url = p->o.url_key,
                            .actions = p->o.actions_key,
                            .tags = p->o.tags_key,
                            .markdown = p->o.markdown,
                            .default_summary = "demo" };
}

static void
test_ntfy (void)
{
  Preset p = { 0 };
  static const struct
  {
    const char *priority;
    WsbNotifyUrgency urgency;
  } priorities[] = {
    { "", WSB_NOTIFY_URGENCY_NORMAL },
    { ",\"priority\":1", WSB_NOTIFY_URGENCY_LOW },
    { ",\"priority\":2", WSB_NOTIFY_URGENCY_LOW },
    { ",\"priority\":3", WSB_NOTIFY_URGENCY_NORMAL },
    { ",\"priority\":4", WSB_NOTIFY_URGENCY_CRITICAL },
    { ",\"priority\":5", WSB_NOTIFY_URGENCY_CRITICAL },
  };

  preset_setup (&p, "ntfy");
  /* Only message events show. */
  g_assert_null (format (&p.f, "{\"id\":\"a\",\"time\":1,\"event\":\"open\",\"topic\":\"t\"}"));
  g_assert_null (
      format (&p.f, "{\"id\":\"b\",\"time\":1,\"event\":\"keepalive\",\"topic\":\"t\"}"));
  g_assert_null (format (&p.f, "{\"id\":\"c\",\"event\":\"poll_request\",\"topic\":\"t\"}"));
  g_assert_null (format (&p.f, "not JSON"));
  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      g_autofree char *json = g_strdup_printf (
          "{\"id\":\"x\",\"event\":\"message\",\"topic\":\"alerts\",\"message\":\"m\"%s}",
          priorities[i].priority);
      g_autoptr (WsbNotifyContent) c = format (&p.f, json);

      g_assert_nonnull (c);
      g_assert_cmpint (c->urgency, ==, priorities[i].urgency);
      /* No title: the topic. */
      g_assert_cmpstr (c->summary, ==, "alerts");
      g_assert_cmpstr (c->body, ==, "m");
    }
  {
    g_autoptr (WsbNotifyContent) c = format (
        &p.f,
        "{\"event\":\"message\",\"topic\":\"alerts\",\"title\":\"Disk full\","
        "\"message\":\"/ is at 99%\",\"tags\":[\"warning\",\"backup\",\"skull\",\"srv1\"],"
        "\"click\":\"https://grafana.example.com/d/1\",\"actions\":["
        "{\"action\":\"view\",\"label\":\"Open portal\",\"url\":\"https://portal.example.com\"},"
        "{\"action\":\"http\",\"label\":\"Reboot\",\"url\":\"https://api.example.com/reboot\"},"
        "{\"action\":\"view\",\"label\":\"Local\",\"url\":\"file:///etc/passwd\"},"
        "{\"action\":\"view\",\"label\":\"Docs\",\"url\":\"https://docs.example.com\"}]}");

    g_assert_cmpstr (c->summary, ==, "\u26a0\ufe0f\U0001f480 Disk full");
    g_assert_cmpstr (c->body, ==, "/ is at 99%\nTags: backup, srv1");
    g_assert_cmpstr (c->url, ==, "https://grafana.example.com/d/1");
    g_assert_cmpuint (c->n_actions, ==, 2);
    g_assert_cmpstr (c->actions[0].label, ==, "Open portal");
    g_assert_cmpstr (c->actions[0].url, ==, "https://portal.example.com");
    g_assert_cmpstr (c->actions[1].label, ==, "Docs");
    g_assert_false (c->markdown);
  }
  {
    g_autoptr (WsbNotifyContent) c
        = format (&p.f, "{\"event\":\"message\",\"topic\":\"t\",\"message\":\"**x**\","
                        "\"content_type\":\"text/markdown\"}");

    g_assert_true (c->markdown);
  }
  wsb_notify_options_clear (&p.o);
}

static void
test_gotify (void)
{
  Preset p = { 0 };

  preset_setup (&p, "gotify");
  for (int prio = 0; prio <= 10; prio++)
    {
      g_autofree char *json
          = g_strdup_printf ("{\"id\":7,\"appid\":2,\"message\":\"Backup done\",\"title\":\"nas\","
                             "\"priority\":%d,\"date\":\"2026-12-07T05:00:00Z\"}",
                             prio);
      g_autoptr (WsbNotifyContent) c = format (&p.f, json);

      g_assert_cmpint (c->urgency, ==,
                       prio <= 3   ? WSB_NOTIFY_URGENCY_LOW
                       : prio <= 7 ? WSB_NOTIFY_URGENCY_NORMAL
                                   : WSB_NOTIFY_URGENCY_CRITICAL);
      g_assert_cmpstr (c->summary, ==, "nas");
      g_assert_cmpstr (c->body, ==, "Backup done");
      g_assert_null (c->url);
      g_assert_false (c->markdown);
    }
  {
    g_autoptr (WsbNotifyContent) c = format (
        &p.f, "{\"id\":8,\"appid\":2,\"message\":\"took **3m 12s**\",\"priority\":5,"
              "\"extras\":{\"client::display\":{\"contentType\":\"text/markdown\"},"
              "\"client::notification\":{\"click\":{\"url\":\"https://nas.example.com/\"}}}}");

    g_assert_cmpstr (c->summary, ==, "demo");
    g_assert_true (c->markdown);
    g_assert_cmpstr (c->body, ==, "took **3m 12s**");
    g_assert_cmpstr (c->url, ==, "https://nas.example.com/");
  }
  wsb_notify_options_clear (&p.o);
}

static void
test_urgency_map (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbNotifyUrgencyMap) m = wsb_notify_urgency_map_new (
      "1:low, 2:low,3:normal,4-5:critical,info:low,-3--1:low", &error);
  WsbNotifyUrgency u = WSB_NOTIFY_URGENCY_NORMAL;

  g_assert_no_error (error);
  g_assert_true (wsb_notify_urgency_map_lookup (m, "2", &u) && u == WSB_NOTIFY_URGENCY_LOW);
  g_assert_true (wsb_notify_urgency_map_lookup (m, "3", &u) && u == WSB_NOTIFY_URGENCY_NORMAL);
  g_assert_true (wsb_notify_urgency_map_lookup (m, "5", &u) && u == WSB_NOTIFY_URGENCY_CRITICAL);
  g_assert_true (wsb_notify_urgency_map_lookup (m, "4.0", &u) && u == WSB_NOTIFY_URGENCY_CRITICAL);
  g_assert_true (wsb_notify_urgency_map_lookup (m, "info", &u) && u == WSB_NOTIFY_URGENCY_LOW);
  g_assert_true (wsb_notify_urgency_map_lookup (m, "-2", &u) && u == WSB_NOTIFY_URGENCY_LOW);
  g_assert_false (wsb_notify_urgency_map_lookup (m, "6", &u));
  g_assert_false (wsb_notify_urgency_map_lookup (m, "4.5", &u));
  g_assert_false (wsb_notify_urgency_map_lookup (m, "Info", &u));
  for (const char *const *bad
       = (const char *const[]){ "", "1", "1:urgent", "5-4:low", ":low", "1:low,,2:low", NULL };
       *bad; bad++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (WsbNotifyUrgencyMap) none = wsb_notify_urgency_map_new (*bad, &e);

      g_assert_null (none);
      g_assert_error (e, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
    }
}

static void
test_emoji_table (void)
{
  g_assert_true (wsb_notify_emoji_table_sorted ());
  g_assert_cmpstr (wsb_notify_emoji_lookup ("+1"), ==, "\U0001f44d");
  g_assert_cmpstr (wsb_notify_emoji_lookup ("rotating_light"), ==, "\U0001f6a8");
  /* The whole gemoji list: the first and last names, and rarer ones. */
  g_assert_cmpstr (wsb_notify_emoji_lookup ("-1"), ==, "\U0001f44e");
  g_assert_cmpstr (wsb_notify_emoji_lookup ("zzz"), ==, "\U0001f4a4");
  g_assert_cmpstr (wsb_notify_emoji_lookup ("de"), ==, "\U0001f1e9\U0001f1ea");
  g_assert_cmpstr (wsb_notify_emoji_lookup ("hourglass_flowing_sand"), ==, "\u23f3");
  g_assert_null (wsb_notify_emoji_lookup ("Warning"));
  g_assert_null (wsb_notify_emoji_lookup (""));
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
  g_test_add_func ("/notify-message/preset-ntfy", test_ntfy);
  g_test_add_func ("/notify-message/preset-gotify", test_gotify);
  g_test_add_func ("/notify-message/urgency-map", test_urgency_map);
  g_test_add_func ("/notify-message/emoji-table", test_emoji_table);
  return g_test_run ();
}
