#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "auth-private.h"
#include "auth.h"
#include "test-util.h"

/* Longer than any test should take; a hang fails instead of blocking CI. */
#define GUARD_MS 20000

typedef struct
{
  char *dir;
  WsbSessionConfig *cfg;
  GMainLoop *loop;
  char **headers;
  char *error;
  guint calls;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = wsb_test_tmp_dir ("test-auth-XXXXXX");
  f->cfg = wsb_session_config_new_default ("t");
  f->loop = g_main_loop_new (NULL, FALSE);
  wsb_auth_set_timeout_for_tests (WSB_AUTH_COMMAND_TIMEOUT_S);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  wsb_test_rm_rf (f->dir);
  g_free (f->dir);
  wsb_session_config_free (f->cfg);
  g_main_loop_unref (f->loop);
  g_strfreev (f->headers);
  g_free (f->error);
}

static char *
write_file (Fixture *f, const char *name, const char *content, int mode)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, content, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

/* A shell script as auth_command; $1 is the fixture's directory. */
static void
set_command (Fixture *f, const char *body)
{
  g_autofree char *text = g_strdup_printf ("#!/bin/sh\n%s\n", body);
  g_autofree char *path = write_file (f, "cmd.sh", text, 0700);

  g_free (f->cfg->auth_command);
  f->cfg->auth_command = g_strdup_printf ("%s %s", path, f->dir);
}

static void
set_token_file (Fixture *f, const char *content, int mode)
{
  g_free (f->cfg->token_file);
  f->cfg->token_file = write_file (f, "token", content, mode);
}

static void
on_done (char **headers, const char *error, gpointer data)
{
  Fixture *f = data;

  f->calls++;
  f->headers = headers;
  f->error = g_strdup (error);
  g_assert_true ((headers == NULL) != (error == NULL));
  g_main_loop_quit (f->loop);
}

static gboolean
on_guard (gpointer data)
{
  g_error ("test timed out");
  return G_SOURCE_REMOVE;
}

static void
fetch (Fixture *f, gboolean strict)
{
  guint guard = g_timeout_add (GUARD_MS, on_guard, NULL);

  wsb_auth_fetch (f->cfg, strict, on_done, f);
  g_assert_cmpuint (f->calls, ==, 0); /* never synchronously */
  g_main_loop_run (f->loop);
  g_source_remove (guard);
  g_assert_cmpuint (f->calls, ==, 1);
}

static void
assert_headers (Fixture *f, const char *const *expected)
{
  g_assert_null (f->error);
  g_assert_nonnull (f->headers);
  g_assert_cmpstrv (f->headers, expected);
}

static void
assert_error (Fixture *f, const char *expected)
{
  g_assert_null (f->headers);
  g_assert_cmpstr (f->error, ==, expected);
}

static void
test_needed (Fixture *f, gconstpointer data)
{
  g_assert_false (wsb_auth_needed (f->cfg));
  f->cfg->token_file = g_strdup ("/x");
  g_assert_true (wsb_auth_needed (f->cfg));
  g_clear_pointer (&f->cfg->token_file, g_free);
  f->cfg->auth_command = g_strdup ("true");
  g_assert_true (wsb_auth_needed (f->cfg));
}

static void
test_token_file (Fixture *f, gconstpointer data)
{
  const char *expected[] = { "Authorization: Bearer abc.DEF-123_~+/=", NULL };

  set_token_file (f, "  abc.DEF-123_~+/=\r\n\n", 0600);
  fetch (f, TRUE);
  assert_headers (f, expected);
}

static void
test_token_file_reread (Fixture *f, gconstpointer data)
{
  const char *expected[] = { "Authorization: Bearer second", NULL };

  set_token_file (f, "first\n", 0600);
  fetch (f, FALSE);
  g_clear_pointer (&f->headers, g_strfreev);
  f->calls = 0;
  set_token_file (f, "second\n", 0600);
  fetch (f, FALSE);
  assert_headers (f, expected);
}

static void
test_token_file_missing (Fixture *f, gconstpointer data)
{
  g_autofree char *expected = NULL;

  f->cfg->token_file = g_build_filename (f->dir, "nope", NULL);
  expected
      = g_strdup_printf ("cannot read token_file %s: %s", f->cfg->token_file, g_strerror (ENOENT));
  fetch (f, FALSE);
  assert_error (f, expected);
}

static void
test_token_file_empty (Fixture *f, gconstpointer data)
{
  g_autofree char *expected = NULL;

  set_token_file (f, " \n", 0600);
  expected = g_strdup_printf ("token_file %s is empty", f->cfg->token_file);
  fetch (f, FALSE);
  assert_error (f, expected);
}

