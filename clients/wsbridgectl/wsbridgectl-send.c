/* wsbridgectl send NAME [TEXT|-] [--binary]: one message upstream. */
#include "wsbridgectl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* All of stdin, binary-safe. */
static GBytes *
read_stdin (GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 chunk[65536];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, chunk, sizeof chunk);

      if (n > 0)
        g_byte_array_append (data, chunk, (guint) n);
      else if (n == 0)
        break;
      else if (errno != EINTR)
        {
          int saved = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       "reading standard input: %s", g_strerror (saved));
          return NULL;
        }
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* UTF-8 as WebSocket text frames allow it, including U+0000 (which
 * g_utf8_validate_len() rejects). */
static gboolean
is_utf8 (const char *data, gsize len)
{
  while (len > 0)
    {
      const char *nul = memchr (data, '\0', len);
      gsize part = nul ? (gsize) (nul - data) : len;

      if (!g_utf8_validate_len (data, part, NULL))
        return FALSE;
      if (!nul)
        break;
      data += part + 1;
      len -= part + 1;
    }
  return TRUE;
}

/* Outcomes seen so far, by send id (they may arrive while the send call
 * still waits for its reply). */
typedef struct
{
  const char *session;
  GHashTable *outcomes; /* send id → Wsbridge__V1__SendOutcome copy */
  guint64 send_id;      /* 0 until the reply named it */
  WsbClient *client;
} Waiter;

static void
outcome_free (gpointer data)
{
  wsbridge__v1__send_outcome__free_unpacked (data, NULL);
}

static void
on_event (WsbClient *client, const Wsbridge__V1__Event *ev, void *user_data)
{
  Waiter *w = user_data;
  const Wsbridge__V1__SendOutcome *o = ev->outcome;
  gsize len;
  g_autofree guint8 *buf = NULL;

  if (ev->event_case != WSBRIDGE__V1__EVENT__EVENT_OUTCOME || g_strcmp0 (o->session, w->session))
    return;
  /* Keep a copy: the event is only valid during the callback. */
  len = wsbridge__v1__send_outcome__get_packed_size (o);
  buf = g_malloc (len ? len : 1);
  wsbridge__v1__send_outcome__pack (o, buf);
  g_hash_table_insert (w->outcomes, g_memdup2 (&o->send_id, sizeof o->send_id),
                       wsbridge__v1__send_outcome__unpack (NULL, len, buf));
  if (w->send_id && o->send_id == w->send_id)
    wsb_client_stop (client);
}

static const char *
result_name (Wsbridge__V1__SendResult r)
{
  switch (r)
    {
      case WSBRIDGE__V1__SEND_RESULT__SEND_RESULT_SENT:
        return "sent";
      case WSBRIDGE__V1__SEND_RESULT__SEND_RESULT_EXPIRED:
        return "expired";
      case WSBRIDGE__V1__SEND_RESULT__SEND_RESULT_CANCELLED:
        return "cancelled";
      default:
        return "ended";
    }
}

/* Runs the client until the outcome of send_id arrives. */
static int
wait_outcome (WsbctlContext *ctx, Waiter *w)
{
  const Wsbridge__V1__SendOutcome *o;
  WsbClientStatus st;

  while (!(o = g_hash_table_lookup (w->outcomes, &w->send_id)))
    {
      st = wsb_client_run (ctx->client);
      if (st)
        return wsbctl_fail (ctx, st);
    }
  if (o->result == WSBRIDGE__V1__SEND_RESULT__SEND_RESULT_SENT)
    return WSBCTL_EXIT_OK;
  g_printerr ("wsbridgectl: send %" G_GUINT64_FORMAT " %s: %s\n", o->send_id,
              result_name (o->result), o->reason && *o->reason ? o->reason : "no reason given");
  return WSBCTL_EXIT_DAEMON;
}

/* The frame a send of len bytes makes, against the daemon's limit (from
 * its hello): a frame over it would end the connection with a message
 * about frames rather than about the message the user gave. */
