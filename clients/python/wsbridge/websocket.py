"""A face shaped like websocket-client (``import websocket``), over the
blocking :class:`wsbridge.Client`.

An app moves onto a shared session by changing its import and its URL::

    from wsbridge import websocket          # was: import websocket

    def on_message(ws, message):
        print(message)

    ws = websocket.WebSocketApp("wsbridge://demo/eu", on_message=on_message)
    ws.run_forever()

What differs from websocket-client:

- The URL is ``wsbridge://SESSION[/CHANNEL]`` (channel default ``*``); the
  daemon holds the real connection, its URL, headers, TLS and proxy settings.
- ``on_open`` fires once, when the subscription is made; ``on_close`` fires
  when the app closes or the daemon is gone for good (the client gave up
  reconnecting), not at upstream reconnects, which the daemon hides. The
  optional ``on_state(ws, state_change)`` callback sees them, and
  ``on_gap(ws, gap)`` every :class:`wsbridge.Gap` (messages that will never
  come); websocket-client has neither.
- ``send`` queues the message in the session's send queue (sent once the
  session is open) and returns the number of bytes of the payload.
- Pings, pongs, masks, cookies, headers, ``sslopt``, proxies and ``reconnect``
  are the daemon's business: those arguments are accepted and ignored.
- ``on_close`` is called as ``on_close(ws, code, reason)`` or, for callbacks
  taking fewer arguments (older websocket-client), ``on_close(ws)``; the code
  is 1000 when the app closed, 1006 when the daemon is gone.
"""

from __future__ import annotations

import inspect
import logging
import threading
from typing import Any, Callable

from .backoff import Backoff
from .client import Client, Subscription
from .errors import DaemonUnreachable, Error
from .model import Gap, Message, StateChange
from .url import parse_url

__all__ = ["WebSocketApp", "WebSocket", "create_connection", "ABNF", "WebSocketException",
           "WebSocketConnectionClosedException", "WebSocketTimeoutException",
           "WebSocketAddressException", "STATUS_NORMAL", "STATUS_ABNORMAL_CLOSED"]

log = logging.getLogger("wsbridge.websocket")

STATUS_NORMAL = 1000
STATUS_ABNORMAL_CLOSED = 1006
_POLL = 0.5  # seconds between looks at keep_running while run_forever waits


class ABNF:
    """The opcodes, as websocket-client names them."""

    OPCODE_CONT = 0x0
    OPCODE_TEXT = 0x1
    OPCODE_BINARY = 0x2
    OPCODE_CLOSE = 0x8
    OPCODE_PING = 0x9
    OPCODE_PONG = 0xA


class WebSocketException(Exception):
    """Base of this face's exceptions, as in websocket-client."""


class WebSocketConnectionClosedException(WebSocketException):
    """The connection is closed (by the app, or the daemon is gone)."""


class WebSocketTimeoutException(WebSocketException):
    """``recv`` waited longer than the timeout."""


class WebSocketAddressException(WebSocketException):
    """The URL is not ``wsbridge://SESSION[/CHANNEL]``."""


def _parse(url: str) -> tuple[str, str]:
    try:
        return parse_url(url)
    except ValueError as e:
        raise WebSocketAddressException(str(e)) from None


def _payload(data: str | bytes, opcode: int) -> str | bytes:
    if opcode == ABNF.OPCODE_BINARY:
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if opcode == ABNF.OPCODE_TEXT:
        return data if isinstance(data, str) else bytes(data).decode("utf-8")
    raise WebSocketException(f"opcode {opcode:#x}: only text and binary messages can be sent")


