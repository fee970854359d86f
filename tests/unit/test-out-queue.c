/* The output queue of an API client (daemon/ipc/out-queue.c): what it writes
 * is decoded back into ServerFrames and checked against what was pushed. */
#include "out-queue.h"

#include <string.h>

#include "framing.h"
#include "wsbridge.pb-c.h"

#define N_SUBS 4         /* subscription ids 1..3 */
#define HUB_GAP_EPOCH 99 /* a gap the hub told of, not one the queue made */

typedef enum
{
  EV_FRAME,
  EV_REPLY,
  EV_MESSAGE,
  EV_STATE,
  EV_HUB_GAP,
  EV_QUEUE_GAP,
} EvKind;

/* One frame, as pushed or as written: a is the seq of a message, the tag of
 * any other kind, the first seq of a queue gap (b its last). */
typedef struct
{
  EvKind kind;
  guint64 sub;
  guint64 a, b;
  guint64 epoch; /* of a queue gap */
} Ev;

typedef struct
{
  WsbQueueSub q;
  gboolean ended;
} TestSub;

typedef struct
{
  WsbOutQueue *queue;
  gsize limit;
  TestSub subs[N_SUBS];
  guint64 seq[N_SUBS];
  guint64 tag;
  guint64 epoch; /* what a gap body made now says */
  guint gap_bodies;
  GArray *pushed; /* Ev */
  GByteArray *out;
  guint64 caught_up; /* sum of what consume returned */
  gsize payload;     /* bytes of each message's data */
} Fx;

static WsbQueueSub *
lookup_sub (guint64 id, gpointer data)
{
  Fx *fx = data;

  g_assert_cmpuint (id, >, 0);
  if (id >= N_SUBS || fx->subs[id].ended)
    return NULL;
  return &fx->subs[id].q;
}

static void
gap_init (Wsbridge__V1__Gap *gap, guint64 from, guint64 to, guint64 epoch)
{
  wsbridge__v1__gap__init (gap);
  gap->session = (char *) "s";
  gap->channel = (char *) "*";
  gap->from_seq = from;
  gap->to_seq = to;
  gap->epoch = epoch;
}

static guint8 *
gap_pack (guint64 from, guint64 to, guint64 epoch, gsize *len)
{
  Wsbridge__V1__Gap gap;
  guint8 *buf;

  gap_init (&gap, from, to, epoch);
  *len = wsbridge__v1__gap__get_packed_size (&gap);
  buf = g_malloc (*len);
  wsbridge__v1__gap__pack (&gap, buf);
  return buf;
}

static gsize
gap_size_max (WsbQueueSub *sub, gpointer data)
{
  Wsbridge__V1__Gap gap;

  gap_init (&gap, G_MAXUINT64, G_MAXUINT64, G_MAXUINT64);
  return wsbridge__v1__gap__get_packed_size (&gap);
}

static guint8 *
gap_body (WsbQueueSub *sub, guint64 from, guint64 to, gsize *len, gpointer data)
{
  Fx *fx = data;

  g_assert_true (sub == lookup_sub (sub->id, fx));
  g_assert_cmpuint (from, <=, to);
  fx->gap_bodies++;
  return gap_pack (from, to, fx->epoch, len);
}

static const WsbOutQueueFuncs funcs = {
  .lookup_sub = lookup_sub,
  .gap_size_max = gap_size_max,
  .gap_body = gap_body,
};

static Fx *
fx_new (gsize limit)
{
  Fx *fx = g_new0 (Fx, 1);

  fx->limit = limit;
  fx->queue = wsb_out_queue_new (limit, &funcs, fx);
  for (guint i = 1; i < N_SUBS; i++)
    fx->subs[i].q.id = i;
  fx->epoch = 1;
  fx->pushed = g_array_new (FALSE, FALSE, sizeof (Ev));
  fx->out = g_byte_array_new ();
  fx->payload = 100;
  return fx;
}

static void
fx_free (Fx *fx)
{
  wsb_out_queue_free (fx->queue);
  g_array_unref (fx->pushed);
  g_byte_array_unref (fx->out);
  g_free (fx);
}

