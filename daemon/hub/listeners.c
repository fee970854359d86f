#include "listeners.h"

typedef struct
{
  guint id; /* 0: removed during an emission, dropped after it */
  gconstpointer funcs;
  gpointer data;
} Listener;

struct _WsbListeners
{
  GArray *items; /* Listener */
  guint next_id;
  guint emitting; /* nesting depth */
  gboolean has_removed;
};

WsbListeners *
wsb_listeners_new (void)
{
  WsbListeners *ls = g_new0 (WsbListeners, 1);

  ls->items = g_array_new (FALSE, FALSE, sizeof (Listener));
  ls->next_id = 1;
  return ls;
}

void
wsb_listeners_free (WsbListeners *ls)
{
  if (!ls)
    return;
  g_array_unref (ls->items);
  g_free (ls);
}

guint
wsb_listeners_add (WsbListeners *ls, gconstpointer funcs, gpointer data)
{
  Listener l = { ls->next_id++, funcs, data };

  if (ls->next_id == 0)
    ls->next_id = 1;
  g_array_append_val (ls->items, l);
  return l.id;
}

void
wsb_listeners_remove (WsbListeners *ls, guint id)
{
  for (guint i = 0; id && i < ls->items->len; i++)
    if (g_array_index (ls->items, Listener, i).id == id)
      {
        if (ls->emitting)
          {
            g_array_index (ls->items, Listener, i).id = 0;
            ls->has_removed = TRUE;
          }
        else
          g_array_remove_index (ls->items, i);
        return;
      }
}

static void
drop_removed (WsbListeners *ls)
{
  for (guint i = ls->items->len; i-- > 0;)
    if (g_array_index (ls->items, Listener, i).id == 0)
      g_array_remove_index (ls->items, i);
  ls->has_removed = FALSE;
}

void
wsb_listeners_emit (WsbListeners *ls, WsbListenerCall call, gpointer arg)
{
  /* Those added during the emission wait for the next one. */
  guint n = ls->items->len;

  ls->emitting++;
  for (guint i = 0; i < n; i++)
    {
      /* A copy: the array may grow (and move) during the call. */
      Listener l = g_array_index (ls->items, Listener, i);
      if (l.id)
        call (l.funcs, l.data, arg);
    }
  if (--ls->emitting == 0 && ls->has_removed)
    drop_removed (ls);
}

guint
wsb_listeners_count (WsbListeners *ls)
{
  guint n = 0;

  for (guint i = 0; i < ls->items->len; i++)
    n += g_array_index (ls->items, Listener, i).id != 0;
  return n;
}
