/* The TLS client contexts of the upstream connections, one per distinct CA
 * file and client certificate, made on first use and shared by every
 * session with equal settings (an SSL_CTX loads its CA store once). */
#pragma once

#include <glib.h>
#include <openssl/ssl.h>

typedef struct _WsbTlsContextCache WsbTlsContextCache;

WsbTlsContextCache *wsb_tls_context_cache_new (void);
/* The context for a CA file (NULL: the system store) and client certificate
 * (NULL: none), owned by the cache; NULL with error when it cannot be made. */
SSL_CTX *wsb_tls_context_cache_get (WsbTlsContextCache *cache, const char *ca_file,
                                    const char *cert_file, const char *key_file, GError **error);
void wsb_tls_context_cache_free (WsbTlsContextCache *cache);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbTlsContextCache, wsb_tls_context_cache_free)