static void
record (Fx *fx, EvKind kind, guint64 sub, guint64 a)
{
  Ev ev = { .kind = kind, .sub = sub, .a = a };

  g_array_append_val (fx->pushed, ev);
}

static gboolean
push_message (Fx *fx, guint64 sub)
{
  guint64 seq = ++fx->seq[sub];
  g_autofree char *data = g_strdup_printf ("%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT "%*s", sub,
                                           seq, (int) fx->payload, "");
  g_autoptr (WsbMessage) m
      = wsb_message_new ("s", "*", seq, 1, 0, FALSE, (guint8 *) data, strlen (data));

  record (fx, EV_MESSAGE, sub, seq);
  /* The queue keeps its own reference. */
  return wsb_out_queue_push_message (fx->queue, sub, m);
}

static guint8 *
frame_pack (Wsbridge__V1__ServerFrame *frame, gsize *len)
{
  guint8 *buf;

  *len = wsbridge__v1__server_frame__get_packed_size (frame);
  buf = g_malloc (*len);
  wsbridge__v1__server_frame__pack (frame, buf);
  return buf;
}

static gboolean
push_reply (Fx *fx)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Empty empty = WSBRIDGE__V1__EMPTY__INIT;
  gsize len;
  guint8 *buf;

  r.id = ++fx->tag;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_OK;
  r.ok = &empty;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY;
  frame.reply = &r;
  buf = frame_pack (&frame, &len);
  record (fx, EV_REPLY, 0, r.id);
  return wsb_out_queue_push_reply (fx->queue, buf, len);
}

static gboolean
push_frame (Fx *fx)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Error err = WSBRIDGE__V1__ERROR__INIT;
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, ++fx->tag);
  gsize len;
  guint8 *buf;

  err.message = text;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR;
  frame.error = &err;
  buf = frame_pack (&frame, &len);
  record (fx, EV_FRAME, 0, fx->tag);
  return wsb_out_queue_push_frame (fx->queue, buf, len);
}

static gboolean
push_state (Fx *fx, guint64 sub)
{
  Wsbridge__V1__StateChange sc = WSBRIDGE__V1__STATE_CHANGE__INIT;
  Wsbridge__V1__SessionStatus st = WSBRIDGE__V1__SESSION_STATUS__INIT;
  gsize len;
  guint8 *buf;
  g_autoptr (GBytes) body = NULL;

  st.name = (char *) "s";
  st.reconnects = ++fx->tag;
  sc.status = &st;
  len = wsbridge__v1__state_change__get_packed_size (&sc);
  buf = g_malloc (len);
  wsbridge__v1__state_change__pack (&sc, buf);
  body = g_bytes_new_take (buf, len);
  record (fx, EV_STATE, sub, fx->tag);
  /* The queue keeps its own reference. */
  return wsb_out_queue_push_state (fx->queue, sub, body);
}

static gboolean
push_hub_gap (Fx *fx, guint64 sub)
{
  guint64 tag = ++fx->tag;
  gsize len;
  guint8 *body = gap_pack (tag, tag, HUB_GAP_EPOCH, &len);

  record (fx, EV_HUB_GAP, sub, tag);
  return wsb_out_queue_push_gap (fx->queue, sub, body, len);
}

/* What the daemon does when a push went over: drop the oldest. When that
 * works, the queue is within its limit. */
static gboolean
police (Fx *fx, gboolean over)
{
  if (!over)
    return TRUE;
  if (!wsb_out_queue_drop_oldest (fx->queue))
    return FALSE;
  g_assert_cmpuint (wsb_out_queue_get_size (fx->queue), <=, fx->limit);
  return TRUE;
}

/* Writes at most max bytes of what the queue offers in at most max_iov
 * pieces, as a socket taking only that much would. */
static gsize
write_some (Fx *fx, gsize max, int max_iov)
{
  struct iovec iov[16];
  int n = wsb_out_queue_get_iov (fx->queue, iov, MIN (max_iov, (int) G_N_ELEMENTS (iov)));
  gsize done = 0;

  for (int i = 0; i < n && done < max; i++)
    {
      gsize take = MIN (iov[i].iov_len, max - done);

      g_assert_cmpuint (iov[i].iov_len, >, 0);
      g_byte_array_append (fx->out, iov[i].iov_base, (guint) take);
      done += take;
    }
  fx->caught_up += wsb_out_queue_consume (fx->queue, done);
  return done;
}

