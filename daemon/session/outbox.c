#include "outbox.h"

#include <string.h>

#include "journal.h"
#include "log.h"
#include "wsb-error.h"

struct _WsbOutbox
{
  char *name; /* the session's, for log lines */
  WsbOutcomeFunc outcome;
  gpointer data;

  GQueue control; /* WsbOutMsg* of the current connection */
  WsbSendQueue queue;
  guint64 ttl_ms;  /* queue_ttl_ms; 0: messages never expire */
  guint n_own_ttl; /* queued messages with a ttl_ms of their own */
  guint ttl_source;
  gint64 ttl_at; /* when ttl_source fires (wall clock µs) */

  WsbOutMsg *in_flight; /* the head of control or queue, being written */
  gboolean in_flight_control;

  WsbJournal *journal;
  guint sync_source;
  gboolean journal_failing; /* since the last successful sync (logged once) */
};

static void arm_ttl (WsbOutbox *ob);

const char *
wsb_send_result_to_string (WsbSendResult result)
{
  switch (result)
    {
      case WSB_SEND_SENT:
        return "sent";
      case WSB_SEND_EXPIRED:
        return "expired";
      case WSB_SEND_CANCELLED:
        return "cancelled";
    }
  return "unknown";
}

static void
clear_source (guint *id)
{
  if (*id)
    g_source_remove (*id);
  *id = 0;
}

/* ----------------------------------------------------------------- journal */

/* The first failure of a streak is a warning, the rest are debug messages. */
static void
journal_failed (WsbOutbox *ob, const GError *error)
{
  wsb_session_log (ob->name, ob->journal_failing ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_WARNING,
                   "%s: queue_persist: %s", ob->name, error->message);
  ob->journal_failing = TRUE;
}

static gboolean
on_sync (gpointer data)
{
  WsbOutbox *ob = data;
  g_autoptr (GError) error = NULL;

  ob->sync_source = 0;
  if (!ob->journal)
    return G_SOURCE_REMOVE;
  if (!wsb_journal_sync (ob->journal, &error))
    {
      /* E.g. a full disk: try again, so the journal catches up (and forgets
       * sends already out) as soon as there is room, not at the next send. */
      journal_failed (ob, error);
      ob->sync_source = g_timeout_add_seconds (1, on_sync, ob);
      return G_SOURCE_REMOVE;
    }
  if (ob->journal_failing && !wsb_journal_needs_sync (ob->journal))
    {
      wsb_session_log (ob->name, G_LOG_LEVEL_MESSAGE,
                       "%s: queue_persist: the journal %s is written again", ob->name,
                       wsb_journal_path (ob->journal));
      ob->journal_failing = FALSE;
    }
  return G_SOURCE_REMOVE;
}

/* One fsync per main-loop batch, not one per message. */
static void
schedule_sync (WsbOutbox *ob)
{
  if (!ob->sync_source)
    ob->sync_source = g_idle_add_full (G_PRIORITY_DEFAULT, on_sync, ob, NULL);
}

static gboolean
journal_add (WsbOutbox *ob, WsbOutMsg *m, GError **error)
{
  if (!ob->journal)
    return TRUE;
  schedule_sync (ob);
  return wsb_journal_append (ob->journal, m->id, m->binary, m->queued_us, m->ttl_ms, m->data,
                             m->len, error);
}

/* For messages queued before the journal opened: a failure is logged. */
static void
journal_add_logged (WsbOutbox *ob, WsbOutMsg *m)
{
  g_autoptr (GError) error = NULL;

  if (!journal_add (ob, m, &error))
    journal_failed (ob, error);
}

static void
journal_done (WsbOutbox *ob, guint64 id)
{
  g_autoptr (GError) error = NULL;

  if (!ob->journal)
    return;
  /* On failure the journal forgets id anyway and rewrites itself at the
   * next sync, so a send that went out is never replayed. */
  if (!wsb_journal_done (ob->journal, id, &error))
    journal_failed (ob, error);
  schedule_sync (ob);
}

