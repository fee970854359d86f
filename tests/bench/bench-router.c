/* Routing cost per message: the channel at a JSON pointer, found with
 * parsers that build a tree (json-glib, jansson) and parsers that do not
 * (yajl's callbacks, simdjson On-Demand), on the same messages and with the
 * same pointer walk, next to the daemon's own router (its scanner,
 * daemon/hub/json-scan.c). BENCHMARKS.md has the method and the numbers.
 *
 *   bench-router                          wall clock, every case and library
 *   bench-router --list                   the case and library names
 *   bench-router --case C --lib L --iterations N
 *                                         one pair, N times, through bench_one,
 *                                         for callgrind --toggle-collect='bench_one*' */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "bench-router.h"
#include "router.h"

#define MAX_ROUNDS 64

typedef struct
{
  const char *name;
  const char *pointer;
  const char *expected; /* the channel, NULL when the message does not route */
  char *message;
  gsize len;
} Case;

typedef struct
{
  const char *name;
  gpointer (*setup) (const char *pointer);
  char *(*route) (gpointer state, const char *data, gsize len);
  void (*teardown) (gpointer state);
} Lib;

/* ---------------------------------------------------------------- pointer */

void
bench_pointer_init (BenchPointer *p, const char *pointer)
{
  p->keys = g_strsplit (pointer + 1, "/", -1);
  p->n = g_strv_length (p->keys);
  p->indexes = g_new (gint64, p->n);
  for (guint i = 0; i < p->n; i++)
    {
      const char *key = p->keys[i];
      guint64 v;

      if (key[0] == '0' && key[1])
        p->indexes[i] = -1; /* a leading zero */
      else if (g_ascii_string_to_unsigned (key, 10, 0, G_MAXINT32, &v, NULL))
        p->indexes[i] = (gint64) v;
      else
        p->indexes[i] = -1;
    }
}

void
bench_pointer_clear (BenchPointer *p)
{
  g_strfreev (p->keys);
  g_free (p->indexes);
}

char *
bench_finish (const char *s, gsize len, gboolean is_int, gint64 v)
{
  if (is_int)
    return g_strdup_printf ("%" G_GINT64_FORMAT, v);
  if (!s || !wsb_channel_name_check (s, len, NULL))
    return NULL;
  return g_strndup (s, len);
}

/* ---------------------------------------------------------------- jansson */

static gpointer
jansson_setup (const char *pointer)
{
  BenchPointer *p = g_new0 (BenchPointer, 1);

  bench_pointer_init (p, pointer);
  return p;
}

static char *
jansson_route (gpointer state, const char *data, gsize len)
{
  BenchPointer *p = state;
  json_t *root = json_loadb (data, len, JSON_ALLOW_NUL, NULL);
  json_t *v = root;
  char *channel = NULL;

  for (guint i = 0; i < p->n && v; i++)
    {
      if (json_is_object (v))
        v = json_object_get (v, p->keys[i]);
      else if (json_is_array (v) && p->indexes[i] >= 0)
        v = json_array_get (v, (size_t) p->indexes[i]);
      else
        v = NULL;
    }
  if (json_is_integer (v))
    channel = bench_finish (NULL, 0, TRUE, json_integer_value (v));
  else if (json_is_string (v))
    channel = bench_finish (json_string_value (v), json_string_length (v), FALSE, 0);
  json_decref (root);
  return channel;
}

static void
jansson_teardown (gpointer state)
{
  bench_pointer_clear (state);
  g_free (state);
}

/* ---------------------------------------------------------------- wsb_router */

static gpointer
wsb_setup (const char *pointer)
{
  return wsb_router_new (pointer, NULL);
}

static char *
wsb_route (gpointer state, const char *data, gsize len)
{
  return wsb_router_route (state, data, len);
}

static void
wsb_teardown (gpointer state)
{
  wsb_router_free (state);
}

enum
{
  LIB_JSON_GLIB,
  LIB_JSON_GLIB_IMMUTABLE,
  LIB_JANSSON,
  LIB_YAJL,
  LIB_SIMDJSON,
  LIB_SIMDJSON_WALK,
  LIB_WSB_ROUTER,
};

static const Lib libs[] = {
  [LIB_JSON_GLIB] = { "json-glib", bench_glib_setup, bench_glib_route, bench_glib_teardown },
  [LIB_JSON_GLIB_IMMUTABLE]
  = { "json-glib-immutable", bench_glib_immutable_setup, bench_glib_route, bench_glib_teardown },
  [LIB_JANSSON] = { "jansson", jansson_setup, jansson_route, jansson_teardown },
  [LIB_YAJL] = { "yajl", bench_yajl_setup, bench_yajl_route, bench_yajl_teardown },
  [LIB_SIMDJSON]
  = { "simdjson-ondemand", bench_simdjson_setup, bench_simdjson_route, bench_simdjson_teardown },
  [LIB_SIMDJSON_WALK] = { "simdjson-ondemand-walk", bench_simdjson_setup, bench_simdjson_walk_route,
                          bench_simdjson_teardown },
  [LIB_WSB_ROUTER] = { "wsb_router", wsb_setup, wsb_route, wsb_teardown },
};

