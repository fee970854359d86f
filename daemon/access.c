#include "access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>

#include "wsb-error.h"

#define MAX_GROUPS 1024

/* An entry of allow_users/allow_groups: a number or a name; -1 if unknown. */
static gint64
resolve (const char *entry, gboolean group)
{
  guint64 n;

  if (g_ascii_string_to_unsigned (entry, 10, 0, G_MAXUINT32 - 1, &n, NULL))
    return (gint64) n;
  if (group)
    {
      struct group *gr = getgrnam (entry);
      return gr ? (gint64) gr->gr_gid : -1;
    }
  struct passwd *pw = getpwnam (entry);
  return pw ? (gint64) pw->pw_uid : -1;
}

/* TRUE when uid (primary group gid) belongs to one of groups. */
static gboolean
in_groups (uid_t uid, gid_t gid, const char *const *groups)
{
  struct passwd *pw = getpwuid (uid);
  gid_t member[MAX_GROUPS];
  int n = MAX_GROUPS;

  member[0] = gid;
  if (!pw || getgrouplist (pw->pw_name, gid, member, &n) < 0)
    n = 1;
  for (guint i = 0; groups && groups[i]; i++)
    {
      gint64 want = resolve (groups[i], TRUE);
      for (int k = 0; want >= 0 && k < n; k++)
        if ((gint64) member[k] == want)
          return TRUE;
    }
  return FALSE;
}

gboolean
wsb_access_session_allowed (const WsbSessionConfig *cfg, uid_t uid, gid_t gid, GError **error)
{
  static const char *const default_groups[] = { WSB_ACCESS_DEFAULT_GROUP, NULL };
  const char *const *groups = cfg->allow_groups ? (const char *const *) cfg->allow_groups
                                                : default_groups;

  if (uid == 0)
    return TRUE;
  for (guint i = 0; cfg->allow_users && cfg->allow_users[i]; i++)
    if (resolve (cfg->allow_users[i], FALSE) == (gint64) uid)
      return TRUE;
  if (in_groups (uid, gid, groups))
    return TRUE;
  g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
               "uid %u may not use session '%s' (see its allow_users and allow_groups)",
               (guint) uid, cfg->name);
  return FALSE;
}

gboolean
wsb_access_create_allowed (const WsbDaemonConfig *cfg, uid_t uid, gid_t gid, GError **error)
{
  if (uid == 0 || in_groups (uid, gid, (const char *const *) cfg->create_allow_groups))
    return TRUE;
  g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
               "uid %u may not create sessions (root and [daemon] create_allow_groups may)",
               (guint) uid);
  return FALSE;
}
