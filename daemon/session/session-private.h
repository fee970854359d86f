/* What session.c (the state machine: backoff, keepalive, the connection's
 * events, the public API) and session-route.c (one attempt's way to the
 * server: credentials, proxy, DNS, each address in turn) share. */
#pragma once

#include "auth.h"
#include "backoff.h"
#include "log.h"
#include "outbox.h"
#include "session.h"
#include "ws-client.h"
#include "ws-url.h"

struct _WsbSession
{
  WsbUpstream *up;
  WsbSessionConfig *cfg;
  const WsbSessionEvents *events;
  gpointer user_data;

  WsbWsUrl url;       /* from cfg->url, never decoded */
  char *subprotocols; /* comma-separated, or NULL */

  WsbState state;
  char *reason;
  gboolean wanted; /* connect (or stay connected) when possible */

  /* The current connection: a connect attempt, or open once `opened`. */
  WsbWsClient *conn;
  gboolean opened;
  gboolean ever_opened;
  gint64 opened_at; /* monotonic µs */
  char *close_text; /* why we closed it ourselves (disconnect, remove) */
  guint16 our_close_code;
  /* How the last open connection ended: the server's close code and
   * reason, ours when we closed it, 1006 when it dropped without one. */
  guint16 last_close_code;
  char *last_close_reason;
  char *resume_id; /* the last id of the feed (resume.h), asked for after at connect */

  GCancellable *resolving; /* proxy lookup and DNS of the current attempt */
  WsbAuth *auth;
  char **auth_headers; /* from token_file / auth_command; secret */
  gboolean via_proxy;
  char *proxy_host;
  guint16 proxy_port;
  char *proxy_userinfo; /* secret */
  GList *addresses;     /* GInetAddress*, from the last lookup */
  GList *next_address;
  char *address; /* "ip:port" being tried or connected */
  /* Happy Eyeballs (RFC 8305): connections racing for TCP, each
   * SessionCandidate; the first up becomes conn and the others are dropped. */
  GPtrArray *racing;
  guint race_source; /* the next address joins the race when it fires */
  char *last_failure;
  char *logged_backoff; /* last backoff reason logged at message level */

  guint retry_source;
  guint connect_timeout_source;
  guint ping_source;
  guint pong_source;   /* our ping is unanswered: drop when it fires */
  gboolean probing;    /* the unanswered ping is a wake-up probe */
  gint64 ping_sent_at; /* monotonic µs of our unanswered ping, or 0 */
  guint64 rx_at_ping;  /* bytes the connection had received when pong_source was armed */

  WsbBackoff backoff;
  WsbOutbox *outbox;
  WsbSessionStats stats;
};

#define session_log(s, level, ...) wsb_session_log ((s)->cfg->name, level, __VA_ARGS__)

/* session.c */
extern const WsbWsClientEvents session_conn_events;
void session_replace_str (char **field, char *value);
void session_clear_source (guint *id);
void session_set_state (WsbSession *s, WsbState state, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
/* Let go of the connection: no more events from it. */
void session_detach (WsbSession *s);
void session_schedule_retry (WsbSession *s, const char *reason);
/* The attempt to reach s->address did not open. */
void session_attempt_failed (WsbSession *s, const char *reason);

/* session-route.c */
/* Starts an attempt: credentials, then the route, then each address. */
void session_begin_attempt (WsbSession *s);
/* Stops whatever is in progress short of an open connection. */
void session_cancel_pending (WsbSession *s);
void session_free_addresses (WsbSession *s);
void session_stop_racing (WsbSession *s);
void session_candidate_connected (WsbSession *s, WsbWsClient *c);
gboolean session_candidate_ended (WsbSession *s, WsbWsClient *c, const char *reason);
gboolean session_on_next_address (gpointer data);
