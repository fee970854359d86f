#include "out-queue.h"

#include <unistd.h>

#include "framing.h"

/* What a queued chunk is, for drop-oldest and the count of replies. */
typedef enum
{
  CHUNK_FRAME,       /* hello, error, send outcome */
  CHUNK_REPLY,       /* the reply to a request */
  CHUNK_MESSAGE,     /* a subscription's message: the only kind drop-oldest drops */
  CHUNK_EVENT,       /* a subscription's gap or state change */
  CHUNK_GAP_PENDING, /* the gap for dropped messages, still growing (see drop_oldest) */
  CHUNK_DROPPED,     /* the empty slot of a dropped message */
} ChunkKind;

/* One frame (or the tail of one) waiting to be written: a small header
 * followed by a body that is owned, shared (a message) or a GBytes. A
 * pending gap has no bytes yet: its body_len is the most it will take. */
typedef struct
{
  guint8 hdr[WSB_EVENT_HEADER_MAX];
  guint8 kind; /* ChunkKind, in what would be padding after hdr */
  gsize hdr_len;
  const guint8 *body;
  gsize body_len;
  guint64 sub_id; /* subscription events: whose */
  WsbMessage *msg;
  GBytes *bytes;
  guint8 *owned;
  /* Descriptors that go with the frame's first byte (SCM_RIGHTS), owned
   * until then. */
  int fds[WSB_OUT_QUEUE_MAX_FDS];
  guint8 n_fds;
} OutChunk;

/* The chunks at positions head to tail are queued, in a ring kept inline
 * so that queuing an event allocates nothing once the ring has grown, and
 * nothing moves when the front is written. A chunk's position only grows
 * (the chunk at pos is ring[pos & (cap - 1)]), so it names the chunk for as
 * long as it is queued. */
struct _WsbOutQueue
{
  gsize limit;
  const WsbOutQueueFuncs *funcs;
  gpointer data;
  OutChunk *ring;
  gsize cap; /* 0 or a power of two */
  gsize head;
  gsize tail;
  gsize bytes;     /* to write; a pending gap counts at its largest */
  gsize offset;    /* bytes of the head chunk already written */
  guint n_slots;   /* CHUNK_DROPPED slots queued, all before drop_pos */
  gsize drop_pos;  /* drop-oldest is done with the chunks before it */
  guint64 dropped; /* messages dropped since the client last caught up */
  guint replies;   /* CHUNK_REPLY chunks queued */
};

WsbOutQueue *
wsb_out_queue_new (gsize limit, const WsbOutQueueFuncs *funcs, gpointer data)
{
  WsbOutQueue *q = g_new0 (WsbOutQueue, 1);

  q->limit = limit;
  q->funcs = funcs;
  q->data = data;
  return q;
}

void
wsb_out_queue_free (WsbOutQueue *q)
{
  if (!q)
    return;
  wsb_out_queue_clear (q);
  g_free (q->ring);
  g_free (q);
}

static void
close_fds (OutChunk *ch)
{
  for (guint i = 0; i < ch->n_fds; i++)
    close (ch->fds[i]);
  ch->n_fds = 0;
}

static void
chunk_clear (OutChunk *ch)
{
  if (ch->msg)
    wsb_message_unref (ch->msg);
  if (ch->bytes)
    g_bytes_unref (ch->bytes);
  g_free (ch->owned);
  close_fds (ch);
}

static gsize
count (WsbOutQueue *q)
{
  return q->tail - q->head;
}

static OutChunk *
at (WsbOutQueue *q, gsize pos)
{
  return &q->ring[pos & (q->cap - 1)];
}

static WsbQueueSub *
lookup_sub (WsbOutQueue *q, guint64 id)
{
  return id ? q->funcs->lookup_sub (id, q->data) : NULL;
}

gsize
wsb_out_queue_get_size (WsbOutQueue *q)
{
  return q->bytes + (gsize) (count (q) - q->n_slots) * sizeof (OutChunk);
}

/* A chunk at the front (being written, or next) larger than the limit is
 * not counted: a single message may be larger than client_buffer_bytes (up
 * to max_message_bytes) and still reaches a client that reads it; the
 * limit then bounds what waits behind it. */
