/* The socket: reads into the inbound buffer, whole frames out, and the
 * deadlines of both. Writes use MSG_NOSIGNAL, so no SIGPIPE. */
#include "client-private.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "framing.h"

/* ---------------------------------------------------------------- time */

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wsbc_deadline_after (int timeout_ms)
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

WsbcReadResult
wsbc_read_once (WsbClient *c, size_t max, bool blocking, bool stoppable, int64_t deadline,
                WsbClientStatus *st)
{
  *st = WSB_CLIENT_OK;
  if (!wsbc_rx_reserve (&c->rx, max))
    {
      *st = wsbc_fail (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory for a %zu-byte frame",
                       wsbc_rx_buffered (&c->rx) + max);
      return WSBC_READ_ERROR;
    }
  for (;;)
    {
      union
      {
        struct cmsghdr align;
        char buf[CMSG_SPACE (sizeof (int) * WSBC_MAX_FDS)];
      } control;
      struct iovec iov = { c->rx.data + c->rx.end, max };
      struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
      ssize_t n;

      /* Descriptors come only with a ring's start (client-ring.c). */
      if (c->epfd >= 0)
        {
          msg.msg_control = control.buf;
          msg.msg_controllen = sizeof control.buf;
        }
      n = recvmsg (c->fd, &msg, MSG_CMSG_CLOEXEC);
      if (n > 0 && msg.msg_controllen)
        wsbc_ring_take_fds (c, &msg);

      if (n > 0)
        {
          c->rx.end += (size_t) n;
          return WSBC_READ_GOT_DATA;
        }
      if (n == 0)
        return WSBC_READ_EOF;
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          int ready;

          if (!blocking || (stoppable && c->stop))
            return WSBC_READ_NOTHING;
          /* The run loop also wakes for the rings (it drains them). */
          if (stoppable && c->epfd >= 0)
            {
              wsbc_ring_wait (c, poll_timeout (deadline));
              return WSBC_READ_NOTHING;
            }
          ready = wait_fd (c, POLLIN, deadline);
          if (ready == 0)
            {
              *st = wsbc_set_error (c, WSB_CLIENT_ERR_TIMEOUT, 0,
                                    "no answer from wsbridged in time");
              return WSBC_READ_ERROR;
            }
          if (ready < 0)
            break;
          continue;
        }
      if (errno == ECONNRESET)
        return WSBC_READ_EOF;
      break;
    }
  *st = wsbc_fail (c, WSB_CLIENT_ERR_IO, 0, "reading from wsbridged: %s", strerror (errno));
  return WSBC_READ_ERROR;
}

WsbClientStatus
wsbc_closed_error (WsbClient *c)
{
  if (wsbc_rx_buffered (&c->rx) > 0)
    return wsbc_fail (c, WSB_CLIENT_ERR_CLOSED, 0,
                      "wsbridged closed the connection in the middle of a frame");
  return wsbc_fail (c, WSB_CLIENT_ERR_CLOSED, 0, "wsbridged closed the connection");
}

/* ---------------------------------------------------------------- writing */

/* The daemon closed the socket while we wrote: it usually said why first
 * (a ServerFrame.error), so read and handle what is left before failing.
 * The one call from here up into client-dispatch.c. */
static WsbClientStatus
write_closed (WsbClient *c)
{
  WsbClientStatus st;

  for (;;)
    {
      WsbcReadResult r
          = wsbc_read_once (c, wsbc_rx_greedy_size (&c->rx, c->max_frame), false, false, -1, &st);

      if (r == WSBC_READ_GOT_DATA)
        {
          st = wsbc_handle_buffered_all (c);
          if (st)
            return st;
          continue;
        }
      if (r == WSBC_READ_ERROR)
        return st;
      return wsbc_closed_error (c);
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
            return wsbc_set_error (c, WSB_CLIENT_ERR_TIMEOUT, 0,
                                   "wsbridged is not reading (timed out)");
          return wsbc_fail (c, WSB_CLIENT_ERR_IO, 0,
                            "timed out writing to wsbridged in the middle of a frame");
        }
      if (errno == EPIPE || errno == ECONNRESET)
        return write_closed (c);
      break;
    }
  if (done == len)
    return WSB_CLIENT_OK;
  return wsbc_fail (c, WSB_CLIENT_ERR_IO, 0, "writing to wsbridged: %s", strerror (errno));
}

WsbClientStatus
wsbc_write_frame (WsbClient *c, const Wsbridge__V1__ClientFrame *frame, int64_t deadline)
{
  uint8_t small[512];
  size_t body_len = wsbridge__v1__client_frame__get_packed_size (frame);
  size_t total = wsb_varint_size (body_len) + body_len;
  uint8_t *out = total <= sizeof small ? small : malloc (total);
  WsbClientStatus st;
  size_t n;

  if (!out)
    return wsbc_nomem (c);
  n = wsb_varint_encode (body_len, out);
  wsbridge__v1__client_frame__pack (frame, out + n);
  st = write_all (c, out, total, deadline);
  if (out != small)
    free (out);
  return st;
}
