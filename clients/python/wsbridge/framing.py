"""The socket API's framing: every frame is one protobuf message preceded by
its length as a varint.

:class:`FrameReader` takes whatever the socket gave (large chunks) and splits
it into frames without copying each one: a message event becomes a lazily
decoded :class:`wsbridge.Message` over a view of the chunk; every other frame
is decoded with the generated protobuf classes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from . import wsbridge_pb2 as pb
from .errors import ProtocolError
from .model import Message
from .wire import encode_varint, varint_at

if TYPE_CHECKING:
    from .protocol import Sink

__all__ = ["encode_frame", "encode_varint", "FrameReader", "MAX_FRAME_BYTES"]

#: Frames larger than this are refused (the daemon's max_frame_bytes is far below).
MAX_FRAME_BYTES = 64 << 20



def encode_frame(frame: pb.ClientFrame) -> bytes:
    """FRAME serialized with its length prefix."""
    body: bytes = frame.SerializeToString()
    return encode_varint(len(body)) + body


# One or two bytes of varint: every length inside a frame under 16 KiB.
_LEN12 = rb"(?:[\x00-\x7f]|[\x80-\xff][\x00-\x7f])"
# A Message after its channel, up to its data: seq, epoch, time_us, binary
# (only when true: the one group), the data's tag and length.
_TAIL = (rb"\x18[\x80-\xff]{0,9}[\x00-\x7f]\x21.{8}\x28[\x80-\xff]{0,9}[\x00-\x7f](\x30\x01)?\x3a"
         + _LEN12)
#: A "*" subscription sees messages of every routed channel: this many are
#: learnt into its pattern, the others take the protobuf path.
MAX_ROUTE_CHANNELS = 32


def _field(tag: int, text: str) -> bytes:
    raw = text.encode("utf-8")
    return re.escape(bytes([tag]) + encode_varint(len(raw)) + raw)


class _Route:
    """The fast path of one subscription id: its sink, and a pattern matching
    its message events from the frame's start up to the data, as the daemon
    encodes them (ServerFrame.event{subscription_id, message{session,
    channel, seq, epoch, time_us, [binary], data}})."""

    __slots__ = ("sid", "sink", "channels", "match")

    def __init__(self, sid: int, sink: Sink, channels: tuple[str, ...]) -> None:
        self.sid, self.sink, self.channels = sid, sink, channels
        pattern = (rb"\x1a" + _LEN12 + re.escape(b"\x08" + encode_varint(sid)) + rb"\x12"
                   + _LEN12 + _field(0x0A, sink.session)
                   + rb"(?:" + b"|".join(_field(0x12, c) for c in channels) + rb")" + _TAIL)
        self.match = re.compile(pattern, re.DOTALL).match


class FrameReader:
    """Splits the daemon's byte stream into frames.

    A message event for a subscription id in ``subscriptions`` is matched by
    that subscription's pattern and appended to its sink's ``items`` as a
    :class:`Message` over the chunk (the hot path: no protobuf, no copy of
    the frame); the sink's ``last`` is set to the newest and ``wake()`` called
    once per chunk. ``on_frame(frame)`` gets every other :class:`ServerFrame`
    (and messages the patterns do not cover: frames over 16 KiB, channels
    not learnt), decoded by protobuf.
    """

    def __init__(self, subscriptions: dict[int, Sink],
                 on_frame: Callable[[pb.ServerFrame], None]) -> None:
        self._subscriptions = subscriptions
        self._on_frame = on_frame
        self._tail = b""
        self._routes: dict[int, _Route] = {}

    def _route(self, sid: int) -> _Route | None:
        sink = self._subscriptions.get(sid)
        route = self._routes.get(sid)
        if sink is None:
            if route is not None:
                del self._routes[sid]
            return None
        if route is None or route.sink is not sink:
            route = self._routes[sid] = _Route(sid, sink, (sink.channel,))
        return route

    def _learn(self, frame: pb.ServerFrame) -> None:
        """A message event the fast path missed: teach its channel to the
        route of a "*" subscription, so that the next ones take it."""
        if frame.WhichOneof("frame") != "event" or frame.event.WhichOneof("event") != "message":
            return
        route = self._route(frame.event.subscription_id)
        channel = frame.event.message.channel
        if (route is not None and route.sink.channel == "*" and channel not in route.channels
                and len(route.channels) < MAX_ROUTE_CHANNELS):
            self._routes[route.sid] = _Route(route.sid, route.sink, route.channels + (channel,))

    def feed(self, data: bytes) -> None:
        """Handle DATA, the next bytes read from the socket. The bytes object
        is kept (not copied) by the messages made from it, so it must not be
        changed afterwards."""
        if self._tail:
            data = self._tail + data
        mv = memoryview(data)
        n = len(data)
        pos = 0
        new_message = Message.__new__
        touched: set[Sink] = set()
        sid_now, sink, append, last = -1, None, None, None
        match: Callable[[bytes, int, int], re.Match[bytes] | None] | None = None
        while pos < n:
            # The frame's length: nearly always one or two bytes.
            b = data[pos]
            if b < 0x80:
                start = pos + 1
                length = b
            elif pos + 1 < n and data[pos + 1] < 0x80:
                start = pos + 2
                length = (b & 0x7F) | (data[pos + 1] << 7)
            else:
                parsed = self._long_length(data, pos)
                if parsed is None:
                    break
                start, length = parsed
            end = start + length
            if end > n:
                break
            pos = end
            if length < 16384:
                # Most often the frame is for the subscription the last one
                # was for: its pattern checks everything, the id included.
                found = match(data, start, end) if match is not None else None
                if found is None and length > 4:
                    # Where a message event has its subscription id.
                    sid = data[start + 3] if data[start + 1] < 0x80 else data[start + 4]
                    if sid != sid_now:
                        if last is not None:
                            sink.last = last
                            touched.add(sink)
                            last = None
                        sid_now = sid
                        route = self._route(sid)
                        if route is None:
                            sink = match = append = None
                        else:
                            sink, match, append = route.sink, route.match, route.sink.items.append
                            found = match(data, start, end)
                if found is not None:
                    ds = found.end()
                    dl = data[ds - 1]
                    if data[ds - 2] >= 0x80:
                        dl = (data[ds - 2] & 0x7F) | (dl << 7)
                    if ds + dl == end:
                        last = new_message(Message)
                        if found.lastindex is None:
                            try:
                                last.data = data[ds:end].decode()
                            except UnicodeDecodeError:
                                last.data = data[ds:end].decode("utf-8", "replace")
                        else:
                            last.data = data[ds:end]
                        last._mv = mv
                        last._ms = start
                        append(last)  # type: ignore[misc]
                        continue
            # Anything else, in order with what came before it.
            if last is not None:
                sink.last = last  # type: ignore[union-attr]
                touched.add(sink)  # type: ignore[arg-type]
                last = None
            sid_now, sink, match, append = -1, None, None, None
            frame = self._decode(mv[start:end])
            self._learn(frame)
            self._on_frame(frame)
        if last is not None:
            sink.last = last  # type: ignore[union-attr]
            touched.add(sink)  # type: ignore[arg-type]
        self._tail = data[pos:] if pos < n else b""
        for s in touched:
            s.wake()

    def _long_length(self, data: bytes, pos: int) -> tuple[int, int] | None:
        """(start, length) of a frame whose length takes more than two bytes,
        or None when the length is not complete yet."""
        end = min(len(data), pos + 10)
        for i in range(pos, end):
            if data[i] < 0x80:
                length, start = varint_at(data, pos)
                if length > MAX_FRAME_BYTES:
                    raise ProtocolError(f"frame of {length} bytes from the daemon")
                return start, length
        if end - pos >= 10:
            raise ProtocolError("bad frame length from the daemon")
        return None

    @staticmethod
    def _decode(body: memoryview) -> pb.ServerFrame:
        try:
            frame: pb.ServerFrame = pb.ServerFrame.FromString(body)
            return frame
        except Exception as e:  # protobuf's DecodeError, or a bad buffer
            raise ProtocolError(f"undecodable frame from the daemon: {e}") from None