gboolean
wsb_outbox_set_journal (WsbOutbox *ob, const char *path, GError **error)
{
  g_autoptr (GPtrArray) entries = NULL;
  g_autofree char *warning = NULL;
  g_autoptr (GError) err = NULL;
  WsbJournal *j;

  if (!path)
    {
      clear_source (&ob->sync_source);
      if (ob->journal && !wsb_journal_remove (g_steal_pointer (&ob->journal), &err))
        wsb_session_log (ob->name, G_LOG_LEVEL_WARNING, "%s: queue_persist: %s", ob->name,
                         err->message);
      return TRUE;
    }
  if (ob->journal)
    return TRUE;
  j = wsb_journal_open (path, &entries, &warning, error);
  if (!j)
    return FALSE;
  if (warning)
    wsb_session_log (ob->name, G_LOG_LEVEL_WARNING, "%s: queue_persist: %s", ob->name, warning);
  ob->journal = j;
  /* The journal's messages are from an earlier run whose clients never saw
   * their ids: they are all marked done, then journaled again after what is
   * queued now, under new ids (so no new id can meet a live old one). */
  for (guint i = 0; i < entries->len; i++)
    journal_done (ob, ((WsbJournalEntry *) g_ptr_array_index (entries, i))->id);
  for (GList *l = ob->queue.items.head; l; l = l->next)
    journal_add_logged (ob, l->data);
  for (guint i = 0; i < entries->len; i++)
    {
      WsbJournalEntry *e = g_ptr_array_index (entries, i);
      gsize len;
      const guint8 *data = g_bytes_get_data (e->data, &len);
      WsbOutMsg *m = wsb_out_msg_new (ob->queue.next_id, e->binary, e->queued_us, data, len);

      m->ttl_ms = e->ttl_ms;
      ob->n_own_ttl += e->ttl_ms ? 1 : 0;
      wsb_send_queue_restore (&ob->queue, m);
      journal_add_logged (ob, m);
    }
  arm_ttl (ob);
  if (entries->len)
    wsb_session_log (ob->name, G_LOG_LEVEL_MESSAGE, "%s: %u queued message%s restored from %s",
                     ob->name, entries->len, entries->len == 1 ? "" : "s", path);
  return TRUE;
}

/* --------------------------------------------------------------------- ttl */

static void
finish (WsbOutbox *ob, WsbOutMsg *m, WsbSendResult result, const char *reason)
{
  journal_done (ob, m->id);
  ob->outcome (m->id, result, reason, ob->data);
  g_free (m);
}

/* When m expires (wall clock µs), or G_MAXINT64. */
static gint64
deadline (WsbOutbox *ob, const WsbOutMsg *m)
{
  guint64 ttl = m->ttl_ms ? m->ttl_ms : ob->ttl_ms;

  return ttl ? m->queued_us + (gint64) ttl * 1000 : G_MAXINT64;
}

static void
expire_link (WsbOutbox *ob, GList *l)
{
  WsbOutMsg *m = wsb_send_queue_remove_link (&ob->queue, l);
  g_autofree char *why = g_strdup_printf ("not sent within %s (%" G_GUINT64_FORMAT " ms)",
                                          m->ttl_ms ? "its ttl_ms" : "queue_ttl_ms",
                                          m->ttl_ms ? (guint64) m->ttl_ms : ob->ttl_ms);

  if (m->ttl_ms)
    ob->n_own_ttl--;
  finish (ob, m, WSB_SEND_EXPIRED, why);
}

/* The first message that may expire: a message being written is past
 * expiring, the ones behind it are not. */
static GList *
first_expirable (WsbOutbox *ob)
{
  GList *l = ob->queue.items.head;

  return l && l->data == ob->in_flight ? l->next : l;
}

static void
expire (WsbOutbox *ob)
{
  gint64 now = g_get_real_time ();
  GList *l;

  if (!ob->ttl_ms && !ob->n_own_ttl)
    return;
  /* With one TTL for all, deadlines follow the FIFO order: look at the front. */
  if (!ob->n_own_ttl)
    {
      while ((l = first_expirable (ob)) && deadline (ob, l->data) <= now)
        expire_link (ob, l);
      return;
    }
  for (l = first_expirable (ob); l;)
    {
      GList *next = l->next;
      if (deadline (ob, l->data) <= now)
        expire_link (ob, l);
      l = next;
    }
}

static gboolean
on_ttl (gpointer data)
{
  WsbOutbox *ob = data;

  ob->ttl_source = 0;
  expire (ob);
  arm_ttl (ob);
  return G_SOURCE_REMOVE;
}

static void
arm_at (WsbOutbox *ob, gint64 when)
{
  gint64 wait_ms = (when - g_get_real_time () + 999) / 1000;

  clear_source (&ob->ttl_source);
  ob->ttl_at = when;
  ob->ttl_source = g_timeout_add ((guint) CLAMP (wait_ms, 0, G_MAXINT), on_ttl, ob);
}

/* One timer per session, at the earliest deadline: the front message's
 * when every message has the session's TTL, else the earliest of all (the
 * timer firing early is harmless: it looks and arms again). */
static void
arm_ttl (WsbOutbox *ob)
{
  gint64 when = G_MAXINT64;

  clear_source (&ob->ttl_source);
  for (GList *l = first_expirable (ob); l; l = ob->n_own_ttl ? l->next : NULL)
    when = MIN (when, deadline (ob, l->data));
  if (when != G_MAXINT64)
    arm_at (ob, when);
}

/* ------------------------------------------------------------------- queue */

WsbOutbox *
wsb_outbox_new (const WsbSessionConfig *cfg, WsbOutcomeFunc outcome, gpointer data)
{
  WsbOutbox *ob = g_new0 (WsbOutbox, 1);

  ob->name = g_strdup (cfg->name);
  ob->outcome = outcome;
  ob->data = data;
  g_queue_init (&ob->control);
  wsb_send_queue_init (&ob->queue, cfg->queue_max_messages, cfg->queue_max_bytes);
  wsb_outbox_configure (ob, cfg);
  return ob;
}

