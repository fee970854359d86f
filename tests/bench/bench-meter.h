/* What every benchmark client measures, the same way: messages and bytes
 * received, the rate from the first message to the last, and (optionally)
 * the latency of each message from the send time feed-server put in its
 * payload (CLOCK_MONOTONIC, the same clock on both ends), summarised as
 * percentiles in one JSON result line. */
#pragma once

#include <glib.h>

typedef struct
{
  guint64 expected; /* messages (received or reported lost) that end the run */
  guint64 messages;
  guint64 bytes;
  guint64 lost;    /* reported as gaps by the daemon */
  guint64 no_time; /* latency wanted but no send time in the payload */
  gint64 first_ns; /* monotonic, at the first and the last message */
  gint64 last_ns;
  gboolean latency;
  guint64 skip;    /* messages left out of the latency figures at the start */
  gint64 *samples; /* ns */
  gsize n_samples;
  guint64 seen; /* for bench_meter_silence_ns */
  gint64 active_ns;
} BenchMeter;

gint64 bench_now_ns (void);

/* The send time in a feed-server payload (ns), or -1. */
gint64 bench_payload_time (const guint8 *data, gsize len, gboolean binary);

void bench_meter_init (BenchMeter *m, guint64 expected, gboolean latency, guint64 skip);
void bench_meter_clear (BenchMeter *m);

/* Counts one message; TRUE once the expected number has been reached. */
gboolean bench_meter_message (BenchMeter *m, const guint8 *data, gsize len, gboolean binary);

/* Counts n messages the daemon reported lost; TRUE once the end is reached. */
gboolean bench_meter_lost (BenchMeter *m, guint64 n);

gboolean bench_meter_done (const BenchMeter *m);

/* Nanoseconds since the message count last changed, as seen by successive
 * calls (a periodic timer's), or since bench_meter_touch (). */
gint64 bench_meter_silence_ns (BenchMeter *m);
void bench_meter_touch (BenchMeter *m);

/* Messages per second from the first message to the last (0 with fewer than two). */
double bench_meter_rate (const BenchMeter *m);

/* Appends the meter's fields ("messages": …, "rate": …, "latency_us": {…})
 * to a JSON object being written, without braces. */
void bench_meter_append_json (BenchMeter *m, GString *out);

/* Prints {"client": CLIENT, "complete": …, <meter>, EXTRA} on one line;
 * EXTRA (may be NULL) is more ", "-separated JSON members. */
void bench_meter_print (BenchMeter *m, const char *client, const char *extra);

/* bench_meter_print with "connections": CONNECTIONS and, when FAILURE is
 * not NULL, "error": FAILURE. */
void bench_meter_report (BenchMeter *m, const char *client, int connections, const char *failure);

/* ---------------------------------------------------------------- clients */

/* The options every benchmark client shares. */
typedef struct
{
  gint64 count;        /* --count: messages per connection (default 1000000) */
  gboolean latency;    /* --latency */
  gint64 latency_skip; /* --latency-skip */
  int timeout_s;       /* --timeout: seconds without a message (default 30) */
  int connections;     /* --connections (default 1), with BENCH_OPT_CONNECTIONS */
  char *session;       /* --session (required), with BENCH_OPT_SESSION */
  char *channel;       /* --channel (default "*"), with BENCH_OPT_SESSION */
} BenchClientOptions;

typedef enum
{
  BENCH_OPT_CONNECTIONS = 1 << 0,
  BENCH_OPT_SESSION = 1 << 1,
} BenchOptFlags;

/* Parses the command line: the shared options (and those FLAGS add),
 * COUNT_ZERO describing what --count 0 does, and EXTRA (NULL-terminated,
 * may be NULL). Sets the program name, and exits 2 with a message naming
 * the option on any error. */
void bench_parse_options (BenchClientOptions *o, int *argc, char ***argv, const char *prog,
                          const char *summary, const char *count_zero, BenchOptFlags flags,
                          const GOptionEntry *extra);

/* "PROG: message" on stderr, exit 2 (PROG: g_get_prgname ()). */
void bench_die (const char *fmt, ...) G_GNUC_NORETURN G_GNUC_PRINTF (1, 2);
