"""The asyncio API: :func:`connect` and the :class:`Connection` it opens.

.. code-block:: python

    import asyncio, wsbridge

    async def main():
        async with wsbridge.connect() as c:
            async for item in c.subscribe("demo"):
                if isinstance(item, wsbridge.Message):
                    print(item.seq, item.data)

    asyncio.run(main())

One connection carries every request and every subscription: replies are
matched to requests by id, events routed by subscription id. Every await is
cancellation-safe: a task cancelled while it waits leaves the connection and
its other users untouched (a late reply is dropped, a subscription whose
subscribe was cancelled is undone).

When the daemon goes away (restart, crash) the connection reconnects with
:class:`wsbridge.Backoff` and resubscribes every open subscription from the
last message (or gap) it received, so its iterator goes on; what the daemon
could not replay arrives as a :class:`wsbridge.Gap`. Requests made meanwhile
wait for the new connection; requests that were waiting for their reply when
the connection broke raise :class:`wsbridge.ConnectionLost`, since whether the
daemon carried them out is unknown.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any, Callable, Generator, Mapping, Sequence

from . import ring as _ring
from . import wsbridge_pb2 as pb
from ._stream import Resubscribed, _Feed, _rings_wanted, _Stream
from ._unix import open_unix_stream
from .backoff import Backoff
from .errors import ConnectionLost, DaemonUnreachable, Error, ProtocolError
from .model import Gap, Item, Message, SendResult, SessionStatus
from .paths import default_socket
from .protocol import API_MAJOR, check_reply, statuses

__all__ = ["connect", "Connection", "Subscription"]

HELLO_TIMEOUT = 10.0

_OUTCOMES = {pb.SEND_RESULT_SENT: "sent", pb.SEND_RESULT_EXPIRED: "expired",
             pb.SEND_RESULT_CANCELLED: "cancelled"}

OptionValue = str | int | bool | Sequence[str]


def _client_name() -> str:
    return f"python {os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'wsbridge'}"


def _check_uint(name: str, value: int, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must be between 0 and {(1 << bits) - 1}, not {value}")
    return value


def _check_str(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    return value


def _option_text(key: str, value: OptionValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    raise TypeError(f"session option {key!r}: a str, int, bool or list of str, "
                    f"not {type(value).__name__}")


class Subscription:
    """An async iterator of :class:`wsbridge.Message`, :class:`wsbridge.Gap`
    and :class:`wsbridge.StateChange` for one channel of one session.

    ``await`` it (or enter it with ``async with``) to be sure the daemon has
    subscribed before going on; otherwise the first ``__anext__`` does.
    Leaving ``async with``, :meth:`aclose`, or breaking out of ``async for``
    (once nothing refers to the object any more) unsubscribes. ``status`` is
    the session as it was when the subscription started.
    """

    def __init__(self, conn: Connection, session: str, channel: str, since_seq: int,
                 epoch: int, opening: bool = False) -> None:
        self._feed = _Feed(conn, session, channel, since_seq, epoch, opening)
        self._started = False

    @property
    def session(self) -> str:
        return self._feed.session

    @property
    def channel(self) -> str:
        return self._feed.channel

    @property
    def status(self) -> SessionStatus | None:
        return self._feed.status

    async def start(self) -> Subscription:
        """Subscribe now (once); raises the daemon's error, e.g. NotFound."""
        if not self._started:
            await self._feed.conn._subscribe(self._feed)
            self._started = True
        return self

    def __await__(self) -> Generator[Any, None, Subscription]:
        return self.start().__await__()

    async def __aenter__(self) -> Subscription:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Item:
        feed = self._feed
        if not feed.items:
            if not self._started:
                await self.start()
            await feed.wait()
        item = feed.items.popleft()
        if feed.paused:
            feed.popped()
        return item

    async def get(self, timeout: float | None = None) -> Item:
        """The next item; asyncio.TimeoutError when none comes within TIMEOUT
        seconds, StopAsyncIteration once the subscription is closed."""
        if timeout is None or self._feed.items:
            return await self.__anext__()
        return await asyncio.wait_for(self.__anext__(), timeout)

    async def _batch(self) -> list[Item]:
        """Every item queued, waiting for at least one; [] once closed (for
        the blocking API, which fetches items in batches)."""
        feed = self._feed
        if not feed.items:
            if not self._started:
                await self.start()
            try:
                await feed.wait()
            except StopAsyncIteration:
                return []
        items = list(feed.items)
        feed.items.clear()
        if feed.paused:
            feed.popped()
        return items

    async def aclose(self) -> None:
        """Unsubscribe; iteration ends."""
        feed = self._feed
        if not feed.closed:
            await feed.conn._unsubscribe(feed)

    def __del__(self) -> None:
        feed = self._feed
        if self._started and not feed.closed:
            conn = feed.conn
            try:
                conn._loop.call_soon_threadsafe(conn._drop, feed)
            except RuntimeError:  # the loop is closed: so is the connection
                pass


