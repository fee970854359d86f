/* access.c, the bouncer: one table of caller kinds × operations × session
 * lists → allowed or the exact error; the create rules (who, which keys,
 * the caps). peer.c: a peer's names and groups are looked up in a worker
 * thread, kept, and handed to the main loop. The reentrant NSS functions
 * peer.c calls are wrapped here (this executable's definitions come before
 * libc's) to count the lookups, note their thread, and answer for made-up
 * users, whatever this machine's /etc/passwd holds. */
#define _GNU_SOURCE
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "access.h"
#include "config.h"
#include "peer.h"
#include "test-util.h"
#include "wsb-error.h"

#define ALICE_UID 41001 /* groups wsbtest-users (primary), wsbtest-staff */
#define BOB_UID 41002   /* group wsbtest-users only */
#define USER_GID 41000
#define STAFF_GID 41100
#define WSBRIDGE_GID 41200 /* a group named "wsbridge" */
#define CAROL_UID 41003    /* groups wsbtest-users, wsbridge */
#define OWNER_UID 1000     /* the user instance's */

static guint lookups;
static GThread *lookup_thread;

int
getpwuid_r (uid_t uid, struct passwd *pw, char *buf, size_t len, struct passwd **out)
{
  lookups++;
  lookup_thread = g_thread_self ();
  memset (pw, 0, sizeof *pw);
  *out = NULL;
  if (uid != ALICE_UID && uid != BOB_UID)
    return 0;
  g_strlcpy (buf, uid == ALICE_UID ? "wsbtest-alice" : "wsbtest-bob", len);
  pw->pw_name = buf;
  pw->pw_uid = uid;
  pw->pw_gid = USER_GID;
  *out = pw;
  return 0;
}

int
getgrouplist (const char *user, gid_t group, gid_t *groups, int *ngroups)
{
  int n = 0;

  groups[n++] = group;
  if (strcmp (user, "wsbtest-alice") == 0)
    groups[n++] = STAFF_GID;
  *ngroups = n;
  return n;
}

int
getgrgid_r (gid_t gid, struct group *gr, char *buf, size_t len, struct group **out)
{
  memset (gr, 0, sizeof *gr);
  *out = NULL;
  if (gid != USER_GID && gid != STAFF_GID)
    return 0;
  g_strlcpy (buf, gid == USER_GID ? "wsbtest-users" : "wsbtest-staff", len);
  gr->gr_name = buf;
  gr->gr_gid = gid;
  *out = gr;
  return 0;
}

/* ------------------------------------------------------ caller kinds */

typedef enum
{
  ROOT,
  ALICE,    /* in wsbtest-staff, by name */
  BOB,      /* listed by uid */
  CAROL,    /* in the default group wsbridge */
  OUTSIDER, /* in nothing */
  DAEMON,
  OWNER,    /* a user instance's own user */
  STRANGER, /* another user, on a user instance */
  N_KINDS,
} Kind;

static WsbPeer *
make_peer (Kind kind)
{
  static const gid_t user_staff[] = { USER_GID, STAFF_GID };
  static const char *const user_staff_names[] = { "wsbtest-users", "wsbtest-staff" };
  static const gid_t user_wsbridge[] = { USER_GID, WSBRIDGE_GID };
  static const char *const user_wsbridge_names[] = { "wsbtest-users", "wsbridge" };
  static const gid_t user[] = { USER_GID };
  static const char *const user_names[] = { "wsbtest-users" };

  switch (kind)
    {
      case ROOT:
        return wsb_peer_new (TRUE, 0, 1, "root", NULL, NULL, 0);
      case ALICE:
        return wsb_peer_new (TRUE, ALICE_UID, 2, "wsbtest-alice", user_staff, user_staff_names, 2);
      case BOB:
        return wsb_peer_new (TRUE, BOB_UID, 3, "wsbtest-bob", user, user_names, 1);
      case CAROL:
        return wsb_peer_new (TRUE, CAROL_UID, 4, "wsbtest-carol", user_wsbridge,
                             user_wsbridge_names, 2);
      case OUTSIDER:
        return wsb_peer_new (TRUE, 41009, 5, "wsbtest-outsider", user, user_names, 1);
      case DAEMON:
        return wsb_peer_ref ((WsbPeer *) wsb_peer_daemon ());
      case OWNER:
        return wsb_peer_new (FALSE, OWNER_UID, 6, NULL, NULL, NULL, 0);
      case STRANGER:
        return wsb_peer_new (FALSE, 41009, 7, NULL, NULL, NULL, 0);
      case N_KINDS:
        break;
    }
  g_assert_not_reached ();
}

