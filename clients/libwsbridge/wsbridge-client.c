/* libwsbridge: the client side of the wsbridge.v1 socket protocol.
 *
 * Inbound bytes collect in one buffer (buf[start..end)); complete frames are
 * handled in order. Event frames, the hot path, are unpacked into an arena
 * that is rewound after the callback, so a message costs no malloc/free.
 * Replies are unpacked with the default allocator because the caller keeps
 * them. Blocking waits read exactly up to the end of the frame being
 * completed, so nothing after the awaited reply leaves the socket (see the
 * "Blocking calls" note in wsbridge.h). */
#include "wsbridge.h"

#include "framing.h"
#include "wsb-version.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Greedy reads (dispatch/run) ask for at least this much. */
#define READ_CHUNK (256 * 1024)
/* An idle buffer larger than this is released after a big frame. */
#define BUF_KEEP (1024 * 1024)
#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN (_Alignof (max_align_t))

/* First byte of a ServerFrame whose first field is `event` (field 3, length-delimited). */
#define SERVER_FRAME_EVENT_TAG ((WSB_SERVER_FRAME_EVENT << 3) | 2)

/* ---------------------------------------------------------------- arena */

typedef struct ArenaChunk
{
  struct ArenaChunk *prev;
  size_t size;
  size_t used;
  max_align_t data[];
} ArenaChunk;

typedef struct
{
  ArenaChunk *head;
} Arena;

typedef struct
{
  ArenaChunk *chunk;
  size_t used;
} ArenaMark;

static ArenaChunk *
arena_push_chunk (Arena *arena, size_t size)
{
  ArenaChunk *chunk = malloc (sizeof *chunk + size);

  if (!chunk)
    return NULL;
  chunk->prev = arena->head;
  chunk->size = size;
  chunk->used = 0;
  arena->head = chunk;
  return chunk;
}

static void *
arena_alloc (void *data, size_t size)
{
  Arena *arena = data;
  ArenaChunk *chunk = arena->head;
  void *p;

  size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
  if (!chunk || chunk->size - chunk->used < size)
    {
      chunk = arena_push_chunk (arena, size > ARENA_CHUNK ? size : ARENA_CHUNK);
      if (!chunk)
        return NULL;
    }
  p = (char *) chunk->data + chunk->used;
  chunk->used += size;
  return p;
}

static void
arena_free (void *data, void *pointer)
{
  /* Everything goes at once in arena_release(). */
}

/* The first chunk is kept for the client's lifetime, so a stream of small
 * events allocates nothing. */
static bool
arena_mark (Arena *arena, ArenaMark *mark)
{
  if (!arena->head && !arena_push_chunk (arena, ARENA_CHUNK))
    return false;
  mark->chunk = arena->head;
  mark->used = arena->head->used;
  return true;
}

static void
arena_release (Arena *arena, const ArenaMark *mark)
{
  while (arena->head != mark->chunk)
    {
      ArenaChunk *chunk = arena->head;
      arena->head = chunk->prev;
      free (chunk);
    }
  arena->head->used = mark->used;
}

static void
arena_clear (Arena *arena)
{
  while (arena->head)
    {
      ArenaChunk *chunk = arena->head;
      arena->head = chunk->prev;
      free (chunk);
    }
}

/* ---------------------------------------------------------------- client */

typedef enum
{
  PENDING_BLOCKING, /* a wsb_client_call() waits for it */
  PENDING_ASYNC,    /* wsb_client_request(): reply goes to func */
  PENDING_ABANDONED /* its call timed out: drop the reply */
} PendingKind;

typedef struct Pending
{
  struct Pending *next;
  uint64_t id;
  PendingKind kind;
  bool done;
  Wsbridge__V1__Reply *reply;
  WsbClientReplyFunc func;
  void *user_data;
} Pending;

typedef enum
{
  PHASE_IDLE,  /* no socket */
  PHASE_HELLO, /* hello sent, waiting for HelloReply */
  PHASE_READY,
} Phase;

struct WsbClient
{
  int fd;
  Phase phase;
  WsbClientStatus fatal;
  char *error;
  int error_code;
  bool error_oom;

  int timeout_ms;
  size_t max_frame;
  uint64_t next_id;

  uint8_t *buf;
  size_t cap;
  size_t start;
  size_t end;

  Arena arena;
  ProtobufCAllocator arena_allocator;

  Pending *pending;
  Wsbridge__V1__HelloReply *hello;
  bool got_hello;

  WsbClientEventFunc event_func;
  void *event_data;
  volatile sig_atomic_t stop;
};

static WsbClientStatus __attribute__ ((format (printf, 4, 0)))
set_error_va (WsbClient *c, WsbClientStatus status, int code, const char *fmt, va_list ap)
{
  va_list ap2;
  int n;

  free (c->error);
  c->error = NULL;
  c->error_oom = false;
  c->error_code = code;

  va_copy (ap2, ap);
  n = vsnprintf (NULL, 0, fmt, ap2);
  va_end (ap2);
  if (n >= 0)
    c->error = malloc ((size_t) n + 1);
  if (c->error)
    vsnprintf (c->error, (size_t) n + 1, fmt, ap);
  else
    c->error_oom = true;
  return status;
}