class Connection:
    """A connection to the daemon (see the module's documentation); made by
    :func:`connect`."""

    def __init__(self, socket: str | os.PathLike[str] | None = None, *,
                 client_name: str | None = None,
                 reconnect: Backoff | None = Backoff()) -> None:
        self.socket = os.fspath(socket) if socket is not None else default_socket()
        self.client_name = client_name or _client_name()
        self.reconnect = reconnect
        #: The daemon's version, from its hello.
        self.daemon_version = ""
        self._loop = asyncio.get_running_loop()
        self._stream: _Stream | None = None
        self._ready = asyncio.Event()
        self._dead: Error | None = None
        self._closed = False
        self._feeds: set[_Feed] = set()
        self._paused: set[_Feed] = set()
        self._outcomes: dict[tuple[str, int], asyncio.Future[SendResult]] = {}
        self._reconnecting: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ lifecycle

    async def _open_stream(self) -> _Stream:
        stream = _Stream(self)
        try:
            await open_unix_stream(self._loop, self.socket, stream)
        except OSError as e:
            raise DaemonUnreachable(self.socket, e.strerror or str(e)) from None
        stream.write(stream.core.hello(self.client_name,
                                       _ring.VERSION if _rings_wanted() else 0))
        try:
            hello = await asyncio.wait_for(asyncio.shield(stream.hello), HELLO_TIMEOUT)
        except asyncio.TimeoutError:
            stream.close()
            raise DaemonUnreachable(self.socket, f"no hello from the daemon within "
                                                 f"{HELLO_TIMEOUT:.0f} s") from None
        except BaseException:
            stream.close()
            raise
        if hello.api_major != API_MAJOR:
            stream.close()
            raise ProtocolError(f"the daemon speaks API {hello.api_major}, "
                                f"this client {API_MAJOR}", "VERSION_MISMATCH")
        self.daemon_version = hello.daemon_version
        stream.ring_ok = hello.ring_version == _ring.VERSION
        return stream

    async def _open(self) -> Connection:
        self._stream = await self._open_stream()
        self._ready.set()
        return self

    async def close(self) -> None:
        """Close the connection: subscriptions end, waiting requests raise Error."""
        if self._closed:
            return
        self._closed = True
        self._dead = Error("the connection was closed", "CLOSED")
        self._ready.set()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        for feed in list(self._feeds):
            feed.end()
        self._feeds.clear()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()
            stream.core.fail(self._dead)
        self._fail_outcomes(self._dead)

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _stream_lost(self, stream: _Stream, exc: Exception | None) -> None:
        if stream is not self._stream:
            stream.core.fail(ConnectionLost(self.socket, "connection closed"))
            return
        self._stream = None
        self._ready.clear()
        reason = stream.error or exc or "the daemon closed the connection"
        lost = ConnectionLost(self.socket, str(reason))
        stream.core.fail(lost)
        self._fail_outcomes(lost)
        self._paused.clear()
        for feed in self._feeds:
            feed.sid = 0
            feed.paused = False
        if self._closed:
            return
        if self.reconnect is None:
            self._give_up(lost)
        else:
            self._reconnecting = self._loop.create_task(self._reconnect(self.reconnect))

    def _give_up(self, error: Error) -> None:
        self._dead = error
        self._ready.set()
        for feed in list(self._feeds):
            feed.fail(error)
        self._feeds.clear()

    async def _reconnect(self, backoff: Backoff) -> None:
        started = time.monotonic()
        attempt = 0
        last = "the daemon closed the connection"
        while True:
            delay = backoff.delay(attempt)
            attempt += 1
            if (backoff.give_up_after is not None
                    and time.monotonic() - started + delay > backoff.give_up_after):
                self._give_up(DaemonUnreachable(
                    self.socket, f"gave up reconnecting after {attempt - 1} tries in "
                                 f"{time.monotonic() - started:.1f} s: {last}"))
                return
            await asyncio.sleep(delay)
            try:
                stream = await self._open_stream()
            except DaemonUnreachable as e:
                last = e.reason
                continue
            except Error as e:
                self._give_up(e)
                return
            self._stream = stream
            if await self._resubscribe_all(stream):
                self._reconnecting = None
                self._ready.set()
                return

    async def _resubscribe_all(self, stream: _Stream) -> bool:
        """Subscribe every feed again from where it is; False when the
        connection broke meanwhile (another reconnect has started)."""
        feeds = list(self._feeds)
        results = await asyncio.gather(*(self._subscribe(f, stream) for f in feeds),
                                       return_exceptions=True)
        for feed, result in zip(feeds, results):
            if isinstance(result, ConnectionLost):
                return False
            if isinstance(result, BaseException):
                self._feeds.discard(feed)
                feed.fail(result)
        return True

    # ------------------------------------------------------------ requests

    async def _usable(self) -> _Stream:
        while True:
            if self._dead is not None:
                raise self._dead
            stream = self._stream
            if stream is not None and self._ready.is_set():
                return stream
            await self._ready.wait()

    async def _call(self, op: str, body: object, result: str,
                    on_reply: Callable[[pb.Reply], None] | None = None,
                    on_orphan: Callable[[_Stream, pb.Reply], None] | None = None,
                    stream: _Stream | None = None) -> pb.Reply:
        """Send request OP and return its reply (checked for RESULT).

        ON_REPLY runs as soon as the reply is read, before any later frame is
        handled; ON_ORPHAN instead when the caller was cancelled meanwhile."""
        if stream is None:
            stream = await self._usable()
        elif stream.lost:  # its core has failed its requests already
            raise ConnectionLost(self.socket, "the daemon closed the connection")
        fut: asyncio.Future[pb.Reply] = self._loop.create_future()

        def handle(reply: pb.Reply | Exception) -> None:
            if fut.cancelled():
                if on_orphan is not None and isinstance(reply, pb.Reply):
                    on_orphan(stream, reply)  # type: ignore[arg-type]
                return
            if isinstance(reply, Exception):
                fut.set_exception(reply)
                return
            if on_reply is not None and reply.WhichOneof("result") == result:
                on_reply(reply)
            fut.set_result(reply)

        stream.write(stream.core.request(op, body, handle))
        await stream.drain()
        return check_reply(await fut, result)

    async def sessions(self) -> list[SessionStatus]:
        """The status of every session this user may use, sorted by name."""
        return statuses(await self._call("list_sessions", pb.ListSessionsRequest(),
                                          "list_sessions"))

    async def status(self, session: str) -> SessionStatus:
        """The status of one session (NotFound if there is none of that name)."""
        reply = await self._call("get_session",
                                 pb.GetSessionRequest(session=_check_str("session", session)),
                                 "session")
        return SessionStatus._from_pb(reply.session)

    def subscribe(self, session: str, channel: str = "*", since_seq: int = 0,
                  epoch: int = 0, opening: bool = False) -> Subscription:
        """A :class:`Subscription` to CHANNEL of SESSION (``"*"``: every message).

        With ``since_seq=0, epoch=0`` it delivers live messages only. With the
        ``epoch`` (and ``since_seq``) of the last message seen it first replays
        what the history still holds after it, and a Gap for what it no
        longer holds (everything of the current epoch when the epoch is not
        the current one). Several subscriptions may share one connection.

        With ``opening=True`` (and no epoch; API 1.2) it starts with the first
        messages the session's current upstream connection opened with (up
        to the session key ``opening_messages``: a greeting, a snapshot), as a
        connection of the app's own would have received them, then live ones.
        """
        _check_str("session", session)
        _check_str("channel", channel)
        _check_uint("since_seq", since_seq, 64)
        _check_uint("epoch", epoch, 64)
        if since_seq and not epoch:
            raise ValueError("since_seq needs the epoch it was numbered in")
        if opening and epoch:
            raise ValueError("opening is for a subscription without an epoch")
        return Subscription(self, session, channel, since_seq, epoch, opening)

    async def _subscribe(self, feed: _Feed, stream: _Stream | None = None) -> None:
        since_seq, epoch = feed.position()
        if stream is None:
            stream = await self._usable()

        def registered(reply: pb.Reply) -> None:
            if feed.closed:  # closed by its user meanwhile
                orphaned(stream, reply)  # type: ignore[arg-type]
                return
            feed.sid = reply.subscribe.subscription_id
            if feed.status is not None and feed.mark_resubscribe:
                feed.items.append(Resubscribed(  # type: ignore[arg-type]  # faces only
                    SessionStatus._from_pb(reply.subscribe.status)))
                feed.wake()
            if feed.status is None:
                feed.status = SessionStatus._from_pb(reply.subscribe.status)
                if not feed.epoch:
                    # Live only: what comes is after the session's last seq.
                    feed.since_seq, feed.epoch = feed.status.last_seq, feed.status.epoch
            stream.core.subscriptions[feed.sid] = feed  # type: ignore[union-attr]
            self._feeds.add(feed)

        def orphaned(st: _Stream, reply: pb.Reply) -> None:
            if reply.WhichOneof("result") == "subscribe":
                st.write(st.core.request("unsubscribe", pb.UnsubscribeRequest(
                    subscription_id=reply.subscribe.subscription_id), lambda r: None))

        opening = feed.opening and not epoch and feed.status is None
        await self._call("subscribe", pb.SubscribeRequest(
            session=feed.session, channel=feed.channel, since_seq=since_seq, epoch=epoch,
            opening=opening, ring=stream.ring_ok),
            "subscribe", registered, orphaned, stream)

    def _detach(self, feed: _Feed) -> int:
        """Forget FEED; its subscription id on the current stream, or 0."""
        feed.end()
        self._feeds.discard(feed)
        if feed in self._paused:
            self._resume(feed)
        sid, feed.sid = feed.sid, 0
        stream = self._stream
        if sid and stream is not None:
            stream.core.subscriptions.pop(sid, None)
            stream.drop_ring(sid)
            return sid
        return 0

    async def _unsubscribe(self, feed: _Feed) -> None:
        sid = self._detach(feed)
        if sid:
            try:
                await self._call("unsubscribe", pb.UnsubscribeRequest(subscription_id=sid), "ok")
            except (ConnectionLost, Error):
                pass  # gone with the connection, or already ended by the daemon

    def _drop(self, feed: _Feed) -> None:
        """Unsubscribe without waiting (the Subscription object went away)."""
        sid = self._detach(feed)
        stream = self._stream
        if sid and stream is not None:
            stream.write(stream.core.request("unsubscribe", pb.UnsubscribeRequest(
                subscription_id=sid), lambda r: None))

    def _pause(self, feed: _Feed) -> None:
        feed.paused = True
        self._paused.add(feed)
        if self._stream is not None and self._stream.transport is not None:
            self._stream.transport.pause_reading()

    def _resume(self, feed: _Feed) -> None:
        feed.paused = False
        self._paused.discard(feed)
        sink = self._stream.rings.get(feed.sid) if self._stream is not None else None
        if sink is not None:
            self._loop.call_soon(sink.drain)
        if not self._paused and self._stream is not None and self._stream.transport is not None:
            self._stream.transport.resume_reading()

    async def send(self, session: str, data: str | bytes | bytearray | memoryview,
                   wait: bool = False, ttl_ms: int = 0) -> SendResult:
        """Send DATA through SESSION: a ``str`` as a text message, bytes as a
        binary one. While the session is not open it waits in the session's
        queue (at most TTL_MS milliseconds when not 0).

        Returns the send's id at once, or with ``wait=True`` once it has its
        outcome (``sent``, ``expired`` or ``cancelled``). A send the daemon
        refuses raises QueueFull or InvalidArgument (its ``rejected`` outcome).
        """
        _check_str("session", session)
        _check_uint("ttl_ms", ttl_ms, 32)
        if isinstance(data, str):
            payload, binary = data.encode("utf-8"), False
        elif isinstance(data, (bytes, bytearray, memoryview)):
            payload, binary = bytes(data), True
        else:
            raise TypeError(f"data must be str or bytes, not {type(data).__name__}")
        waiter: asyncio.Future[SendResult] | None = None

        def accepted(reply: pb.Reply) -> None:
            nonlocal waiter
            if wait:
                waiter = self._loop.create_future()
                self._outcomes[(session, reply.send.send_id)] = waiter

        reply = await self._call("send", pb.SendRequest(session=session, data=payload,
                                                        binary=binary, ttl_ms=ttl_ms),
                                 "send", accepted)
        send_id = reply.send.send_id
        if waiter is None:
            return SendResult(send_id)
        try:
            return await waiter
        finally:
            self._outcomes.pop((session, send_id), None)

    def _on_outcome(self, outcome: pb.SendOutcome) -> None:
        waiter = self._outcomes.pop((outcome.session, outcome.send_id), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(SendResult(outcome.send_id, _OUTCOMES.get(outcome.result, "unknown"),
                                         outcome.reason))

    def _fail_outcomes(self, error: Error) -> None:
        outcomes, self._outcomes = self._outcomes, {}
        for (session, send_id), waiter in outcomes.items():
            if not waiter.done():
                waiter.set_exception(type(error)(error.socket, f"the outcome of send {send_id} "
                                     f"to {session} is unknown: {error.reason}")
                                     if isinstance(error, DaemonUnreachable) else error)

    async def history(self, session: str, channel: str = "*", last: int = 0) -> list[Message | Gap]:
        """What the channel's history holds, oldest first (at most LAST
        messages; 0: all of it), after a Gap for what it has lost of those."""
        reply = await self._call("history", pb.HistoryRequest(
            session=_check_str("session", session), channel=_check_str("channel", channel),
            last=_check_uint("last", last, 32)), "history")
        h = reply.history
        items: list[Message | Gap] = [Gap._from_pb(h.gap)] if h.HasField("gap") else []
        items += [Message._from_pb(m) for m in h.messages]
        return items

    async def create_session(self, name: str, url: str,
                             options: Mapping[str, OptionValue] | None = None,
                             persist: bool = False) -> SessionStatus:
        """Create a session at runtime. OPTIONS are session keys of
        wsbridge.conf(5) (values: str, int, bool or a list of str); with
        PERSIST it is written to sessions.d and comes back at every start."""
        opts = [pb.SessionOption(key=_check_str("option key", k), value=_option_text(k, v))
                for k, v in (options or {}).items()]
        reply = await self._call("create_session", pb.CreateSessionRequest(
            name=_check_str("name", name), url=_check_str("url", url), options=opts,
            persist=bool(persist)), "session")
        return SessionStatus._from_pb(reply.session)

    async def remove_session(self, name: str) -> None:
        """Remove a session created at runtime; its queue is cancelled."""
        await self._call("remove_session",
                         pb.RemoveSessionRequest(session=_check_str("name", name)), "ok")

    async def connect_session(self, name: str) -> None:
        """Want the session connected (as autoconnect does at start)."""
        await self._call("connect", pb.ConnectRequest(session=_check_str("name", name)), "ok")

    async def disconnect_session(self, name: str) -> None:
        """Close the session's upstream connection and keep it closed until
        connect_session; its queue waits."""
        await self._call("disconnect", pb.DisconnectRequest(session=_check_str("name", name)),
                         "ok")


class _Connect:
    """What :func:`connect` returns: await it, or use it with ``async with``."""

    def __init__(self, socket: str | os.PathLike[str] | None, kwargs: dict[str, Any]) -> None:
        self._socket, self._kwargs = socket, kwargs
        self._conn: Connection | None = None

    async def _open(self) -> Connection:
        return await Connection(self._socket, **self._kwargs)._open()

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._open().__await__()

    async def __aenter__(self) -> Connection:
        self._conn = await self._open()
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._conn.close()


def connect(socket: str | os.PathLike[str] | None = None, *, client_name: str | None = None,
            reconnect: Backoff | None = Backoff()) -> _Connect:
    """Connect to the daemon at SOCKET (default: as ``wsbridgectl``,
    ``$WSBRIDGE_SOCKET``, else the user instance's socket).

    ``async with wsbridge.connect() as c:`` or ``c = await wsbridge.connect()``.
    Raises :class:`wsbridge.DaemonUnreachable` when the daemon cannot be
    reached. RECONNECT is the backoff for reconnecting after the daemon went
    away (None: do not reconnect; subscriptions then raise ConnectionLost).
    CLIENT_NAME is shown in the daemon's log.
    """
    return _Connect(socket, {"client_name": client_name, "reconnect": reconnect})
