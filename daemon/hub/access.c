#include "access.h"

#include <string.h>

#include "wsb-error.h"

struct _WsbAccess
{
  gboolean system;
  uid_t owner;
  char **create_groups;
  char **admin_groups;
  guint64 max_sessions;
  guint64 max_per_user;
};

WsbAccess *
wsb_access_new (gboolean system, uid_t owner, const WsbDaemonConfig *cfg)
{
  WsbAccess *a = g_new0 (WsbAccess, 1);

  a->system = system;
  a->owner = owner;
  a->create_groups = g_strdupv (cfg->create_allow_groups);
  a->admin_groups = g_strdupv (cfg->admin_groups);
  a->max_sessions = cfg->max_sessions;
  a->max_per_user = cfg->max_sessions_per_user;
  return a;
}

void
wsb_access_free (WsbAccess *a)
{
  if (!a)
    return;
  g_strfreev (a->create_groups);
  g_strfreev (a->admin_groups);
  g_free (a);
}

gboolean
wsb_access_is_system (const WsbAccess *a)
{
  return a->system;
}

const char *
wsb_access_op_name (WsbOp op)
{
  static const char *const names[WSB_N_OPS] = {
    [WSB_OP_LIST] = "list",
    [WSB_OP_GET] = "read the status of",
    [WSB_OP_SUBSCRIBE] = "subscribe to",
    [WSB_OP_HISTORY] = "read the history of",
    [WSB_OP_SEND] = "send on",
    [WSB_OP_CONNECT] = "connect",
    [WSB_OP_DISCONNECT] = "disconnect",
    [WSB_OP_REMOVE] = "remove",
    [WSB_OP_CREATE] = "create",
  };

  return op < WSB_N_OPS ? names[op] : "?";
}

static gboolean
in_any (const WsbPeer *peer, char *const *groups)
{
  for (guint i = 0; groups && groups[i]; i++)
    if (wsb_peer_in_group (peer, groups[i]))
      return TRUE;
  return FALSE;
}

/* Root, the daemon itself, or (on the system instance) admin_groups. */
static gboolean
is_admin (const WsbAccess *a, const WsbPeer *peer)
{
  return peer->kind == WSB_PEER_DAEMON || peer->uid == 0 || in_any (peer, a->admin_groups);
}

/* The user instance: its own uid and root, nobody else. */
static gboolean
user_instance_admits (const WsbAccess *a, const WsbPeer *peer, GError **error)
{
  if (peer->kind == WSB_PEER_DAEMON || peer->uid == 0 || peer->uid == a->owner)
    return TRUE;
  g_set_error_literal (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
                       "this wsbridged instance serves only its own user");
  return FALSE;
}

static gboolean
may_use (const WsbPeer *peer, const WsbSessionConfig *session)
{
  static char *const default_groups[] = { (char *) WSB_ACCESS_DEFAULT_GROUP, NULL };

  if (peer->kind == WSB_PEER_DAEMON || peer->uid == 0)
    return TRUE;
  for (guint i = 0; session->allow_users && session->allow_users[i]; i++)
    if (wsb_peer_is_user (peer, session->allow_users[i]))
      return TRUE;
  return in_any (peer, session->allow_groups ? session->allow_groups : default_groups);
}

gboolean
wsb_access_check (const WsbAccess *a, const WsbPeer *peer, WsbOp op,
                  const WsbSessionConfig *session, GError **error, const char **denied)
{
  g_return_val_if_fail (op != WSB_OP_CREATE && session, FALSE);
  if (!a->system)
    {
      if (denied)
        *denied = "the user instance serves only its own user";
      return user_instance_admits (a, peer, error);
    }
  if (may_use (peer, session))
    return TRUE;
  if (denied)
    *denied = "not in its allow_users or allow_groups";
  /* As for a session that does not exist (hub.c says the same). */
  g_set_error (error, WSB_ERROR, WSB_ERROR_NOT_FOUND, "no session named '%s'", session->name);
  return FALSE;
}

uid_t
wsb_access_holder (const WsbAccess *a, const WsbPeer *peer)
{
  if (!a->system || peer->kind == WSB_PEER_DAEMON || peer->uid == 0)
    return (uid_t) -1;
  return peer->uid;
}

gboolean
wsb_access_within_caps (const WsbAccess *a, uid_t holder, guint held, guint total, GError **error)
{
  if (total >= a->max_sessions)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_LIMIT_EXCEEDED,
                   "the daemon holds %u sessions, its max_sessions", total);
      return FALSE;
    }
  if (a->system && holder != (uid_t) -1 && held >= a->max_per_user)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_LIMIT_EXCEEDED,
                   "uid %u holds %u sessions, its max_sessions_per_user", (guint) holder, held);
      return FALSE;
    }
  return TRUE;
}

/* allow_users or allow_groups as a creator outside admin_groups may set
 * them: naming itself, or groups it is in. */
static gboolean
names_only_own (const WsbPeer *peer, const char *key, const char *value, GError **error)
{
  gboolean users = g_str_equal (key, "allow_users");
  g_auto (GStrv) entries = g_strsplit (value, ";", -1);

  for (guint i = 0; entries[i]; i++)
    {
      const char *e = g_strstrip (entries[i]);

      if (!*e || (users ? wsb_peer_is_user (peer, e) : wsb_peer_in_group (peer, e)))
        continue;
      g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
                   users ? "key 'allow_users' may name only yourself (uid %u) unless root or "
                           "admin_groups sets it; '%s' is another user"
                         : "key 'allow_groups' may name only groups uid %u is in unless root or "
                           "admin_groups sets it; '%s' is not one of them",
                   (guint) peer->uid, e);
      return FALSE;
    }
  return TRUE;
}

gboolean
wsb_access_check_create (const WsbAccess *a, const WsbPeer *peer, const char *const *keys,
                         const char *const *values, guint n_options, guint held, guint total,
                         GError **error)
{
  gboolean admin;

  if (!a->system)
    {
      if (!user_instance_admits (a, peer, error))
        return FALSE;
      return wsb_access_within_caps (a, (uid_t) -1, held, total, error);
    }
  admin = is_admin (a, peer);
  if (!admin && !in_any (peer, a->create_groups))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
                   "uid %u may not create sessions (root, [daemon] create_allow_groups and "
                   "admin_groups may)",
                   (guint) peer->uid);
      return FALSE;
    }
  if (!wsb_access_within_caps (a, wsb_access_holder (a, peer), held, total, error))
    return FALSE;
  if (admin)
    return TRUE;
  for (guint i = 0; i < n_options; i++)
    switch (wsb_config_key_runtime (keys[i]))
      {
        case WSB_KEY_RUNTIME_ANY:
          break;
        case WSB_KEY_RUNTIME_OWN:
          if (!names_only_own (peer, keys[i], values[i], error))
            return FALSE;
          break;
        case WSB_KEY_RUNTIME_ADMIN:
          if (!wsb_config_is_session_key (keys[i]))
            break; /* unknown: the configuration code says so */
          g_set_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED,
                       "key '%s' may be set at runtime only by root or admin_groups (it makes the "
                       "daemon %s)",
                       keys[i],
                       g_str_equal (keys[i], "auth_command") ? "run a command" : "read a file");
          return FALSE;
      }
  return TRUE;
}