/* Records a failure that leaves the connection usable. */
__attribute__ ((format (printf, 4, 5))) static WsbClientStatus
set_error (WsbClient *c, WsbClientStatus status, int code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  set_error_va (c, status, code, fmt, ap);
  va_end (ap);
  return status;
}

/* Records a failure that ends the connection; the first one sticks. */
__attribute__ ((format (printf, 4, 5))) static WsbClientStatus
fail (WsbClient *c, WsbClientStatus status, int code, const char *fmt, ...)
{
  va_list ap;

  if (c->fatal)
    return c->fatal;
  va_start (ap, fmt);
  set_error_va (c, status, code, fmt, ap);
  va_end (ap);
  c->fatal = status;
  return status;
}

static WsbClientStatus
nomem (WsbClient *c)
{
  return set_error (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
}

static WsbClientStatus
check_ready (WsbClient *c)
{
  if (c->fatal)
    return c->fatal;
  if (c->phase != PHASE_READY)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "not connected to wsbridged");
  return WSB_CLIENT_OK;
}

WsbClient *
wsb_client_new (void)
{
  WsbClient *c = calloc (1, sizeof *c);

  if (!c)
    return NULL;
  c->fd = -1;
  c->timeout_ms = -1;
  c->max_frame = WSB_CLIENT_DEFAULT_MAX_FRAME;
  c->arena_allocator.alloc = arena_alloc;
  c->arena_allocator.free = arena_free;
  c->arena_allocator.allocator_data = &c->arena;
  return c;
}

void
wsb_client_close (WsbClient *c)
{
  Pending *p;

  if (!c)
    return;
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
  c->phase = PHASE_IDLE;
  c->fatal = WSB_CLIENT_OK;
  while ((p = c->pending))
    {
      c->pending = p->next;
      free (p);
    }
  if (c->hello)
    wsbridge__v1__hello_reply__free_unpacked (c->hello, NULL);
  c->hello = NULL;
  c->got_hello = false;
  free (c->buf);
  c->buf = NULL;
  c->cap = c->start = c->end = 0;
  arena_clear (&c->arena);
}

void
wsb_client_free (WsbClient *c)
{
  if (!c)
    return;
  wsb_client_close (c);
  free (c->error);
  free (c);
}

int
wsb_client_get_fd (const WsbClient *c)
{
  return c ? c->fd : -1;
}

const Wsbridge__V1__HelloReply *
wsb_client_get_hello (const WsbClient *c)
{
  return c && c->phase == PHASE_READY ? c->hello : NULL;
}

void
wsb_client_set_timeout (WsbClient *c, int timeout_ms)
{
  c->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
}

void
wsb_client_set_max_frame_size (WsbClient *c, size_t max_bytes)
{
  c->max_frame = max_bytes;
}

void
wsb_client_set_event_callback (WsbClient *c, WsbClientEventFunc func, void *user_data)
{
  c->event_func = func;
  c->event_data = user_data;
}

void
wsb_client_stop (WsbClient *c)
{
  c->stop = 1;
}

const char *
wsb_client_error (const WsbClient *c)
{
  if (!c)
    return "out of memory";
  if (c->error_oom)
    return "out of memory";
  return c->error ? c->error : "";
}

int
wsb_client_error_code (const WsbClient *c)
{
  return c ? c->error_code : 0;
}

const char *
wsb_client_status_to_string (WsbClientStatus status)
{
  switch (status)
    {
      case WSB_CLIENT_OK:
        return "ok";
      case WSB_CLIENT_ERR_UNREACHABLE:
        return "daemon not reachable";
      case WSB_CLIENT_ERR_DAEMON:
        return "daemon error";
      case WSB_CLIENT_ERR_CONNECTION:
        return "connection rejected by daemon";
      case WSB_CLIENT_ERR_CLOSED:
        return "connection closed";
      case WSB_CLIENT_ERR_PROTOCOL:
        return "protocol error";
      case WSB_CLIENT_ERR_IO:
        return "I/O error";
      case WSB_CLIENT_ERR_TIMEOUT:
        return "timed out";
      case WSB_CLIENT_ERR_USAGE:
        return "invalid use of the API";
      case WSB_CLIENT_ERR_NOMEM:
        return "out of memory";
    }
  return "unknown status";
}

const char *
wsb_client_state_to_string (Wsbridge__V1__SessionState state)
{
  switch (state)
    {
      case WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_DISCONNECTED:
        return "disconnected";
      case WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_CONNECTING:
        return "connecting";
      case WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_OPEN:
        return "open";
      case WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_BACKOFF:
        return "backoff";
      case WSBRIDGE__V1__SESSION_STATE__SESSION_STATE_CLOSING:
        return "closing";
      default:
        return "unknown";
    }
}

