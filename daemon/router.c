#include "router.h"

#include <jansson.h>
#include <string.h>

#include "wsb-error.h"

typedef struct
{
  const char *key; /* the unescaped reference token, in WsbRouter.keys */
  gssize index;    /* the token as an array index, or -1 when it is not one */
} Token;

struct _WsbRouter
{
  char *keys; /* every unescaped token, each NUL-terminated */
  guint n_tokens;
  Token tokens[];
};

/* Why these jansson flags:
 * - JSON_ALLOW_NUL: "\u0000" in a string is valid JSON (RFC 8259 §7); without
 *   it jansson would reject the whole message for one such string anywhere,
 *   and it spares jansson a memchr over every string.
 * - no JSON_DECODE_ANY: a bare string or number has no members, so no
 *   pointer we accept resolves in it; without the flag jansson gives up on
 *   non-JSON text at its first token.
 * - no JSON_DISABLE_EOF_CHECK: trailing bytes after the value mean the
 *   message is not JSON, and it is not routed.
 * - no JSON_REJECT_DUPLICATES: that costs a lookup per member; RFC 8259
 *   leaves duplicates to the reader and jansson keeps the last one. */
#define LOAD_FLAGS JSON_ALLOW_NUL

/* 2^53: from there on a double may stand for more than one integer. */
#define EXACT_INT_BOUND 9007199254740992.0

gboolean
wsb_json_pointer_check (const char *pointer, GError **error)
{
  if (pointer == NULL || pointer[0] == '\0')
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "invalid JSON pointer: it is empty; a channel is a member, "
                           "e.g. \"/channel\"");
      return FALSE;
    }
  if (!g_utf8_validate (pointer, -1, NULL))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "invalid JSON pointer: not valid UTF-8");
      return FALSE;
    }
  if (pointer[0] != '/')
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid JSON pointer \"%s\": it must start with '/'", pointer);
      return FALSE;
    }
  for (const char *p = pointer; *p; p++)
    if (*p == '~' && p[1] != '0' && p[1] != '1')
      {
        g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                     "invalid JSON pointer \"%s\": '~' at byte %td must be followed by "
                     "0 or 1 (\"~0\" stands for '~', \"~1\" for '/')",
                     pointer, p - pointer);
        return FALSE;
      }
  return TRUE;
}

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
  r = g_malloc (sizeof (WsbRouter) + n * sizeof (Token));
  r->n_tokens = n;
  /* Unescaping only shortens: each token fits where "/token" was. */
  r->keys = out = g_malloc (strlen (pointer) + 1);
  for (guint i = 0; i < n; i++)
    {
      r->tokens[i].key = out;
      for (pointer++; *pointer && *pointer != '/'; pointer++)
        {
          if (*pointer == '~')
            *out++ = *++pointer == '0' ? '~' : '/';
          else
            *out++ = *pointer;
        }
      *out++ = '\0';
      r->tokens[i].index = parse_index (r->tokens[i].key);
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

static json_t *
resolve (const WsbRouter *r, json_t *v)
{
  for (guint i = 0; i < r->n_tokens && v; i++)
    {
      if (json_is_object (v))
        v = json_object_get (v, r->tokens[i].key);
      else if (json_is_array (v) && r->tokens[i].index >= 0)
        v = json_array_get (v, (size_t) r->tokens[i].index); /* NULL past the end */
      else
        return NULL;
    }
  return v;
}

/* jansson's text for a double with `precision` significant digits. */
static gboolean
dump_real (const json_t *real, int precision, char *buf, gsize size)
{
  gsize n = json_dumpb (real, buf, size - 1, JSON_ENCODE_ANY | JSON_REAL_PRECISION (precision));

  if (n == 0 || n >= size)
    return FALSE;
  buf[n] = '\0';
  return TRUE;
}

/* The fewest significant digits that read back as the same double; then,
 * as Python's repr() does, plain decimal up to 16 integer digits (%g would
 * print 100.0 at one digit as 1e2). */
static char *
real_to_text (const json_t *real)
{
  double v = json_real_value (real);
  char buf[40];
  const char *e;

  for (int precision = 1; precision <= 17; precision++)
    {
      if (!dump_real (real, precision, buf, sizeof buf))
        return NULL;
      if (g_ascii_strtod (buf, NULL) == v)
        break; /* 17 digits always read back */
    }
  e = strchr (buf, 'e');
  if (e)
    {
      gint64 exponent = g_ascii_strtoll (e + 1, NULL, 10);

      if (exponent >= 0 && exponent < 16 && !dump_real (real, (int) exponent + 1, buf, sizeof buf))
        return NULL;
    }
  return g_strdup (buf);
}

static char *
value_to_channel (const json_t *v, gboolean ints_as_real)
{
  switch (json_typeof (v))
    {
      case JSON_STRING:
        if (!wsb_channel_name_check (json_string_value (v), json_string_length (v), NULL))
          return NULL;
        return g_strndup (json_string_value (v), json_string_length (v));
      case JSON_INTEGER:
        return g_strdup_printf ("%" JSON_INTEGER_FORMAT, json_integer_value (v));
      case JSON_REAL:
        if (ints_as_real)
          {
            /* The text was an integer or a real; only the value is left. */
            double d = json_real_value (v);

            if (d <= -EXACT_INT_BOUND || d >= EXACT_INT_BOUND)
              return NULL;
            if ((double) (gint64) d == d)
              return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) d);
          }
        return real_to_text (v);
      default:
        return NULL;
    }
}

/* Without JSON_DECODE_ANY jansson parses only an object or an array: spare
 * it, and its error messages, text that cannot start one. */
static gboolean
may_be_json (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    switch (data[i])
      {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
          continue;
        case '{':
        case '[':
          return TRUE;
        default:
          return FALSE;
      }
  return FALSE;
}

char *
wsb_router_route (const WsbRouter *r, const char *data, gsize len)
{
  json_error_t err;
  json_t *root;
  json_t *v;
  gboolean ints_as_real = FALSE;
  char *channel = NULL;

  if (!may_be_json (data, len))
    return NULL;
  /* No JSON text holds a raw NUL, and jansson skips one that follows a
   * number or a literal instead of failing: refuse it here. */
  if (memchr (data, '\0', len))
    return NULL;
  root = json_loadb (data, len, LOAD_FLAGS, &err);
  if (!root && json_error_code (&err) == json_error_numeric_overflow)
    {
      /* Valid JSON jansson cannot hold as int64; rare, so a second parse. */
      ints_as_real = TRUE;
      root = json_loadb (data, len, LOAD_FLAGS | JSON_DECODE_INT_AS_REAL, NULL);
    }
  if (!root)
    return NULL;
  v = resolve (r, root);
  if (v)
    channel = value_to_channel (v, ints_as_real);
  json_decref (root);
  return channel;
}

gboolean
wsb_channel_name_check (const char *name, gsize len, GError **error)
{
  const char *end;

  if (len == 0 || len > WSB_CHANNEL_MAX_BYTES)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid channel name: it must be 1-%d bytes long, not %" G_GSIZE_FORMAT,
                   WSB_CHANNEL_MAX_BYTES, len);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if ((guchar) name[i] < 0x20 || name[i] == 0x7f)
      {
        g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                     "invalid channel name: control character 0x%02x at byte %" G_GSIZE_FORMAT,
                     (guchar) name[i], i);
        return FALSE;
      }
  if (!g_utf8_validate_len (name, len, &end))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid channel name: not valid UTF-8 at byte %td", end - name);
      return FALSE;
    }
  return TRUE;
}
