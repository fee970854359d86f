#define _GNU_SOURCE
#include "ipc-server.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "access.h"
#include "framing.h"
#include "log.h"
#include "pb-strict.h"
#include "status.h"
#include "wsb-error.h"
#include "wsb-version.h"
#include "wsbridge.pb-c.h"

#define READ_CHUNK (64 * 1024)
#define MAX_IOV 128

typedef struct _Client Client;

/* What a queued chunk is, for slow_client_policy and max_requests_per_client. */
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
} OutChunk;

typedef struct
{
  Client *client;
  guint64 id;
  WsbSubscription *sub;
  /* While gap_open, the chunk at position gap_pos is this subscription's
   * pending gap for the messages drop-oldest took, gap_from..gap_to. */
  gboolean gap_open;
  gsize gap_pos;
  guint64 gap_from, gap_to;
} ClientSub;

struct _Client
{
  WsbIpcServer *srv;
  int fd;
  GSource *source;
  gpointer fd_tag;
  struct ucred cred;
  gboolean hello_done;
  guint hello_timer; /* until the hello arrives: hello_timeout_ms */
  gboolean dead;
  guint free_id;
  GByteArray *in;
  gsize in_start; /* bytes of `in` already handled */
  /* Frames waiting to be written: OutChunk values from out_head on, kept
   * inline so queuing an event allocates nothing once the array has grown.
   * A chunk's position, out_base + its index, outlives the removal of the
   * written front of the array. */
  GArray *out;
  guint out_head;
  gsize out_base;
  gsize out_bytes;              /* to write; a pending gap counts at its largest */
  gsize out_offset;             /* bytes of the head chunk already written */
  gboolean out_full;            /* the last write found the socket full */
  guint out_dropped;            /* CHUNK_DROPPED slots queued, all before drop_pos */
  gsize drop_pos;               /* drop-oldest is done with the chunks before it */
  guint64 n_dropped;            /* messages dropped since the client last caught up */
  guint replies;                /* CHUNK_REPLY chunks queued */
  gboolean in_held;             /* requests wait in `in` while too_many_replies */
  gboolean src_in_off, src_out; /* what the source polls for, besides G_IO_IN */
  GHashTable *subs;             /* id → ClientSub* */
  guint64 next_sub_id;
  char *name;
};

/* A send waiting for its outcome, by session and id. */
typedef struct
{
  const char *session; /* interned */
  guint64 id;
} SendKey;

/* How long accepting pauses when the daemon is out of file descriptors. */
#define ACCEPT_PAUSE_MS 250

struct _WsbIpcServer
{
  WsbHub *hub;
  gboolean system; /* any uid may connect; requests are checked (access.c) */
  GHashTable *sends; /* SendKey* → Client* that sent it */
  WsbDaemonConfig cfg;
  int listen_fd;
  guint listen_id;
  guint resume_id; /* accepting is paused: out of file descriptors */
  char *path; /* unlinked on free when we bound it */
  GList *clients;
  guint n_clients;
};

typedef struct
{
  GSource base;
  Client *client;
} ClientSource;

static void client_close (Client *c);
static gboolean client_free_idle (gpointer data);

/* ----------------------------------------------------------------- output */

static void
chunk_clear (OutChunk *ch)
{
  if (ch->msg)
    wsb_message_unref (ch->msg);
  if (ch->bytes)
    g_bytes_unref (ch->bytes);
  g_free (ch->owned);
}

static guint
out_count (Client *c)
{
  return c->out->len - c->out_head;
}

static OutChunk *
out_at (Client *c, guint i)
{
  return &g_array_index (c->out, OutChunk, c->out_head + i);
}

static OutChunk *
out_at_pos (Client *c, gsize pos)
{
  return &g_array_index (c->out, OutChunk, pos - c->out_base);
}

/* What the queue holds as client_buffer_bytes counts it: the bytes to write
 * plus each chunk's own size, so that a queue of small events is bounded in
 * memory too. */
static gsize
out_cost (Client *c)
{
  return c->out_bytes + (gsize) (out_count (c) - c->out_dropped) * sizeof (OutChunk);
}

/* max_requests_per_client: a client with that many replies queued and not
 * yet written (it sends requests and does not read them) has its requests
 * held: the ones read stay in its input buffer and its socket is not read,
 * until its replies drain below the limit. Its requests are never dropped:
 * they wait in its socket, whose buffer then fills and blocks its writes. */
static gboolean
too_many_replies (Client *c)
{
  return c->replies >= c->srv->cfg.max_requests_per_client;
}

/* Polls for input unless requests are held, for output while anything is
 * queued; the source is only touched when that changes. */
static void
update_events (Client *c)
{
  gboolean out = out_count (c) > 0;

  if (c->in_held == c->src_in_off && out == c->src_out)
    return;
  c->src_in_off = c->in_held;
  c->src_out = out;
  g_source_modify_unix_fd (c->source, c->fd_tag, (c->in_held ? 0 : G_IO_IN) | (out ? G_IO_OUT : 0));
}

/* Removes the dead front of the array (written or squeezed out) once it is
 * as long as what follows, so a reader that never quite catches up does not
 * grow the array forever. */
static void
out_reclaim (Client *c)
{
  if (c->out_head == c->out->len)
    {
      c->out_base += c->out->len;
      g_array_set_size (c->out, 0);
      c->out_head = 0;
    }
  else if (c->out_head >= 64 && c->out_head * 2 >= c->out->len)
    {
      g_array_remove_range (c->out, 0, c->out_head);
      c->out_base += c->out_head;
      c->out_head = 0;
    }
}

static void
out_pop (Client *c)
{
  OutChunk *ch = out_at (c, 0);

  if (ch->kind == CHUNK_REPLY)
    c->replies--;
  else if (ch->kind == CHUNK_DROPPED)
    c->out_dropped--;
  chunk_clear (ch);
  c->out_head++;
  out_reclaim (c);
}

