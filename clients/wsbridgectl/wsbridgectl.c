/* wsbridgectl: command-line client of wsbridged, built on libwsbridge.
 * This file holds the command table, global options, socket-path rule and
 * the helpers every command uses; each command lives in wsbridgectl-<name>.c. */
#include "wsbridgectl.h"

#include "suggest.h"
#include "wsb-version.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

static const WsbctlCommand commands[] = {
  { "status", "[NAME…]", "List sessions and their state",
    "Prints one line per session, or per NAME given (in that order); --json prints a JSON\n"
    "array of objects with the keys name, url, state, reason, epoch, last_seq, reconnects,\n"
    "rx_messages, tx_messages, queued and rtt_us. A NAME the daemon does not know (or\n"
    "does not let you use) is reported on stderr and makes the exit status 1.",
    wsbctl_cmd_status },
  { "watch", "NAME[/CHANNEL]…", "Print the messages of sessions' channels",
    "NAME alone means every message of the session (channel \"*\"); NAME/CHANNEL splits at\n"
    "the first '/'. Runs until interrupted, or until --count messages were printed.\n"
    "--json prints one object per line with the keys session, channel, seq, epoch,\n"
    "time_us, type (text, binary, gap, state) and data, data_b64, from/to or state/reason.",
    wsbctl_cmd_watch },
  { "send", "NAME [TEXT|-]", "Send a message upstream",
    "Sends TEXT, or all of standard input when TEXT is '-' or missing, to session NAME.\n"
    "Text messages must be valid UTF-8; --binary sends the bytes as a binary message.\n"
    "While the session is not open the message waits in its send queue. --wait waits\n"
    "for the outcome: exit status 0 when it was sent, 1 when it expired, was cancelled\n"
    "or was refused (a full queue is refused at once).",
    wsbctl_cmd_send },
  { "history", "NAME[/CHANNEL]", "Print what a channel's history holds",
    "Prints the messages the daemon keeps for the channel (history_messages,\n"
    "history_bytes), oldest first; --last N only the newest N. When the history has\n"
    "lost messages that would belong among them, a gap line comes first. --json\n"
    "prints the same objects as watch --json.",
    wsbctl_cmd_history },
  { "add", "NAME URL", "Create a session at runtime",
    "Creates session NAME for URL and connects it (unless --no-connect). --header adds a\n"
    "handshake header; --option KEY=VALUE sets any session key of wsbridge.conf(5)\n"
    "(lists separated by ';'). Without --persist the session lasts until it is removed\n"
    "or the daemon stops; with it, it is written to sessions.d/NAME.conf.",
    wsbctl_cmd_add },
  { "remove", "NAME", "Remove a session created at runtime",
    "Closes the session (1001), ends its subscriptions and cancels its queue; a persisted\n"
    "session's file is deleted. Sessions of your own configuration files are removed\n"
    "there (then reload with SIGHUP).",
    wsbctl_cmd_remove },
  { "connect", "NAME", "Connect a session", NULL, wsbctl_cmd_connect },
  { "disconnect", "NAME", "Close a session and keep it closed",
    "Closes the connection with 1000; the session stays disconnected (its queue waits)\n"
    "until connect.",
    wsbctl_cmd_disconnect },
};

static const WsbctlCommand *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static void
add_global_entries (GOptionContext *octx, WsbctlContext *ctx, gboolean *help)
{
  const GOptionEntry entries[]
      = { { "socket", 0, 0, G_OPTION_ARG_FILENAME, &ctx->socket_option,
            "Socket of wsbridged (default: $WSBRIDGE_SOCKET, else the user instance's)", "PATH" },
          { "system", 0, 0, G_OPTION_ARG_NONE, &ctx->system,
            "Talk to the system instance (/run/wsbridge/wsbridge.sock)", NULL },
          { "timeout", 0, 0, G_OPTION_ARG_STRING, &ctx->timeout_option,
            "Seconds to wait for the daemon's hello and each reply (default 5; 0: no limit)",
            "SECONDS" },
          { "help", 'h', 0, G_OPTION_ARG_NONE, help, "Show help", NULL },
          G_OPTION_ENTRY_NULL };

  g_option_context_add_main_entries (octx, entries, NULL);
}

