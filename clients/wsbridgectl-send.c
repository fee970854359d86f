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

int
wsbctl_cmd_send (WsbctlContext *ctx, int argc, char **argv)
{
  gboolean binary = FALSE;
  gboolean verbose = FALSE;
  const GOptionEntry entries[] = {
    { "binary", 0, 0, G_OPTION_ARG_NONE, &binary, "Send a binary message", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print the send id", NULL },
    G_OPTION_ENTRY_NULL
  };
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
  if (!binary && !is_utf8 (bytes, len))
    return wsbctl_usage_error (ctx, "the message is not valid UTF-8; use --binary to send bytes");

  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;
  st = wsb_client_send (ctx->client, session, bytes, len, binary, &send_id);
  if (st)
    return wsbctl_fail (ctx, st);
  if (verbose)
    printf ("%" G_GUINT64_FORMAT "\n", send_id);
  return WSBCTL_EXIT_OK;
}