static void
out_clear (Client *c)
{
  while (out_count (c))
    out_pop (c);
  c->out_bytes = 0;
  c->out_offset = 0;
}

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

/* The most a gap event of sub can take, header included. */
static gsize
gap_size_max (WsbSubscription *sub)
{
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;

  gap.session = (char *) wsb_subscription_get_session (sub);
  gap.channel = (char *) wsb_subscription_get_channel (sub);
  gap.from_seq = gap.to_seq = gap.epoch = G_MAXUINT64;
  return WSB_EVENT_HEADER_MAX + wsbridge__v1__gap__get_packed_size (&gap);
}

/* Encodes cs's pending gap, about to be written. Until a byte of it is,
 * later drops of cs may still join it (gap_extendable). */
static void
gap_encode (Client *c, ClientSub *cs)
{
  OutChunk *ch = out_at_pos (c, cs->gap_pos);
  gsize len;

  if (ch->kind != CHUNK_GAP_PENDING)
    return;
  c->out_bytes -= ch->body_len;
  ch->owned = gap_body_new (cs->sub, cs->gap_from, cs->gap_to, &len);
  ch->body = ch->owned;
  ch->body_len = len;
  ch->hdr_len = wsb_event_header_encode (ch->hdr, cs->id, WSB_EVENT_GAP, len);
  ch->kind = CHUNK_EVENT;
  c->out_bytes += ch->hdr_len + len;
}

/* Whether cs has a gap that drops may join: one not yet written at all. */
static gboolean
gap_extendable (Client *c, ClientSub *cs)
{
  gsize unwritten = c->out_base + c->out_head + (c->out_offset ? 1 : 0);

  if (cs->gap_open && cs->gap_pos < unwritten)
    cs->gap_open = FALSE;
  return cs->gap_open;
}

/* No later drop joins cs's gap: another event of cs follows it, or cs ends. */
static void
close_gap (Client *c, ClientSub *cs)
{
  if (c->dead || !cs || !gap_extendable (c, cs))
    return;
  gap_encode (c, cs);
  cs->gap_open = FALSE;
}

/* Makes ch (a message, or a gap encoded for a write that did not happen)
 * the pending gap of cs, counted at the most its encoding can take. */
static void
gap_pending (Client *c, OutChunk *ch, ClientSub *cs)
{
  c->out_bytes -= ch->hdr_len + ch->body_len;
  chunk_clear (ch);
  *ch = (OutChunk){ .kind = CHUNK_GAP_PENDING,
                    .sub_id = cs->id,
                    .body_len = gap_size_max (cs->sub) };
  c->out_bytes += ch->body_len;
}

/* Drops the message of cs at index i. The first dropped message of a
 * subscription since its last delivered one leaves its slot to the
 * subscription's gap, so the gap comes before anything of the subscription
 * still queued; later drops only move the gap's end. */
static void
drop_message (Client *c, guint i, ClientSub *cs)
{
  OutChunk *ch = &g_array_index (c->out, OutChunk, i);
  guint64 seq = ch->msg->seq;

  if (!c->n_dropped++)
    g_message ("client %s is not keeping up (over client_buffer_bytes = %" G_GUINT64_FORMAT
               "): dropping its oldest messages, with a gap event for each run of them",
               c->name, c->srv->cfg.client_buffer_bytes);
  if (gap_extendable (c, cs))
    {
      OutChunk *gap = out_at_pos (c, cs->gap_pos);

      if (gap->kind != CHUNK_GAP_PENDING)
        gap_pending (c, gap, cs);
      c->out_bytes -= ch->hdr_len + ch->body_len;
      chunk_clear (ch);
      *ch = (OutChunk){ .kind = CHUNK_DROPPED };
      c->out_dropped++;
    }
  else
    {
      gap_pending (c, ch, cs);
      cs->gap_open = TRUE;
      cs->gap_pos = c->out_base + i;
      cs->gap_from = seq;
    }
  cs->gap_to = seq;
}

/* Closes up the slots of dropped messages (all before drop_pos) by moving
 * the chunks kept among them towards drop_pos, in order; the front they
 * leave goes as a written front does. */
static void
out_squeeze (Client *c)
{
  guint end = (guint) (c->drop_pos - c->out_base);
  guint w = end;

  for (guint r = end; r-- > c->out_head;)
    {
      OutChunk *ch = &g_array_index (c->out, OutChunk, r);
      ClientSub *cs;

      if (ch->kind == CHUNK_DROPPED)
        continue;
      if (--w == r)
        continue;
      g_array_index (c->out, OutChunk, w) = *ch;
      cs = ch->sub_id ? g_hash_table_lookup (c->subs, &ch->sub_id) : NULL;
      if (cs && cs->gap_open && cs->gap_pos == c->out_base + r)
        cs->gap_pos = c->out_base + w;
    }
  c->out_dropped = 0;
  c->out_head = w;
  out_reclaim (c);
}

/* slow_client_policy=drop-oldest: drops the oldest queued messages until the
 * client is back within client_buffer_bytes. Replies, gaps, state changes,
 * send outcomes and a frame partly written are never dropped, nor messages
 * of a subscription that has ended (no gap could tell of their loss). The
 * walk goes on from where the last one stopped (everything before drop_pos
 * is dropped or kept for good), so each chunk is walked over once. FALSE
 * when nothing droppable is left. */
static gboolean
drop_oldest (Client *c)
{
  gsize limit = c->srv->cfg.client_buffer_bytes;
  gsize first = c->out_base + c->out_head + (c->out_offset ? 1 : 0);
  guint i = (guint) (MAX (c->drop_pos, first) - c->out_base);

  for (; i < c->out->len && out_cost (c) > limit; i++)
    {
      OutChunk *ch = &g_array_index (c->out, OutChunk, i);
      ClientSub *cs = g_hash_table_lookup (c->subs, &ch->sub_id);

      if (ch->kind == CHUNK_MESSAGE && cs)
        drop_message (c, i, cs);
      else if (ch->kind == CHUNK_EVENT)
        close_gap (c, cs);
    }
  c->drop_pos = c->out_base + i;
  if (c->out_dropped >= 64 && c->out_dropped * 2 >= i - c->out_head)
    out_squeeze (c);
  return out_cost (c) <= limit;
}

