"""The socket API's framing: every frame is one protobuf message preceded by
its length as a varint.

:class:`FrameReader` takes whatever the socket gave (large chunks) and splits
it into frames without copying each one: a message event becomes a lazily
decoded :class:`wsbridge.Message` over a view of the chunk; every other frame
is decoded with the generated protobuf classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from . import wsbridge_pb2 as pb
from .errors import ProtocolError
from .model import Message
from .wire import FIXED_PART, encode_varint, varint, varint_at

if TYPE_CHECKING:
    from .protocol import Sink

__all__ = ["encode_frame", "encode_varint", "FrameReader", "MAX_FRAME_BYTES"]

#: Frames larger than this are refused (the daemon's max_frame_bytes is far below).
MAX_FRAME_BYTES = 64 << 20



def encode_frame(frame: pb.ClientFrame) -> bytes:
    """FRAME serialized with its length prefix."""
    body: bytes = frame.SerializeToString()
    return encode_varint(len(body)) + body


class FrameReader:
    """Splits the daemon's byte stream into frames.

    Message events for a subscription id in ``subscriptions`` are appended
    to that sink's ``items`` as they are split (the hot path: no protobuf,
    no copy), its ``last`` set to the newest and ``wake()`` called once per
    chunk; ``on_frame(frame)`` gets every other :class:`ServerFrame`.
    """

    def __init__(self, subscriptions: dict[int, Sink],
                 on_frame: Callable[[pb.ServerFrame], None]) -> None:
        self._subscriptions = subscriptions
        self._on_frame = on_frame
        self._tail = b""

    def feed(self, data: bytes) -> None:
        """Handle DATA, the next bytes read from the socket. The bytes object
        is kept (not copied) by the messages made from it, so it must not be
        changed afterwards."""
        if self._tail:
            data = self._tail + data
        mv = memoryview(data)
        n = len(data)
        pos = 0
        subs = self._subscriptions
        fixed_part = FIXED_PART.match
        new_message = Message.__new__
        touched: dict[Sink, Message] = {}
        sid_now, sink, append, m = -1, None, None, None
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
            # ServerFrame{event{subscription_id, message{session, channel,
            # seq, epoch, time_us, [binary], data}}} as the daemon encodes
            # it, with names shorter than 128 bytes and frames shorter than
            # 16 KiB (so that every length takes one or two bytes): the hot
            # path. Anything else is decoded by protobuf.
            if data[start] == 0x1A and 16 < length < 16384:
                p = start + 2 if data[start + 1] < 0x80 else start + 3
                sid = data[p + 1]
                if data[p] == 0x08 and sid < 0x80 and data[p + 2] == 0x12:
                    ms = p + 4 if data[p + 3] < 0x80 else p + 5
                    q = ms + 2 + data[ms + 1]
                    if (data[ms] == 0x0A and data[ms + 1] < 0x80 and q < end
                            and data[q] == 0x12 and data[q + 1] < 0x80):
                        fixed = fixed_part(data, q + 2 + data[q + 1], end)
                        if fixed is not None:
                            ds = fixed.end()
                            dl = data[ds - 1]
                            if data[ds - 2] >= 0x80:
                                dl = varint(fixed.group(5))
                            if ds + dl == end:
                                if sid != sid_now:
                                    if sink is not None:
                                        touched[sink] = m
                                    sid_now, sink = sid, subs.get(sid)
                                    append = sink.items.append if sink is not None else None
                                if append is not None:
                                    m = new_message(Message)
                                    m.data = (str(mv[ds:end], "utf-8", "replace")
                                              if fixed.group(4) is None else data[ds:end])
                                    m._mv, m._ms = mv, ms
                                    append(m)
                                continue
            if sink is not None:
                touched[sink] = m  # type: ignore[assignment]
            sid_now, sink, append = -1, None, None
            self._on_frame(self._decode(mv[start:end]))
        if sink is not None:
            touched[sink] = m  # type: ignore[assignment]
        self._tail = data[pos:] if pos < n else b""
        for sink, last in touched.items():
            if last is not None:
                sink.last = last
            sink.wake()

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
