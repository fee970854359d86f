#include <glib/gstdio.h>

#include "notify-options.h"
#include "test-util.h"

/* Parses the arguments (after the program name) with conf, when non-NULL,
 * written to a file passed as --config. */
static gboolean
parse (WsbNotifyOptions *o, const char *conf, GError **error, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = wsb_test_tmp_dir ("test-notify-options-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "demo.conf", NULL);
  g_autofree char **argv_copy = NULL;
  char **argv;
  int argc;
  gboolean ok;
  va_list ap;

  g_ptr_array_add (args, g_strdup ("wsbridge-notify"));
  if (conf)
    {
      g_assert_true (g_file_set_contents (path, conf, -1, NULL));
      g_ptr_array_add (args, g_strdup_printf ("--config=%s", path));
    }
  va_start (ap, error);
  for (const char *a; (a = va_arg (ap, const char *));)
    g_ptr_array_add (args, g_strdup (a));
  va_end (ap);
  g_ptr_array_add (args, NULL);
  argc = (int) args->len - 1;
  /* GOption reorders and drops pointers of argv, so it gets a copy. */
  argv_copy = g_memdup2 (args->pdata, args->len * sizeof (char *));
  argv = argv_copy;
  ok = wsb_notify_options_parse (o, &argc, &argv, error);
  wsb_test_rm_rf (dir);
  return ok;
}

static void
test_defaults (void)
{
  g_auto (WsbNotifyOptions) o = { 0 };
  g_autoptr (GError) error = NULL;

  g_setenv ("WSBRIDGE_SOCKET", "/tmp/x.sock", TRUE);
  g_assert_true (parse (&o, NULL, &error, "demo", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.session, ==, "demo");
  g_assert_cmpstr (o.channel, ==, "*");
  g_assert_cmpstr (o.target, ==, "demo");
  g_assert_cmpstr (o.app_name, ==, "wsbridge");
  g_assert_cmpstr (o.socket, ==, "/tmp/x.sock");
  g_assert_cmpuint (o.burst, ==, WSB_NOTIFY_DEFAULT_BURST);
  g_assert_cmpfloat (o.window, ==, WSB_NOTIFY_DEFAULT_WINDOW);
  g_assert_null (o.summary);
  g_assert_null (o.icon);
  g_unsetenv ("WSBRIDGE_SOCKET");
}

static void
test_command_line (void)
{
  g_auto (WsbNotifyOptions) o = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (parse (&o, NULL, &error, "--summary", "/t", "--body=/b", "--icon", "mail",
                        "--burst", "3", "--window", "0.5", "--socket", "/s", "--url-key", "/u",
                        "demo/chan/with/slashes", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.session, ==, "demo");
  g_assert_cmpstr (o.channel, ==, "chan/with/slashes");
  g_assert_cmpstr (wsb_notify_pointer_text (o.summary), ==, "/t");
  g_assert_cmpstr (wsb_notify_pointer_text (o.body), ==, "/b");
  g_assert_cmpstr (wsb_notify_pointer_text (o.url_key), ==, "/u");
  g_assert_cmpstr (o.icon, ==, "mail");
  g_assert_cmpuint (o.burst, ==, 3);
  g_assert_cmpfloat (o.window, ==, 0.5);
  g_assert_cmpstr (o.socket, ==, "/s");
}

static void
test_key_file_and_precedence (void)
{
  g_auto (WsbNotifyOptions) o = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (parse (&o,
                        "[notify]\nsummary=/title\napp-name=My Feed\nburst=2\n"
                        "urgency-key=/level\n",
                        &error, "--burst", "7", "demo", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (wsb_notify_pointer_text (o.summary), ==, "/title");
  g_assert_cmpstr (wsb_notify_pointer_text (o.urgency_key), ==, "/level");
  g_assert_cmpstr (o.app_name, ==, "My Feed");
  g_assert_cmpuint (o.burst, ==, 7);
}

static void
test_unknown_keys_warn (void)
{
  if (g_test_subprocess ())
    {
      g_auto (WsbNotifyOptions) o = { 0 };

      /* The warnings are the point here: not fatal in this child. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
      g_assert_true (parse (&o, "[notify]\nsumary=/x\n[other]\na=b\n", NULL, "demo", NULL));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*demo.conf: unknown key sumary in [notify] ignored*");
  g_test_trap_assert_stderr ("*demo.conf: unknown group [other] ignored*");
}

static void
test_missing_file_is_empty (void)
{
  g_auto (WsbNotifyOptions) o = { 0 };
  g_autoptr (GError) error = NULL;
  char *argv_data[]
      = { "wsbridge-notify", "--config=/nonexistent/wsbridge/demo.conf", "demo", NULL };
  char **argv = argv_data;
  int argc = 3;

  g_assert_true (wsb_notify_options_parse (&o, &argc, &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (o.session, ==, "demo");
}

static void
assert_rejected (const char *conf, const char *arg, const char *target, const char *message)
{
  g_auto (WsbNotifyOptions) o = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_false (arg ? parse (&o, conf, &error, arg, target, NULL)
                      : parse (&o, conf, &error, target, NULL));
  g_assert_nonnull (error);
  if (!g_pattern_match_simple (message, error->message))
    g_error ("error \"%s\" does not match \"%s\"", error->message, message);
}

static void
test_bad_values (void)
{
  assert_rejected (NULL, "--burst=0", "demo",
                   "--burst: \"0\" is not a whole number from 1 to 1000");
  assert_rejected (NULL, "--burst=1001", "demo", "--burst: *");
  assert_rejected (NULL, "--burst=2x", "demo", "--burst: *");
  assert_rejected (NULL, "--window=0", "demo", "--window: \"0\" is not a number of seconds*");
  assert_rejected (NULL, "--window=nan", "demo", "--window: *");
  assert_rejected (NULL, "--window=1e9", "demo", "--window: *");
  assert_rejected (NULL, "--summary=title", "demo", "--summary: invalid JSON pointer*");
  assert_rejected (NULL, "--app-name=", "demo", "--app-name: empty");
  assert_rejected (NULL, "--socket=", "demo", "--socket: empty");
  assert_rejected (NULL, NULL, "Demo", "invalid session name \"Demo\"*");
  assert_rejected (NULL, NULL, "demo/", "invalid channel in \"demo/\": empty after '/'");
  assert_rejected ("[notify]\nburst=many\n", NULL, "demo", "*demo.conf: key burst: \"many\"*");
  assert_rejected ("[notify]\nbody=x\n", NULL, "demo", "*demo.conf: key body: invalid JSON*");
  assert_rejected ("not a key file\n", NULL, "demo", "*demo.conf: *");
  assert_rejected (NULL, "demo", "other", "more than one SESSION[/CHANNEL]");
  assert_rejected (NULL, "--preset=matrix", "demo",
                   "--preset: no preset \"matrix\"; there are ntfy, gotify");
  assert_rejected ("[notify]\npreset=Ntfy\n", NULL, "demo", "*demo.conf: key preset: no preset*");
  assert_rejected (NULL, "--urgency-map=1:urgent", "demo",
                   "--urgency-map: \"1:urgent\": the urgency is not low, normal, critical*");
  assert_rejected (NULL, "--filter=/event", "demo", "--filter: \"/event\" is not PTR=VALUE");
  assert_rejected (NULL, "--markdown-when=x=y", "demo", "--markdown-when: invalid JSON pointer*");
  assert_rejected ("[notify]\nsession=Home\n", NULL, NULL,
                   "*demo.conf: key session: expected [a-z0-9]*");
  assert_rejected ("[notify]\nsession=home\nchannel=\n", NULL, NULL,
                   "*demo.conf: key channel: empty");
  assert_rejected ("[notify]\nburst=3\n", NULL, NULL,
                   "missing SESSION[/CHANNEL]: neither the command line nor the options file "
                   "names a session");
  assert_rejected (NULL, NULL, NULL, "missing SESSION[/CHANNEL]");
}

/* The unit's way: the file names session and channel (a dash needs no
 * escaping), a preset fills what neither the file nor the command line set. */
static void
test_session_and_preset_from_file (void)
{
  g_auto (WsbNotifyOptions) o = { 0 };
  g_auto (WsbNotifyOptions) cli = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (parse (&o,
                        "[notify]\nsession=home-alerts\nchannel=ops/disk\npreset=ntfy\n"
                        "summary=/topic\n",
                        &error, "--urgency-map=1-5:critical", NULL));
  g_assert_no_error (error);
  g_assert_cmpstr (o.session, ==, "home-alerts");
  g_assert_cmpstr (o.channel, ==, "ops/disk");
  g_assert_cmpstr (o.target, ==, "home-alerts/ops/disk");
  g_assert_cmpstr (o.preset, ==, "ntfy");
  g_assert_cmpstr (wsb_notify_match_text (o.filter), ==, "/event=message");
  g_assert_cmpstr (wsb_notify_pointer_text (o.summary), ==, "/topic");
  g_assert_cmpstr (wsb_notify_pointer_text (o.summary_fallback), ==, "/topic");
  g_assert_cmpstr (wsb_notify_pointer_text (o.body), ==, "/message");
  g_assert_cmpstr (wsb_notify_pointer_text (o.url_key), ==, "/click");
  g_assert_cmpstr (wsb_notify_pointer_text (o.actions_key), ==, "/actions");
  g_assert_cmpstr (wsb_notify_pointer_text (o.tags_key), ==, "/tags");
  g_assert_true (o.resume);
  {
    WsbNotifyUrgency u = WSB_NOTIFY_URGENCY_LOW;

    /* The command line's map, not the preset's. */
    g_assert_true (wsb_notify_urgency_map_lookup (o.urgency_map, "1", &u));
    g_assert_cmpint (u, ==, WSB_NOTIFY_URGENCY_CRITICAL);
  }
  /* The command line's target wins over the file's. */
  g_assert_true (parse (&cli, "[notify]\nsession=home\n", &error, "--no-resume", "other/x", NULL));
  g_assert_cmpstr (cli.target, ==, "other/x");
  g_assert_false (cli.resume);
  g_assert_null (cli.preset);
  g_assert_null (cli.filter);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notify-options/defaults", test_defaults);
  g_test_add_func ("/notify-options/command-line", test_command_line);
  g_test_add_func ("/notify-options/key-file", test_key_file_and_precedence);
  g_test_add_func ("/notify-options/unknown-keys", test_unknown_keys_warn);
  g_test_add_func ("/notify-options/missing-file", test_missing_file_is_empty);
  g_test_add_func ("/notify-options/bad-values", test_bad_values);
  g_test_add_func ("/notify-options/session-and-preset-from-file",
                   test_session_and_preset_from_file);
  return g_test_run ();
}