static gboolean flush (Client *c);

static void
overflow (Client *c)
{
  /* What one turn of the main loop queued may still fit the socket; a
   * client known to be full is not tried again before it is writable. */
  if (!c->out_full)
    {
      if (!flush (c))
        {
          client_close (c);
          return;
        }
      if (out_cost (c) <= c->srv->cfg.client_buffer_bytes)
        return;
    }
  if (g_strcmp0 (c->srv->cfg.slow_client_policy, "disconnect") == 0)
    {
      g_warning ("client %s is not reading (over client_buffer_bytes = %" G_GUINT64_FORMAT
                 "); disconnecting it (slow_client_policy = disconnect)",
                 c->name, c->srv->cfg.client_buffer_bytes);
      client_close (c);
    }
  else if (!drop_oldest (c))
    {
      g_warning ("client %s is not reading and holds nothing more to drop (over "
                 "client_buffer_bytes = %" G_GUINT64_FORMAT "); disconnecting it",
                 c->name, c->srv->cfg.client_buffer_bytes);
      client_close (c);
    }
}

/* Takes over ch's references. */
static void
enqueue (Client *c, OutChunk *ch)
{
  if (c->dead)
    {
      chunk_clear (ch);
      return;
    }
  if (ch->kind == CHUNK_REPLY)
    c->replies++;
  g_array_append_vals (c->out, ch, 1);
  c->out_bytes += ch->hdr_len + ch->body_len;
  update_events (c);
  if (out_cost (c) > c->srv->cfg.client_buffer_bytes)
    overflow (c);
}

/* Queues a whole ServerFrame packed by protobuf-c. */
static void
enqueue_frame (Client *c, const Wsbridge__V1__ServerFrame *frame)
{
  OutChunk ch = { 0 };
  gsize len = wsbridge__v1__server_frame__get_packed_size (frame);

  ch.kind
      = frame->frame_case == WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY ? CHUNK_REPLY : CHUNK_FRAME;
  ch.hdr_len = wsb_varint_encode (len, ch.hdr);
  ch.owned = g_malloc (len ? len : 1);
  wsbridge__v1__server_frame__pack (frame, ch.owned);
  ch.body = ch.owned;
  ch.body_len = len;
  enqueue (c, &ch);
}

/* Writes as much as the socket takes. Returns FALSE when the client is gone. */
static gboolean
flush (Client *c)
{
  if (c->dead)
    return FALSE;
  c->out_full = FALSE;
  while (out_count (c))
    {
      struct iovec iov[MAX_IOV];
      int n = 0;
      gsize skip = c->out_offset;
      ssize_t w;

      for (guint i = 0; i < out_count (c) && n + 2 <= MAX_IOV; i++)
        {
          OutChunk *ch = out_at (c, i);
          if (ch->kind == CHUNK_GAP_PENDING)
            gap_encode (c, g_hash_table_lookup (c->subs, &ch->sub_id));
          if (skip < ch->hdr_len)
            iov[n++] = (struct iovec){ ch->hdr + skip, ch->hdr_len - skip };
          gsize bskip = skip > ch->hdr_len ? skip - ch->hdr_len : 0;
          if (ch->body_len > bskip)
            iov[n++] = (struct iovec){ (void *) (ch->body + bskip), ch->body_len - bskip };
          skip = 0;
        }
      do
        w = writev (c->fd, iov, n);
      while (w < 0 && errno == EINTR);
      if (w < 0)
        {
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
              c->out_full = TRUE;
              return TRUE;
            }
          g_debug ("client %s: write failed: %s", c->name, g_strerror (errno));
          return FALSE;
        }
      c->out_bytes -= (gsize) w;
      gsize done = (gsize) w + c->out_offset;
      while (out_count (c))
        {
          OutChunk *ch = out_at (c, 0);
          gsize total = ch->hdr_len + ch->body_len;
          if (ch->kind == CHUNK_GAP_PENDING || done < total)
            break;
          done -= total;
          out_pop (c);
        }
      c->out_offset = done;
      if (c->n_dropped && out_cost (c) <= c->srv->cfg.client_buffer_bytes / 2)
        {
          g_debug ("client %s caught up; %" G_GUINT64_FORMAT " messages were dropped", c->name,
                   c->n_dropped);
          c->n_dropped = 0;
        }
    }
  update_events (c);
  return TRUE;
}

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

/* Sends a connection-level error and closes the connection. */
static void G_GNUC_PRINTF (3, 4)
fail_connection (Client *c, Wsbridge__V1__ErrorCode code, const char *fmt, ...)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Error err = WSBRIDGE__V1__ERROR__INIT;
  g_autofree char *text = NULL;
  va_list ap;

  va_start (ap, fmt);
  text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_message ("client %s: %s; closing the connection", c->name, text);
  err.code = code;
  err.message = text;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR;
  frame.error = &err;
  enqueue_frame (c, &frame);
  /* Best effort: a client that does not read may miss it. */
  flush (c);
  client_close (c);
}

static void
reply (Client *c, Wsbridge__V1__Reply *r)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;

  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY;
  frame.reply = r;
  enqueue_frame (c, &frame);
}

static void
reply_error (Client *c, guint64 id, Wsbridge__V1__ErrorCode code, const char *message)
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
reply_gerror (Client *c, guint64 id, const GError *error)
{
  reply_error (c, id, error_code (error), error->message);
}

/* ---------------------------------------------------------------- events */

