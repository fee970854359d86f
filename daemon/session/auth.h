/* Credentials gathered before every connect: token_file (read fresh each
 * time) and auth_command (run each time, 10 s limit, stdout lines
 * "Name: value" become handshake headers). Nothing here logs a secret. */
#pragma once

#include "config.h"

#define WSB_AUTH_COMMAND_TIMEOUT_S 10

typedef struct _WsbAuth WsbAuth;

/* headers: NULL-terminated "Name: value" list (transfer full) on success,
 * NULL on failure. error: why it failed, safe to show (no secret), or NULL. */
typedef void (*WsbAuthDone) (char **headers, const char *error, gpointer user_data);

/* TRUE when cfg has token_file or auth_command. */
gboolean wsb_auth_needed (const WsbSessionConfig *cfg);

/* Starts gathering; done is called exactly once, later, from the main loop,
 * unless wsb_auth_cancel is called first. strict_permissions (the system
 * instance) refuses a token_file readable by group or others. */
WsbAuth *wsb_auth_fetch (const WsbSessionConfig *cfg, gboolean strict_permissions, WsbAuthDone done,
                         gpointer user_data);

/* Stops it (killing a running auth_command); done is not called. */
void wsb_auth_cancel (WsbAuth *auth);
