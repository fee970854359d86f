/* Connecting: the Unix socket (blocking connect, then non-blocking use) and
 * the hello, whose every failure is WSB_CLIENT_ERR_UNREACHABLE. */
#include "client-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wsb-version.h"

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
    return wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0,
                           "socket path too long (%zu bytes, max %zu)", strlen (path),
                           sizeof addr.sun_path - 1);
  memcpy (addr.sun_path, path, strlen (path) + 1);

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "socket: %s", strerror (errno));
  err = connect_unix (fd, &addr);
  if (err == 0 && fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK) < 0)
    err = errno;
  if (err)
    {
      close (fd);
      return wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "%s", strerror (err));
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
        wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, code, "wsbridged refused the connection: %s",
                        why ? why : "out of memory");
        break;
      case WSB_CLIENT_ERR_CLOSED:
        wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0,
                        "wsbridged closed the connection during the hello");
        break;
      case WSB_CLIENT_ERR_TIMEOUT:
        wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, 0, "no answer to the hello within %d ms",
                        c->timeout_ms);
        break;
      default:
        wsbc_set_error (c, WSB_CLIENT_ERR_UNREACHABLE, code, "hello failed: %s",
                        why ? why : "out of memory");
        break;
    }
  free (why);
  wsb_client_close (c);
  return WSB_CLIENT_ERR_UNREACHABLE;
}

WsbClientStatus
wsbc_handle_hello (WsbClient *c, Wsbridge__V1__ServerFrame *frame)
{
  if (c->phase != WSBC_PHASE_HELLO)
    return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged sent a second hello");
  c->hello = frame->hello;
  c->got_hello = true;
  frame->hello = NULL;
  frame->frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME__NOT_SET;
  return WSB_CLIENT_OK;
}

WsbClientStatus
wsb_client_connect (WsbClient *c, const char *path, const char *client_name)
{
  Wsbridge__V1__ClientFrame frame = WSBRIDGE__V1__CLIENT_FRAME__INIT;
  Wsbridge__V1__Hello hello = WSBRIDGE__V1__HELLO__INIT;
  int64_t deadline = wsbc_deadline_after (c->timeout_ms);
  WsbClientStatus st;

  if (c->fd >= 0)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "already connected");
  if (!path)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "no socket path");
  st = open_socket (c, path);
  if (st)
    return st;

  c->phase = WSBC_PHASE_HELLO;
  hello.api_major = WSB_API_MAJOR;
  hello.api_minor = WSB_API_MINOR;
  hello.client_name = (char *) (client_name ? client_name : "");
  wsbc_ring_hello (c, &hello);
  frame.frame_case = WSBRIDGE__V1__CLIENT_FRAME__FRAME_HELLO;
  frame.hello = &hello;
  st = wsbc_write_frame (c, &frame, deadline);
  if (!st)
    st = wsbc_wait_until (c, &c->got_hello, deadline);
  if (st)
    return hello_failed (c, st);
  if (c->hello->api_major != WSB_API_MAJOR)
    {
      wsbc_set_error (c, WSB_CLIENT_ERR_PROTOCOL, 0, "wsbridged speaks API version %u, not %u",
                      c->hello->api_major, WSB_API_MAJOR);
      return hello_failed (c, WSB_CLIENT_ERR_PROTOCOL);
    }
  st = wsbc_ring_ready (c);
  if (st)
    return hello_failed (c, st);
  c->phase = WSBC_PHASE_READY;
  c->stop = 0;
  return WSB_CLIENT_OK;
}