static void
enqueue_event (Client *c, guint64 sub_id, unsigned field, const guint8 *body, gsize len,
               WsbMessage *msg, GBytes *bytes, guint8 *owned)
{
  OutChunk ch = { .kind = field == WSB_EVENT_MESSAGE ? CHUNK_MESSAGE : CHUNK_EVENT,
                  .body = body,
                  .body_len = len,
                  .sub_id = sub_id,
                  .msg = msg,
                  .bytes = bytes,
                  .owned = owned };

  ch.hdr_len = wsb_event_header_encode (ch.hdr, sub_id, field, len);
  enqueue (c, &ch);
}

static void
on_sub_message (WsbSubscription *sub, WsbMessage *m, gpointer data)
{
  ClientSub *cs = data;

  if (cs->client->dead)
    return;
  enqueue_event (cs->client, cs->id, WSB_EVENT_MESSAGE, m->enc, m->enc_len,
                 wsb_message_ref (m), NULL, NULL);
}

static void
on_sub_gap (WsbSubscription *sub, guint64 from_seq, guint64 to_seq, gpointer data)
{
  ClientSub *cs = data;
  gsize len;
  guint8 *buf;

  if (cs->client->dead)
    return;
  buf = gap_body_new (sub, from_seq, to_seq, &len);
  enqueue_event (cs->client, cs->id, WSB_EVENT_GAP, buf, len, NULL, NULL, buf);
}

static void
on_sub_state (WsbSubscription *sub, WsbStateEvent *ev, gpointer data)
{
  ClientSub *cs = data;
  gsize len;
  const guint8 *body;

  if (cs->client->dead)
    return;
  body = g_bytes_get_data (ev->body, &len);
  enqueue_event (cs->client, cs->id, WSB_EVENT_STATE, body, len, NULL, g_bytes_ref (ev->body),
                 NULL);
}

static void
on_sub_ended (WsbSubscription *sub, gpointer data)
{
  ClientSub *cs = data;

  close_gap (cs->client, cs);
  /* The hub frees the subscription itself. */
  g_hash_table_steal (cs->client->subs, &cs->id);
  g_free (cs);
}

static const WsbSubscriberFuncs sub_funcs = {
  .message = on_sub_message,
  .gap = on_sub_gap,
  .state = on_sub_state,
  .ended = on_sub_ended,
};

static void
client_sub_free (ClientSub *cs)
{
  close_gap (cs->client, cs);
  wsb_hub_unsubscribe (cs->sub);
  g_free (cs);
}

/* -------------------------------------------------------------- requests */

/* On the system instance: may this client use the session? If not, the
 * request gets the error and the denial is logged. An unknown session is
 * left to the operation to report. */
static gboolean
may_use (Client *c, guint64 id, const char *session)
{
  g_autoptr (GError) error = NULL;
  const WsbSessionConfig *cfg;

  if (!c->srv->system || !(cfg = wsb_hub_get_config (c->srv->hub, session)))
    return TRUE;
  if (wsb_access_session_allowed (cfg, c->cred.uid, c->cred.gid, &error))
    return TRUE;
  wsb_session_log (session, G_LOG_LEVEL_MESSAGE, "client %s: denied: %s", c->name,
                   error->message);
  reply_gerror (c, id, error);
  return FALSE;
}

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

static void
handle_list (Client *c, guint64 id)
{
  g_autoptr (GPtrArray) list = wsb_hub_list_status (c->srv->hub);
  g_autofree Wsbridge__V1__SessionStatus *pbs = g_new0 (Wsbridge__V1__SessionStatus, list->len);
  g_autofree Wsbridge__V1__SessionStatus **ptrs = g_new0 (Wsbridge__V1__SessionStatus *,
                                                          list->len + 1);
  Wsbridge__V1__ListSessionsReply lr = WSBRIDGE__V1__LIST_SESSIONS_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;

  guint n = 0;

  for (guint i = 0; i < list->len; i++)
    {
      WsbSessionStatus *st = g_ptr_array_index (list, i);
      const WsbSessionConfig *cfg = wsb_hub_get_config (c->srv->hub, st->name);

      /* The system instance lists only what the caller may use. */
      if (c->srv->system && cfg
          && !wsb_access_session_allowed (cfg, c->cred.uid, c->cred.gid, NULL))
        continue;
      wsb_status_to_pb (st, &pbs[n]);
      ptrs[n] = &pbs[n];
      n++;
    }
  lr.n_sessions = n;
  lr.sessions = ptrs;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_LIST_SESSIONS;
  r.list_sessions = &lr;
  reply (c, &r);
}

static void
handle_subscribe (Client *c, guint64 id, const Wsbridge__V1__SubscribeRequest *req)
{
  g_autoptr (GError) error = NULL;
  const char *channel = req->channel && *req->channel ? req->channel : "*";
  Wsbridge__V1__SubscribeReply sr = WSBRIDGE__V1__SUBSCRIBE_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__SessionStatus pb_status;
  WsbSessionStatus st = { 0 };
  ClientSub *cs;

  if (!may_use (c, id, or_empty (req->session)))
    return;
  if (g_hash_table_size (c->subs) >= c->srv->cfg.max_subscriptions_per_client)
    {
      reply_error (c, id, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                   "too many subscriptions on this connection "
                   "(max_subscriptions_per_client)");
      return;
    }
  cs = g_new0 (ClientSub, 1);
  cs->client = c;
  cs->id = ++c->next_sub_id;
  cs->sub = wsb_hub_subscribe (c->srv->hub, req->session ? req->session : "", channel,
                               req->since_seq, req->epoch, &sub_funcs, cs, &error);
  if (!cs->sub)
    {
      g_free (cs);
      reply_gerror (c, id, error);
      return;
    }
  g_hash_table_insert (c->subs, &cs->id, cs);

  wsb_subscription_get_status (cs->sub, &st);
  wsb_status_to_pb (&st, &pb_status);
  sr.subscription_id = cs->id;
  sr.status = &pb_status;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_SUBSCRIBE;
  r.subscribe = &sr;
  reply (c, &r);
  wsb_session_status_clear (&st);
  wsb_hub_catch_up (cs->sub);
}