static void
drain (Fx *fx, gsize step)
{
  for (guint rounds = 0; !wsb_out_queue_is_empty (fx->queue); rounds++)
    {
      g_assert_cmpuint (rounds, <, 1000000);
      write_some (fx, step, 16);
    }
  g_assert_cmpuint (wsb_out_queue_get_size (fx->queue), ==, 0);
  g_assert_cmpuint (wsb_out_queue_get_replies (fx->queue), ==, 0);
}

/* Decodes everything written into Ev values. */
static GArray *
written (Fx *fx)
{
  GArray *evs = g_array_new (FALSE, FALSE, sizeof (Ev));
  gsize pos = 0;

  while (pos < fx->out->len)
    {
      size_t prefix, body;
      Wsbridge__V1__ServerFrame *f;
      Ev ev = { 0 };

      g_assert_cmpint (
          wsb_frame_peek (fx->out->data + pos, fx->out->len - pos, G_MAXUINT32, &prefix, &body), ==,
          WSB_FRAME_OK);
      f = wsbridge__v1__server_frame__unpack (NULL, body, fx->out->data + pos + prefix);
      g_assert_nonnull (f);
      pos += prefix + body;
      if (f->frame_case == WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY)
        ev = (Ev){ .kind = EV_REPLY, .a = f->reply->id };
      else if (f->frame_case == WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR)
        ev = (Ev){ .kind = EV_FRAME, .a = g_ascii_strtoull (f->error->message, NULL, 10) };
      else
        {
          Wsbridge__V1__Event *e = f->event;

          g_assert_cmpint (f->frame_case, ==, WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT);
          ev.sub = e->subscription_id;
          if (e->event_case == WSBRIDGE__V1__EVENT__EVENT_MESSAGE)
            {
              g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT,
                                                       ev.sub, e->message->seq);
              g_assert_cmpuint (e->message->data.len, >=, strlen (want));
              g_assert_cmpmem (e->message->data.data, strlen (want), want, strlen (want));
              ev.kind = EV_MESSAGE;
              ev.a = e->message->seq;
            }
          else if (e->event_case == WSBRIDGE__V1__EVENT__EVENT_STATE)
            {
              ev.kind = EV_STATE;
              ev.a = e->state->status->reconnects;
            }
          else
            {
              g_assert_cmpint (e->event_case, ==, WSBRIDGE__V1__EVENT__EVENT_GAP);
              g_assert_cmpstr (e->gap->session, ==, "s");
              ev.kind = e->gap->epoch == HUB_GAP_EPOCH ? EV_HUB_GAP : EV_QUEUE_GAP;
              ev.a = e->gap->from_seq;
              ev.b = e->gap->to_seq;
              ev.epoch = e->gap->epoch;
            }
        }
      g_array_append_val (evs, ev);
      wsbridge__v1__server_frame__free_unpacked (f, NULL);
    }
  return evs;
}

static gboolean
same (const Ev *x, const Ev *y)
{
  return x->kind == y->kind && x->sub == y->sub && x->a == y->a;
}

/* The rules, whatever was pushed and dropped:
 * - everything but queue gaps was pushed, in this order, and only messages
 *   are missing;
 * - per subscription, each queue gap stands for a run of its messages in
 *   their place: expanded, the subscription's events are exactly what was
 *   pushed for it.
 * Returns the events written (g_array_unref them). */