/* ---------------------------------------------------------------- messages */

static char *
small_message (void)
{
  return g_strdup ("{\"channel\":\"btc-usd\",\"seq\":123,\"price\":\"41234.5\",\"size\":\"0.0125\","
                   "\"side\":\"buy\",\"ts\":1700000000123}");
}

/* The same tick with the channel last: every other member is read first. */
static char *
late_message (void)
{
  return g_strdup ("{\"seq\":123,\"price\":\"41234.5\",\"size\":\"0.0125\",\"side\":\"buy\","
                   "\"ts\":1700000000123,\"channel\":\"btc-usd\"}");
}

/* A chat line: non-ASCII text and escapes, as a JSON encoder writes them. */
static char *
escaped_message (void)
{
  return g_strdup (
      "{\"channel\":\"room.k\\u00f6ln\",\"user\":\"J\u00fcrgen\","
      "\"text\":\"Gr\u00fc\u00dfe \\u2014 \\\"bis gleich\\\"\\n\",\"ts\":1700000000123}");
}

static char *
nested_message (void)
{
  return g_strdup ("{\"type\":\"update\",\"data\":[{\"topic\":\"trades.btc-usd\",\"px\":41234.5,"
                   "\"qty\":0.0125}],\"ts\":1700000000123}");
}

/* An order book update of `levels` bids and asks: the shape market-data
 * feeds send. */
static void
append_book (GString *s, guint levels)
{
  g_string_append (s, "\"type\":\"snapshot\",\"seq\":987654,\"ts\":1700000000123,\"bids\":[");
  for (guint i = 0; i < levels; i++)
    g_string_append_printf (s, "%s[\"%u.%u\",\"%u.%04u\"]", i ? "," : "", 41234 - i, i % 10, i + 1,
                            (i * 37) % 10000);
  g_string_append (s, "],\"asks\":[");
  for (guint i = 0; i < levels; i++)
    g_string_append_printf (s, "%s[\"%u.%u\",\"%u.%04u\"]", i ? "," : "", 41235 + i, i % 10, i + 2,
                            (i * 53) % 10000);
  g_string_append (s, "],\"checksum\":\"a1b2c3d4\"");
}

/* About 1 KiB, the channel first. */
static char *
large_message (void)
{
  GString *s = g_string_new ("{\"channel\":\"book.btc-usd\",");

  append_book (s, 20);
  g_string_append_c (s, '}');
  return g_string_free (s, FALSE);
}

/* About 4 KiB, the channel last. */
static char *
large_late_message (void)
{
  GString *s = g_string_new ("{");

  append_book (s, 90);
  g_string_append (s, ",\"channel\":\"book.btc-usd\"}");
  return g_string_free (s, FALSE);
}

static char *
text_message (void)
{
  return g_strdup ("heartbeat 1700000000123: all quiet on btc-usd, eth-usd and sol-usd; "
                   "next heartbeat in 30 seconds");
}

static Case cases[] = {
  { "top-level-100B", "/channel", "btc-usd", NULL, 0 },
  { "late-100B", "/channel", "btc-usd", NULL, 0 },
  { "nested-100B", "/data/0/topic", "trades.btc-usd", NULL, 0 },
  { "escaped-100B", "/channel", "room.k\xc3\xb6ln", NULL, 0 },
  { "top-level-1KiB", "/channel", "book.btc-usd", NULL, 0 },
  { "late-4KiB", "/channel", "book.btc-usd", NULL, 0 },
  { "non-json-100B", "/channel", NULL, NULL, 0 },
};

static void
cases_init (void)
{
  char *(*make[]) (void) = { small_message, late_message,       nested_message, escaped_message,
                             large_message, large_late_message, text_message };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      cases[i].message = make[i]();
      cases[i].len = strlen (cases[i].message);
    }
}

/* ---------------------------------------------------------------- running */

/* One routed message, kept out of line so callgrind can count it alone
 * (GCC may rename it bench_one.isra.0, hence the wildcard). */
G_GNUC_NO_INLINE static void
bench_one (const Lib *lib, gpointer state, const Case *c)
{
  g_free (lib->route (state, c->message, c->len));
}

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static void
check_result (const Lib *lib, gpointer state, const Case *c)
{
  g_autofree char *got = lib->route (state, c->message, c->len);

  if (g_strcmp0 (got, c->expected) != 0)
    g_error ("%s on %s: got %s, expected %s", lib->name, c->name, got ? got : "(null)",
             c->expected ? c->expected : "(null)");
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *values, guint n)
{
  qsort (values, n, sizeof values[0], compare_double);
  return values[n / 2];
}

