/* The hub's side of resuming a feed (resume.h): the last id handed to the
 * session for its next connect, and, for a session with queue_persist,
 * kept in STATE/resume/NAME.id across restarts. */
#include "hub-private.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "log.h"

/* Where a persisting session keeps the last id of its feed (resume.h). */
static char *
resume_path (WsbHub *hub, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".id", NULL);

  return g_build_filename (hub->state_dir, "resume", file, NULL);
}

static gboolean
save_resume (gpointer data)
{
  HubSession *hs = data;
  g_autofree char *path = resume_path (hs->hub, hs_name (hs));
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  const char *id = hs->resume ? wsb_resume_last_id (hs->resume) : NULL;

  hs->resume_save_id = 0;
  if (!id)
    return G_SOURCE_REMOVE;
  if (g_mkdir_with_parents (dir, 0700) < 0
      || !g_file_set_contents_full (path, id, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    wsb_session_log (hs_name (hs), G_LOG_LEVEL_WARNING,
                     "%s: cannot keep the feed's last id in %s: %s", hs_name (hs), path,
                     error ? error->message : g_strerror (errno));
  return G_SOURCE_REMOVE;
}

void
hub_resume_advanced (HubSession *hs)
{
  hs->hub->ops->set_resume_id (hs->session, wsb_resume_last_id (hs->resume));
  if (hs->hub->ops->get_config (hs->session)->queue_persist && !hs->resume_save_id)
    hs->resume_save_id = g_timeout_add_seconds (1, save_resume, hs);
}

void
hub_resume_configure (HubSession *hs, const WsbSessionConfig *cfg)
{
  g_autofree char *kept = hs->resume && wsb_resume_last_id (hs->resume)
                              ? g_strdup (wsb_resume_last_id (hs->resume))
                              : NULL;
  g_autofree char *path = resume_path (hs->hub, cfg->name);

  g_clear_pointer (&hs->resume, wsb_resume_free);
  hs->resume = wsb_resume_new (cfg);
  if (!hs->resume)
    {
      hs->hub->ops->set_resume_id (hs->session, NULL);
      return;
    }
  if (!kept && cfg->queue_persist)
    g_file_get_contents (path, &kept, NULL, NULL);
  if (kept && *kept)
    {
      wsb_resume_set_last_id (hs->resume, kept);
      hs->hub->ops->set_resume_id (hs->session, kept);
    }
}

void
hub_resume_finish (HubSession *hs)
{
  if (hs->resume_save_id)
    {
      g_source_remove (hs->resume_save_id);
      if (!hs->removed)
        save_resume (hs);
    }
  g_clear_pointer (&hs->resume, wsb_resume_free);
}

void
hub_resume_forget (HubSession *hs)
{
  g_autofree char *path = resume_path (hs->hub, hs_name (hs));

  g_unlink (path);
}
