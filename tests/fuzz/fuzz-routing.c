/* Fuzz target: channel routing and upstream frames, what a hostile feed or
 * configuration controls. The input is a channel_key pointer, a NUL, then
 * a message: the pointer is checked and compiled, the message routed, and
 * the channel it gives (or the input's own bytes) checked as a channel name
 * and filled into a subscribe template. Findings: a crash, a sanitizer
 * report, a leak, a pointer accepted by one check and refused by the other,
 * a routed channel that is not a valid channel name, a filled template that
 * is not valid UTF-8 or escapes the channel otherwise than jansson does, and
 * a channel other than the one jansson's tree gives: the router scans
 * without building one, and must route exactly as the jansson router before
 * it did (reference_route), but for the text of a double, which is the
 * shortest that reads back as the same value (common/json-text.h). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "router.h"
#include "template.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define TMPL "{\"op\":\"subscribe\",\"channel\":\"{channel}\"}"

/* The channel filled in as jansson escapes a string. */
static void
fill (const char *channel)
{
  g_autofree char *frame = wsb_template_fill (TMPL, channel);
  json_t *s = json_string (channel);
  g_autofree char *quoted = json_dumps (s, JSON_ENCODE_ANY);
  g_autofree char *expected = NULL;

  g_assert_true (g_utf8_validate (frame, -1, NULL));
  g_assert_nonnull (quoted);
  quoted[strlen (quoted) - 1] = '\0';
  expected = g_strdup_printf ("{\"op\":\"subscribe\",\"channel\":\"%s\"}", quoted + 1);
  g_assert_cmpstr (frame, ==, expected);
  json_decref (s);
}

/* 2^53: from there on a double may stand for more than one integer. */
#define EXACT_INT_BOUND 9007199254740992.0

/* The reference: the router as it was, on jansson's tree. */
typedef enum
{
  REF_NONE,
  REF_TEXT, /* the channel is *text */
  REF_REAL, /* the channel is the text of *real (json-text.h says how) */
} RefResult;

static json_t *
reference_step (json_t *v, const char *token, gsize len)
{
  g_autoptr (GString) key = g_string_sized_new (len);
  guint64 index;

  for (gsize i = 0; i < len; i++)
    if (token[i] == '~')
      g_string_append_c (key, token[++i] == '0' ? '~' : '/');
    else
      g_string_append_c (key, token[i]);
  if (json_is_object (v))
    return json_object_get (v, key->str);
  /* Digits only: g_ascii_string_to_unsigned would skip leading white space. */
  if (!json_is_array (v) || key->len == 0 || strspn (key->str, "0123456789") != key->len
      || (key->str[0] == '0' && key->len > 1)
      || !g_ascii_string_to_unsigned (key->str, 10, 0, G_MAXUINT32, &index, NULL))
    return NULL; /* "-", a leading zero, a sign or not digits */
  return json_array_get (v, index);
}

static RefResult
reference_value (json_t *v, gboolean ints_as_real, char **text, double *real)
{
  if (json_is_string (v))
    {
      if (!wsb_channel_name_check (json_string_value (v), json_string_length (v), NULL))
        return REF_NONE;
      *text = g_strndup (json_string_value (v), json_string_length (v));
      return REF_TEXT;
    }
  if (json_is_integer (v))
    {
      *text = g_strdup_printf ("%" JSON_INTEGER_FORMAT, json_integer_value (v));
      return REF_TEXT;
    }
  if (!json_is_real (v))
    return REF_NONE;
  *real = json_real_value (v);
  if (ints_as_real && fabs (*real) >= EXACT_INT_BOUND)
    return REF_NONE;
  if (ints_as_real && *real == (double) (gint64) *real)
    {
      *text = g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) *real);
      return REF_TEXT;
    }
  return REF_REAL;
}

static RefResult
reference_route (const char *pointer, const char *msg, gsize len, char **text, double *real)
{
  json_error_t err;
  json_t *root, *v;
  gboolean ints_as_real = FALSE;
  RefResult result = REF_NONE;

  if (memchr (msg, '\0', len))
    return REF_NONE; /* jansson skips some raw NULs; JSON has none */
  root = json_loadb (msg, len, JSON_ALLOW_NUL, &err);
  if (!root && json_error_code (&err) == json_error_numeric_overflow)
    {
      ints_as_real = TRUE;
      root = json_loadb (msg, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    }
  v = root;
  for (const char *p = pointer + 1; v; p++)
    {
      const char *slash = strchr (p, '/');
      gsize n = slash ? (gsize) (slash - p) : strlen (p);

      v = reference_step (v, p, n);
      if (!slash)
        break;
      p = slash;
    }
  if (v)
    result = reference_value (v, ints_as_real, text, real);
  json_decref (root);
  return result;
}

/* The significant digits of a number's text. */
static guint
significant_digits (const char *text)
{
  g_autoptr (GString) digits = g_string_new (NULL);

  for (const char *p = text; *p && *p != 'e'; p++)
    if (g_ascii_isdigit (*p))
      g_string_append_c (digits, *p);
  while (digits->len > 1 && digits->str[digits->len - 1] == '0')
    g_string_truncate (digits, digits->len - 1);
  while (digits->len > 1 && digits->str[0] == '0')
    g_string_erase (digits, 0, 1);
  return (guint) digits->len;
}

/* The fewest significant digits with which %g reads back as d. */
static guint
shortest_digits (double d)
{
  for (int precision = 1; precision < 17; precision++)
    {
      char buf[40];

      g_snprintf (buf, sizeof buf, "%.*g", precision, d);
      if (g_ascii_strtod (buf, NULL) == d)
        return (guint) precision;
    }
  return 17;
}

static void
check_against_reference (const char *pointer, const char *msg, gsize len, const char *channel)
{
  g_autofree char *text = NULL;
  double real = 0;

  switch (reference_route (pointer, msg, len, &text, &real))
    {
      case REF_NONE:
        g_assert_null (channel);
        break;
      case REF_TEXT:
        g_assert_cmpstr (channel, ==, text);
        break;
      case REF_REAL:
        {
          char *end;

          g_assert_nonnull (channel);
          g_assert_cmpfloat (g_ascii_strtod (channel, &end), ==, real);
          g_assert_true (*end == '\0');
          g_assert_cmpuint (significant_digits (channel), <=, shortest_digits (real));
          break;
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, 0, size);
  g_autofree char *pointer = NULL;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (WsbRouter) router = NULL;
  const char *msg;
  gsize msg_len;

  if (!nul)
    return 0;
  pointer = g_strndup ((const char *) data, nul - data);
  msg = (const char *) nul + 1;
  msg_len = size - (nul - data) - 1;
  router = wsb_router_new (pointer, &e1);
  g_assert_true (!router == !wsb_json_pointer_check (pointer, &e2));
  g_assert_true (router || (e1 && e2));
  if (router)
    {
      g_autofree char *channel = wsb_router_route (router, msg, msg_len);

      check_against_reference (pointer, msg, msg_len, channel);
      if (channel)
        {
          g_assert_true (wsb_channel_name_check (channel, strlen (channel), NULL));
          fill (channel);
        }
    }
  if (wsb_channel_name_check (msg, msg_len, NULL))
    {
      g_autofree char *channel = g_strndup (msg, msg_len);
      fill (channel);
    }
  return 0;
}
