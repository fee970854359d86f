#include "json-text.h"

#include <math.h>
#include <string.h>

char *
wsb_json_escape (const char *s)
{
  GString *out;

  if (!g_utf8_validate (s, -1, NULL))
    return NULL;
  out = g_string_sized_new (strlen (s) + 8);
  for (const guchar *p = (const guchar *) s; *p; p++)
    switch (*p)
      {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\b':
          g_string_append (out, "\\b");
          break;
        case '\f':
          g_string_append (out, "\\f");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04X", *p);
          else
            g_string_append_c (out, (char) *p);
      }
  return g_string_free (out, FALSE);
}

/* d's shortest significant digits (no trailing zeros) into digits, and the
 * decimal exponent n with d = 0.DIGITS × 10^n (ECMA-262's k and n). d is
 * finite, positive. */
static guint
shortest_digits (double d, char *digits, int *n)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint k = 0;
  char *e;

  /* printf's %e rounds correctly: the first precision that reads back is
   * the shortest text of d. */
  for (int precision = 0; precision <= 16; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%de", precision);
      g_ascii_formatd (buf, sizeof buf, format, d);
      if (g_ascii_strtod (buf, NULL) == d)
        break; /* 17 digits always do */
    }
  e = strchr (buf, 'e');
  for (const char *p = buf; p < e; p++)
    if (g_ascii_isdigit (*p))
      digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0')
    k--;
  *n = (int) g_ascii_strtoll (e + 1, NULL, 10) + 1;
  return k;
}

char *
wsb_json_format_double (double d, char *buf)
{
  char digits[24];
  char *out = buf;
  guint k;
  int n;

  if (isnan (d))
    return strcpy (buf, "NaN");
  if (d == 0)
    return strcpy (buf, "0");
  if (d < 0)
    {
      *out++ = '-';
      d = -d;
    }
  if (isinf (d))
    {
      strcpy (out, "Infinity");
      return buf;
    }
  k = shortest_digits (d, digits, &n);
  if ((int) k <= n && n <= 21)
    {
      /* An integer: the digits, then zeros. */
      memcpy (out, digits, k);
      memset (out + k, '0', (gsize) n - k);
      out += n;
    }
  else if (0 < n && n <= 21)
    {
      memcpy (out, digits, (gsize) n);
      out[n] = '.';
      memcpy (out + n + 1, digits + n, k - (gsize) n);
      out += k + 1;
    }
  else if (-6 < n && n <= 0)
    {
      *out++ = '0';
      *out++ = '.';
      memset (out, '0', (gsize) -n);
      out += -n;
      memcpy (out, digits, k);
      out += k;
    }
  else
    {
      *out++ = digits[0];
      if (k > 1)
        {
          *out++ = '.';
          memcpy (out, digits + 1, k - 1);
          out += k - 1;
        }
      out += g_snprintf (out, 8, "e%c%d", n - 1 >= 0 ? '+' : '-', ABS (n - 1));
    }
  *out = '\0';
  return buf;
}
