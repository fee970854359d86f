#include "listeners.h"

typedef struct
{
  WsbListeners *ls;
  GString *log;
  guint remove_id; /* removed by the listener "a" when it is called */
  gboolean add;    /* "a" adds "c" when it is called */
  guint added_id;
} Fixture;

static void
call (gconstpointer funcs, gpointer data, gpointer arg)
{
  const char *name = funcs;
  Fixture *f = arg;

  g_string_append (f->log, name);
  if (name[0] != 'a')
    return;
  if (f->remove_id)
    wsb_listeners_remove (f->ls, f->remove_id);
  if (f->add)
    f->added_id = wsb_listeners_add (f->ls, "c", NULL);
}

static void
test_order_and_remove_by_id (void)
{
  Fixture f = { wsb_listeners_new (), g_string_new (NULL) };
  guint a = wsb_listeners_add (f.ls, "a", NULL);
  guint b = wsb_listeners_add (f.ls, "b", NULL);

  g_assert_cmpuint (a, !=, 0);
  g_assert_cmpuint (a, !=, b);
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "ab");
  wsb_listeners_remove (f.ls, a);
  wsb_listeners_remove (f.ls, a); /* twice: ignored */
  wsb_listeners_remove (f.ls, 0);
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "abb");
  g_assert_cmpuint (wsb_listeners_count (f.ls), ==, 1);
  wsb_listeners_free (f.ls);
  g_string_free (f.log, TRUE);
}

static void
test_remove_during_emission (void)
{
  Fixture f = { wsb_listeners_new (), g_string_new (NULL) };
  guint a = wsb_listeners_add (f.ls, "a", NULL);

  /* "a" removes "b", which comes after it: "b" is not called any more. */
  f.remove_id = wsb_listeners_add (f.ls, "b", NULL);
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "a");
  g_assert_cmpuint (wsb_listeners_count (f.ls), ==, 1);
  /* "a" removes itself. */
  f.remove_id = a;
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "aa");
  g_assert_cmpuint (wsb_listeners_count (f.ls), ==, 0);
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "aa");
  wsb_listeners_free (f.ls);
  g_string_free (f.log, TRUE);
}

static void
test_add_during_emission_waits_for_the_next (void)
{
  Fixture f = { wsb_listeners_new (), g_string_new (NULL) };

  wsb_listeners_add (f.ls, "a", NULL);
  f.add = TRUE;
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "a");
  f.add = FALSE;
  wsb_listeners_emit (f.ls, call, &f);
  g_assert_cmpstr (f.log->str, ==, "aac");
  wsb_listeners_remove (f.ls, f.added_id);
  g_assert_cmpuint (wsb_listeners_count (f.ls), ==, 1);
  wsb_listeners_free (f.ls);
  g_string_free (f.log, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/listeners/order-and-remove-by-id", test_order_and_remove_by_id);
  g_test_add_func ("/listeners/remove-during-emission", test_remove_during_emission);
  g_test_add_func ("/listeners/add-during-emission-waits-for-the-next",
                   test_add_during_emission_waits_for_the_next);
  return g_test_run ();
}
