/* Log lines about one session carry the journal field WSBRIDGE_SESSION=NAME,
 * so that "journalctl WSBRIDGE_SESSION=NAME" shows that session alone.
 * GLib's default writer sends the fields to the journal when stderr is the
 * journal (systemd services) and prints the message alone otherwise, so
 * the message names the session too ("NAME: ..."). */
#pragma once

#include <glib.h>

#define WSB_LOG_FIELD_SESSION "WSBRIDGE_SESSION"

#define wsb_session_log(name, level, ...)                                                          \
  g_log_structured (G_LOG_DOMAIN, level, WSB_LOG_FIELD_SESSION, (name), "MESSAGE", __VA_ARGS__)

/* A warning that may repeat fast (every accept, every connect attempt):
 * logged the first time, then at most once a minute with the count of the
 * repeats in between. One WsbLogLimit (zeroed) per kind of message. */
typedef struct
{
  gint64 last_us; /* when it was last logged; 0: never */
  guint64 repeats;
} WsbLogLimit;

#define WSB_LOG_LIMIT_SECONDS 60

void wsb_log_limited (WsbLogLimit *l, GLogLevelFlags level, const char *fmt, ...)
    G_GNUC_PRINTF (3, 4);
