/* One socket API connection: reading its varint-delimited frames, the hello
 * (within hello_timeout_ms), handing requests on (ipc-requests.c), writing
 * its output queue (out-queue.c) as far as the socket takes it, the
 * slow-client policy when the queue is over client_buffer_bytes, the
 * max_requests_per_client backpressure, and closing. */
#define _GNU_SOURCE
#include "ipc-private.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "framing.h"
#include "pb-strict.h"
#include "ring.h"
#include "wsb-version.h"

#define READ_CHUNK (64 * 1024)
#define MAX_IOV 128

typedef struct
{
  GSource base;
  WsbIpcClient *client;
} ClientSource;

/* max_requests_per_client: a client with that many replies queued and not
 * yet written (it sends requests and does not read them) has its requests
 * held: the ones read stay in its input buffer and its socket is not read,
 * until its replies drain below the limit. Its requests are never dropped:
 * they wait in its socket, whose buffer then fills and blocks its writes. */
static gboolean
too_many_replies (WsbIpcClient *c)
{
  return wsb_out_queue_get_replies (c->out) >= c->srv->cfg.max_requests_per_client;
}

/* Its frames wait while too many replies are queued, and until the client
 * is known (peer.h: its groups are looked up away from the main loop). */
static gboolean
must_hold (WsbIpcClient *c)
{
  return !c->peer || too_many_replies (c);
}

/* Polls for input unless requests are held, for output when out; the
 * source is only touched when that changes. */
static void
poll_for (WsbIpcClient *c, gboolean out)
{
  if (c->in_held == c->src_in_off && out == c->src_out)
    return;
  c->src_in_off = c->in_held;
  c->src_out = out;
  g_source_modify_unix_fd (c->source, c->fd_tag, (c->in_held ? 0 : G_IO_IN) | (out ? G_IO_OUT : 0));
}

/* Polls for output while anything is queued. */
static void
update_events (WsbIpcClient *c)
{
  poll_for (c, !wsb_out_queue_is_empty (c->out));
}

/* ----------------------------------------------------------------- output */

/* writev with descriptors attached (SCM_RIGHTS). */
static ssize_t
send_with_fds (int fd, struct iovec *iov, int n, const int *fds, int n_fds)
{
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * WSB_OUT_QUEUE_MAX_FDS)];
  } control;
  struct msghdr msg = { 0 };
  struct cmsghdr *cm;

  memset (&control, 0, sizeof control);
  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t) n;
  msg.msg_control = control.buf;
  msg.msg_controllen = CMSG_SPACE (sizeof (int) * (size_t) n_fds);
  cm = CMSG_FIRSTHDR (&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN (sizeof (int) * (size_t) n_fds);
  memcpy (CMSG_DATA (cm), fds, sizeof (int) * (size_t) n_fds);
  return sendmsg (fd, &msg, MSG_NOSIGNAL);
}

/* Writes as much as the socket takes. Returns FALSE when the client is gone. */
static gboolean
flush (WsbIpcClient *c)
{
  if (c->dead)
    return FALSE;
  c->out_full = FALSE;
  while (!wsb_out_queue_is_empty (c->out))
    {
      struct iovec iov[MAX_IOV];
      int n = wsb_out_queue_get_iov (c->out, iov, MAX_IOV);
      const int *fds;
      int n_fds = wsb_out_queue_get_fds (c->out, &fds);
      guint64 dropped;
      ssize_t w;

      do
        w = n_fds ? send_with_fds (c->fd, iov, n, fds, n_fds) : writev (c->fd, iov, n);
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
      dropped = wsb_out_queue_consume (c->out, (gsize) w);
      if (dropped)
        g_debug ("client %s caught up; %" G_GUINT64_FORMAT " messages were dropped", c->name,
                 dropped);
    }
  update_events (c);
  return TRUE;
}

/* slow_client_policy=drop-oldest, or disconnect when nothing droppable is left. */
static void
drop_oldest (WsbIpcClient *c)
{
  gboolean had_dropped = wsb_out_queue_get_dropped (c->out) > 0;
  gboolean fits = wsb_out_queue_drop_oldest (c->out);

  if (!had_dropped && wsb_out_queue_get_dropped (c->out))
    g_message ("client %s is not keeping up (over client_buffer_bytes = %" G_GUINT64_FORMAT
               "): dropping its oldest messages, with a gap event for each run of them",
               c->name, c->srv->cfg.client_buffer_bytes);
  if (!fits)
    {
      g_warning ("client %s is not reading and holds nothing more to drop (over "
                 "client_buffer_bytes = %" G_GUINT64_FORMAT "); disconnecting it",
                 c->name, c->srv->cfg.client_buffer_bytes);
      wsb_ipc_client_close (c);
    }
}

