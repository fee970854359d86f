"""Protobuf wire-format pieces that the fast path decodes by hand: varints,
and the layout in which the daemon encodes every Message."""

from __future__ import annotations

import re

from .errors import ProtocolError

__all__ = ["encode_varint", "varint_at", "varint", "FIXED_PART"]

# A Message after its session and channel fields: seq (varint), epoch
# (fixed64), time_us (varint), binary (only when true), then the data's tag
# and length. The daemon always writes them in this order (framing.c).
FIXED_PART = re.compile(
    rb"\x18([\x80-\xff]{0,9}[\x00-\x7f])\x21(.{8})\x28([\x80-\xff]{0,9}[\x00-\x7f])"
    rb"(\x30\x01)?\x3a([\x80-\xff]{0,9}[\x00-\x7f])", re.DOTALL)


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint_at(data: bytes | memoryview, pos: int) -> tuple[int, int]:
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


def varint(raw: bytes | memoryview) -> int:
    """The value of RAW, one whole varint (a FIXED_PART group)."""
    return varint_at(raw, 0)[0]
