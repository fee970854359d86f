#include "ws-deflate.h"

#include <string.h>
#include <zlib.h>

#define CHUNK 16384

static const guint8 tail[4] = { 0x00, 0x00, 0xff, 0xff };

static gboolean
parse_bits (const char *value, guint *bits)
{
  char *end = NULL;
  guint64 v;

  /* 1*DIGIT without leading zeros (RFC 7692 §7.1.2.1): "010" is not 10. */
  if (!value || !g_ascii_isdigit (*value) || *value == '0')
    return FALSE;
  v = g_ascii_strtoull (value, &end, 10);
  if (*end || v < 8 || v > 15)
    return FALSE;
  *bits = (guint) v;
  return TRUE;
}

/* One parameter of the answer, "name" or "name=value" (quotes allowed). */
static gboolean
apply_param (char *param, WsbDeflateParams *p, guint *seen, char **why)
{
  static const char *const names[] = { "server_no_context_takeover", "client_no_context_takeover",
                                       "server_max_window_bits", "client_max_window_bits" };
  char *eq = strchr (param, '=');
  char *value = NULL;
  guint i;

  if (eq)
    {
      *eq = '\0';
      value = g_strstrip (eq + 1);
      if (value[0] == '"' && strlen (value) >= 2 && value[strlen (value) - 1] == '"')
        {
          value[strlen (value) - 1] = '\0';
          value++;
        }
    }
  g_strstrip (param);
  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (param, names[i]) == 0)
      break;
  if (i == G_N_ELEMENTS (names))
    {
      *why = g_strdup_printf ("the server answered permessage-deflate with an unknown "
                              "parameter '%.40s'",
                              param);
      return FALSE;
    }
  if (*seen & (1u << i))
    {
      *why = g_strdup_printf ("the server repeated permessage-deflate's %s", names[i]);
      return FALSE;
    }
  *seen |= 1u << i;
  if (i < 2)
    {
      if (value)
        {
          *why = g_strdup_printf ("the server gave permessage-deflate's %s a value", names[i]);
          return FALSE;
        }
      if (i == 0)
        p->server_no_context_takeover = TRUE;
      else
        p->client_no_context_takeover = TRUE;
      return TRUE;
    }
  if (!parse_bits (value, i == 2 ? &p->server_max_window_bits : &p->client_max_window_bits))
    {
      *why = g_strdup_printf ("the server gave permessage-deflate's %s an invalid value "
                              "(8 to 15 allowed, without leading zeros)",
                              names[i]);
      return FALSE;
    }
  return TRUE;
}

gboolean
wsb_deflate_params_parse (const char *header, gboolean offered, gboolean *enabled,
                          WsbDeflateParams *params, char **why)
{
  g_auto (GStrv) extensions = NULL;
  g_auto (GStrv) parts = NULL;
  guint seen = 0;

  memset (params, 0, sizeof *params);
  params->server_max_window_bits = 15;
  params->client_max_window_bits = 15;
  *enabled = FALSE;
  if (!header)
    return TRUE;
  extensions = g_strsplit (header, ",", -1);
  if (!extensions[0] || (!extensions[1] && !*g_strstrip (extensions[0])))
    return TRUE;
  if (extensions[1])
    {
      *why = g_strdup ("the server accepted more than the one extension we offered");
      return FALSE;
    }
  parts = g_strsplit (extensions[0], ";", -1);
  if (g_ascii_strcasecmp (g_strstrip (parts[0]), "permessage-deflate") != 0 || !offered)
    {
      *why = g_strdup_printf ("the server accepted an extension we did not offer: '%.40s'",
                              parts[0]);
      return FALSE;
    }
  for (guint i = 1; parts[i]; i++)
    if (!apply_param (parts[i], params, &seen, why))
      return FALSE;
  *enabled = TRUE;
  return TRUE;
}

/* --------------------------------------------------------------- inflate */

struct _WsbInflater
{
  z_stream z;
  gboolean reset_each_message;
};

WsbInflater *
wsb_inflater_new (const WsbDeflateParams *params)
{
  WsbInflater *inf = g_new0 (WsbInflater, 1);

  /* A full window decodes any stream the server's smaller window made. */
  if (inflateInit2 (&inf->z, -15) != Z_OK)
    g_error ("zlib: inflateInit2 failed");
  inf->reset_each_message = params->server_no_context_takeover;
  return inf;
}

