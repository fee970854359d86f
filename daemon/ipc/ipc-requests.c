/* The socket API's requests, each answered by one reply on the connection
 * that sent it, and the outcome that follows a send, on that connection.
 * Each goes to the hub with the client's identity (c->peer), and the hub
 * decides who may do what (access.h). */
#define _GNU_SOURCE
#include "ipc-private.h"

#include <string.h>

#include "status-pb.h"
#include "wsb-error.h"

static Wsbridge__V1__ErrorCode
error_code (const GError *error)
{
  if (error->domain != WSB_ERROR)
    return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_INTERNAL;
  switch ((WsbError) error->code)
    {
      case WSB_ERROR_INVALID_ARGUMENT:
      case WSB_ERROR_CONFIG:
        return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT;
      case WSB_ERROR_NOT_FOUND:
        return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND;
      case WSB_ERROR_ACCESS_DENIED:
        return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_ACCESS_DENIED;
      case WSB_ERROR_QUEUE_FULL:
        return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_QUEUE_FULL;
      case WSB_ERROR_LIMIT_EXCEEDED:
        return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED;
      case WSB_ERROR_ALREADY_EXISTS:
        return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_ALREADY_EXISTS;
      case WSB_ERROR_FAILED:
        break;
    }
  return WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_INTERNAL;
}

static void
reply (WsbIpcClient *c, Wsbridge__V1__Reply *r)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;

  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY;
  frame.reply = r;
  wsb_ipc_client_send_frame (c, &frame);
}

static void
reply_error (WsbIpcClient *c, guint64 id, Wsbridge__V1__ErrorCode code, const char *message)
{
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Error err = WSBRIDGE__V1__ERROR__INIT;

  err.code = code;
  err.message = (char *) message;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_ERROR;
  r.error = &err;
  reply (c, &r);
}

static void
reply_gerror (WsbIpcClient *c, guint64 id, const GError *error)
{
  reply_error (c, id, error_code (error), error->message);
}

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

static void
handle_list (WsbIpcClient *c, guint64 id)
{
  g_autoptr (GPtrArray) list = wsb_hub_list_status (c->srv->hub, c->peer);
  g_autofree Wsbridge__V1__SessionStatus *pbs = g_new0 (Wsbridge__V1__SessionStatus, list->len);
  g_autofree Wsbridge__V1__SessionStatus **ptrs
      = g_new0 (Wsbridge__V1__SessionStatus *, list->len + 1);
  Wsbridge__V1__ListSessionsReply lr = WSBRIDGE__V1__LIST_SESSIONS_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;

  for (guint i = 0; i < list->len; i++)
    {
      wsb_status_to_pb (g_ptr_array_index (list, i), &pbs[i]);
      ptrs[i] = &pbs[i];
    }
  lr.n_sessions = list->len;
  lr.sessions = ptrs;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_LIST_SESSIONS;
  r.list_sessions = &lr;
  reply (c, &r);
}

static void
handle_subscribe (WsbIpcClient *c, guint64 id, const Wsbridge__V1__SubscribeRequest *req)
{
  g_autoptr (GError) error = NULL;
  const char *channel = req->channel && *req->channel ? req->channel : "*";
  Wsbridge__V1__SubscribeReply sr = WSBRIDGE__V1__SUBSCRIBE_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__SessionStatus pb_status;
  WsbSessionStatus st = { 0 };
  WsbIpcSub *cs;
  guint64 sub_id;

  if (g_hash_table_size (c->subs) >= c->srv->cfg.max_subscriptions_per_client)
    {
      reply_error (c, id, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                   "too many subscriptions on this connection "
                   "(max_subscriptions_per_client)");
      return;
    }
  cs = wsb_ipc_sub_new (c, or_empty (req->session), channel, req->since_seq, req->epoch, &error);
  if (!cs)
    {
      reply_gerror (c, id, error);
      return;
    }
  wsb_subscription_get_status (cs->sub, &st);
  wsb_status_to_pb (&st, &pb_status);
  sr.subscription_id = cs->q.id;
  sr.status = &pb_status;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_SUBSCRIBE;
  r.subscribe = &sr;
  reply (c, &r);
  wsb_session_status_clear (&st);
  if (req->opening)
    wsb_subscription_want_opening (cs->sub);
  sub_id = cs->q.id;
  wsb_hub_catch_up (cs->sub);
  /* The catch-up may have overflowed the client's queue and closed it (its
   * subscriptions with it): look the subscription up again. */
  if (req->ring && c->ring_version && !c->dead
      && (cs = g_hash_table_lookup (c->subs, &sub_id)) != NULL)
    wsb_ipc_ring_attach (cs);
}

