/* The libwebsockets context, running on the GLib main loop through lws'
 * GLib event-lib plugin. Sessions create their connections through it. */
#pragma once

#include <gio/gio.h>

struct lws_context;

typedef struct _WsbUpstream WsbUpstream;

/* What a connection needs from its vhost: lws keeps CA, client certificate,
 * proxy and extensions per vhost, so sessions that differ in them get
 * vhosts of their own (made once, shared by equal specs). */
typedef struct
{
  const char *ca_file;
  const char *cert_file;
  const char *key_file;
  const char *proxy; /* "[user:pw@]numeric-host:port" or NULL; a secret */
  gboolean compression;
} WsbVhostSpec;

/* system_instance: the daemon serves the whole machine (stricter checks). */
WsbUpstream *wsb_upstream_new (GMainLoop *loop, gboolean verbose, gboolean system_instance,
                               GError **error);
gboolean wsb_upstream_is_system (WsbUpstream *up);
/* The last error line lws logged (it names TLS causes that its callbacks do
 * not), cleared by the call; NULL when there was none. */
char *wsb_upstream_take_error (WsbUpstream *up);
struct lws_vhost *wsb_upstream_get_vhost (WsbUpstream *up, const WsbVhostSpec *spec,
                                          GError **error);
void wsb_upstream_free (WsbUpstream *up);
struct lws_context *wsb_upstream_get_context (WsbUpstream *up);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbUpstream, wsb_upstream_free)
