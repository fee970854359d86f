/* A list of listeners (a table of functions and their data each), for what
 * the hub tells frontends. Adding returns an id; removing takes it, also
 * during an emission: a listener removed then is not called any more (not
 * even later in the same round), and one added then is called from the next
 * emission on. Pure: no I/O; tests/unit/test-listeners.c. */
#pragma once

#include <glib.h>

typedef struct _WsbListeners WsbListeners;

/* How an emission calls one listener: funcs and data as it was added with,
 * arg as given to wsb_listeners_emit. */
typedef void (*WsbListenerCall) (gconstpointer funcs, gpointer data, gpointer arg);

WsbListeners *wsb_listeners_new (void);
void wsb_listeners_free (WsbListeners *ls);
/* The id (never 0) that removes it. */
guint wsb_listeners_add (WsbListeners *ls, gconstpointer funcs, gpointer data);
/* Unknown ids (and 0) are ignored. */
void wsb_listeners_remove (WsbListeners *ls, guint id);
/* call for every listener, in the order they were added. */
void wsb_listeners_emit (WsbListeners *ls, WsbListenerCall call, gpointer arg);
guint wsb_listeners_count (WsbListeners *ls);