/* --timeout SECONDS, checked once the options are parsed. */
static gboolean
check_timeout (WsbctlContext *ctx)
{
  char *end = NULL;
  double v;

  if (!ctx->timeout_option)
    return TRUE;
  v = g_ascii_strtod (ctx->timeout_option, &end);
  if (!*ctx->timeout_option || *end || !(v >= 0) || v > 86400)
    {
      wsbctl_usage_error (ctx,
                          "invalid value '%s' for --timeout: expected seconds, from 0 (no "
                          "limit) to 86400",
                          ctx->timeout_option);
      return FALSE;
    }
  ctx->timeout_s = v;
  return TRUE;
}

int
wsbctl_usage_error (WsbctlContext *ctx, const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_printerr ("wsbridgectl: %s\n", msg);
  if (ctx && ctx->command)
    g_printerr ("Try 'wsbridgectl %s --help' for more information.\n", ctx->command->name);
  else
    g_printerr ("Try 'wsbridgectl --help' for more information.\n");
  return WSBCTL_EXIT_USAGE;
}

static const char *const global_option_names[] = { "socket", "system", "timeout", "help", NULL };

/* GOption's message in our style (lower case), with the closest option
 * named when an unknown one looks like a typo of it. */
static int
option_error (WsbctlContext *ctx, const GOptionEntry *entries, const GError *error)
{
  g_autofree char *msg = g_strdup (error->message);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  const char *prefix = "Unknown option ";
  const char *guess = NULL;

  msg[0] = g_ascii_tolower (msg[0]);
  if (g_error_matches (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION)
      && g_str_has_prefix (error->message, prefix)
      && g_str_has_prefix (error->message + strlen (prefix), "--"))
    {
      g_autofree char *word = g_strdup (error->message + strlen (prefix) + 2);
      char *eq = strchr (word, '=');

      if (eq)
        *eq = '\0';
      for (guint i = 0; entries && entries[i].long_name; i++)
        g_ptr_array_add (names, (gpointer) entries[i].long_name);
      for (guint i = 0; global_option_names[i]; i++)
        g_ptr_array_add (names, (gpointer) global_option_names[i]);
      g_ptr_array_add (names, NULL);
      guess = wsb_suggest (word, (const char *const *) names->pdata);
    }
  if (guess)
    return wsbctl_usage_error (ctx, "%s (did you mean --%s?)", msg, guess);
  return wsbctl_usage_error (ctx, "%s", msg);
}

/* A global option given again after the command overrides the first one. */
static void
merge_option (char **option, char *before)
{
  if (*option)
    g_free (before);
  else
    *option = before;
}

/* GOption leaves the "--" that ends the options (as in `send NAME -- -5`)
 * among the positional arguments; drop it. */
static void
drop_separator (int *argc, char **argv)
{
  for (int i = 1; i < *argc; i++)
    if (g_str_equal (argv[i], "--"))
      {
        memmove (argv + i, argv + i + 1, sizeof *argv * (size_t) (*argc - i));
        (*argc)--;
        return;
      }
}

int
wsbctl_parse_options (WsbctlContext *ctx, const GOptionEntry *entries, int *argc, char ***argv)
{
  const WsbctlCommand *cmd = ctx->command;
  g_autofree char *params = g_strdup_printf ("%s", cmd->parameters);
  g_autofree char *prgname = g_strdup_printf ("wsbridgectl %s", cmd->name);
  g_autoptr (GOptionContext) octx = g_option_context_new (params);
  g_autoptr (GError) error = NULL;
  gboolean ok;
  char *socket_before = g_steal_pointer (&ctx->socket_option);
  char *timeout_before = g_steal_pointer (&ctx->timeout_option);
  gboolean help = FALSE;

  g_set_prgname (prgname);
  g_option_context_set_help_enabled (octx, FALSE);
  g_option_context_set_summary (octx, cmd->summary);
  if (cmd->description)
    g_option_context_set_description (octx, cmd->description);
  if (entries)
    g_option_context_add_main_entries (octx, entries, NULL);
  add_global_entries (octx, ctx, &help);

  ok = g_option_context_parse (octx, argc, argv, &error);
  merge_option (&ctx->socket_option, socket_before);
  merge_option (&ctx->timeout_option, timeout_before);
  if (!ok)
    return option_error (ctx, entries, error);
  if (!check_timeout (ctx))
    return WSBCTL_EXIT_USAGE;
  if (help)
    {
      g_autofree char *text = g_option_context_get_help (octx, TRUE, NULL);
      fputs (text, stdout);
      return WSBCTL_EXIT_OK;
    }
  drop_separator (argc, *argv);
  return WSBCTL_CONTINUE;
}