void
wsb_inflater_free (WsbInflater *inf)
{
  if (!inf)
    return;
  inflateEnd (&inf->z);
  g_free (inf);
}

static WsbInflateResult
inflate_into (WsbInflater *inf, const guint8 *in, gsize len, GByteArray *out, gsize max)
{
  gboolean out_full = FALSE;

  inf->z.next_in = (Bytef *) in;
  inf->z.avail_in = (uInt) len;
  /* A full output buffer may leave output inside zlib: go round again. */
  while (inf->z.avail_in > 0 || out_full)
    {
      gsize have = out->len;
      gsize room = CHUNK;
      int rc;

      if (have >= max)
        {
          /* Room for one more byte tells "exactly max" from "more". */
          room = 1;
          if (have > max)
            return WSB_INFLATE_TOO_LARGE;
        }
      g_byte_array_set_size (out, (guint) (have + room));
      inf->z.next_out = out->data + have;
      inf->z.avail_out = (uInt) room;
      rc = inflate (&inf->z, Z_SYNC_FLUSH);
      out_full = inf->z.avail_out == 0;
      g_byte_array_set_size (out, (guint) (have + room - inf->z.avail_out));
      if (out->len > max)
        return WSB_INFLATE_TOO_LARGE;
      if (rc == Z_STREAM_END)
        {
          /* A final deflate block: the next message starts a new stream. */
          inflateReset (&inf->z);
          continue;
        }
      if (rc == Z_BUF_ERROR && inf->z.avail_out > 0)
        break;
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return WSB_INFLATE_CORRUPT;
    }
  return WSB_INFLATE_OK;
}

WsbInflateResult
wsb_inflater_feed (WsbInflater *inf, const guint8 *in, gsize len, gboolean final, GByteArray *out,
                   gsize max)
{
  WsbInflateResult r = inflate_into (inf, in, len, out, max);

  if (r != WSB_INFLATE_OK || !final)
    return r;
  r = inflate_into (inf, tail, sizeof tail, out, max);
  if (inf->reset_each_message)
    inflateReset (&inf->z);
  return r;
}

/* --------------------------------------------------------------- deflate */

struct _WsbDeflater
{
  z_stream z;
  gboolean reset_each_message;
};

WsbDeflater *
wsb_deflater_new (const WsbDeflateParams *params)
{
  WsbDeflater *def;

  /* zlib turns a raw deflate window of 8 bits into 9, which the server
   * could not decode. */
  if (params->client_max_window_bits < 9)
    return NULL;
  def = g_new0 (WsbDeflater, 1);
  if (deflateInit2 (&def->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                    -(int) params->client_max_window_bits, 8, Z_DEFAULT_STRATEGY)
      != Z_OK)
    g_error ("zlib: deflateInit2 failed");
  def->reset_each_message = params->client_no_context_takeover;
  return def;
}

void
wsb_deflater_free (WsbDeflater *def)
{
  if (!def)
    return;
  deflateEnd (&def->z);
  g_free (def);
}

void
wsb_deflater_compress (WsbDeflater *def, const guint8 *in, gsize len, GByteArray *out)
{
  g_byte_array_set_size (out, 0);
  def->z.next_in = (Bytef *) in;
  def->z.avail_in = (uInt) len;
  do
    {
      gsize have = out->len;
      gsize room = deflateBound (&def->z, def->z.avail_in) + 16;

      g_byte_array_set_size (out, (guint) (have + room));
      def->z.next_out = out->data + have;
      def->z.avail_out = (uInt) room;
      deflate (&def->z, Z_SYNC_FLUSH);
      g_byte_array_set_size (out, (guint) (have + room - def->z.avail_out));
    }
  while (def->z.avail_in > 0 || def->z.avail_out == 0);
  /* RFC 7692 §7.2.1: the sync flush's 00 00 ff ff is not sent. An empty
   * message compresses to a single 0x00 byte. */
  if (out->len >= 4 && memcmp (out->data + out->len - 4, tail, 4) == 0)
    g_byte_array_set_size (out, out->len - 4);
  if (out->len == 0)
    g_byte_array_append (out, tail, 1);
  if (def->reset_each_message)
    deflateReset (&def->z);
}