static void
reply_ok (Client *c, guint64 id)
{
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Empty empty = WSBRIDGE__V1__EMPTY__INIT;

  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_OK;
  r.ok = &empty;
  reply (c, &r);
}

static void
handle_unsubscribe (Client *c, guint64 id, const Wsbridge__V1__UnsubscribeRequest *req)
{
  if (!g_hash_table_remove (c->subs, &req->subscription_id))
    {
      reply_error (c, id, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_NOT_FOUND,
                   "no such subscription on this connection");
      return;
    }
  reply_ok (c, id);
}

static guint
send_key_hash (gconstpointer k)
{
  const SendKey *key = k;

  return g_direct_hash (key->session) ^ g_int64_hash (&key->id);
}

static gboolean
send_key_equal (gconstpointer a, gconstpointer b)
{
  const SendKey *ka = a, *kb = b;

  return ka->session == kb->session && ka->id == kb->id;
}

static gboolean
is_client (gpointer key, gpointer value, gpointer data)
{
  return value == data;
}

/* The outcome of a send goes to the connection that made it, if still there. */
static void
on_send_outcome (const char *session, guint64 id, WsbSendResult result, const char *reason,
                 gpointer data)
{
  WsbIpcServer *srv = data;
  SendKey key = { g_intern_string (session), id };
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  Wsbridge__V1__SendOutcome out = WSBRIDGE__V1__SEND_OUTCOME__INIT;
  Client *c = g_hash_table_lookup (srv->sends, &key);

  if (!c)
    return;
  g_hash_table_remove (srv->sends, &key);
  out.session = (char *) session;
  out.send_id = id;
  out.result = (Wsbridge__V1__SendResult) result;
  out.reason = (char *) (reason ? reason : "");
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_OUTCOME;
  ev.outcome = &out;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT;
  frame.event = &ev;
  enqueue_frame (c, &frame);
}

