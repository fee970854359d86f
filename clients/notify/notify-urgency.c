#include "notify-urgency.h"

#include <errno.h>
#include <math.h>
#include <string.h>

typedef struct
{
  char *text; /* NULL: a range */
  gint64 lo, hi;
  WsbNotifyUrgency urgency;
} Entry;

struct _WsbNotifyUrgencyMap
{
  GArray *entries; /* of Entry */
};

static const char *const names[] = { "low", "normal", "critical" };

gboolean
wsb_notify_urgency_parse (const char *text, WsbNotifyUrgency *urgency)
{
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (text, names[i]) == 0 || ((guint) text[0] == '0' + i && !text[1]))
      {
        *urgency = (WsbNotifyUrgency) i;
        return TRUE;
      }
  return FALSE;
}

static void
entry_clear (Entry *e)
{
  g_free (e->text);
}

void
wsb_notify_urgency_map_free (WsbNotifyUrgencyMap *m)
{
  if (!m)
    return;
  g_array_unref (m->entries);
  g_free (m);
}

/* A whole number with an optional sign, nothing else. */
static gboolean
whole_number (const char *text, gint64 *out)
{
  return g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, out, NULL);
}

/* "A-B" with A <= B, A possibly negative ("-3--1" is a range too). */
static gboolean
range (const char *key, gint64 *lo, gint64 *hi)
{
  const char *dash = strchr (key + (key[0] == '-'), '-');
  g_autofree char *first = NULL;

  if (!dash)
    return whole_number (key, lo) && (*hi = *lo, TRUE);
  first = g_strndup (key, (gsize) (dash - key));
  return whole_number (first, lo) && whole_number (dash + 1, hi) && *lo <= *hi;
}

static gboolean
bad (GError **error, const char *entry, const char *why)
{
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "\"%s\": %s", entry, why);
  return FALSE;
}

static gboolean
add_entry (WsbNotifyUrgencyMap *m, const char *entry, GError **error)
{
  const char *colon = strrchr (entry, ':');
  Entry e = { 0 };
  g_autofree char *key = NULL;

  if (!colon)
    return bad (error, entry, "expected KEY:URGENCY");
  key = g_strstrip (g_strndup (entry, (gsize) (colon - entry)));
  if (!*key || strchr (key, ':'))
    return bad (error, entry, "expected KEY:URGENCY");
  if (!wsb_notify_urgency_parse (colon + 1, &e.urgency))
    return bad (error, entry, "the urgency is not low, normal, critical, 0, 1 or 2");
  if (!range (key, &e.lo, &e.hi))
    {
      if ((g_ascii_isdigit (key[0]) || key[0] == '-')
          && strspn (key, "-0123456789") == strlen (key))
        return bad (error, entry, "not a range of whole numbers from low to high");
      e.text = g_steal_pointer (&key);
    }
  g_array_append_val (m->entries, e);
  return TRUE;
}

WsbNotifyUrgencyMap *
wsb_notify_urgency_map_new (const char *text, GError **error)
{
  g_autoptr (WsbNotifyUrgencyMap) m = g_new0 (WsbNotifyUrgencyMap, 1);
  g_auto (GStrv) entries = g_strsplit (text, ",", -1);

  m->entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_array_set_clear_func (m->entries, (GDestroyNotify) entry_clear);
  for (char **p = entries; *p; p++)
    {
      g_strstrip (*p);
      if (!add_entry (m, *p, error))
        return NULL;
    }
  if (m->entries->len == 0)
    {
      bad (error, text, "empty");
      return NULL;
    }
  return g_steal_pointer (&m);
}

/* value as a whole number: an integer, or a number without a fraction. */
static gboolean
value_number (const char *value, gint64 *out)
{
  char *end = NULL;
  double d;

  if (whole_number (value, out))
    return TRUE;
  errno = 0;
  d = g_ascii_strtod (value, &end);
  if (!*value || *end || errno || !isfinite (d) || d != floor (d) || fabs (d) > 9e15)
    return FALSE;
  *out = (gint64) d;
  return TRUE;
}

gboolean
wsb_notify_urgency_map_lookup (const WsbNotifyUrgencyMap *m, const char *value,
                               WsbNotifyUrgency *urgency)
{
  gint64 n;
  gboolean numeric = value_number (value, &n);

  for (guint i = 0; i < m->entries->len; i++)
    {
      const Entry *e = &g_array_index (m->entries, Entry, i);

      if (e->text && strcmp (e->text, value) == 0)
        {
          *urgency = e->urgency;
          return TRUE;
        }
    }
  for (guint i = 0; numeric && i < m->entries->len; i++)
    {
      const Entry *e = &g_array_index (m->entries, Entry, i);

      if (!e->text && n >= e->lo && n <= e->hi)
        {
          *urgency = e->urgency;
          return TRUE;
        }
    }
  return FALSE;
}
