#include "auth.h"
#include "auth-private.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

/* No credential is this big; a runaway command must not fill our memory. */
#define MAX_CREDENTIAL_BYTES (64 * 1024)
#define READ_CHUNK 8192
/* Enough of stderr for the first line that goes to the debug log. */
#define STDERR_LOG_CHARS 200

/* Lifecycle: wsb_auth_fetch allocates; the WsbAuth is freed either by
 * wsb_auth_cancel or, on completion, right before done runs. So the caller
 * drops its pointer when done is called (session.c does so first thing)
 * and must never cancel it afterwards or from inside done. */
struct _WsbAuth
{
  char *session; /* for log fields only */
  WsbAuthDone done;
  gpointer user_data;
  GPtrArray *headers; /* char*; values are secret */
  char *error;        /* set before the idle that reports it */

  /* Cancelled on free, so callbacks still queued see G_IO_ERROR_CANCELLED
   * and return without touching this (then freed) struct. */
  GCancellable *cancellable;
  GSubprocess *proc;
  char *argv0;
  GByteArray *out;
  GByteArray *err;
  guint pending; /* stdout EOF, stderr EOF, exit */
  guint timeout_source;
  guint idle_source;
};

static guint timeout_s = WSB_AUTH_COMMAND_TIMEOUT_S;

void
wsb_auth_set_timeout_for_tests (guint seconds)
{
  timeout_s = seconds;
}

gboolean
wsb_auth_needed (const WsbSessionConfig *cfg)
{
  return cfg->token_file != NULL || cfg->auth_command != NULL;
}

#define auth_log(a, level, ...) wsb_session_log ((a)->session, level, __VA_ARGS__)

static void
auth_free (WsbAuth *auth)
{
  g_cancellable_cancel (auth->cancellable);
  g_clear_handle_id (&auth->timeout_source, g_source_remove);
  g_clear_handle_id (&auth->idle_source, g_source_remove);
  /* Race-free: does nothing once the child has exited. GSubprocess reaps
   * the child itself, so dropping our reference leaves no zombie. */
  if (auth->proc)
    g_subprocess_force_exit (auth->proc);
  g_clear_object (&auth->proc);
  g_clear_object (&auth->cancellable);
  g_clear_pointer (&auth->headers, g_ptr_array_unref);
  g_clear_pointer (&auth->out, g_byte_array_unref);
  g_clear_pointer (&auth->err, g_byte_array_unref);
  g_free (auth->error);
  g_free (auth->argv0);
  g_free (auth->session);
  g_free (auth);
}

void
wsb_auth_cancel (WsbAuth *auth)
{
  if (auth)
    auth_free (auth);
}

/* The command's stderr is its own diagnostics, written for the person who
 * set it up; a credential belongs on stdout, which is never logged. Without
 * it a failing helper is guesswork, so its first line (cut short, control
 * characters masked) goes to the debug log, and only when it failed. */
static void
log_stderr (WsbAuth *auth)
{
  g_autofree char *line = NULL;
  gsize len = 0;

  if (!auth->err || auth->err->len == 0)
    return;
  while (len < auth->err->len && len < STDERR_LOG_CHARS && auth->err->data[len] != '\n')
    len++;
  line = g_strndup ((const char *) auth->err->data, len);
  for (char *p = line; *p; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  auth_log (auth, G_LOG_LEVEL_DEBUG, "%s: auth_command %s said: %s", auth->session, auth->argv0,
            line);
}

/* Frees auth, then reports; error is transfer full, NULL on success. */
static void
finish (WsbAuth *auth, char *error)
{
  WsbAuthDone done = auth->done;
  gpointer data = auth->user_data;
  char **headers = NULL;

  if (error)
    log_stderr (auth);
  else
    {
      g_ptr_array_add (auth->headers, NULL);
      headers = (char **) g_ptr_array_steal (auth->headers, NULL);
    }
  auth_free (auth);
  done (headers, error, data);
  g_free (error);
}

static gboolean
on_idle (gpointer data)
{
  WsbAuth *auth = data;

  auth->idle_source = 0;
  finish (auth, g_steal_pointer (&auth->error));
  return G_SOURCE_REMOVE;
}

/* A control character would be refused by the server or, worse (CR, LF),
 * split into extra header lines. HTTP allows a tab inside a value only. */
static gboolean
is_clean (const char *s, gboolean allow_tab)
{
  for (; *s; s++)
    if (((guchar) *s < 0x20 && !(allow_tab && *s == '\t')) || (guchar) *s == 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
file_is_acceptable (int fd, const char *path, gboolean strict, GError **error)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot read token_file %s: %s",
                   path, g_strerror (e));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   "token_file %s is not a regular file", path);
      return FALSE;
    }
  if (strict && (st.st_mode & 077))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "token_file %s is readable by group or others; chmod 600 it", path);
      return FALSE;
    }
  return TRUE;
}

