/* wsbridgectl history NAME[/CHANNEL] [--last N] [--json]: what a channel's
 * history holds, oldest first, after a gap line for what it has lost. */
#include "wsbridgectl.h"

int
wsbctl_cmd_history (WsbctlContext *ctx, int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *last_text = NULL;
  const GOptionEntry entries[]
      = { { "last", 0, 0, G_OPTION_ARG_STRING, &last_text, "Only the newest N messages", "N" },
          { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per line", NULL },
          G_OPTION_ENTRY_NULL };
  g_autofree char *session = NULL;
  g_autofree char *channel = NULL;
  Wsbridge__V1__Reply *reply = NULL;
  Wsbridge__V1__HistoryReply *h;
  guint64 last = 0;
  WsbClientStatus st;
  int status;

  status = wsbctl_parse_options (ctx, entries, &argc, &argv);
  if (status != WSBCTL_CONTINUE)
    return status;
  if (argc < 2)
    return wsbctl_usage_error (ctx, "missing NAME[/CHANNEL]");
  if (argc > 2)
    return wsbctl_usage_error (ctx, "unexpected argument '%s'", argv[2]);
  if (!wsbctl_parse_target (ctx, argv[1], &session, &channel))
    return WSBCTL_EXIT_USAGE;
  if (last_text && !wsbctl_parse_uint (ctx, "--last", last_text, 1, &last))
    return WSBCTL_EXIT_USAGE;
  if (last > G_MAXUINT32)
    return wsbctl_usage_error (ctx, "--last must be at most %u", G_MAXUINT32);

  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;
  st = wsb_client_history (ctx->client, session, channel, (uint32_t) last, &reply);
  if (st)
    return wsbctl_fail (ctx, st);
  h = reply->history;
  if (h->gap)
    wsbctl_print_gap (json, h->gap);
  for (size_t i = 0; i < h->n_messages; i++)
    wsbctl_print_message (json, h->messages[i]);
  wsb_client_reply_free (reply);
  return WSBCTL_EXIT_OK;
}