static void
test_token_file_group_readable (Fixture *f, gconstpointer data)
{
  const char *expected_ok[] = { "Authorization: Bearer tok", NULL };
  g_autofree char *expected = NULL;

  set_token_file (f, "tok\n", 0644);
  expected = g_strdup_printf ("token_file %s is readable by group or others; chmod 600 it",
                              f->cfg->token_file);
  fetch (f, TRUE);
  assert_error (f, expected);

  /* The user instance reads files the user made, whatever their mode. */
  g_clear_pointer (&f->error, g_free);
  f->calls = 0;
  fetch (f, FALSE);
  assert_headers (f, expected_ok);
}

static void
test_token_file_line_break (Fixture *f, gconstpointer data)
{
  g_autofree char *expected = NULL;

  set_token_file (f, "SECRETONE\nSECRETTWO\n", 0600);
  expected = g_strdup_printf (
      "token_file %s has a line break or control character inside the token", f->cfg->token_file);
  fetch (f, TRUE);
  assert_error (f, expected);
}

static void
test_token_file_not_regular (Fixture *f, gconstpointer data)
{
  g_autofree char *expected = NULL;

  /* A FIFO with no writer would block a plain open forever. */
  f->cfg->token_file = g_build_filename (f->dir, "fifo", NULL);
  g_assert_cmpint (mkfifo (f->cfg->token_file, 0600), ==, 0);
  expected = g_strdup_printf ("token_file %s is not a regular file", f->cfg->token_file);
  fetch (f, TRUE);
  assert_error (f, expected);
}

static void
test_command (Fixture *f, gconstpointer data)
{
  const char *expected[] = { "X-One: 1", "X-Two: two\twords", NULL };

  set_command (f, "printf 'X-One: 1\\r\\n\\n  X-Two: two\\twords\\n'; echo noise >&2");
  fetch (f, TRUE);
  assert_headers (f, expected);
}

static void
test_command_no_output (Fixture *f, gconstpointer data)
{
  const char *expected[] = { NULL };

  set_command (f, "exit 0");
  fetch (f, TRUE);
  assert_headers (f, expected);
}

static void
test_command_exit_status (Fixture *f, gconstpointer data)
{
  set_command (f, "echo 'X-A: b'; echo 'it went wrong' >&2; exit 3");
  fetch (f, TRUE);
  assert_error (f, "auth_command exited with status 3");
}

static void
test_command_signal (Fixture *f, gconstpointer data)
{
  set_command (f, "kill -TERM $$");
  fetch (f, TRUE);
  assert_error (f, "auth_command was killed by signal 15");
}

static void
test_command_bad_line (Fixture *f, gconstpointer data)
{
  set_command (f, "echo 'X-Good: 1'; echo 'Bearer SECRETVALUE'");
  fetch (f, TRUE);
  assert_error (f, "auth_command output line 2 is not 'Name: value'");
  g_assert_null (strstr (f->error, "SECRETVALUE"));
}

static void
test_command_bad_name (Fixture *f, gconstpointer data)
{
  set_command (f, "echo 'Bad Name: SECRETVALUE'");
  fetch (f, TRUE);
  assert_error (f, "auth_command output line 1 is not 'Name: value'");
}

static void
test_command_control_char (Fixture *f, gconstpointer data)
{
  set_command (f, "printf 'X-A: SECRET\\rVALUE\\n'");
  fetch (f, TRUE);
  assert_error (f, "auth_command output line 1 is not 'Name: value'");
}

static void
test_command_reserved (Fixture *f, gconstpointer data)
{
  set_command (f, "echo 'X-A: 1'; echo 'host: SECRETVALUE'");
  fetch (f, TRUE);
  assert_error (f, "auth_command output line 2 sets header 'host', which wsbridge sets itself");
}

static void
test_command_too_much (Fixture *f, gconstpointer data)
{
  set_command (f, "yes 'X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' | head -c 70000");
  fetch (f, TRUE);
  assert_error (f, "auth_command output is larger than 64 KiB");
}

static void
test_command_cannot_start (Fixture *f, gconstpointer data)
{
  f->cfg->auth_command = g_strdup ("/nonexistent/helper --password=SECRETARG");
  fetch (f, TRUE);
  g_assert_null (f->headers);
  g_assert_true (g_str_has_prefix (f->error, "cannot run auth_command: "));
  g_assert_nonnull (strstr (f->error, "/nonexistent/helper"));
  g_assert_null (strstr (f->error, "SECRETARG"));
}

static void
test_command_bad_quoting (Fixture *f, gconstpointer data)
{
  f->cfg->auth_command = g_strdup ("helper 'SECRETARG");
  fetch (f, TRUE);
  assert_error (f, "auth_command is not a valid command line (check the quoting)");
}

