/* A socket API client's subscriptions: what the hub delivers goes into the
 * client's output queue by reference (the fan-out path: no allocation or
 * copy per event), and the gaps the queue makes for dropped messages are
 * encoded here, from the subscription's session as it is when written. */
#define _GNU_SOURCE
#include "ipc-private.h"

#include "status-pb.h"

/* The body of a Gap event for sub (g_free it). */
static guint8 *
gap_body_new (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gsize *len)
{
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;
  WsbSessionStatus st = { 0 };
  guint8 *buf;

  wsb_subscription_get_status (sub, &st);
  gap.session = st.name;
  gap.channel = (char *) wsb_subscription_get_channel (sub);
  gap.from_seq = from_seq;
  gap.to_seq = to_seq;
  gap.epoch = st.epoch;
  *len = wsbridge__v1__gap__get_packed_size (&gap);
  buf = g_malloc (*len ? *len : 1);
  wsbridge__v1__gap__pack (&gap, buf);
  wsb_session_status_clear (&st);
  return buf;
}

static WsbQueueSub *
queue_lookup_sub (guint64 id, gpointer data)
{
  WsbIpcClient *c = data;

  return g_hash_table_lookup (c->subs, &id);
}

static gsize
queue_gap_size_max (WsbQueueSub *qs, gpointer data)
{
  WsbSubscription *sub = ((WsbIpcSub *) qs)->sub;
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;

  gap.session = (char *) wsb_subscription_get_session (sub);
  gap.channel = (char *) wsb_subscription_get_channel (sub);
  gap.from_seq = gap.to_seq = gap.epoch = G_MAXUINT64;
  return wsbridge__v1__gap__get_packed_size (&gap);
}

static guint8 *
queue_gap_body (WsbQueueSub *qs, guint64 from_seq, guint64 to_seq, gsize *len, gpointer data)
{
  return gap_body_new (((WsbIpcSub *) qs)->sub, from_seq, to_seq, len);
}

const WsbOutQueueFuncs wsb_ipc_sub_queue_funcs = {
  .lookup_sub = queue_lookup_sub,
  .gap_size_max = queue_gap_size_max,
  .gap_body = queue_gap_body,
};

void
wsb_ipc_sub_push_message (WsbIpcSub *cs, WsbMessage *m)
{
  WsbIpcClient *c = cs->client;

  if (!c->dead)
    wsb_ipc_client_queued (c, wsb_out_queue_push_message (c->out, cs->q.id, m));
}

static void
on_sub_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  wsb_ipc_sub_push_message (data, m);
}

static void
on_sub_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  WsbIpcSub *cs = data;
  WsbIpcClient *c = cs->client;
  gsize len;
  guint8 *buf;

  if (c->dead)
    return;
  buf = gap_body_new (sub, from_seq, to_seq, &len);
  wsb_ipc_client_queued (c, wsb_out_queue_push_gap (c->out, cs->q.id, buf, len));
}

/* ev's StateChange, encoded once for all the clients that receive it (the
 * event is held while its encoding is kept, so its address is not reused). */
static GBytes *
state_body (WsbIpcServer *srv, WsbStateEvent *ev)
{
  if (srv->state_ev != ev)
    {
      wsb_ipc_forget_state (srv);
      srv->state_ev = wsb_state_event_ref (ev);
      srv->state_body = wsb_status_encode_state_change (&ev->status);
    }
  return srv->state_body;
}

void
wsb_ipc_forget_state (WsbIpcServer *srv)
{
  g_clear_pointer (&srv->state_ev, wsb_state_event_unref);
  g_clear_pointer (&srv->state_body, g_bytes_unref);
}

static void
on_sub_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
  WsbIpcSub *cs = data;
  WsbIpcClient *c = cs->client;

  if (!c->dead)
    wsb_ipc_client_queued (c, wsb_out_queue_push_state (c->out, cs->q.id, state_body (c->srv, ev)));
}

/* No later drop joins cs's gap: it ends. */
static void
sub_ending (WsbIpcSub *cs)
{
  wsb_ipc_ring_detach (cs);
  if (!cs->client->dead)
    wsb_out_queue_sub_ended (cs->client->out, &cs->q);
}

static void
on_sub_ended (WsbSubscription *sub, gpointer data)
{
  WsbIpcSub *cs = data;

  sub_ending (cs);
  /* The hub frees the subscription itself. */
  g_hash_table_steal (cs->client->subs, &cs->q.id);
  g_free (cs);
}

static const WsbSubscriberFuncs sub_funcs = {
  .message = on_sub_message,
  .gap = on_sub_gap,
  .state = on_sub_state,
  .ended = on_sub_ended,
};

static void
sub_free (WsbIpcSub *cs)
{
  sub_ending (cs);
  wsb_hub_unsubscribe (cs->sub);
  g_free (cs);
}

GHashTable *
wsb_ipc_subs_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) sub_free);
}

WsbIpcSub *
wsb_ipc_sub_new (WsbIpcClient *c, const char *session, const char *channel, guint64 since_seq,
                 guint64 epoch, GError **error)
{
  WsbIpcSub *cs = g_new0 (WsbIpcSub, 1);

  cs->client = c;
  cs->wake_fd = -1;
  cs->q.id = ++c->next_sub_id;
  cs->sub = wsb_hub_subscribe (c->srv->hub, c->peer, session, channel, since_seq, epoch, &sub_funcs,
                               cs, error);
  if (!cs->sub)
    {
      g_free (cs);
      return NULL;
    }
  g_hash_table_insert (c->subs, &cs->q.id, cs);
  return cs;
}