/* Reads through the descriptor that was checked, so the file cannot be
 * swapped between the check and the read. */
static char *
read_file (const char *path, gboolean strict, GError **error)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 buf[4096];
  ssize_t n;
  int fd;

  /* O_NONBLOCK: a FIFO put there by mistake must not hang the daemon. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot read token_file %s: %s",
                   path, g_strerror (e));
      return NULL;
    }
  if (!file_is_acceptable (fd, path, strict, error))
    {
      close (fd);
      return NULL;
    }
  while ((n = read (fd, buf, sizeof buf)) > 0 && data->len <= MAX_CREDENTIAL_BYTES)
    g_byte_array_append (data, buf, n);
  if (n < 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot read token_file %s: %s",
                   path, g_strerror (e));
      return NULL;
    }
  close (fd);
  if (data->len > MAX_CREDENTIAL_BYTES)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "token_file %s is larger than 64 KiB", path);
      return NULL;
    }
  if (memchr (data->data, '\0', data->len))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "token_file %s contains a NUL byte",
                   path);
      return NULL;
    }
  g_byte_array_append (data, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
}

static gboolean
add_token_header (WsbAuth *auth, const char *path, gboolean strict, GError **error)
{
  g_autofree char *data = read_file (path, strict, error);
  char *token;

  if (!data)
    return FALSE;
  token = g_strstrip (data);
  if (!*token)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "token_file %s is empty", path);
      return FALSE;
    }
  if (!is_clean (token, FALSE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "token_file %s has a line break or control character inside the token", path);
      return FALSE;
    }
  g_ptr_array_add (auth->headers, g_strdup_printf ("Authorization: Bearer %s", token));
  return TRUE;
}

/* The rules of config.c's headers=; the line itself never goes into a
 * message, only its number (and the name of a reserved header, which is no
 * secret). */
static gboolean
check_line (const char *line, guint number, GError **error)
{
  const char *colon = strchr (line, ':');
  WsbHeaderProblem problem = wsb_header_check (line);

  if (problem == WSB_HEADER_TOO_LONG)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "auth_command output line %u is longer than the %d bytes a header may have",
                   number, WSB_HEADER_MAX_BYTES);
      return FALSE;
    }
  if ((problem != WSB_HEADER_OK && problem != WSB_HEADER_RESERVED) || !is_clean (colon + 1, TRUE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "auth_command output line %u is not 'Name: value'", number);
      return FALSE;
    }
  if (problem == WSB_HEADER_RESERVED)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "auth_command output line %u sets header '%.*s', which wsbridge sets itself",
                   number, (int) (colon - line), line);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_output (WsbAuth *auth, GError **error)
{
  g_auto (GStrv) lines = NULL;

  if (auth->out->len && memchr (auth->out->data, '\0', auth->out->len))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "auth_command output contains a NUL byte");
      return FALSE;
    }
  g_byte_array_append (auth->out, (const guint8 *) "", 1);
  lines = g_strsplit ((const char *) auth->out->data, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      /* Also drops the CR of CRLF line ends. */
      char *line = g_strstrip (lines[i]);
      if (!*line)
        continue;
      if (!check_line (line, i + 1, error))
        return FALSE;
      g_ptr_array_add (auth->headers, g_strdup (line));
    }
  return TRUE;
}

static char *
exit_problem (GSubprocess *proc)
{
  if (g_subprocess_get_if_signaled (proc))
    return g_strdup_printf ("auth_command was killed by signal %d",
                            g_subprocess_get_term_sig (proc));
  if (g_subprocess_get_exit_status (proc) != 0)
    return g_strdup_printf ("auth_command exited with status %d",
                            g_subprocess_get_exit_status (proc));
  return NULL;
}

static void
step_done (WsbAuth *auth)
{
  g_autoptr (GError) error = NULL;
  char *problem;

  if (--auth->pending > 0)
    return;
  problem = exit_problem (auth->proc);
  if (problem)
    {
      finish (auth, problem);
      return;
    }
  if (!parse_output (auth, &error))
    {
      finish (auth, g_strdup (error->message));
      return;
    }
  auth_log (auth, G_LOG_LEVEL_DEBUG, "%s: auth_command gave %u header%s", auth->session,
            auth->headers->len, auth->headers->len == 1 ? "" : "s");
  finish (auth, NULL);
}

