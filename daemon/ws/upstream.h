/* The libwebsockets context, running on the GLib main loop through lws'
 * GLib event-lib plugin: raw sockets for the sessions' connections
 * (ws-client.c), and what lives as long as the context does: the TLS
 * contexts the connections share (tls-context-cache.c), the connections lws
 * has not destroyed yet, and whether this daemon serves the whole machine.
 * lws' log lines go to GLib's log through lws-log.c. */
#pragma once

#include <gio/gio.h>
#include <openssl/ssl.h>

struct lws_context;
struct lws_vhost;

typedef struct _WsbUpstream WsbUpstream;

/* system_instance: the daemon serves the whole machine (stricter checks). */
WsbUpstream *wsb_upstream_new (GMainLoop *loop, gboolean verbose, gboolean system_instance,
                               GError **error);
gboolean wsb_upstream_is_system (WsbUpstream *up);
struct lws_context *wsb_upstream_get_context (WsbUpstream *up);
struct lws_vhost *wsb_upstream_get_vhost (WsbUpstream *up);

/* The TLS client context for a CA file (NULL: the system store) and client
 * certificate, made once and shared by equal settings (tls-context-cache.h);
 * owned by the upstream. */
SSL_CTX *wsb_upstream_get_tls (WsbUpstream *up, const char *ca_file, const char *cert_file,
                               const char *key_file, GError **error);

/* Connections (the opaque data of lws connections) live until lws destroys
 * them; those it never does are freed with the upstream, after the context,
 * which is why the context keeps the list. */
void wsb_upstream_track (WsbUpstream *up, gpointer conn, GDestroyNotify free_func);
void wsb_upstream_untrack (WsbUpstream *up, gpointer conn);

void wsb_upstream_free (WsbUpstream *up);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbUpstream, wsb_upstream_free)
