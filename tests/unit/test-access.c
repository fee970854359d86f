/* access.c: who may use a session or create one on the system instance,
 * and that its NSS answers are kept rather than asked for at every
 * request. The NSS functions the daemon calls are wrapped here (this
 * executable's definitions come before libc's) to count the lookups and to
 * answer for two made-up users and a group, whatever this machine's
 * /etc/passwd holds; everything else goes to libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

#include "access.h"
#include "config.h"
#include "wsb-error.h"

#define ALICE_UID 41001 /* in group wsbtest-staff (supplementary) */
#define BOB_UID 41002   /* in no group but his own */
#define USER_GID 41000
#define STAFF_GID 41100

static guint lookups;

static struct passwd alice = { .pw_name = "wsbtest-alice", .pw_uid = ALICE_UID, .pw_gid = USER_GID };
static struct passwd bob = { .pw_name = "wsbtest-bob", .pw_uid = BOB_UID, .pw_gid = USER_GID };
static struct group staff = { .gr_name = "wsbtest-staff", .gr_gid = STAFF_GID };

struct passwd *
getpwuid (uid_t uid)
{
  static struct passwd *(*real) (uid_t);

  lookups++;
  if (uid == ALICE_UID)
    return &alice;
  if (uid == BOB_UID)
    return &bob;
  if (!real)
    real = (struct passwd * (*) (uid_t)) dlsym (RTLD_NEXT, "getpwuid");
  return real (uid);
}

struct passwd *
getpwnam (const char *name)
{
  static struct passwd *(*real) (const char *);

  lookups++;
  if (strcmp (name, alice.pw_name) == 0)
    return &alice;
  if (strcmp (name, bob.pw_name) == 0)
    return &bob;
  if (!real)
    real = (struct passwd * (*) (const char *)) dlsym (RTLD_NEXT, "getpwnam");
  return real (name);
}

struct group *
getgrnam (const char *name)
{
  static struct group *(*real) (const char *);

  lookups++;
  if (strcmp (name, staff.gr_name) == 0)
    return &staff;
  if (!real)
    real = (struct group * (*) (const char *)) dlsym (RTLD_NEXT, "getgrnam");
  return real (name);
}

int
getgrouplist (const char *user, gid_t group, gid_t *groups, int *ngroups)
{
  static int (*real) (const char *, gid_t, gid_t *, int *);
  int n = 0;

  lookups++;
  if (strcmp (user, alice.pw_name) != 0 && strcmp (user, bob.pw_name) != 0)
    {
      if (!real)
        real = (int (*) (const char *, gid_t, gid_t *, int *)) dlsym (RTLD_NEXT, "getgrouplist");
      return real (user, group, groups, ngroups);
    }
  if (*ngroups < 2)
    return -1;
  groups[n++] = group;
  if (strcmp (user, alice.pw_name) == 0)
    groups[n++] = STAFF_GID;
  *ngroups = n;
  return n;
}

static WsbSessionConfig *
session (const char *users, const char *groups)
{
  WsbSessionConfig *cfg = g_new0 (WsbSessionConfig, 1);

  cfg->name = g_strdup ("feed");
  cfg->allow_users = users ? g_strsplit (users, ",", -1) : NULL;
  cfg->allow_groups = groups ? g_strsplit (groups, ",", -1) : NULL;
  return cfg;
}

static void
session_free (WsbSessionConfig *cfg)
{
  g_free (cfg->name);
  g_strfreev (cfg->allow_users);
  g_strfreev (cfg->allow_groups);
  g_free (cfg);
}