gboolean
wsb_out_queue_is_over (WsbOutQueue *q)
{
  gsize size = wsb_out_queue_get_size (q);

  if (count (q))
    {
      OutChunk *ch = at (q, q->head);
      gsize front = ch->hdr_len + ch->body_len - q->offset;

      if (front > q->limit)
        size -= MIN (size, front + sizeof (OutChunk));
    }
  return size > q->limit;
}

gboolean
wsb_out_queue_is_empty (WsbOutQueue *q)
{
  return count (q) == 0;
}

guint
wsb_out_queue_get_slots (WsbOutQueue *q)
{
  return (guint) count (q);
}

guint
wsb_out_queue_get_replies (WsbOutQueue *q)
{
  return q->replies;
}

guint64
wsb_out_queue_get_dropped (WsbOutQueue *q)
{
  return q->dropped;
}

/* A ring this large is given back once it empties: a burst to one client
 * does not hold its memory for good. */
#define RING_KEEP 1024

static void
pop (WsbOutQueue *q)
{
  OutChunk *ch = at (q, q->head);

  if (ch->kind == CHUNK_REPLY)
    q->replies--;
  else if (ch->kind == CHUNK_DROPPED)
    q->n_slots--;
  chunk_clear (ch);
  q->head++;
  if (q->head == q->tail && q->cap > RING_KEEP)
    {
      g_clear_pointer (&q->ring, g_free);
      q->cap = 0;
    }
}

/* Doubles the ring, each chunk going to where its position now points. */
static void
grow (WsbOutQueue *q)
{
  gsize cap = q->cap ? q->cap * 2 : 16;
  OutChunk *ring = g_new (OutChunk, cap);

  for (gsize pos = q->head; pos < q->tail; pos++)
    ring[pos & (cap - 1)] = *at (q, pos);
  g_free (q->ring);
  q->ring = ring;
  q->cap = cap;
}

void
wsb_out_queue_clear (WsbOutQueue *q)
{
  while (count (q))
    pop (q);
  q->bytes = 0;
  q->offset = 0;
}

/* A new chunk at the end, filled in place field by field (the header
 * bytes are the caller's to write, and not cleared: this is the fan-out
 * path). */
static OutChunk *
append (WsbOutQueue *q, ChunkKind kind, guint64 sub_id, const guint8 *body, gsize len)
{
  OutChunk *ch;

  if (count (q) == q->cap)
    grow (q);
  ch = at (q, q->tail++);
  ch->kind = kind;
  ch->sub_id = sub_id;
  ch->body = body;
  ch->body_len = len;
  ch->msg = NULL;
  ch->bytes = NULL;
  ch->owned = NULL;
  ch->n_fds = 0;
  return ch;
}

static gboolean
queued (WsbOutQueue *q, OutChunk *ch)
{
  q->bytes += ch->hdr_len + ch->body_len;
  return wsb_out_queue_is_over (q);
}

static gboolean
push_whole (WsbOutQueue *q, ChunkKind kind, guint8 *frame, gsize len)
{
  OutChunk *ch = append (q, kind, 0, frame, len);

  ch->hdr_len = wsb_varint_encode (len, ch->hdr);
  ch->owned = frame;
  return queued (q, ch);
}

gboolean
wsb_out_queue_push_frame (WsbOutQueue *q, guint8 *frame, gsize len)
{
  return push_whole (q, CHUNK_FRAME, frame, len);
}

gboolean
wsb_out_queue_push_frame_fds (WsbOutQueue *q, guint8 *frame, gsize len, const int *fds, guint n_fds)
{
  OutChunk *ch = append (q, CHUNK_FRAME, 0, frame, len);

  g_assert (n_fds <= WSB_OUT_QUEUE_MAX_FDS);
  ch->hdr_len = wsb_varint_encode (len, ch->hdr);
  ch->owned = frame;
  for (guint i = 0; i < n_fds; i++)
    ch->fds[i] = fds[i];
  ch->n_fds = (guint8) n_fds;
  return queued (q, ch);
}

gboolean
wsb_out_queue_push_reply (WsbOutQueue *q, guint8 *frame, gsize len)
{
  q->replies++;
  return push_whole (q, CHUNK_REPLY, frame, len);
}

