"""websockets' asyncio client (``websockets.asyncio.client``) over a wsbridge
session: :func:`connect` and :class:`ClientConnection`.

One :class:`ClientConnection` is one upstream connection of the session: it
opens when the session is open (first receiving what the server said when
that connection opened) and closes with it, raising
:exc:`~wsbridge.websockets.exceptions.ConnectionClosedOK` or
:exc:`~wsbridge.websockets.exceptions.ConnectionClosedError` with the
server's close frame in ``rcvd`` (``None`` for a drop, 1006). The reconnect
iterator ``async for websocket in connect(uri)`` yields a fresh connection for
each upstream connection, so the app's own subscribe-on-open code runs again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from typing import Any, AsyncIterable, AsyncIterator, Callable, Generator, Iterable

from ... import _face
from ..._face import AsyncLink, Closed, as_face_error, warn_options
from ...aio import Connection
from ...backoff import Backoff
from ...errors import DaemonUnreachable, Error
from ...model import Gap, Message, StateChange
from ...url import parse_url
from ..exceptions import (ConcurrencyError, ConnectionClosed, InvalidHandshake, InvalidURI,
                          WebSocketException, closed)
from ..frames import Close
from ..protocol import State

__all__ = ["connect", "unix_connect", "ClientConnection", "process_exception",
           "Handshake"]

_FACE = "websockets"
USER_AGENT = "wsbridge"

log = logging.getLogger("wsbridge.websockets")


def face_error(e: BaseException, connecting: bool = False) -> BaseException:
    """A daemon error as one of this face's exceptions (keeping its own class)."""
    if isinstance(e, DaemonUnreachable):
        return as_face_error(e, WebSocketException)
    return as_face_error(e, InvalidHandshake if connecting else WebSocketException)


def exception_for(c: Closed) -> ConnectionClosed:
    """The ConnectionClosed subclass websockets raises for close C."""
    if c.by_app:
        frame = Close(c.code, c.reason)
        return closed(frame, frame, False)
    if c.code == 1006:
        return closed(None, None, None, why=c.reason)
    frame = Close(c.code, c.reason)
    return closed(frame, frame, True)


def _parse(uri: str) -> tuple[str, str]:
    try:
        return parse_url(uri)
    except ValueError as e:
        raise InvalidURI(uri, str(e)) from None


