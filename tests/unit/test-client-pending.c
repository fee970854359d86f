/* Unit tests of clients/libwsbridge/client-pending.c: the requests waiting
 * for their reply, and the matching of a reply's id to one of them. */
#include <glib.h>
#include <stdlib.h>

#include "client-pending.h"

/* calloc, as the client allocates them: wsbc_pending_clear() frees with free(). */
static WsbcPending *
pending_new (guint64 id)
{
  WsbcPending *p = calloc (1, sizeof *p);

  g_assert_nonnull (p);
  p->id = id;
  return p;
}

static guint
list_length (WsbcPending *list)
{
  guint n = 0;

  for (; list; list = list->next)
    n++;
  return n;
}

static void
test_append_keeps_order (void)
{
  WsbcPending *list = NULL;
  WsbcPending *p;
  guint64 want = 1;

  for (guint64 id = 1; id <= 5; id++)
    wsbc_pending_append (&list, pending_new (id));
  for (p = list; p; p = p->next)
    g_assert_cmpuint (p->id, ==, want++);
  g_assert_cmpuint (want, ==, 6);
  wsbc_pending_clear (&list);
  g_assert_null (list);
}

/* Replies may come in any order; each takes its own entry, once. */
static void
test_take_by_id (void)
{
  WsbcPending *list = NULL;
  WsbcPending *p;

  for (guint64 id = 1; id <= 4; id++)
    wsbc_pending_append (&list, pending_new (id));

  p = wsbc_pending_take (&list, 3);
  g_assert_nonnull (p);
  g_assert_cmpuint (p->id, ==, 3);
  g_assert_null (p->next);
  free (p);
  g_assert_null (wsbc_pending_take (&list, 3));
  g_assert_null (wsbc_pending_take (&list, 99));
  g_assert_cmpuint (list_length (list), ==, 3);

  p = wsbc_pending_take (&list, 1);
  g_assert_cmpuint (p->id, ==, 1);
  free (p);
  p = wsbc_pending_take (&list, 4);
  g_assert_cmpuint (p->id, ==, 4);
  free (p);
  g_assert_cmpuint (list_length (list), ==, 1);
  g_assert_cmpuint (list->id, ==, 2);
  p = wsbc_pending_take (&list, 2);
  free (p);
  g_assert_null (list);
  g_assert_null (wsbc_pending_take (&list, 2));
}

/* A failed write unlinks its entry unless the reply already took it. */
static void
test_unlink (void)
{
  WsbcPending *list = NULL;
  WsbcPending *a = pending_new (1);
  WsbcPending *b = pending_new (2);
  WsbcPending *c = pending_new (3);

  wsbc_pending_append (&list, a);
  wsbc_pending_append (&list, b);
  wsbc_pending_append (&list, c);
  g_assert_true (wsbc_pending_unlink (&list, b));
  g_assert_null (b->next);
  g_assert_false (wsbc_pending_unlink (&list, b));
  g_assert_true (list == a && a->next == c && c->next == NULL);

  g_assert_true (wsbc_pending_take (&list, 3) == c);
  g_assert_false (wsbc_pending_unlink (&list, c));
  g_assert_true (wsbc_pending_unlink (&list, a));
  g_assert_null (list);
  free (a);
  free (b);
  free (c);
}

/* Two entries may carry the same id (a wrapped counter): the oldest first. */
static void
test_duplicate_ids_oldest_first (void)
{
  WsbcPending *list = NULL;
  WsbcPending *first = pending_new (7);
  WsbcPending *second = pending_new (7);

  wsbc_pending_append (&list, first);
  wsbc_pending_append (&list, second);
  g_assert_true (wsbc_pending_take (&list, 7) == first);
  g_assert_true (wsbc_pending_take (&list, 7) == second);
  free (first);
  free (second);
}

/* Closing frees what is still pending (LeakSanitizer and valgrind check). */
static void
test_clear (void)
{
  WsbcPending *list = NULL;

  wsbc_pending_clear (&list);
  for (guint64 id = 1; id <= 100; id++)
    wsbc_pending_append (&list, pending_new (id));
  g_assert_cmpuint (list_length (list), ==, 100);
  wsbc_pending_clear (&list);
  g_assert_null (list);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client-pending/append-keeps-order", test_append_keeps_order);
  g_test_add_func ("/client-pending/take-by-id", test_take_by_id);
  g_test_add_func ("/client-pending/unlink", test_unlink);
  g_test_add_func ("/client-pending/duplicate-ids", test_duplicate_ids_oldest_first);
  g_test_add_func ("/client-pending/clear", test_clear);

  return g_test_run ();
}