void
wsb_outbox_free (WsbOutbox *ob)
{
  if (!ob)
    return;
  clear_source (&ob->ttl_source);
  clear_source (&ob->sync_source);
  /* Synced here, so that a failure is logged as this session's. */
  if (ob->journal && wsb_journal_needs_sync (ob->journal))
    on_sync (ob);
  clear_source (&ob->sync_source); /* the retry a failure arms */
  g_clear_pointer (&ob->journal, wsb_journal_close);
  g_queue_clear_full (&ob->control, g_free);
  wsb_send_queue_clear (&ob->queue);
  g_free (ob->name);
  g_free (ob);
}

void
wsb_outbox_configure (WsbOutbox *ob, const WsbSessionConfig *cfg)
{
  ob->queue.max_messages = cfg->queue_max_messages;
  ob->queue.max_bytes = cfg->queue_max_bytes;
  ob->ttl_ms = cfg->queue_ttl_ms;
  expire (ob);
  arm_ttl (ob);
}

gboolean
wsb_outbox_push (WsbOutbox *ob, const guint8 *data, gsize len, gboolean binary, guint32 ttl_ms,
                 guint64 *id, GError **error)
{
  gboolean was_empty = wsb_send_queue_length (&ob->queue) == 0;
  g_autoptr (GError) err = NULL;
  WsbOutMsg *m;

  if (!wsb_send_queue_push (&ob->queue, data, len, binary, g_get_real_time (), id, error))
    return FALSE;
  m = ob->queue.items.tail->data;
  m->ttl_ms = ttl_ms;
  /* queue_persist promises that an accepted send survives a restart: one
   * the journal cannot take (a full disk) is refused, not kept in memory. */
  if (!journal_add (ob, m, &err))
    {
      journal_failed (ob, err);
      g_free (wsb_send_queue_remove_link (&ob->queue, ob->queue.items.tail));
      g_set_error (error, WSB_ERROR, WSB_ERROR_QUEUE_FULL,
                   "queue_persist: the journal cannot take this send: %s", err->message);
      return FALSE;
    }
  ob->n_own_ttl += ttl_ms ? 1 : 0;
  if (was_empty)
    arm_ttl (ob);
  else if (deadline (ob, m) < (ob->ttl_source ? ob->ttl_at : G_MAXINT64))
    arm_at (ob, deadline (ob, m));
  return TRUE;
}

void
wsb_outbox_push_control (WsbOutbox *ob, const char *text)
{
  g_queue_push_tail (&ob->control,
                     wsb_out_msg_new (0, FALSE, 0, (const guint8 *) text, strlen (text)));
}

void
wsb_outbox_connection_ended (WsbOutbox *ob)
{
  g_queue_clear_full (&ob->control, g_free);
  g_queue_init (&ob->control);
  ob->in_flight = NULL;
  ob->in_flight_control = FALSE;
  arm_ttl (ob);
}

WsbOutMsg *
wsb_outbox_begin (WsbOutbox *ob)
{
  if (ob->in_flight)
    return NULL;
  if (!g_queue_is_empty (&ob->control))
    {
      ob->in_flight_control = TRUE;
      ob->in_flight = g_queue_peek_head (&ob->control);
      return ob->in_flight;
    }
  expire (ob);
  ob->in_flight = wsb_send_queue_peek (&ob->queue);
  return ob->in_flight;
}

gboolean
wsb_outbox_written (WsbOutbox *ob)
{
  WsbOutMsg *m = ob->in_flight;

  if (!m)
    return FALSE;
  ob->in_flight = NULL;
  if (ob->in_flight_control)
    {
      ob->in_flight_control = FALSE;
      g_free (g_queue_pop_head (&ob->control));
      return FALSE;
    }
  m = wsb_send_queue_pop (&ob->queue);
  ob->n_own_ttl -= m->ttl_ms ? 1 : 0;
  finish (ob, m, WSB_SEND_SENT, NULL);
  arm_ttl (ob);
  return TRUE;
}

gboolean
wsb_outbox_in_flight (WsbOutbox *ob)
{
  return ob->in_flight != NULL;
}

void
wsb_outbox_cancel_all (WsbOutbox *ob, const char *reason)
{
  WsbOutMsg *m;

  ob->in_flight = NULL;
  ob->in_flight_control = FALSE;
  while ((m = wsb_send_queue_pop (&ob->queue)))
    finish (ob, m, WSB_SEND_CANCELLED, reason);
  ob->n_own_ttl = 0;
  clear_source (&ob->ttl_source);
}

guint
wsb_outbox_length (WsbOutbox *ob)
{
  return wsb_send_queue_length (&ob->queue);
}

gboolean
wsb_outbox_has_pending (WsbOutbox *ob)
{
  return !g_queue_is_empty (&ob->control) || wsb_send_queue_length (&ob->queue) > 0;
}
