#include "tls-context-cache.h"

#include "tls-client.h"

struct _WsbTlsContextCache
{
  GHashTable *contexts; /* "ca\x1fcert\x1fkey" → SSL_CTX* */
};

WsbTlsContextCache *
wsb_tls_context_cache_new (void)
{
  WsbTlsContextCache *cache = g_new0 (WsbTlsContextCache, 1);

  cache->contexts
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) SSL_CTX_free);
  return cache;
}

SSL_CTX *
wsb_tls_context_cache_get (WsbTlsContextCache *cache, const char *ca_file, const char *cert_file,
                           const char *key_file, GError **error)
{
  g_autofree char *key
      = g_strdup_printf ("%s\x1f%s\x1f%s", ca_file ?: "", cert_file ?: "", key_file ?: "");
  SSL_CTX *ctx = g_hash_table_lookup (cache->contexts, key);

  if (ctx)
    return ctx;
  ctx = wsb_tls_context_new (ca_file, cert_file, key_file, error);
  if (ctx)
    g_hash_table_insert (cache->contexts, g_steal_pointer (&key), ctx);
  return ctx;
}

void
wsb_tls_context_cache_free (WsbTlsContextCache *cache)
{
  if (!cache)
    return;
  g_hash_table_unref (cache->contexts);
  g_free (cache);
}