static void
overflow (WsbIpcClient *c)
{
  /* What one turn of the main loop queued may still fit the socket; a
   * client known to be full is not tried again before it is writable. */
  if (!c->out_full)
    {
      if (!flush (c))
        {
          wsb_ipc_client_close (c);
          return;
        }
      if (!wsb_out_queue_is_over (c->out))
        return;
    }
  if (g_strcmp0 (c->srv->cfg.slow_client_policy, "disconnect") == 0)
    {
      g_warning ("client %s is not reading (over client_buffer_bytes = %" G_GUINT64_FORMAT
                 "); disconnecting it (slow_client_policy = disconnect)",
                 c->name, c->srv->cfg.client_buffer_bytes);
      wsb_ipc_client_close (c);
    }
  else
    drop_oldest (c);
}

void
wsb_ipc_client_queued (WsbIpcClient *c, gboolean over)
{
  poll_for (c, TRUE);
  if (!c->pending && !c->out_full)
    {
      c->pending = TRUE;
      c->pending_link.data = c;
      g_queue_push_tail_link (&c->srv->pending, &c->pending_link);
    }
  if (over)
    overflow (c);
}

void
wsb_ipc_clients_flush_pending (gpointer data)
{
  WsbIpcServer *srv = data;
  GList *l;

  wsb_ipc_rings_flush (srv);
  while ((l = g_queue_pop_head_link (&srv->pending)))
    {
      WsbIpcClient *c = l->data;

      c->pending = FALSE;
      if (!c->out_full && !flush (c))
        wsb_ipc_client_close (c);
    }
}

void
wsb_ipc_client_send_frame (WsbIpcClient *c, const Wsbridge__V1__ServerFrame *frame)
{
  gsize len;
  guint8 *buf;
  gboolean over;

  if (c->dead)
    return;
  len = wsbridge__v1__server_frame__get_packed_size (frame);
  buf = g_malloc (len ? len : 1);
  wsbridge__v1__server_frame__pack (frame, buf);
  if (frame->frame_case == WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY)
    over = wsb_out_queue_push_reply (c->out, buf, len);
  else
    over = wsb_out_queue_push_frame (c->out, buf, len);
  wsb_ipc_client_queued (c, over);
}

void
wsb_ipc_client_fail (WsbIpcClient *c, Wsbridge__V1__ErrorCode code, const char *fmt, ...)
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
  wsb_ipc_client_send_frame (c, &frame);
  /* Best effort: a client that does not read may miss it. */
  flush (c);
  wsb_ipc_client_close (c);
}

/* ------------------------------------------------------------------ input */

static void
handle_hello (WsbIpcClient *c, const Wsbridge__V1__Hello *hello)
{
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__HelloReply hr = WSBRIDGE__V1__HELLO_REPLY__INIT;

  if (c->hello_done)
    {
      wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL, "hello sent twice");
      return;
    }
  if (hello->api_major != WSB_API_MAJOR)
    {
      wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_VERSION_MISMATCH,
                           "unsupported API major version %u (this daemon speaks %d)",
                           hello->api_major, WSB_API_MAJOR);
      return;
    }
  if (hello->client_name && *hello->client_name)
    {
      g_autofree char *shown
          = g_utf8_make_valid (hello->client_name, MIN (strlen (hello->client_name), 64));
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
  c->ring_version = hello->ring_version == WSB_RING_VERSION ? WSB_RING_VERSION : 0;
  hr.ring_version = c->ring_version;
  hr.daemon_version = (char *) WSB_VERSION;
  hr.uid = c->cred.uid;
  hr.gid = c->cred.gid;
  hr.max_frame_bytes = c->srv->cfg.max_frame_bytes;
  hr.pid = c->cred.pid;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_HELLO;
  frame.hello = &hr;
  wsb_ipc_client_send_frame (c, &frame);
  g_debug ("client %s: hello, API %u.%u", c->name, hello->api_major, hello->api_minor);
}

static void
handle_frame (WsbIpcClient *c, const guint8 *data, gsize len)
{
  const char *nul_in;
  Wsbridge__V1__ClientFrame *f = (Wsbridge__V1__ClientFrame *) wsb_pb_unpack_strict (
      &wsbridge__v1__client_frame__descriptor, data, len, &nul_in);

  if (!f)
    {
      wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
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
          wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                               "the first frame must be a hello");
        else
          wsb_ipc_handle_request (c, f->request, nul_in);
        break;
      default:
        wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                             "frame of an unknown kind");
        break;
    }
  wsb_pb_free_strict (&f->base);
}

