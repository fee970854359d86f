/* The hub: the table of sessions (from files and created at runtime, with
 * reload and removal), their seq and epoch, status, and the listeners
 * frontends register. Channels are hub-channels.c's, delivery
 * hub-delivery.c's, subscriptions hub-subscriptions.c's, sends and their
 * outcomes hub-send.c's, shutdown hub-shutdown.c's. */
#include "hub-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "router.h"
#include "session-store.h"
#include "wsb-error.h"

/* Epochs stay below 2^53 so that every JSON consumer reads them exactly. */
#define EPOCH_MASK ((G_GUINT64_CONSTANT (1) << 53) - 1)

static guint64
new_epoch (void)
{
  guint64 e;

  do
    e = (((guint64) g_random_int () << 32) | g_random_int ()) & EPOCH_MASK;
  while (e == 0);
  return e;
}

void
hub_fill_status (HubSession *hs, WsbSessionStatus *st)
{
  const WsbSessionConfig *cfg = hs->hub->ops->get_config (hs->session);
  const char *close_reason;

  st->name = g_strdup (cfg->name);
  st->url = wsb_url_redact (cfg->url);
  st->state = hs->hub->ops->get_state (hs->session);
  st->reason = g_strdup (hs->hub->ops->get_reason (hs->session));
  st->epoch = hs->epoch;
  st->last_seq = hs->last_seq;
  hs->hub->ops->get_stats (hs->session, &st->stats);
  st->close_code = hs->hub->ops->get_last_close (hs->session, &close_reason);
  st->close_reason = g_strdup (close_reason);
}

void
wsb_session_status_clear (WsbSessionStatus *st)
{
  g_free (st->name);
  g_free (st->url);
  g_free (st->reason);
  g_free (st->close_reason);
  memset (st, 0, sizeof *st);
}

WsbStateEvent *
wsb_state_event_ref (WsbStateEvent *ev)
{
  ev->ref++;
  return ev;
}

void
wsb_state_event_unref (WsbStateEvent *ev)
{
  if (!ev || --ev->ref > 0)
    return;
  wsb_session_status_clear (&ev->status);
  g_free (ev);
}

static void hub_session_free (HubSession *hs);

static gboolean
free_removed (gpointer data)
{
  HubSession *hs = data;

  hs->hub->removed = g_list_remove (hs->hub->removed, hs);
  hub_session_free (hs);
  return G_SOURCE_REMOVE;
}

static void
maybe_free_removed (HubSession *hs)
{
  if (!hs->free_id && hs->hub->ops->get_state (hs->session) == WSB_STATE_DISCONNECTED
      && !hs->hub->ops->has_connection (hs->session))
    hs->free_id = g_idle_add_full (G_PRIORITY_DEFAULT, free_removed, hs, NULL);
}

static void
on_session_state (WsbSession *s, gpointer user_data)
{
  HubSession *hs = user_data;

  /* A read that ended the connection has no batch end: its time goes here. */
  hs->read_time = 0;
  if (hs->removed)
    maybe_free_removed (hs);
  else
    hub_state_changed (hs);
}

static void
on_send_done (WsbSession *s, guint64 id, WsbSendResult result, const char *reason,
              gpointer user_data)
{
  hub_send_done (user_data, id, result, reason);
}

static void
call_flush (gconstpointer funcs, gpointer data, gpointer arg)
{
  ((const WsbHubFlushFuncs *) funcs)->flush (data);
}

static void
on_batch_end (WsbSession *s, gpointer user_data)
{
  HubSession *hs = user_data;

  hs->read_time = 0;
  wsb_listeners_emit (hs->hub->flush_listeners, call_flush, NULL);
}

static void
on_connection_ended (WsbSession *s, gpointer user_data)
{
  HubSession *hs = user_data;

  if (!hs->removed)
    hub_shutdown_connection_ended (hs->hub);
}

