/* The shared-memory delivery path of the socket API (proto/RING.md): one
 * ring per session while any subscriber reads it, written once per inbound
 * message by a subscription of the daemon's own to all of the session's
 * messages, and handed to each subscriber that asked (SubscribeRequest.ring)
 * as a read-only descriptor with an eventfd, in a RingStart event after its
 * catch-up. Its live messages then go only to the ring (those too large
 * for it still come on the socket), and the subscriber is woken once per
 * read from the upstream, never per message. The writer never waits: a
 * subscriber that falls behind by more than the ring sees it from the seqs. */
#define _GNU_SOURCE
#include "ipc-private.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>

#include "log.h"
#include "ring-file.h"
#include "wsb-error.h"

struct _WsbIpcRing
{
  WsbIpcServer *srv;
  char *session;
  WsbRingFile *file;
  guint64 data_bytes;
  WsbSubscription *feed; /* the daemon's own subscription to every message */
  GPtrArray *readers;    /* WsbIpcSub* */
  gboolean written;      /* since the readers were last woken */
  guint64 woken_pos;     /* the writer's position when they were */
  guint drop_id;         /* the last reader left: the ring goes when idle */
};

static void ring_free (WsbIpcRing *ring);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbIpcRing, ring_free)

static guint64
ring_size (guint64 configured)
{
  guint64 n = WSB_RING_MIN_DATA_BYTES;

  while (n < configured && n < WSB_RING_MAX_DATA_BYTES)
    n <<= 1;
  return n;
}

/* The length of m's channel name as a ring records it: 0 for "*". */
static gsize
ring_channel_len (const WsbMessage *m)
{
  return m->channel_len == 1 && wsb_message_channel (m)[0] == '*' ? 0 : m->channel_len;
}

/* A message too large for the ring: an ELSEWHERE record stands for it in
 * the ring, and each reader of its channel gets it on the socket. */
static void
hand_on (WsbIpcRing *ring, WsbMessage *m)
{
  const char *channel = wsb_message_channel (m);

  for (guint i = 0; i < ring->readers->len; i++)
    {
      WsbIpcSub *cs = ring->readers->pdata[i];
      const char *wanted = wsb_subscription_get_channel (cs->sub);

      if (g_str_equal (wanted, "*")
          || (strlen (wanted) == m->channel_len && memcmp (wanted, channel, m->channel_len) == 0))
        wsb_ipc_sub_push_message (cs, m);
    }
}

/* Every live message of the session, for all the ring's readers at once
 * (their own subscriptions take none: wsb_subscription_set_messages_elsewhere). */
static void
on_feed_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  WsbIpcRing *ring = data;

  if (!wsb_ring_write (wsb_ring_file_writer (ring->file), m->seq, m->time_us, m->binary,
                       wsb_message_channel (m), ring_channel_len (m), wsb_message_data (m),
                       m->data_len))
    hand_on (ring, m);
  if (!ring->written)
    {
      ring->written = TRUE;
      g_ptr_array_add (ring->srv->rings_written, ring);
    }
}

static void
on_feed_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  /* A live subscription to "*" misses nothing. */
}

static void
on_feed_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
}

/* The session is gone: its readers' subscriptions end with it (their own
 * ended callbacks follow or came first); the ring goes now. */
static void
on_feed_ended (WsbSubscription *sub, gpointer data)
{
  WsbIpcRing *ring = data;

  ring->feed = NULL; /* the hub frees it */
  g_hash_table_remove (ring->srv->rings, ring->session);
}

static const WsbSubscriberFuncs feed_funcs = {
  .message = on_feed_message,
  .gap = on_feed_gap,
  .state = on_feed_state,
  .ended = on_feed_ended,
};

static WsbIpcRing *
ring_new (WsbIpcServer *srv, WsbIpcSub *first, GError **error)
{
  const char *session = wsb_subscription_get_session (first->sub);
  const WsbSessionConfig *cfg = wsb_subscription_get_config (first->sub);
  WsbSessionStatus st = { 0 };
  g_autoptr (WsbIpcRing) ring = g_new0 (WsbIpcRing, 1);

  if (!cfg->ring_bytes)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_INVALID_ARGUMENT, "%s: ring_bytes is 0", session);
      return NULL;
    }
  wsb_subscription_get_status (first->sub, &st);
  ring->srv = srv;
  ring->session = g_strdup (session);
  ring->data_bytes = ring_size (cfg->ring_bytes);
  ring->readers = g_ptr_array_new ();
  ring->file = wsb_ring_file_new (session, ring->data_bytes, st.epoch, error);
  wsb_session_status_clear (&st);
  if (!ring->file)
    return NULL;
  ring->feed = wsb_hub_subscribe (srv->hub, wsb_peer_daemon (), session, "*", 0, 0, &feed_funcs,
                                  ring, error);
  if (!ring->feed)
    return NULL;
  g_hash_table_insert (srv->rings, ring->session, ring);
  return g_steal_pointer (&ring);
}