typedef enum
{
  LISTS_DEFAULT, /* none given: group wsbridge */
  LISTS_GROUP_NAME,
  LISTS_GROUP_ID,
  LISTS_USER_NAME,
  LISTS_USER_ID,
  N_LISTS,
} Lists;

static WsbSessionConfig *
make_session (Lists lists)
{
  WsbSessionConfig *s = wsb_session_config_new_default ("feed");
  const char *users = NULL, *groups = NULL;

  switch (lists)
    {
      case LISTS_DEFAULT:
        break;
      case LISTS_GROUP_NAME:
        groups = "wsbtest-staff";
        break;
      case LISTS_GROUP_ID:
        groups = "41100";
        break;
      case LISTS_USER_NAME:
        users = "wsbtest-alice";
        break;
      case LISTS_USER_ID:
        users = "41002";
        break;
      case N_LISTS:
        g_assert_not_reached ();
    }
  s->allow_users = users ? g_strsplit (users, ";", -1) : NULL;
  s->allow_groups = groups ? g_strsplit (groups, ";", -1) : NULL;
  return s;
}

static const char *const DENY_SYSTEM = "NOT_FOUND: no session named 'feed'";
static const char *const DENY_USER
    = "ACCESS_DENIED: this wsbridged instance serves only its own user";

/* Expected answer: NULL allowed, else the error as "CODE: message". */
static const char *
expected (Kind kind, Lists lists)
{
  static const gboolean allowed[N_KINDS][N_LISTS] = {
    /*              default group-name group-id user-name user-id */
    [ROOT] = { TRUE, TRUE, TRUE, TRUE, TRUE },
    [ALICE] = { FALSE, TRUE, TRUE, TRUE, FALSE },
    [BOB] = { FALSE, FALSE, FALSE, FALSE, TRUE },
    [CAROL] = { TRUE, FALSE, FALSE, TRUE, TRUE }, /* allow_groups unset: wsbridge */
    [OUTSIDER] = { FALSE, FALSE, FALSE, FALSE, FALSE },
    [DAEMON] = { TRUE, TRUE, TRUE, TRUE, TRUE },
    [OWNER] = { TRUE, TRUE, TRUE, TRUE, TRUE },
    [STRANGER] = { FALSE, FALSE, FALSE, FALSE, FALSE },
  };

  if (allowed[kind][lists])
    return NULL;
  return kind == STRANGER ? DENY_USER : DENY_SYSTEM;
}

