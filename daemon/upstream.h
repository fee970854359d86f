/* The libwebsockets context, running on the GLib main loop through lws'
 * GLib event-lib plugin. Sessions create their connections through it. */
#pragma once

#include <gio/gio.h>

struct lws_context;

typedef struct _WsbUpstream WsbUpstream;

WsbUpstream *wsb_upstream_new (GMainLoop *loop, gboolean verbose, GError **error);
void wsb_upstream_free (WsbUpstream *up);
struct lws_context *wsb_upstream_get_context (WsbUpstream *up);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbUpstream, wsb_upstream_free)