static const WsbSessionEvents session_events = {
  .state_changed = on_session_state,
  .message = hub_on_message,
  .batch_end = on_batch_end,
  .send_done = on_send_done,
  .connection_ended = on_connection_ended,
};

static char *
journal_path (WsbHub *hub, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".journal", NULL);

  return g_build_filename (hub->state_dir, "queues", file, NULL);
}

/* Routing, history limits and the journal follow the configuration. */
static void
configure (HubSession *hs, const WsbSessionConfig *cfg)
{
  g_autofree char *path = journal_path (hs->hub, cfg->name);
  g_autoptr (GError) error = NULL;
  GHashTableIter it;
  HubChannel *ch;

  g_clear_pointer (&hs->router, wsb_router_free);
  hs->opening_max = (guint) cfg->opening_messages;
  hs->opening_window_us = (gint64) cfg->opening_window_ms * 1000;
  hub_resume_configure (hs, cfg);
  if (cfg->channel_key)
    hs->router = wsb_router_new (cfg->channel_key, NULL);
  g_hash_table_iter_init (&it, hs->channels);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &ch))
    if (ch->history)
      wsb_history_set_limits (ch->history, cfg->history_messages, cfg->history_bytes);
  if (cfg->queue_persist)
    {
      if (!hs->hub->ops->set_journal (hs->session, path, &error))
        wsb_session_log (cfg->name, G_LOG_LEVEL_WARNING,
                         "%s: queue_persist: %s; the queue is kept in memory only", cfg->name,
                         error->message);
    }
  else
    {
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        wsb_session_log (cfg->name, G_LOG_LEVEL_WARNING,
                         "%s: %s holds queued messages of an earlier run, but queue_persist is "
                         "off: they are not sent",
                         cfg->name, path);
      hs->hub->ops->set_journal (hs->session, NULL, NULL);
    }
}

static void
hold (WsbHub *hub, HubSession *hs, uid_t holder)
{
  gpointer key = GUINT_TO_POINTER (holder);

  hs->holder = holder;
  if (holder != (uid_t) -1)
    g_hash_table_insert (
        hub->held, key,
        GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (hub->held, key)) + 1));
}

static void
let_go (WsbHub *hub, HubSession *hs)
{
  gpointer key = GUINT_TO_POINTER (hs->holder);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (hub->held, key));

  if (hs->holder == (uid_t) -1)
    return;
  if (n > 1)
    g_hash_table_insert (hub->held, key, GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (hub->held, key);
  hs->holder = (uid_t) -1;
}

static guint
held_by (WsbHub *hub, uid_t holder)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (hub->held, GUINT_TO_POINTER (holder)));
}

static void
hub_session_free (HubSession *hs)
{
  hub_resume_finish (hs);
  hub_sends_forget (hs);
  hs->hub->ops->free (hs->session);
  /* The LRU links live inside the channels, which go with the table. */
  g_hash_table_unref (hs->channels);
  g_ptr_array_unref (hs->opening);
  g_ptr_array_unref (hs->opening_channels);
  g_clear_pointer (&hs->router, wsb_router_free);
  g_free (hs);
}

const HubSessionOps hub_real_session_ops = {
  .new = wsb_session_new,
  .free = wsb_session_free,
  .get_config = wsb_session_get_config,
  .get_state = wsb_session_get_state,
  .get_reason = wsb_session_get_reason,
  .get_stats = wsb_session_get_stats,
  .get_last_close = wsb_session_get_last_close,
  .set_resume_id = wsb_session_set_resume_id,
  .connect = wsb_session_connect,
  .close = wsb_session_close,
  .reconfigure = wsb_session_reconfigure,
  .wake = wsb_session_wake,
  .has_connection = wsb_session_has_connection,
  .send = wsb_session_send,
  .send_control = wsb_session_send_control,
  .set_journal = wsb_session_set_journal,
  .cancel_queue = wsb_session_cancel_queue,
};

WsbHub *
wsb_hub_new (WsbUpstream *up, const char *config_dir, const char *state_dir)
{
  return hub_new_with_ops (up, config_dir, state_dir, &hub_real_session_ops);
}

