/* Shared by the parts of bench-router: jansson's and json-glib's headers
 * both declare json_object_iter_next, so each library is used from its own
 * file (and simdjson from C++). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A split JSON pointer. The bench's pointers have no "~" escapes; the
 * daemon's router unescapes. */
typedef struct
{
  char **keys;
  gint64 *indexes; /* -1: not an array index */
  guint n;
} BenchPointer;

void bench_pointer_init (BenchPointer *p, const char *pointer);
void bench_pointer_clear (BenchPointer *p);

/* The step both libraries share: a string or an integer becomes the channel. */
char *bench_finish (const char *s, gsize len, gboolean is_int, gint64 v);

/* json-glib, with a JsonParser kept across messages (it holds only the
 * last document), mutable or immutable nodes. */
gpointer bench_glib_setup (const char *pointer);
gpointer bench_glib_immutable_setup (const char *pointer);
char *bench_glib_route (gpointer state, const char *data, gsize len);
void bench_glib_teardown (gpointer state);

/* yajl's callback parser, one handle per message. */
gpointer bench_yajl_setup (const char *pointer);
char *bench_yajl_route (gpointer state, const char *data, gsize len);
void bench_yajl_teardown (gpointer state);

/* simdjson On-Demand, at_pointer on a padded copy; walk_route visits every
 * value first. */
gpointer bench_simdjson_setup (const char *pointer);
char *bench_simdjson_route (gpointer state, const char *data, gsize len);
char *bench_simdjson_walk_route (gpointer state, const char *data, gsize len);
void bench_simdjson_teardown (gpointer state);

G_END_DECLS