static void
reply_ok (WsbIpcClient *c, guint64 id)
{
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Empty empty = WSBRIDGE__V1__EMPTY__INIT;

  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_OK;
  r.ok = &empty;
  reply (c, &r);
}

static void
handle_unsubscribe (WsbIpcClient *c, guint64 id, const Wsbridge__V1__UnsubscribeRequest *req)
{
  if (!g_hash_table_remove (c->subs, &req->subscription_id))
    {
      reply_error (c, id, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND,
                   "no such subscription on this connection");
      return;
    }
  reply_ok (c, id);
}

/* A send whose outcome its client waits for: the hub calls back with it. */
struct _WsbIpcSend
{
  WsbIpcClient *client;
  WsbSendWait *wait;
  GList link; /* in client->sends */
};

/* The outcome of a send goes to the connection that made it. */
static void
on_send_outcome (const char *session, guint64 id, WsbSendResult result, const char *reason,
                 gpointer data)
{
  WsbIpcSend *s = data;
  WsbIpcClient *c = s->client;
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  Wsbridge__V1__SendOutcome out = WSBRIDGE__V1__SEND_OUTCOME__INIT;

  /* The hub is done with the wait. */
  g_queue_unlink (&c->sends, &s->link);
  g_free (s);
  out.session = (char *) session;
  out.send_id = id;
  out.result = (Wsbridge__V1__SendResult) result;
  out.reason = (char *) (reason ? reason : "");
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_OUTCOME;
  ev.outcome = &out;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT;
  frame.event = &ev;
  wsb_ipc_client_send_frame (c, &frame);
}

void
wsb_ipc_client_forget_sends (WsbIpcClient *c)
{
  GList *l;

  while ((l = g_queue_pop_head_link (&c->sends)))
    {
      WsbIpcSend *s = l->data;
      wsb_send_wait_cancel (s->wait);
      g_free (s);
    }
}

static void
handle_send (WsbIpcClient *c, guint64 id, const Wsbridge__V1__SendRequest *req)
{
  g_autoptr (GError) error = NULL;
  Wsbridge__V1__SendReply sr = WSBRIDGE__V1__SEND_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  const char *session = req->session ? req->session : "";
  guint64 send_id = 0;
  WsbIpcSend *s = g_new0 (WsbIpcSend, 1);

  s->client = c;
  s->link.data = s;
  if (!wsb_hub_send (c->srv->hub, c->peer, session, req->data.data, req->data.len, req->binary,
                     req->ttl_ms, on_send_outcome, s, &s->wait, &send_id, &error))
    {
      g_free (s);
      reply_gerror (c, id, error);
      return;
    }
  g_queue_push_tail_link (&c->sends, &s->link);
  sr.send_id = send_id;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_SEND;
  r.send = &sr;
  reply (c, &r);
}