static void
handle_send (Client *c, guint64 id, const Wsbridge__V1__SendRequest *req)
{
  g_autoptr (GError) error = NULL;
  Wsbridge__V1__SendReply sr = WSBRIDGE__V1__SEND_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  const char *session = req->session ? req->session : "";
  guint64 send_id = 0;
  SendKey *key;

  if (!may_use (c, id, session))
    return;
  if (!wsb_hub_send (c->srv->hub, session, req->data.data, req->data.len, req->binary,
                     req->ttl_ms, &send_id, &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  key = g_new (SendKey, 1);
  key->session = g_intern_string (session);
  key->id = send_id;
  g_hash_table_insert (c->srv->sends, key, c);
  sr.send_id = send_id;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_SEND;
  r.send = &sr;
  reply (c, &r);
}

static void
handle_history (Client *c, guint64 id, const Wsbridge__V1__HistoryRequest *req)
{
  g_autoptr (GError) error = NULL;
  const char *channel = req->channel && *req->channel ? req->channel : "*";
  Wsbridge__V1__HistoryReply hr = WSBRIDGE__V1__HISTORY_REPLY__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;
  Wsbridge__V1__SessionStatus pb_status;
  g_autofree Wsbridge__V1__Message **msgs = NULL;
  WsbHistoryResult res;

  if (!may_use (c, id, or_empty (req->session)))
    return;
  if (!wsb_hub_history (c->srv->hub, req->session ? req->session : "", channel, req->last, &res,
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
reply_status (Client *c, guint64 id, const char *session)
{
  g_autoptr (GError) error = NULL;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__SessionStatus pb_status;
  WsbSessionStatus st = { 0 };

  if (!wsb_hub_get_status (c->srv->hub, session, &st, &error))
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
handle_create (Client *c, guint64 id, const Wsbridge__V1__CreateSessionRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autofree const char **keys = g_new0 (const char *, req->n_options + 1);
  g_autofree const char **values = g_new0 (const char *, req->n_options + 1);

  if (c->srv->system
      && !wsb_access_create_allowed (&c->srv->cfg, c->cred.uid, c->cred.gid, &error))
    {
      g_message ("client %s: denied: %s", c->name, error->message);
      reply_gerror (c, id, error);
      return;
    }
  for (size_t i = 0; i < req->n_options; i++)
    {
      keys[i] = or_empty (req->options[i]->key);
      values[i] = or_empty (req->options[i]->value);
    }
  if (!wsb_hub_create_session (c->srv->hub, or_empty (req->name), or_empty (req->url), keys,
                               values, (guint) req->n_options, req->persist, &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  reply_status (c, id, req->name);
}

typedef gboolean (*SessionOp) (WsbHub *hub, const char *name, GError **error);

/* remove_session, connect, disconnect: one session name, an ok reply. */
static void
handle_session_op (Client *c, guint64 id, const char *session, SessionOp op)
{
  g_autoptr (GError) error = NULL;

  if (!may_use (c, id, or_empty (session)))
    return;
  if (!op (c->srv->hub, or_empty (session), &error))
    {
      reply_gerror (c, id, error);
      return;
    }
  reply_ok (c, id);
}

static void
handle_request (Client *c, const Wsbridge__V1__Request *req)
{
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
      if (may_use (c, req->id, or_empty (req->get_session->session)))
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

static void
handle_hello (Client *c, const Wsbridge__V1__Hello *hello)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__HelloReply hr = WSBRIDGE__V1__HELLO_REPLY__INIT;

  if (c->hello_done)
    {
      fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, "hello sent twice");
      return;
    }
  if (hello->api_major != WSB_API_MAJOR)
    {
      fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_VERSION_MISMATCH,
                       "unsupported API major version %u (this daemon speaks %d)",
                       hello->api_major, WSB_API_MAJOR);
      return;
    }
  if (hello->client_name && *hello->client_name)
    {
      g_autofree char *shown = g_utf8_make_valid (hello->client_name,
                                                  MIN (strlen (hello->client_name), 64));
      char *old = c->name;
      c->name = g_strdup_printf ("%s[%s]", old, shown);
      g_free (old);
    }
  c->hello_done = TRUE;
  if (c->hello_timer)
    g_source_remove (c->hello_timer);
  c->hello_timer = 0;
  hr.api_major = WSB_API_MAJOR;
  hr.api_minor = WSB_API_MINOR;
  hr.daemon_version = (char *) WSB_VERSION;
  hr.uid = c->cred.uid;
  hr.gid = c->cred.gid;
  hr.max_frame_bytes = c->srv->cfg.max_frame_bytes;
  hr.pid = c->cred.pid;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_HELLO;
  frame.hello = &hr;
  enqueue_frame (c, &frame);
  g_debug ("client %s: hello, API %u.%u", c->name, hello->api_major, hello->api_minor);
}

static void
handle_frame (Client *c, const guint8 *data, gsize len)
{
  const char *nul_in;
  Wsbridge__V1__ClientFrame *f = (Wsbridge__V1__ClientFrame *) wsb_pb_unpack_strict (
      &wsbridge__v1__client_frame__descriptor, data, len, &nul_in);

  if (!f)
    {
      fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
                       "undecodable protobuf frame (%" G_GSIZE_FORMAT " bytes)", len);
      return;
    }
  switch (f->frame_case)
    {
    case WSBRIDGE__V1__CLIENT_FRAME__FRAME_HELLO:
      handle_hello (c, f->hello);
      break;
    case WSBRIDGE__V1__CLIENT_FRAME__FRAME_REQUEST:
      if (!c->hello_done)
        fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                         "the first frame must be a hello");
      else if (nul_in)
        {
          /* A name like "feed\0x" must not act on "feed". */
          g_autofree char *why = g_strdup_printf ("field '%s' holds a NUL byte", nul_in);
          reply_error (c, f->request->id,
                       WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_INVALID_ARGUMENT, why);
        }
      else
        handle_request (c, f->request);
      break;
    default:
      fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                       "frame of an unknown kind");
      break;
    }
  wsb_pb_free_strict (&f->base);
}

/* Handles the whole frames in the input buffer until too_many_replies; the
 * rest is held in the buffer. */
static void
process_input (Client *c)
{
  gsize pos = c->in_start;

  c->in_held = FALSE;
  while (!c->dead)
    {
      size_t prefix, body;
      WsbFrameStatus st;

      if (too_many_replies (c))
        {
          c->in_held = TRUE;
          break;
        }
      st = wsb_frame_peek (c->in->data + pos, c->in->len - pos, c->srv->cfg.max_frame_bytes,
                           &prefix, &body);
      if (st == WSB_FRAME_NEED_MORE)
        break;
      if (st == WSB_FRAME_BAD_VARINT)
        {
          fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
                           "bad frame length prefix (invalid varint)");
          return;
        }
      if (st == WSB_FRAME_TOO_LARGE)
        {
          uint64_t announced = 0;
          size_t used;
          wsb_varint_decode (c->in->data + pos, c->in->len - pos, &announced, &used);
          fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE,
                           "frame of %" G_GUINT64_FORMAT " bytes is over max_frame_bytes (%"
                           G_GUINT64_FORMAT ")",
                           (guint64) announced, c->srv->cfg.max_frame_bytes);
          return;
        }
      handle_frame (c, c->in->data + pos + prefix, body);
      pos += prefix + body;
    }
  if (c->dead)
    return;
  /* Held requests are taken a few at a time: the handled front goes once
   * it is most of the buffer, not at every call. */
  if (pos == c->in->len)
    {
      g_byte_array_set_size (c->in, 0);
      pos = 0;
    }
  else if (pos > c->in->len / 2)
    {
      g_byte_array_remove_range (c->in, 0, (guint) pos);
      pos = 0;
    }
  c->in_start = pos;
}

/* Returns FALSE when the peer is gone. */
static gboolean
read_input (Client *c)
{
  for (int rounds = 0; rounds < 16 && !c->dead && !c->in_held; rounds++)
    {
      guint old = c->in->len;
      ssize_t n;

      g_byte_array_set_size (c->in, old + READ_CHUNK);
      do
        n = read (c->fd, c->in->data + old, READ_CHUNK);
      while (n < 0 && errno == EINTR);
      g_byte_array_set_size (c->in, old + (n > 0 ? (guint) n : 0));
      if (n == 0)
        return FALSE;
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK;
      process_input (c);
      if (n < READ_CHUNK)
        break;
    }
  return TRUE;
}

static gboolean
client_dispatch (GSource *source, GSourceFunc cb, gpointer data)
{
  Client *c = ((ClientSource *) source)->client;
  GIOCondition rev = g_source_query_unix_fd (source, c->fd_tag);
  gboolean alive = TRUE;

  if (rev & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    alive = read_input (c);
  if (alive && !c->dead && out_count (c))
    alive = flush (c);
  /* Its replies drained below the limit: the requests held go on, as far
   * as its socket takes their replies. */
  while (alive && !c->dead && c->in_held && !too_many_replies (c))
    {
      process_input (c);
      if (!c->dead)
        alive = flush (c);
    }
  if (!alive)
    client_close (c);
  else if (!c->dead)
    update_events (c);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs client_source_funcs = { NULL, NULL, client_dispatch, NULL, NULL, NULL };

/* Ends the connection now; the memory goes from an idle callback, so no
 * caller up the stack (a dispatch, a hub delivery) is left holding a freed
 * client. */
static void
client_close (Client *c)
{
  if (c->dead)
    return;
  c->dead = TRUE;
  if (c->hello_timer)
    g_source_remove (c->hello_timer);
  c->hello_timer = 0;
  g_debug ("client %s: disconnected", c->name);
  g_hash_table_remove_all (c->subs);
  g_hash_table_foreach_remove (c->srv->sends, is_client, c);
  g_source_destroy (c->source);
  close (c->fd);
  c->fd = -1;
  out_clear (c);
  c->srv->n_clients--;
  /* Not at idle priority: a busy loop would keep every closed client. */
  c->free_id = g_idle_add_full (G_PRIORITY_HIGH, client_free_idle, c, NULL);
}

static void
client_free (Client *c)
{
  c->srv->clients = g_list_remove (c->srv->clients, c);
  g_hash_table_unref (c->subs);
  g_source_unref (c->source);
  g_byte_array_unref (c->in);
  g_array_unref (c->out);
  g_free (c->name);
  g_free (c);
}

static gboolean
client_free_idle (gpointer data)
{
  client_free (data);
  return G_SOURCE_REMOVE;
}

static void
reject_client (int fd, Wsbridge__V1__ErrorCode code, const char *text)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Error err = WSBRIDGE__V1__ERROR__INIT;
  guint8 buf[512];
  gsize len, n;

  err.code = code;
  err.message = (char *) text;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR;
  frame.error = &err;
  len = wsbridge__v1__server_frame__get_packed_size (&frame);
  if (len + WSB_VARINT_MAX <= sizeof buf)
    {
      n = wsb_varint_encode (len, buf);
      wsbridge__v1__server_frame__pack (&frame, buf + n);
      if (send (fd, buf, n + len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        g_debug ("could not tell a rejected client why: %s", g_strerror (errno));
    }
  close (fd);
}

static gboolean
on_hello_timeout (gpointer data)
{
  Client *c = data;

  c->hello_timer = 0;
  fail_connection (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                   "no hello within hello_timeout_ms (%" G_GUINT64_FORMAT " ms)",
                   c->srv->cfg.hello_timeout_ms);
  return G_SOURCE_REMOVE;
}

/* Serves a connected, non-blocking socket whose peer is c->cred. */
static void
client_start (WsbIpcServer *srv, Client *c, int fd)
{
  ClientSource *cs;

  c->srv = srv;
  c->fd = fd;
  c->name = g_strdup_printf ("pid %d", c->cred.pid);
  c->in = g_byte_array_new ();
  c->out = g_array_new (FALSE, FALSE, sizeof (OutChunk));
  c->subs = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                   (GDestroyNotify) client_sub_free);
  c->source = g_source_new (&client_source_funcs, sizeof (ClientSource));
  cs = (ClientSource *) c->source;
  cs->client = c;
  c->fd_tag = g_source_add_unix_fd (c->source, fd, G_IO_IN);
  g_source_attach (c->source, NULL);
  c->hello_timer = g_timeout_add ((guint) srv->cfg.hello_timeout_ms, on_hello_timeout, c);
  srv->clients = g_list_prepend (srv->clients, c);
  srv->n_clients++;
  g_debug ("client %s (uid %u) connected", c->name, c->cred.uid);
}

static gboolean on_accept (int lfd, GIOCondition cond, gpointer data);

/* The longest-waiting client that has not sent its hello, or NULL. */
static Client *
oldest_without_hello (WsbIpcServer *srv)
{
  for (GList *l = g_list_last (srv->clients); l; l = l->prev)
    {
      Client *c = l->data;
      if (!c->dead && !c->hello_done)
        return c;
    }
  return NULL;
}

static guint
clients_of_uid (WsbIpcServer *srv, uid_t uid)
{
  guint n = 0;

  for (GList *l = srv->clients; l; l = l->next)
    {
      Client *c = l->data;
      n += !c->dead && c->cred.uid == uid;
    }
  return n;
}

/* Whether the new client c (not started yet) may be served. At max_clients
 * a connection that never said hello makes room for it; on the system
 * instance one user may hold at most max_clients_per_user, so no user can
 * lock the others out. A refused client is told why. */
static gboolean
admit (WsbIpcServer *srv, Client *c, int fd)
{
  if (srv->system && c->cred.uid != 0
      && clients_of_uid (srv, c->cred.uid) >= srv->cfg.max_clients_per_user)
    {
      g_warning ("refused API client pid %d: uid %u already has max_clients_per_user (%"
                 G_GUINT64_FORMAT ") connections",
                 c->cred.pid, c->cred.uid, srv->cfg.max_clients_per_user);
      reject_client (fd, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                     "too many connections from this user (max_clients_per_user reached)");
      return FALSE;
    }
  if (srv->n_clients >= srv->cfg.max_clients)
    {
      Client *idle = oldest_without_hello (srv);

      if (!idle)
        {
          g_warning ("refused API client pid %d: max_clients (%" G_GUINT64_FORMAT ") reached",
                     c->cred.pid, srv->cfg.max_clients);
          reject_client (fd, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                         "too many clients (max_clients reached)");
          return FALSE;
        }
      fail_connection (idle, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_LIMIT_EXCEEDED,
                       "max_clients reached and no hello sent yet: making room for a new "
                       "client");
    }
  return TRUE;
}

static gboolean
on_resume_accept (gpointer data)
{
  WsbIpcServer *srv = data;

  srv->resume_id = 0;
  if (srv->listen_fd >= 0)
    srv->listen_id = g_unix_fd_add (srv->listen_fd, G_IO_IN, on_accept, srv);
  return G_SOURCE_REMOVE;
}

/* Out of file descriptors: the waiting connection would wake us at once
 * for ever. Stop listening for a moment; it stays in the backlog. */
static void
pause_accepting (WsbIpcServer *srv, int err)
{
  g_warning ("accept on the API socket failed: %s; new clients wait %d ms (the daemon's "
             "open-file limit is reached: raise LimitNOFILE or lower the number of sessions)",
             g_strerror (err), ACCEPT_PAUSE_MS);
  srv->listen_id = 0;
  srv->resume_id = g_timeout_add (ACCEPT_PAUSE_MS, on_resume_accept, srv);
}

static gboolean
on_accept (int lfd, GIOCondition cond, gpointer data)
{
  WsbIpcServer *srv = data;

  for (;;)
    {
      int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      socklen_t clen;
      Client *c;

      if (fd < 0)
        {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              pause_accepting (srv, errno);
              return G_SOURCE_REMOVE;
            }
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
            g_warning ("accept on the API socket failed: %s", g_strerror (errno));
          return G_SOURCE_CONTINUE;
        }
      c = g_new0 (Client, 1);
      clen = sizeof c->cred;
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &clen) < 0)
        {
          g_warning ("SO_PEERCRED failed: %s", g_strerror (errno));
          close (fd);
          g_free (c);
          continue;
        }
      if (!srv->system && c->cred.uid != getuid () && c->cred.uid != 0)
        {
          g_message ("refused API client pid %d: uid %u is not this instance's user", c->cred.pid,
                     c->cred.uid);
          reject_client (fd, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_ACCESS_DENIED,
                         "this wsbridged instance serves only its own user");
          g_free (c);
          continue;
        }
      if (!admit (srv, c, fd))
        {
          g_free (c);
          continue;
        }
      client_start (srv, c, fd);
    }
}

