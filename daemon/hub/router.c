#include "router.h"

#include "json-scan.h"
#include "json-text.h"

struct _WsbRouter
{
  WsbJsonPointer *pointer;
};

/* 2^53: from there on a double may stand for more than one integer. */
#define EXACT_INT_BOUND 9007199254740992.0

WsbRouter *
wsb_router_new (const char *pointer, GError **error)
{
  WsbJsonPointer *p = wsb_json_pointer_new (pointer, error);
  WsbRouter *r;

  if (!p)
    return NULL;
  r = g_new (WsbRouter, 1);
  r->pointer = p;
  return r;
}

void
wsb_router_free (WsbRouter *r)
{
  if (!r)
    return;
  wsb_json_pointer_free (r->pointer);
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

  switch (wsb_json_scan (data, len, r->pointer->tokens, r->pointer->n_tokens, &hit))
    {
      case WSB_JSON_STRING:
        return string_to_channel (&hit);
      case WSB_JSON_NUMBER:
        return number_to_channel (&hit);
      default:
        return NULL;
    }
}