static GArray *
check_stream (Fx *fx)
{
  GArray *got = written (fx);
  guint j = 0;
  guint64 gapped = 0;

  for (guint i = 0; i < got->len; i++)
    {
      Ev *ev = &g_array_index (got, Ev, i);

      if (ev->kind == EV_QUEUE_GAP)
        {
          gapped += ev->b - ev->a + 1;
          continue;
        }
      while (j < fx->pushed->len && !same (&g_array_index (fx->pushed, Ev, j), ev))
        {
          g_assert_cmpint (g_array_index (fx->pushed, Ev, j).kind, ==, EV_MESSAGE);
          j++;
        }
      g_assert_cmpuint (j, <, fx->pushed->len);
      j++;
    }
  for (; j < fx->pushed->len; j++)
    g_assert_cmpint (g_array_index (fx->pushed, Ev, j).kind, ==, EV_MESSAGE);

  for (guint64 sub = 1; sub < N_SUBS; sub++)
    {
      g_autoptr (GArray) mine = g_array_new (FALSE, FALSE, sizeof (Ev));
      guint k = 0;

      for (guint i = 0; i < got->len; i++)
        {
          Ev *ev = &g_array_index (got, Ev, i);

          if (ev->sub != sub)
            continue;
          if (ev->kind != EV_QUEUE_GAP)
            g_array_append_val (mine, *ev);
          for (guint64 s = ev->a; ev->kind == EV_QUEUE_GAP && s <= ev->b; s++)
            g_array_append_val (mine, ((Ev){ .kind = EV_MESSAGE, .sub = sub, .a = s }));
        }
      for (guint i = 0; i < fx->pushed->len; i++)
        {
          Ev *ev = &g_array_index (fx->pushed, Ev, i);

          if (ev->sub != sub)
            continue;
          g_assert_cmpuint (k, <, mine->len);
          g_assert_true (same (&g_array_index (mine, Ev, k), ev));
          k++;
        }
      g_assert_cmpuint (k, ==, mine->len);
    }
  /* Every drop was counted, and told once the client caught up. */
  g_assert_cmpuint (gapped, ==, fx->caught_up + wsb_out_queue_get_dropped (fx->queue));
  return got;
}

/* The queue gaps written, in order. */
static GArray *
queue_gaps (GArray *got)
{
  GArray *gaps = g_array_new (FALSE, FALSE, sizeof (Ev));

  for (guint i = 0; i < got->len; i++)
    if (g_array_index (got, Ev, i).kind == EV_QUEUE_GAP)
      g_array_append_val (gaps, g_array_index (got, Ev, i));
  return gaps;
}

static void
assert_gap (GArray *gaps, guint i, guint64 sub, guint64 from, guint64 to)
{
  Ev *g;

  g_assert_cmpuint (i, <, gaps->len);
  g = &g_array_index (gaps, Ev, i);
  g_assert_cmpuint (g->sub, ==, sub);
  g_assert_cmpuint (g->a, ==, from);
  g_assert_cmpuint (g->b, ==, to);
}

static void
test_fifo_in_any_write_sizes (void)
{
  g_autoptr (GByteArray) whole = NULL;

  for (gsize step = 1; step <= 4096; step *= 4)
    {
      Fx *fx = fx_new (G_MAXSIZE);

      for (int i = 0; i < 40; i++)
        {
          g_assert_false (push_message (fx, 1 + i % 3));
          if (i % 5 == 0)
            g_assert_false (push_reply (fx));
          if (i % 7 == 0)
            g_assert_false (push_state (fx, 2));
          if (i % 11 == 0)
            g_assert_false (push_hub_gap (fx, 3));
          if (i % 13 == 0)
            g_assert_false (push_frame (fx));
        }
      g_assert_cmpuint (wsb_out_queue_get_replies (fx->queue), ==, 8);
      drain (fx, step);
      g_autoptr (GArray) got = check_stream (fx);
      g_assert_cmpuint (got->len, ==, fx->pushed->len);
      /* Byte for byte the same stream, however the socket took it. */
      if (!whole)
        whole = g_byte_array_ref (fx->out);
      else
        g_assert_cmpmem (fx->out->data, fx->out->len, whole->data, whole->len);
      fx_free (fx);
    }
}

static void
test_reply_counted_until_wholly_written (void)
{
  Fx *fx = fx_new (G_MAXSIZE);
  gsize first;

  push_reply (fx);
  push_reply (fx);
  g_assert_cmpuint (wsb_out_queue_get_replies (fx->queue), ==, 2);
  write_some (fx, 3, 16);       /* part of the first */
  first = 1 + fx->out->data[0]; /* its length prefix is one byte */
  g_assert_cmpuint (first, >, 4);
  write_some (fx, first - 4, 16); /* all of it but its last byte */
  g_assert_cmpuint (wsb_out_queue_get_replies (fx->queue), ==, 2);
  write_some (fx, 2, 16); /* its last byte, the first of the second */
  g_assert_cmpuint (wsb_out_queue_get_replies (fx->queue), ==, 1);
  drain (fx, 1);
  g_autoptr (GArray) got = check_stream (fx);
  g_assert_cmpuint (got->len, ==, 2);
  fx_free (fx);
}

