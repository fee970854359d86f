/* libwsbridge: the client side of the wsbridge.v1 socket protocol; this file
 * holds the client object, its settings and the recording of errors
 * (client-private.h lists the other files).
 *
 * Inbound bytes collect in one buffer (client-rx.c); complete frames are
 * handled in order. Event frames, the hot path, are unpacked into an arena
 * (client-arena.c) that is rewound after the callback, so a message costs no
 * malloc/free. Replies are unpacked with the default allocator because the
 * caller keeps them. Blocking waits read exactly up to the end of the frame
 * being completed, so nothing after the awaited reply leaves the socket (see
 * the "Blocking calls" note in wsbridge.h). */
#include "client-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

WsbClientStatus
wsbc_set_error (WsbClient *c, WsbClientStatus status, int code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  set_error_va (c, status, code, fmt, ap);
  va_end (ap);
  return status;
}

WsbClientStatus
wsbc_fail (WsbClient *c, WsbClientStatus status, int code, const char *fmt, ...)
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

WsbClientStatus
wsbc_nomem (WsbClient *c)
{
  return wsbc_set_error (c, WSB_CLIENT_ERR_NOMEM, 0, "out of memory");
}

WsbClientStatus
wsbc_check_ready (WsbClient *c)
{
  if (c->fatal)
    return c->fatal;
  if (c->phase != WSBC_PHASE_READY)
    return wsbc_set_error (c, WSB_CLIENT_ERR_USAGE, 0, "not connected to wsbridged");
  return WSB_CLIENT_OK;
}

WsbClient *
wsb_client_new (void)
{
  WsbClient *c = calloc (1, sizeof *c);

  if (!c)
    return NULL;
  c->fd = -1;
  c->epfd = -1;
  c->timeout_ms = -1;
  c->max_frame = WSB_CLIENT_DEFAULT_MAX_FRAME;
  wsbc_arena_allocator_init (&c->arena, &c->arena_allocator);
  return c;
}

void
wsb_client_close (WsbClient *c)
{
  if (!c)
    return;
  wsbc_ring_clear (c);
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
  c->phase = WSBC_PHASE_IDLE;
  c->fatal = WSB_CLIENT_OK;
  wsbc_pending_clear (&c->pending);
  if (c->hello)
    wsbridge__v1__hello_reply__free_unpacked (c->hello, NULL);
  c->hello = NULL;
  c->got_hello = false;
  wsbc_rx_clear (&c->rx);
  wsbc_arena_clear (&c->arena);
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
  if (!c)
    return -1;
  return c->epfd >= 0 ? c->epfd : c->fd;
}

const Wsbridge__V1__HelloReply *
wsb_client_get_hello (const WsbClient *c)
{
  return c && c->phase == WSBC_PHASE_READY ? c->hello : NULL;
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

const char *
wsbc_error_text (const Wsbridge__V1__Error *err)
{
  const ProtobufCEnumValue *v;

  if (err && err->message && err->message[0])
    return err->message;
  v = protobuf_c_enum_descriptor_get_value (&wsbridge__v1__error_code__descriptor,
                                            err ? (int) err->code : 0);
  return v ? v->name : "unknown error";
}