gboolean
wsbctl_parse_uint (WsbctlContext *ctx, const char *option, const char *text, guint64 min,
                   guint64 *value)
{
  if (!g_ascii_string_to_unsigned (text, 10, min, G_MAXUINT64, value, NULL))
    {
      wsbctl_usage_error (ctx, "invalid value '%s' for %s: expected %s", text, option,
                          min > 0 ? "a positive integer" : "a non-negative integer");
      return FALSE;
    }
  return TRUE;
}

/* --socket, else $WSBRIDGE_SOCKET, else --system's path, else the user
 * instance's; the daemon applies the same rule. */
static char *
choose_socket_path (const WsbctlContext *ctx)
{
  const char *env = g_getenv ("WSBRIDGE_SOCKET");

  if (ctx->socket_option && *ctx->socket_option)
    return g_strdup (ctx->socket_option);
  if (env && *env)
    return g_strdup (env);
  if (ctx->system)
    return g_strdup ("/run/wsbridge/wsbridge.sock");
  return g_build_filename (g_get_user_runtime_dir (), "wsbridge", "wsbridge.sock", NULL);
}

int
wsbctl_connect (WsbctlContext *ctx)
{
  g_autofree char *name = g_strdup_printf ("wsbridgectl %s", ctx->command->name);
  WsbClientStatus st;

  g_free (ctx->socket_path);
  ctx->socket_path = choose_socket_path (ctx);
  ctx->client = wsb_client_new ();
  if (!ctx->client)
    g_error ("out of memory");
  wsb_client_set_timeout (ctx->client,
                          ctx->timeout_s > 0 ? (int) (ctx->timeout_s * 1000 + 0.5) : -1);
  st = wsb_client_connect (ctx->client, ctx->socket_path, name);
  if (st)
    return wsbctl_fail (ctx, st);
  return WSBCTL_CONTINUE;
}

int
wsbctl_fail_no_answer (WsbctlContext *ctx, const char *what)
{
  g_printerr ("wsbridgectl: wsbridged at %s did not answer %s within %g s: it may be stuck "
              "(or another program listens on that socket); --timeout sets the wait\n",
              ctx->socket_path, what, ctx->timeout_s);
  return WSBCTL_EXIT_UNREACHABLE;
}

/* How to start the daemon, for "nobody listens there". */
static const char *
start_hint (WsbctlContext *ctx)
{
  if (ctx->system || g_str_has_prefix (ctx->socket_path, "/run/wsbridge/"))
    return "is it running? start it with 'systemctl start wsbridge'";
  return "is it running? start it with 'systemctl --user start wsbridge' (or 'make run' in a "
         "source tree)";
}

int
wsbctl_fail (WsbctlContext *ctx, WsbClientStatus status)
{
  const char *msg = wsb_client_error (ctx->client);

  if (status == WSB_CLIENT_ERR_UNREACHABLE)
    {
      gboolean nobody = !g_file_test (ctx->socket_path, G_FILE_TEST_EXISTS)
                        || g_str_equal (msg, g_strerror (ECONNREFUSED));

      if (g_str_has_prefix (msg, "no answer to the hello"))
        return wsbctl_fail_no_answer (ctx, "the hello");
      g_printerr ("wsbridgectl: cannot reach wsbridged at %s: %s%s%s\n", ctx->socket_path, msg,
                  nobody ? "; " : "", nobody ? start_hint (ctx) : "");
      return WSBCTL_EXIT_UNREACHABLE;
    }
  if (status == WSB_CLIENT_ERR_TIMEOUT)
    return wsbctl_fail_no_answer (ctx, "a request");
  g_printerr ("wsbridgectl: %s\n", msg);
  return WSBCTL_EXIT_DAEMON;
}

char *
wsbctl_printable (const void *data, gssize len)
{
  g_autofree char *valid = g_utf8_make_valid (data, len);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p; p++)
    {
      guchar ch = (guchar) *p;

      if (ch == '\n')
        g_string_append (out, "\\n");
      else if (ch == '\r')
        g_string_append (out, "\\r");
      else if (ch == '\t')
        g_string_append (out, "\\t");
      else if (ch < 0x20 || ch == 0x7f)
        g_string_append_printf (out, "\\x%02x", ch);
      else
        g_string_append_c (out, (char) ch);
    }
  return g_string_free (out, FALSE);
}

void
wsbctl_json_add_string (JsonBuilder *builder, const char *member, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid (value ? value : "", -1);

  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, valid);
}

void
wsbctl_json_add_int (JsonBuilder *builder, const char *member, gint64 value)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, value);
}