static char *
error_text (const GError *error)
{
  static const char *const codes[] = {
    [WSB_ERROR_NOT_FOUND] = "NOT_FOUND",
    [WSB_ERROR_ACCESS_DENIED] = "ACCESS_DENIED",
    [WSB_ERROR_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
  };

  g_assert_true (error->domain == WSB_ERROR);
  g_assert_true ((gsize) error->code < G_N_ELEMENTS (codes) && codes[error->code]);
  return g_strdup_printf ("%s: %s", codes[error->code], error->message);
}

/* Every kind × every session operation × every list: the same answer for
 * every operation, and the exact error. */
static void
test_session_table (void)
{
  g_autoptr (WsbConfig) defaults = wsb_config_new ();
  g_autoptr (WsbAccess) sys = wsb_access_new (TRUE, 0, &defaults->daemon);
  g_autoptr (WsbAccess) user = wsb_access_new (FALSE, OWNER_UID, &defaults->daemon);

  for (Kind k = 0; k < N_KINDS; k++)
    for (Lists l = 0; l < N_LISTS; l++)
      for (WsbOp op = 0; op < WSB_N_OPS; op++)
        {
          g_autoptr (WsbPeer) peer = make_peer (k);
          g_autoptr (WsbSessionConfig) session = make_session (l);
          g_autoptr (GError) error = NULL;
          const char *want = expected (k, l), *denied = NULL;
          gboolean ok;

          if (op == WSB_OP_CREATE)
            continue;
          ok = wsb_access_check (peer->system || k == DAEMON ? sys : user, peer, op, session,
                                 &error, &denied);
          g_test_message ("kind %d lists %d op %d: %s", k, l, op, ok ? "allowed" : "refused");
          if (k == DAEMON)
            g_assert_true (wsb_access_check (user, peer, op, session, NULL, NULL));
          if (!want)
            {
              g_assert_true (ok);
              g_assert_no_error (error);
            }
          else
            {
              g_autofree char *got = NULL;

              g_assert_false (ok);
              got = error_text (error);
              g_assert_cmpstr (got, ==, want);
              g_assert_nonnull (denied);
            }
        }
}

typedef struct
{
  Kind kind;
  const char *keys; /* "k=v|k=v" */
  guint held, total;
  const char *want; /* NULL: allowed */
} CreateCase;

static void
test_create_table (void)
{
  static const CreateCase cases[] = {
    { ROOT, "auth_command=/bin/true|allow_groups=root", 100, 5, NULL },
    { ALICE, "", 0, 5, NULL }, /* wsbtest-staff creates */
    { ALICE, "headers=X: y|origin=o|proxy=none", 0, 5, NULL },
    { ALICE, "allow_users=wsbtest-alice;41001", 0, 5, NULL },
    { ALICE, "allow_groups=wsbtest-staff;41000", 0, 5, NULL },
    { ALICE, "token_file=/etc/shadow", 0, 5,
      "ACCESS_DENIED: key 'token_file' may be set at runtime only by root or admin_groups "
      "(it makes the daemon read a file)" },
    { ALICE, "auth_command=cat /etc/wsbridge/wsbridge.conf", 0, 5,
      "ACCESS_DENIED: key 'auth_command' may be set at runtime only by root or admin_groups "
      "(it makes the daemon run a command)" },
    { ALICE, "tls_ca_file=/root/ca.pem", 0, 5,
      "ACCESS_DENIED: key 'tls_ca_file' may be set at runtime only by root or admin_groups "
      "(it makes the daemon read a file)" },
    { ALICE, "tls_cert_file=/root/c.pem", 0, 5,
      "ACCESS_DENIED: key 'tls_cert_file' may be set at runtime only by root or admin_groups "
      "(it makes the daemon read a file)" },
    { ALICE, "tls_key_file=/root/k.pem", 0, 5,
      "ACCESS_DENIED: key 'tls_key_file' may be set at runtime only by root or admin_groups "
      "(it makes the daemon read a file)" },
    { ALICE, "allow_groups=root", 0, 5,
      "ACCESS_DENIED: key 'allow_groups' may name only groups uid 41001 is in unless root or "
      "admin_groups sets it; 'root' is not one of them" },
    { ALICE, "allow_users=wsbtest-alice;0", 0, 5,
      "ACCESS_DENIED: key 'allow_users' may name only yourself (uid 41001) unless root or "
      "admin_groups sets it; '0' is another user" },
    { ALICE, "", 32, 40, "LIMIT_EXCEEDED: uid 41001 holds 32 sessions, its max_sessions_per_user" },
    { ALICE, "", 0, 10000, "LIMIT_EXCEEDED: the daemon holds 10000 sessions, its max_sessions" },
    { ROOT, "", 0, 10000, "LIMIT_EXCEEDED: the daemon holds 10000 sessions, its max_sessions" },
    { CAROL, "auth_command=/bin/true", 0, 5, NULL }, /* in admin_groups */
    { BOB, "", 0, 5,
      "ACCESS_DENIED: uid 41002 may not create sessions (root, [daemon] create_allow_groups and "
      "admin_groups may)" },
    { OWNER, "auth_command=/bin/true", 0, 5, NULL },
    { STRANGER, "", 0, 5, "ACCESS_DENIED: this wsbridged instance serves only its own user" },
  };
  g_autoptr (WsbConfig) cfg = wsb_config_new ();
  g_autoptr (WsbAccess) sys = NULL;
  g_autoptr (WsbAccess) user = NULL;

  cfg->daemon.create_allow_groups = g_strsplit ("wsbtest-staff", ";", -1);
  cfg->daemon.admin_groups = g_strsplit ("wsbridge", ";", -1);
  sys = wsb_access_new (TRUE, 0, &cfg->daemon);
  user = wsb_access_new (FALSE, OWNER_UID, &cfg->daemon);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const CreateCase *c = &cases[i];
      g_autoptr (WsbPeer) peer = make_peer (c->kind);
      g_auto (GStrv) pairs = *c->keys ? g_strsplit (c->keys, "|", -1) : g_new0 (char *, 1);
      g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) error = NULL;
      gboolean ok;

      for (guint k = 0; pairs[k]; k++)
        {
          char *eq = strchr (pairs[k], '=');
          g_ptr_array_add (keys, g_strndup (pairs[k], (gsize) (eq - pairs[k])));
          g_ptr_array_add (values, g_strdup (eq + 1));
        }
      ok = wsb_access_check_create (
          peer->system ? sys : user, peer, (const char *const *) keys->pdata,
          (const char *const *) values->pdata, keys->len, c->held, c->total, &error);
      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, c->keys);
      if (!c->want)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_autofree char *got = NULL;

          g_assert_false (ok);
          got = error_text (error);
          g_assert_cmpstr (got, ==, c->want);
        }
    }
}

/* The key table's column: what makes the daemon read a file or run a
 * command is for admins; the lists for oneself. */