/* Messages for one timed run of about 10 ms; warms up on the way. */
static guint
calibrate (const Lib *lib, gpointer state, const Case *c)
{
  for (guint n = 256;; n *= 2)
    {
      gint64 t = now_ns ();

      for (guint i = 0; i < n; i++)
        bench_one (lib, state, c);
      if (now_ns () - t >= 10000000)
        return n;
    }
}

/* ns per message for every library on one case. The libraries take turns
 * within each round, so load from elsewhere on the machine falls on all of
 * them alike; ratio is the median of the rounds' jansson/wsb_router ratios. */
static void
measure_case (const Case *c, guint rounds, double *ns, double *ratio)
{
  gpointer state[G_N_ELEMENTS (libs)];
  guint n[G_N_ELEMENTS (libs)];
  double per[G_N_ELEMENTS (libs)][MAX_ROUNDS];
  double ratios[MAX_ROUNDS];

  for (guint l = 0; l < G_N_ELEMENTS (libs); l++)
    {
      state[l] = libs[l].setup (c->pointer);
      check_result (&libs[l], state[l], c);
      n[l] = calibrate (&libs[l], state[l], c);
    }
  for (guint r = 0; r < rounds; r++)
    {
      for (guint l = 0; l < G_N_ELEMENTS (libs); l++)
        {
          gint64 t = now_ns ();

          for (guint i = 0; i < n[l]; i++)
            bench_one (&libs[l], state[l], c);
          per[l][r] = (double) (now_ns () - t) / n[l];
        }
      ratios[r] = per[LIB_JANSSON][r] / per[LIB_WSB_ROUTER][r];
    }
  for (guint l = 0; l < G_N_ELEMENTS (libs); l++)
    {
      ns[l] = median (per[l], rounds);
      libs[l].teardown (state[l]);
    }
  *ratio = median (ratios, rounds);
}

static const Lib *
find_lib (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (libs); i++)
    if (g_str_equal (libs[i].name, name))
      return &libs[i];
  g_printerr ("bench-router: no library %s (see --list)\n", name);
  exit (2);
}

static const Case *
find_case (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (g_str_equal (cases[i].name, name))
      return &cases[i];
  g_printerr ("bench-router: no case %s (see --list)\n", name);
  exit (2);
}

static void
run_wall_clock (guint rounds)
{
  g_print ("Routing cost per message, ns (median of %u rounds)\n\n", rounds);
  g_print ("%-16s %5s", "case", "bytes");
  for (guint l = 0; l < G_N_ELEMENTS (libs); l++)
    g_print (" %20s", libs[l].name);
  g_print (" %18s\n", "jansson/wsb_router");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double ns[G_N_ELEMENTS (libs)], ratio;

      measure_case (&cases[i], rounds, ns, &ratio);
      g_print ("%-16s %5" G_GSIZE_FORMAT, cases[i].name, cases[i].len);
      for (guint l = 0; l < G_N_ELEMENTS (libs); l++)
        g_print (" %20.0f", ns[l]);
      g_print (" %18.2f\n", ratio);
    }
}

static void
run_one (const char *case_name, const char *lib_name, guint iterations)
{
  const Case *c = find_case (case_name);
  const Lib *lib = find_lib (lib_name);
  gpointer state = lib->setup (c->pointer);

  /* The first message pays for lazy set-up (hash seeds, type
   * registration); callgrind counts only inside bench_one. */
  check_result (lib, state, c);
  for (guint i = 0; i < iterations; i++)
    bench_one (lib, state, c);
  lib->teardown (state);
}

int
main (int argc, char **argv)
{
  g_autofree char *case_name = NULL;
  g_autofree char *lib_name = NULL;
  gint iterations = 10000;
  gint rounds = 21;
  gboolean list = FALSE;
  const GOptionEntry entries[] = {
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_name, "Run one case (with --lib)", "NAME" },
    { "lib", 0, 0, G_OPTION_ARG_STRING, &lib_name, "Run one library (with --case)", "NAME" },
    { "iterations", 0, 0, G_OPTION_ARG_INT, &iterations, "Messages for --case/--lib", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Timed rounds per case (1-64)", "N" },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list, "List the case and library names", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- routing cost per message");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("bench-router: %s\n", error->message);
      return 2;
    }
  if (rounds < 1 || rounds > MAX_ROUNDS || iterations < 1 || !case_name != !lib_name)
    {
      g_printerr ("bench-router: --rounds is 1-%d, --iterations at least 1, and --case and "
                  "--lib go together\n",
                  MAX_ROUNDS);
      return 2;
    }
  cases_init ();
  if (list)
    {
      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        g_print ("case %s\n", cases[i].name);
      for (guint i = 0; i < G_N_ELEMENTS (libs); i++)
        g_print ("lib %s\n", libs[i].name);
    }
  else if (case_name)
    run_one (case_name, lib_name, (guint) iterations);
  else
    run_wall_clock ((guint) rounds);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_free (cases[i].message);
  return 0;
}
