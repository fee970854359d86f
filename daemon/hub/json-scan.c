#include "json-scan.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Bytes that end the plain run of a string: the closing quote, an escape,
 * control characters (invalid raw) and non-ASCII (checked as UTF-8). */
static const guint8 string_stop[256] = {
  [0x00 ... 0x1f] = 1,
  ['"'] = 1,
  ['\\'] = 1,
  [0x80 ... 0xff] = 1,
};

static const guint8 white_space[256] = { [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1 };

/* The escapes of one character, by the letter after the backslash. */
static const char simple_escape[256] = {
  ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
  ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t',
};

static inline const guchar *
skip_ws (const guchar *p, const guchar *end)
{
  if (p == end || *p > ' ')
    return p; /* most JSON on the wire has no white space */
  while (p < end && white_space[*p])
    p++;
  return p;
}

#define ONES G_GUINT64_CONSTANT (0x0101010101010101)
#define HIGH G_GUINT64_CONSTANT (0x8080808080808080)

/* The high bit of each byte of v that is zero; the lowest one marked is the
 * first zero byte (a borrow may mark bytes after it, never before). */
static inline guint64
zero_bytes (guint64 v)
{
  return (v - ONES) & ~v & HIGH;
}

/* The first byte of the plain run at p, eight at a time where it can
 * (the string_stop bytes of eight bytes, as a word). */
static inline const guchar *
skip_plain (const guchar *p, const guchar *end)
{
  while (end - p >= 8)
    {
      guint64 x, stop;

      memcpy (&x, p, 8);
      x = GUINT64_FROM_LE (x); /* the first byte lowest, for the borrows */
      stop = zero_bytes (x ^ (ONES * '"')) | zero_bytes (x ^ (ONES * '\\'))
             | ((x - ONES * 0x20) & ~x & HIGH) | (x & HIGH);
      if (stop)
        return p + (__builtin_ctzll (stop) >> 3);
      p += 8;
    }
  while (p < end && !string_stop[*p])
    p++;
  return p;
}

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

/* The length of the strict UTF-8 sequence at p (its first byte >= 0x80), or
 * 0: no overlong forms, no surrogates, nothing above U+10FFFF. */
static gsize
utf8_sequence (const guchar *p, const guchar *end)
{
  guint32 cp, min;
  gsize n;

  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    n = 2, cp = p[0] & 0x1f, min = 0x80;
  else if (p[0] >= 0xe0 && p[0] <= 0xef)
    n = 3, cp = p[0] & 0x0f, min = 0x800;
  else if (p[0] >= 0xf0 && p[0] <= 0xf4)
    n = 4, cp = p[0] & 0x07, min = 0x10000;
  else
    return 0;
  if ((gsize) (end - p) < n)
    return 0;
  for (gsize i = 1; i < n; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (p[i] & 0x3f);
    }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

static inline int
hex_digit (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20; /* 'A'-'F' to 'a'-'f'; nothing else lands there */
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits at p (which has at least four bytes), or -1. */
static gint32
hex4 (const guchar *p)
{
  gint32 v = 0;

  for (int i = 0; i < 4; i++)
    {
      int d = hex_digit (p[i]);

      if (d < 0)
        return -1;
      v = v << 4 | d;
    }
  return v;
}

/* The escape at p (a backslash); returns the byte after it, or NULL. A
 * high surrogate must be followed by a low one, and a key may not hold
 * "\u0000" (jansson refuses NUL in keys). */
static const guchar *
scan_escape (const guchar *p, const guchar *end, gboolean is_key)
{
  gint32 u;

  if (end - p < 2)
    return NULL;
  if (simple_escape[p[1]])
    return p + 2;
  if (p[1] != 'u' || end - p < 6 || (u = hex4 (p + 2)) < 0 || (u == 0 && is_key)
      || (u >= 0xdc00 && u <= 0xdfff))
    return NULL;
  p += 6;
  if (u >= 0xd800 && u <= 0xdbff)
    {
      if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return NULL;
      u = hex4 (p + 2);
      if (u < 0xdc00 || u > 0xdfff)
        return NULL;
      p += 6;
    }
  return p;
}

/* The string whose opening quote is at p; returns the byte after its
 * closing quote, or NULL when it is not valid. *escaped is set when it holds
 * an escape. */
static inline __attribute__ ((always_inline)) const guchar *
scan_string (const guchar *p, const guchar *end, gboolean is_key, gboolean *escaped)
{
  for (p++;;)
    {
      gsize n;

      p = skip_plain (p, end);
      if (p == end)
        return NULL;
      if (*p == '"')
        return p + 1;
      if (*p == '\\')
        {
          *escaped = TRUE;
          if (!(p = scan_escape (p, end, is_key)))
            return NULL;
          continue;
        }
      if (*p < 0x20 || !(n = utf8_sequence (p, end)))
        return NULL;
      p += n;
    }
}

/* Whether the integer digits (no sign, no leading zero) lie outside int64. */
static gboolean
beyond_int64 (const guchar *digits, gsize n, gboolean negative)
{
  if (n != 19)
    return n > 19;
  return memcmp (digits, negative ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

static gboolean
overflows_double (const guchar *text, gsize len)
{
  g_autofree char *copy = g_strndup ((const char *) text, len);

  return isinf (g_ascii_strtod (copy, NULL));
}

/* The number at p (a '-' or a digit); returns the byte after it, or NULL
 * when it is not a JSON number or a double cannot hold it. */
static const guchar *
scan_number (const guchar *p, const guchar *end, gboolean *is_integer, gboolean *beyond)
{
  const guchar *start = p, *digits;
  gboolean negative = *p == '-';
  gint64 exponent = 0, magnitude;
  gsize int_digits;

  if (negative)
    p++;
  digits = p;
  if (p == end || !is_digit (*p))
    return NULL;
  if (*p++ != '0')
    while (p < end && is_digit (*p))
      p++;
  int_digits = (gsize) (p - digits);
  *is_integer = TRUE;
  if (p < end && *p == '.')
    {
      if (++p == end || !is_digit (*p))
        return NULL;
      while (p < end && is_digit (*p))
        p++;
      *is_integer = FALSE;
    }
  if (p < end && (*p | 0x20) == 'e')
    {
      gboolean negative_exponent = FALSE;

      if (++p < end && (*p == '+' || *p == '-'))
        negative_exponent = *p++ == '-';
      if (p == end || !is_digit (*p))
        return NULL;
      for (; p < end && is_digit (*p); p++)
        if (exponent < 1000000)
          exponent = exponent * 10 + (*p - '0');
      if (negative_exponent)
        exponent = -exponent;
      *is_integer = FALSE;
    }
  if (*is_integer && beyond_int64 (digits, int_digits, negative))
    *beyond = TRUE;
  /* The value is below 10^magnitude; only near DBL_MAX is strtod asked.
   * (An integer beyond int64 counts too: the router then reads every
   * number as a double, as jansson did on its second parse.) */
  magnitude = (*digits == '0' ? 0 : (gint64) MIN (int_digits, 1000000)) + exponent;
  if (magnitude > DBL_MAX_10_EXP && overflows_double (start, (gsize) (p - start)))
    return NULL;
  return p;
}

/* The next character of a valid string body at *p, as UTF-8 in out. */
static guint
decode_next (const guchar **pp, guchar out[4])
{
  const guchar *p = *pp;
  gunichar u;

  if (*p != '\\')
    {
      out[0] = *p;
      *pp = p + 1;
      return 1;
    }
  if (simple_escape[p[1]])
    {
      out[0] = (guchar) simple_escape[p[1]];
      *pp = p + 2;
      return 1;
    }
  u = (gunichar) hex4 (p + 2);
  p += 6;
  if (u >= 0xd800 && u <= 0xdbff)
    {
      u = 0x10000 + ((u - 0xd800) << 10) + ((gunichar) hex4 (p + 2) - 0xdc00);
      p += 6;
    }
  *pp = p;
  return (guint) g_unichar_to_utf8 (u, (char *) out);
}

gssize
wsb_json_string_decode (const char *text, gsize len, char *out, gsize size)
{
  const guchar *p = (const guchar *) text + 1, *end = (const guchar *) text + len - 1;
  gsize n = 0;

  while (p < end)
    {
      guchar c[4];
      guint k;

      if (*p != '\\')
        {
          if (n == size)
            return -1;
          out[n++] = (char) *p++;
          continue;
        }
      k = decode_next (&p, c);
      if (k > size - n)
        return -1;
      memcpy (out + n, c, k);
      n += k;
    }
  return (gssize) n;
}

/* Whether the key whose text runs from start (its opening quote) to stop
 * (past its closing quote) is the step's key. */
static gboolean
key_equals (const guchar *start, const guchar *stop, gboolean escaped, const WsbJsonToken *step)
{
  const guchar *p = start + 1, *end = stop - 1;
  gsize n = 0;

  if (!escaped)
    return (gsize) (end - p) == step->key_len && memcmp (p, step->key, step->key_len) == 0;
  while (p < end)
    {
      guchar c[4];
      guint k = decode_next (&p, c);

      if (k > step->key_len - n || memcmp (step->key + n, c, k) != 0)
        return FALSE;
      n += k;
    }
  return n == step->key_len;
}

static inline gboolean
literal (const guchar **p, const guchar *end, const char *word, gsize len)
{
  if ((gsize) (end - *p) < len || memcmp (*p, word, len) != 0)
    return FALSE;
  *p += len;
  return TRUE;
}

/* One pass, no recursion: the open containers are a stack of bits (1: an
 * object), and the path is followed along the way. The containers at
 * depths 1..on_path are the path's so far; the one at on_path holds the
 * next step (steps[on_path - 1]) while it is `active` (active == on_path):
 * an array stops once the element at the index has ended, an object never
 * does (a later duplicate key replaces the earlier member). */
WsbJsonFound
wsb_json_scan (const char *data, gsize len, const WsbJsonToken *steps, guint n_steps,
               WsbJsonHit *hit)
{
  const guchar *p = (const guchar *) data, *end = p + len, *q;
  guint8 objects[WSB_JSON_SCAN_MAX_DEPTH / 8] = { 0 };
  guint depth = 0, on_path = 0, active = 0;
  gboolean obj = FALSE; /* the container at depth is an object */
  gboolean target = FALSE, next = TRUE, escaped, is_integer;
  gboolean beyond = FALSE;
  gsize index = 0;
  WsbJsonFound found = WSB_JSON_ABSENT;

#define IS_OBJECT(d) (objects[((d) -1) / 8] >> (((d) -1) % 8) & 1)

  if (len == 0)
    return WSB_JSON_INVALID;
  p = skip_ws (p, end);
  if (p == end || (*p != '{' && *p != '['))
    return WSB_JSON_INVALID; /* not an object or an array */

value: /* p: a value at depth + 1; target: it is the one at the path; next:
        * the path goes on in it */
  if (depth == WSB_JSON_SCAN_MAX_DEPTH)
    return WSB_JSON_INVALID;
  switch (*p)
    {
      case '"':
        escaped = FALSE;
        if (!(q = scan_string (p, end, FALSE, &escaped)))
          return WSB_JSON_INVALID;
        if (target)
          found = WSB_JSON_STRING, hit->value = (const char *) p, hit->len = (gsize) (q - p);
        p = q;
        break;
      case '{':
      case '[':
        obj = *p == '{';
        if (obj)
          objects[depth / 8] |= (guint8) (1u << depth % 8);
        else
          objects[depth / 8] &= (guint8) ~(1u << depth % 8);
        depth++;
        if (next)
          on_path = active = depth, index = 0;
        p = skip_ws (p + 1, end);
        if (p == end)
          return WSB_JSON_INVALID;
        if (*p == (obj ? '}' : ']'))
          {
            p++;
            goto close;
          }
        goto member;
      case '-':
      case '0' ... '9':
        if (!(q = scan_number (p, end, &is_integer, &beyond)))
          return WSB_JSON_INVALID;
        if (target)
          {
            found = WSB_JSON_NUMBER, hit->value = (const char *) p, hit->len = (gsize) (q - p);
            hit->is_integer = is_integer;
          }
        p = q;
        break;
      case 't':
        if (!literal (&p, end, "true", 4))
          return WSB_JSON_INVALID;
        break;
      case 'f':
        if (!literal (&p, end, "false", 5))
          return WSB_JSON_INVALID;
        break;
      case 'n':
        if (!literal (&p, end, "null", 4))
          return WSB_JSON_INVALID;
        break;
      default:
        return WSB_JSON_INVALID;
    }

after_value: /* p: past a value in the container at depth (0: the top one) */
  if (depth == 0)
    {
      if (skip_ws (p, end) != end)
        return WSB_JSON_INVALID; /* trailing bytes */
      hit->integers_beyond = beyond;
      return found;
    }
  p = skip_ws (p, end);
  if (p == end)
    return WSB_JSON_INVALID;
  if (*p == ',')
    {
      p = skip_ws (p + 1, end);
      goto member;
    }
  if (*p != (obj ? '}' : ']'))
    return WSB_JSON_INVALID;
  p++;

close: /* the container at depth has ended */
  depth--;
  obj = depth > 0 && IS_OBJECT (depth);
  if (depth < on_path)
    {
      on_path = depth;
      active = obj ? depth : 0;
    }
  goto after_value;

member: /* p: a member of the container at depth (in an object, its key) */
  target = next = FALSE;
  if (obj)
    {
      if (p == end || *p != '"')
        return WSB_JSON_INVALID;
      escaped = FALSE;
      if (!(q = scan_string (p, end, TRUE, &escaped)))
        return WSB_JSON_INVALID;
      if (depth == active && key_equals (p, q, escaped, &steps[depth - 1]))
        {
          found = WSB_JSON_ABSENT; /* replaces what an earlier duplicate held */
          target = depth == n_steps;
          next = !target;
        }
      p = skip_ws (q, end);
      if (p == end || *p != ':')
        return WSB_JSON_INVALID;
      p = skip_ws (p + 1, end);
    }
  else if (depth == active && steps[depth - 1].index == (gssize) index++)
    {
      target = depth == n_steps;
      next = !target;
    }
  if (p == end)
    return WSB_JSON_INVALID;
  goto value;
#undef IS_OBJECT
}