static void
test_key_column (void)
{
  g_assert_cmpint (wsb_config_key_runtime ("token_file"), ==, WSB_KEY_RUNTIME_ADMIN);
  g_assert_cmpint (wsb_config_key_runtime ("auth_command"), ==, WSB_KEY_RUNTIME_ADMIN);
  g_assert_cmpint (wsb_config_key_runtime ("tls_key_file"), ==, WSB_KEY_RUNTIME_ADMIN);
  g_assert_cmpint (wsb_config_key_runtime ("allow_users"), ==, WSB_KEY_RUNTIME_OWN);
  g_assert_cmpint (wsb_config_key_runtime ("allow_groups"), ==, WSB_KEY_RUNTIME_OWN);
  g_assert_cmpint (wsb_config_key_runtime ("headers"), ==, WSB_KEY_RUNTIME_ANY);
  g_assert_cmpint (wsb_config_key_runtime ("no_such_key"), ==, WSB_KEY_RUNTIME_ADMIN);
}

/* ------------------------------------------------------------ peer.c */

static void
on_peer (WsbPeer *peer, gpointer data)
{
  WsbPeer **out = data;

  *out = wsb_peer_ref (peer);
}

static gboolean
peer_arrived (gpointer data)
{
  return *(WsbPeer **) data != NULL;
}

static WsbPeer *
lookup_and_wait (uid_t uid, pid_t pid, gboolean *waited)
{
  WsbPeer *got = NULL;
  WsbPeerWait *w = wsb_peer_lookup (TRUE, uid, pid, on_peer, &got);

  *waited = w != NULL;
  g_assert_true (wsb_test_iterate_until (peer_arrived, &got, 10000));
  return got;
}

static void
test_peer_lookup (void)
{
  g_autoptr (WsbPeer) first = NULL;
  g_autoptr (WsbPeer) second = NULL;
  g_autoptr (WsbPeer) root = NULL;
  gboolean waited;

  wsb_peer_forget ();
  lookups = 0;
  first = lookup_and_wait (ALICE_UID, 10, &waited);
  g_assert_true (waited);
  g_assert_cmpuint (lookups, ==, 1);
  g_assert_true (lookup_thread != g_thread_self ()); /* never on the main loop */
  g_assert_cmpstr (first->user, ==, "wsbtest-alice");
  g_assert_cmpint (first->pid, ==, 10);
  g_assert_cmpuint (first->n_groups, ==, 2);
  g_assert_true (wsb_peer_in_group (first, "wsbtest-staff"));
  g_assert_true (wsb_peer_in_group (first, "41000"));
  g_assert_false (wsb_peer_in_group (first, "wsbridge"));
  g_assert_true (wsb_peer_is_user (first, "41001"));

  /* Kept: the next one is answered at once, with its own pid. */
  second = lookup_and_wait (ALICE_UID, 11, &waited);
  g_assert_false (waited);
  g_assert_cmpuint (lookups, ==, 1);
  g_assert_cmpint (second->pid, ==, 11);

  /* Root needs no lookup. */
  root = lookup_and_wait (0, 12, &waited);
  g_assert_false (waited);
  g_assert_cmpuint (lookups, ==, 1);

  /* Forgotten at a reload: asked again. */
  wsb_peer_forget ();
  g_clear_pointer (&second, wsb_peer_unref);
  second = lookup_and_wait (ALICE_UID, 13, &waited);
  g_assert_true (waited);
  g_assert_cmpuint (lookups, ==, 2);
  wsb_peer_forget ();
}

/* A wait cancelled (its client left) is never called; the answer is kept. */
static void
test_peer_cancel (void)
{
  WsbPeer *never = NULL;
  g_autoptr (WsbPeer) later = NULL;
  gboolean waited;
  WsbPeerWait *w;

  wsb_peer_forget ();
  lookups = 0;
  w = wsb_peer_lookup (TRUE, BOB_UID, 20, on_peer, &never);
  g_assert_nonnull (w);
  wsb_peer_wait_cancel (w);
  later = lookup_and_wait (BOB_UID, 21, &waited);
  g_assert_true (waited); /* joined the lookup under way */
  g_assert_null (never);
  g_assert_cmpuint (lookups, ==, 1);
  g_assert_cmpstr (later->user, ==, "wsbtest-bob");
  wsb_peer_forget ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/access/session-table", test_session_table);
  g_test_add_func ("/access/create-table", test_create_table);
  g_test_add_func ("/access/key-column", test_key_column);
  g_test_add_func ("/peer/lookup", test_peer_lookup);
  g_test_add_func ("/peer/cancel", test_peer_cancel);
  return g_test_run ();
}