static OutChunk *
append_event (WsbOutQueue *q, ChunkKind kind, guint64 sub_id, unsigned field, const guint8 *body,
              gsize len)
{
  OutChunk *ch = append (q, kind, sub_id, body, len);

  ch->hdr_len = wsb_event_header_encode (ch->hdr, sub_id, field, len);
  return ch;
}

gboolean
wsb_out_queue_push_message (WsbOutQueue *q, guint64 sub_id, WsbMessage *m)
{
  OutChunk *ch = append_event (q, CHUNK_MESSAGE, sub_id, WSB_EVENT_MESSAGE, m->enc, m->enc_len);

  ch->msg = wsb_message_ref (m);
  return queued (q, ch);
}

gboolean
wsb_out_queue_push_state (WsbOutQueue *q, guint64 sub_id, GBytes *body)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (body, &len);
  OutChunk *ch = append_event (q, CHUNK_EVENT, sub_id, WSB_EVENT_STATE, data, len);

  ch->bytes = g_bytes_ref (body);
  return queued (q, ch);
}

gboolean
wsb_out_queue_push_gap (WsbOutQueue *q, guint64 sub_id, guint8 *body, gsize len)
{
  OutChunk *ch = append_event (q, CHUNK_EVENT, sub_id, WSB_EVENT_GAP, body, len);

  ch->owned = body;
  return queued (q, ch);
}

/* Encodes sub's pending gap, about to be written. Until a byte of it is,
 * later drops of sub may still join it (gap_extendable). */
static void
gap_encode (WsbOutQueue *q, WsbQueueSub *sub)
{
  OutChunk *ch = at (q, sub->gap_pos);
  gsize len;

  if (ch->kind != CHUNK_GAP_PENDING)
    return;
  q->bytes -= ch->body_len;
  ch->owned = q->funcs->gap_body (sub, sub->gap_from, sub->gap_to, &len, q->data);
  ch->body = ch->owned;
  ch->body_len = len;
  ch->hdr_len = wsb_event_header_encode (ch->hdr, sub->id, WSB_EVENT_GAP, len);
  ch->kind = CHUNK_EVENT;
  q->bytes += ch->hdr_len + len;
}

/* Whether sub has a gap that drops may join: one not yet written at all. */
static gboolean
gap_extendable (WsbOutQueue *q, WsbQueueSub *sub)
{
  gsize unwritten = q->head + (q->offset ? 1 : 0);

  if (sub->gap_open && sub->gap_pos < unwritten)
    sub->gap_open = FALSE;
  return sub->gap_open;
}

/* No later drop joins sub's gap: another event of sub follows it, or sub ends. */
static void
close_gap (WsbOutQueue *q, WsbQueueSub *sub)
{
  if (!sub || !gap_extendable (q, sub))
    return;
  gap_encode (q, sub);
  sub->gap_open = FALSE;
}

void
wsb_out_queue_sub_ended (WsbOutQueue *q, WsbQueueSub *sub)
{
  close_gap (q, sub);
}

/* Makes ch (a message, or a gap encoded for a write that did not happen)
 * the pending gap of sub, counted at the most its encoding can take. */
static void
gap_pending (WsbOutQueue *q, OutChunk *ch, WsbQueueSub *sub)
{
  q->bytes -= ch->hdr_len + ch->body_len;
  chunk_clear (ch);
  *ch = (OutChunk){ .kind = CHUNK_GAP_PENDING,
                    .sub_id = sub->id,
                    .body_len = WSB_EVENT_HEADER_MAX + q->funcs->gap_size_max (sub, q->data) };
  q->bytes += ch->body_len;
}

/* Drops the message of sub at position i. The first dropped message of a
 * subscription since its last delivered one leaves its slot to the
 * subscription's gap, so the gap comes before anything of the subscription
 * still queued; later drops only move the gap's end. */