typedef enum
{
  HEAD_ID,   /* the request's id is known */
  HEAD_MORE, /* its first bytes are not all there yet */
  HEAD_NOT,  /* not a request that starts with its id */
} RequestHead;

/* A varint at data[*pos..len). */
static RequestHead
take_varint (const guint8 *data, gsize len, gsize *pos, guint64 *value)
{
  uint64_t v = 0;
  size_t used = 0;

  switch (wsb_varint_decode (data + *pos, len - *pos, &v, &used))
    {
      case WSB_FRAME_OK:
        *pos += used;
        *value = v;
        return HEAD_ID;
      case WSB_FRAME_NEED_MORE:
        return HEAD_MORE;
      default:
        return HEAD_NOT;
    }
}

/* The id of the request a frame body begins with: ClientFrame.request
 * (field 2, length-delimited) starting with Request.id (field 1, varint),
 * where every encoder puts it. */
static RequestHead
request_head (const guint8 *body, gsize len, guint64 *id)
{
  guint64 inner;
  gsize pos = 0;
  RequestHead h;

  if (pos >= len)
    return HEAD_MORE;
  if (body[pos++] != 0x12)
    return HEAD_NOT;
  if ((h = take_varint (body, len, &pos, &inner)) != HEAD_ID)
    return h;
  if (pos >= len)
    return HEAD_MORE;
  if (body[pos++] != 0x08)
    return HEAD_NOT;
  return take_varint (body, len, &pos, id);
}

/* A request over max_frame_bytes is refused by itself, with an error
 * reply naming the limit: its id is read from the frame's first bytes, the
 * rest of the frame is discarded as it arrives (never kept) and the
 * connection goes on. Anything else that large (before the hello, a frame
 * that does not start as a request, or one over 2 GiB) still fails the
 * connection.
 * Returns the bytes of data used; 0 when the request's first bytes are not
 * all there yet, or c failed. */
static gsize
refuse_oversized (WsbIpcClient *c, const guint8 *data, gsize len)
{
  guint64 announced = 0, id = 0;
  gsize prefix = 0, take;
  RequestHead head = HEAD_NOT;
  g_autofree char *why = NULL;
  g_autofree char *text = NULL;
  Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Reply r = WSBRIDGE__V1__REPLY__INIT;
  Wsbridge__V1__Error err = WSBRIDGE__V1__ERROR__INIT;

  take_varint (data, len, &prefix, &announced);
  why = g_strdup_printf ("frame of %" G_GUINT64_FORMAT
                         " bytes is over max_frame_bytes (%" G_GUINT64_FORMAT ")",
                         announced, c->srv->cfg.max_frame_bytes);
  /* Over 2 GiB it is not a protobuf message at all (none can be that
   * large): nothing to skip to. */
  if (c->hello_done && announced <= G_MAXINT32)
    head = request_head (data + prefix, len - prefix, &id);
  if (head == HEAD_MORE)
    return 0;
  if (head == HEAD_NOT)
    {
      wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE, "%s", why);
      return 0;
    }
  g_debug ("client %s: request %" G_GUINT64_FORMAT ": %s; refused", c->name, id, why);
  text = g_strdup_printf ("request %s; it was refused, the connection stays", why);
  err.code = WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_FRAME_TOO_LARGE;
  err.message = text;
  r.id = id;
  r.result_case = WSBRIDGE__V1__REPLY__RESULT_ERROR;
  r.error = &err;
  frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY;
  frame.reply = &r;
  wsb_ipc_client_send_frame (c, &frame);
  c->skip = prefix + announced;
  take = (gsize) MIN (c->skip, (guint64) len);
  c->skip -= take;
  return take;
}

/* Handles the whole frames of data[0..len) until must_hold (then
 * in_held is set); returns how many bytes it handled. Nothing keeps a
 * pointer into data once a frame is handled. */
static gsize
handle_frames (WsbIpcClient *c, const guint8 *data, gsize len)
{
  gsize pos = 0;

  c->in_held = FALSE;
  while (!c->dead)
    {
      size_t prefix, body;
      WsbFrameStatus st;

      if (c->skip)
        {
          gsize take = (gsize) MIN (c->skip, (guint64) (len - pos));

          pos += take;
          c->skip -= take;
          if (c->skip)
            break;
          continue;
        }
      if (must_hold (c))
        {
          c->in_held = TRUE;
          break;
        }
      st = wsb_frame_peek (data + pos, len - pos, c->srv->cfg.max_frame_bytes, &prefix, &body);
      if (st == WSB_FRAME_NEED_MORE)
        break;
      if (st == WSB_FRAME_BAD_VARINT)
        {
          wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_MALFORMED_FRAME,
                               "bad frame length prefix (invalid varint)");
          return pos;
        }
      if (st == WSB_FRAME_TOO_LARGE)
        {
          gsize used = refuse_oversized (c, data + pos, len - pos);

          if (!used)
            break; /* its first bytes are not all there yet, or c failed */
          pos += used;
          continue;
        }
      handle_frame (c, data + pos + prefix, body);
      pos += prefix + body;
    }
  return pos;
}