static gboolean
fits_in_a_frame (WsbctlContext *ctx, const char *session, gsize len, gboolean binary, guint32 ttl)
{
  const Wsbridge__V1__HelloReply *hello = wsb_client_get_hello (ctx->client);
  Wsbridge__V1__ClientFrame frame = WSBRIDGE__V1__CLIENT_FRAME__INIT;
  Wsbridge__V1__Request req = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__SendRequest send = WSBRIDGE__V1__SEND_REQUEST__INIT;
  gsize frame_len, overhead;

  if (!hello || !hello->max_frame_bytes)
    return TRUE;
  send.session = (char *) session;
  send.binary = binary;
  send.ttl_ms = ttl;
  req.id = G_MAXUINT64;
  req.op_case = WSBRIDGE__V1__REQUEST__OP_SEND;
  req.send = &send;
  frame.frame_case = WSBRIDGE__V1__CLIENT_FRAME__FRAME_REQUEST;
  frame.request = &req;
  /* The empty message's frame plus the data and its longer length prefix. */
  overhead = wsbridge__v1__client_frame__get_packed_size (&frame) + 2 * 10;
  frame_len = overhead + len;
  if (frame_len <= hello->max_frame_bytes)
    return TRUE;
  g_printerr ("wsbridgectl: message of %" G_GSIZE_FORMAT " bytes is too large: the daemon "
              "accepts API frames of at most %" G_GUINT64_FORMAT " bytes ([daemon] "
              "max_frame_bytes), which leaves room for a message of %" G_GUINT64_FORMAT
              " bytes (the session's queue_max_bytes may be lower still)\n",
              len, hello->max_frame_bytes,
              hello->max_frame_bytes > overhead ? hello->max_frame_bytes - overhead : 0);
  return FALSE;
}

int
wsbctl_cmd_send (WsbctlContext *ctx, int argc, char **argv)
{
  gboolean binary = FALSE;
  gboolean verbose = FALSE;
  gboolean wait = FALSE;
  gboolean allow_empty = FALSE;
  g_autofree char *ttl_text = NULL;
  guint64 ttl = 0;
  const GOptionEntry entries[]
      = { { "binary", 0, 0, G_OPTION_ARG_NONE, &binary, "Send a binary message", NULL },
          { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print the send id", NULL },
          { "ttl", 0, 0, G_OPTION_ARG_STRING, &ttl_text,
            "Expire if not sent within MS milliseconds (default: the session's queue_ttl_ms)",
            "MS" },
          { "wait", 0, 0, G_OPTION_ARG_NONE, &wait,
            "Wait until the message is sent, expires or is "
            "cancelled; exit 1 unless it was sent",
            NULL },
          { "allow-empty", 0, 0, G_OPTION_ARG_NONE, &allow_empty,
            "Send an empty message (refused otherwise, as it is usually a mistake)", NULL },
          G_OPTION_ENTRY_NULL };
  g_autoptr (GBytes) data = NULL;
  g_autoptr (GError) error = NULL;
  const char *session;
  const char *text;
  const char *bytes;
  gsize len;
  guint64 send_id = 0;
  WsbClientStatus st;
  int status;

  status = wsbctl_parse_options (ctx, entries, &argc, &argv);
  if (status != WSBCTL_CONTINUE)
    return status;
  if (argc < 2)
    return wsbctl_usage_error (ctx, "missing session name");
  if (argc > 3)
    return wsbctl_usage_error (ctx, "unexpected argument '%s' (quote the text to send)", argv[3]);
  session = argv[1];
  text = argc == 3 ? argv[2] : "-";
  if (ttl_text && !wsbctl_parse_uint (ctx, "--ttl", ttl_text, 1, &ttl))
    return WSBCTL_EXIT_USAGE;
  if (ttl > G_MAXUINT32)
    return wsbctl_usage_error (ctx, "--ttl must be at most %u", G_MAXUINT32);
  if (!*session)
    return wsbctl_usage_error (ctx, "empty session name");

  if (g_str_equal (text, "-"))
    {
      data = read_stdin (&error);
      if (!data)
        {
          g_printerr ("wsbridgectl: %s\n", error->message);
          return WSBCTL_EXIT_USAGE;
        }
    }
  else
    {
      data = g_bytes_new (text, strlen (text));
    }
  bytes = g_bytes_get_data (data, &len);
  if (len == 0 && !allow_empty)
    return wsbctl_usage_error (ctx,
                               "the message is empty (%s); use --allow-empty to send an "
                               "empty message",
                               g_str_equal (text, "-") ? "nothing on standard input"
                                                       : "an empty TEXT argument");
  if (!binary && !is_utf8 (bytes, len))
    return wsbctl_usage_error (ctx, "the message is not valid UTF-8; use --binary to send bytes");

  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;
  if (!fits_in_a_frame (ctx, session, len, binary, (guint32) ttl))
    return WSBCTL_EXIT_DAEMON;
  Waiter w = { .session = session, .client = ctx->client };
  w.outcomes = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, outcome_free);
  if (wait)
    wsb_client_set_event_callback (ctx->client, on_event, &w);
  st = wsb_client_send_full (ctx->client, session, bytes, len, binary, (guint32) ttl, &send_id);
  if (st)
    status = wsbctl_fail (ctx, st);
  else
    {
      if (verbose)
        {
          printf ("%" G_GUINT64_FORMAT "\n", send_id);
          fflush (stdout);
        }
      w.send_id = send_id;
      status = wait ? wait_outcome (ctx, &w) : WSBCTL_EXIT_OK;
    }
  g_hash_table_unref (w.outcomes);
  return status;
}