static void
drop_message (WsbOutQueue *q, gsize i, WsbQueueSub *sub)
{
  OutChunk *ch = at (q, i);
  guint64 seq = ch->msg->seq;

  q->dropped++;
  if (gap_extendable (q, sub))
    {
      OutChunk *gap = at (q, sub->gap_pos);

      if (gap->kind != CHUNK_GAP_PENDING)
        gap_pending (q, gap, sub);
      q->bytes -= ch->hdr_len + ch->body_len;
      chunk_clear (ch);
      *ch = (OutChunk){ .kind = CHUNK_DROPPED };
      q->n_slots++;
    }
  else
    {
      gap_pending (q, ch, sub);
      sub->gap_open = TRUE;
      sub->gap_pos = i;
      sub->gap_from = seq;
    }
  sub->gap_to = seq;
}

/* Closes up the slots of dropped messages (all before drop_pos) by moving
 * the chunks kept among them towards drop_pos, in order; the queue then
 * starts where the first of them went. */
static void
squeeze (WsbOutQueue *q)
{
  gsize w = q->drop_pos;

  for (gsize r = q->drop_pos; r-- > q->head;)
    {
      OutChunk *ch = at (q, r);
      WsbQueueSub *sub;

      if (ch->kind == CHUNK_DROPPED)
        continue;
      if (--w == r)
        continue;
      *at (q, w) = *ch;
      sub = lookup_sub (q, ch->sub_id);
      if (sub && sub->gap_open && sub->gap_pos == r)
        sub->gap_pos = w;
    }
  q->n_slots = 0;
  q->head = w;
}

/* The walk goes on from where the last one stopped (everything before
 * drop_pos is dropped or kept for good), so each chunk is walked over once.
 * Messages of a subscription that has ended are kept: no gap could tell of
 * their loss. */
gboolean
wsb_out_queue_drop_oldest (WsbOutQueue *q)
{
  gsize first = q->head + (q->offset ? 1 : 0);
  gsize i = MAX (q->drop_pos, first);

  for (; i < q->tail && wsb_out_queue_is_over (q); i++)
    {
      OutChunk *ch = at (q, i);
      WsbQueueSub *sub = lookup_sub (q, ch->sub_id);

      if (ch->kind == CHUNK_MESSAGE && sub)
        drop_message (q, i, sub);
      else if (ch->kind == CHUNK_EVENT)
        close_gap (q, sub);
    }
  q->drop_pos = i;
  if (q->n_slots >= 64 && q->n_slots * 2 >= i - q->head)
    squeeze (q);
  return !wsb_out_queue_is_over (q);
}

int
wsb_out_queue_get_iov (WsbOutQueue *q, struct iovec *iov, int max)
{
  gsize skip = q->offset;
  int n = 0;

  for (gsize i = q->head; i < q->tail && n + 2 <= max; i++)
    {
      OutChunk *ch = at (q, i);
      gsize bskip;

      /* Descriptors go with a frame's first byte: such a frame starts a
       * write of its own. */
      if (ch->n_fds && i != q->head)
        break;

      if (ch->kind == CHUNK_GAP_PENDING)
        gap_encode (q, lookup_sub (q, ch->sub_id));
      if (skip < ch->hdr_len)
        iov[n++] = (struct iovec){ ch->hdr + skip, ch->hdr_len - skip };
      bskip = skip > ch->hdr_len ? skip - ch->hdr_len : 0;
      if (ch->body_len > bskip)
        iov[n++] = (struct iovec){ (void *) (ch->body + bskip), ch->body_len - bskip };
      skip = 0;
    }
  return n;
}

int
wsb_out_queue_get_fds (WsbOutQueue *q, const int **fds)
{
  OutChunk *ch;

  if (!count (q) || q->offset)
    return 0;
  ch = at (q, q->head);
  *fds = ch->fds;
  return ch->n_fds;
}

guint64
wsb_out_queue_consume (WsbOutQueue *q, gsize n)
{
  gsize done = n + q->offset;
  guint64 dropped = q->dropped;

  if (n && count (q))
    close_fds (at (q, q->head)); /* they went with its first byte */

  q->bytes -= n;
  while (count (q))
    {
      OutChunk *ch = at (q, q->head);
      gsize total = ch->hdr_len + ch->body_len;

      if (ch->kind == CHUNK_GAP_PENDING || done < total)
        break;
      done -= total;
      pop (q);
    }
  q->offset = done;
  if (!dropped || wsb_out_queue_get_size (q) > q->limit / 2)
    return 0;
  q->dropped = 0;
  return dropped;
}