/* Text for a daemon-sent Error whose message may be empty. */
static const char *
error_text (const Wsbridge__V1__Error *err)
{
  const ProtobufCEnumValue *v;

  if (err && err->message && err->message[0])
    return err->message;
  v = protobuf_c_enum_descriptor_get_value (&wsbridge__v1__error_code__descriptor,
                                            err ? (int) err->code : 0);
  return v ? v->name : "unknown error";
}

/* ---------------------------------------------------------------- time */

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -1: no deadline. */
static int64_t
deadline_after (int timeout_ms)
{
  return timeout_ms < 0 ? -1 : now_ms () + timeout_ms;
}

/* The poll() timeout until deadline: -1 forever, 0 when it has passed. */
static int
poll_timeout (int64_t deadline)
{
  int64_t left;

  if (deadline < 0)
    return -1;
  left = deadline - now_ms ();
  if (left <= 0)
    return 0;
  return left > INT32_MAX ? INT32_MAX : (int) left;
}

/* Waits for events on the socket: 1 when ready or interrupted (EINTR), 0 on
 * timeout, -1 on error (errno set). */
static int
wait_fd (WsbClient *c, short events, int64_t deadline)
{
  struct pollfd pfd = { .fd = c->fd, .events = events };
  int timeout = poll_timeout (deadline);
  int n;

  if (timeout == 0)
    return 0;
  n = poll (&pfd, 1, timeout);
  if (n < 0 && errno == EINTR)
    return 1;
  return n;
}

/* ---------------------------------------------------------------- reading */

/* Makes room for `want` more bytes after the buffered ones. */
static WsbClientStatus
buf_reserve (WsbClient *c, size_t want)
{
  size_t have;
  size_t cap;
  uint8_t *nbuf;

  if (c->start == c->end)
    c->start = c->end = 0;
  if (c->cap - c->end >= want)
    return WSB_CLIENT_OK;
  have = c->end - c->start;
  if (c->start > 0)
    {
      memmove (c->buf, c->buf + c->start, have);
      c->start = 0;
      c->end = have;
      if (c->cap - c->end >= want)
        return WSB_CLIENT_OK;
    }
  cap = have + want;
  if (cap < READ_CHUNK)
    cap = READ_CHUNK;
  nbuf = realloc (c->buf, cap);
  if (!nbuf)
    return fail (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory for a %zu-byte frame", have + want);
  c->buf = nbuf;
  c->cap = cap;
  return WSB_CLIENT_OK;
}

/* Bytes still missing to complete the first buffered frame: 1 while the
 * length prefix is incomplete (the frame could be as short as the prefix). */
static size_t
bytes_missing (const WsbClient *c)
{
  size_t prefix_len, body_len;
  size_t have = c->end - c->start;

  if (have == 0
      || wsb_frame_peek (c->buf + c->start, have, c->max_frame, &prefix_len, &body_len)
             != WSB_FRAME_NEED_MORE
      || prefix_len == 0)
    return 1;
  return prefix_len + body_len - have;
}

typedef enum
{
  READ_GOT_DATA,
  READ_NOTHING, /* would block (non-blocking) or interrupted by stop (run) */
  READ_EOF,
  READ_ERROR,   /* fatal error recorded, or timeout */
} ReadResult;

/* One successful read of at most `max` bytes. blocking: poll until data,
 * EOF, the deadline (WSB_CLIENT_ERR_TIMEOUT in *st) or, when stoppable,
 * a stop request. */
static ReadResult
read_once (WsbClient *c, size_t max, bool blocking, bool stoppable, int64_t deadline,
           WsbClientStatus *st)
{
  *st = buf_reserve (c, max);
  if (*st)
    return READ_ERROR;
  for (;;)
    {
      ssize_t n = recv (c->fd, c->buf + c->end, max, 0);

      if (n > 0)
        {
          c->end += (size_t) n;
          return READ_GOT_DATA;
        }
      if (n == 0)
        return READ_EOF;
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          int ready;

          if (!blocking || (stoppable && c->stop))
            return READ_NOTHING;
          ready = wait_fd (c, POLLIN, deadline);
          if (ready == 0)
            {
              *st = set_error (c, WSB_CLIENT_ERR_TIMEOUT, 0, "no answer from wsbridged in time");
              return READ_ERROR;
            }
          if (ready < 0)
            break;
          continue;
        }
      if (errno == ECONNRESET)
        return READ_EOF;
      break;
    }
  *st = fail (c, WSB_CLIENT_ERR_IO, 0, "reading from wsbridged: %s", strerror (errno));
  return READ_ERROR;
}

static WsbClientStatus
closed_error (WsbClient *c)
{
  if (c->end > c->start)
    return fail (c, WSB_CLIENT_ERR_CLOSED, 0,
                 "wsbridged closed the connection in the middle of a frame");
  return fail (c, WSB_CLIENT_ERR_CLOSED, 0, "wsbridged closed the connection");
}