/* Drops the input buffer once it is empty: it held a partial or held
 * frame, which may have grown it to any size up to max_frame_bytes. */
static void
input_consumed (WsbIpcClient *c)
{
  g_byte_array_unref (c->in);
  c->in = g_byte_array_new ();
  c->in_start = 0;
}

/* Handles the frames in the input buffer; the rest stays in it. */
static void
process_input (WsbIpcClient *c)
{
  gsize pos = c->in_start;

  pos += handle_frames (c, c->in->data + pos, c->in->len - pos);
  if (c->dead)
    return;
  /* Held requests are taken a few at a time: the handled front goes once
   * it is most of the buffer, not at every call. */
  if (pos == c->in->len)
    {
      input_consumed (c);
      return;
    }
  if (pos > c->in->len / 2)
    {
      g_byte_array_remove_range (c->in, 0, (guint) pos);
      pos = 0;
    }
  c->in_start = pos;
}

/* read(2), again when a signal interrupted it. */
static ssize_t
read_retrying (int fd, guint8 *buf, gsize len)
{
  ssize_t n;

  do
    n = read (fd, buf, len);
  while (n < 0 && errno == EINTR);
  return n;
}

/* Reads into the input buffer when it holds the start of a frame, else
 * into a buffer shared by all clients (the loop serves one at a time), whose
 * whole frames are handled where they are and whose rest is kept: a client
 * holds no input memory between requests. Returns the bytes read, 0 at
 * EOF, or -1 with errno. */
static ssize_t
read_some (WsbIpcClient *c)
{
  static guint8 shared[READ_CHUNK];
  ssize_t n;

  if (c->in->len > 0)
    {
      guint old = c->in->len;

      g_byte_array_set_size (c->in, old + READ_CHUNK);
      n = read_retrying (c->fd, c->in->data + old, READ_CHUNK);
      g_byte_array_set_size (c->in, old + (n > 0 ? (guint) n : 0));
      if (n > 0)
        process_input (c);
      return n;
    }
  n = read_retrying (c->fd, shared, READ_CHUNK);
  if (n > 0)
    {
      gsize used = handle_frames (c, shared, (gsize) n);
      if (!c->dead && used < (gsize) n)
        g_byte_array_append (c->in, shared + used, (guint) ((gsize) n - used));
    }
  return n;
}

/* Returns FALSE when the peer is gone. */
static gboolean
read_input (WsbIpcClient *c)
{
  for (int rounds = 0; rounds < 16 && !c->dead && !c->in_held; rounds++)
    {
      ssize_t n = read_some (c);

      if (n == 0)
        return FALSE;
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK;
      if (n < READ_CHUNK)
        break;
    }
  return TRUE;
}

/* ------------------------------------------------------------- lifetime */

