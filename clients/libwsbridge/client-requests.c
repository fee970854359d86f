/* The typed request helpers of wsbridge.h: each fills one Request, calls it
 * and checks that the reply carries the result the operation expects. */
#include "client-private.h"

#include <inttypes.h>
#include <stdlib.h>

/* Calls and checks that the reply carries the expected result. */
static WsbClientStatus
call_expect (WsbClient *c, Wsbridge__V1__Request *request, Wsbridge__V1__Reply__ResultCase want,
             Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Reply *r = NULL;
  WsbClientStatus st = wsb_client_call (c, request, &r);

  if (st)
    return st;
  if (r->result_case != want)
    {
      wsbridge__v1__reply__free_unpacked (r, NULL);
      return wsbc_set_error (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                             "wsbridged answered request %" PRIu64 " with an unexpected result",
                             request->id);
    }
  if (reply)
    *reply = r;
  else
    wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_list_sessions (WsbClient *c, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__ListSessionsRequest list = WSBRIDGE__V1__LIST_SESSIONS_REQUEST__INIT;

  if (reply)
    *reply = NULL;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_LIST_SESSIONS;
  request.list_sessions = &list;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_LIST_SESSIONS, reply);
}

WsbClientStatus
wsb_client_subscribe (WsbClient *c, const char *session, const char *channel, uint64_t since_seq,
                      uint64_t epoch, uint64_t *subscription_id, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__SubscribeRequest sub = WSBRIDGE__V1__SUBSCRIBE_REQUEST__INIT;
  Wsbridge__V1__Reply *r = NULL;
  WsbClientStatus st;

  if (reply)
    *reply = NULL;
  if (!session)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  sub.session = (char *) session;
  sub.channel = (char *) (channel ? channel : "*");
  sub.since_seq = since_seq;
  sub.epoch = epoch;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_SUBSCRIBE;
  request.subscribe = &sub;
  st = call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SUBSCRIBE, &r);
  if (st)
    return st;
  if (subscription_id)
    *subscription_id = r->subscribe->subscription_id;
  if (reply)
    *reply = r;
  else
    wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_unsubscribe (WsbClient *c, uint64_t subscription_id)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__UnsubscribeRequest unsub = WSBRIDGE__V1__UNSUBSCRIBE_REQUEST__INIT;

  unsub.subscription_id = subscription_id;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_UNSUBSCRIBE;
  request.unsubscribe = &unsub;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_OK, NULL);
}

WsbClientStatus
wsb_client_send_full (WsbClient *c, const char *session, const void *data, size_t len, bool binary,
                      uint32_t ttl_ms, uint64_t *send_id)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__SendRequest send_req = WSBRIDGE__V1__SEND_REQUEST__INIT;
  Wsbridge__V1__Reply *r = NULL;
  WsbClientStatus st;

  if (!session || (!data && len))
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name or no data");
  send_req.session = (char *) session;
  send_req.data.data = (uint8_t *) data;
  send_req.data.len = len;
  send_req.binary = binary;
  send_req.ttl_ms = ttl_ms;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_SEND;
  request.send = &send_req;
  st = call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SEND, &r);
  if (st)
    return st;
  if (send_id)
    *send_id = r->send->send_id;
  wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_send (WsbClient *c, const char *session, const void *data, size_t len, bool binary,
                 uint64_t *send_id)
{
  return wsb_client_send_full (c, session, data, len, binary, 0, send_id);
}

WsbClientStatus
wsb_client_history (WsbClient *c, const char *session, const char *channel, uint32_t last,
                    Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__HistoryRequest hist = WSBRIDGE__V1__HISTORY_REQUEST__INIT;

  if (reply)
    *reply = NULL;
  if (!session)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  hist.session = (char *) session;
  hist.channel = (char *) (channel ? channel : "*");
  hist.last = last;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_HISTORY;
  request.history = &hist;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_HISTORY, reply);
}

WsbClientStatus
wsb_client_get_session (WsbClient *c, const char *session, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__GetSessionRequest get = WSBRIDGE__V1__GET_SESSION_REQUEST__INIT;

  if (reply)
    *reply = NULL;
  if (!session)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  get.session = (char *) session;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_GET_SESSION;
  request.get_session = &get;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SESSION, reply);
}

WsbClientStatus
wsb_client_create_session (WsbClient *c, const char *name, const char *url, const char *const *keys,
                           const char *const *values, size_t n_options, bool persist,
                           Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__CreateSessionRequest create = WSBRIDGE__V1__CREATE_SESSION_REQUEST__INIT;
  Wsbridge__V1__SessionOption *opts;
  Wsbridge__V1__SessionOption **ptrs;
  WsbClientStatus st;

  if (reply)
    *reply = NULL;
  if (!name || !url || (n_options && (!keys || !values)))
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name, URL or options");
  opts = calloc (n_options + 1, sizeof *opts);
  ptrs = calloc (n_options + 1, sizeof *ptrs);
  if (!opts || !ptrs)
    {
      free (opts);
      free (ptrs);
      return wsbc_set_error (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
    }
  for (size_t i = 0; i < n_options; i++)
    {
      wsbridge__v1__session_option__init (&opts[i]);
      opts[i].key = (char *) keys[i];
      opts[i].value = (char *) values[i];
      ptrs[i] = &opts[i];
    }
  create.name = (char *) name;
  create.url = (char *) url;
  create.n_options = n_options;
  create.options = ptrs;
  create.persist = persist;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_CREATE_SESSION;
  request.create_session = &create;
  st = call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SESSION, reply);
  free (opts);
  free (ptrs);
  return st;
}

/* remove_session, connect, disconnect: a session name and an ok reply. */
static WsbClientStatus
session_op (WsbClient *c, const char *session, Wsbridge__V1__Request__OpCase op)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__RemoveSessionRequest remove = WSBRIDGE__V1__REMOVE_SESSION_REQUEST__INIT;
  Wsbridge__V1__ConnectRequest connect = WSBRIDGE__V1__CONNECT_REQUEST__INIT;
  Wsbridge__V1__DisconnectRequest disconnect = WSBRIDGE__V1__DISCONNECT_REQUEST__INIT;

  if (!session)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  remove.session = connect.session = disconnect.session = (char *) session;
  request.op_case = op;
  if (op == WSBRIDGE__V1__REQUEST__OP_REMOVE_SESSION)
    request.remove_session = &remove;
  else if (op == WSBRIDGE__V1__REQUEST__OP_CONNECT)
    request.connect = &connect;
  else
    request.disconnect = &disconnect;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_OK, NULL);
}

WsbClientStatus
wsb_client_remove_session (WsbClient *c, const char *session)
{
  return session_op (c, session, WSBRIDGE__V1__REQUEST__OP_REMOVE_SESSION);
}

WsbClientStatus
wsb_client_connect_session (WsbClient *c, const char *session)
{
  return session_op (c, session, WSBRIDGE__V1__REQUEST__OP_CONNECT);
}

WsbClientStatus
wsb_client_disconnect_session (WsbClient *c, const char *session)
{
  return session_op (c, session, WSBRIDGE__V1__REQUEST__OP_DISCONNECT);
}