/* ---------------------------------------------------------------- frames */

static Pending *
pending_take (WsbClient *c, uint64_t id)
{
  for (Pending **pp = &c->pending; *pp; pp = &(*pp)->next)
    {
      Pending *p = *pp;

      if (p->id == id)
        {
          *pp = p->next;
          p->next = NULL;
          return p;
        }
    }
  return NULL;
}

/* False when target is no longer linked (its reply was handled). */
static bool
pending_unlink (WsbClient *c, Pending *target)
{
  for (Pending **pp = &c->pending; *pp; pp = &(*pp)->next)
    if (*pp == target)
      {
        *pp = target->next;
        target->next = NULL;
        return true;
      }
  return false;
}

static WsbClientStatus
handle_reply (WsbClient *c, Wsbridge__V1__ServerFrame *frame)
{
  Wsbridge__V1__Reply *reply = frame->reply;
  Pending *p;

  if (c->phase != PHASE_READY)
    return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged sent a reply before the hello");
  p = pending_take (c, reply->id);
  if (!p)
    return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                 "wsbridged sent a reply to request %" PRIu64 ", which is not pending", reply->id);

  /* Detach the reply: protobuf-c allocates every sub-message on its own. */
  frame->reply = NULL;
  frame->frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME__NOT_SET;

  switch (p->kind)
    {
      case PENDING_BLOCKING:
        p->reply = reply;
        p->done = true;
        return WSB_CLIENT_OK;
      case PENDING_ASYNC:
        if (p->func)
          p->func (c, reply, p->user_data);
        break;
      case PENDING_ABANDONED:
        break;
    }
  wsbridge__v1__reply__free_unpacked (reply, NULL);
  free (p);
  return c->fatal;
}

static WsbClientStatus
handle_hello (WsbClient *c, Wsbridge__V1__ServerFrame *frame)
{
  if (c->phase != PHASE_HELLO)
    return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged sent a second hello");
  c->hello = frame->hello;
  c->got_hello = true;
  frame->hello = NULL;
  frame->frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME__NOT_SET;
  return WSB_CLIENT_OK;
}

static WsbClientStatus
deliver_event (WsbClient *c, const Wsbridge__V1__Event *event)
{
  if (c->phase != PHASE_READY)
    return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged sent an event before the hello");
  if (c->event_func)
    c->event_func (c, event, c->event_data);
  return c->fatal;
}

static WsbClientStatus
undecodable (WsbClient *c, size_t len)
{
  return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "undecodable %zu-byte frame from wsbridged", len);
}

/* body may point into c->buf: it is only read before any callback runs,
 * because callbacks may read more and move the buffer. */
static WsbClientStatus
handle_frame (WsbClient *c, const uint8_t *body, size_t len)
{
  Wsbridge__V1__ServerFrame *frame;
  WsbClientStatus st = WSB_CLIENT_OK;

  if (len > 0 && body[0] == SERVER_FRAME_EVENT_TAG)
    {
      ArenaMark mark;

      if (!arena_mark (&c->arena, &mark))
        return fail (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
      frame = wsbridge__v1__server_frame__unpack (&c->arena_allocator, len, body);
      if (frame && frame->frame_case == WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT)
        {
          st = deliver_event (c, frame->event);
          arena_release (&c->arena, &mark);
          return st;
        }
      /* Not an event after all (a later field won the oneof): decode again
       * with the default allocator below. */
      arena_release (&c->arena, &mark);
    }

  frame = wsbridge__v1__server_frame__unpack (NULL, len, body);
  if (!frame)
    return undecodable (c, len);
  switch (frame->frame_case)
    {
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_HELLO:
        st = handle_hello (c, frame);
        break;
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_REPLY:
        st = handle_reply (c, frame);
        break;
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT:
        st = deliver_event (c, frame->event);
        break;
      case WSBRIDGE__V1__SERVER_FRAME__FRAME_ERROR:
        st = fail (c, WSB_CLIENT_ERR_CONNECTION, (int) frame->error->code, "%s",
                   error_text (frame->error));
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
  size_t prefix_len, body_len;
  const uint8_t *body;
  uint64_t announced;
  size_t used;

  *handled = false;
  if (c->fatal)
    return c->fatal;
  if (c->start == c->end)
    return WSB_CLIENT_OK;
  switch (wsb_frame_peek (c->buf + c->start, c->end - c->start, c->max_frame, &prefix_len,
                          &body_len))
    {
      case WSB_FRAME_OK:
        break;
      case WSB_FRAME_NEED_MORE:
        return WSB_CLIENT_OK;
      case WSB_FRAME_BAD_VARINT:
        return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "bad frame length prefix from wsbridged");
      case WSB_FRAME_TOO_LARGE:
        wsb_varint_decode (c->buf + c->start, c->end - c->start, &announced, &used);
        return fail (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                     "wsbridged announced a %" PRIu64 "-byte frame, over the limit of %zu bytes",
                     announced, c->max_frame);
    }
  body = c->buf + c->start + prefix_len;
  c->start += prefix_len + body_len;
  *handled = true;
  return handle_frame (c, body, body_len);
}

static WsbClientStatus
handle_buffered_all (WsbClient *c)
{
  bool handled;
  WsbClientStatus st;

  do
    st = handle_buffered_one (c, &handled);
  while (!st && handled);
  return st;
}

/* Handles frames until *done, reading only as much as the frame in progress
 * needs so that nothing after the awaited frame is taken off the socket. */
static WsbClientStatus
wait_until (WsbClient *c, const bool *done, int64_t deadline)
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
      switch (read_once (c, bytes_missing (c), true, false, deadline, &st))
        {
          case READ_GOT_DATA:
          case READ_NOTHING:
            break;
          case READ_EOF:
            return closed_error (c);
          case READ_ERROR:
            return st;
        }
    }
}

