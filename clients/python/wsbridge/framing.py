"""The socket API's framing: every frame is one protobuf message preceded by
its length as a varint.

:class:`FrameReader` takes whatever the socket gave (large chunks) and splits
it into frames without copying each one: a message event becomes a lazily
decoded :class:`wsbridge.Message` over a view of the chunk; every other frame
is decoded with the generated protobuf classes.
"""

from __future__ import annotations

from typing import Callable

from . import wsbridge_pb2 as pb
from .errors import ProtocolError
from .model import Message

__all__ = ["encode_frame", "encode_varint", "FrameReader", "MAX_FRAME_BYTES"]

#: Frames larger than this are refused (the daemon's max_frame_bytes is far below).
MAX_FRAME_BYTES = 64 << 20

_EVENT = 0x1A            # ServerFrame.event, length-delimited
_SUBSCRIPTION_ID = 0x08  # Event.subscription_id, varint
_MESSAGE = 0x12          # Event.message, length-delimited


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_frame(frame: pb.ClientFrame) -> bytes:
    """FRAME serialized with its length prefix."""
    body = frame.SerializeToString()
    return encode_varint(len(body)) + body


class FrameReader:
    """Splits the daemon's byte stream into frames.

    ``on_message(subscription_id, message)`` gets each message event,
    ``on_frame(frame)`` every other :class:`ServerFrame`.
    """

    def __init__(self, on_message: Callable[[int, Message], None],
                 on_frame: Callable[[pb.ServerFrame], None]) -> None:
        self._on_message = on_message
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
        on_message = self._on_message
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
            # ServerFrame{event{subscription_id, message}}: the fast path.
            if data[start] == _EVENT and length > 4:
                p = start + 1
                while data[p] >= 0x80:
                    p += 1
                p += 1
                if data[p] == _SUBSCRIPTION_ID:
                    sid = data[p + 1]
                    p += 2
                    if sid >= 0x80:
                        sid, p = self._varint_at(data, p - 1)
                    if data[p] == _MESSAGE:
                        p += 1
                        while data[p] >= 0x80:
                            p += 1
                        on_message(sid, Message._from_wire(mv, p + 1, end))
                        continue
            self._on_frame(self._decode(mv[start:end]))
        self._tail = data[pos:] if pos < n else b""

    @staticmethod
    def _varint_at(data: bytes, pos: int) -> tuple[int, int]:
        """(value, position after it) of the varint at POS."""
        value, shift = 0, 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, pos
            shift += 7
            if shift > 63:
                raise ProtocolError("bad varint from the daemon")

    def _long_length(self, data: bytes, pos: int) -> tuple[int, int] | None:
        """(start, length) of a frame whose length takes more than two bytes,
        or None when the length is not complete yet."""
        end = min(len(data), pos + 10)
        for i in range(pos, end):
            if data[i] < 0x80:
                length, start = self._varint_at(data, pos)
                if length > MAX_FRAME_BYTES:
                    raise ProtocolError(f"frame of {length} bytes from the daemon")
                return start, length
        if end - pos >= 10:
            raise ProtocolError("bad frame length from the daemon")
        return None

    @staticmethod
    def _decode(body: memoryview) -> pb.ServerFrame:
        try:
            return pb.ServerFrame.FromString(body)
        except Exception as e:  # protobuf's DecodeError, or a bad buffer
            raise ProtocolError(f"undecodable frame from the daemon: {e}") from None