WsbHub *
hub_new_with_ops (WsbUpstream *up, const char *config_dir, const char *state_dir,
                  const HubSessionOps *ops)
{
  WsbHub *hub = g_new0 (WsbHub, 1);

  hub->ops = ops;
  hub->up = up;
  hub->config_dir = g_strdup (config_dir);
  hub->state_dir = g_strdup (state_dir);
  hub->session_listeners = wsb_listeners_new ();
  hub->flush_listeners = wsb_listeners_new ();
  /* Keys are copies: a reload replaces the session's config and its name
   * string with it. */
  hub->sessions
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) hub_session_free);
  hub->held = g_hash_table_new (g_direct_hash, g_direct_equal);
  hub->denials = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  return hub;
}

void
wsb_hub_set_access (WsbHub *hub, WsbAccess *access)
{
  wsb_access_free (hub->access);
  hub->access = access;
}

const WsbAccess *
hub_access (WsbHub *hub)
{
  if (!hub->access)
    {
      g_autoptr (WsbConfig) defaults = wsb_config_new ();
      hub->access = wsb_access_new (FALSE, getuid (), &defaults->daemon);
    }
  return hub->access;
}

void
wsb_hub_free (WsbHub *hub)
{
  if (!hub)
    return;
  for (GList *l = hub->removed; l; l = l->next)
    {
      HubSession *hs = l->data;
      if (hs->free_id)
        g_source_remove (hs->free_id);
      hub_session_free (hs);
    }
  g_list_free (hub->removed);
  g_clear_handle_id (&hub->shutdown_check_id, g_source_remove);
  g_clear_handle_id (&hub->shutdown_grace_id, g_source_remove);
  g_hash_table_unref (hub->sessions);
  g_hash_table_unref (hub->held);
  g_hash_table_unref (hub->denials);
  wsb_access_free (hub->access);
  wsb_listeners_free (hub->session_listeners);
  wsb_listeners_free (hub->flush_listeners);
  g_free (hub->state_dir);
  g_free (hub->config_dir);
  g_free (hub);
}

guint
wsb_hub_add_session_listener (WsbHub *hub, const WsbHubSessionFuncs *funcs, gpointer data)
{
  return wsb_listeners_add (hub->session_listeners, funcs, data);
}

void
wsb_hub_remove_session_listener (WsbHub *hub, guint id)
{
  wsb_listeners_remove (hub->session_listeners, id);
}

static void
call_added (gconstpointer funcs, gpointer data, gpointer session)
{
  const WsbHubSessionFuncs *f = funcs;

  if (f->added)
    f->added (session, data);
}

static void
call_changed (gconstpointer funcs, gpointer data, gpointer session)
{
  const WsbHubSessionFuncs *f = funcs;

  if (f->changed)
    f->changed (session, data);
}

void
hub_tell_changed (WsbHub *hub, const char *session)
{
  wsb_listeners_emit (hub->session_listeners, call_changed, (gpointer) session);
}

guint
wsb_hub_add_flush_listener (WsbHub *hub, const WsbHubFlushFuncs *funcs, gpointer data)
{
  return wsb_listeners_add (hub->flush_listeners, funcs, data);
}

void
wsb_hub_remove_flush_listener (WsbHub *hub, guint id)
{
  wsb_listeners_remove (hub->flush_listeners, id);
}

static void
remove_session (WsbHub *hub, HubSession *hs, const char *why)
{
  gpointer key = NULL;

  wsb_session_log (hs_name (hs), G_LOG_LEVEL_MESSAGE, "%s: %s", hs_name (hs), why);
  /* Subscribers see the session close, then their subscription end. */
  hs->hub->ops->close (hs->session, WSB_CLOSE_GOING_AWAY, "session removed");
  hs->hub->ops->cancel_queue (hs->session, "session removed");
  hs->hub->ops->set_journal (hs->session, NULL, NULL);
  hub_resume_forget (hs);
  g_hash_table_steal_extended (hub->sessions, hs_name (hs), &key, NULL);
  g_free (key);
  let_go (hub, hs);
  hub_end_subscriptions (hs);
  hs->removed = TRUE;
  hub->removed = g_list_prepend (hub->removed, hs);
  maybe_free_removed (hs);
}