static void
test_users_groups_and_root (void)
{
  WsbSessionConfig *by_name = session ("wsbtest-bob", "wsbtest-staff");
  WsbSessionConfig *by_id = session ("41002", "41100");
  WsbSessionConfig *nobody = session ("no-such-user-wsbtest", "no-such-group-wsbtest");
  g_autoptr (GError) error = NULL;

  wsb_access_forget ();
  for (guint i = 0; i < 2; i++)
    {
      WsbSessionConfig *cfg = i ? by_id : by_name;
      g_assert_true (wsb_access_session_allowed (cfg, BOB_UID, USER_GID, NULL));   /* listed */
      g_assert_true (wsb_access_session_allowed (cfg, ALICE_UID, USER_GID, NULL)); /* staff */
      g_assert_true (wsb_access_session_allowed (cfg, 0, 0, NULL));                /* root */
      g_assert_true (wsb_access_session_allowed (cfg, 41003, STAFF_GID, NULL)); /* primary */
      g_assert_false (wsb_access_session_allowed (cfg, 41003, USER_GID, &error));
      g_assert_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED);
      g_assert_nonnull (strstr (error->message, "uid 41003 may not use session 'feed'"));
      g_clear_error (&error);
    }
  g_assert_false (wsb_access_session_allowed (nobody, ALICE_UID, USER_GID, NULL));
  g_assert_true (wsb_access_session_allowed (nobody, 0, 0, NULL));
  session_free (by_name);
  session_free (by_id);
  session_free (nobody);
}

static void
test_create (void)
{
  WsbDaemonConfig cfg = { 0 };
  char *groups[] = { "wsbtest-staff", NULL };
  g_autoptr (GError) error = NULL;

  wsb_access_forget ();
  g_assert_false (wsb_access_create_allowed (&cfg, ALICE_UID, USER_GID, &error));
  g_assert_error (error, WSB_ERROR, WSB_ERROR_ACCESS_DENIED);
  g_assert_nonnull (strstr (error->message, "create_allow_groups"));
  g_clear_error (&error);
  cfg.create_allow_groups = groups;
  g_assert_true (wsb_access_create_allowed (&cfg, ALICE_UID, USER_GID, NULL));
  g_assert_false (wsb_access_create_allowed (&cfg, BOB_UID, USER_GID, NULL));
  g_assert_true (wsb_access_create_allowed (&cfg, 0, 0, NULL));
}

/* The second and later checks ask NSS nothing, for names found and names
 * not found alike, until the answers are forgotten. */
static void
test_answers_are_kept (void)
{
  WsbSessionConfig *cfg = session ("wsbtest-bob,no-such-user-wsbtest", "no-such-group-wsbtest,wsbtest-staff");
  guint first;

  wsb_access_forget ();
  lookups = 0;
  g_assert_true (wsb_access_session_allowed (cfg, ALICE_UID, USER_GID, NULL));
  g_assert_false (wsb_access_session_allowed (cfg, 41003, USER_GID, NULL));
  first = lookups;
  g_assert_cmpuint (first, >, 0);
  for (guint i = 0; i < 1000; i++)
    {
      g_assert_true (wsb_access_session_allowed (cfg, ALICE_UID, USER_GID, NULL));
      g_assert_false (wsb_access_session_allowed (cfg, 41003, USER_GID, NULL));
    }
  g_assert_cmpuint (lookups, ==, first);
  wsb_access_forget ();
  g_assert_true (wsb_access_session_allowed (cfg, ALICE_UID, USER_GID, NULL));
  g_assert_cmpuint (lookups, >, first);
  session_free (cfg);
}

/* However many callers come, the cache stays bounded and right. */
static void
test_many_callers (void)
{
  WsbSessionConfig *cfg = session (NULL, "wsbtest-staff");

  wsb_access_forget ();
  for (uid_t uid = 50000; uid < 60000; uid++)
    {
      g_assert_false (wsb_access_session_allowed (cfg, uid, USER_GID, NULL));
      g_assert_true (wsb_access_session_allowed (cfg, uid, STAFF_GID, NULL));
    }
  g_assert_true (wsb_access_session_allowed (cfg, ALICE_UID, USER_GID, NULL));
  session_free (cfg);
  wsb_access_forget ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/access/users-groups-and-root", test_users_groups_and_root);
  g_test_add_func ("/access/create", test_create);
  g_test_add_func ("/access/answers-are-kept", test_answers_are_kept);
  g_test_add_func ("/access/many-callers", test_many_callers);
  return g_test_run ();
}