/* A stalled client: each run of dropped messages of a subscription is one
 * gap, in the place of the run's first message; the queue stays within
 * client_buffer_bytes. */
static void
test_drop_oldest_one_gap_per_run (void)
{
  Fx *fx = fx_new (4096);

  for (int i = 0; i < 500; i++)
    g_assert_true (police (fx, push_message (fx, 1)));
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue), >, 400);
  drain (fx, 1000);

  g_autoptr (GArray) got = check_stream (fx);
  g_autoptr (GArray) gaps = queue_gaps (got);
  g_assert_cmpuint (gaps->len, ==, 1);
  assert_gap (gaps, 0, 1, 1, g_array_index (gaps, Ev, 0).b);
  /* The gap comes first, then the messages kept, the newest. */
  g_assert_cmpint (g_array_index (got, Ev, 0).kind, ==, EV_QUEUE_GAP);
  g_assert_cmpuint (g_array_index (got, Ev, got->len - 1).a, ==, 500);
  /* Made once, when it was about to be written. */
  g_assert_cmpuint (fx->gap_bodies, ==, 1);
  g_assert_cmpuint (fx->caught_up, ==, g_array_index (gaps, Ev, 0).b);
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue), ==, 0);
  fx_free (fx);
}

/* Two subscriptions each get their own gap; an event of a subscription
 * ends its run, so the next drops of it make another gap after the event. */
static void
test_gaps_per_subscription_split_by_events (void)
{
  Fx *fx = fx_new (3000);

  for (int phase = 0; phase < 3; phase++)
    {
      for (int i = 0; i < 10; i++)
        {
          push_message (fx, 1);
          push_message (fx, 2);
        }
      if (phase == 0)
        push_state (fx, 1);
      else if (phase == 1)
        push_hub_gap (fx, 2);
    }
  /* Over by far: drops until within the limit, into the third phase. */
  g_assert_true (wsb_out_queue_is_over (fx->queue));
  g_assert_true (wsb_out_queue_drop_oldest (fx->queue));
  drain (fx, 100);

  g_autoptr (GArray) got = check_stream (fx);
  g_autoptr (GArray) gaps = queue_gaps (got);
  /* Sub 1: 1..10 before its state change, 11..k after it. Sub 2: 1..20
   * before the hub's gap, 21..j after it. Each in the place of its first. */
  g_assert_cmpuint (gaps->len, ==, 4);
  assert_gap (gaps, 0, 1, 1, 10);
  assert_gap (gaps, 1, 2, 1, 20);
  assert_gap (gaps, 2, 1, 11, g_array_index (gaps, Ev, 2).b);
  assert_gap (gaps, 3, 2, 21, g_array_index (gaps, Ev, 3).b);
  g_assert_cmpuint (g_array_index (gaps, Ev, 2).b, >, 20);
  g_assert_cmpuint (g_array_index (gaps, Ev, 2).b, <, 30);
  g_assert_cmpuint (g_array_index (gaps, Ev, 3).b, <, 30);
  fx_free (fx);
}

/* Replies, frames, state changes and the hub's gaps are never dropped:
 * with nothing else queued, drop-oldest gives up. */
static void
test_never_dropped (void)
{
  Fx *fx = fx_new (1000);

  for (int i = 0; i < 10; i++)
    {
      push_reply (fx);
      push_frame (fx);
      push_state (fx, 1);
      push_hub_gap (fx, 2);
    }
  g_assert_true (wsb_out_queue_is_over (fx->queue));
  g_assert_false (wsb_out_queue_drop_oldest (fx->queue));
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue), ==, 0);
  drain (fx, 7);
  g_autoptr (GArray) got = check_stream (fx);
  g_assert_cmpuint (got->len, ==, 40);
  fx_free (fx);
}

