"""A face shaped like websocket-client (``import websocket``), over the
blocking :class:`wsbridge.Client`.

An app moves onto a shared session by changing its import and its URL::

    from wsbridge import websocket          # was: import websocket

    def on_message(ws, message):
        print(message)

    ws = websocket.WebSocketApp("wsbridge://demo/eu", on_message=on_message)
    ws.run_forever(reconnect=5)

One :class:`WebSocket` (what :func:`create_connection` returns, and
``WebSocketApp.sock``) is one upstream connection of the session, as the
app's code assumes: it opens when the session is open (first receiving what
the server said when that connection opened), and when the session's
connection closes or drops, it closes as websocket-client shows a server's
close: ``recv()`` returns ``""`` once (``recv_data()`` the close frame with
the server's code and reason) and then raises
:class:`WebSocketConnectionClosedException`; a drop (1006) raises at once.
``WebSocketApp.run_forever`` calls ``on_close(ws, code, reason)`` then, with
``reconnect=``, ``on_open`` (or ``on_reconnect``) again when the session is
open again, so the app's own subscribe-on-open code runs for every
connection. ``sticky=True`` keeps the old mode: upstream reconnects hidden.

Everything that differs from websocket-client is listed, with the session
key that covers it, in clients/python/README.md.
"""

from __future__ import annotations

import inspect
import logging
import os
import struct
import threading
import time
from typing import Any, Callable, Iterator

from . import _face
from ._face import AsyncLink, Closed, as_face_error, warn_once, warn_options
from .backoff import Backoff
from .client import Client
from .errors import DaemonUnreachable, Error
from .model import Gap, Message, StateChange
from .url import parse_url

__all__ = [
    "ABNF", "WebSocketApp", "WebSocket", "create_connection", "set_reconnect",
    "setdefaulttimeout", "getdefaulttimeout", "enableTrace",
    "WebSocketException", "WebSocketProtocolException", "WebSocketPayloadException",
    "WebSocketConnectionClosedException", "WebSocketTimeoutException",
    "WebSocketProxyException", "WebSocketBadStatusException", "WebSocketAddressException",
    "STATUS_NORMAL", "STATUS_GOING_AWAY", "STATUS_PROTOCOL_ERROR",
    "STATUS_UNSUPPORTED_DATA_TYPE", "STATUS_STATUS_NOT_AVAILABLE", "STATUS_ABNORMAL_CLOSED",
    "STATUS_INVALID_PAYLOAD", "STATUS_POLICY_VIOLATION", "STATUS_MESSAGE_TOO_BIG",
    "STATUS_INVALID_EXTENSION", "STATUS_UNEXPECTED_CONDITION", "STATUS_SERVICE_RESTART",
    "STATUS_TRY_AGAIN_LATER", "STATUS_BAD_GATEWAY", "STATUS_TLS_HANDSHAKE_ERROR",
    "VALID_CLOSE_STATUS", "DEFAULT_SOCKET_OPTION",
    "dump", "error", "warning", "debug", "info", "trace",
    "isEnabledForError", "isEnabledForDebug", "isEnabledForTrace",
]

log = logging.getLogger("wsbridge.websocket")

STATUS_NORMAL = 1000
STATUS_GOING_AWAY = 1001
STATUS_PROTOCOL_ERROR = 1002
STATUS_UNSUPPORTED_DATA_TYPE = 1003
STATUS_STATUS_NOT_AVAILABLE = 1005
STATUS_ABNORMAL_CLOSED = 1006
STATUS_INVALID_PAYLOAD = 1007
STATUS_POLICY_VIOLATION = 1008
STATUS_MESSAGE_TOO_BIG = 1009
STATUS_INVALID_EXTENSION = 1010
STATUS_UNEXPECTED_CONDITION = 1011
STATUS_SERVICE_RESTART = 1012
STATUS_TRY_AGAIN_LATER = 1013
STATUS_BAD_GATEWAY = 1014
STATUS_TLS_HANDSHAKE_ERROR = 1015

VALID_CLOSE_STATUS = (
    STATUS_NORMAL, STATUS_GOING_AWAY, STATUS_PROTOCOL_ERROR, STATUS_UNSUPPORTED_DATA_TYPE,
    STATUS_INVALID_PAYLOAD, STATUS_POLICY_VIOLATION, STATUS_MESSAGE_TOO_BIG,
    STATUS_INVALID_EXTENSION, STATUS_UNEXPECTED_CONDITION, STATUS_SERVICE_RESTART,
    STATUS_TRY_AGAIN_LATER, STATUS_BAD_GATEWAY,
)

