#include "lws-log.h"

#include <libwebsockets.h>
#include <string.h>

#define G_LOG_DOMAIN_LWS "lws"

/* Process-global because lws' emitter is (lws-log.h); only filled between
 * wsb_lws_log_capture_begin and _end. */
static gboolean capturing;
static char captured[256];

static void
lws_log_to_glib (int level, const char *line)
{
  gsize len = strlen (line);

  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  if (capturing && (level & (LLL_ERR | LLL_WARN)))
    g_strlcpy (captured, line, MIN (len + 1, sizeof captured));
  g_log_structured (G_LOG_DOMAIN_LWS, G_LOG_LEVEL_DEBUG, "MESSAGE", "%.*s", (int) len, line);
}

void
wsb_lws_log_init (gboolean verbose)
{
  /* lws formats a line before it filters by level: only errors and
   * warnings reach the formatter unless -v. */
  lws_set_log_level (verbose ? (LLL_ERR | LLL_WARN | LLL_NOTICE) : (LLL_ERR | LLL_WARN),
                     lws_log_to_glib);
}

void
wsb_lws_log_capture_begin (void)
{
  captured[0] = '\0';
  capturing = TRUE;
}

char *
wsb_lws_log_capture_end (void)
{
  capturing = FALSE;
  return captured[0] ? g_strdup (captured) : NULL;
}