/* A message partly written is finished, never dropped. */
static void
test_partly_written_message_kept (void)
{
  Fx *fx = fx_new (2000);

  push_message (fx, 1);
  write_some (fx, 5, 16);
  for (int i = 0; i < 20; i++)
    g_assert_true (police (fx, push_message (fx, 1)));
  drain (fx, 64);

  g_autoptr (GArray) got = check_stream (fx);
  g_autoptr (GArray) gaps = queue_gaps (got);
  g_assert_cmpint (g_array_index (got, Ev, 0).kind, ==, EV_MESSAGE);
  g_assert_cmpuint (g_array_index (got, Ev, 0).a, ==, 1);
  g_assert_cmpuint (gaps->len, ==, 1);
  assert_gap (gaps, 0, 1, 2, g_array_index (gaps, Ev, 0).b);
  fx_free (fx);
}

/* A message larger than the whole limit (max_message_bytes may be above
 * client_buffer_bytes) is not a reason to drop or disconnect: at the front
 * it is delivered to a client that reads; the limit bounds what waits
 * behind it, and drops there never touch it. */
static void
test_message_larger_than_the_limit (void)
{
  Fx *fx = fx_new (2000);

  fx->payload = 10000;
  g_assert_false (push_message (fx, 1)); /* alone: not over */
  write_some (fx, 3000, 16);
  g_assert_false (wsb_out_queue_is_over (fx->queue));
  fx->payload = 100;
  for (int i = 0; i < 50; i++)
    if (push_message (fx, 2))
      {
        g_assert_true (wsb_out_queue_drop_oldest (fx->queue));
        /* Behind it the limit holds. */
        g_assert_cmpuint (wsb_out_queue_get_size (fx->queue), <=, 2000 + 10100);
      }
  drain (fx, 700);

  g_autoptr (GArray) got = check_stream (fx);
  g_assert_cmpint (g_array_index (got, Ev, 0).kind, ==, EV_MESSAGE);
  g_assert_cmpuint (g_array_index (got, Ev, 0).sub, ==, 1);
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue) + fx->caught_up, >, 0);
  fx_free (fx);
}

/* A gap is encoded when it is about to be written, with what the session
 * says then; a write that did not happen leaves it open to later drops,
 * a write that took a byte of it closes it. */
static void
test_gap_encoded_late_and_closed_by_its_write (void)
{
  Fx *fx = fx_new (2000);

  for (int i = 0; i < 20; i++)
    police (fx, push_message (fx, 1));
  /* The socket is full: the iovecs are made (the gap encoded), nothing goes. */
  write_some (fx, 0, 16);
  g_assert_cmpuint (fx->gap_bodies, ==, 1);
  for (int i = 0; i < 20; i++)
    police (fx, push_message (fx, 1));
  fx->epoch = 5;
  write_some (fx, 1, 16); /* one byte of the gap */
  g_assert_cmpuint (fx->gap_bodies, ==, 2);
  for (int i = 0; i < 20; i++)
    police (fx, push_message (fx, 1));
  fx->epoch = 6;
  drain (fx, 1000);

  g_autoptr (GArray) got = check_stream (fx);
  g_autoptr (GArray) gaps = queue_gaps (got);
  g_assert_cmpuint (gaps->len, ==, 2);
  assert_gap (gaps, 0, 1, 1, g_array_index (gaps, Ev, 0).b);
  g_assert_cmpuint (g_array_index (gaps, Ev, 0).b, >, 20);
  g_assert_cmpuint (g_array_index (gaps, Ev, 0).epoch, ==, 5);
  assert_gap (gaps, 1, 1, g_array_index (gaps, Ev, 0).b + 1, g_array_index (gaps, Ev, 1).b);
  g_assert_cmpuint (g_array_index (gaps, Ev, 1).epoch, ==, 6);
  fx_free (fx);
}

/* An ended subscription's pending gap is encoded as it ends; its messages
 * still queued are never dropped (no gap could tell of their loss). */