#: websocket-client's socket options; the daemon owns the socket, so they are not used.
DEFAULT_SOCKET_OPTION: list[tuple[int, int, int]] = []

_POLL = 0.25  # seconds between looks at keep_running while run_forever waits
_FACE = "websocket"


# ------------------------------------------------------------ exceptions

class WebSocketException(Exception):
    """Base of this face's exceptions, as in websocket-client. Errors the
    daemon answers (:class:`wsbridge.NotFound`, ...) are raised as classes
    that are both theirs and this one's."""


class WebSocketProtocolException(WebSocketException):
    """A frame that breaks the protocol (the daemon checks the real ones)."""


class WebSocketPayloadException(WebSocketException):
    """A payload that is not valid (e.g. text that is not UTF-8)."""


class WebSocketConnectionClosedException(WebSocketException):
    """The connection is closed: by the server, a drop, the app, or the
    daemon is gone."""


class WebSocketTimeoutException(WebSocketException):
    """``recv`` or the connect waited longer than the timeout."""


class WebSocketProxyException(WebSocketException):
    """Proxy trouble (the session's proxy is the daemon's business)."""


class WebSocketBadStatusException(WebSocketException):
    """The handshake failed; never raised by the face (the daemon connects)."""

    def __init__(self, message: str, status_code: int = 0, status_message: Any = None,
                 resp_headers: Any = None, resp_body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.resp_headers = resp_headers
        self.resp_body = resp_body


class WebSocketAddressException(WebSocketException):
    """The URL is not ``wsbridge://SESSION[/CHANNEL]``."""


class _BadAddress(WebSocketAddressException, ValueError):
    """A URL that is not a wsbridge one: both websocket-client's address
    error and the ValueError it raises for malformed URLs."""


def _error(e: BaseException, base: type[BaseException] = WebSocketException) -> BaseException:
    if isinstance(e, DaemonUnreachable):
        return as_face_error(e, WebSocketConnectionClosedException)
    return as_face_error(e, base)


# ------------------------------------------------------------ module functions

_default_timeout: float | None = None
_reconnect_default = 0


def setdefaulttimeout(timeout: float | None) -> None:
    """The timeout of connects and ``recv`` for sockets made afterwards."""
    global _default_timeout
    _default_timeout = timeout


def getdefaulttimeout() -> float | None:
    return _default_timeout


def set_reconnect(reconnectInterval: int) -> None:  # noqa: N803 (named as in websocket-client)
    """The default of ``run_forever(reconnect=)``."""
    global _reconnect_default
    _reconnect_default = reconnectInterval


def enableTrace(traceable: bool, handler: logging.Handler | None = None,  # noqa: N802
                level: str = "DEBUG") -> None:
    """Log what the face does (``wsbridge.*`` loggers) to HANDLER (default:
    stderr). There are no frames to dump: the daemon has them
    (``wsbridgectl`` and the daemon's log show the session)."""
    global _trace
    _trace = bool(traceable)
    logger = logging.getLogger("wsbridge")
    if traceable:
        logger.addHandler(handler if handler is not None else logging.StreamHandler())
        logger.setLevel(getattr(logging, level) if isinstance(level, str) else level)
    else:
        logger.setLevel(logging.ERROR)


_trace = False


def dump(title: str, message: str) -> None:
    if _trace:
        log.debug("--- %s ---\n%s\n-----------------------", title, message)


def error(msg: str) -> None:
    log.error("%s", msg)


def warning(msg: str) -> None:
    log.warning("%s", msg)


def debug(msg: str) -> None:
    log.debug("%s", msg)


def info(msg: str) -> None:
    log.info("%s", msg)


def trace(msg: str) -> None:
    if _trace:
        log.debug("%s", msg)


def isEnabledForError() -> bool:  # noqa: N802
    return log.isEnabledFor(logging.ERROR)


def isEnabledForDebug() -> bool:  # noqa: N802
    return log.isEnabledFor(logging.DEBUG)


def isEnabledForTrace() -> bool:  # noqa: N802
    return _trace


# ------------------------------------------------------------ frames

class ABNF:
    """A frame as websocket-client describes it, and its opcodes."""

    OPCODE_CONT = 0x0
    OPCODE_TEXT = 0x1
    OPCODE_BINARY = 0x2
    OPCODE_CLOSE = 0x8
    OPCODE_PING = 0x9
    OPCODE_PONG = 0xA
    OPCODES = (OPCODE_CONT, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG)
    OPCODE_MAP = {OPCODE_CONT: "cont", OPCODE_TEXT: "text", OPCODE_BINARY: "binary",
                  OPCODE_CLOSE: "close", OPCODE_PING: "ping", OPCODE_PONG: "pong"}
    LENGTH_7 = 0x7E
    LENGTH_16 = 1 << 16
    LENGTH_63 = 1 << 63

    def __init__(self, fin: int = 0, rsv1: int = 0, rsv2: int = 0, rsv3: int = 0,
                 opcode: int = OPCODE_TEXT, mask_value: int = 1,
                 data: str | bytes | None = "") -> None:
        self.fin, self.rsv1, self.rsv2, self.rsv3 = fin, rsv1, rsv2, rsv3
        self.opcode, self.mask_value = opcode, mask_value
        self.data = b"" if data is None else data

    @staticmethod
    def create_frame(data: str | bytes, opcode: int, fin: int = 1) -> ABNF:
        if opcode == ABNF.OPCODE_TEXT and isinstance(data, str):
            data = data.encode("utf-8")
        return ABNF(fin, 0, 0, 0, opcode, 1, data)

    def validate(self, skip_utf8_validation: bool = False) -> None:
        if self.opcode not in ABNF.OPCODES:
            raise WebSocketProtocolException(f"Invalid opcode {self.opcode!r}")

    def __str__(self) -> str:
        return f"fin={self.fin} opcode={self.opcode} data={self.data!r}"


def _payload(data: Any, opcode: int) -> str | bytes:
    if opcode == ABNF.OPCODE_BINARY:
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if opcode == ABNF.OPCODE_TEXT:
        if isinstance(data, str):
            return data
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise WebSocketPayloadException(f"text is not UTF-8: {e}") from None
    raise WebSocketException(f"opcode {opcode:#x}: only text and binary messages can be sent")


def _frame_length(n: int) -> int:
    """What websocket-client's send returns: the bytes of the masked frame
    a client would write for an N-byte payload."""
    return n + 2 + (0 if n < ABNF.LENGTH_7 else 2 if n < ABNF.LENGTH_16 else 8) + 4


def _parse(url: str) -> tuple[str, str]:
    try:
        return parse_url(url)
    except ValueError as e:
        raise _BadAddress(str(e)) from None


def _close_frame(closed: Closed) -> ABNF:
    return ABNF(1, 0, 0, 0, ABNF.OPCODE_CLOSE, 1,
                struct.pack("!H", closed.code) + closed.reason.encode("utf-8"))


def _daemon_socket(value: Any) -> str | None:
    """The daemon's socket from a ``socket=`` option: a path is the daemon's
    socket (a wsbridge extra); a prepared socket object is websocket-client's
    and cannot be used (warned)."""
    if value is None or isinstance(value, (str, os.PathLike)):
        return None if value is None else os.fspath(value)
    warn_once(_FACE, "socket=", _face.SESSION_KEYS["socket"])
    return None


# ------------------------------------------------------------ WebSocket

class WebSocket:
    """websocket-client's low-level WebSocket: one upstream connection of a
    session. ``WebSocket().connect("wsbridge://SESSION[/CHANNEL]")`` (or
    :func:`create_connection`) waits, within the timeout, for the session to
    be open and subscribes with the messages that connection opened with.
    """

    def __init__(self, get_mask_key: Any = None, sockopt: Any = None, sslopt: Any = None,
                 fire_cont_frame: bool = False, enable_multithread: bool = True,
                 skip_utf8_validation: bool = False, **_: Any) -> None:
        warn_options(_FACE, {"get_mask_key": get_mask_key, "sockopt": sockopt,
                             "sslopt": sslopt})
        self.timeout: float | None = getdefaulttimeout()
        self.connected = False
        self.url: str | None = None
        self.session = self.channel = ""
        self.handshake_response = None
        self.get_mask_key = get_mask_key
        self.sticky = False
        self._client: Client | None = None
        self._owns_client = True
        self._link: AsyncLink | None = None
        self._closed: Closed | None = None     # how the connection ended
        self._close_told = False               # the close frame was returned
        self._readlock = threading.Lock()

    # -- connecting

    def connect(self, url: str, **options: Any) -> None:
        """Open the face connection: the session's current upstream connection
        once it is open. ``timeout`` (default: this socket's) bounds the
        wait; ``socket`` may name the daemon's socket; ``sticky=True`` hides
        upstream reconnects. Header, cookie, subprotocol, origin and proxy
        options are the session's (one warning each, naming its key)."""
        session, channel = _parse(url)
        if "timeout" in options:
            self.timeout = options.pop("timeout")
        path = _daemon_socket(options.pop("socket", None))
        self.sticky = bool(options.pop("sticky", False))
        backoff = options.pop("backoff", Backoff())
        client = options.pop("_client", None)
        options.pop("redirect_limit", None)
        options.pop("suppress_origin", None)
        options.pop("skip_utf8_validation", None)
        options.pop("enable_multithread", None)
        options.pop("fire_cont_frame", None)
        options.pop("http_proxy_timeout", None)
        options.pop("class_", None)
        warn_options(_FACE, options)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self.url, self.session, self.channel = url, session, channel
        if client is None:
            try:
                client = Client(path, reconnect=backoff)
            except Error as e:
                raise _error(e) from e
            self._owns_client = True
        else:
            self._owns_client = False
        self._client = client
        try:
            self._link = self._run(self._open(deadline, options.pop("_follow", None)))
        except BaseException:
            self._release()
            raise
        self._closed, self._close_told = None, False
        self.connected = True

    async def _open(self, deadline: float | None, follow: AsyncLink | None) -> AsyncLink:
        assert self._client is not None
        link = AsyncLink(self._client._conn, self.session, self.channel, self.sticky)
        try:
            await link.start(follow)
            opened = await link.wait_open(deadline)
        except Error as e:
            await link.close()
            raise _error(e) from e
        except BaseException:
            await link.close()
            raise
        if opened is True:
            return link
        await link.close()
        if opened is False:
            st = link.status
            raise WebSocketTimeoutException(
                f"session {self.session!r} not open within {self.timeout} s"
                + (f" (it is {st.state}: {st.reason})" if st is not None else ""))
        raise WebSocketConnectionClosedException(opened.reason)

    def _run(self, coro: Any) -> Any:
        assert self._client is not None
        return self._client._run(coro)

    def _release(self) -> None:
        link, self._link = self._link, None
        client = self._client
        if client is None:
            return
        if link is not None and not client._closed:
            try:
                client._run(link.close())
            except Error:
                pass
        if self._owns_client:
            self._client = None
            client.close()

    # -- attributes websocket-client has

    def fileno(self) -> int:
        """A descriptor that select() and selectors see readable while a
        message (or the close) waits to be read."""
        return self._pipe_fd()

    def _pipe_fd(self) -> int:
        if not hasattr(self, "_pipe"):
            r, w = os.pipe()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self._pipe = (r, w)
            if self._link is not None and self._link.sub is not None and self._client:
                feed = self._link.sub._feed
                self._client._loop.call_soon_threadsafe(self._watch, feed)
        return self._pipe[0]

    def _watch(self, feed: Any) -> None:
        """(On the client's loop) write a byte to the pipe whenever items
        arrive for the subscription (every path that queues items wakes it)."""
        w = self._pipe[1]
        old = feed.wake

        def wake() -> None:
            old()
            try:
                os.write(w, b".")
            except OSError:
                pass
        feed.wake = wake
        if feed.items:
            try:
                os.write(w, b".")
            except OSError:
                pass

    def _drain_pipe(self) -> None:
        if hasattr(self, "_pipe"):
            try:
                while os.read(self._pipe[0], 4096):
                    pass
            except OSError:
                pass
            if self._link is not None and self._link.pending():
                try:
                    os.write(self._pipe[1], b".")
                except OSError:
                    pass

    def set_mask_key(self, func: Any) -> None:
        """Accepted with a warning: the daemon masks what it sends."""
        warn_options(_FACE, {"get_mask_key": func})

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def getsubprotocol(self) -> str | None:
        """None: the session's subprotocol (session key ``subprotocols``) is
        negotiated by the daemon and not reported through the socket API."""
        return None

    subprotocol = property(getsubprotocol)

    def getstatus(self) -> int | None:
        """101 while connected (the session's handshake succeeded)."""
        return 101 if self.connected else None

    status = property(getstatus)

    def getheaders(self) -> dict[str, str] | None:
        """{}: the daemon keeps the session's handshake headers."""
        return {} if self.connected else None

    headers = property(getheaders)

    def is_ssl(self) -> bool:
        """Whether the session's URL is wss://."""
        st = self._link.status if self._link is not None else None
        return bool(st is not None and st.url.startswith("wss:"))

    @property
    def sock(self) -> WebSocket | None:
        return self if self.connected else None

    # -- sending

    def send(self, payload: Any, opcode: int = ABNF.OPCODE_TEXT) -> int:
        """Queue PAYLOAD in the session's send queue (sent once it is open);
        returns the length of the frame, as websocket-client does."""
        if opcode in (ABNF.OPCODE_PING, ABNF.OPCODE_PONG):
            return 0  # the daemon keeps the connection alive
        if opcode == ABNF.OPCODE_CLOSE:
            self.close()
            return 0
        if not self.connected or self._client is None:
            raise WebSocketConnectionClosedException("socket is already closed.")
        data = _payload(payload, opcode)
        try:
            self._client.send(self.session, data)
        except DaemonUnreachable as e:
            raise _error(e) from e
        except Error as e:
            raise _error(e) from e
        return _frame_length(len(data.encode("utf-8") if isinstance(data, str) else data))

    def send_text(self, text_data: str) -> int:
        return self.send(text_data, ABNF.OPCODE_TEXT)

    def send_bytes(self, data: bytes | bytearray) -> int:
        return self.send(data, ABNF.OPCODE_BINARY)

    def send_binary(self, payload: bytes) -> int:
        return self.send(payload, ABNF.OPCODE_BINARY)

    def send_frame(self, frame: ABNF) -> int:
        """A whole frame (fin=1) is sent as one message; fragments are not
        (the daemon sends whole messages)."""
        if not frame.fin:
            raise WebSocketProtocolException("fragments cannot be sent through a session")
        return self.send(frame.data, frame.opcode)

    def ping(self, payload: str | bytes = "") -> None:
        """A no-op: the daemon pings (session key ``ping_interval``)."""

    def pong(self, payload: str | bytes = "") -> None:
        """A no-op: the daemon answers the server's pings."""

    # -- receiving

    def _next(self, timeout: float | None) -> Message | Closed | None:
        """The next message or the close; None after TIMEOUT seconds."""
        if self._closed is not None:
            return self._closed
        link, client = self._link, self._client
        if link is None or client is None:
            return Closed(STATUS_NORMAL, "", by_app=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        event = client._run(link.next(deadline))
        self._drain_pipe()
        if isinstance(event, Closed):
            self._closed = event
            self.connected = False
        return event

    def recv_frame(self) -> ABNF:
        """The next frame: a whole message, or the server's close frame
        (once; then WebSocketConnectionClosedException). Subclasses may
        override it, as with websocket-client: the other recv methods call it."""
        with self._readlock:
            if self._close_told or (self._closed is not None and self._closed.by_app):
                raise WebSocketConnectionClosedException("socket is already closed.")
            event = self._next(self.timeout)
            if event is None:
                raise WebSocketTimeoutException(f"no message within {self.timeout} s")
            if isinstance(event, Message):
                opcode = ABNF.OPCODE_BINARY if event.binary else ABNF.OPCODE_TEXT
                return ABNF(1, 0, 0, 0, opcode, 1, event.data)
            self._release()
            if event.error is not None:
                raise _error(event.error) from event.error
            if event.by_app:
                raise WebSocketConnectionClosedException("socket is already closed.")
            self._close_told = True
            if event.code == STATUS_ABNORMAL_CLOSED:
                raise WebSocketConnectionClosedException(
                    f"Connection to remote host was lost. ({event.reason})"
                    if event.reason else "Connection to remote host was lost.")
            return _close_frame(event)

    def recv_data_frame(self, control_frame: bool = False) -> tuple[int, ABNF]:
        """(opcode, frame) of the next message; the server's close arrives
        once as (OPCODE_CLOSE, its close frame)."""
        frame = self.recv_frame()
        return frame.opcode, frame

    def recv_data(self, control_frame: bool = False) -> tuple[int, str | bytes]:
        """(opcode, data) of the next message."""
        opcode, frame = self.recv_data_frame(control_frame)
        return opcode, frame.data

    def recv(self) -> str | bytes:
        """The next message: str for text, bytes for binary; "" for the
        server's close (then WebSocketConnectionClosedException)."""
        opcode, data = self.recv_data()
        if opcode == ABNF.OPCODE_TEXT:
            return data if isinstance(data, str) else data.decode("utf-8")
        if opcode == ABNF.OPCODE_BINARY:
            return data
        return ""

    def __iter__(self) -> Iterator[str | bytes]:
        while True:
            yield self.recv()

    def __next__(self) -> str | bytes:
        return self.recv()

    next = __next__

    # -- closing

    @property
    def close_status(self) -> int | None:
        """How the connection ended (a wsbridge extra): the close code."""
        return self._closed.code if self._closed is not None else None

    def send_close(self, status: int = STATUS_NORMAL, reason: bytes = b"") -> None:
        """Close this face connection (the session's connection stays up for
        the other apps: the status is not sent upstream)."""
        if status < 0 or status >= ABNF.LENGTH_16:
            raise ValueError("code is invalid range")
        self.close(status, reason)

    def close(self, status: int = STATUS_NORMAL, reason: bytes = b"",
              timeout: float | None = 3) -> None:
        """Unsubscribe (the session stays open for the other apps)."""
        if status < 0 or status >= ABNF.LENGTH_16:
            raise ValueError("code is invalid range")
        if self._closed is None:
            text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason
            self._closed = Closed(status, text, by_app=True)
        self.connected = False
        self._release()

    def abort(self) -> None:
        """Wake a thread waiting in recv (it raises the close)."""
        if self.connected:
            self.close()

    def shutdown(self) -> None:
        self.close()

    def __del__(self) -> None:
        pipe = getattr(self, "_pipe", None)
        if pipe is not None:
            for fd in pipe:
                try:
                    os.close(fd)
                except OSError:
                    pass


def create_connection(url: str, timeout: float | None = None, class_: type = WebSocket,
                      **options: Any) -> WebSocket:
    """Connect to ``wsbridge://SESSION[/CHANNEL]`` and return the
    :class:`WebSocket` (see :meth:`WebSocket.connect`). TIMEOUT (default
    :func:`getdefaulttimeout`) bounds the wait for the session to be open and
    each ``recv``."""
    sockopt = options.pop("sockopt", None)
    sslopt = options.pop("sslopt", None)
    fire_cont_frame = options.pop("fire_cont_frame", False)
    enable_multithread = options.pop("enable_multithread", True)
    skip_utf8_validation = options.pop("skip_utf8_validation", False)
    websock = class_(sockopt=sockopt, sslopt=sslopt, fire_cont_frame=fire_cont_frame,
                     enable_multithread=enable_multithread,
                     skip_utf8_validation=skip_utf8_validation, **options)
    websock.settimeout(timeout if timeout is not None else getdefaulttimeout())
    websock.connect(url, **options)
    return websock  # type: ignore[no-any-return]


# ------------------------------------------------------------ WebSocketApp

def _arity(callback: Callable[..., Any]) -> tuple[int | None, bool]:
    """(positional parameters CALLBACK takes, None for *args; is it a bound method)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return None, False
    n = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return None, False
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return n, inspect.ismethod(callback)


class WebSocketApp:
    """websocket-client's WebSocketApp: callbacks around one face connection
    at a time (``self.sock``).

    Callbacks may be given to the constructor or assigned afterwards:
    ``on_open(ws)``, ``on_reconnect(ws)``, ``on_message(ws, message)``,
    ``on_data(ws, data, opcode, fin)``, ``on_error(ws, exception)``,
    ``on_close(ws, code, reason)`` (or ``on_close(ws)``), and the wsbridge
    extras ``on_state(ws, StateChange)`` and ``on_gap(ws, Gap)``.
    ``socket`` may name the daemon's socket; BACKOFF is how long to try
    reconnecting to the daemon (see :class:`wsbridge.Backoff`); STICKY hides
    upstream reconnects (on_open once, on_close only at the end).
    """

    def __init__(self, url: str, header: Any = None,
                 on_open: Callable[..., Any] | None = None,
                 on_reconnect: Callable[..., Any] | None = None,
                 on_message: Callable[..., Any] | None = None,
                 on_error: Callable[..., Any] | None = None,
                 on_close: Callable[..., Any] | None = None,
                 on_ping: Callable[..., Any] | None = None,
                 on_pong: Callable[..., Any] | None = None,
                 on_cont_message: Callable[..., Any] | None = None,
                 keep_running: bool = True, get_mask_key: Any = None, cookie: Any = None,
                 subprotocols: Any = None,
                 on_data: Callable[..., Any] | None = None,
                 socket: Any = None,
                 on_state: Callable[..., Any] | None = None,
                 on_gap: Callable[..., Any] | None = None,
                 backoff: Backoff | None = Backoff(), sticky: bool = False) -> None:
        self.url = url
        self.session, self.channel = _parse(url)
        self.header, self.cookie, self.subprotocols = header, cookie, subprotocols
        self.get_mask_key = get_mask_key
        warn_options(_FACE, {"header": header, "cookie": cookie, "subprotocols": subprotocols,
                             "get_mask_key": get_mask_key})
        self.on_open, self.on_reconnect = on_open, on_reconnect
        self.on_message, self.on_error, self.on_close = on_message, on_error, on_close
        self.on_ping, self.on_pong, self.on_cont_message = on_ping, on_pong, on_cont_message
        self.on_data = on_data
        self.on_state, self.on_gap = on_state, on_gap
        self.keep_running = keep_running
        self.socket_path = _daemon_socket(socket)
        self.prepared_socket = socket if self.socket_path is None else None
        self.backoff, self.sticky = backoff, sticky
        self.sock: WebSocket | None = None
        self.has_errored = False
        self.last_ping_tm = self.last_pong_tm = 0.0
        self.ping_interval: float = 0
        self.ping_timeout: float | None = None
        self.ping_payload = ""
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._running = False

    def _callback(self, callback: Callable[..., Any] | None, *args: Any) -> None:
        if callback is None:
            return
        n, bound = _arity(callback)
        if n is None or n > len(args):
            call_args: tuple[Any, ...] = (self, *args)
        elif bound:
            call_args = args[:n]  # websocket-client < 0.58 called methods without ws
        else:
            call_args = (self, *args)[:n]
        try:
            callback(*call_args)
        except Exception as e:
            log.error("error from callback %r: %s", callback, e)
            if self.on_error is not None and callback is not self.on_error:
                self._callback(self.on_error, e)

    def ready(self) -> bool:
        return bool(self.sock and self.sock.connected)

    def run_forever(self, sockopt: Any = None, sslopt: Any = None,
                    ping_interval: float = 0, ping_timeout: float | None = None,
                    ping_payload: str = "", http_proxy_host: Any = None,
                    http_proxy_port: Any = None, http_no_proxy: Any = None,
                    http_proxy_auth: Any = None, http_proxy_timeout: Any = None,
                    skip_utf8_validation: bool = False, host: Any = None, origin: Any = None,
                    dispatcher: Any = None, suppress_origin: bool = False,
                    proxy_type: Any = None, reconnect: float | None = None) -> bool:
        """Open, call the callbacks, until :meth:`close` (from a callback or
        another thread), the session's connection closes (``on_close`` with
        its code) without RECONNECT, or the daemon is gone for good. With
        RECONNECT (seconds, default :func:`set_reconnect`'s), after each
        close it waits that long, then for the session to be open again, and
        calls ``on_reconnect`` (if set, else ``on_open``) for the new
        connection. Returns False after a close by the app or Ctrl-C, True
        when it ended with an error (as websocket-client)."""
        if reconnect is None:
            reconnect = _reconnect_default
        if ping_timeout is not None and ping_timeout <= 0:
            raise WebSocketException("Ensure ping_timeout > 0")
        if ping_interval is not None and ping_interval < 0:
            raise WebSocketException("Ensure ping_interval >= 0")
        if ping_timeout and ping_interval and ping_interval <= ping_timeout:
            raise WebSocketException("Ensure ping_interval > ping_timeout")
        if self._running:
            raise WebSocketException("socket is already opened")
        warn_options(_FACE, {"sockopt": sockopt, "sslopt": sslopt,
                             "http_proxy_host": http_proxy_host,
                             "http_proxy_port": http_proxy_port,
                             "http_no_proxy": http_no_proxy,
                             "http_proxy_auth": http_proxy_auth, "host": host,
                             "origin": origin, "dispatcher": dispatcher,
                             "proxy_type": proxy_type, "ping_payload": ping_payload or None})
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.ping_payload = ping_payload
        self.keep_running = True
        self.has_errored = False
        self._running = True
        follow: AsyncLink | None = None
        first = True
        try:
            with self._lock:
                try:
                    self._client = Client(self.socket_path, reconnect=self.backoff)
                except Error as e:
                    self.has_errored = True
                    self._callback(self.on_error, _error(e))
                    self._callback(self.on_close, STATUS_ABNORMAL_CLOSED, str(e))
                    return True
            while self.keep_running:
                try:
                    sock = self._open(follow)
                except Exception as e:
                    if first:
                        raise
                    # Reconnecting failed for good (e.g. the session was removed):
                    # on_close was called for the last connection already.
                    self.has_errored = True
                    self._callback(self.on_error, e)
                    break
                follow = None
                if sock is None:
                    break  # closed by the app while waiting
                self.sock = sock
                self._callback(self.on_reconnect if not first and self.on_reconnect
                               else self.on_open)
                first = False
                closed = self._read(sock)
                self.sock = None
                if closed is None:
                    break
                if closed.by_app:
                    self._callback(self.on_close, closed.code, closed.reason)
                    break
                if closed.error is not None or closed.code == STATUS_ABNORMAL_CLOSED:
                    error = (_error(closed.error) if closed.error is not None
                             else WebSocketConnectionClosedException(
                                 f"Connection to remote host was lost. ({closed.reason})"))
                    if closed.error is not None or not reconnect:
                        self.has_errored = True
                        self._callback(self.on_error, error)
                self._callback(self.on_close, closed.code, closed.reason)
                if closed.error is not None or not reconnect:
                    break
                if closed.follows and sock._link is not None:
                    follow, sock._link = sock._link, None
                sock._release()
                self._sleep(reconnect)
        except KeyboardInterrupt as e:
            self._callback(self.on_error, e)
            self._callback(self.on_close, STATUS_NORMAL, "")
        except Exception as e:
            self.has_errored = True
            self._callback(self.on_error, e)
            self._callback(self.on_close, STATUS_ABNORMAL_CLOSED, str(e))
        finally:
            self._teardown(follow)
        return self.has_errored

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.keep_running and time.monotonic() < end:
            time.sleep(min(_POLL, max(0.0, end - time.monotonic())))

    def _open(self, follow: AsyncLink | None) -> WebSocket | None:
        """A connected WebSocket once the session is open, or None when the
        app closed meanwhile."""
        sock = WebSocket()
        sock.sticky = self.sticky
        client = self._client
        assert client is not None
        sock.url, sock.session, sock.channel = self.url, self.session, self.channel
        sock._client, sock._owns_client = client, False
        link = AsyncLink(client._conn, self.session, self.channel, self.sticky)
        try:
            client._run(link.start(follow))
        except Error as e:
            raise _error(e) from e
        sock._link = link
        limit = getdefaulttimeout()
        give_up = None if limit is None else time.monotonic() + limit
        while self.keep_running:
            if give_up is not None and time.monotonic() >= give_up:
                sock._release()
                st = link.status
                raise WebSocketTimeoutException(
                    f"session {self.session!r} not open within {limit} s"
                    + (f" (it is {st.state}: {st.reason})" if st is not None else ""))
            step = _POLL if give_up is None else min(_POLL, give_up - time.monotonic())
            opened = client._run(link.wait_open(time.monotonic() + max(step, 0.0)))
            if opened is True:
                sock.connected = True
                return sock
            if isinstance(opened, Closed):
                if opened.error is not None:
                    raise _error(opened.error)
                break
        sock._release()
        return None

    def _read(self, sock: WebSocket) -> Closed | None:
        """Dispatch messages until the connection closes."""
        while True:
            if not self.keep_running:
                return Closed(STATUS_NORMAL, "", by_app=True)
            event = sock._next(_POLL)
            if event is None:
                continue
            if isinstance(event, Closed):
                return event
            for item in sock._link.link.gaps if sock._link is not None else []:
                self._callback(self.on_gap, item)
            if sock._link is not None:
                sock._link.link.gaps.clear()
                state = sock._link.link.state
                if state is not None:
                    sock._link.link.state = None
                    self._callback(self.on_state, state)
            data = event.data
            opcode = ABNF.OPCODE_BINARY if event.binary else ABNF.OPCODE_TEXT
            self._callback(self.on_data, data, opcode, True)
            self._callback(self.on_message, data)

    def _teardown(self, follow: AsyncLink | None) -> None:
        with self._lock:
            client, self._client = self._client, None
            sock, self.sock = self.sock, None
        self.keep_running = False
        self._running = False
        if sock is not None:
            sock._release()
        if client is not None:
            if follow is not None and not client._closed:
                try:
                    client._run(follow.close())
                except Error:
                    pass
            client.close()

    def send(self, data: Any, opcode: int = ABNF.OPCODE_TEXT) -> int:
        """Send DATA through the session (from any thread, while open)."""
        sock = self.sock
        if sock is None or not sock.connected:
            raise WebSocketConnectionClosedException("Connection is already closed.")
        return sock.send(data, opcode)

    def send_text(self, text_data: str) -> int:
        return self.send(text_data, ABNF.OPCODE_TEXT)

    def send_bytes(self, data: bytes | bytearray) -> int:
        return self.send(data, ABNF.OPCODE_BINARY)

    def close(self, **kwargs: Any) -> None:
        """End run_forever (from a callback or another thread)."""
        self.keep_running = False
        sock = self.sock
        if sock is not None:
            sock.connected = False
