#include "access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "wsb-error.h"

#define MAX_GROUPS 1024

/* NSS answers are kept a while: the system instance checks every request
 * (each Send among them), and one lookup through NSS costs tens of
 * microseconds with systemd-userdb and up to seconds with a directory
 * service, spent on the main loop that serves every session. All answers
 * go together CACHE_SECONDS after the first, when the cache holds
 * CACHE_MAX of them, and at a reload (wsb_access_forget). */
#define CACHE_SECONDS 30
#define CACHE_MAX 4096

typedef struct
{
  int n;
  gid_t gids[]; /* the primary group first */
} Membership;

static GHashTable *ids[2];      /* [group]: a user's or group's name → gint64 id, -1 if unknown */
static GHashTable *memberships; /* uid << 32 | gid (a gint64) → Membership */
static gint64 cache_since;

uid_t
wsb_access_creator (uid_t uid)
{
  return uid == 0 ? WSB_NO_CREATOR : uid;
}

void
wsb_access_forget (void)
{
  g_clear_pointer (&ids[FALSE], g_hash_table_destroy);
  g_clear_pointer (&ids[TRUE], g_hash_table_destroy);
  g_clear_pointer (&memberships, g_hash_table_destroy);
}

/* Called once per check, before any answer is looked up: an answer found
 * stays valid until the check ends. */
static void
cache_check (void)
{
  gint64 now = g_get_monotonic_time ();

  if (memberships
      && (now - cache_since > CACHE_SECONDS * G_USEC_PER_SEC
          || g_hash_table_size (ids[FALSE]) + g_hash_table_size (ids[TRUE])
                     + g_hash_table_size (memberships)
                 >= CACHE_MAX))
    wsb_access_forget ();
  if (!memberships)
    {
      ids[FALSE] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      ids[TRUE] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      memberships = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
      cache_since = now;
    }
}

/* An entry of allow_users/allow_groups: a number or a name; -1 if unknown. */
static gint64
resolve (const char *entry, gboolean group)
{
  gint64 *cached, id;
  guint64 n;

  if (g_ascii_string_to_unsigned (entry, 10, 0, G_MAXUINT32 - 1, &n, NULL))
    return (gint64) n;
  if ((cached = g_hash_table_lookup (ids[group != FALSE], entry)))
    return *cached;
  if (group)
    {
      struct group *gr = getgrnam (entry);
      id = gr ? (gint64) gr->gr_gid : -1;
    }
  else
    {
      struct passwd *pw = getpwnam (entry);
      id = pw ? (gint64) pw->pw_uid : -1;
    }
  g_hash_table_insert (ids[group != FALSE], g_strdup (entry), g_memdup2 (&id, sizeof id));
  return id;
}

/* The groups of uid (primary group gid): gid and its supplementary groups. */
static const Membership *
membership (uid_t uid, gid_t gid)
{
  gint64 key = (gint64) ((guint64) uid << 32 | gid);
  Membership *m;
  struct passwd *pw;
  gid_t member[MAX_GROUPS];
  int n = MAX_GROUPS;

  if ((m = g_hash_table_lookup (memberships, &key)))
    return m;
  member[0] = gid;
  pw = getpwuid (uid);
  if (!pw || getgrouplist (pw->pw_name, gid, member, &n) < 0)
    n = 1;
  m = g_malloc (sizeof *m + (gsize) n * sizeof (gid_t));
  m->n = n;
  memcpy (m->gids, member, (gsize) n * sizeof (gid_t));
  g_hash_table_insert (memberships, g_memdup2 (&key, sizeof key), m);
  return m;
}

/* TRUE when uid (primary group gid) belongs to one of groups. */
static gboolean
in_groups (uid_t uid, gid_t gid, const char *const *groups)
{
  const Membership *m;

  if (!groups || !groups[0])
    return FALSE;
  m = membership (uid, gid);
  for (guint i = 0; groups[i]; i++)
    {
      gint64 want = resolve (groups[i], TRUE);
      for (int k = 0; want >= 0 && k < m->n; k++)
        if ((gint64) m->gids[k] == want)
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
  cache_check ();
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
  if (uid == 0)
    return TRUE;
  cache_check ();
  if (in_groups (uid, gid, (const char *const *) cfg->create_allow_groups))
    return TRUE;
  g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
               "uid %u may not create sessions (root and [daemon] create_allow_groups may)",
               (guint) uid);
  return FALSE;
}
