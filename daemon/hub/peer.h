/* Who is calling: one WsbPeer per caller of the hub, built the same way for
 * both frontends. The kernel vouches for the uid and pid (SO_PEERCRED on the
 * socket, the bus's GetConnectionCredentials on D-Bus); the user's name and
 * groups come from the user database (NSS: passwd and group), never from
 * the process's current gid, so one user gets one answer on every frontend.
 *
 * NSS can take seconds (a directory service), so lookups run in a worker
 * thread and their answers are kept for up to WSB_PEER_CACHE_SECONDS; the
 * main loop never waits on them. A peer is immutable and refcounted. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define WSB_PEER_CACHE_SECONDS 30

typedef enum
{
  WSB_PEER_CALLER, /* a local client, identified as above */
  WSB_PEER_DAEMON, /* the daemon itself (its own bookkeeping): may do everything */
} WsbPeerKind;

typedef struct
{
  gint ref;
  WsbPeerKind kind;
  gboolean system; /* the instance it talks to: TRUE for the system instance */
  uid_t uid;
  pid_t pid;  /* 0 when unknown */
  char *user; /* the uid's name, NULL when the user database has none */
  guint n_groups;
  gid_t *groups;      /* the uid's groups, its primary group first */
  char **group_names; /* n_groups names, "" where a group has none */
} WsbPeer;

/* A peer whose groups are given (the caller looked them up, or a test
 * makes one up); group_names may be NULL (then all ""). */
WsbPeer *wsb_peer_new (gboolean system, uid_t uid, pid_t pid, const char *user, const gid_t *groups,
                       const char *const *group_names, guint n_groups);
/* The daemon's own peer (one per process). */
const WsbPeer *wsb_peer_daemon (void);
WsbPeer *wsb_peer_ref (WsbPeer *p);
void wsb_peer_unref (WsbPeer *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPeer, wsb_peer_unref)

/* TRUE when the peer is in group gid, or in a group called name. */
gboolean wsb_peer_in_group (const WsbPeer *p, const char *entry);
/* TRUE when entry (a user name or a uid in decimal) names the peer. */
gboolean wsb_peer_is_user (const WsbPeer *p, const char *entry);

typedef void (*WsbPeerFunc) (WsbPeer *peer, gpointer data);
typedef struct _WsbPeerWait WsbPeerWait;

/* Calls func with the peer of uid/pid, on the main loop: at once (returning
 * NULL) when the answer is kept, or a user database is not needed (root,
 * which may do everything, and callers of a user instance, which admits one
 * uid); else once a worker thread has looked it up (returning a wait that
 * wsb_peer_wait_cancel may cancel until func runs). */
WsbPeerWait *wsb_peer_lookup (gboolean system, uid_t uid, pid_t pid, WsbPeerFunc func,
                              gpointer data);
void wsb_peer_wait_cancel (WsbPeerWait *w);

/* Drops the kept answers (at a reload, and at exit). Lookups under way
 * still answer their callers. */
void wsb_peer_forget (void);
