#include "fd-reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "wsb-error.h"

static GArray *held; /* int fds */
static guint want;
static WsbLogLimit refused_log;

void
wsb_fd_reserve_init (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
        g_debug ("cannot raise the open-file limit: %s", g_strerror (errno));
    }
  if (getrlimit (RLIMIT_NOFILE, &rl) < 0)
    rl.rlim_cur = 1024;
  /* An eighth of a small limit, so that sessions still get most of it. */
  want = (guint) MIN ((rlim_t) WSB_FD_RESERVE, rl.rlim_cur / 8);
  held = g_array_new (FALSE, FALSE, sizeof (int));
  wsb_fd_reserve_allows_upstream (NULL);
}

static gboolean
refill (void)
{
  while (held && held->len < want)
    {
      int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

      if (fd < 0)
        return FALSE;
      g_array_append_val (held, fd);
    }
  return TRUE;
}

gboolean
wsb_fd_reserve_allows_upstream (GError **error)
{
  if (!held || refill ())
    return TRUE;
  wsb_log_limited (&refused_log, G_LOG_LEVEL_WARNING,
                   "no file descriptors left for upstream connections (the %u kept for API "
                   "clients are in use or the open-file limit is reached); sessions retry later",
                   want);
  g_set_error_literal (error, WSB_ERROR, WSB_ERROR_FAILED,
                       "no file descriptors left for upstream connections");
  return FALSE;
}

gboolean
wsb_fd_reserve_release (void)
{
  if (!held || held->len == 0)
    return FALSE;
  close (g_array_index (held, int, held->len - 1));
  g_array_set_size (held, held->len - 1);
  return TRUE;
}

void
wsb_fd_reserve_free (void)
{
  while (wsb_fd_reserve_release ())
    ;
  g_clear_pointer (&held, g_array_unref);
}