static void
ring_free (WsbIpcRing *ring)
{
  if (!ring)
    return;
  for (guint i = 0; i < ring->readers->len; i++)
    ((WsbIpcSub *) ring->readers->pdata[i])->ring = NULL;
  if (ring->feed)
    wsb_hub_unsubscribe (ring->feed);
  if (ring->drop_id)
    g_source_remove (ring->drop_id);
  g_ptr_array_remove (ring->srv->rings_written, ring);
  g_ptr_array_unref (ring->readers);
  wsb_ring_file_free (ring->file);
  g_free (ring->session);
  g_free (ring);
}

void
wsb_ipc_rings_init (WsbIpcServer *srv)
{
  srv->rings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) ring_free);
  srv->rings_written = g_ptr_array_new ();
  srv->wake_polls = g_array_new (FALSE, FALSE, sizeof (struct pollfd));
}

void
wsb_ipc_rings_free (WsbIpcServer *srv)
{
  g_clear_pointer (&srv->rings, g_hash_table_unref);
  g_clear_handle_id (&srv->wake_idle_id, g_source_remove);
  g_clear_handle_id (&srv->wake_timeout_id, g_source_remove);
  g_clear_pointer (&srv->rings_written, g_ptr_array_unref);
  g_clear_pointer (&srv->wake_polls, g_array_unref);
}

/* The RingStart event, with the ring and the eventfd on its first byte. */
static gboolean
send_ring_start (WsbIpcSub *cs, WsbIpcRing *ring, GError **error)
{
  WsbIpcClient *c = cs->client;
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  Wsbridge__V1__RingStart rs = WSBRIDGE__V1__RING_START__INIT;
  WsbSessionStatus st = { 0 };
  int fds[2];
  gsize len;
  guint8 *buf;

  fds[0] = wsb_ring_file_reader_fd (ring->file, error);
  if (fds[0] < 0)
    return FALSE;
  fds[1] = dup (cs->wake_fd);
  if (fds[1] < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot duplicate the eventfd: %s",
                   g_strerror (errno));
      close (fds[0]);
      return FALSE;
    }
  /* Everything up to the session's last seq came by catch-up (or was
   * before the subscription); the ring goes on from there. */
  wsb_subscription_get_status (cs->sub, &st);
  rs.start_pos = wsb_ring_writer_position (wsb_ring_file_writer (ring->file));
  rs.last_seq = st.last_seq;
  rs.data_bytes = ring->data_bytes;
  rs.epoch = st.epoch;
  wsb_session_status_clear (&st);
  ev.subscription_id = cs->q.id;
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_RING;
  ev.ring = &rs;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT;
  frame.event = &ev;
  len = wsbridge__v1__server_frame__get_packed_size (&frame);
  buf = g_malloc (len);
  wsbridge__v1__server_frame__pack (&frame, buf);
  wsb_ipc_client_queued (c, wsb_out_queue_push_frame_fds (c->out, buf, len, fds, 2));
  return TRUE;
}

void
wsb_ipc_ring_attach (WsbIpcSub *cs)
{
  static WsbLogLimit no_ring_log;
  WsbIpcClient *c = cs->client;
  const char *session = wsb_subscription_get_session (cs->sub);
  WsbIpcRing *ring = g_hash_table_lookup (c->srv->rings, session);
  g_autoptr (GError) error = NULL;

  if (c->dead)
    return;
  /* A ring never holds a reader back nor waits for it: it is how
   * drop-oldest works, not disconnect. Under disconnect, the socket. */
  if (!g_str_equal (c->srv->cfg.slow_client_policy, "drop-oldest"))
    return;
  if (!ring)
    ring = ring_new (c->srv, cs, &error);
  if (ring && (cs->wake_fd = wsb_ring_wakeup_fd_new (&error)) >= 0)
    {
      if (send_ring_start (cs, ring, &error))
        {
          cs->ring = ring;
          /* From now on its live messages come from the feed (on_feed_message). */
          wsb_subscription_set_messages_elsewhere (cs->sub);
          g_ptr_array_add (ring->readers, cs);
          return;
        }
      close (cs->wake_fd);
      cs->wake_fd = -1;
    }
  /* The subscription goes on, on the socket. */
  wsb_log_limited (&no_ring_log, G_LOG_LEVEL_WARNING, "client %s: no ring for %s: %s", c->name,
                   session, error->message);
  if (ring && ring->readers->len == 0)
    g_hash_table_remove (c->srv->rings, ring->session);
}