void
wsb_ipc_server_add_client (WsbIpcServer *srv, int fd, pid_t pid, uid_t uid, gid_t gid)
{
  Client *c = g_new0 (Client, 1);

  c->cred.pid = pid;
  c->cred.uid = uid;
  c->cred.gid = gid;
  client_start (srv, c, fd);
}

WsbIpcServer *
wsb_ipc_server_new (WsbHub *hub, const WsbDaemonConfig *cfg)
{
  WsbIpcServer *srv = g_new0 (WsbIpcServer, 1);

  srv->hub = hub;
  srv->cfg = *cfg;
  srv->listen_fd = -1;
  srv->sends = g_hash_table_new_full (send_key_hash, send_key_equal, g_free, NULL);
  wsb_hub_add_outcome_listener (hub, on_send_outcome, srv);
  return srv;
}

void
wsb_ipc_server_set_system (WsbIpcServer *srv, gboolean system)
{
  srv->system = system;
}

gboolean
wsb_ipc_server_adopt (WsbIpcServer *srv, int fd, GError **error)
{
  int flags = fcntl (fd, F_GETFL);

  if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot use the API socket: %s",
                   g_strerror (errno));
      return FALSE;
    }
  srv->listen_fd = fd;
  srv->listen_id = g_unix_fd_add (fd, G_IO_IN, on_accept, srv);
  return TRUE;
}