static void
handle_history (WsbIpcClient *c, guint64 id, const Wsbridge__V1__HistoryRequest *req)
{
  g_autoptr (GError) error = NULL;
  const char *channel = req->channel && *req->channel ? req->channel : "*";
  Wsbridge__V1__HistoryReply hr = WSBRIDGE__V1__HISTORY_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;
  Wsbridge__V1__SessionStatus pb_status;
  g_autofree Wsbridge__V1__Message **msgs = NULL;
  WsbHistoryResult res;

  if (!wsb_hub_history (c->srv->hub, c->peer, or_empty (req->session), channel, req->last, &res,
                        &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  /* Not the hot path: each stored encoding is decoded for the reply. */
  msgs = g_new0 (Wsbridge__V1__Message *, res.messages->len + 1);
  for (guint i = 0; i < res.messages->len; i++)
    {
      WsbMessage *m = g_ptr_array_index (res.messages, i);
      msgs[i] = wsbridge__v1__message__unpack (NULL, m->enc_len, m->enc);
      g_assert (msgs[i]);
    }
  hr.n_messages = res.messages->len;
  hr.messages = msgs;
  if (res.gap_to)
    {
      gap.session = res.status.name;
      gap.channel = (char *) channel;
      gap.from_seq = res.gap_from;
      gap.to_seq = res.gap_to;
      gap.epoch = res.status.epoch;
      hr.gap = &gap;
    }
  wsb_status_to_pb (&res.status, &pb_status);
  hr.status = &pb_status;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_HISTORY;
  r.history = &hr;
  reply (c, &r);
  for (guint i = 0; i < res.messages->len; i++)
    wsbridge__v1__message__free_unpacked (msgs[i], NULL);
  wsb_history_result_clear (&res);
}

static void
reply_status (WsbIpcClient *c, guint64 id, const char *session)
{
  g_autoptr (GError) error = NULL;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__SessionStatus pb_status;
  WsbSessionStatus st = { 0 };

  if (!wsb_hub_get_status (c->srv->hub, c->peer, session, &st, &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  wsb_status_to_pb (&st, &pb_status);
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_SESSION;
  r.session = &pb_status;
  reply (c, &r);
  wsb_session_status_clear (&st);
}

static void
handle_create (WsbIpcClient *c, guint64 id, const Wsbridge__V1__CreateSessionRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autofree const char **keys = g_new0 (const char *, req->n_options + 1);
  g_autofree const char **values = g_new0 (const char *, req->n_options + 1);

  for (size_t i = 0; i < req->n_options; i++)
    {
      keys[i] = or_empty (req->options[i]->key);
      values[i] = or_empty (req->options[i]->value);
    }
  if (!wsb_hub_create_session (c->srv->hub, c->peer, or_empty (req->name), or_empty (req->url),
                               keys, values, (guint) req->n_options, req->persist, &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  reply_status (c, id, req->name);
}

typedef gboolean (*SessionOp) (WsbHub *hub, const WsbPeer *peer, const char *name, GError **error);

/* remove_session, connect, disconnect: one session name, an ok reply. */
static void
handle_session_op (WsbIpcClient *c, guint64 id, const char *session, SessionOp op)
{
  g_autoptr (GError) error = NULL;

  if (!op (c->srv->hub, c->peer, or_empty (session), &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  reply_ok (c, id);
}

void
wsb_ipc_handle_request (WsbIpcClient *c, const Wsbridge__V1__Request *req, const char *nul_in)
{
  if (nul_in)
    {
      /* A name like "feed\0x" must not act on "feed". */
      g_autofree char *why = g_strdup_printf ("field '%s' holds a NUL byte", nul_in);
      reply_error (c, req->id, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT, why);
      return;
    }
  switch (req->op_case)
    {
      case WSBRIDGE__V1__REQUEST__OP_LIST_SESSIONS:
        handle_list (c, req->id);
        break;
      case WSBRIDGE__V1__REQUEST__OP_SUBSCRIBE:
        handle_subscribe (c, req->id, req->subscribe);
        break;
      case WSBRIDGE__V1__REQUEST__OP_UNSUBSCRIBE:
        handle_unsubscribe (c, req->id, req->unsubscribe);
        break;
      case WSBRIDGE__V1__REQUEST__OP_SEND:
        handle_send (c, req->id, req->send);
        break;
      case WSBRIDGE__V1__REQUEST__OP_HISTORY:
        handle_history (c, req->id, req->history);
        break;
      case WSBRIDGE__V1__REQUEST__OP_GET_SESSION:
        reply_status (c, req->id, or_empty (req->get_session->session));
        break;
      case WSBRIDGE__V1__REQUEST__OP_CREATE_SESSION:
        handle_create (c, req->id, req->create_session);
        break;
      case WSBRIDGE__V1__REQUEST__OP_REMOVE_SESSION:
        handle_session_op (c, req->id, req->remove_session->session, wsb_hub_remove_session);
        break;
      case WSBRIDGE__V1__REQUEST__OP_CONNECT:
        handle_session_op (c, req->id, req->connect->session, wsb_hub_connect);
        break;
      case WSBRIDGE__V1__REQUEST__OP_DISCONNECT:
        handle_session_op (c, req->id, req->disconnect->session, wsb_hub_disconnect);
        break;
      default:
        reply_error (c, req->id, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                     "unknown or empty request (is the daemon older than the client?)");
        break;
    }
}