static void read_more (WsbAuth *auth, GInputStream *stream);

static void
on_read (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
      = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), res, &error);
  WsbAuth *auth = data;
  gboolean is_stdout;
  gsize size;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* auth is freed */
  if (!bytes)
    {
      finish (auth, g_strdup_printf ("cannot read auth_command output: %s", error->message));
      return;
    }
  size = g_bytes_get_size (bytes);
  if (size == 0)
    {
      step_done (auth);
      return;
    }
  is_stdout = source == G_OBJECT (g_subprocess_get_stdout_pipe (auth->proc));
  if (is_stdout && auth->out->len + size > MAX_CREDENTIAL_BYTES)
    {
      finish (auth, g_strdup ("auth_command output is larger than 64 KiB"));
      return;
    }
  /* stderr is drained so the command never blocks on it, but only its
   * start is kept, for log_stderr. */
  if (is_stdout)
    g_byte_array_append (auth->out, g_bytes_get_data (bytes, NULL), size);
  else if (auth->err->len < STDERR_LOG_CHARS)
    g_byte_array_append (auth->err, g_bytes_get_data (bytes, NULL),
                         MIN (size, STDERR_LOG_CHARS - auth->err->len));
  read_more (auth, G_INPUT_STREAM (source));
}

static void
read_more (WsbAuth *auth, GInputStream *stream)
{
  g_input_stream_read_bytes_async (stream, READ_CHUNK, G_PRIORITY_DEFAULT, auth->cancellable,
                                   on_read, auth);
}

static void
on_exited (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  WsbAuth *auth = data;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), res, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return; /* auth is freed */
      finish (auth, g_strdup_printf ("cannot wait for auth_command: %s", error->message));
      return;
    }
  step_done (auth);
}

static gboolean
on_timeout (gpointer data)
{
  WsbAuth *auth = data;

  auth->timeout_source = 0;
  finish (auth, g_strdup_printf ("auth_command timed out after %u s", timeout_s));
  return G_SOURCE_REMOVE;
}

static gboolean
start_command (WsbAuth *auth, const char *command, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) argv = NULL;

  /* GLib's parse errors may quote the text, which may hold a secret. */
  if (!g_shell_parse_argv (command, NULL, &argv, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "auth_command is not a valid command line (check the quoting)");
      return FALSE;
    }
  auth->argv0 = g_strdup (argv[0]);
  launcher
      = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  auth->proc = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv, &local);
  if (!auth->proc)
    {
      /* GLib's spawn errors name argv[0] only, never the arguments. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot run auth_command: %s",
                   local->message);
      return FALSE;
    }
  auth_log (auth, G_LOG_LEVEL_DEBUG, "%s: running auth_command %s (pid %s)", auth->session,
            auth->argv0, g_subprocess_get_identifier (auth->proc));
  auth->out = g_byte_array_new ();
  auth->err = g_byte_array_new ();
  auth->pending = 3;
  read_more (auth, g_subprocess_get_stdout_pipe (auth->proc));
  read_more (auth, g_subprocess_get_stderr_pipe (auth->proc));
  g_subprocess_wait_async (auth->proc, auth->cancellable, on_exited, auth);
  /* Not g_timeout_add_seconds: that may fire early, and the error says
   * how long the command had. */
  auth->timeout_source = g_timeout_add (timeout_s * 1000, on_timeout, auth);
  return TRUE;
}

WsbAuth *
wsb_auth_fetch (const WsbSessionConfig *cfg, gboolean strict_permissions, WsbAuthDone done,
                gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  WsbAuth *auth = g_new0 (WsbAuth, 1);

  auth->session = g_strdup (cfg->name);
  auth->done = done;
  auth->user_data = user_data;
  auth->headers = g_ptr_array_new_with_free_func (g_free);
  auth->cancellable = g_cancellable_new ();
  if ((cfg->token_file && !add_token_header (auth, cfg->token_file, strict_permissions, &error))
      || (cfg->auth_command && !start_command (auth, cfg->auth_command, &error)))
    auth->error = g_strdup (error->message);
  /* Nothing left to wait for: report from the loop, never from here. */
  if (!auth->proc)
    auth->idle_source = g_idle_add (on_idle, auth);
  return auth;
}
