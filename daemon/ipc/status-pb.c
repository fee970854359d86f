#include "status-pb.h"

static Wsbridge__V1__SessionState
state_to_pb (WsbState state)
{
  switch (state)
    {
      case WSB_STATE_DISCONNECTED:
        return WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_DISCONNECTED;
      case WSB_STATE_CONNECTING:
        return WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_CONNECTING;
      case WSB_STATE_OPEN:
        return WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_OPEN;
      case WSB_STATE_BACKOFF:
        return WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_BACKOFF;
      case WSB_STATE_CLOSING:
        return WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_CLOSING;
    }
  return WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_UNSPECIFIED;
}

void
wsb_status_to_pb (const WsbSessionStatus *st, Wsbridge__V1__SessionStatus *pb)
{
  wsbridge__v1__session_status__init (pb);
  pb->name = st->name;
  pb->url = st->url;
  pb->state = state_to_pb (st->state);
  pb->reason = st->reason;
  pb->epoch = st->epoch;
  pb->last_seq = st->last_seq;
  pb->reconnects = st->stats.reconnects;
  pb->rx_messages = st->stats.rx_messages;
  pb->tx_messages = st->stats.tx_messages;
  pb->queued_messages = st->stats.queued_messages;
  pb->rtt_us = st->stats.rtt_us;
  pb->next_retry_us = st->stats.next_retry_us;
  pb->close_code = st->close_code;
  pb->close_reason = st->close_reason ? st->close_reason : (char *) "";
}

GBytes *
wsb_status_encode_state_change (const WsbSessionStatus *st)
{
  Wsbridge__V1__SessionStatus pb_status;
  Wsbridge__V1__StateChange change = WSBRIDGE__V1__STATE_CHANGE__INIT;
  gsize len;
  guint8 *buf;

  wsb_status_to_pb (st, &pb_status);
  change.status = &pb_status;
  len = wsbridge__v1__state_change__get_packed_size (&change);
  buf = g_malloc (len ? len : 1);
  wsbridge__v1__state_change__pack (&change, buf);
  return g_bytes_new_take (buf, len);
}
