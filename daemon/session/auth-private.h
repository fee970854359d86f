/* Test-only hooks into auth.c; the daemon never includes this. */
#pragma once

#include <glib.h>

/* Replaces WSB_AUTH_COMMAND_TIMEOUT_S so the timeout test runs in a second. */
void wsb_auth_set_timeout_for_tests (guint seconds);