/* Drops buffer memory held for one big frame once it has been handled. */
static void
buf_trim (WsbClient *c)
{
  if (c->cap > BUF_KEEP && c->start == c->end)
    {
      free (c->buf);
      c->buf = NULL;
      c->cap = c->start = c->end = 0;
    }
}

/* How much a greedy read asks for: a chunk, or the rest of a big frame. */
static size_t
greedy_size (const WsbClient *c)
{
  size_t missing = bytes_missing (c);

  return missing > READ_CHUNK ? missing : READ_CHUNK;
}

WsbClientStatus
wsb_client_dispatch (WsbClient *c)
{
  WsbClientStatus st = check_ready (c);

  if (st)
    return st;
  st = handle_buffered_all (c);
  if (st)
    return st;
  switch (read_once (c, greedy_size (c), false, false, -1, &st))
    {
      case READ_GOT_DATA:
        st = handle_buffered_all (c);
        break;
      case READ_NOTHING:
        break;
      case READ_EOF:
        st = handle_buffered_all (c);
        if (!st)
          st = closed_error (c);
        break;
      case READ_ERROR:
        break;
    }
  buf_trim (c);
  return st;
}

WsbClientStatus
wsb_client_run (WsbClient *c)
{
  WsbClientStatus st = check_ready (c);

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
      if (c->stop)
        {
          c->stop = 0;
          return WSB_CLIENT_OK;
        }
      buf_trim (c);
      switch (read_once (c, greedy_size (c), true, true, -1, &st))
        {
          case READ_GOT_DATA:
          case READ_NOTHING:
            break;
          case READ_EOF:
            st = handle_buffered_all (c);
            return st ? st : closed_error (c);
          case READ_ERROR:
            return st;
        }
    }
}

/* ---------------------------------------------------------------- writing */

/* The daemon closed the socket while we wrote: it usually said why first
 * (a ServerFrame.error), so read and handle what is left before failing. */
static WsbClientStatus
write_closed (WsbClient *c)
{
  WsbClientStatus st;

  for (;;)
    {
      ReadResult r = read_once (c, greedy_size (c), false, false, -1, &st);

      if (r == READ_GOT_DATA)
        {
          st = handle_buffered_all (c);
          if (st)
            return st;
          continue;
        }
      if (r == READ_ERROR)
        return st;
      return closed_error (c);
    }
}

static WsbClientStatus
write_all (WsbClient *c, const uint8_t *data, size_t len, int64_t deadline)
{
  size_t done = 0;

  while (done < len)
    {
      ssize_t n = send (c->fd, data + done, len - done, MSG_NOSIGNAL);

      if (n >= 0)
        {
          done += (size_t) n;
          continue;
        }
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          int ready = wait_fd (c, POLLOUT, deadline);

          if (ready > 0)
            continue;
          if (ready < 0)
            break;
          if (done == 0)
            return set_error (c, WSB_CLIENT_ERR_TIMEOUT, 0, "wsbridged is not reading (timed out)");
          return fail (c, WSB_CLIENT_ERR_IO, 0,
                       "timed out writing to wsbridged in the middle of a frame");
        }
      if (errno == EPIPE || errno == ECONNRESET)
        return write_closed (c);
      break;
    }
  if (done == len)
    return WSB_CLIENT_OK;
  return fail (c, WSB_CLIENT_ERR_IO, 0, "writing to wsbridged: %s", strerror (errno));
}

/* Encodes one delimited ClientFrame and writes it. */
static WsbClientStatus
write_client_frame (WsbClient *c, const Wsbridge__V1__ClientFrame *frame, int64_t deadline)
{
  uint8_t small[512];
  size_t body_len = wsbridge__v1__client_frame__get_packed_size (frame);
  size_t total = wsb_varint_size (body_len) + body_len;
  uint8_t *out = total <= sizeof small ? small : malloc (total);
  WsbClientStatus st;
  size_t n;

  if (!out)
    return nomem (c);
  n = wsb_varint_encode (body_len, out);
  wsbridge__v1__client_frame__pack (frame, out + n);
  st = write_all (c, out, total, deadline);
  if (out != small)
    free (out);
  return st;
}