static void
test_ended_subscription (void)
{
  Fx *fx = fx_new (3000);
  guint64 dropped, kept = 0;

  for (int i = 0; i < 20; i++)
    g_assert_true (police (fx, push_message (fx, 1)));
  dropped = wsb_out_queue_get_dropped (fx->queue);
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (fx->gap_bodies, ==, 0);
  wsb_out_queue_sub_ended (fx->queue, &fx->subs[1].q);
  g_assert_cmpuint (fx->gap_bodies, ==, 1);
  fx->subs[1].ended = TRUE;
  while (!push_reply (fx))
    ;
  g_assert_false (wsb_out_queue_drop_oldest (fx->queue));
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue), ==, dropped);
  drain (fx, 1000);

  g_autoptr (GArray) got = check_stream (fx);
  g_autoptr (GArray) gaps = queue_gaps (got);

  for (guint i = 0; i < got->len; i++)
    kept += g_array_index (got, Ev, i).kind == EV_MESSAGE;
  g_assert_cmpuint (gaps->len, ==, 1);
  assert_gap (gaps, 0, 1, 1, dropped);
  g_assert_cmpuint (kept, ==, 20 - dropped);
  fx_free (fx);
}

/* Enough drops among kept chunks that the queue squeezes out the empty
 * slots: order is kept, and the open gap, moved, still takes later drops. */
static void
test_squeeze_keeps_order_and_gap (void)
{
  Fx *fx = fx_new (6000);

  for (int i = 0; i < 900; i++)
    {
      g_assert_true (police (fx, push_message (fx, 1 + (i % 10 == 0))));
      if (i % 50 == 0)
        g_assert_true (police (fx, push_reply (fx)));
      if (i % 100 == 0)
        g_assert_true (police (fx, push_frame (fx)));
    }
  drain (fx, 333);

  g_autoptr (GArray) got = check_stream (fx);
  g_autoptr (GArray) gaps = queue_gaps (got);
  /* One run per subscription, however often the array was squeezed. */
  g_assert_cmpuint (gaps->len, ==, 2);
  fx_free (fx);
}

/* The array does not grow with the number of frames that went through:
 * the written front and the slots of dropped messages are removed, both
 * for a client that is stalled and for one that reads but never catches
 * up. At most limit / 100 chunks are live here (every message is larger),
 * so 1000 slots is several times what the queue may hold. */
static void
test_memory_bounded (void)
{
  Fx *fx = fx_new (4096);

  for (int i = 0; i < 20000; i++)
    {
      g_assert_true (police (fx, push_message (fx, 1 + i % 2)));
      g_assert_cmpuint (wsb_out_queue_get_slots (fx->queue), <=, 1000);
    }
  for (int i = 0; i < 20000; i++)
    {
      g_assert_true (police (fx, push_message (fx, 1 + i % 3)));
      if (i % 7 == 0)
        g_assert_true (police (fx, push_reply (fx)));
      if (i % 2 == 0)
        write_some (fx, 250, 16);
      g_assert_false (wsb_out_queue_is_empty (fx->queue));
      g_assert_cmpuint (wsb_out_queue_get_slots (fx->queue), <=, 1000);
    }
  drain (fx, 4096);
  g_assert_cmpuint (wsb_out_queue_get_slots (fx->queue), ==, 0);
  g_autoptr (GArray) got = check_stream (fx);
  fx_free (fx);

  /* Nothing dropped, nothing ever empty: only the written front goes. */
  fx = fx_new (1 << 20);
  for (int i = 0; i < 20000; i++)
    {
      while (wsb_out_queue_get_size (fx->queue) < 5000)
        g_assert_false (push_message (fx, 1));
      write_some (fx, 300, 16);
      g_assert_false (wsb_out_queue_is_empty (fx->queue));
      g_assert_cmpuint (wsb_out_queue_get_slots (fx->queue), <=, 1000);
    }
  drain (fx, 4096);
  g_autoptr (GArray) got2 = check_stream (fx);
  g_assert_cmpuint (got2->len, ==, fx->pushed->len);
  fx_free (fx);
}