static gboolean
client_dispatch (GSource *source, GSourceFunc cb, gpointer data)
{
  WsbIpcClient *c = ((ClientSource *) source)->client;
  GIOCondition rev = g_source_query_unix_fd (source, c->fd_tag);
  gboolean alive = TRUE;

  g_source_set_ready_time (source, -1); /* on_peer's wake-up, if that was it */

  if (rev & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    alive = read_input (c);
  if (alive && !c->dead && !wsb_out_queue_is_empty (c->out))
    alive = flush (c);
  /* Its replies drained below the limit: the requests held go on, as far
   * as its socket takes their replies. */
  while (alive && !c->dead && c->in_held && !must_hold (c))
    {
      process_input (c);
      if (!c->dead)
        alive = flush (c);
    }
  if (!alive)
    wsb_ipc_client_close (c);
  else if (!c->dead)
    update_events (c);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs client_source_funcs = { NULL, NULL, client_dispatch, NULL, NULL, NULL };

static gboolean
on_hello_timeout (gpointer data)
{
  WsbIpcClient *c = data;

  c->hello_timer = 0;
  wsb_ipc_client_fail (c, WSBRIDGE__V1__ERROR_CODE__ERROR_CODE_PROTOCOL,
                       "no hello within hello_timeout_ms (%" G_GUINT64_FORMAT " ms)",
                       c->srv->cfg.hello_timeout_ms);
  return G_SOURCE_REMOVE;
}

/* The client is known: its held frames go on (from the source's dispatch). */
static void
on_peer (WsbPeer *peer, gpointer data)
{
  WsbIpcClient *c = data;

  c->peer_wait = NULL;
  c->peer = wsb_peer_ref (peer);
  if (c->in_held && !c->dead)
    g_source_set_ready_time (c->source, 0);
}

/* The socket's own buffer: the kernel's default (about 200 KiB, a fraction
 * of a millisecond of a fast feed) empties while the daemon is busy with its
 * upstream reads or not scheduled, and a client that keeps up then waits for
 * bytes while the daemon drops its messages (BENCHMARKS.md, "3. Node
 * client": a Node app idle for a third of a burst). So it takes half of
 * client_buffer_bytes, which the kernel doubles for its bookkeeping, within
 * net.core.wmem_max; never less than the default. What waits there is no
 * longer the daemon's to drop: a slow client's backlog is at most about twice
 * client_buffer_bytes. */
static void
size_send_buffer (WsbIpcClient *c)
{
  int want = (int) MIN (c->srv->cfg.client_buffer_bytes / 2, (guint64) G_MAXINT / 2);
  int have = 0;
  socklen_t len = sizeof have;

  if (getsockopt (c->fd, SOL_SOCKET, SO_SNDBUF, &have, &len) == 0 && have / 2 >= want)
    return;
  if (setsockopt (c->fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) < 0)
    g_debug ("client %s: SO_SNDBUF %d: %s", c->name, want, g_strerror (errno));
}

WsbIpcClient *
wsb_ipc_client_new (WsbIpcServer *srv, int fd, const struct ucred *cred)
{
  WsbIpcClient *c = g_new0 (WsbIpcClient, 1);

  c->srv = srv;
  c->fd = fd;
  c->cred = *cred;
  c->name = g_strdup_printf ("pid %d", c->cred.pid);
  size_send_buffer (c);
  c->in = g_byte_array_new ();
  c->out = wsb_out_queue_new (srv->cfg.client_buffer_bytes, &wsb_ipc_sub_queue_funcs, c);
  c->subs = wsb_ipc_subs_new ();
  g_queue_init (&c->sends);
  c->source = g_source_new (&client_source_funcs, sizeof (ClientSource));
  ((ClientSource *) c->source)->client = c;
  c->fd_tag = g_source_add_unix_fd (c->source, fd, G_IO_IN);
  g_source_attach (c->source, NULL);
  c->hello_timer = g_timeout_add ((guint) srv->cfg.hello_timeout_ms, on_hello_timeout, c);
  srv->clients = g_list_prepend (srv->clients, c);
  srv->n_clients++;
  g_debug ("client %s (uid %u) connected", c->name, c->cred.uid);
  c->peer_wait = wsb_peer_lookup (srv->system, cred->uid, cred->pid, on_peer, c);
  return c;
}

static gboolean
client_free_idle (gpointer data)
{
  WsbIpcClient *c = data;

  c->free_id = 0;
  wsb_ipc_client_free (c);
  return G_SOURCE_REMOVE;
}

void
wsb_ipc_client_close (WsbIpcClient *c)
{
  if (c->dead)
    return;
  c->dead = TRUE;
  wsb_peer_wait_cancel (g_steal_pointer (&c->peer_wait));
  if (c->hello_timer)
    g_source_remove (c->hello_timer);
  c->hello_timer = 0;
  if (c->pending)
    g_queue_unlink (&c->srv->pending, &c->pending_link);
  c->pending = FALSE;
  g_debug ("client %s: disconnected", c->name);
  g_hash_table_remove_all (c->subs);
  wsb_ipc_client_forget_sends (c);
  g_source_destroy (c->source);
  close (c->fd);
  c->fd = -1;
  wsb_out_queue_clear (c->out);
  c->srv->n_clients--;
  /* Not at idle priority: a busy loop would keep every closed client. */
  c->free_id = g_idle_add_full (G_PRIORITY_HIGH, client_free_idle, c, NULL);
}

void
wsb_ipc_client_free (WsbIpcClient *c)
{
  if (c->free_id)
    g_source_remove (c->free_id);
  c->srv->clients = g_list_remove (c->srv->clients, c);
  g_hash_table_unref (c->subs);
  g_source_unref (c->source);
  g_byte_array_unref (c->in);
  wsb_out_queue_free (c->out);
  g_clear_pointer (&c->peer, wsb_peer_unref);
  g_free (c->name);
  g_free (c);
}
