/* The output queue of one socket API client: the frames waiting to be
 * written, bounded by client_buffer_bytes, and the drop-oldest half of
 * slow_client_policy (dropped messages become one gap event per run, per
 * subscription). Pure: no I/O. The owner writes what wsb_out_queue_get_iov
 * offers and reports how much went with wsb_out_queue_consume. */
#pragma once

#include <glib.h>
#include <sys/uio.h>

#include "message.h"

typedef struct _WsbOutQueue WsbOutQueue;

/* A subscription as the queue sees it: its id in the event frames and the
 * gap it keeps for the messages it dropped. The owner embeds one in each of
 * its subscription records with a non-zero id and leaves the rest zero. */
typedef struct
{
  guint64 id;
  /* The queue's own: while gap_open, the chunk at position gap_pos is the
   * pending gap for the dropped seqs gap_from..gap_to. */
  gboolean gap_open;
  gsize gap_pos;
  guint64 gap_from, gap_to;
} WsbQueueSub;

typedef struct
{
  /* The subscription with this id, or NULL once it has ended: the messages
   * of an ended subscription are never dropped (no gap could tell). */
  WsbQueueSub *(*lookup_sub) (guint64 id, gpointer data);
  /* The most bytes gap_body can return for sub, whatever the seqs. */
  gsize (*gap_size_max) (WsbQueueSub *sub, gpointer data);
  /* The body of a Gap event telling sub that seqs from_seq..to_seq were
   * dropped; the queue g_frees it. Made when the gap is about to be
   * written (or sub ends), so it carries the session's state of then. */
  guint8 *(*gap_body) (WsbQueueSub *sub, guint64 from_seq, guint64 to_seq, gsize *len,
                       gpointer data);
} WsbOutQueueFuncs;

/* limit: client_buffer_bytes. funcs must outlive the queue. */
WsbOutQueue *wsb_out_queue_new (gsize limit, const WsbOutQueueFuncs *funcs, gpointer data);
void wsb_out_queue_free (WsbOutQueue *q);

/* Queuing. Each returns whether the queue is now over its limit (the owner
 * then applies slow_client_policy: write, drop the oldest or disconnect).
 * A frame (hello, error, send outcome) and a reply are whole protobuf
 * ServerFrames, taken over (g_free); the queue adds the length prefix.
 * Replies are counted (wsb_out_queue_get_replies). Neither is dropped. */
gboolean wsb_out_queue_push_frame (WsbOutQueue *q, guint8 *frame, gsize len);
/* The same with descriptors (taken over: closed once sent, or with the
 * queue) that go with the frame's first byte. */
#define WSB_OUT_QUEUE_MAX_FDS 2
gboolean wsb_out_queue_push_frame_fds (WsbOutQueue *q, guint8 *frame, gsize len, const int *fds,
                                       guint n_fds);
gboolean wsb_out_queue_push_reply (WsbOutQueue *q, guint8 *frame, gsize len);
/* Subscription events, each a reference to the shared encoding (the body
 * is not copied): a message (referenced; the only kind ever dropped), a
 * state change's encoded StateChange (referenced), a gap the hub told of
 * (an encoded Gap, taken over). */
gboolean wsb_out_queue_push_message (WsbOutQueue *q, guint64 sub_id, WsbMessage *m);
gboolean wsb_out_queue_push_state (WsbOutQueue *q, guint64 sub_id, GBytes *body);
gboolean wsb_out_queue_push_gap (WsbOutQueue *q, guint64 sub_id, guint8 *body, gsize len);

/* sub is ending: its pending gap is encoded now, and no later drop joins
 * it. Call it before sub stops being found by lookup_sub. */
void wsb_out_queue_sub_ended (WsbOutQueue *q, WsbQueueSub *sub);

/* Drops the oldest queued messages until the queue is back within its
 * limit. Replies, gaps, state changes, other frames and a frame partly
 * written are never dropped. The first message dropped of a subscription
 * since its last one delivered leaves its place to one gap event for the
 * whole run, so the gap comes before anything of the subscription still
 * queued. FALSE when nothing droppable is left and the queue is still over. */
gboolean wsb_out_queue_drop_oldest (WsbOutQueue *q);
/* Messages dropped since the client last caught up. */
guint64 wsb_out_queue_get_dropped (WsbOutQueue *q);

/* Fills iov (at most max entries, max >= 2) with the bytes to write next,
 * from the oldest on; returns how many entries it used (0: empty). The
 * pending gaps it reaches are encoded. */
int wsb_out_queue_get_iov (WsbOutQueue *q, struct iovec *iov, int max);
/* The descriptors to send with what get_iov offered (SCM_RIGHTS): those of
 * its first frame when none of it is written yet; 0 otherwise. A frame with
 * descriptors is always the first of what get_iov offers. */
int wsb_out_queue_get_fds (WsbOutQueue *q, const int **fds);
/* n bytes of what get_iov offered were written. Returns the count of
 * messages dropped when this write brought a client that lost some back
 * within half its limit (the count starts again from 0), else 0. */
guint64 wsb_out_queue_consume (WsbOutQueue *q, gsize n);

gboolean wsb_out_queue_is_empty (WsbOutQueue *q);
/* What counts against the limit: the bytes to write (a pending gap at its
 * largest) plus each queued chunk's bookkeeping, so that a queue of small
 * events is bounded in memory too. */
gsize wsb_out_queue_get_size (WsbOutQueue *q);
gboolean wsb_out_queue_is_over (WsbOutQueue *q);
/* The chunks the queue holds, with the slots of dropped ones it has not
 * squeezed out yet: its memory, for the tests. */
guint wsb_out_queue_get_slots (WsbOutQueue *q);
/* Replies queued and not yet wholly written. */
guint wsb_out_queue_get_replies (WsbOutQueue *q);
/* Forgets everything queued (the client is gone). */
void wsb_out_queue_clear (WsbOutQueue *q);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbOutQueue, wsb_out_queue_free)
