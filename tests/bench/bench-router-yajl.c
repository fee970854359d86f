/* bench-router: yajl 2.1's callback parser, which builds no tree. The
 * callbacks follow the pointer as the daemon's scanner does (the containers
 * on the path so far, the next step's index in an array, duplicate keys
 * replacing the earlier value); yajl checks the whole text, UTF-8 included.
 * One handle per message: yajl has no reset, and a handle that has seen the
 * end of a value or an error takes no more. */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "bench-router.h"

#define MAX_DEPTH 64 /* the bench's messages are shallow; deeper fails */

typedef struct
{
  BenchPointer ptr;
  /* per message */
  guint depth, on_path;
  gboolean matching, target, next;
  gint64 index;
  gboolean is_object[MAX_DEPTH + 1];
  char *channel;
} YajlState;

/* A value starts in the container at st->depth: in an array the index
 * says whether it is the next step; in an object map_key has said. */
static gboolean
value_starts (YajlState *st)
{
  if (st->depth > 0 && !st->is_object[st->depth])
    {
      st->target = st->next = FALSE;
      if (st->depth == st->on_path && st->matching
          && st->ptr.indexes[st->on_path - 1] == st->index++)
        {
          st->target = st->on_path == st->ptr.n;
          st->next = !st->target;
        }
    }
  return st->target;
}

static void
set_channel (YajlState *st, char *channel)
{
  g_free (st->channel);
  st->channel = channel;
}

/* The callbacks of scalars: one at the top is not routed (no pointer
 * resolves in it), so it stops the parse. */
static int
on_scalar (void *ctx)
{
  YajlState *st = ctx;

  value_starts (st);
  return st->depth > 0;
}

static int
on_boolean (void *ctx, int v)
{
  return on_scalar (ctx);
}

static int
on_number (void *ctx, const char *s, size_t len)
{
  YajlState *st = ctx;

  if (value_starts (st) && !memchr (s, '.', len) && !memchr (s, 'e', len) && !memchr (s, 'E', len))
    {
      g_autofree char *text = g_strndup (s, len);
      set_channel (st, bench_finish (NULL, 0, TRUE, g_ascii_strtoll (text, NULL, 10)));
    }
  return st->depth > 0;
}

static int
on_string (void *ctx, const unsigned char *s, size_t len)
{
  YajlState *st = ctx;

  if (value_starts (st))
    set_channel (st, bench_finish ((const char *) s, len, FALSE, 0));
  return st->depth > 0;
}

static int
on_start (YajlState *st, gboolean is_object)
{
  value_starts (st);
  if (st->depth == MAX_DEPTH)
    return 0;
  st->is_object[++st->depth] = is_object;
  if (st->next)
    st->on_path = st->depth, st->matching = TRUE, st->index = 0;
  st->target = st->next = FALSE;
  return 1;
}

static int
on_start_map (void *ctx)
{
  return on_start (ctx, TRUE);
}

static int
on_start_array (void *ctx)
{
  return on_start (ctx, FALSE);
}

static int
on_map_key (void *ctx, const unsigned char *key, size_t len)
{
  YajlState *st = ctx;
  const char *want;

  st->target = st->next = FALSE;
  if (st->depth != st->on_path || !st->matching)
    return 1;
  want = st->ptr.keys[st->on_path - 1];
  if (strlen (want) == len && memcmp (want, key, len) == 0)
    {
      set_channel (st, NULL); /* a later duplicate replaces the earlier value */
      st->target = st->on_path == st->ptr.n;
      st->next = !st->target;
    }
  return 1;
}

static int
on_end (void *ctx)
{
  YajlState *st = ctx;

  if (st->depth == st->on_path)
    {
      st->on_path--;
      st->matching = st->on_path > 0 && st->is_object[st->on_path];
    }
  st->depth--;
  return 1;
}

static const yajl_callbacks callbacks = {
  .yajl_null = on_scalar,
  .yajl_boolean = on_boolean,
  .yajl_number = on_number,
  .yajl_string = on_string,
  .yajl_start_map = on_start_map,
  .yajl_map_key = on_map_key,
  .yajl_end_map = on_end,
  .yajl_start_array = on_start_array,
  .yajl_end_array = on_end,
};

gpointer
bench_yajl_setup (const char *pointer)
{
  YajlState *st = g_new0 (YajlState, 1);

  bench_pointer_init (&st->ptr, pointer);
  return st;
}

char *
bench_yajl_route (gpointer state, const char *data, gsize len)
{
  YajlState *st = state;
  yajl_handle h = yajl_alloc (&callbacks, NULL, st);
  gboolean ok;

  st->depth = st->on_path = 0;
  st->matching = st->target = FALSE;
  st->next = TRUE; /* the top value is where the path starts */
  st->channel = NULL;
  ok = yajl_parse (h, (const unsigned char *) data, len) == yajl_status_ok
       && yajl_complete_parse (h) == yajl_status_ok;
  yajl_free (h);
  if (!ok)
    g_clear_pointer (&st->channel, g_free);
  return g_steal_pointer (&st->channel);
}

void
bench_yajl_teardown (gpointer state)
{
  YajlState *st = state;

  bench_pointer_clear (&st->ptr);
  g_free (st);
}