/* TRUE when something accepts connections on path. */
static gboolean
someone_listens (const struct sockaddr_un *addr)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean yes;

  if (fd < 0)
    return FALSE;
  yes = connect (fd, (const struct sockaddr *) addr, sizeof *addr) == 0;
  close (fd);
  return yes;
}

static gboolean
prepare_dir (const char *path, gboolean private_dir, gboolean system, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, system ? 0755 : 0700) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot create %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (private_dir && g_chmod (dir, 0700) < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot make %s private: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
wsb_ipc_server_listen (WsbIpcServer *srv, const char *path, gboolean private_dir, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd, saved_errno;
  mode_t old_umask;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED,
                   "socket path is too long (%zu bytes, at most %zu): %s", strlen (path),
                   sizeof addr.sun_path - 1, path);
      return FALSE;
    }
  strcpy (addr.sun_path, path);
  if (!prepare_dir (path, private_dir, srv->system, error))
    return FALSE;
  if (someone_listens (&addr))
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_ALREADY_EXISTS,
                   "another wsbridged is already listening on %s", path);
      return FALSE;
    }
  if (g_unlink (path) < 0 && errno != ENOENT)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot remove stale socket %s: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "socket: %s", g_strerror (errno));
      return FALSE;
    }
  /* The system instance's socket is open to every local user; each request
   * is checked against the session's allow_users/allow_groups. */
  old_umask = umask (srv->system ? 0111 : 0177);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 128) < 0)
    {
      saved_errno = errno;
      umask (old_umask);
      close (fd);
      g_set_error (error, WSB_ERROR, WSB_ERROR_FAILED, "cannot listen on %s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  umask (old_umask);
  srv->path = g_strdup (path);
  srv->listen_fd = fd;
  srv->listen_id = g_unix_fd_add (fd, G_IO_IN, on_accept, srv);
  return TRUE;
}

void
wsb_ipc_server_stop_listening (WsbIpcServer *srv)
{
  if (srv->listen_id)
    g_source_remove (srv->listen_id);
  srv->listen_id = 0;
  if (srv->resume_id)
    g_source_remove (srv->resume_id);
  srv->resume_id = 0;
  /* Unlink before closing: while the socket accepts, a successor started
   * with --replace waits; once it does not, the path is already gone, so
   * we cannot unlink the successor's new socket. */
  if (srv->path)
    g_unlink (srv->path);
  g_clear_pointer (&srv->path, g_free);
  if (srv->listen_fd >= 0)
    close (srv->listen_fd);
  srv->listen_fd = -1;
}

void
wsb_ipc_server_free (WsbIpcServer *srv)
{
  if (!srv)
    return;
  while (srv->clients)
    {
      Client *c = srv->clients->data;
      client_close (c);
      g_source_remove (c->free_id);
      client_free (c);
    }
  wsb_ipc_server_stop_listening (srv);
  wsb_hub_remove_outcome_listener (srv->hub, on_send_outcome, srv);
  g_hash_table_unref (srv->sends);
  g_free (srv);
}
