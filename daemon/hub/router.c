#include "router.h"

#include <string.h>

#include "json-scan.h"
#include "json-text.h"

struct _WsbRouter
{
  char *keys; /* every unescaped token, each NUL-terminated */
  guint n_steps;
  WsbJsonStep steps[];
};

/* 2^53: from there on a double may stand for more than one integer. */
#define EXACT_INT_BOUND 9007199254740992.0

/* RFC 6901 §4: "0", or digits without a leading zero. */
static gssize
parse_index (const char *token)
{
  gsize value = 0;

  if (token[0] == '\0' || (token[0] == '0' && token[1] != '\0'))
    return -1;
  for (const char *p = token; *p; p++)
    {
      if (!g_ascii_isdigit (*p) || value > (G_MAXSSIZE - 9) / 10)
        return -1; /* not an index, or larger than any array */
      value = value * 10 + (gsize) (*p - '0');
    }
  return (gssize) value;
}

WsbRouter *
wsb_router_new (const char *pointer, GError **error)
{
  WsbRouter *r;
  guint n = 0;
  char *out;

  if (!wsb_json_pointer_check (pointer, error))
    return NULL;
  for (const char *p = pointer; *p; p++)
    n += *p == '/';
  r = g_malloc (sizeof (WsbRouter) + n * sizeof (WsbJsonStep));
  r->n_steps = n;
  /* Unescaping only shortens: each token fits where "/token" was. */
  r->keys = out = g_malloc (strlen (pointer) + 1);
  for (guint i = 0; i < n; i++)
    {
      char *key = out;

      for (pointer++; *pointer && *pointer != '/'; pointer++)
        {
          if (*pointer == '~')
            *out++ = *++pointer == '0' ? '~' : '/';
          else
            *out++ = *pointer;
        }
      *out++ = '\0';
      r->steps[i] = (WsbJsonStep){ key, strlen (key), parse_index (key) };
    }
  return r;
}

void
wsb_router_free (WsbRouter *r)
{
  if (!r)
    return;
  g_free (r->keys);
  g_free (r);
}

static char *
string_to_channel (const WsbJsonHit *hit)
{
  char name[WSB_CHANNEL_MAX_BYTES];
  gssize n = wsb_json_string_decode (hit->value, hit->len, name, sizeof name);

  if (n < 0 || !wsb_channel_name_check (name, (gsize) n, NULL))
    return NULL;
  return g_strndup (name, (gsize) n);
}

static char *
number_to_channel (const WsbJsonHit *hit)
{
  g_autofree char *text = NULL;
  char buf[WSB_JSON_DOUBLE_BUF_SIZE];
  double d;

  /* A JSON integer has no '+' and no leading zeros: within int64 its text
   * is its decimal form, but for "-0". */
  if (hit->is_integer && !hit->integers_beyond)
    return hit->len == 2 && hit->value[0] == '-' && hit->value[1] == '0'
               ? g_strdup ("0")
               : g_strndup (hit->value, hit->len);
  text = g_strndup (hit->value, hit->len);
  d = g_ascii_strtod (text, NULL);
  /* Every number a double (as jansson's second parse had it, which the
   * router once used): one that may stand for more than one integer routes
   * nowhere. */
  if (hit->integers_beyond && (d <= -EXACT_INT_BOUND || d >= EXACT_INT_BOUND))
    return NULL;
  return g_strdup (wsb_json_format_double (d, buf));
}

char *
wsb_router_route (const WsbRouter *r, const char *data, gsize len)
{
  WsbJsonHit hit;

  switch (wsb_json_scan (data, len, r->steps, r->n_steps, &hit))
    {
      case WSB_JSON_STRING:
        return string_to_channel (&hit);
      case WSB_JSON_NUMBER:
        return number_to_channel (&hit);
      default:
        return NULL;
    }
}
