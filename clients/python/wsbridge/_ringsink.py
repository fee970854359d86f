"""A subscription's shared-memory ring (proto/RING.md) on the asyncio
client, unseen by its user: once the daemon's RingStart came, the ring's
records become the same Message and Gap items the socket would have given,
in the same order. It stands in for the subscription's feed in the
protocol core, so what the subscription still gets on the socket waits
here for its place among the ring's records: a message too large for the
ring until the ring reaches its "elsewhere" record, a state change until
the ring has given every message up to the session's last seq it names.
"""

from __future__ import annotations

import asyncio
import collections
import os
from typing import Any, Callable

from . import ring
from .errors import ProtocolError
from .model import Gap, Item, Message, StateChange


class RingSink:
    def __init__(self, loop: asyncio.AbstractEventLoop, feed: Any, reader: ring.RingReader,
                 wake_fd: int, epoch: int, on_broken: Callable[[Any, BaseException], None]) -> None:
        self.loop, self.feed, self.reader, self.wake_fd = loop, feed, reader, wake_fd
        self.epoch = epoch
        self.on_broken = on_broken
        # What the core's fast path of the socket looks at.
        self.session: str = feed.session
        self.channel: str = feed.channel
        self.items: collections.deque[Item] = collections.deque()
        self.last: Message | Gap | None = None
        self.waiting: int | None = None  # the seq of an "elsewhere" record
        self.closed = False
        loop.add_reader(wake_fd, self.drain)

    # ------------------------------------------------- socket side (parked)

    def deliver(self, item: Item) -> None:
        self.items.append(item)
        self.wake()

    def wake(self) -> None:
        self.drain()

    def _release_states(self, upto: int) -> None:
        """The parked state changes that came before the message after UPTO."""
        items = self.items
        while items and type(items[0]) is StateChange and items[0].status.last_seq <= upto:
            self.feed.deliver(items.popleft())

    def _parked(self, seq: int) -> Item | None:
        self._release_states(seq - 1)
        for item in self.items:
            if ((type(item) is Message and item.seq == seq)
                    or (type(item) is Gap and item.from_seq <= seq <= item.to_seq)):
                self.items.remove(item)
                return item
        return None

    # --------------------------------------------------------- ring side

    def _wanted(self, rec: ring.Record) -> bool:
        return self.channel == "*" or rec.channel == self.channel

    def drain(self) -> None:
        """Delivers what the ring holds (until the feed pauses)."""
        if self.closed:
            return
        try:
            os.read(self.wake_fd, 8)
        except BlockingIOError:
            pass
        feed = self.feed
        while not feed.paused and not self.closed:
            if self.waiting is not None:
                item = self._parked(self.waiting)
                if item is None:
                    return  # its message is still on the way
                self.waiting = None
                feed.deliver(item)
                continue
            status, rec = self.reader.next()
            if status == ring.EMPTY:
                self._release_states(self.reader.last_seq)
                return
            if status == ring.CORRUPT or rec is None:
                self.close()
                self.on_broken(feed, ProtocolError(
                    f"the ring of {self.session}/{self.channel} breaks its layout"))
                return
            self._release_states(rec.seq - 1)
            if rec.lost:
                self.items = collections.deque(
                    i for i in self.items if not (type(i) is Message and i.seq <= rec.lost[1]))
                feed.deliver(Gap(self.session, self.channel, rec.lost[0], rec.lost[1],
                                 self.epoch))
            if not self._wanted(rec):
                continue
            if status == ring.ELSEWHERE:
                self.waiting = rec.seq
                continue
            payload: bytes = rec.data
            data: str | bytes = payload if rec.binary else payload.decode("utf-8", "replace")
            feed.deliver(Message(self.session, rec.channel or "*", rec.seq, self.epoch,
                                 rec.time_us, data))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.wake_fd)
        os.close(self.wake_fd)
        self.reader.close()