static HubSession *
add_session (WsbHub *hub, const WsbSessionConfig *cfg)
{
  HubSession *hs = g_new0 (HubSession, 1);

  hs->hub = hub;
  hs->holder = (uid_t) -1;
  hs->epoch = new_epoch ();
  hs->history_floor = 1;
  g_queue_init (&hs->lru);
  hs->channels
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) hub_channel_free);
  hs->opening = g_ptr_array_new_with_free_func ((GDestroyNotify) wsb_message_unref);
  hs->opening_channels = g_ptr_array_new_with_free_func (g_free);
  hs->session = hub->ops->new (hub->up, cfg, &session_events, hs);
  hs->all = hub_get_channel (hs, "*");
  g_hash_table_insert (hub->sessions, g_strdup (hs_name (hs)), hs);
  configure (hs, cfg);
  wsb_listeners_emit (hub->session_listeners, call_added, (gpointer) hs_name (hs));
  return hs;
}

/* A session of the configuration files; one the daemon persisted counts
 * like the runtime session it was (max_sessions, max_sessions_per_user),
 * and over a limit it is not loaded (logged). */
static HubSession *
add_configured (WsbHub *hub, const WsbSessionConfig *cfg)
{
  g_autoptr (GError) over = NULL;
  uid_t holder = WSB_NO_CREATOR;
  HubSession *hs;

  if (wsb_session_store_owns (cfg->source))
    {
      holder = wsb_session_store_creator (cfg->source);
      if (!wsb_access_within_caps (hub_access (hub), holder, held_by (hub, holder),
                                   g_hash_table_size (hub->sessions), &over))
        {
          wsb_session_log (cfg->name, G_LOG_LEVEL_WARNING, "%s: %s not loaded: %s", cfg->name,
                           cfg->source, over->message);
          return NULL;
        }
    }
  hs = add_session (hub, cfg);
  hold (hub, hs, holder);
  return hs;
}

/* The one error for a session name that is taken, however the session
 * was to be added; where: a file that defines it but is not loaded. */
static void
name_taken (GError **error, const char *name, const char *where)
{
  if (where)
    g_set_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS,
                 "a session named '%s' already exists (%s, not loaded: reload to load it)", name,
                 where);
  else
    g_set_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS, "a session named '%s' already exists",
                 name);
}

gboolean
wsb_hub_add_session (WsbHub *hub, const WsbSessionConfig *cfg, GError **error)
{
  if (g_hash_table_contains (hub->sessions, cfg->name))
    {
      name_taken (error, cfg->name, NULL);
      return FALSE;
    }
  add_configured (hub, cfg);
  return TRUE;
}

void
wsb_hub_apply_config (WsbHub *hub, GPtrArray *sessions)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter it;
  HubSession *hs;

  for (guint i = 0; i < sessions->len; i++)
    {
      WsbSessionConfig *cfg = g_ptr_array_index (sessions, i);
      g_hash_table_insert (wanted, cfg->name, cfg);
    }
  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    if (!hs->runtime && !g_hash_table_contains (wanted, hs_name (hs)))
      g_ptr_array_add (gone, hs);
  for (guint i = 0; i < gone->len; i++)
    remove_session (hub, g_ptr_array_index (gone, i), "session removed");

  for (guint i = 0; i < sessions->len; i++)
    {
      WsbSessionConfig *cfg = g_ptr_array_index (sessions, i);
      hs = g_hash_table_lookup (hub->sessions, cfg->name);
      if (hs && hs->runtime)
        wsb_session_log (cfg->name, G_LOG_LEVEL_WARNING,
                         "%s: %s defines a session that was created at runtime; the runtime "
                         "one stays until it is removed",
                         cfg->name, cfg->source);
      else if (!hs)
        {
          hs = add_configured (hub, cfg);
          if (!hs)
            continue;
          wsb_session_log (cfg->name, G_LOG_LEVEL_MESSAGE, "%s: added by the configuration",
                           cfg->name);
          if (cfg->autoconnect)
            hs->hub->ops->connect (hs->session);
        }
      else if (!wsb_session_config_equal (hs->hub->ops->get_config (hs->session), cfg))
        {
          hs->hub->ops->reconfigure (hs->session, cfg);
          configure (hs, cfg);
        }
    }
}

