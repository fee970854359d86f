/* Where a notifier stopped, kept across its restarts: the epoch and seq of
 * the last message of a subscription that it showed (or reported missed),
 * one small key file per SESSION/CHANNEL under
 * $XDG_STATE_HOME/wsbridge/notify/. Only this file's functions touch it. */
#pragma once

#include <glib.h>

/* The file for session and channel in dir: "SESSION@CHANNEL.position" with
 * the channel percent-encoded (so "*" is "%2A" and no '/' is left). */
char *wsb_notify_position_path (const char *dir, const char *session, const char *channel);

/* Reads *epoch and *seq. FALSE with G_FILE_ERROR_NOENT when there is no
 * file, G_KEY_FILE_ERROR when it is damaged (the caller starts afresh). */
gboolean wsb_notify_position_load (const char *path, guint64 *epoch, guint64 *seq, GError **error);

/* Writes them atomically (a new file renamed over the old one), making the
 * directory when needed. */
gboolean wsb_notify_position_save (const char *path, guint64 epoch, guint64 seq, GError **error);
