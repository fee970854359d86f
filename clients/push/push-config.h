/* push.conf ($XDG_CONFIG_HOME/wsbridge/push.conf): a key file with one
 * [push] group. Keys, their defaults and ranges are one table in
 * push-config.c; an unknown key is a warning, a bad value an error naming
 * the key. */
#pragma once

#include <glib.h>

typedef struct
{
  char *server;               /* normalized (push-ntfy.h), NULL when not configured */
  char *token_file;           /* absolute, or NULL */
  guint retry_initial_ms;     /* first retry of an undelivered message */
  guint retry_attempts;       /* deliveries tried before a message is dropped */
  guint max_pending_messages; /* per app: undelivered messages kept */
  guint max_pending_bytes;    /* per app: their bytes */
} WsbPushConfig;

void wsb_push_config_clear (WsbPushConfig *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsbPushConfig, wsb_push_config_clear)

/* The defaults; then PATH when it exists. FALSE with an error naming the
 * file and key for a file that is there but wrong. */
gboolean wsb_push_config_load (WsbPushConfig *c, const char *path, GError **error);

/* The file of the user: $XDG_CONFIG_HOME/wsbridge/push.conf. */
char *wsb_push_config_default_path (void);
