#include "notify-markdown.h"

#include <string.h>

#include "notify-message.h"
#include "notify-text.h"

typedef struct
{
  GString *out;
  gboolean markup;
  const char *start; /* of the line, so that p[-1] is looked at only after it */
} Out;

static void
put_text (Out *o, const char *text, gsize len)
{
  g_autofree char *part = g_strndup (text, len);
  g_autofree char *escaped = NULL;

  if (!o->markup)
    {
      g_string_append (o->out, part);
      return;
    }
  escaped = wsb_notify_text_escape (part);
  g_string_append (o->out, escaped);
}

static void
put_tag (Out *o, const char *tag)
{
  if (o->markup)
    g_string_append (o->out, tag);
}

static void render_inline (Out *o, const char *p, gsize len);

/* The end of the first run of delim (of n characters) at or after from that
 * closes an emphasis: not preceded by white space. */
static const char *
closing (const char *from, const char *end, const char *delim, gsize n)
{
  for (const char *q = from; q + n <= end; q++)
    if (memcmp (q, delim, n) == 0 && q > from && q[-1] != ' ' && q[-1] != '\n')
      return q;
  return NULL;
}

/* [label](url): the length taken, or 0 when p starts no link. */
static gsize
md_link (Out *o, const char *p, const char *end)
{
  const char *label_end = memchr (p, ']', (gsize) (end - p));
  const char *url_end;
  g_autofree char *url = NULL;

  if (!label_end || label_end + 1 >= end || label_end[1] != '(')
    return 0;
  url_end = memchr (label_end + 2, ')', (gsize) (end - label_end - 2));
  if (!url_end)
    return 0;
  url = g_strndup (label_end + 2, (gsize) (url_end - label_end - 2));
  if (!wsb_notify_url_check (url))
    render_inline (o, p + 1, (gsize) (label_end - p - 1));
  else if (o->markup)
    {
      g_autofree char *href = wsb_notify_text_escape (url);
      g_autoptr (GString) quoted = g_string_new (href);

      g_string_replace (quoted, "\"", "&quot;", 0);
      g_string_append_printf (o->out, "<a href=\"%s\">", quoted->str);
      render_inline (o, p + 1, (gsize) (label_end - p - 1));
      g_string_append (o->out, "</a>");
    }
  else
    {
      render_inline (o, p + 1, (gsize) (label_end - p - 1));
      g_string_append_printf (o->out, " (%s)", url);
    }
  return (gsize) (url_end + 1 - p);
}

static void
render_inline (Out *o, const char *p, gsize len)
{
  const char *end = p + len;

  while (p < end)
    {
      static const struct
      {
        const char *delim, *open, *close;
      } emphasis[] = {
        { "**", "<b>", "</b>" },
        { "__", "<b>", "</b>" },
        { "*", "<i>", "</i>" },
        { "_", "<i>", "</i>" },
      };
      gsize taken = 0;

      if (*p == '\\' && p + 1 < end && strchr ("\\`*_[]()#-!", p[1]))
        {
          put_text (o, p + 1, 1);
          p += 2;
          continue;
        }
      if (*p == '`')
        {
          const char *close = memchr (p + 1, '`', (gsize) (end - p - 1));

          if (close)
            {
              put_text (o, p + 1, (gsize) (close - p - 1));
              p = close + 1;
              continue;
            }
        }
      if (*p == '[' && (taken = md_link (o, p, end)))
        {
          p += taken;
          continue;
        }
      for (guint i = 0; i < G_N_ELEMENTS (emphasis) && !taken; i++)
        {
          gsize n = strlen (emphasis[i].delim);
          const char *close;

          if ((gsize) (end - p) <= n * 2 || strncmp (p, emphasis[i].delim, n) != 0 || p[n] == ' '
              || p[n] == '\n')
            continue;
          close = closing (p + n, end, emphasis[i].delim, n);
          /* snake_case_names are not emphasis. */
          if (close && emphasis[i].delim[0] == '_'
              && ((p > o->start && g_ascii_isalnum (p[-1]))
                  || (close + n < end && g_ascii_isalnum (close[n]))))
            close = NULL;
          if (!close)
            continue;
          put_tag (o, emphasis[i].open);
          render_inline (o, p + n, (gsize) (close - p - n));
          put_tag (o, emphasis[i].close);
          taken = (gsize) (close + n - p);
        }
      if (taken)
        {
          p += taken;
          continue;
        }
      put_text (o, p, (gsize) (g_utf8_next_char (p) - p));
      p = g_utf8_next_char (p);
    }
}

/* One line: a heading in bold, a list item with a bullet. */
static void
render_line (Out *o, const char *line)
{
  gsize hashes = strspn (line, "#");

  o->start = line;
  if (hashes >= 1 && hashes <= 6 && line[hashes] == ' ')
    {
      put_tag (o, "<b>");
      render_inline (o, line + hashes + 1, strlen (line + hashes + 1));
      put_tag (o, "</b>");
      return;
    }
  if ((line[0] == '-' || line[0] == '*' || line[0] == '+') && line[1] == ' ')
    {
      g_string_append (o->out, "\u2022 ");
      line += 2;
    }
  render_inline (o, line, strlen (line));
}

char *
wsb_notify_markdown_render (const char *text, gboolean markup)
{
  Out o = { g_string_sized_new (strlen (text) + 16), markup, NULL };
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (char **l = lines; *l; l++)
    {
      if (l != lines)
        g_string_append_c (o.out, '\n');
      render_line (&o, *l);
    }
  return g_string_free (o.out, FALSE);
}
