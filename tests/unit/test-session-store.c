/* session-store.c: the text of a session created at runtime, and the
 * creator who joins its allow_users. */
#include <string.h>

#include "config.h"
#include "session-store.h"
#include "wsb-error.h"

/* The text of session "s" with one option KEY=VALUE (none when KEY is
 * NULL) created by CREATOR; the allow_users list its key file holds
 * ("<none>" without the key). */
static char *
allow_users_of (const char *key, const char *value, uid_t creator)
{
  const char *keys[] = { key, NULL };
  const char *values[] = { value, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = wsb_session_store_text ("s", "ws://127.0.0.1:9/", keys, values,
                                                  key ? 1 : 0, creator, &error);

  g_assert_no_error (error);
  g_assert_nonnull (text);
  g_assert_true (g_key_file_load_from_data (kf, text, strlen (text), G_KEY_FILE_NONE, &error));
  if (!g_key_file_has_key (kf, "session", "allow_users", NULL))
    return g_strdup ("<none>");
  return g_key_file_get_value (kf, "session", "allow_users", NULL);
}

static void
test_creator_joins_allow_users (void)
{
  static const struct
  {
    const char *key, *value; /* the one option given, or none */
    uid_t creator;
    const char *want; /* allow_users as the key file holds it */
  } cases[] = {
    { NULL, NULL, WSB_NO_CREATOR, "<none>" },
    { NULL, NULL, 1000, "1000;" },
    { "allow_users", "root;alice", 1000, "root;alice;1000;" },
    /* Already listed by uid: the list stays as given. */
    { "allow_users", "1000;bob", 1000, "1000;bob" },
    { "allow_users", "", 1000, "1000;" },
    /* An escape GKeyFile refuses is left for the configuration code to report. */
    { "allow_users", "alice\\", 1000, "alice\\" },
    /* Other keys are not touched. */
    { "allow_groups", "staff", 1000, "1000;" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = allow_users_of (cases[i].key, cases[i].value, cases[i].creator);

      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

static void
test_bad_options_refused (void)
{
  const char *keys[] = { "allow_users", "allow_users" };
  const char *values[] = { "a", "b" };
  const char *bad_key[] = { "colour" };
  const char *line_break[] = { "a\nurl=ws://evil/" };
  g_autoptr (GError) error = NULL;
  char *text;

  text = wsb_session_store_text ("s", "ws://x/", keys, values, 2, 1000, &error);
  g_assert_null (text);
  g_assert_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "given twice"));
  g_clear_error (&error);
  text = wsb_session_store_text ("s", "ws://x/", bad_key, values, 1, WSB_NO_CREATOR, &error);
  g_assert_null (text);
  g_assert_nonnull (strstr (error->message, "unknown session option 'colour'"));
  g_clear_error (&error);
  text = wsb_session_store_text ("s", "ws://x/", keys, line_break, 1, 1000, &error);
  g_assert_null (text);
  g_assert_nonnull (strstr (error->message, "line breaks"));
  g_assert_null (strstr (error->message, "evil"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session-store/creator-joins-allow-users", test_creator_joins_allow_users);
  g_test_add_func ("/session-store/bad-options-refused", test_bad_options_refused);
  return g_test_run ();
}
