/* Handling inbound frames: each complete frame goes to the event callback,
 * to its request (client-call.c) or to the hello (client-connect.c), and
 * the loops that read for them: wsb_client_dispatch(), wsb_client_run() and
 * the wait of a blocking call. */
#include "client-private.h"

#include <inttypes.h>
#include <string.h>

#include "client-fast.h"

/* First byte of a ServerFrame whose first field is `event` (field 3, length-delimited). */
#define SERVER_FRAME_EVENT_TAG ((WSB_SERVER_FRAME_EVENT << 3) | 2)

WsbClientStatus
wsbc_deliver_event (WsbClient *c, const Wsbridge__V1__Event *event)
{
  if (c->phase != WSBC_PHASE_READY)
    return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged sent an event before the hello");
  if (c->event_func)
    c->event_func (c, event, c->event_data);
  return c->fatal;
}

static WsbClientStatus
deliver_event (WsbClient *c, const Wsbridge__V1__Event *event)
{
  WsbClientStatus st;

  if (c->epfd >= 0 && wsbc_ring_event (c, event, &st))
    return st ? st : c->fatal;
  return wsbc_deliver_event (c, event);
}

/* A message event from the fast decoder as the struct protobuf-c would have
 * made. Its strings and data are copied into the arena: a callback may make
 * a blocking call that reads more and moves the inbound buffer, or gets
 * events of its own delivered from inside it. */
static WsbClientStatus
deliver_fast_message (WsbClient *c, const WsbcFastMessage *fm)
{
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  Wsbridge__V1__Message msg = WSBRIDGE__V1__MESSAGE__INIT;
  char *copy
      = c->arena_allocator.alloc (&c->arena, fm->session_len + fm->channel_len + fm->data_len + 2);

  if (!copy)
    return wsbc_fail (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
  memcpy (copy, fm->session, fm->session_len);
  copy[fm->session_len] = '\0';
  msg.session = copy;
  copy += fm->session_len + 1;
  memcpy (copy, fm->channel, fm->channel_len);
  copy[fm->channel_len] = '\0';
  msg.channel = copy;
  copy += fm->channel_len + 1;
  if (fm->data_len)
    memcpy (copy, fm->data, fm->data_len);
  msg.seq = fm->seq;
  msg.epoch = fm->epoch;
  msg.time_us = fm->time_us;
  msg.binary = fm->binary;
  msg.data.data = fm->data_len ? (uint8_t *) copy : NULL;
  msg.data.len = fm->data_len;
  ev.subscription_id = fm->subscription_id;
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_MESSAGE;
  ev.message = &msg;
  return deliver_event (c, &ev);
}

static WsbClientStatus
undecodable (WsbClient *c, size_t len)
{
  return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "undecodable %zu-byte frame from wsbridged",
                    len);
}

/* body may point into the inbound buffer: it is only read before any
 * callback runs, because callbacks may read more and move the buffer. */
