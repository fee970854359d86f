#include "peer.h"

#include <errno.h>
#include <gio/gio.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#define MAX_GROUPS 1024
/* All answers go together when this many are kept. */
#define CACHE_MAX 4096

typedef struct
{
  WsbPeer *peer; /* pid 0 */
  gint64 since;
} Kept;

/* One lookup of a uid under way, and who waits for it. */
typedef struct
{
  gboolean system;
  uid_t uid;
  GPtrArray *waits; /* WsbPeerWait* */
} Lookup;

struct _WsbPeerWait
{
  WsbPeerFunc func; /* NULL once cancelled */
  gpointer data;
  pid_t pid;
};

static GHashTable *kept;      /* uid → Kept* */
static GHashTable *under_way; /* uid → Lookup* */

WsbPeer *
wsb_peer_new (gboolean system, uid_t uid, pid_t pid, const char *user, const gid_t *groups,
              const char *const *group_names, guint n_groups)
{
  WsbPeer *p = g_new0 (WsbPeer, 1);

  p->ref = 1;
  p->kind = WSB_PEER_CALLER;
  p->system = system;
  p->uid = uid;
  p->pid = pid;
  p->user = g_strdup (user);
  p->n_groups = n_groups;
  p->groups = g_memdup2 (groups, n_groups * sizeof (gid_t));
  p->group_names = g_new0 (char *, n_groups + 1);
  for (guint i = 0; i < n_groups; i++)
    p->group_names[i] = g_strdup (group_names && group_names[i] ? group_names[i] : "");
  return p;
}

const WsbPeer *
wsb_peer_daemon (void)
{
  static WsbPeer *daemon;

  if (g_once_init_enter (&daemon))
    {
      WsbPeer *p = wsb_peer_new (FALSE, getuid (), getpid (), NULL, NULL, NULL, 0);
      p->kind = WSB_PEER_DAEMON;
      g_once_init_leave (&daemon, p);
    }
  return daemon;
}

WsbPeer *
wsb_peer_ref (WsbPeer *p)
{
  g_atomic_int_inc (&p->ref);
  return p;
}

void
wsb_peer_unref (WsbPeer *p)
{
  if (!p || !g_atomic_int_dec_and_test (&p->ref))
    return;
  g_free (p->user);
  g_free (p->groups);
  g_strfreev (p->group_names);
  g_free (p);
}

static gboolean
parse_id (const char *entry, guint64 *id)
{
  return g_ascii_string_to_unsigned (entry, 10, 0, G_MAXUINT32 - 1, id, NULL);
}

gboolean
wsb_peer_is_user (const WsbPeer *p, const char *entry)
{
  guint64 id;

  if (parse_id (entry, &id))
    return id == p->uid;
  return p->user && g_str_equal (entry, p->user);
}

gboolean
wsb_peer_in_group (const WsbPeer *p, const char *entry)
{
  guint64 id;
  gboolean numeric = parse_id (entry, &id);

  for (guint i = 0; i < p->n_groups; i++)
    if (numeric ? p->groups[i] == id
                : (*p->group_names[i] && g_str_equal (entry, p->group_names[i])))
      return TRUE;
  return FALSE;
}

/* ------------------------------------------------------ the user database */

/* In a worker thread: the reentrant NSS calls only. */
static WsbPeer *
look_up (gboolean system, uid_t uid)
{
  g_autofree char *buf = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  long size = sysconf (_SC_GETPW_R_SIZE_MAX);
  struct passwd pw, *pwp = NULL;
  gid_t groups[MAX_GROUPS];
  int n = MAX_GROUPS;

  if (size < 16384)
    size = 16384;
  buf = g_malloc ((gsize) size);
  if (getpwuid_r (uid, &pw, buf, (gsize) size, &pwp) != 0 || !pwp)
    return wsb_peer_new (system, uid, 0, NULL, NULL, NULL, 0);
  groups[0] = pw.pw_gid;
  if (getgrouplist (pw.pw_name, pw.pw_gid, groups, &n) < 0)
    n = 1;
  for (int i = 0; i < n; i++)
    {
      g_autofree char *gbuf = g_malloc ((gsize) size);
      struct group gr, *grp = NULL;

      if (getgrgid_r (groups[i], &gr, gbuf, (gsize) size, &grp) == 0 && grp)
        g_ptr_array_add (names, g_strdup (grp->gr_name));
      else
        g_ptr_array_add (names, g_strdup (""));
    }
  return wsb_peer_new (system, uid, 0, pw.pw_name, groups, (const char *const *) names->pdata,
                       (guint) n);
}

