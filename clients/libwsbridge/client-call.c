/* Requests: each gets the next id and a pending entry (client-pending.c)
 * until its reply comes; wsb_client_request() hands the reply to a callback,
 * wsb_client_call() waits for it. */
#include "client-private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

WsbClientStatus
wsbc_handle_reply (WsbClient *c, Wsbridge__V1__ServerFrame *frame)
{
  Wsbridge__V1__Reply *reply = frame->reply;
  WsbcPending *p;

  if (c->phase != WSBC_PHASE_READY)
    return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged sent a reply before the hello");
  p = wsbc_pending_take (&c->pending, reply->id);
  if (!p)
    return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                      "wsbridged sent a reply to request %" PRIu64 ", which is not pending",
                      reply->id);

  /* Detach the reply: protobuf-c allocates every sub-message on its own. */
  frame->reply = NULL;
  frame->frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME__NOT_SET;

  /* A subscription with a ring is known before anyone hears of it. */
  if (p->ring_session && reply->result_case == WSBRIDGE__V1__REPLY__RESULT_SUBSCRIBE)
    {
      WsbClientStatus st = wsbc_ring_subscribed (c, reply->subscribe->subscription_id,
                                                 p->ring_session, p->ring_channel);
      if (st)
        {
          wsbridge__v1__reply__free_unpacked (reply, NULL);
          wsbc_pending_free (p);
          return st;
        }
    }
  switch (p->kind)
    {
      case WSBC_PENDING_BLOCKING:
        p->reply = reply;
        p->done = true;
        return WSB_CLIENT_OK;
      case WSBC_PENDING_ASYNC:
        if (p->func)
          p->func (c, reply, p->user_data);
        break;
      case WSBC_PENDING_ABANDONED:
        break;
    }
  wsbridge__v1__reply__free_unpacked (reply, NULL);
  wsbc_pending_free (p);
  return c->fatal;
}

/* Links p and writes the request. On failure *answered tells whether the
 * reply was handled meanwhile (a daemon that answers, then closes); an
 * async p has then been freed. */
static WsbClientStatus
send_request (WsbClient *c, Wsbridge__V1__Request *request, WsbcPending *p, int64_t deadline,
              bool *answered)
{
  Wsbridge__V1__ClientFrame frame = WSBRIDGE__V1__CLIENT_FRAME__INIT;
  Wsbridge__V1__SubscribeRequest *sub
      = request->op_case == WSBRIDGE__V1__REQUEST__OP_SUBSCRIBE ? request->subscribe : NULL;
  bool ring = sub && wsbc_ring_wanted (c);
  bool asked = sub && sub->ring;
  WsbClientStatus st;

  *answered = false;
  request->id = ++c->next_id;
  p->id = request->id;
  frame.frame_case = WSBRIDGE__V1__CLIENT_FRAME__FRAME_REQUEST;
  frame.request = request;

  /* Every subscription asks for a ring when the daemon has them: the
   * application sees the same events (client-ring.c). */
  if (ring)
    {
      p->ring_session = strdup (sub->session ? sub->session : "");
      p->ring_channel = strdup (sub->channel && *sub->channel ? sub->channel : "*");
      if (!p->ring_session || !p->ring_channel)
        return wsbc_nomem (c);
      sub->ring = true;
    }
  if (request->op_case == WSBRIDGE__V1__REQUEST__OP_UNSUBSCRIBE)
    wsbc_ring_unsubscribed (c, request->unsubscribe->subscription_id);
  /* Link first: the reply may be handled before the write returns. */
  wsbc_pending_append (&c->pending, p);
  st = wsbc_write_frame (c, &frame, deadline);
  if (ring)
    sub->ring = asked; /* the caller's request as it was */
  *answered = st && !wsbc_pending_unlink (&c->pending, p);
  return st;
}

/* The checks every request starts with, and its pending entry. */
static WsbClientStatus
new_pending (WsbClient *c, const Wsbridge__V1__Request *request, WsbcPending **out)
{
  WsbClientStatus st = wsbc_check_ready (c);

  *out = NULL;
  if (st)
    return st;
  if (!request)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no request");
  *out = calloc (1, sizeof **out);
  return *out ? WSB_CLIENT_OK : wsbc_nomem (c);
}

WsbClientStatus
wsb_client_request (WsbClient *c, Wsbridge__V1__Request *request, WsbClientReplyFunc func,
                    void *user_data, uint64_t *id)
{
  bool answered;
  WsbcPending *p;
  WsbClientStatus st = new_pending (c, request, &p);

  if (st)
    return st;
  p->kind = WSBC_PENDING_ASYNC;
  p->func = func;
  p->user_data = user_data;
  st = send_request (c, request, p, wsbc_deadline_after (c->timeout_ms), &answered);
  if (st)
    {
      if (!answered)
        wsbc_pending_free (p);
      return st;
    }
  if (id)
    *id = request->id;
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_call (WsbClient *c, Wsbridge__V1__Request *request, Wsbridge__V1__Reply **reply)
{
  int64_t deadline = wsbc_deadline_after (c->timeout_ms);
  bool answered;
  WsbcPending *p;
  Wsbridge__V1__Reply *r;
  WsbClientStatus st;

  if (reply)
    *reply = NULL;
  /* On the heap: if the wait times out, the entry stays behind to swallow
   * the late reply. */
  st = new_pending (c, request, &p);
  if (st)
    return st;
  p->kind = WSBC_PENDING_BLOCKING;
  st = send_request (c, request, p, deadline, &answered);
  if (!st)
    st = wsbc_wait_until (c, &p->done, deadline);
  if (st && !p->done)
    {
      if (st == WSB_CLIENT_ERR_TIMEOUT && !c->fatal)
        {
          p->kind = WSBC_PENDING_ABANDONED;
          return wsbc_set_error (c, st, 0, "no reply from wsbridged to request %" PRIu64 " in time",
                                 p->id);
        }
      wsbc_pending_unlink (&c->pending, p);
      wsbc_pending_free (p);
      return st;
    }
  r = p->reply;
  wsbc_pending_free (p);
  if (r->result_case == WSBRIDGE__V1__REPLY__RESULT_ERROR)
    {
      st = wsbc_set_error (c, WSB_CLIENT_ERR_DAEMON, (int) r->error->code, "%s",
                           wsbc_error_text (r->error));
      wsbridge__v1__reply__free_unpacked (r, NULL);
      return st;
    }
  if (reply)
    *reply = r;
  else
    wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

void
wsb_client_reply_free (Wsbridge__V1__Reply *reply)
{
  if (reply)
    wsbridge__v1__reply__free_unpacked (reply, NULL);
}
