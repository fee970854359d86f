#define _GNU_SOURCE
#include "bench-meter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

gint64
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gint64
parse_digits (const guint8 *p, const guint8 *end)
{
  gint64 v = 0;
  const guint8 *start = p;

  while (p < end && *p >= '0' && *p <= '9' && p - start < 19)
    v = v * 10 + (*p++ - '0');
  return p > start ? v : -1;
}

gint64
bench_payload_time (const guint8 *data, gsize len, gboolean binary)
{
  const guint8 *end = data + len, *t;

  if (binary)
    {
      guint64 v = 0;
      if (len < 8)
        return -1;
      for (int i = 7; i >= 0; i--)
        v = v << 8 | data[i];
      return (gint64) v;
    }
  if (len > 2 && data[0] == 't' && data[1] == '=')
    return parse_digits (data + 2, end);
  t = memmem (data, len, "\"t\":", 4);
  return t ? parse_digits (t + 4, end) : -1;
}

void
bench_meter_init (BenchMeter *m, guint64 expected, gboolean latency, guint64 skip)
{
  memset (m, 0, sizeof *m);
  m->expected = expected;
  m->latency = latency;
  m->skip = skip;
  if (latency)
    m->samples = g_new (gint64, expected);
  m->active_ns = bench_now_ns ();
}

gint64
bench_meter_silence_ns (BenchMeter *m)
{
  gint64 now = bench_now_ns ();

  if (m->messages != m->seen)
    {
      m->seen = m->messages;
      m->active_ns = now;
    }
  return now - m->active_ns;
}

void
bench_meter_touch (BenchMeter *m)
{
  m->active_ns = bench_now_ns ();
}

void
bench_meter_clear (BenchMeter *m)
{
  g_clear_pointer (&m->samples, g_free);
}

gboolean
bench_meter_done (const BenchMeter *m)
{
  return m->messages + m->lost >= m->expected;
}

gboolean
bench_meter_message (BenchMeter *m, const guint8 *data, gsize len, gboolean binary)
{
  gint64 now = 0;

  if (m->latency || m->messages == 0 || m->messages + m->lost + 1 >= m->expected)
    now = bench_now_ns ();
  if (m->messages == 0)
    m->first_ns = now;
  m->messages++;
  m->bytes += len;
  if (m->latency && m->messages > m->skip && m->n_samples < m->expected)
    {
      gint64 sent = bench_payload_time (data, len, binary);
      if (sent < 0)
        m->no_time++;
      else
        m->samples[m->n_samples++] = now - sent;
    }
  if (bench_meter_done (m))
    {
      m->last_ns = now;
      return TRUE;
    }
  return FALSE;
}

gboolean
bench_meter_lost (BenchMeter *m, guint64 n)
{
  m->lost += n;
  if (bench_meter_done (m))
    {
      m->last_ns = bench_now_ns ();
      return TRUE;
    }
  return FALSE;
}

double
bench_meter_rate (const BenchMeter *m)
{
  if (m->messages < 2 || m->last_ns <= m->first_ns)
    return 0;
  return (double) (m->messages - 1) * 1e9 / (double) (m->last_ns - m->first_ns);
}

static int
cmp_i64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted samples, in µs. */
static double
percentile_us (const BenchMeter *m, double p)
{
  gsize rank = (gsize) (p / 100.0 * (double) m->n_samples + 0.999999);

  rank = CLAMP (rank, 1, m->n_samples);
  return (double) m->samples[rank - 1] / 1000.0;
}

