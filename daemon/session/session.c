/* A session's state machine: wanted or not, the state and its reason,
 * backoff between attempts, keepalive pings, the events of its connection
 * (ws-client.c), the send queue, configuration and the public API. How an
 * attempt reaches the server is session-route.c's. */
#include "session-private.h"

#include <string.h>

#include "ws-frame.h"
#include "wsb-error.h"

const char *
wsb_state_to_string (WsbState state)
{
  static const char *const names[] = { "disconnected", "connecting", "open", "backoff", "closing" };

  return state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

void
session_replace_str (char **field, char *value)
{
  g_free (*field);
  *field = value;
}

/* A server that stays down would log every retry; say each distinct
 * failure once and keep the repeats for -v. */
static GLogLevelFlags
state_log_level (WsbSession *s, WsbState state, const char *reason)
{
  if (state == WSB_STATE_CONNECTING)
    return G_LOG_LEVEL_DEBUG;
  /* fd-reserve.c says that one for all sessions, once a minute. */
  if (strstr (reason, "no file descriptors left"))
    return G_LOG_LEVEL_DEBUG;
  if (state != WSB_STATE_BACKOFF)
    {
      g_clear_pointer (&s->logged_backoff, g_free);
      return G_LOG_LEVEL_MESSAGE;
    }
  if (g_strcmp0 (s->logged_backoff, reason) == 0)
    return G_LOG_LEVEL_DEBUG;
  session_replace_str (&s->logged_backoff, g_strdup (reason));
  return G_LOG_LEVEL_MESSAGE;
}

void G_GNUC_PRINTF (3, 4) session_set_state (WsbSession *s, WsbState state, const char *fmt, ...)
{
  g_autofree char *reason = NULL;
  va_list ap;

  va_start (ap, fmt);
  reason = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (s->state == state && g_strcmp0 (s->reason, reason) == 0)
    return;
  session_log (s, state_log_level (s, state, reason), "%s: %s (%s)", s->cfg->name,
               wsb_state_to_string (state), reason);
  s->state = state;
  g_free (s->reason);
  s->reason = g_steal_pointer (&reason);
  if (state != WSB_STATE_BACKOFF)
    s->stats.next_retry_us = 0;
  s->events->state_changed (s, s->user_data);
}

void
session_clear_source (guint *id)
{
  if (*id)
    g_source_remove (*id);
  *id = 0;
}

/* The owner hears that the connection is gone. */
static void
session_connection_ended (WsbSession *s)
{
  if (s->events->connection_ended)
    s->events->connection_ended (s, s->user_data);
}

/* Let go of the connection: no more events from it; it is dropped unless
 * it already ended. */
void
session_detach (WsbSession *s)
{
  if (s->conn)
    {
      wsb_ws_client_abandon (g_steal_pointer (&s->conn));
      session_connection_ended (s);
    }
  session_stop_racing (s);
  s->opened = FALSE;
  session_clear_source (&s->connect_timeout_source);
  session_clear_source (&s->ping_source);
  session_clear_source (&s->pong_source);
  s->probing = FALSE;
  s->ping_sent_at = 0;
  wsb_outbox_connection_ended (s->outbox);
}

static gboolean
on_retry_timer (gpointer data)
{
  WsbSession *s = data;

  s->retry_source = 0;
  session_begin_attempt (s);
  return G_SOURCE_REMOVE;
}

void
session_schedule_retry (WsbSession *s, const char *reason)
{
  guint delay = wsb_backoff_next_ms (&s->backoff, g_random_double ());

  session_free_addresses (s);
  session_clear_source (&s->retry_source);
  s->retry_source = g_timeout_add (delay, on_retry_timer, s);
  s->stats.next_retry_us = g_get_real_time () + (gint64) delay * 1000;
  session_set_state (s, WSB_STATE_BACKOFF, "%s", reason);
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: next try in %u ms", s->cfg->name, delay);
}

/* The attempt to reach s->address did not open. */
void
session_attempt_failed (WsbSession *s, const char *reason)
{
  session_detach (s);
  session_replace_str (&s->last_failure, g_strdup_printf ("%s (%s)", reason, s->address));
  if (!s->wanted)
    {
      session_set_state (s, WSB_STATE_DISCONNECTED, "%s",
                         s->close_text ? s->close_text : "disconnected");
      return;
    }
  if (s->next_address)
    {
      session_log (s, G_LOG_LEVEL_DEBUG, "%s: %s; trying the next address", s->cfg->name,
                   s->last_failure);
      /* Never reconnect from inside an lws callback: come back from the loop. */
      s->retry_source = g_idle_add_full (G_PRIORITY_DEFAULT, session_on_next_address, s, NULL);
      return;
    }
  session_schedule_retry (s, s->last_failure);
}

/* The open connection ended. */
static void
connection_lost (WsbSession *s, const char *reason)
{
  gint64 open_ms = (g_get_monotonic_time () - s->opened_at) / 1000;

  session_detach (s);
  wsb_backoff_connection_ended (&s->backoff, (guint64) MAX (open_ms, 0));
  if (!s->wanted)
    {
      session_set_state (s, WSB_STATE_DISCONNECTED, "%s", s->close_text ? s->close_text : reason);
      return;
    }
  session_schedule_retry (s, reason);
}

void
wsb_session_connect (WsbSession *s)
{
  s->wanted = TRUE;
  if (s->state == WSB_STATE_CONNECTING || s->state == WSB_STATE_OPEN)
    return;
  if (s->state == WSB_STATE_CLOSING)
    return; /* the close completes first; connection_lost then schedules the retry */
  wsb_backoff_init (&s->backoff, (guint) s->cfg->backoff_initial_ms, (guint) s->cfg->backoff_max_ms,
                    (guint) s->cfg->backoff_reset_s * 1000);
  session_begin_attempt (s);
}

void
wsb_session_close (WsbSession *s, guint16 close_code, const char *reason)
{
  s->wanted = FALSE;
  s->our_close_code = close_code;
  session_replace_str (&s->close_text, g_strdup (reason));
  session_cancel_pending (s);
  if (s->conn && s->opened)
    {
      session_clear_source (&s->ping_source);
      session_clear_source (&s->pong_source);
      /* The close is ours: its code goes with the state change already. */
      s->last_close_code = close_code;
      session_replace_str (&s->last_close_reason, g_strdup (reason));
      session_set_state (s, WSB_STATE_CLOSING, "%s", reason);
      wsb_ws_client_close (s->conn, close_code, reason);
      return;
    }
  session_detach (s);
  session_set_state (s, WSB_STATE_DISCONNECTED, "%s", reason);
}

gboolean
wsb_session_has_connection (WsbSession *s)
{
  return s->conn != NULL;
}

static gboolean
is_open (WsbSession *s)
{
  return s->conn && s->opened && s->state == WSB_STATE_OPEN;
}

gboolean
wsb_session_send (WsbSession *s, const guint8 *data, gsize len, gboolean binary, guint32 ttl_ms,
                  guint64 *id, GError **error)
{
  if (!binary && !wsb_utf8_valid (data, len))
    {
      g_set_error_literal (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT,
                           "a text message must be valid UTF-8 (send it as binary instead)");
      return FALSE;
    }
  if (!wsb_outbox_push (s->outbox, data, len, binary, ttl_ms, id, error))
    return FALSE;
  if (is_open (s))
    wsb_ws_client_want_write (s->conn);
  return TRUE;
}

gboolean
wsb_session_send_control (WsbSession *s, const char *text)
{
  if (!is_open (s))
    return FALSE;
  wsb_outbox_push_control (s->outbox, text);
  wsb_ws_client_want_write (s->conn);
  return TRUE;
}

gboolean
wsb_session_set_journal (WsbSession *s, const char *path, GError **error)
{
  gboolean ok = wsb_outbox_set_journal (s->outbox, path, error);

  if (ok && is_open (s) && wsb_outbox_has_pending (s->outbox))
    wsb_ws_client_want_write (s->conn);
  return ok;
}

void
wsb_session_cancel_queue (WsbSession *s, const char *reason)
{
  wsb_outbox_cancel_all (s->outbox, reason);
}

static gboolean on_pong_timeout (gpointer data);

static void
arm_pong_timeout (WsbSession *s, guint64 seconds)
{
  s->rx_at_ping = s->conn ? wsb_ws_client_rx_bytes (s->conn) : 0;
  s->pong_source = g_timeout_add ((guint) seconds * 1000, on_pong_timeout, s);
}

static gboolean
on_pong_timeout (gpointer data)
{
  WsbSession *s = data;
  g_autofree char *why = NULL;

  s->pong_source = 0;
  /* Bytes came meanwhile: the peer lives, its pong waits behind them (a
   * flood, one large frame on a slow link: a pong cannot overtake a frame in
   * progress, RFC 6455 §5.4). Look again in a while, no longer than
   * ping_interval, so a peer that dies now is still found within
   * ping_interval + pong_timeout. */
  if (s->conn && wsb_ws_client_rx_bytes (s->conn) != s->rx_at_ping)
    {
      arm_pong_timeout (s, s->cfg->ping_interval ? MIN (s->cfg->pong_timeout, s->cfg->ping_interval)
                                                 : s->cfg->pong_timeout);
      return G_SOURCE_REMOVE;
    }
  why = s->probing ? g_strdup_printf ("no pong within pong_timeout (%" G_GUINT64_FORMAT
                                      " s) after a wake-up",
                                      s->cfg->pong_timeout)
                   : g_strdup_printf ("no pong within pong_timeout (%" G_GUINT64_FORMAT
                                      " s) of a ping (keepalive)",
                                      s->cfg->pong_timeout);
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: %s", s->cfg->name, why);
  wsb_ws_client_drop (s->conn, why);
  return G_SOURCE_REMOVE;
}

/* A ping now, and the connection is dropped unless its pong comes within
 * pong_timeout. While one is unanswered no other is sent. */
static void
ping (WsbSession *s, gboolean probe)
{
  if (s->pong_source)
    {
      s->probing = s->probing || probe;
      return;
    }
  s->probing = probe;
  session_log (s, G_LOG_LEVEL_DEBUG, "%s: ping%s", s->cfg->name, probe ? " (wake-up probe)" : "");
  s->ping_sent_at = g_get_monotonic_time ();
  wsb_ws_client_ping (s->conn);
  arm_pong_timeout (s, s->cfg->pong_timeout);
}

static gboolean
on_ping_timer (gpointer data)
{
  ping (data, FALSE);
  return G_SOURCE_CONTINUE;
}

static void
on_conn_open (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;

  session_clear_source (&s->connect_timeout_source);
  s->opened = TRUE;
  s->opened_at = g_get_monotonic_time ();
  if (s->ever_opened)
    s->stats.reconnects++;
  s->ever_opened = TRUE;
  session_free_addresses (s);
  if (s->cfg->ping_interval)
    s->ping_source = g_timeout_add_seconds ((guint) s->cfg->ping_interval, on_ping_timer, s);
  /* on_connect frames go first; the owner adds its subscribe frames when it
   * sees the state change, all before the queue. */
  for (guint i = 0; s->cfg->on_connect && s->cfg->on_connect[i]; i++)
    wsb_outbox_push_control (s->outbox, s->cfg->on_connect[i]);
  session_set_state (s, WSB_STATE_OPEN, "connected to %s", s->address);
  if (wsb_outbox_has_pending (s->outbox))
    wsb_ws_client_want_write (c);
}

static void
on_conn_message (WsbWsClient *c, WsbWsMessage *msg, gpointer d)
{
  WsbSession *s = d;

  s->stats.rx_messages++;
  s->events->message (s, msg, s->user_data);
}

static void
on_conn_pong (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;

  if (!s->ping_sent_at)
    return; /* unsolicited */
  s->stats.rtt_us = (guint64) (g_get_monotonic_time () - s->ping_sent_at);
  s->ping_sent_at = 0;
  s->probing = FALSE;
  session_clear_source (&s->pong_source);
}

static void
on_conn_read_done (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;

  s->events->batch_end (s, s->user_data);
}

/* Batches queued messages into the connection's next write. */
static void
on_conn_writable (WsbWsClient *c, gpointer data)
{
  WsbSession *s = data;
  WsbOutMsg *m;

  if (s->state != WSB_STATE_OPEN)
    return;
  while (wsb_ws_client_has_room (c) && (m = wsb_outbox_begin (s->outbox)))
    {
      wsb_ws_client_send (c, m->data, m->len, m->binary);
      if (wsb_outbox_written (s->outbox))
        s->stats.tx_messages++;
    }
  if (wsb_outbox_has_pending (s->outbox))
    wsb_ws_client_want_write (c);
}

static void
on_conn_connected (WsbWsClient *c, gpointer data)
{
  session_candidate_connected (data, c);
}

static void
on_conn_ended (WsbWsClient *c, const char *reason, gpointer data)
{
  WsbSession *s = data;
  g_autofree char *why = g_strdup (reason);

  if (c != s->conn && session_candidate_ended (s, c, reason))
    return;

  if (s->opened)
    {
      const char *peer_reason;
      guint16 code = wsb_ws_client_peer_close (c, &peer_reason);

      if (code)
        s->last_close_code = code;
      else if (!s->wanted && s->close_text)
        {
          s->last_close_code = s->our_close_code;
          peer_reason = s->close_text;
        }
      else
        {
          s->last_close_code = 1006; /* closed abnormally: no close frame */
          peer_reason = why;
        }
      session_replace_str (&s->last_close_reason, g_strdup (peer_reason));
    }
  s->conn = NULL; /* it is gone */
  session_connection_ended (s);
  if (s->opened)
    connection_lost (s, why);
  else
    session_attempt_failed (s, why);
}

const WsbWsClientEvents session_conn_events = {
  on_conn_open,     on_conn_message, on_conn_pong,      on_conn_read_done,
  on_conn_writable, on_conn_ended,   on_conn_connected,
};

/* Derives everything that comes from the config (on creation and reload). */
static void
apply_config (WsbSession *s, const WsbSessionConfig *cfg)
{
  WsbSessionConfig *old = s->cfg;
  g_autofree char *why = NULL;

  s->cfg = wsb_session_config_copy (cfg);
  wsb_session_config_free (old);

  wsb_ws_url_clear (&s->url);
  g_clear_pointer (&s->subprotocols, g_free);
  if (!wsb_ws_url_parse (cfg->url, &s->url, &why))
    g_error ("session %s: URL passed validation but does not parse: %s", cfg->name, why);
  if (cfg->subprotocols && cfg->subprotocols[0])
    s->subprotocols = g_strjoinv (", ", cfg->subprotocols);
  wsb_backoff_init (&s->backoff, (guint) cfg->backoff_initial_ms, (guint) cfg->backoff_max_ms,
                    (guint) cfg->backoff_reset_s * 1000);
  if (s->outbox)
    wsb_outbox_configure (s->outbox, cfg);
}

static void
on_outcome (guint64 id, WsbSendResult result, const char *reason, gpointer data)
{
  WsbSession *s = data;

  if (result != WSB_SEND_SENT)
    session_log (s, G_LOG_LEVEL_DEBUG, "%s: send %" G_GUINT64_FORMAT " %s: %s", s->cfg->name, id,
                 wsb_send_result_to_string (result), reason);
  s->events->send_done (s, id, result, reason, s->user_data);
}

WsbSession *
wsb_session_new (WsbUpstream *up, const WsbSessionConfig *cfg, const WsbSessionEvents *events,
                 gpointer user_data)
{
  WsbSession *s = g_new0 (WsbSession, 1);

  s->up = up;
  s->events = events;
  s->user_data = user_data;
  s->outbox = wsb_outbox_new (cfg, on_outcome, s);
  apply_config (s, cfg);
  s->state = WSB_STATE_DISCONNECTED;
  s->reason = g_strdup (cfg->autoconnect ? "starting" : "autoconnect is off");
  return s;
}

void
wsb_session_reconfigure (WsbSession *s, const WsbSessionConfig *cfg)
{
  gboolean want = cfg->autoconnect || s->wanted;

  session_log (s, G_LOG_LEVEL_MESSAGE, "%s: configuration changed; reconnecting", cfg->name);
  /* An open connection closes cleanly and the retry uses the new settings. */
  wsb_session_close (s, WSB_CLOSE_GOING_AWAY, "configuration changed");
  apply_config (s, cfg);
  if (want)
    wsb_session_connect (s);
}

void
wsb_session_wake (WsbSession *s)
{
  if (!s->wanted)
    return;
  if (s->state == WSB_STATE_BACKOFF)
    {
      /* The reason for the failures may be gone: start over. */
      wsb_backoff_init (&s->backoff, (guint) s->cfg->backoff_initial_ms,
                        (guint) s->cfg->backoff_max_ms, (guint) s->cfg->backoff_reset_s * 1000);
      session_begin_attempt (s);
      return;
    }
  /* The connection may have died while the network or the machine was away. */
  if (is_open (s))
    ping (s, TRUE);
}

void
wsb_session_free (WsbSession *s)
{
  if (!s)
    return;
  session_cancel_pending (s);
  /* Freed: the owner hears nothing more. */
  if (s->conn)
    wsb_ws_client_abandon (g_steal_pointer (&s->conn));
  session_detach (s);
  wsb_outbox_free (s->outbox);
  wsb_ws_url_clear (&s->url);
  g_free (s->subprotocols);
  g_free (s->reason);
  g_free (s->close_text);
  g_free (s->last_close_reason);
  g_free (s->resume_id);
  g_free (s->address);
  g_free (s->last_failure);
  g_free (s->logged_backoff);
  g_strfreev (s->auth_headers);
  g_free (s->proxy_host);
  g_free (s->proxy_userinfo);
  wsb_session_config_free (s->cfg);
  g_free (s);
}

const char *
wsb_session_get_name (WsbSession *s)
{
  return s->cfg->name;
}

const WsbSessionConfig *
wsb_session_get_config (WsbSession *s)
{
  return s->cfg;
}

WsbState
wsb_session_get_state (WsbSession *s)
{
  return s->state;
}

const char *
wsb_session_get_reason (WsbSession *s)
{
  return s->reason;
}

void
wsb_session_set_resume_id (WsbSession *s, const char *id)
{
  if (g_strcmp0 (s->resume_id, id) != 0)
    session_replace_str (&s->resume_id, g_strdup (id));
}

guint16
wsb_session_get_last_close (WsbSession *s, const char **reason)
{
  *reason = s->last_close_reason ? s->last_close_reason : "";
  return s->last_close_code;
}

void
wsb_session_get_stats (WsbSession *s, WsbSessionStats *out)
{
  *out = s->stats;
  out->queued_messages = wsb_outbox_length (s->outbox);
}
