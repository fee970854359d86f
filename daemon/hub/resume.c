#include "resume.h"

#include <string.h>

#include "router.h"

struct _WsbResume
{
  WsbRouter *id;     /* resume_pointer */
  WsbRouter *filter; /* the pointer of resume_filter, or NULL */
  char *filter_value;
  char *last;
  GQueue recent;    /* char*: the newest ids, oldest first */
  GHashTable *seen; /* the same strings */
};

WsbResume *
wsb_resume_new (const WsbSessionConfig *cfg)
{
  WsbResume *r;

  if (!cfg->resume_pointer)
    return NULL;
  r = g_new0 (WsbResume, 1);
  r->id = wsb_router_new (cfg->resume_pointer, NULL);
  if (cfg->resume_filter)
    {
      const char *eq = strchr (cfg->resume_filter, '=');
      g_autofree char *pointer = g_strndup (cfg->resume_filter, (gsize) (eq - cfg->resume_filter));

      r->filter = wsb_router_new (pointer, NULL);
      r->filter_value = g_strdup (eq + 1);
    }
  g_queue_init (&r->recent);
  r->seen = g_hash_table_new (g_str_hash, g_str_equal);
  return r;
}

void
wsb_resume_free (WsbResume *r)
{
  if (!r)
    return;
  g_clear_pointer (&r->id, wsb_router_free);
  g_clear_pointer (&r->filter, wsb_router_free);
  g_free (r->filter_value);
  g_free (r->last);
  g_hash_table_unref (r->seen);
  g_queue_clear_full (&r->recent, g_free);
  g_free (r);
}

static gboolean
matches (WsbResume *r, const char *data, gsize len)
{
  g_autofree char *value = NULL;

  if (!r->filter)
    return TRUE;
  value = wsb_router_route (r->filter, data, len);
  return value && g_str_equal (value, r->filter_value);
}

gboolean
wsb_resume_take (WsbResume *r, const char *data, gsize len, gboolean *advanced)
{
  g_autofree char *id = NULL;

  *advanced = FALSE;
  if (!matches (r, data, len) || !(id = wsb_router_route (r->id, data, len)))
    return TRUE;
  if (g_hash_table_contains (r->seen, id))
    return FALSE;
  if (r->recent.length >= WSB_RESUME_RECENT_IDS)
    {
      char *oldest = g_queue_pop_head (&r->recent);
      g_hash_table_remove (r->seen, oldest);
      g_free (oldest);
    }
  g_queue_push_tail (&r->recent, g_strdup (id));
  g_hash_table_add (r->seen, g_queue_peek_tail (&r->recent));
  g_free (r->last);
  r->last = g_steal_pointer (&id);
  *advanced = TRUE;
  return TRUE;
}

const char *
wsb_resume_last_id (const WsbResume *r)
{
  return r->last;
}

void
wsb_resume_set_last_id (WsbResume *r, const char *id)
{
  g_free (r->last);
  r->last = g_strdup (id);
}
