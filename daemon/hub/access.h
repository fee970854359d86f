/* The bouncer: who may do what (DESIGN §4, wsbridge.conf(5) ACCESS
 * CONTROL). Every operation of the hub asks here, with the caller's
 * identity (peer.h); no frontend decides for itself. Pure: no I/O, no NSS
 * (the peer carries its names and groups).
 *
 * User instance: its own uid and root may do everything; nobody else
 * anything. System instance: root may do everything; others may use a
 * session (see it, read, subscribe, send, connect, disconnect, remove)
 * when its allow_users or allow_groups (default: group wsbridge) names
 * them, and create sessions when in [daemon] create_allow_groups or
 * admin_groups. A creator outside admin_groups may set only the keys the
 * key table lets any creator set (wsb_config_key_runtime), allow_users and
 * allow_groups naming only itself and its own groups, within
 * max_sessions_per_user; max_sessions bounds all sessions.
 *
 * A session the caller may not use is to it as one that does not exist:
 * the same NOT_FOUND error text, so that nothing about it leaks. */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "peer.h"

#define WSB_ACCESS_DEFAULT_GROUP "wsbridge"

typedef enum
{
  WSB_OP_LIST, /* see it among the sessions */
  WSB_OP_GET,  /* its status and properties */
  WSB_OP_SUBSCRIBE,
  WSB_OP_HISTORY,
  WSB_OP_SEND,
  WSB_OP_CONNECT,
  WSB_OP_DISCONNECT,
  WSB_OP_REMOVE,
  WSB_OP_CREATE,
  WSB_N_OPS,
} WsbOp;

typedef struct _WsbAccess WsbAccess;

/* owner: the user instance's uid. cfg's lists are copied. */
WsbAccess *wsb_access_new (gboolean system, uid_t owner, const WsbDaemonConfig *cfg);
void wsb_access_free (WsbAccess *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbAccess, wsb_access_free)

gboolean wsb_access_is_system (const WsbAccess *a);
const char *wsb_access_op_name (WsbOp op);

/* May peer do op (not WSB_OP_CREATE) on session? If not, error is what the
 * caller is told and *denied (may be NULL) why, for the log. */
gboolean wsb_access_check (const WsbAccess *a, const WsbPeer *peer, WsbOp op,
                           const WsbSessionConfig *session, GError **error, const char **denied);

/* May peer create a session with options keys[i]=values[i], holding `held`
 * runtime sessions of its own among `total` sessions? Errors name the key
 * or the limit and why. */
gboolean wsb_access_check_create (const WsbAccess *a, const WsbPeer *peer, const char *const *keys,
                                  const char *const *values, guint n_options, guint held,
                                  guint total, GError **error);

/* The uid that holds a session peer creates (its per-user count), or
 * (uid_t) -1 when it joins no count: root, the daemon, a user instance. */
uid_t wsb_access_holder (const WsbAccess *a, const WsbPeer *peer);

/* Whether uid may hold one more runtime session (at start-up, for the
 * persisted ones: `held` it holds, `total` sessions in all). */
gboolean wsb_access_within_caps (const WsbAccess *a, uid_t holder, guint held, guint total,
                                 GError **error);