/* ---------------------------------------------------------------- connect */

/* Blocking connect that survives EINTR (the connection then completes in the
 * background; wait for it and read its result). */
static int
connect_unix (int fd, const struct sockaddr_un *addr)
{
  struct pollfd pfd = { .fd = fd, .events = POLLOUT };
  int err = 0;
  socklen_t err_len = sizeof err;

  if (connect (fd, (const struct sockaddr *) addr, sizeof *addr) == 0)
    return 0;
  if (errno != EINTR)
    return errno;
  while (poll (&pfd, 1, -1) < 0)
    if (errno != EINTR)
      return errno;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
    return errno;
  return err;
}

static WsbClientStatus
open_socket (WsbClient *c, const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;
  int err;

  if (strlen (path) >= sizeof addr.sun_path)
    return set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "socket path too long (%zu bytes, max %zu)",
                      strlen (path), sizeof addr.sun_path - 1);
  memcpy (addr.sun_path, path, strlen (path) + 1);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "socket: %s", strerror (errno));
  err = connect_unix (fd, &addr);
  if (err == 0 && fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK) < 0)
    err = errno;
  if (err)
    {
      close (fd);
      return set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "%s", strerror (err));
    }
  c->fd = fd;
  return WSB_CLIENT_OK;
}

/* Every hello failure means "not reachable"; keep the reason and the code. */
static WsbClientStatus
hello_failed (WsbClient *c, WsbClientStatus st)
{
  int code = c->error_code;
  char *why = c->error;

  c->error = NULL;
  switch (st)
    {
      case WSB_CLIENT_ERR_CONNECTION:
        set_error (c, WSB_CLIENT_ERR_UNREACHABLE, code, "wsbridged refused the connection: %s",
                   why ? why : "out of memory");
        break;
      case WSB_CLIENT_ERR_CLOSED:
        set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0,
                   "wsbridged closed the connection during the hello");
        break;
      case WSB_CLIENT_ERR_TIMEOUT:
        set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "no answer to the hello within %d ms",
                   c->timeout_ms);
        break;
      default:
        set_error (c, WSB_CLIENT_ERR_UNREACHABLE, code, "hello failed: %s",
                   why ? why : "out of memory");
        break;
    }
  free (why);
  wsb_client_close (c);
  return WSB_CLIENT_ERR_UNREACHABLE;
}

WsbClientStatus
wsb_client_connect (WsbClient *c, const char *path, const char *client_name)
{
  Wsbridge__V1__ClientFrame frame = WSBRIDGE__V1__CLIENT_FRAME__INIT;
  Wsbridge__V1__Hello hello = WSBRIDGE__V1__HELLO__INIT;
  int64_t deadline = deadline_after (c->timeout_ms);
  WsbClientStatus st;

  if (c->fd >= 0)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "already connected");
  if (!path)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no socket path");
  st = open_socket (c, path);
  if (st)
    return st;

  c->phase = PHASE_HELLO;
  hello.api_major = WSB_API_MAJOR;
  hello.api_minor = WSB_API_MINOR;
  hello.client_name = (char *) (client_name ? client_name : "");
  frame.frame_case = WSBRIDGE__V1__CLIENT_FRAME__FRAME_HELLO;
  frame.hello = &hello;
  st = write_client_frame (c, &frame, deadline);
  if (!st)
    st = wait_until (c, &c->got_hello, deadline);
  if (st)
    return hello_failed (c, st);
  if (c->hello->api_major != WSB_API_MAJOR)
    {
      set_error (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged speaks API version %u, not %u",
                 c->hello->api_major, WSB_API_MAJOR);
      return hello_failed (c, WSB_CLIENT_ERR_PROTOCOL);
    }
  c->phase = PHASE_READY;
  c->stop = 0;
  return WSB_CLIENT_OK;
}

/* ---------------------------------------------------------------- requests */

/* Links p and writes the request. On failure *answered tells whether the
 * reply was handled meanwhile (a daemon that answers, then closes); an
 * async p has then been freed. */
static WsbClientStatus
send_request (WsbClient *c, Wsbridge__V1__Request *request, Pending *p, int64_t deadline,
              bool *answered)
{
  Wsbridge__V1__ClientFrame frame = WSBRIDGE__V1__CLIENT_FRAME__INIT;
  WsbClientStatus st;
  Pending **tail;

  request->id = ++c->next_id;
  p->id = request->id;
  frame.frame_case = WSBRIDGE__V1__CLIENT_FRAME__FRAME_REQUEST;
  frame.request = request;

  /* Link first: the reply may be handled before write_all() returns. */
  for (tail = &c->pending; *tail; tail = &(*tail)->next)
    ;
  *tail = p;
  st = write_client_frame (c, &frame, deadline);
  *answered = st && !pending_unlink (c, p);
  return st;
}