def _send(client: Client, session: str, data: str | bytes, opcode: int) -> int:
    payload = _payload(data, opcode)
    try:
        client.send(session, payload)
    except DaemonUnreachable as e:
        raise WebSocketConnectionClosedException(str(e)) from e
    except Error as e:
        raise WebSocketException(str(e)) from e
    return len(payload.encode("utf-8") if isinstance(payload, str) else payload)


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
    """websocket-client's WebSocketApp over a wsbridge subscription.

    Callbacks may be given to the constructor or assigned afterwards
    (``ws.on_message = f``): ``on_open(ws)``, ``on_message(ws, message)``,
    ``on_data(ws, data, opcode, fin)``, ``on_error(ws, exception)``,
    ``on_close(ws, code, reason)`` (or ``on_close(ws)``), and the extra
    ``on_state(ws, StateChange)`` and ``on_gap(ws, Gap)``. SOCKET is the
    daemon's socket (default: as wsbridgectl), BACKOFF how long to try
    reconnecting to it (see :class:`wsbridge.Backoff`) before on_close.
    """

    def __init__(self, url: str, header: Any = None,
                 on_open: Callable[..., Any] | None = None,
                 on_message: Callable[..., Any] | None = None,
                 on_error: Callable[..., Any] | None = None,
                 on_close: Callable[..., Any] | None = None,
                 on_ping: Callable[..., Any] | None = None,
                 on_pong: Callable[..., Any] | None = None,
                 on_cont_message: Callable[..., Any] | None = None,
                 keep_running: bool = True, get_mask_key: Any = None, cookie: Any = None,
                 subprotocols: Any = None,
                 on_data: Callable[..., Any] | None = None,
                 on_reconnect: Callable[..., Any] | None = None,
                 on_state: Callable[..., Any] | None = None,
                 on_gap: Callable[..., Any] | None = None,
                 socket: str | None = None, backoff: Backoff | None = Backoff()) -> None:
        self.url = url
        self.session, self.channel = _parse(url)
        self.header, self.cookie, self.subprotocols = header, cookie, subprotocols
        self.on_open, self.on_message, self.on_error, self.on_close = (
            on_open, on_message, on_error, on_close)
        self.on_ping, self.on_pong, self.on_cont_message = on_ping, on_pong, on_cont_message
        self.on_data, self.on_reconnect = on_data, on_reconnect
        self.on_state, self.on_gap = on_state, on_gap
        self.keep_running = keep_running
        self.socket_path, self.backoff = socket, backoff
        self.sock: WebSocket | None = None
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._sub: Subscription | None = None

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

    def run_forever(self, **options: Any) -> bool:
        """Subscribe and call the callbacks until :meth:`close` (from a callback
        or another thread) or until the daemon is gone for good. Returns False
        after a close or Ctrl-C, True when it ended with an error. The options
        of websocket-client (ping_interval, sslopt, ...) are ignored."""
        if self._client is not None:
            raise WebSocketException("socket is already opened")
        self.keep_running = True
        code, reason, failed = STATUS_NORMAL, "", False
        try:
            with self._lock:
                self._client = Client(self.socket_path, reconnect=self.backoff)
                self._sub = self._client.subscribe(self.session, self.channel)
                self.sock = WebSocket(self._client, self._sub, self.session)
            self._callback(self.on_open)
            while self.keep_running:
                try:
                    item = self._sub.get(_POLL)
                except TimeoutError:
                    continue
                except StopIteration:
                    break
                self._dispatch(item)
        except KeyboardInterrupt as e:
            self._callback(self.on_error, e)
        except Exception as e:
            failed = True
            code, reason = STATUS_ABNORMAL_CLOSED, str(e)
            self._callback(self.on_error, e)
        finally:
            self._teardown()
        self._callback(self.on_close, code, reason)
        return failed

    def _dispatch(self, item: Message | Gap | StateChange) -> None:
        if isinstance(item, Message):
            data = item.data
            opcode = ABNF.OPCODE_BINARY if item.binary else ABNF.OPCODE_TEXT
            self._callback(self.on_data, data, opcode, True)
            self._callback(self.on_message, data)
        elif isinstance(item, Gap):
            self._callback(self.on_gap, item)
        else:
            self._callback(self.on_state, item)

    def _teardown(self) -> None:
        with self._lock:
            client, self._client, self._sub, self.sock = self._client, None, None, None
        self.keep_running = False
        if client is not None:
            client.close()

    def send(self, data: str | bytes, opcode: int = ABNF.OPCODE_TEXT) -> int:
        """Send DATA through the session (from any thread, while run_forever runs)."""
        with self._lock:
            client = self._client
        if client is None:
            raise WebSocketConnectionClosedException("the connection is not open")
        return _send(client, self.session, data, opcode)

    def close(self, **kwargs: Any) -> None:
        """End run_forever (from a callback or another thread)."""
        self.keep_running = False
        with self._lock:
            sub = self._sub
        if sub is not None:
            sub.close()


