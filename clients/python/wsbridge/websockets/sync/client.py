"""websockets' threading client (``websockets.sync.client``) over a wsbridge
session: :func:`connect` returns a :class:`ClientConnection`, one upstream
connection of the session (see :mod:`wsbridge.websockets.asyncio.client`),
over the blocking :class:`wsbridge.Client`."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from typing import Any, Iterable, Iterator

from ..._face import AsyncLink, Closed, warn_options
from ...backoff import Backoff
from ...client import Client
from ...errors import DaemonUnreachable, Error
from ...model import Gap, StateChange
from ..asyncio.client import (USER_AGENT, _CONNECT_OPTIONS, Handshake, _decoded, _parse,
                              exception_for, face_error)
from ..exceptions import ConcurrencyError, ConnectionClosed, ConnectionClosedOK
from ..protocol import State

__all__ = ["connect", "unix_connect", "ClientConnection"]

_FACE = "websockets"
log = logging.getLogger("wsbridge.websockets")


class ClientConnection:
    """websockets' threading ClientConnection over one upstream connection of
    a session (attributes as the asyncio one's)."""

    def __init__(self, client: Client, link: AsyncLink, logger: Any = None) -> None:
        self._client, self._link = client, link
        self.session, self.channel = link.session, link.channel
        self.id = uuid.uuid4()
        self.logger = logger if logger is not None else log
        # The daemon made the handshake; what the face can say about it.
        self.request: Any = Handshake(path=f"/{link.channel}", headers={})
        self.response: Any = Handshake(status_code=101, reason_phrase="Switching Protocols",
                                       headers={})
        self.socket: Any = None
        self.local_address: Any = None
        self.remote_address: Any = None
        self._closed: Closed | None = None
        self._reading = threading.Lock()
        self._done = threading.Event()

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
    def gaps(self) -> list[Gap]:
        return self._link.link.gaps

    @property
    def session_state(self) -> StateChange | None:
        return self._link.link.state

    def _exc(self) -> ConnectionClosed:
        assert self._closed is not None
        return exception_for(self._closed)

    def _release(self) -> None:
        if not self._client._closed:
            try:
                self._client._run(self._link.close())
            except Error:
                pass
            self._client.close()
        self._done.set()

    def recv(self, timeout: float | None = None, decode: bool | None = None) -> str | bytes:
        """The next message; TimeoutError after TIMEOUT seconds (total);
        ConnectionClosed* once the connection is closed."""
        if self._closed is not None:
            raise self._exc()
        if not self._reading.acquire(blocking=False):
            raise ConcurrencyError("cannot call recv while another thread is already "
                                   "running recv or recv_streaming")
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            event = self._client._run(self._link.next(deadline))
        finally:
            self._reading.release()
        if event is None:
            raise TimeoutError(f"timed out while waiting for a message ({timeout} s)")
        if isinstance(event, Closed):
            if self._closed is None:
                self._closed = event
            self._release()
            if event.error is not None:
                raise self._exc() from face_error(event.error)
            raise self._exc()
        return _decoded(event.data, decode)

    def recv_streaming(self, decode: bool | None = None) -> Iterator[str | bytes]:
        """The next message as fragments: the whole message as one."""
        yield self.recv(decode=decode)

    def __iter__(self) -> Iterator[str | bytes]:
        try:
            while True:
                yield self.recv()
        except ConnectionClosedOK:
            return

    def send(self, message: Any, text: bool | None = None) -> None:
        """Send a message (str: text, bytes: binary); an iterable of str or
        bytes is sent as one message."""
        if self._closed is not None:
            raise self._exc()
        if isinstance(message, (str, bytes, bytearray, memoryview)):
            data: str | bytes = message if isinstance(message, str) else bytes(message)
        elif isinstance(message, Iterable) and not isinstance(message, dict):
            parts = list(message)
            if parts and all(isinstance(p, str) for p in parts):
                data = "".join(parts)
            elif all(isinstance(p, (bytes, bytearray, memoryview)) for p in parts):
                data = b"".join(bytes(p) for p in parts)
            else:
                raise TypeError("iterable must contain bytes or str")
        else:
            raise TypeError("data must be str, bytes, or iterable")
        if text is True and isinstance(data, bytes):
            data = data.decode("utf-8")
        elif text is False and isinstance(data, str):
            data = data.encode("utf-8")
        try:
            self._client.send(self.session, data)
        except DaemonUnreachable as e:
            self._closed = Closed(1006, str(e), e)
            self._release()
            raise self._exc() from face_error(e)
        except Error as e:
            raise face_error(e) from e

    def ping(self, data: Any = None, ack_on_close: bool = False) -> threading.Event:
        """The daemon pings (session key ``ping_interval``): this refreshes
        ``latency`` from the session and returns an Event already set."""
        if self._closed is not None:
            raise self._exc()
        try:
            self._link.link.status = self._client.status(self.session)
        except Error as e:
            raise face_error(e) from e
        done = threading.Event()
        done.set()
        return done

    def pong(self, data: Any = b"") -> None:
        """A no-op: the daemon answers the server's pings."""
        if self._closed is not None:
            raise self._exc()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close this face connection; the session stays up for other apps."""
        if self._closed is None:
            self._closed = Closed(code, reason, by_app=True)
        self._release()

    def __enter__(self) -> ClientConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(uri: str, *, sock: Any = None, ssl: Any = None, server_hostname: Any = None,
            origin: Any = None, extensions: Any = None, subprotocols: Any = None,
            compression: str | None = "deflate", additional_headers: Any = None,
            user_agent_header: str | None = USER_AGENT, proxy: Any = True,
            proxy_ssl: Any = None, proxy_server_hostname: Any = None,
            open_timeout: float | None = 10, ping_interval: float | None = 20,
            ping_timeout: float | None = 20, close_timeout: float | None = 10,
            max_size: Any = 2**20, max_queue: Any = 16, logger: Any = None,
            create_connection: Any = None, socket: str | os.PathLike[str] | None = None,
            backoff: Backoff | None = Backoff(), sticky: bool = False,
            **kwargs: Any) -> ClientConnection:
    """websockets' ``websockets.sync.client.connect`` for
    ``wsbridge://SESSION[/CHANNEL]``: waits (up to OPEN_TIMEOUT, then
    TimeoutError) for the session to be open. Other options as the asyncio
    :func:`~wsbridge.websockets.asyncio.client.connect`."""
    session, channel = _parse(uri)
    options = {"sock": sock, "ssl": ssl, "origin": origin, "extensions": extensions,
               "subprotocols": subprotocols, "additional_headers": additional_headers,
               "compression": None if compression == "deflate" else "none",
               "user_agent_header": None if user_agent_header == USER_AGENT else user_agent_header,
               "proxy": None if proxy is True else (proxy or "none"), "proxy_ssl": proxy_ssl}
    for key in _CONNECT_OPTIONS:
        if key in kwargs:
            options[key] = kwargs.pop(key)
    warn_options(_FACE, options)
    deadline = None if open_timeout is None else time.monotonic() + open_timeout
    try:
        client = Client(socket, reconnect=backoff)
    except Error as e:
        raise face_error(e, connecting=True) from e
    link = AsyncLink(client._conn, session, channel, sticky)

    async def opening() -> bool | Closed:
        await link.start()
        return await link.wait_open(deadline)
    try:
        try:
            opened = client._run(opening())
        except Error as e:
            raise face_error(e, connecting=True) from e
        if opened is False:
            st = link.status
            raise TimeoutError(f"session {session!r} not open within {open_timeout} s"
                               + (f" (it is {st.state}: {st.reason})" if st else ""))
        if isinstance(opened, Closed):
            raise (face_error(opened.error, connecting=True) if opened.error is not None
                   else exception_for(opened))
    except BaseException:
        client.close()
        raise
    cls = create_connection or ClientConnection
    ws = cls(client, link, logger=logger)
    assert isinstance(ws, ClientConnection)
    return ws


def unix_connect(path: str | None = None, uri: str | None = None,
                 **kwargs: Any) -> ClientConnection:
    """PATH is taken as the daemon's socket; URI (wsbridge://SESSION) is required."""
    from ..exceptions import InvalidURI
    if uri is None:
        raise InvalidURI("", "unix_connect needs a wsbridge://SESSION URI")
    return connect(uri, socket=path, **kwargs)
