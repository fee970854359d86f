/* wsbridgectl internals shared by the command files (wsbridgectl-<command>.c).
 *
 * Adding a command: write `int wsbctl_cmd_<name> (WsbctlContext *ctx, int argc,
 * char **argv)` in its own file, declare it below, add a row to the command
 * table in wsbridgectl.c and the file to clients/meson.build. A command parses
 * its options with wsbctl_parse_options(), connects with wsbctl_connect() and
 * returns an exit status (WSBCTL_EXIT_*). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "wsbridge.h"

enum
{
  WSBCTL_EXIT_OK = 0,
  WSBCTL_EXIT_DAEMON = 1,      /* the daemon reported an error, or the connection broke */
  WSBCTL_EXIT_USAGE = 2,       /* bad command line */
  WSBCTL_EXIT_UNREACHABLE = 3, /* no daemon at the socket */
};

/* A parse helper's "keep going" result; every other value is an exit status. */
#define WSBCTL_CONTINUE (-1)

typedef struct WsbctlCommand WsbctlCommand;

typedef struct
{
  const WsbctlCommand *command;
  /* Global options; they are accepted before and after the command name. */
  char *socket_option;
  gboolean system;
  char *timeout_option;
  double timeout_s; /* --timeout: the wait for the hello and each reply; 0: none */
  /* The socket path chosen by wsbctl_connect(). */
  char *socket_path;
  WsbClient *client;
} WsbctlContext;

struct WsbctlCommand
{
  const char *name;
  const char *parameters;  /* positional arguments, for the usage line */
  const char *summary;     /* one line, for `wsbridgectl --help` */
  const char *description; /* more text for `wsbridgectl COMMAND --help`, or NULL */
  int (*run) (WsbctlContext *ctx, int argc, char **argv);
};

/* Parses the command's entries plus the global options and --help from
 * argc and argv (argv[0] is the command name); positional arguments remain
 * in argv[1] up to argv[argc - 1]. Returns WSBCTL_CONTINUE, or an exit status after
 * printing help (0) or a usage error (2). */
int wsbctl_parse_options (WsbctlContext *ctx, const GOptionEntry *entries, int *argc, char ***argv);

/* Prints "wsbridgectl: MESSAGE" and a hint to stderr; returns WSBCTL_EXIT_USAGE. */
int wsbctl_usage_error (WsbctlContext *ctx, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Parses a decimal unsigned number >= min for option (its name, for the
 * message). On failure prints a usage error and returns FALSE. */
gboolean wsbctl_parse_uint (WsbctlContext *ctx, const char *option, const char *text, guint64 min,
                            guint64 *value);

/* Connects ctx->client to the daemon. Returns WSBCTL_CONTINUE or an exit status
 * after printing the error. */
int wsbctl_connect (WsbctlContext *ctx);

/* Prints the client's last error and returns the matching exit status. */
int wsbctl_fail (WsbctlContext *ctx, WsbClientStatus status);
/* The daemon did not answer within --timeout: prints so, returns exit 3. */
int wsbctl_fail_no_answer (WsbctlContext *ctx, const char *what);

/* The default of --timeout, in seconds. */
#define WSBCTL_DEFAULT_TIMEOUT_S 5.0

/* Text for one terminal line: valid UTF-8, control characters escaped
 * (\n, \t, \x1b…). len -1: NUL-terminated. */
char *wsbctl_printable (const void *data, gssize len);

/* JSON output, always through json-glib. Strings from the wire are made
 * valid UTF-8 first. */
void wsbctl_json_add_string (JsonBuilder *builder, const char *member, const char *value);
void wsbctl_json_add_int (JsonBuilder *builder, const char *member, gint64 value);
void wsbctl_json_print (JsonBuilder *builder, gboolean pretty);

/* Message output of watch and history (wsbridgectl-output.c). */
char *wsbctl_label (const char *session, const char *channel);
void wsbctl_json_begin_line (JsonBuilder *b, const char *session, const char *channel, guint64 seq,
                             guint64 epoch, gint64 time_us, const char *type);
void wsbctl_json_end_line (JsonBuilder *b);
void wsbctl_print_message (gboolean json, const Wsbridge__V1__Message *m);
void wsbctl_print_gap (gboolean json, const Wsbridge__V1__Gap *g);
/* Splits NAME[/CHANNEL] at the first '/'; NAME alone means channel "*".
 * Prints a usage error and returns FALSE when NAME is empty. */
gboolean wsbctl_parse_target (WsbctlContext *ctx, const char *arg, char **session, char **channel);

int wsbctl_cmd_status (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_history (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_add (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_remove (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_connect (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_disconnect (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_watch (WsbctlContext *ctx, int argc, char **argv);
int wsbctl_cmd_send (WsbctlContext *ctx, int argc, char **argv);