class WebSocket:
    """What :func:`create_connection` returns: websocket-client's WebSocket
    with ``send``, ``recv``, ``recv_data``, ``close``, and iteration. ``recv``
    returns messages only; gaps and state changes are kept in ``gaps`` and
    ``state``."""

    def __init__(self, client: Client, sub: Subscription, session: str,
                 timeout: float | None = None, owns_client: bool = False) -> None:
        self._client, self._sub, self.session = client, sub, session
        self.timeout = timeout
        self._owns_client = owns_client
        self.connected = True
        self.gaps: list[Gap] = []
        self.state: StateChange | None = None

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def getstatus(self) -> int:
        return 101

    def send(self, payload: str | bytes, opcode: int = ABNF.OPCODE_TEXT) -> int:
        if not self.connected:
            raise WebSocketConnectionClosedException("the connection is closed")
        return _send(self._client, self.session, payload, opcode)

    def send_binary(self, payload: bytes) -> int:
        return self.send(payload, ABNF.OPCODE_BINARY)

    def ping(self, payload: str | bytes = "") -> None:
        """A no-op: the daemon keeps the connection alive."""

    def pong(self, payload: str | bytes = "") -> None:
        """A no-op: the daemon answers the server's pings."""

    def recv_data(self, control_frame: bool = False) -> tuple[int, str | bytes]:
        """(opcode, data) of the next message."""
        while True:
            if not self.connected:
                raise WebSocketConnectionClosedException("the connection is closed")
            try:
                item = self._sub.get(self.timeout)
            except TimeoutError:
                raise WebSocketTimeoutException(f"no message within {self.timeout} s") from None
            except StopIteration:
                self.connected = False
                raise WebSocketConnectionClosedException("the connection is closed") from None
            except DaemonUnreachable as e:
                self.connected = False
                raise WebSocketConnectionClosedException(str(e)) from e
            if isinstance(item, Message):
                return (ABNF.OPCODE_BINARY if item.binary else ABNF.OPCODE_TEXT), item.data
            if isinstance(item, Gap):
                self.gaps.append(item)
            else:
                self.state = item

    def recv(self) -> str | bytes:
        """The next message: str for text, bytes for binary."""
        return self.recv_data()[1]

    def __iter__(self) -> WebSocket:
        return self

    def __next__(self) -> str | bytes:
        return self.recv()

    next = __next__

    def close(self, status: int = STATUS_NORMAL, reason: bytes = b"", timeout: float = 3) -> None:
        """Unsubscribe (and close the daemon connection create_connection made)."""
        if not self.connected:
            return
        self.connected = False
        self._sub.close()
        if self._owns_client:
            self._client.close()

    shutdown = abort = close


def create_connection(url: str, timeout: float | None = None, socket: str | None = None,
                      **options: Any) -> WebSocket:
    """Subscribe to ``wsbridge://SESSION[/CHANNEL]`` and return a
    :class:`WebSocket`; TIMEOUT applies to ``recv``. Other websocket-client
    options are ignored."""
    session, channel = _parse(url)
    try:
        client = Client(socket)
    except DaemonUnreachable as e:
        raise WebSocketConnectionClosedException(str(e)) from e
    try:
        sub = client.subscribe(session, channel)
    except BaseException:
        client.close()
        raise
    return WebSocket(client, sub, session, timeout, owns_client=True)
