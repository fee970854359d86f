"""A face shaped like asyncio websockets (``import websockets``), over the
asyncio :class:`wsbridge.Connection`.

An app moves onto a shared session by changing its import and its URL::

    import asyncio
    from wsbridge import websockets         # was: import websockets

    async def main():
        async with websockets.connect("wsbridge://demo/eu") as ws:
            await ws.send('{"op": "hello"}')
            async for message in ws:
                print(message)

    asyncio.run(main())

What differs from websockets:

- The URL is ``wsbridge://SESSION[/CHANNEL]`` (channel default ``*``); the
  daemon holds the real connection (URL, headers, TLS, proxies, pings), so
  those arguments of ``connect`` are accepted and ignored.
- Upstream reconnects do not close the connection: messages simply go on.
  It closes when the app closes it (``ConnectionClosedOK``) or when the
  daemon is gone for good (``ConnectionClosedError``, code 1006).
- ``send`` queues the message in the session's send queue (sent once the
  session is open); a full queue raises :class:`wsbridge.QueueFull`.
- ``recv`` returns messages only; :class:`wsbridge.Gap` and
  :class:`wsbridge.StateChange` items are kept in ``ws.gaps`` and
  ``ws.state``, or use ``ws.recv_item()`` to get them in order.
- ``ping`` returns an already completed waiter; there is no ``pong``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator, Generator, Iterable

from .aio import Connection, Subscription
from .backoff import Backoff
from .errors import DaemonUnreachable
from .model import Gap, Item, Message, StateChange
from .url import parse_url

__all__ = ["connect", "WebSocketClientProtocol", "ConnectionClosed", "ConnectionClosedOK",
           "ConnectionClosedError", "InvalidURI", "WebSocketException"]


class WebSocketException(Exception):
    """Base of this face's exceptions, as in websockets."""


class InvalidURI(WebSocketException):
    """The URI is not ``wsbridge://SESSION[/CHANNEL]``."""

    def __init__(self, uri: str, msg: str) -> None:
        super().__init__(f"{uri} isn't a valid URI: {msg}")
        self.uri = uri


class ConnectionClosed(WebSocketException):
    """The connection is closed; ``code`` and ``reason`` say how."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"connection closed: {code} {reason}".rstrip())
        self.code, self.reason = code, reason


class ConnectionClosedOK(ConnectionClosed):
    """Closed by the app (code 1000)."""


class ConnectionClosedError(ConnectionClosed):
    """The daemon is gone for good (code 1006)."""


class WebSocketClientProtocol:
    """websockets' client connection over one wsbridge subscription."""

    def __init__(self, conn: Connection, sub: Subscription, session: str, channel: str) -> None:
        self._conn, self._sub = conn, sub
        self.session, self.channel = session, channel
        self.gaps: list[Gap] = []
        self.state: StateChange | None = None
        self._closed: ConnectionClosed | None = None

    @property
    def open(self) -> bool:
        return self._closed is None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    @property
    def close_code(self) -> int | None:
        return self._closed.code if self._closed else None

    @property
    def close_reason(self) -> str | None:
        return self._closed.reason if self._closed else None

    async def recv_item(self) -> Item:
        """The next Message, Gap or StateChange (wsbridge's own items)."""
        if self._closed is not None:
            raise self._closed
        try:
            return await self._sub.__anext__()
        except StopAsyncIteration:
            await self._close(ConnectionClosedOK(1000, ""))
        except DaemonUnreachable as e:
            await self._close(ConnectionClosedError(1006, str(e)))
        raise self._closed  # type: ignore[misc]

    async def recv(self) -> str | bytes:
        """The next message: str for text, bytes for binary. Cancelling it
        loses nothing: the message stays for the next recv."""
        while True:
            item = await self.recv_item()
            if isinstance(item, Message):
                return item.data
            if isinstance(item, Gap):
                self.gaps.append(item)
            else:
                self.state = item

    async def send(self, message: str | bytes | Iterable[str | bytes]) -> None:
        """Send a message (str: text, bytes: binary); an iterable of str or
        bytes is sent as one message, as websockets sends fragments."""
        if self._closed is not None:
            raise self._closed
        if not isinstance(message, (str, bytes, bytearray, memoryview)):
            parts = list(message)
            if parts and all(isinstance(p, str) for p in parts):
                message = "".join(parts)  # type: ignore[arg-type]
            elif all(isinstance(p, (bytes, bytearray, memoryview)) for p in parts):
                message = b"".join(parts)  # type: ignore[arg-type]
            else:
                raise TypeError("a fragmented message is all str or all bytes")
        try:
            await self._conn.send(self.session, message)
        except DaemonUnreachable as e:
            await self._close(ConnectionClosedError(1006, str(e)))
            raise self._closed from e  # type: ignore[misc]

    async def ping(self, data: str | bytes | None = None) -> asyncio.Future[None]:
        """Nothing to do (the daemon keeps the connection alive): returns a
        completed waiter."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Unsubscribe and close the connection to the daemon."""
        await self._close(ConnectionClosedOK(code, reason))

    async def _close(self, why: ConnectionClosed) -> None:
        if self._closed is None:
            self._closed = why
            await self._sub.aclose()
            await self._conn.close()

    async def wait_closed(self) -> None:
        """Returns once closed (wsbridge closes at once)."""

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[str | bytes]:
        """Messages until the connection is closed normally (ConnectionClosedError
        propagates)."""
        while True:
            try:
                yield await self.recv()
            except ConnectionClosedOK:
                return

    async def __aenter__(self) -> WebSocketClientProtocol:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


#: websockets ≥ 10 also calls the client connection this.
ClientConnection = WebSocketClientProtocol


class connect:  # noqa: N801 (named as in websockets)
    """``websockets.connect(uri)``: await it, or use it with ``async with``.
    SOCKET is the daemon's socket (default: as wsbridgectl), BACKOFF how
    long to try reconnecting to it (see :class:`wsbridge.Backoff`) before the
    connection closes with ConnectionClosedError; websockets' other
    arguments are accepted and ignored."""

    def __init__(self, uri: str, *, socket: str | os.PathLike[str] | None = None,
                 backoff: Backoff | None = Backoff(), **kwargs: Any) -> None:
        try:
            self.session, self.channel = parse_url(uri)
        except ValueError as e:
            raise InvalidURI(uri, str(e)) from None
        self.uri, self._socket, self._backoff = uri, socket, backoff
        self._ws: WebSocketClientProtocol | None = None

    async def _open(self) -> WebSocketClientProtocol:
        conn = await Connection(self._socket, reconnect=self._backoff)._open()
        try:
            sub = await conn.subscribe(self.session, self.channel)
        except BaseException:
            await conn.close()
            raise
        return WebSocketClientProtocol(conn, sub, self.session, self.channel)

    def __await__(self) -> Generator[Any, None, WebSocketClientProtocol]:
        return self._open().__await__()

    async def __aenter__(self) -> WebSocketClientProtocol:
        self._ws = await self._open()
        return self._ws

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