/* The checks every request starts with, and its pending entry. */
static WsbClientStatus
new_pending (WsbClient *c, const Wsbridge__V1__Request *request, Pending **out)
{
  WsbClientStatus st = check_ready (c);

  *out = NULL;
  if (st)
    return st;
  if (!request)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no request");
  *out = calloc (1, sizeof **out);
  return *out ? WSB_CLIENT_OK : nomem (c);
}

WsbClientStatus
wsb_client_request (WsbClient *c, Wsbridge__V1__Request *request, WsbClientReplyFunc func,
                    void *user_data, uint64_t *id)
{
  bool answered;
  Pending *p;
  WsbClientStatus st = new_pending (c, request, &p);

  if (st)
    return st;
  p->kind = PENDING_ASYNC;
  p->func = func;
  p->user_data = user_data;
  st = send_request (c, request, p, deadline_after (c->timeout_ms), &answered);
  if (st)
    {
      if (!answered)
        free (p);
      return st;
    }
  if (id)
    *id = request->id;
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_call (WsbClient *c, Wsbridge__V1__Request *request, Wsbridge__V1__Reply **reply)
{
  int64_t deadline = deadline_after (c->timeout_ms);
  bool answered;
  Pending *p;
  Wsbridge__V1__Reply *r;
  WsbClientStatus st;

  if (reply)
    *reply = NULL;
  /* On the heap: if the wait times out, the entry stays behind to swallow
   * the late reply. */
  st = new_pending (c, request, &p);
  if (st)
    return st;
  p->kind = PENDING_BLOCKING;
  st = send_request (c, request, p, deadline, &answered);
  if (!st)
    st = wait_until (c, &p->done, deadline);
  if (st && !p->done)
    {
      if (st == WSB_CLIENT_ERR_TIMEOUT && !c->fatal)
        {
          p->kind = PENDING_ABANDONED;
          return set_error (c, st, 0, "no reply from wsbridged to request %" PRIu64 " in time",
                            p->id);
        }
      pending_unlink (c, p);
      free (p);
      return st;
    }
  r = p->reply;
  free (p);
  if (r->result_case == WSBRIDGE__V1__REPLY__RESULT_ERROR)
    {
      st = set_error (c, WSB_CLIENT_ERR_DAEMON, (int) r->error->code, "%s", error_text (r->error));
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

/* Calls and checks that the reply carries the expected result. */
static WsbClientStatus
call_expect (WsbClient *c, Wsbridge__V1__Request *request, Wsbridge__V1__Reply__ResultCase want,
             Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Reply *r = NULL;
  WsbClientStatus st = wsb_client_call (c, request, &r);

  if (st)
    return st;
  if (r->result_case != want)
    {
      wsbridge__v1__reply__free_unpacked (r, NULL);
      return set_error (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                        "wsbridged answered request %" PRIu64 " with an unexpected result",
                        request->id);
    }
  if (reply)
    *reply = r;
  else
    wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_list_sessions (WsbClient *c, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__ListSessionsRequest list = WSBRIDGE__V1__LIST_SESSIONS_REQUEST__INIT;

  if (reply)
    *reply = NULL;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_LIST_SESSIONS;
  request.list_sessions = &list;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_LIST_SESSIONS, reply);
}

WsbClientStatus
wsb_client_subscribe (WsbClient *c, const char *session, const char *channel, uint64_t since_seq,
                      uint64_t epoch, uint64_t *subscription_id, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__SubscribeRequest sub = WSBRIDGE__V1__SUBSCRIBE_REQUEST__INIT;
  Wsbridge__V1__Reply *r = NULL;
  WsbClientStatus st;

  if (reply)
    *reply = NULL;
  if (!session)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  sub.session = (char *) session;
  sub.channel = (char *) (channel ? channel : "*");
  sub.since_seq = since_seq;
  sub.epoch = epoch;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_SUBSCRIBE;
  request.subscribe = &sub;
  st = call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SUBSCRIBE, &r);
  if (st)
    return st;
  if (subscription_id)
    *subscription_id = r->subscribe->subscription_id;
  if (reply)
    *reply = r;
  else
    wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_unsubscribe (WsbClient *c, uint64_t subscription_id)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__UnsubscribeRequest unsub = WSBRIDGE__V1__UNSUBSCRIBE_REQUEST__INIT;

  unsub.subscription_id = subscription_id;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_UNSUBSCRIBE;
  request.unsubscribe = &unsub;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_OK, NULL);
}

WsbClientStatus
wsb_client_send_full (WsbClient *c, const char *session, const void *data, size_t len,
                      bool binary, uint32_t ttl_ms, uint64_t *send_id)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__SendRequest send_req = WSBRIDGE__V1__SEND_REQUEST__INIT;
  Wsbridge__V1__Reply *r = NULL;
  WsbClientStatus st;

  if (!session || (!data && len))
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name or no data");
  send_req.session = (char *) session;
  send_req.data.data = (uint8_t *) data;
  send_req.data.len = len;
  send_req.binary = binary;
  send_req.ttl_ms = ttl_ms;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_SEND;
  request.send = &send_req;
  st = call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SEND, &r);
  if (st)
    return st;
  if (send_id)
    *send_id = r->send->send_id;
  wsbridge__v1__reply__free_unpacked (r, NULL);
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_send (WsbClient *c, const char *session, const void *data, size_t len, bool binary,
                 uint64_t *send_id)
{
  return wsb_client_send_full (c, session, data, len, binary, 0, send_id);
}

