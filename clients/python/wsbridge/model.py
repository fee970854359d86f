"""What the APIs return: messages, gaps, state changes, session status and
send results.

A :class:`Message` read from the socket is decoded lazily: it keeps a view of
the chunk it arrived in (no copy per message) and decodes a field the first
time it is read. The daemon encodes every message the same way (DESIGN.md,
``proto/wsbridge.proto``: fields in a fixed order, data last), which is what
the fast path expects; anything else is decoded by the generated protobuf
classes.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Union

from . import wsbridge_pb2 as pb

__all__ = ["Message", "Gap", "StateChange", "SessionStatus", "SendResult", "Item",
           "state_name"]

# After the session and channel fields: seq (varint), epoch (fixed64),
# time_us (varint), binary (only when true), then the data's tag and length.
_FIXED_PART = re.compile(
    rb"\x18([\x80-\xff]{0,9}[\x00-\x7f])\x21(.{8})\x28([\x80-\xff]{0,9}[\x00-\x7f])"
    rb"(\x30\x01)?\x3a([\x80-\xff]{0,9}[\x00-\x7f])", re.DOTALL)


def _varint(raw: bytes | memoryview) -> int:
    value, shift = 0, 0
    for byte in raw:
        value |= (byte & 0x7F) << shift
        shift += 7
    return value


def _len_field(mv: memoryview, pos: int, tag: int) -> tuple[int, int] | None:
    """(start, end) of the length-delimited field TAG at POS, or None."""
    if mv[pos] != tag:
        return None
    pos += 1
    length, shift = 0, 0
    while True:
        byte = mv[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return pos, pos + length
        shift += 7


def state_name(value: int) -> str:
    """``SESSION_STATE_BACKOFF`` (as a number) -> ``"backoff"``."""
    try:
        return pb.SessionState.Name(value).removeprefix("SESSION_STATE_").lower()
    except ValueError:
        return "unspecified"


class Message:
    """One inbound message of a session, as a subscriber receives it.

    ``session``, ``channel`` (``"*"`` unless routed), ``seq`` (per session,
    from 1), ``epoch`` (changes whenever seq restarts), ``time_us`` (wall-clock
    receive time, µs since the Unix epoch), ``binary`` and ``data``: ``str`` for
    a text message, ``bytes`` for a binary one.
    """

    __slots__ = ("_mv", "_start", "_end", "_fixed", "_data_start", "_session", "_channel",
                 "_seq", "_epoch", "_time_us", "_binary", "_data")

    def __init__(self, session: str, channel: str, seq: int, epoch: int, time_us: int,
                 data: str | bytes) -> None:
        self._mv = None
        self._session, self._channel = session, channel
        self._seq, self._epoch, self._time_us = seq, epoch, time_us
        self._binary = isinstance(data, bytes)
        self._data = data

    @classmethod
    def _from_wire(cls, mv: memoryview, start: int, end: int) -> Message:
        """The encoded Message in MV[START:END] (the buffer must not change)."""
        m = cls.__new__(cls)
        m._mv, m._start, m._end = mv, start, end
        m._fixed = m._data = None
        return m

    @classmethod
    def _from_pb(cls, p: pb.Message) -> Message:
        data: str | bytes = p.data if p.binary else p.data.decode("utf-8", "replace")
        return cls(p.session, p.channel, p.seq, p.epoch, p.time_us, data)

    def _locate(self) -> None:
        """Find the fields in the encoded bytes; fall back to protobuf for an
        encoding the fast path does not know."""
        mv, start, end = self._mv, self._start, self._end
        try:
            session = _len_field(mv, start, 0x0A)
            channel = session and _len_field(mv, session[1], 0x12)
            fixed = channel and _FIXED_PART.match(mv, channel[1], end)
        except IndexError:
            fixed = None
        if fixed and fixed.end() + _varint(fixed.group(5)) == end:
            self._session, self._channel = session, channel
            self._fixed = fixed
            self._data_start = fixed.end()
            self._binary = fixed.group(4) is not None
            self._seq = self._epoch = self._time_us = None
            return
        p = pb.Message.FromString(mv[start:end])
        decoded = Message._from_pb(p)
        for name in Message.__slots__[5:]:
            setattr(self, name, getattr(decoded, name))
        self._mv = None

    def _field(self, name: str) -> object:
        if self._mv is not None and self._fixed is None:
            self._locate()
        return getattr(self, name)

    @property
    def session(self) -> str:
        value = self._field("_session")
        if isinstance(value, tuple):
            value = self._session = str(self._mv[value[0]:value[1]], "utf-8")
        return value  # type: ignore[return-value]

    @property
    def channel(self) -> str:
        value = self._field("_channel")
        if isinstance(value, tuple):
            value = self._channel = str(self._mv[value[0]:value[1]], "utf-8")
        return value  # type: ignore[return-value]

    @property
    def seq(self) -> int:
        value = self._field("_seq")
        if value is None:
            value = self._seq = _varint(self._fixed.group(1))  # type: ignore[union-attr]
        return value  # type: ignore[return-value]

    @property
    def epoch(self) -> int:
        value = self._field("_epoch")
        if value is None:
            value = self._epoch = int.from_bytes(self._fixed.group(2), "little")  # type: ignore[union-attr]
        return value  # type: ignore[return-value]

    @property
    def time_us(self) -> int:
        value = self._field("_time_us")
        if value is None:
            raw = _varint(self._fixed.group(3))  # type: ignore[union-attr]
            value = self._time_us = raw - (1 << 64) if raw >= 1 << 63 else raw
        return value  # type: ignore[return-value]

    @property
    def binary(self) -> bool:
        return self._field("_binary")  # type: ignore[return-value]

    @property
    def data(self) -> str | bytes:
        value = self._data
        if value is None:
            if self._fixed is None:
                self._locate()
                if self._mv is None:
                    return self._data  # type: ignore[return-value]
            raw = self._mv[self._data_start:self._end]  # type: ignore[index]
            value = self._data = bytes(raw) if self._binary else str(raw, "utf-8", "replace")
        return value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (self.session, self.channel, self.seq, self.epoch, self.time_us, self.data)

    def __repr__(self) -> str:
        return (f"Message(session={self.session!r}, channel={self.channel!r}, seq={self.seq}, "
                f"epoch={self.epoch}, time_us={self.time_us}, data={self.data!r})")


@dataclasses.dataclass(frozen=True)
class Gap:
    """Messages ``from_seq`` to ``to_seq`` (inclusive) of this channel will never
    be delivered: the history no longer held them, this client read too slowly,
    or the daemon restarted (a new ``epoch``)."""

    session: str
    channel: str
    from_seq: int
    to_seq: int
    epoch: int

    @classmethod
    def _from_pb(cls, p: pb.Gap) -> Gap:
        return cls(p.session, p.channel, p.from_seq, p.to_seq, p.epoch)


@dataclasses.dataclass(frozen=True)
class SessionStatus:
    """A session as the daemon sees it. ``state`` is one of ``"disconnected"``,
    ``"connecting"``, ``"open"``, ``"backoff"``, ``"closing"``; ``reason`` says
    why it entered that state; ``next_retry_us`` is the wall-clock time (µs since
    the Unix epoch) of the next try while in backoff, else 0."""

    name: str
    url: str
    state: str
    reason: str
    epoch: int
    last_seq: int
    reconnects: int
    rx_messages: int
    tx_messages: int
    queued_messages: int
    rtt_us: int
    next_retry_us: int

    @classmethod
    def _from_pb(cls, p: pb.SessionStatus) -> SessionStatus:
        return cls(p.name, p.url, state_name(p.state), p.reason, p.epoch, p.last_seq,
                   p.reconnects, p.rx_messages, p.tx_messages, p.queued_messages, p.rtt_us,
                   p.next_retry_us)


@dataclasses.dataclass(frozen=True)
class StateChange:
    """The session's upstream connection changed state (``state``, ``reason``);
    ``status`` has the rest of the session's status."""

    session: str
    state: str
    reason: str
    status: SessionStatus

    @classmethod
    def _from_pb(cls, p: pb.StateChange) -> StateChange:
        status = SessionStatus._from_pb(p.status)
        return cls(status.name, status.state, status.reason, status)


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What became of a send: ``id`` (per session), and with ``wait=True`` its
    ``outcome``: ``"sent"`` (handed to the upstream socket), ``"expired"``
    (waited in the queue longer than its TTL) or ``"cancelled"`` (the session
    was removed, or the daemon stopped without ``queue_persist``), with the
    daemon's ``reason`` for anything but sent. A send the daemon refuses
    (``rejected``) raises :class:`wsbridge.QueueFull` or
    :class:`wsbridge.InvalidArgument` instead."""

    id: int
    outcome: str | None = None
    reason: str = ""


#: What a subscription yields.
Item = Union[Message, Gap, StateChange]