void
wsb_hub_wake (WsbHub *hub)
{
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    hs->hub->ops->wake (hs->session);
}

void
wsb_hub_start (WsbHub *hub)
{
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    if (hs->hub->ops->get_config (hs->session)->autoconnect)
      hs->hub->ops->connect (hs->session);
}

static gint
compare_status (gconstpointer a, gconstpointer b)
{
  const WsbSessionStatus *sa = *(WsbSessionStatus *const *) a;
  const WsbSessionStatus *sb = *(WsbSessionStatus *const *) b;

  return strcmp (sa->name, sb->name);
}

static void
status_free (WsbSessionStatus *st)
{
  wsb_session_status_clear (st);
  g_free (st);
}

GPtrArray *
wsb_hub_list_status (WsbHub *hub, const WsbPeer *peer)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) status_free);
  GHashTableIter it;
  HubSession *hs;

  g_hash_table_iter_init (&it, hub->sessions);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &hs))
    {
      WsbSessionStatus *st;

      if (!wsb_access_check (hub_access (hub), peer, WSB_OP_LIST,
                             hs->hub->ops->get_config (hs->session), NULL, NULL))
        continue;
      st = g_new0 (WsbSessionStatus, 1);
      hub_fill_status (hs, st);
      g_ptr_array_add (out, st);
    }
  g_ptr_array_sort (out, compare_status);
  return out;
}

HubSession *
hub_lookup (WsbHub *hub, const char *name, GError **error)
{
  HubSession *hs = g_hash_table_lookup (hub->sessions, name);

  if (!hs)
    {
      g_autofree char *shown = g_utf8_make_valid (name, MIN (strlen (name), 80));
      g_set_error (error, WSB_ERROR, WSB_ERROR_NOT_FOUND, "no session named '%s'", shown);
    }
  return hs;
}

/* Each uid's denials are logged once a minute at most (with a count): a
 * user asking again and again does not flood the journal. */
static WsbLogLimit *
denial_log (WsbHub *hub, uid_t uid)
{
  WsbLogLimit *l = g_hash_table_lookup (hub->denials, GUINT_TO_POINTER (uid));

  if (!l)
    {
      l = g_new0 (WsbLogLimit, 1);
      g_hash_table_insert (hub->denials, GUINT_TO_POINTER (uid), l);
    }
  return l;
}

HubSession *
hub_find (WsbHub *hub, const WsbPeer *peer, WsbOp op, const char *name, GError **error)
{
  HubSession *hs = hub_lookup (hub, name, error);
  const char *denied = NULL;

  if (!hs
      || wsb_access_check (hub_access (hub), peer, op, hs->hub->ops->get_config (hs->session),
                           error, &denied))
    return hs;
  wsb_log_limited (denial_log (hub, peer->uid), G_LOG_LEVEL_MESSAGE,
                   "%s: denied: uid %u (pid %d) may not %s it: %s", name, (guint) peer->uid,
                   (int) peer->pid, wsb_access_op_name (op), denied);
  return NULL;
}

gboolean
wsb_hub_allows (WsbHub *hub, const WsbPeer *peer, WsbOp op, const char *name)
{
  HubSession *hs = g_hash_table_lookup (hub->sessions, name);

  return hs
         && wsb_access_check (hub_access (hub), peer, op, hs->hub->ops->get_config (hs->session),
                              NULL, NULL);
}

