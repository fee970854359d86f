/* Sessions created at runtime as key-file text, and the files of the
 * persisted ones (CONFIG/sessions.d/NAME.conf, marked as the daemon's so
 * that removing them never deletes a file a person wrote). */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* No creator to add to allow_users (see wsb_session_store_text). */
#define WSB_NO_CREATOR ((uid_t) -1)

/* A bare [session] group with url and keys[i]=values[i] as a file would
 * hold them (lists separated by ';'). Unknown keys, url among the options,
 * a key given twice and line breaks in values are refused; the values are
 * never quoted in an error. The caller validates the text with the
 * configuration code. A creator other than WSB_NO_CREATOR (a user who is
 * not root, creating on the system instance) joins allow_users by uid, so
 * that whoever creates a session may use it. */
char *wsb_session_store_text (const char *name, const char *url, const char *const *keys,
                              const char *const *values, guint n_options, uid_t creator,
                              GError **error);
char *wsb_session_store_path (const char *config_dir, const char *name);
/* Writes text to path (mode 0600, fsynced, atomically), making sessions.d. */
gboolean wsb_session_store_write (const char *path, const char *text, GError **error);
/* TRUE when path is a file this daemon wrote for a persisted session. */
gboolean wsb_session_store_owns (const char *path);
/* The creator that the file of a persisted session names (its first line),
 * or WSB_NO_CREATOR. */
uid_t wsb_session_store_creator (const char *path);
