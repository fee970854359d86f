/* Who may use what (DESIGN §4). The user instance serves only its own uid
 * and root, checked when a client connects. The system instance lets any
 * local user connect and checks each request here: a session's
 * allow_users/allow_groups (default: group wsbridge), and [daemon]
 * create_allow_groups for creating sessions at runtime. Root may do
 * everything. Names are looked up through NSS (getpwnam, getgrnam,
 * getgrouplist), and the answers kept for up to 30 s (access.c). */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "session-store.h"

#define WSB_ACCESS_DEFAULT_GROUP "wsbridge"

gboolean wsb_access_session_allowed (const WsbSessionConfig *cfg, uid_t uid, gid_t gid,
                                     GError **error);
gboolean wsb_access_create_allowed (const WsbDaemonConfig *cfg, uid_t uid, gid_t gid,
                                    GError **error);

/* Who joins the allow_users of a session that uid creates on the system
 * instance (session-store.h): the creator, unless it is root, who may use
 * every session anyway. */
uid_t wsb_access_creator (uid_t uid);

/* Drops the NSS answers kept (at a reload, and at exit). */
void wsb_access_forget (void);