class ClientConnection:
    """websockets' ClientConnection over one upstream connection of a session.

    ``state`` is :class:`~wsbridge.websockets.protocol.State` (OPEN, then
    CLOSED), ``close_code``/``close_reason`` how it ended, ``latency`` the
    session's last ping round trip (s), ``subprotocol`` None (the session's
    is not reported), ``gaps`` the :class:`wsbridge.Gap` items met (wsbridge
    extra) and ``session_state`` the last :class:`wsbridge.StateChange`.
    """

    def __init__(self, conn: Connection, link: AsyncLink, *, owns_conn: bool = True,
                 logger: Any = None) -> None:
        self._conn, self._link, self._owns_conn = conn, link, owns_conn
        self.session, self.channel = link.session, link.channel
        self.id = uuid.uuid4()
        self.logger = logger if logger is not None else log
        # The daemon made the handshake; what the face can say about it.
        self.request: Any = Handshake(path=f"/{link.channel}", headers={})
        self.response: Any = Handshake(status_code=101, reason_phrase="Switching Protocols",
                                       headers={})
        self.local_address: Any = None
        self.remote_address: Any = None
        self.ping_interval = self.ping_timeout = None
        self.close_timeout: float | None = 10
        self._closed: Closed | None = None
        self._reading = False
        self._closed_waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- attributes

    @property
    def state(self) -> State:
        return State.OPEN if self._closed is None else State.CLOSED

    @property
    def latency(self) -> float:
        st = self._link.status
        return st.rtt_us / 1e6 if st is not None else 0.0

    @property
    def subprotocol(self) -> str | None:
        return None

    @property
    def close_code(self) -> int | None:
        return self._closed.code if self._closed is not None else None

    @property
    def close_reason(self) -> str | None:
        return self._closed.reason if self._closed is not None else None

    @property
    def open(self) -> bool:
        """Legacy API: is the connection open?"""
        return self._closed is None

    @property
    def closed(self) -> bool:
        """Legacy API: is the connection closed?"""
        return self._closed is not None

    @property
    def gaps(self) -> list[Gap]:
        return self._link.link.gaps

    @property
    def session_state(self) -> StateChange | None:
        return self._link.link.state

    # -- receiving

    def _exc(self) -> ConnectionClosed:
        assert self._closed is not None
        return exception_for(self._closed)

    async def _ended(self, c: Closed) -> None:
        if self._closed is None:
            self._closed = c
            if not self._closed_waiter.done():
                self._closed_waiter.set_result(None)
            if not c.follows:  # a follower may go on with the subscription
                await self._release()

    async def _release(self) -> None:
        await self._link.close()
        if self._owns_conn:
            await self._conn.close()

    async def _next(self, deadline: float | None) -> Message | None:
        if self._closed is not None:
            raise self._exc()
        if self._reading:
            raise ConcurrencyError("cannot call recv while another coroutine is already "
                                   "running recv or recv_streaming")
        self._reading = True
        try:
            event = await self._link.next(deadline)
        finally:
            self._reading = False
        if event is None:
            return None
        if isinstance(event, Closed):
            await self._ended(event)
            if event.error is not None:
                raise self._exc() from face_error(event.error)
            raise self._exc()
        return event

    async def recv(self, decode: bool | None = None) -> str | bytes:
        """The next message: str for text, bytes for binary (DECODE True or
        False converts). Raises ConnectionClosed* once the connection is
        closed. Cancelling it loses nothing."""
        message = await self._next(None)
        assert message is not None
        return _decoded(message.data, decode)

    async def recv_streaming(self, decode: bool | None = None) -> AsyncIterator[str | bytes]:
        """The next message as fragments: the whole message as one."""
        yield await self.recv(decode)

    async def __aiter__(self) -> AsyncIterator[str | bytes]:
        """Messages until the connection closes: ends at ConnectionClosedOK,
        raises ConnectionClosedError."""
        from ..exceptions import ConnectionClosedOK
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    # -- sending

    async def send(self, message: Any, text: bool | None = None) -> None:
        """Send a message (str: text, bytes: binary, TEXT forces either); an
        iterable or async iterable of str or bytes is sent as one message,
        as websockets sends its fragments."""
        if self._closed is not None:
            raise self._exc()
        if isinstance(message, (str, bytes, bytearray, memoryview)):
            data: str | bytes = message if isinstance(message, str) else bytes(message)
        elif isinstance(message, dict):
            raise TypeError("data is a dict-like object")
        else:
            if isinstance(message, AsyncIterable):
                parts = [p async for p in message]
            elif isinstance(message, Iterable):
                parts = list(message)
            else:
                raise TypeError("data must be str, bytes, or iterable")
            if parts and all(isinstance(p, str) for p in parts):
                data = "".join(parts)
            elif all(isinstance(p, (bytes, bytearray, memoryview)) for p in parts):
                data = b"".join(bytes(p) for p in parts)
            else:
                raise TypeError("iterable must contain bytes or str")
        if text is True and isinstance(data, bytes):
            data = data.decode("utf-8")
        elif text is False and isinstance(data, str):
            data = data.encode("utf-8")
        try:
            await self._conn.send(self.session, data)
        except DaemonUnreachable as e:
            await self._ended(Closed(1006, str(e), e))
            raise self._exc() from face_error(e)
        except Error as e:
            raise face_error(e) from e

    async def ping(self, data: Any = None) -> asyncio.Future[float]:
        """The daemon pings the server (session key ``ping_interval``): this
        asks the daemon for the session's last round trip (``latency``) and
        returns a waiter already done with it."""
        if self._closed is not None:
            raise self._exc()
        try:
            self._link.link.status = await self._conn.status(self.session)
        except Error as e:
            raise face_error(e) from e
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        fut.set_result(self.latency)
        return fut

    async def pong(self, data: Any = b"") -> None:
        """A no-op: the daemon answers the server's pings."""
        if self._closed is not None:
            raise self._exc()

    # -- closing

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close this face connection (unsubscribe); the session's connection
        stays up for the other apps, so CODE is not sent upstream."""
        if self._closed is None:
            self._closed = Closed(code, reason, by_app=True)
            if not self._closed_waiter.done():
                self._closed_waiter.set_result(None)
        await self._release()

    async def wait_closed(self) -> None:
        """Until the connection is closed."""
        await asyncio.shield(self._closed_waiter)

    async def __aenter__(self) -> ClientConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Handshake:
    """``request``/``response`` of a connection: the daemon made the real
    handshake (its headers are the session's ``headers`` key), so
    ``headers`` is empty."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.body = b""


def _decoded(data: str | bytes, decode: bool | None) -> str | bytes:
    if decode is True and isinstance(data, bytes):
        return data.decode("utf-8")
    if decode is False and isinstance(data, str):
        return data.encode("utf-8")
    return data


#: The legacy name of the client connection.
WebSocketClientProtocol = ClientConnection


def process_exception(exc: Exception) -> Exception | None:
    """What the reconnect iterator retries (returns None for): the daemon not
    reachable yet, the session not open within open_timeout."""
    if isinstance(exc, (DaemonUnreachable, TimeoutError, asyncio.TimeoutError, OSError)):
        return None
    return exc


_CONNECT_OPTIONS = ("origin", "extensions", "subprotocols", "additional_headers",
                    "extra_headers", "proxy_ssl", "ssl", "sock", "server_hostname",
                    "host", "port")


class connect:  # noqa: N801 (named as in websockets)
    """``websockets.connect(uri)`` for ``wsbridge://SESSION[/CHANNEL]``:
    ``await`` it, use it with ``async with``, or iterate it (``async for
    websocket in connect(uri)``) for a new connection after each one closes.

    OPEN_TIMEOUT bounds the wait for the session to be open (TimeoutError).
    ``socket`` names the daemon's socket (default as wsbridgectl), BACKOFF how
    long to try reconnecting to the daemon, STICKY hides upstream reconnects
    (the connection stays open across them). Options that the shared session
    decides (``additional_headers``, ``subprotocols``, ``origin``, ...) give
    one warning each naming the session key; keepalive and buffer options
    are the daemon's (no-ops).
    """

    def __init__(self, uri: str, *, origin: Any = None, extensions: Any = None,
                 subprotocols: Any = None, compression: str | None = "deflate",
                 additional_headers: Any = None, user_agent_header: str | None = USER_AGENT,
                 proxy: Any = True,
                 process_exception: Callable[[Exception], Exception | None] = process_exception,
                 open_timeout: float | None = 10, ping_interval: float | None = 20,
                 ping_timeout: float | None = 20, close_timeout: float | None = 10,
                 reconnect_delays: Any = None,
                 max_size: Any = 2**20, max_queue: Any = 16, write_limit: Any = 2**15,
                 logger: Any = None, create_connection: Any = None,
                 socket: str | os.PathLike[str] | None = None,
                 backoff: Backoff | None = Backoff(), sticky: bool = False,
                 **kwargs: Any) -> None:
        self.uri = uri
        self.session, self.channel = _parse(uri)
        options = {"origin": origin, "extensions": extensions, "subprotocols": subprotocols,
                   "additional_headers": additional_headers,
                   "compression": None if compression == "deflate" else "none",
                   "user_agent_header": (None if user_agent_header == USER_AGENT
                                         else user_agent_header),
                   "proxy": None if proxy is True else (proxy or "none")}
        for key in _CONNECT_OPTIONS:
            if key in kwargs:
                options[key] = kwargs.pop(key)
        if kwargs.pop("extra_headers", None) is not None:
            options["extra_headers"] = True
        warn_options(_FACE, options)
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.process_exception = process_exception
        self.reconnect_delays = reconnect_delays
        self.logger = logger
        self.create_connection = create_connection or ClientConnection
        self._socket, self._backoff, self.sticky = socket, backoff, sticky
        self._ws: ClientConnection | None = None

    async def _open(self, conn: Connection | None = None, follow: AsyncLink | None = None,
                    deadline: float | None = None) -> ClientConnection:
        """A ClientConnection once the session is open; over CONN (the
        iterator's connection to the daemon) or a connection of its own."""
        owns = conn is None
        if conn is None:
            try:
                conn = await Connection(self._socket, reconnect=self._backoff)._open()
            except Error as e:
                raise face_error(e, connecting=True) from e
        link = AsyncLink(conn, self.session, self.channel, self.sticky)
        try:
            try:
                await link.start(follow)
                opened = await link.wait_open(deadline)
            except Error as e:
                raise face_error(e, connecting=True) from e
            if opened is False:
                st = link.status
                raise TimeoutError(f"session {self.session!r} not open within "
                                   f"{self.open_timeout} s"
                                   + (f" (it is {st.state}: {st.reason})" if st else ""))
            if isinstance(opened, Closed):
                raise (face_error(opened.error, connecting=True) if opened.error is not None
                       else exception_for(opened))
        except BaseException:
            await link.close()
            if owns:
                await conn.close()
            raise
        ws = self.create_connection(conn, link, owns_conn=owns, logger=self.logger)
        assert isinstance(ws, ClientConnection)
        return ws

    def _deadline(self) -> float | None:
        return None if self.open_timeout is None else time.monotonic() + self.open_timeout

    def __await__(self) -> Generator[Any, None, ClientConnection]:
        return self._open(deadline=self._deadline()).__await__()

    async def __aenter__(self) -> ClientConnection:
        self._ws = await self._open(deadline=self._deadline())
        return self._ws

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def __aiter__(self) -> AsyncIterator[ClientConnection]:
        """A connection for each upstream connection of the session: the
        next one opens when the session is open again."""
        backoff = self._backoff or Backoff()
        attempt = 0
        conn: Connection | None = None
        follow: AsyncLink | None = None
        try:
            while True:
                try:
                    if conn is None:
                        try:
                            conn = await Connection(self._socket,
                                                    reconnect=self._backoff)._open()
                        except Error as e:
                            raise face_error(e, connecting=True) from e
                    ws = await self._open(conn, follow)
                    follow = None
                except Exception as exc:
                    new_exc = self.process_exception(exc)
                    if new_exc is exc:
                        raise
                    if new_exc is not None:
                        raise new_exc from exc
                    if conn is not None and conn._dead is not None:
                        await conn.close()
                        conn = None
                    delay = backoff.delay(attempt)
                    attempt += 1
                    log.info("connect failed; reconnecting in %.1f seconds: %s", delay, exc)
                    await asyncio.sleep(delay)
                    continue
                attempt = 0
                try:
                    yield ws
                finally:
                    c = ws._closed
                    if c is not None and c.follows and ws._link.sub is not None:
                        follow = ws._link          # the next connection goes on from here
                    else:
                        await ws.close()
                        follow = None
                    if c is not None and c.error is not None:
                        await conn.close()
                        conn = None
        finally:
            if follow is not None:
                await follow.close()
            if conn is not None:
                await conn.close()


def unix_connect(path: str | None = None, uri: str | None = None, **kwargs: Any) -> connect:
    """websockets' ``unix_connect``: PATH is taken as the daemon's socket
    (the session's upstream is the daemon's business); URI is required."""
    if uri is None:
        raise InvalidURI("", "unix_connect needs a wsbridge://SESSION URI")
    return connect(uri, socket=path, **kwargs)
