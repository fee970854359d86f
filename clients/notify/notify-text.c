#include "notify-text.h"

#include <string.h>

#define ELLIPSIS "\u2026"

static gboolean
is_space (gunichar c)
{
  return c == ' ' || c == '\n';
}

char *
wsb_notify_text_clean (const char *data, gssize len, guint max_chars, gboolean multiline)
{
  gsize cap = ((gsize) max_chars + 1) * 4;
  g_autofree char *valid = NULL;
  GString *out;
  guint chars = 0;
  gsize keep = 0; /* bytes of out up to its last non-space character */
  gsize cut = 0;  /* bytes of out holding its first max_chars - 1 characters */
  gboolean long_text = FALSE;

  g_return_val_if_fail (max_chars >= 2, NULL);
  if (len < 0)
    len = (gssize) strlen (data);
  /* Each character takes at most 4 bytes, so this prefix holds more than
   * max_chars characters whenever it is cut; a sequence cut in two here
   * lies past what is kept. */
  valid = g_utf8_make_valid (data, MIN ((gsize) len, cap));
  out = g_string_sized_new (MIN (strlen (valid), cap));
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\r')
        {
          c = '\n';
          if (p[1] == '\n')
            p++;
        }
      if (c == '\n' && !multiline)
        c = ' ';
      else if (c != '\n' && g_unichar_iscntrl (c))
        c = ' ';
      if (is_space (c) && chars == 0)
        continue; /* leading white space */
      if (chars == max_chars)
        {
          if (is_space (c))
            continue; /* trailing white space does not make the text long */
          long_text = TRUE;
          break;
        }
      g_string_append_unichar (out, c);
      if (++chars == max_chars - 1)
        cut = out->len;
      if (!is_space (c))
        keep = out->len;
    }
  if (long_text)
    {
      g_string_truncate (out, cut);
      while (out->len > 0 && is_space ((guchar) out->str[out->len - 1]))
        g_string_truncate (out, out->len - 1);
      g_string_append (out, ELLIPSIS);
    }
  else
    g_string_truncate (out, keep);
  return g_string_free (out, FALSE);
}

char *
wsb_notify_text_escape (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));

  for (const char *p = text; *p; p++)
    {
      switch (*p)
        {
          case '&':
            g_string_append (out, "&amp;");
            break;
          case '<':
            g_string_append (out, "&lt;");
            break;
          case '>':
            g_string_append (out, "&gt;");
            break;
          default:
            g_string_append_c (out, *p);
        }
    }
  return g_string_free (out, FALSE);
}

char *
wsb_notify_text_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  gsize len = strlen (digits);
  GString *out = g_string_sized_new (len + len / 3);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (out, FALSE);
}