gboolean
wsb_hub_create_session (WsbHub *hub, const WsbPeer *peer, const char *name, const char *url,
                        const char *const *keys, const char *const *values, guint n_options,
                        gboolean persist, GError **error)
{
  g_autoptr (WsbConfig) parsed = wsb_config_new ();
  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  uid_t holder = wsb_access_holder (hub_access (hub), peer);
  WsbSessionConfig *cfg;
  HubSession *hs;

  if (!wsb_access_check_create (hub_access (hub), peer, keys, values, n_options,
                                held_by (hub, holder), g_hash_table_size (hub->sessions), &local))
    {
      wsb_log_limited (denial_log (hub, peer->uid), G_LOG_LEVEL_MESSAGE,
                       "denied: uid %u (pid %d) may not create session '%s': %s", (guint) peer->uid,
                       (int) peer->pid, wsb_session_name_is_valid (name) ? name : "(invalid name)",
                       local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!wsb_session_name_is_valid (name))
    {
      g_autofree char *shown = g_utf8_make_valid (name, MIN (strlen (name), 80));
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "invalid session name '%s': use 1-64 of a-z 0-9 _ . - starting with a letter "
                   "or digit",
                   shown);
      return FALSE;
    }
  if (g_hash_table_contains (hub->sessions, name))
    {
      name_taken (error, name, NULL);
      return FALSE;
    }
  text = wsb_session_store_text (name, url, keys, values, n_options, holder, error);
  if (!text)
    return FALSE;
  path = wsb_session_store_path (hub->config_dir, name);
  if (!wsb_config_parse_text (parsed, persist ? path : "the request", text, strlen (text), name,
                              &local))
    {
      /* The message names the key and why, never a header's value:
       * "the request: [session] url: why" becomes "session 'NAME': url: why". */
      const char *msg = strstr (local->message, "[session] ");
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT, "session '%s': %s", name,
                   msg ? msg + strlen ("[session] ") : local->message);
      return FALSE;
    }
  if (persist && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      name_taken (error, name, path);
      return FALSE;
    }
  if (persist && !wsb_session_store_write (path, text, error))
    return FALSE;
  cfg = g_ptr_array_index (parsed->sessions, 0);
  hs = add_session (hub, cfg);
  hs->runtime = !persist;
  hold (hub, hs, holder);
  wsb_session_log (name, G_LOG_LEVEL_MESSAGE, "%s: created at runtime%s by uid %u", name,
                   persist ? " and persisted" : "", (guint) peer->uid);
  if (cfg->autoconnect)
    hs->hub->ops->connect (hs->session);
  return TRUE;
}

gboolean
wsb_hub_remove_session (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_REMOVE, name, error);
  const char *source;

  if (!hs)
    return FALSE;
  source = hs->hub->ops->get_config (hs->session)->source;
  if (!hs->runtime && !wsb_session_store_owns (source))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                   "session '%s' is defined in %s; remove it there and reload", name, source);
      return FALSE;
    }
  if (!hs->runtime && g_unlink (source) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot delete %s: %s", source,
                   g_strerror (errno));
      return FALSE;
    }
  remove_session (hub, hs, "removed by request");
  return TRUE;
}

gboolean
wsb_hub_connect (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_CONNECT, name, error);

  if (hs)
    hs->hub->ops->connect (hs->session);
  return hs != NULL;
}

gboolean
wsb_hub_disconnect (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_DISCONNECT, name, error);

  if (hs)
    hs->hub->ops->close (hs->session, WSB_CLOSE_NORMAL, "disconnected by request");
  return hs != NULL;
}

gboolean
wsb_hub_get_status (WsbHub *hub, const WsbPeer *peer, const char *name, WsbSessionStatus *out,
                    GError **error)
{
  HubSession *hs = hub_find (hub, peer, WSB_OP_GET, name, error);

  if (hs)
    hub_fill_status (hs, out);
  return hs != NULL;
}