WsbClientStatus
wsb_client_history (WsbClient *c, const char *session, const char *channel, uint32_t last,
                    Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__HistoryRequest hist = WSBRIDGE__V1__HISTORY_REQUEST__INIT;

  if (reply)
    *reply = NULL;
  if (!session)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  hist.session = (char *) session;
  hist.channel = (char *) (channel ? channel : "*");
  hist.last = last;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_HISTORY;
  request.history = &hist;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_HISTORY, reply);
}

WsbClientStatus
wsb_client_get_session (WsbClient *c, const char *session, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__GetSessionRequest get = WSBRIDGE__V1__GET_SESSION_REQUEST__INIT;

  if (reply)
    *reply = NULL;
  if (!session)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  get.session = (char *) session;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_GET_SESSION;
  request.get_session = &get;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SESSION, reply);
}

WsbClientStatus
wsb_client_create_session (WsbClient *c, const char *name, const char *url,
                           const char *const *keys, const char *const *values, size_t n_options,
                           bool persist, Wsbridge__V1__Reply **reply)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__CreateSessionRequest create = WSBRIDGE__V1__CREATE_SESSION_REQUEST__INIT;
  Wsbridge__V1__SessionOption *opts;
  Wsbridge__V1__SessionOption **ptrs;
  WsbClientStatus st;

  if (reply)
    *reply = NULL;
  if (!name || !url || (n_options && (!keys || !values)))
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name, URL or options");
  opts = calloc (n_options + 1, sizeof *opts);
  ptrs = calloc (n_options + 1, sizeof *ptrs);
  if (!opts || !ptrs)
    {
      free (opts);
      free (ptrs);
      return set_error (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
    }
  for (size_t i = 0; i < n_options; i++)
    {
      wsbridge__v1__session_option__init (&opts[i]);
      opts[i].key = (char *) keys[i];
      opts[i].value = (char *) values[i];
      ptrs[i] = &opts[i];
    }
  create.name = (char *) name;
  create.url = (char *) url;
  create.n_options = n_options;
  create.options = ptrs;
  create.persist = persist;
  request.op_case = WSBRIDGE__V1__REQUEST__OP_CREATE_SESSION;
  request.create_session = &create;
  st = call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_SESSION, reply);
  free (opts);
  free (ptrs);
  return st;
}

/* remove_session, connect, disconnect: a session name and an ok reply. */
static WsbClientStatus
session_op (WsbClient *c, const char *session, Wsbridge__V1__Request__OpCase op)
{
  Wsbridge__V1__Request request = WSBRIDGE__V1__REQUEST__INIT;
  Wsbridge__V1__RemoveSessionRequest remove = WSBRIDGE__V1__REMOVE_SESSION_REQUEST__INIT;
  Wsbridge__V1__ConnectRequest connect = WSBRIDGE__V1__CONNECT_REQUEST__INIT;
  Wsbridge__V1__DisconnectRequest disconnect = WSBRIDGE__V1__DISCONNECT_REQUEST__INIT;

  if (!session)
    return set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no session name");
  remove.session = connect.session = disconnect.session = (char *) session;
  request.op_case = op;
  if (op == WSBRIDGE__V1__REQUEST__OP_REMOVE_SESSION)
    request.remove_session = &remove;
  else if (op == WSBRIDGE__V1__REQUEST__OP_CONNECT)
    request.connect = &connect;
  else
    request.disconnect = &disconnect;
  return call_expect (c, &request, WSBRIDGE__V1__REPLY__RESULT_OK, NULL);
}

WsbClientStatus
wsb_client_remove_session (WsbClient *c, const char *session)
{
  return session_op (c, session, WSBRIDGE__V1__REQUEST__OP_REMOVE_SESSION);
}

WsbClientStatus
wsb_client_connect_session (WsbClient *c, const char *session)
{
  return session_op (c, session, WSBRIDGE__V1__REQUEST__OP_CONNECT);
}

WsbClientStatus
wsb_client_disconnect_session (WsbClient *c, const char *session)
{
  return session_op (c, session, WSBRIDGE__V1__REQUEST__OP_DISCONNECT);
}