static gboolean
drop_if_unread (gpointer data)
{
  WsbIpcRing *ring = data;

  ring->drop_id = 0;
  if (ring->readers->len == 0)
    g_hash_table_remove (ring->srv->rings, ring->session);
  return G_SOURCE_REMOVE;
}

void
wsb_ipc_ring_detach (WsbIpcSub *cs)
{
  WsbIpcRing *ring = cs->ring;

  if (cs->wake_fd >= 0)
    close (cs->wake_fd);
  cs->wake_fd = -1;
  if (!ring)
    return;
  cs->ring = NULL;
  g_ptr_array_remove_fast (ring->readers, cs);
  /* The last reader gone: so is the ring, and its memory, from the main
   * loop (this may run inside the hub's delivery or its ending of the
   * session's subscriptions, where the feed may not be unsubscribed). */
  if (ring->readers->len == 0 && !ring->drop_id)
    ring->drop_id = g_idle_add (drop_if_unread, ring);
}

/* Wakes the readers of ring that need it. A reader reads its eventfd
 * before it reads the ring (proto/RING.md), so one whose eventfd is still
 * readable has yet to read the ring and will find this batch: it is not
 * signalled again. Which ones are is asked with one poll for all of them,
 * so a reader busy with the last batch costs no write and no wake-up. */
static void
wake_readers (WsbIpcServer *srv, WsbIpcRing *ring)
{
  guint n = ring->readers->len;
  struct pollfd *fds;

  if (n == 1)
    {
      wsb_ring_wakeup (((WsbIpcSub *) ring->readers->pdata[0])->wake_fd);
      return;
    }
  g_array_set_size (srv->wake_polls, n);
  fds = (struct pollfd *) (gpointer) srv->wake_polls->data;
  for (guint k = 0; k < n; k++)
    fds[k] = (struct pollfd){ .fd = ((WsbIpcSub *) ring->readers->pdata[k])->wake_fd,
                              .events = POLLIN };
  if (poll (fds, n, 0) < 0)
    for (guint k = 0; k < n; k++)
      fds[k].revents = 0; /* ENOMEM, EINTR: wake them all */
  for (guint k = 0; k < n; k++)
    if (!(fds[k].revents & POLLIN))
      wsb_ring_wakeup (fds[k].fd);
}

static void
wake (WsbIpcServer *srv, WsbIpcRing *ring)
{
  ring->written = FALSE;
  ring->woken_pos = wsb_ring_writer_position (wsb_ring_file_writer (ring->file));
  if (ring->readers->len)
    wake_readers (srv, ring);
}

static gboolean
wake_all (gpointer data)
{
  WsbIpcServer *srv = data;

  g_clear_handle_id (&srv->wake_idle_id, g_source_remove);
  g_clear_handle_id (&srv->wake_timeout_id, g_source_remove);
  for (guint i = 0; i < srv->rings_written->len; i++)
    wake (srv, srv->rings_written->pdata[i]);
  g_ptr_array_set_size (srv->rings_written, 0);
  return G_SOURCE_REMOVE;
}

/* After a read from an upstream. While more keeps coming (the daemon is
 * busy reading: a burst), the readers of a ring are woken once an eighth
 * of it was written since their last wake-up, not after every read: each
 * wake-up of each reader costs a context switch, and a hundred readers
 * woken after every 64 KiB read spend more on waking than on reading. As
 * soon as the main loop has nothing more to read (an idle source), or at
 * the latest after a millisecond, every reader of a written ring is woken:
 * a quiet feed's message is not held. */
void
wsb_ipc_rings_flush (WsbIpcServer *srv)
{
  for (guint i = 0; i < srv->rings_written->len;)
    {
      WsbIpcRing *ring = srv->rings_written->pdata[i];
      guint64 pos = wsb_ring_writer_position (wsb_ring_file_writer (ring->file));

      if (pos - ring->woken_pos >= ring->data_bytes / 8)
        {
          wake (srv, ring);
          g_ptr_array_remove_index_fast (srv->rings_written, i);
        }
      else
        i++;
    }
  if (!srv->rings_written->len || srv->wake_idle_id)
    return;
  srv->wake_idle_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, wake_all, srv, NULL);
  srv->wake_timeout_id = g_timeout_add (1, wake_all, srv);
}