static GPid
read_pid (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->dir, "pid", NULL);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL) || !strchr (text, '\n'))
    return 0;
  return (GPid) g_ascii_strtoll (text, NULL, 10);
}

static gboolean
pid_written (gpointer data)
{
  return read_pid (data) != 0;
}

/* Iterates the loop until the child's pid file appears. */
static GPid
wait_for_pid (Fixture *f)
{
  g_assert_true (wsb_test_iterate_until (pid_written, f, GUARD_MS));
  return read_pid (f);
}

/* GSubprocess reaps the child in GLib's worker thread, so it vanishes
 * without our loop running. */
static void
assert_gone_soon (GPid pid)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (kill (pid, 0) == 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10000);
    }
  g_assert_cmpint (errno, ==, ESRCH);
}

static void
test_command_timeout (Fixture *f, gconstpointer data)
{
  gint64 start = g_get_monotonic_time ();

  wsb_auth_set_timeout_for_tests (1);
  set_command (f, "echo $$ > \"$1/pid\"; exec sleep 30");
  fetch (f, TRUE);
  assert_error (f, "auth_command timed out after 1 s");
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC);
  assert_gone_soon (read_pid (f));
}

static void
test_cancel_kills (Fixture *f, gconstpointer data)
{
  WsbAuth *auth;
  GPid pid;

  set_command (f, "echo $$ > \"$1/pid\"; exec sleep 30");
  auth = wsb_auth_fetch (f->cfg, TRUE, on_done, f);
  pid = wait_for_pid (f);
  wsb_auth_cancel (auth);
  assert_gone_soon (pid);
  /* Let the cancelled reads and the exit notice arrive: none reports. */
  for (guint i = 0; i < 20; i++)
    {
      wsb_test_drain ();
      g_usleep (10000);
    }
  g_assert_cmpuint (f->calls, ==, 0);
}

static void
test_cancel_before_idle (Fixture *f, gconstpointer data)
{
  set_token_file (f, "tok\n", 0600);
  wsb_auth_cancel (wsb_auth_fetch (f->cfg, TRUE, on_done, f));
  wsb_test_drain ();
  g_assert_cmpuint (f->calls, ==, 0);
}

static void
test_token_and_command (Fixture *f, gconstpointer data)
{
  const char *expected[] = { "Authorization: Bearer tok", "X-Extra: 1", NULL };

  set_token_file (f, "tok\n", 0600);
  set_command (f, "echo 'X-Extra: 1'");
  fetch (f, TRUE);
  assert_headers (f, expected);
}

static void
test_token_error_skips_command (Fixture *f, gconstpointer data)
{
  f->cfg->token_file = g_build_filename (f->dir, "nope", NULL);
  set_command (f, "echo $$ > \"$1/pid\"");
  fetch (f, TRUE);
  g_assert_nonnull (f->error);
  g_assert_cmpint (read_pid (f), ==, 0);
}

#define add_test(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  add_test ("/auth/needed", test_needed);
  add_test ("/auth/token-file/ok", test_token_file);
  add_test ("/auth/token-file/reread", test_token_file_reread);
  add_test ("/auth/token-file/missing", test_token_file_missing);
  add_test ("/auth/token-file/empty", test_token_file_empty);
  add_test ("/auth/token-file/group-readable", test_token_file_group_readable);
  add_test ("/auth/token-file/line-break", test_token_file_line_break);
  add_test ("/auth/token-file/not-regular", test_token_file_not_regular);
  add_test ("/auth/command/ok", test_command);
  add_test ("/auth/command/no-output", test_command_no_output);
  add_test ("/auth/command/exit-status", test_command_exit_status);
  add_test ("/auth/command/signal", test_command_signal);
  add_test ("/auth/command/bad-line", test_command_bad_line);
  add_test ("/auth/command/bad-name", test_command_bad_name);
  add_test ("/auth/command/control-char", test_command_control_char);
  add_test ("/auth/command/reserved-header", test_command_reserved);
  add_test ("/auth/command/too-much-output", test_command_too_much);
  add_test ("/auth/command/cannot-start", test_command_cannot_start);
  add_test ("/auth/command/bad-quoting", test_command_bad_quoting);
  add_test ("/auth/command/timeout", test_command_timeout);
  add_test ("/auth/cancel/kills-command", test_cancel_kills);
  add_test ("/auth/cancel/before-report", test_cancel_before_idle);
  add_test ("/auth/both/token-first", test_token_and_command);
  add_test ("/auth/both/token-error-skips-command", test_token_error_skips_command);
  return g_test_run ();
}
