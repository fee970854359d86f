"""One socket connection to the daemon (:class:`_Stream`: the socket, its
protocol core, the rings it was handed) and the receiving end of one
subscription (:class:`_Feed`), for :mod:`wsbridge.aio`'s Connection."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
from typing import TYPE_CHECKING, Any

from . import ring as _ring
from . import wsbridge_pb2 as pb
from ._ringsink import RingSink
from ._unix import close_fds
from .errors import ConnectionLost, Error, ProtocolError
from .model import Gap, Item, Message, SessionStatus, StateChange
from .protocol import Core

if TYPE_CHECKING:
    from .aio import Connection

# A subscription holding more unread items than this stops the connection
# from reading until it is down to LOW_WATER: the daemon then applies its
# slow-client policy (drop-oldest with gaps) instead of this process's
# memory growing without bound.
HIGH_WATER = 100_000
LOW_WATER = HIGH_WATER // 2


def _rings_wanted() -> bool:
    off = os.environ.get("WSBRIDGE_NO_RING", "")
    return not off or off == "0"


class _Stream(asyncio.Protocol):
    """One socket connection to the daemon and its protocol core."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.core = Core(self._on_hello, conn._on_outcome, self._on_error)
        self.core.on_ring = self._on_ring
        self.transport: Any = None  # a _unix.UnixStream
        self.ring_ok = False  # the daemon agreed to rings in its hello
        self.fds: list[int] = []  # received, not yet used
        self.rings: dict[int, RingSink] = {}
        self.hello: asyncio.Future[pb.HelloReply] = conn._loop.create_future()
        self.error: Error | None = None
        self.lost = False
        self._can_write = asyncio.Event()
        self._can_write.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.core.feed(data)
        except ProtocolError as e:
            self._on_error(e)
            self.close()

    def fds_received(self, fds: list[int]) -> None:
        self.fds.extend(fds)

    def _on_ring(self, event: pb.Event) -> None:
        """A subscription's ring starts (RingStart, its descriptors came
        with it): the feed reads it from now on."""
        sid = event.subscription_id
        feed = self.core.subscriptions.get(sid)
        if len(self.fds) < 2:
            self._on_error(ProtocolError("the daemon sent a ring without its descriptors"))
            self.close()
            return
        ring_fd, wake_fd = self.fds.pop(0), self.fds.pop(0)
        if not isinstance(feed, _Feed):
            close_fds([ring_fd, wake_fd])
            return
        rs = event.ring
        try:
            reader = _ring.RingReader.from_fd(ring_fd, rs.start_pos, rs.last_seq)
            if reader.data_bytes != rs.data_bytes or reader.epoch != rs.epoch:
                raise _ring.RingError("the ring does not match its RingStart")
        except (OSError, ValueError) as e:
            close_fds([wake_fd])
            feed.fail(ProtocolError(f"the ring of {feed.session}/{feed.channel}: {e}"))
            return
        finally:
            close_fds([ring_fd])
        os.set_blocking(wake_fd, False)
        sink = RingSink(self.conn._loop, feed, reader, wake_fd, rs.epoch, _Feed.fail)
        self.core.subscriptions[sid] = sink
        self.rings[sid] = sink
        sink.drain()

    def drop_ring(self, sid: int) -> None:
        sink = self.rings.pop(sid, None)
        if sink is not None:
            sink.close()

    def connection_lost(self, exc: Exception | None) -> None:
        for sid in list(self.rings):
            self.drop_ring(sid)
        close_fds(self.fds)
        self.fds = []
        self.lost = True
        self._can_write.set()
        if not self.hello.done():
            self.hello.set_exception(self.error or ConnectionLost(
                self.conn.socket, "the daemon closed the connection during hello"))
        self.conn._stream_lost(self, exc)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def _on_hello(self, hello: pb.HelloReply) -> None:
        if not self.hello.done():
            self.hello.set_result(hello)

    def _on_error(self, error: Error) -> None:
        self.error = error
        if not self.hello.done():
            self.hello.set_exception(error)

    def write(self, frame: bytes) -> None:
        assert self.transport is not None
        self.transport.write(frame)

    async def drain(self) -> None:
        """Wait while the socket's send buffer is full (cancellation-safe:
        what was written stays written)."""
        if not self._can_write.is_set():
            await self._can_write.wait()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclasses.dataclass(frozen=True)
class Resubscribed:
    """Queued (for the drop-in faces only) when a subscription was made again
    after the connection to the daemon was: ``status`` is the session then."""

    status: SessionStatus


class _Feed:
    """The receiving end of one subscription, kept by the connection; the
    user's :class:`Subscription` only refers to it, so that dropping the
    Subscription object unsubscribes."""

    def __init__(self, conn: Connection, session: str, channel: str, since_seq: int,
                 epoch: int, opening: bool = False) -> None:
        self.conn = conn
        self.session, self.channel = session, channel
        self.since_seq, self.epoch = since_seq, epoch
        self.opening = opening
        # For the drop-in faces: queue a Resubscribed item (with the status the
        # daemon answered) whenever the connection to the daemon was made
        # again and the feed resubscribed, so that a face can tell whether the
        # upstream connection it showed is still the same.
        self.mark_resubscribe = False
        self.items: collections.deque[Item] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.sid = 0              # current subscription id, 0 when not subscribed
        self.status: SessionStatus | None = None
        self.last: Message | Gap | None = None  # newest message or gap received
        self.error: BaseException | None = None
        self.closed = False
        self.paused = False

    def deliver(self, item: Item) -> None:
        if type(item) is not StateChange:
            self.last = item  # type: ignore[assignment]
        self.items.append(item)
        self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if len(self.items) > HIGH_WATER and not self.paused:
            self.conn._pause(self)

    def position(self) -> tuple[int, int]:
        """(since_seq, epoch) to resubscribe from."""
        last = self.last
        if isinstance(last, Message):
            return last.seq, last.epoch
        if isinstance(last, Gap):
            return last.to_seq, last.epoch
        return self.since_seq, self.epoch

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.sid = 0
        self._wake()

    def end(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self) -> None:
        """Until an item is there; raises the subscription's error, or
        StopAsyncIteration once it is closed."""
        while not self.items:
            if self.closed:
                raise StopAsyncIteration
            if self.error is not None:
                raise self.error
            self.waiter = self.conn._loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    def popped(self) -> None:
        if self.paused and len(self.items) < LOW_WATER:
            self.conn._resume(self)