void
bench_meter_append_json (BenchMeter *m, GString *out)
{
  static const struct
  {
    const char *name;
    double p;
  } points[] = { { "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 }, { "max", 100 } };
  gint64 last = m->last_ns ? m->last_ns : bench_now_ns ();

  g_string_append_printf (out,
                          "\"messages\": %" G_GUINT64_FORMAT ", \"bytes\": %" G_GUINT64_FORMAT
                          ", \"lost\": %" G_GUINT64_FORMAT ", \"first_ns\": %" G_GINT64_FORMAT
                          ", \"last_ns\": %" G_GINT64_FORMAT ", \"seconds\": %.6f, \"rate\": %.1f",
                          m->messages, m->bytes, m->lost, m->first_ns, last,
                          m->messages ? (double) (last - m->first_ns) / 1e9 : 0.0,
                          bench_meter_rate (m));
  if (!m->latency)
    return;
  g_string_append_printf (out, ", \"no_time\": %" G_GUINT64_FORMAT ", \"latency_us\": {\"n\": %zu",
                          m->no_time, m->n_samples);
  if (m->n_samples)
    {
      qsort (m->samples, m->n_samples, sizeof *m->samples, cmp_i64);
      for (gsize i = 0; i < G_N_ELEMENTS (points); i++)
        g_string_append_printf (out, ", \"%s\": %.1f", points[i].name,
                                percentile_us (m, points[i].p));
    }
  g_string_append (out, "}");
}

void
bench_meter_print (BenchMeter *m, const char *client, const char *extra)
{
  g_autoptr (GString) out = g_string_new (NULL);

  g_string_append_printf (out, "{\"client\": \"%s\", \"complete\": %s, ", client,
                          bench_meter_done (m) ? "true" : "false");
  bench_meter_append_json (m, out);
  if (extra && *extra)
    g_string_append_printf (out, ", %s", extra);
  g_string_append (out, "}\n");
  fputs (out->str, stdout);
  fflush (stdout);
}

void
bench_meter_report (BenchMeter *m, const char *client, int connections, const char *failure)
{
  g_autofree char *why = failure ? g_strescape (failure, NULL) : NULL;
  g_autofree char *extra
      = g_strdup_printf ("\"connections\": %d%s%s%s", connections, why ? ", \"error\": \"" : "",
                         why ? why : "", why ? "\"" : "");

  bench_meter_print (m, client, extra);
}

void
bench_die (const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "%s: ", g_get_prgname () ? g_get_prgname () : "bench");
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (2);
}

void
bench_parse_options (BenchClientOptions *o, int *argc, char ***argv, const char *prog,
                     const char *summary, const char *count_zero, BenchOptFlags flags,
                     const GOptionEntry *extra)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *count_help
      = g_strdup_printf ("Messages per connection; 0: %s (1000000)", count_zero);
  GOptionEntry common[] = {
    { "count", 0, 0, G_OPTION_ARG_INT64, &o->count, count_help, "N" },
    { "latency", 0, 0, G_OPTION_ARG_NONE, &o->latency, "Measure latency from payload times", NULL },
    { "latency-skip", 0, 0, G_OPTION_ARG_INT64, &o->latency_skip,
      "Leave the first N messages out of the latency figures (0)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &o->timeout_s,
      "Give up after this long without a message (30)", "S" },
    { NULL },
  };
  GOptionEntry connections[] = {
    { "connections", 0, 0, G_OPTION_ARG_INT, &o->connections, "Parallel connections (1)", "N" },
    { NULL },
  };
  GOptionEntry session[] = {
    { "session", 0, 0, G_OPTION_ARG_STRING, &o->session, "Session name (required)", "NAME" },
    { "channel", 0, 0, G_OPTION_ARG_STRING, &o->channel, "Channel (*)", "CH" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (summary);

  g_set_prgname (prog);
  o->count = 1000000;
  o->connections = 1;
  o->timeout_s = 30;
  g_option_context_add_main_entries (ctx, common, NULL);
  if (flags & BENCH_OPT_CONNECTIONS)
    g_option_context_add_main_entries (ctx, connections, NULL);
  if (flags & BENCH_OPT_SESSION)
    g_option_context_add_main_entries (ctx, session, NULL);
  if (extra)
    g_option_context_add_main_entries (ctx, extra, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    bench_die ("%s", error->message);
  if (*argc > 1)
    bench_die ("unexpected argument: %s", (*argv)[1]);
  if (o->count < 0)
    bench_die ("--count: must be 0 or more, got %" G_GINT64_FORMAT, o->count);
  if (o->latency_skip < 0 || (o->count && o->latency_skip >= o->count))
    bench_die ("--latency-skip: must be at least 0 and below --count");
  if (o->connections < 1 || o->connections > 100000)
    bench_die ("--connections: expected 1 to 100000, got %d", o->connections);
  if (o->timeout_s < 1)
    bench_die ("--timeout: must be at least 1 s");
  if ((flags & BENCH_OPT_SESSION) && !o->session)
    bench_die ("--session is required");
  if ((flags & BENCH_OPT_SESSION) && !o->channel)
    o->channel = g_strdup ("*");
}