void
wsbctl_json_print (JsonBuilder *builder, gboolean pretty)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  text = json_generator_to_data (gen, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static char *
commands_help (void)
{
  GString *s = g_string_new ("Commands:\n");

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (s, "  %-10s %s\n", commands[i].name, commands[i].summary);
  g_string_append (s, "\nRun 'wsbridgectl COMMAND --help' for a command's options.\n"
                      "Exit status: 0 ok, 1 error reported by wsbridged, 2 usage error,\n"
                      "3 wsbridged not reachable.");
  return g_string_free (s, FALSE);
}

/* Parses the options before the command; the command name stops parsing.
 * Returns WSBCTL_CONTINUE with the command at (*argv)[1], or an exit status. */
static int
parse_global_options (WsbctlContext *ctx, int *argc, char ***argv)
{
  g_autoptr (GOptionContext) octx = g_option_context_new ("COMMAND [ARGS…]");
  g_autoptr (GError) error = NULL;
  g_autofree char *description = commands_help ();
  gboolean help = FALSE;
  gboolean version = FALSE;
  const GOptionEntry entries[]
      = { { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Show the version", NULL },
          G_OPTION_ENTRY_NULL };

  g_option_context_set_help_enabled (octx, FALSE);
  g_option_context_set_strict_posix (octx, TRUE);
  g_option_context_set_summary (octx, "Control wsbridged, the shared WebSocket session daemon.");
  g_option_context_set_description (octx, description);
  g_option_context_add_main_entries (octx, entries, NULL);
  add_global_entries (octx, ctx, &help);

  if (!g_option_context_parse (octx, argc, argv, &error))
    return option_error (ctx, entries, error);
  if (!check_timeout (ctx))
    return WSBCTL_EXIT_USAGE;
  if (help)
    {
      g_autofree char *text = g_option_context_get_help (octx, TRUE, NULL);
      fputs (text, stdout);
      return WSBCTL_EXIT_OK;
    }
  if (version)
    {
      printf ("wsbridgectl %s\n", WSB_VERSION);
      return WSBCTL_EXIT_OK;
    }
  if (*argc < 2)
    return wsbctl_usage_error (ctx, "no command given");
  return WSBCTL_CONTINUE;
}

static int
unknown_command (WsbctlContext *ctx, const char *name)
{
  const char *names[G_N_ELEMENTS (commands) + 2];
  const char *guess;

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    names[i] = commands[i].name;
  names[G_N_ELEMENTS (commands)] = "help";
  names[G_N_ELEMENTS (commands) + 1] = NULL;
  guess = wsb_suggest (name, names);
  if (guess)
    return wsbctl_usage_error (ctx, "unknown command '%s' (did you mean '%s'?)", name, guess);
  return wsbctl_usage_error (ctx, "unknown command '%s'", name);
}

/* `wsbridgectl help [COMMAND]` is `wsbridgectl [COMMAND] --help`. */
static int
run_help (WsbctlContext *ctx, int argc, char **argv)
{
  char *help_argv[] = { (char *) "wsbridgectl", (char *) "--help", NULL };
  int help_argc = 2;
  char **args = help_argv;

  if (argc > 2)
    return wsbctl_usage_error (ctx, "'help' takes at most one command name");
  if (argc < 2)
    return parse_global_options (ctx, &help_argc, &args);
  ctx->command = find_command (argv[1]);
  if (!ctx->command)
    return unknown_command (ctx, argv[1]);
  help_argv[0] = argv[1];
  return ctx->command->run (ctx, help_argc, args);
}

int
main (int argc, char **argv)
{
  WsbctlContext ctx = { .timeout_s = WSBCTL_DEFAULT_TIMEOUT_S };
  int status;

  setlocale (LC_ALL, "");
  g_set_prgname ("wsbridgectl");

  status = parse_global_options (&ctx, &argc, &argv);
  if (status == WSBCTL_CONTINUE)
    {
      /* The command name becomes argv[0] of the command's own parse. */
      int cmd_argc = argc - 1;
      char **cmd_argv = argv + 1;

      if (g_str_equal (cmd_argv[0], "help"))
        status = run_help (&ctx, cmd_argc, cmd_argv);
      else if (!(ctx.command = find_command (cmd_argv[0])))
        status = unknown_command (&ctx, cmd_argv[0]);
      else
        status = ctx.command->run (&ctx, cmd_argc, cmd_argv);
    }

  wsb_client_free (ctx.client);
  g_free (ctx.socket_option);
  g_free (ctx.timeout_option);
  g_free (ctx.socket_path);
  return status;
}
