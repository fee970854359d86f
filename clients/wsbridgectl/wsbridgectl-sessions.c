/* wsbridgectl add/remove/connect/disconnect: sessions at runtime. */
#include "wsbridgectl.h"

#include <string.h>

/* "Name: value" → a headers= list entry: ';' and '\' escaped as a key file wants. */
static void
append_list_entry (GString *list, const char *entry)
{
  if (list->len)
    g_string_append_c (list, ';');
  for (const char *p = entry; *p; p++)
    {
      if (*p == ';' || *p == '\\')
        g_string_append_c (list, '\\');
      g_string_append_c (list, *p);
    }
}

int
wsbctl_cmd_add (WsbctlContext *ctx, int argc, char **argv)
{
  g_auto (GStrv) headers = NULL;
  g_auto (GStrv) options = NULL;
  gboolean persist = FALSE;
  gboolean no_connect = FALSE;
  const GOptionEntry entries[]
      = { { "header", 0, 0, G_OPTION_ARG_STRING_ARRAY, &headers,
            "Add a handshake header (repeatable)", "'NAME: VALUE'" },
          { "option", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &options,
            "Set a session key of wsbridge.conf(5) (repeatable)", "KEY=VALUE" },
          { "persist", 0, 0, G_OPTION_ARG_NONE, &persist,
            "Write the session to sessions.d/ so that it survives restarts", NULL },
          { "no-connect", 0, 0, G_OPTION_ARG_NONE, &no_connect, "Create it disconnected", NULL },
          G_OPTION_ENTRY_NULL };
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  Wsbridge__V1__Reply *reply = NULL;
  WsbClientStatus st;
  int status;

  status = wsbctl_parse_options (ctx, entries, &argc, &argv);
  if (status != WSBCTL_CONTINUE)
    return status;
  if (argc != 3)
    return wsbctl_usage_error (ctx, argc < 3 ? "missing NAME or URL" : "unexpected argument '%s'",
                               argc < 3 ? "" : argv[3]);
  for (guint i = 0; options && options[i]; i++)
    {
      const char *eq = strchr (options[i], '=');

      if (!eq || eq == options[i])
        return wsbctl_usage_error (ctx, "--option wants KEY=VALUE, not '%s'", options[i]);
      g_ptr_array_add (keys, g_strndup (options[i], (gsize) (eq - options[i])));
      g_ptr_array_add (values, g_strdup (eq + 1));
    }
  if (headers)
    {
      GString *list = g_string_new (NULL);

      for (guint i = 0; headers[i]; i++)
        append_list_entry (list, headers[i]);
      g_ptr_array_add (keys, g_strdup ("headers"));
      g_ptr_array_add (values, g_string_free (list, FALSE));
    }
  if (no_connect)
    {
      g_ptr_array_add (keys, g_strdup ("autoconnect"));
      g_ptr_array_add (values, g_strdup ("false"));
    }

  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;
  st = wsb_client_create_session (ctx->client, argv[1], argv[2], (const char *const *) keys->pdata,
                                  (const char *const *) values->pdata, keys->len, persist, &reply);
  if (st)
    return wsbctl_fail (ctx, st);
  wsb_client_reply_free (reply);
  return WSBCTL_EXIT_OK;
}

/* One NAME argument, one call. */
static int
run_session_op (WsbctlContext *ctx, int argc, char **argv,
                WsbClientStatus (*op) (WsbClient *client, const char *session))
{
  int status = wsbctl_parse_options (ctx, NULL, &argc, &argv);
  WsbClientStatus st;

  if (status != WSBCTL_CONTINUE)
    return status;
  if (argc != 2)
    return wsbctl_usage_error (ctx, argc < 2 ? "missing session name" : "unexpected argument '%s'",
                               argc < 2 ? "" : argv[2]);
  status = wsbctl_connect (ctx);
  if (status != WSBCTL_CONTINUE)
    return status;
  st = op (ctx->client, argv[1]);
  return st ? wsbctl_fail (ctx, st) : WSBCTL_EXIT_OK;
}

int
wsbctl_cmd_remove (WsbctlContext *ctx, int argc, char **argv)
{
  return run_session_op (ctx, argc, argv, wsb_client_remove_session);
}

int
wsbctl_cmd_connect (WsbctlContext *ctx, int argc, char **argv)
{
  return run_session_op (ctx, argc, argv, wsb_client_connect_session);
}

int
wsbctl_cmd_disconnect (WsbctlContext *ctx, int argc, char **argv)
{
  return run_session_op (ctx, argc, argv, wsb_client_disconnect_session);
}