static WsbClientStatus
handle_frame (WsbClient *c, const uint8_t *body, size_t len)
{
  Wsbridge__V1__ServerFrame *frame;
  WsbClientStatus st = WSB_CLIENT_OK;

  if (len > 0 && body[0] == SERVER_FRAME_EVENT_TAG)
    {
      WsbcArenaMark mark;
      WsbcFastMessage fm;

      if (!wsbc_arena_mark (&c->arena, &mark))
        return wsbc_fail (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
      if (wsbc_fast_decode_message_event (body, len, &fm))
        {
          st = deliver_fast_message (c, &fm);
          wsbc_arena_release (&c->arena, &mark);
          return st;
        }
      frame = wsbridge__v1__server_frame__unpack (&c->arena_allocator, len, body);
      if (frame && frame->frame_case == WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT)
        {
          st = deliver_event (c, frame->event);
          wsbc_arena_release (&c->arena, &mark);
          return st;
        }
      /* Not an event after all (a later field won the oneof): decode again
       * with the default allocator below. */
      wsbc_arena_release (&c->arena, &mark);
    }

  frame = wsbridge__v1__server_frame__unpack (NULL, len, body);
  if (!frame)
    return undecodable (c, len);
  switch (frame->frame_case)
    {
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_HELLO:
        st = wsbc_handle_hello (c, frame);
        break;
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY:
        st = wsbc_handle_reply (c, frame);
        break;
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT:
        st = deliver_event (c, frame->event);
        break;
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR:
        st = wsbc_fail (c, WSB_CLIENT_ERR_CONNECTION, (int) frame->error->code, "%s",
                        wsbc_error_text (frame->error));
        break;
      default:
        /* A frame kind from a newer minor version: ignore it. */
        break;
    }
  wsbridge__v1__server_frame__free_unpacked (frame, NULL);
  return st;
}

/* Handles the first buffered frame if it is complete; *handled tells. */
static WsbClientStatus
handle_buffered_one (WsbClient *c, bool *handled)
{
  const uint8_t *body;
  size_t body_len;
  uint64_t announced;

  *handled = false;
  if (c->fatal)
    return c->fatal;
  switch (wsbc_rx_take_frame (&c->rx, c->max_frame, &body, &body_len, &announced))
    {
      case WSB_FRAME_OK:
        break;
      case WSB_FRAME_NEED_MORE:
        return WSB_CLIENT_OK;
      case WSB_FRAME_BAD_VARINT:
        return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "bad frame length prefix from wsbridged");
      case WSB_FRAME_TOO_LARGE:
        return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                          "wsbridged announced a %" PRIu64
                          "-byte frame, over the limit of %zu bytes",
                          announced, c->max_frame);
    }
  *handled = true;
  return handle_frame (c, body, body_len);
}

WsbClientStatus
wsbc_handle_buffered_all (WsbClient *c)
{
  bool handled;
  WsbClientStatus st;

  do
    st = handle_buffered_one (c, &handled);
  while (!st && handled);
  return st;
}

WsbClientStatus
wsbc_wait_until (WsbClient *c, const bool *done, int64_t deadline)
{
  WsbClientStatus st;

  for (;;)
    {
      bool handled = true;

      while (!*done && handled)
        {
          st = handle_buffered_one (c, &handled);
          if (st)
            return st;
        }
      if (*done)
        return WSB_CLIENT_OK;
      switch (
          wsbc_read_once (c, wsbc_rx_missing (&c->rx, c->max_frame), true, false, deadline, &st))
        {
          case WSBC_READ_GOT_DATA:
          case WSBC_READ_NOTHING:
            break;
          case WSBC_READ_EOF:
            return wsbc_closed_error (c);
          case WSBC_READ_ERROR:
            return st;
        }
    }
}

WsbClientStatus
wsb_client_dispatch (WsbClient *c)
{
  WsbClientStatus st = wsbc_check_ready (c);

  if (st)
    return st;
  st = wsbc_handle_buffered_all (c);
  if (st)
    return st;
  switch (wsbc_read_once (c, wsbc_rx_greedy_size (&c->rx, c->max_frame), false, false, -1, &st))
    {
      case WSBC_READ_GOT_DATA:
        st = wsbc_handle_buffered_all (c);
        break;
      case WSBC_READ_NOTHING:
        break;
      case WSBC_READ_EOF:
        st = wsbc_handle_buffered_all (c);
        if (!st)
          st = wsbc_closed_error (c);
        break;
      case WSBC_READ_ERROR:
        break;
    }
  wsbc_rx_trim (&c->rx);
  if (!st)
    st = wsbc_ring_drain (c);
  return st;
}

WsbClientStatus
wsb_client_run (WsbClient *c)
{
  WsbClientStatus st = wsbc_check_ready (c);

  if (st)
    return st;
  for (;;)
    {
      bool handled = true;

      while (!c->stop && handled)
        {
          st = handle_buffered_one (c, &handled);
          if (st)
            return st;
        }
      st = wsbc_ring_drain (c);
      if (st)
        return st;
      if (c->stop)
        {
          c->stop = 0;
          return WSB_CLIENT_OK;
        }
      wsbc_rx_trim (&c->rx);
      switch (wsbc_read_once (c, wsbc_rx_greedy_size (&c->rx, c->max_frame), true, true, -1, &st))
        {
          case WSBC_READ_GOT_DATA:
          case WSBC_READ_NOTHING:
            break;
          case WSBC_READ_EOF:
            st = wsbc_handle_buffered_all (c);
            return st ? st : wsbc_closed_error (c);
          case WSBC_READ_ERROR:
            return st;
        }
    }
}