static void
look_up_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancel)
{
  Lookup *l = task_data;

  g_task_return_pointer (task, look_up (l->system, l->uid), (GDestroyNotify) wsb_peer_unref);
}

/* The kept answer with the caller's pid. */
static WsbPeer *
with_pid (const WsbPeer *p, pid_t pid)
{
  return wsb_peer_new (p->system, p->uid, pid, p->user, p->groups,
                       (const char *const *) p->group_names, p->n_groups);
}

static void kept_free (gpointer data);

static void
keep (WsbPeer *p)
{
  Kept *k = g_new0 (Kept, 1);

  if (kept && g_hash_table_size (kept) >= CACHE_MAX)
    wsb_peer_forget ();
  if (!kept)
    kept = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, kept_free);
  k->peer = wsb_peer_ref (p);
  k->since = g_get_monotonic_time ();
  g_hash_table_replace (kept, GUINT_TO_POINTER (p->uid), k);
}

static void
lookup_free (Lookup *l)
{
  g_ptr_array_unref (l->waits);
  g_free (l);
}

static void
on_looked_up (GObject *source, GAsyncResult *res, gpointer data)
{
  Lookup *l = data;
  g_autoptr (WsbPeer) p = g_task_propagate_pointer (G_TASK (res), NULL);

  if (under_way && g_hash_table_lookup (under_way, GUINT_TO_POINTER (l->uid)) == l)
    g_hash_table_steal (under_way, GUINT_TO_POINTER (l->uid));
  keep (p);
  for (guint i = 0; i < l->waits->len; i++)
    {
      WsbPeerWait *w = g_ptr_array_index (l->waits, i);
      if (w->func)
        {
          g_autoptr (WsbPeer) mine = with_pid (p, w->pid);
          w->func (mine, w->data);
        }
    }
  lookup_free (l);
}

static const WsbPeer *
kept_answer (gboolean system, uid_t uid)
{
  Kept *k = kept ? g_hash_table_lookup (kept, GUINT_TO_POINTER (uid)) : NULL;

  if (!k || k->peer->system != system
      || g_get_monotonic_time () - k->since > WSB_PEER_CACHE_SECONDS * G_USEC_PER_SEC)
    return NULL;
  return k->peer;
}

WsbPeerWait *
wsb_peer_lookup (gboolean system, uid_t uid, pid_t pid, WsbPeerFunc func, gpointer data)
{
  const WsbPeer *known;
  WsbPeerWait *w;
  Lookup *l;

  if (uid == 0 || !system)
    {
      g_autoptr (WsbPeer) p = wsb_peer_new (system, uid, pid, NULL, NULL, NULL, 0);
      func (p, data);
      return NULL;
    }
  if ((known = kept_answer (system, uid)))
    {
      g_autoptr (WsbPeer) p = with_pid (known, pid);
      func (p, data);
      return NULL;
    }
  if (!under_way)
    under_way = g_hash_table_new (g_direct_hash, g_direct_equal);
  l = g_hash_table_lookup (under_way, GUINT_TO_POINTER (uid));
  if (!l)
    {
      g_autoptr (GTask) task = NULL;

      l = g_new0 (Lookup, 1);
      l->system = system;
      l->uid = uid;
      l->waits = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (under_way, GUINT_TO_POINTER (uid), l);
      task = g_task_new (NULL, NULL, on_looked_up, l);
      g_task_set_task_data (task, l, NULL);
      g_task_run_in_thread (task, look_up_in_thread);
    }
  w = g_new0 (WsbPeerWait, 1);
  w->func = func;
  w->data = data;
  w->pid = pid;
  g_ptr_array_add (l->waits, w);
  return w;
}

void
wsb_peer_wait_cancel (WsbPeerWait *w)
{
  if (w)
    w->func = NULL;
}

static void
kept_free (gpointer data)
{
  Kept *k = data;

  wsb_peer_unref (k->peer);
  g_free (k);
}

void
wsb_peer_forget (void)
{
  g_clear_pointer (&kept, g_hash_table_unref);
}
