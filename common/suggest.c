#include "suggest.h"

#include <string.h>

/* Levenshtein distance with adjacent transpositions counted as one edit
 * ("pign" for "ping"), capped at limit + 1 to stay cheap. */
static guint
distance (const char *a, const char *b, guint limit)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *prev2 = g_new0 (guint, lb + 1);
  g_autofree guint *prev = g_new0 (guint, lb + 1);
  g_autofree guint *cur = g_new0 (guint, lb + 1);

  if ((la > lb ? la - lb : lb - la) > limit)
    return limit + 1;
  for (gsize j = 0; j <= lb; j++)
    prev[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint row_min;

      cur[0] = (guint) i;
      row_min = cur[0];
      for (gsize j = 1; j <= lb; j++)
        {
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
          guint v = MIN (MIN (prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
          if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
            v = MIN (v, prev2[j - 2] + 1);
          cur[j] = v;
          row_min = MIN (row_min, v);
        }
      if (row_min > limit)
        return limit + 1;
      {
        guint *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
      }
    }
  return prev[lb];
}

const char *
wsb_suggest (const char *word, const char *const *candidates)
{
  const char *best = NULL;
  guint best_d = 3;
  guint limit = MIN (2, (guint) (strlen (word) - 1) / 2);

  if (!*word)
    return NULL;
  for (guint i = 0; candidates && candidates[i]; i++)
    {
      guint d = distance (word, candidates[i], limit);
      if (d <= limit && d < best_d)
        {
          best = candidates[i];
          best_d = d;
        }
    }
  return best;
}
