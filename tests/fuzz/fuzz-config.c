/* Fuzz target: the input is the text of a configuration file, parsed both as
 * wsbridge.conf and as sessions.d/fuzz.conf (where a bare [session] group
 * is allowed). Whatever parses must also make a session: a URL that passes
 * validation but that the session cannot parse stops the daemon. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "session.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const WsbSessionEvents no_events;

/* Quiet, except that a critical is a bug like a crash. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    g_log_writer_standard_streams (level, fields, n_fields, data);
  if (level & G_LOG_LEVEL_CRITICAL)
    abort ();
  return G_LOG_WRITER_HANDLED;
}

static void
parse_one (const uint8_t *data, size_t size, const char *path, const char *default_session)
{
  g_autoptr (WsbConfig) cfg = wsb_config_new ();
  g_autoptr (GError) error = NULL;
  gboolean ok
      = wsb_config_parse_text (cfg, path, (const char *) data, size, default_session, &error);

  /* Exactly one of: success, or an error that says why. */
  g_assert_true (ok == (error == NULL));
  g_assert_true (ok || (error->message && *error->message));
  if (!ok)
    return;
  g_assert_true (wsb_daemon_config_equal (&cfg->daemon, &cfg->daemon));
  for (guint i = 0; i < cfg->sessions->len; i++)
    {
      const WsbSessionConfig *sc = g_ptr_array_index (cfg->sessions, i);
      g_autoptr (WsbSessionConfig) copy = wsb_session_config_copy (sc);

      g_assert_true (wsb_session_name_is_valid (sc->name));
      g_assert_true (wsb_session_config_equal (sc, copy));
      /* No connection is made: the session only takes the configuration. */
      wsb_session_free (wsb_session_new (NULL, sc, &no_events, NULL));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean initialized;

  if (!initialized)
    {
      g_log_set_writer_func (log_writer, NULL, NULL);
      initialized = TRUE;
    }
  parse_one (data, size, "/etc/wsbridge/wsbridge.conf", NULL);
  parse_one (data, size, "/etc/wsbridge/sessions.d/fuzz.conf", "fuzz");
  return 0;
}
