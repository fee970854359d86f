/* libwebsockets' log lines, forwarded to GLib's log (domain "lws", at
 * debug level), and the error lws logs during one synchronous call.
 *
 * lws' API says "failed" where its log line says why (a plugin that did not
 * load, a socket it could not make). lws 4.1.6 hands its log emitter only
 * the level and the line, no context and no connection, so the capture
 * cannot be tied to a connection: it is bracketed around the one call that
 * failed instead (everything runs on the main loop's thread, so nothing else
 * logs in between). */
#pragma once

#include <glib.h>

/* Before lws_create_context: only errors and warnings unless verbose. */
void wsb_lws_log_init (gboolean verbose);

/* Start keeping the last error or warning lws logs. */
void wsb_lws_log_capture_begin (void);
/* Stop keeping; the last error or warning lws logged since the begin, or
 * NULL when there was none. */
char *wsb_lws_log_capture_end (void);
