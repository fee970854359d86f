#include "push-store.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static char *
tmp_path (void)
{
  g_autofree char *dir = wsb_test_tmp_dir ("push-store-XXXXXX");

  return g_build_filename (dir, "sub", "registrations.json", NULL);
}

static void
test_round_trip (void)
{
  g_autofree char *path = tmp_path ();
  g_autoptr (GError) error = NULL;
  g_autoptr (WsbPushStore) s = wsb_push_store_load (path, &error);
  g_autoptr (WsbPushStore) t = NULL;
  g_autofree const char **topics = NULL;
  WsbPushReg *r;
  struct stat st;

  g_assert_no_error (error);
  g_assert_cmpuint (wsb_push_store_regs (s)->len, ==, 0);
  g_assert_null (wsb_push_store_last_id (s));
  wsb_push_store_add (s, "tok1", "org.example.A", "A app", "upAAAAAAAAAAAA", 2);
  r = wsb_push_store_add (s, "tok2", "org.example.B", NULL, "upBBBBBBBBBBBB", 1);
  r->last_message = 1234;
  g_assert_true (wsb_push_store_take_id (s, "id1"));
  g_assert_true (wsb_push_store_take_id (s, "id2"));
  g_assert_false (wsb_push_store_take_id (s, "id1"));
  /* The position passes finished messages only, in order. */
  g_assert_true (wsb_push_store_finish_id (s, "id2"));
  g_assert_null (wsb_push_store_last_id (s));
  g_assert_true (wsb_push_store_finish_id (s, "id1"));
  g_assert_cmpstr (wsb_push_store_last_id (s), ==, "id2");
  g_assert_false (wsb_push_store_finish_id (s, "id1"));
  g_assert_false (wsb_push_store_take_id (s, "id1"));
  wsb_push_store_set_server (s, "https://a.example");
  g_assert_cmpstr (wsb_push_store_last_id (s), ==, NULL); /* a new server: a new position */
  g_assert_true (wsb_push_store_take_id (s, "id1"));
  g_assert_true (wsb_push_store_take_id (s, "id2"));
  g_assert_true (wsb_push_store_take_id (s, "id3"));
  g_assert_true (wsb_push_store_finish_id (s, "id1"));
  g_assert_true (wsb_push_store_finish_id (s, "id2"));
  g_assert_true (wsb_push_store_save (s, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  t = wsb_push_store_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (wsb_push_store_regs (t)->len, ==, 2);
  r = wsb_push_store_by_token (t, "tok2");
  g_assert_cmpstr (r->service, ==, "org.example.B");
  g_assert_cmpstr (r->description, ==, "");
  g_assert_cmpint (r->version, ==, 1);
  g_assert_cmpint (r->last_message, ==, 1234);
  g_assert_true (wsb_push_store_by_topic (t, "upAAAAAAAAAAAA")
                 == wsb_push_store_by_token (t, "tok1"));
  g_assert_cmpstr (wsb_push_store_last_id (t), ==, "id2");
  g_assert_cmpstr (wsb_push_store_server (t), ==, "https://a.example");
  g_assert_false (wsb_push_store_take_id (t, "id1")); /* remembered across the reload */
  g_assert_true (wsb_push_store_take_id (t, "id3"));  /* not finished: asked for again */
  topics = wsb_push_store_topics (t);
  g_assert_cmpstr (topics[0], ==, "upAAAAAAAAAAAA");
  g_assert_cmpstr (topics[1], ==, "upBBBBBBBBBBBB");
  g_assert_null (topics[2]);
  wsb_push_store_remove (t, wsb_push_store_by_token (t, "tok1"));
  g_assert_null (wsb_push_store_by_token (t, "tok1"));
}

static void
test_recent_bounded (void)
{
  g_autofree char *path = tmp_path ();
  g_autoptr (WsbPushStore) s = wsb_push_store_load (path, NULL);

  for (int i = 0; i < WSB_PUSH_RECENT_IDS + 10; i++)
    {
      g_autofree char *id = g_strdup_printf ("id%d", i);

      g_assert_true (wsb_push_store_take_id (s, id));
      g_assert_true (wsb_push_store_finish_id (s, id));
    }
  /* The oldest are forgotten, the newest kept. */
  g_assert_true (wsb_push_store_take_id (s, "id0"));
  g_assert_false (wsb_push_store_take_id (s, "id100"));
}

static void
test_bad_files (void)
{
  const char *bad[] = {
    "not json",
    "[]",
    "{\"registrations\": 5}",
    "{\"registrations\": [{\"token\": \"t\"}]}",
    "{\"registrations\": [{\"token\": \"t\", \"service\": \":1.2\", \"topic\": \"upAAAAAAAAAAAA\", "
    "\"version\": 2}]}",
    "{\"registrations\": [{\"token\": \"t\", \"service\": \"a.b\", \"topic\": \"bad\", "
    "\"version\": 2}]}",
    "{\"registrations\": [{\"token\": \"t\", \"service\": \"a.b\", \"topic\": \"upAAAAAAAAAAAA\", "
    "\"version\": 3}]}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *path = tmp_path ();
      g_autofree char *dir = g_path_get_dirname (path);
      g_autoptr (GError) error = NULL;
      g_autoptr (WsbPushStore) s = NULL;

      g_mkdir_with_parents (dir, 0700);
      g_assert_true (g_file_set_contents (path, bad[i], -1, NULL));
      s = wsb_push_store_load (path, &error);
      g_assert_null (s);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, path));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/push/store/round-trip", test_round_trip);
  g_test_add_func ("/push/store/recent-bounded", test_recent_bounded);
  g_test_add_func ("/push/store/bad-files", test_bad_files);
  return g_test_run ();
}
