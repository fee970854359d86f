/* wsbridgectl status [--json] [NAME…]: every session's state, from
 * ListSessions, or the named sessions', from GetSession each. */
#include "wsbridgectl.h"

#include <stdio.h>
#include <string.h>

typedef enum
{
  ALIGN_LEFT,
  ALIGN_RIGHT,
} Align;

typedef struct
{
  const char *title;
  Align align;
} Column;

static const Column columns[] = {
  { "NAME", ALIGN_LEFT }, { "STATE", ALIGN_LEFT },   { "RX", ALIGN_RIGHT },
  { "TX", ALIGN_RIGHT },  { "QUEUED", ALIGN_RIGHT }, { "RECONNECTS", ALIGN_RIGHT },
  { "URL", ALIGN_LEFT },  { "REASON", ALIGN_LEFT },
};
#define N_COLUMNS G_N_ELEMENTS (columns)

static void
print_json (Wsbridge__V1__SessionStatus *const *sessions, size_t n_sessions)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (size_t i = 0; i < n_sessions; i++)
    {
      const Wsbridge__V1__SessionStatus *s = sessions[i];

      json_builder_begin_object (b);
      wsbctl_json_add_string (b, "name", s->name);
      wsbctl_json_add_string (b, "url", s->url);
      wsbctl_json_add_string (b, "state", wsb_client_state_to_string (s->state));
      wsbctl_json_add_string (b, "reason", s->reason);
      wsbctl_json_add_int (b, "epoch", (gint64) s->epoch);
      wsbctl_json_add_int (b, "last_seq", (gint64) s->last_seq);
      wsbctl_json_add_int (b, "reconnects", (gint64) s->reconnects);
      wsbctl_json_add_int (b, "rx_messages", (gint64) s->rx_messages);
      wsbctl_json_add_int (b, "tx_messages", (gint64) s->tx_messages);
      wsbctl_json_add_int (b, "queued", (gint64) s->queued_messages);
      wsbctl_json_add_int (b, "rtt_us", (gint64) s->rtt_us);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  wsbctl_json_print (b, TRUE);
}

/* The reason, plus when the next try is due for a session in backoff. */
static char *
reason_cell (const Wsbridge__V1__SessionStatus *s)
{
  const char *reason = s->reason ? s->reason : "";
  gint64 in_us;

  if (s->state != WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_BACKOFF || s->next_retry_us <= 0)
    return g_strdup (reason);
  in_us = s->next_retry_us - g_get_real_time ();
  if (in_us < 0)
    in_us = 0;
  return g_strdup_printf ("%s%sretry in %.1f s", reason, *reason ? "; " : "", in_us / 1e6);
}

static void
print_padded (const char *text, size_t width, Align align, gboolean last)
{
  size_t len = g_utf8_strlen (text, -1);
  size_t pad = width > len ? width - len : 0;

  if (align == ALIGN_RIGHT)
    printf ("%*s", (int) pad, "");
  fputs (text, stdout);
  if (last)
    return;
  if (align == ALIGN_LEFT)
    printf ("%*s", (int) pad, "");
  fputs ("  ", stdout);
}

static void
print_row (char **cells, const size_t *widths)
{
  for (size_t col = 0; col < N_COLUMNS; col++)
    print_padded (cells[col], widths[col], columns[col].align, col == N_COLUMNS - 1);
  fputc ('\n', stdout);
}

static void
print_table (Wsbridge__V1__SessionStatus *const *sessions, size_t n_sessions)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  size_t widths[N_COLUMNS];

  for (size_t col = 0; col < N_COLUMNS; col++)
    widths[col] = strlen (columns[col].title);

  for (size_t i = 0; i < n_sessions; i++)
    {
      const Wsbridge__V1__SessionStatus *s = sessions[i];
      char **cells = g_new0 (char *, N_COLUMNS + 1);

      cells[0] = g_strdup (s->name);
      cells[1] = g_strdup (wsb_client_state_to_string (s->state));
      cells[2] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->rx_messages);
      cells[3] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->tx_messages);
      cells[4] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->queued_messages);
      cells[5] = g_strdup_printf ("%" G_GUINT64_FORMAT, s->reconnects);
      cells[6] = g_strdup (s->url);
      cells[7] = reason_cell (s);
      for (size_t col = 0; col < N_COLUMNS; col++)
        {
          char *valid = wsbctl_printable (cells[col], -1);

          g_free (cells[col]);
          cells[col] = valid;
          widths[col] = MAX (widths[col], (size_t) g_utf8_strlen (valid, -1));
        }
      g_ptr_array_add (rows, cells);
    }

  {
    char *titles[N_COLUMNS];

    for (size_t col = 0; col < N_COLUMNS; col++)
      titles[col] = (char *) columns[col].title;
    print_row (titles, widths);
  }
  for (guint i = 0; i < rows->len; i++)
    print_row (g_ptr_array_index (rows, i), widths);
}

static void
print_sessions (Wsbridge__V1__SessionStatus *const *sessions, size_t n_sessions, gboolean json)
{
  if (json)
    print_json (sessions, n_sessions);
  else if (n_sessions > 0)
    print_table (sessions, n_sessions);
}

/* status NAME…: the named sessions in the order given. One the daemon
 * refuses (no such session, access denied) is reported on stderr and makes
 * the exit status 1, after the others are printed; losing the daemon stops
 * at once. */
static int
status_of_names (WsbctlContext *ctx, char **names, int n_names, gboolean json)
{
  g_autoptr (GPtrArray) replies
      = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_client_reply_free);
  g_autoptr (GPtrArray) sessions = g_ptr_array_new ();
  int status = WSBCTL_EXIT_OK;

  for (int i = 0; i < n_names; i++)
    {
      Wsbridge__V1__Reply *reply = NULL;
      WsbClientStatus st = wsb_client_get_session (ctx->client, names[i], &reply);

      if (st == WSB_CLIENT_ERR_DAEMON)
        {
          status = wsbctl_fail (ctx, st);
          continue;
        }
      if (st)
        return wsbctl_fail (ctx, st);
      g_ptr_array_add (replies, reply);
      g_ptr_array_add (sessions, reply->session);
    }
  print_sessions ((Wsbridge__V1__SessionStatus *const *) sessions->pdata, sessions->len, json);
  return status;
}

int
wsbctl_cmd_status (WsbctlContext *ctx, int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[]
      = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array", NULL },
          G_OPTION_ENTRY_NULL };
  Wsbridge__V1__Reply *reply = NULL;
  WsbClientStatus st;
  int status;

  status = wsbctl_parse_options (ctx, entries, &argc, &argv);
  if (status != WSBCTL_CONTINUE)
    return status;

  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;
  if (argc > 1)
    return status_of_names (ctx, argv + 1, argc - 1, json);
  st = wsb_client_list_sessions (ctx->client, &reply);
  if (st)
    return wsbctl_fail (ctx, st);
  if (!json && reply->list_sessions->n_sessions == 0)
    printf ("No sessions.\n");
  print_sessions (reply->list_sessions->sessions, reply->list_sessions->n_sessions, json);
  wsb_client_reply_free (reply);
  return WSBCTL_EXIT_OK;
}