/* The count of drops is told when the client is back within half its limit. */
static void
test_caught_up (void)
{
  Fx *fx = fx_new (4000);

  for (int i = 0; i < 40; i++)
    police (fx, push_message (fx, 1));
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue), >, 0);
  while (wsb_out_queue_get_size (fx->queue) > fx->limit / 2)
    {
      g_assert_cmpuint (fx->caught_up, ==, 0);
      write_some (fx, 50, 16);
    }
  g_assert_cmpuint (fx->caught_up, >, 0);
  g_assert_cmpuint (wsb_out_queue_get_dropped (fx->queue), ==, 0);
  drain (fx, 1000);
  g_autoptr (GArray) got = check_stream (fx);
  fx_free (fx);
}

/* Random pushes, writes of random sizes and drops: the rules hold, and the
 * queue stays within its limit whenever something was droppable. */
static void
test_random (void)
{
  for (guint32 seed = 1; seed <= 200; seed++)
    {
      g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
      Fx *fx = fx_new (g_rand_int_range (rand, 1500, 20000));

      fx->payload = g_rand_int_range (rand, 0, 300);
      for (int step = 0; step < 600; step++)
        {
          guint32 what = g_rand_int_range (rand, 0, 100);
          gboolean over;

          if (what < 70)
            over = push_message (fx, g_rand_int_range (rand, 1, N_SUBS));
          else if (what < 75)
            over = push_reply (fx);
          else if (what < 78)
            over = push_state (fx, g_rand_int_range (rand, 1, N_SUBS));
          else if (what < 80)
            over = push_hub_gap (fx, g_rand_int_range (rand, 1, N_SUBS));
          else if (what < 81)
            over = push_frame (fx);
          else
            {
              write_some (fx, g_rand_int_range (rand, 0, 400), g_rand_int_range (rand, 2, 17));
              continue;
            }
          if (!police (fx, over))
            break; /* the daemon would disconnect it: check what it had */
        }
      drain (fx, g_rand_int_range (rand, 1, 2000));
      g_autoptr (GArray) got = check_stream (fx);
      fx_free (fx);
    }
}

static void
test_clear_releases_everything (void)
{
  Fx *fx = fx_new (2000);

  for (int i = 0; i < 30; i++)
    {
      police (fx, push_message (fx, 1));
      push_state (fx, 2);
      push_reply (fx);
    }
  write_some (fx, 3, 16);
  wsb_out_queue_clear (fx->queue);
  g_assert_true (wsb_out_queue_is_empty (fx->queue));
  g_assert_cmpuint (wsb_out_queue_get_size (fx->queue), ==, 0);
  g_assert_cmpuint (wsb_out_queue_get_replies (fx->queue), ==, 0);
  /* Nothing of before is encoded now. */
  guint bodies = fx->gap_bodies;
  wsb_out_queue_sub_ended (fx->queue, &fx->subs[1].q);
  g_assert_cmpuint (fx->gap_bodies, ==, bodies);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/out-queue/fifo-in-any-write-sizes", test_fifo_in_any_write_sizes);
  g_test_add_func ("/out-queue/message-larger-than-the-limit", test_message_larger_than_the_limit);
  g_test_add_func ("/out-queue/reply-counted-until-wholly-written",
                   test_reply_counted_until_wholly_written);
  g_test_add_func ("/out-queue/drop-oldest-one-gap-per-run", test_drop_oldest_one_gap_per_run);
  g_test_add_func ("/out-queue/gaps-per-subscription-split-by-events",
                   test_gaps_per_subscription_split_by_events);
  g_test_add_func ("/out-queue/never-dropped", test_never_dropped);
  g_test_add_func ("/out-queue/partly-written-message-kept", test_partly_written_message_kept);
  g_test_add_func ("/out-queue/gap-encoded-late-and-closed-by-its-write",
                   test_gap_encoded_late_and_closed_by_its_write);
  g_test_add_func ("/out-queue/ended-subscription", test_ended_subscription);
  g_test_add_func ("/out-queue/squeeze-keeps-order-and-gap", test_squeeze_keeps_order_and_gap);
  g_test_add_func ("/out-queue/memory-bounded", test_memory_bounded);
  g_test_add_func ("/out-queue/caught-up", test_caught_up);
  g_test_add_func ("/out-queue/random", test_random);
  g_test_add_func ("/out-queue/clear-releases-everything", test_clear_releases_everything);
  return g_test_run ();
}
