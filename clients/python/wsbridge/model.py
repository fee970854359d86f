"""What the APIs return: messages, gaps, state changes, session status and
send results.

A :class:`Message` that the fast path of :mod:`wsbridge.framing` split off
has its ``data`` decoded and keeps a view of the chunk it arrived in (no copy
per message) until one of its other fields is read, which decodes them all.
"""

from __future__ import annotations

import dataclasses
from typing import Union

from . import wsbridge_pb2 as pb
from .wire import FIXED_PART, varint, varint_at

__all__ = ["Message", "Gap", "StateChange", "SessionStatus", "SendResult", "Item",
           "state_name"]

def _len_field(mv: memoryview, pos: int) -> tuple[int, int]:
    """(start, end) of the length-delimited field at POS (tag byte, length)."""
    length, start = varint_at(mv, pos + 1)
    return start, start + length


def state_name(value: int) -> str:
    """``SESSION_STATE_BACKOFF`` (as a number) -> ``"backoff"``."""
    try:
        return str(pb.SessionState.Name(value)).removeprefix("SESSION_STATE_").lower()
    except ValueError:
        return "unspecified"


class Message:
    """One inbound message of a session, as a subscriber receives it.

    ``session``, ``channel`` (``"*"`` unless routed), ``seq`` (per session,
    from 1), ``epoch`` (changes whenever seq restarts), ``time_us`` (wall-clock
    receive time, µs since the Unix epoch), ``data`` (``str`` for a text
    message, ``bytes`` for a binary one) and ``binary``.
    """

    # The fast path of wsbridge.framing sets data and refers to the chunk the
    # message came in (_mv) and where its frame starts (_ms), decoding the other
    # fields when they are read; otherwise _mv is None and the others hold
    # the values.
    __slots__ = ("data", "_mv", "_ms", "_session", "_channel", "_seq", "_epoch", "_time_us")

    data: str | bytes
    _mv: memoryview | None
    _ms: int
    _session: str
    _channel: str
    _seq: int
    _epoch: int
    _time_us: int

    def __init__(self, session: str, channel: str, seq: int, epoch: int, time_us: int,
                 data: str | bytes) -> None:
        self.data = data
        self._mv = None
        self._session, self._channel = session, channel
        self._seq, self._epoch, self._time_us = seq, epoch, time_us

    @classmethod
    def _from_pb(cls, p: pb.Message) -> Message:
        data: str | bytes = p.data if p.binary else p.data.decode("utf-8", "replace")
        return cls(p.session, p.channel, p.seq, p.epoch, p.time_us, data)

    @property
    def binary(self) -> bool:
        return type(self.data) is bytes

    def _decode(self) -> None:
        """Decode session, channel, seq, epoch and time_us from the chunk,
        where the frame (its Event) starts at _ms."""
        mv = self._mv
        assert mv is not None
        ms = _len_field(mv, self._ms)[0]  # the Event's fields
        ms = varint_at(mv, ms + 1)[1]     # after subscription_id
        ms = _len_field(mv, ms)[0]        # the Message's fields
        s0, s1 = _len_field(mv, ms)
        c0, c1 = _len_field(mv, s1)
        fixed = FIXED_PART.match(mv, c1)
        assert fixed is not None  # the fast path matched it
        self._session, self._channel = str(mv[s0:s1], "utf-8"), str(mv[c0:c1], "utf-8")
        self._seq = varint(fixed.group(1))
        self._epoch = int.from_bytes(fixed.group(2), "little")
        raw = varint(fixed.group(3))
        self._time_us = raw - (1 << 64) if raw >= 1 << 63 else raw
        self._mv = None

    @property
    def session(self) -> str:
        if self._mv is not None:
            self._decode()
        return self._session

    @property
    def channel(self) -> str:
        if self._mv is not None:
            self._decode()
        return self._channel

    @property
    def seq(self) -> int:
        if self._mv is not None:
            self._decode()
        return self._seq

    @property
    def epoch(self) -> int:
        if self._mv is not None:
            self._decode()
        return self._epoch

    @property
    def time_us(self) -> int:
        if self._mv is not None:
            self._decode()
        return self._time_us

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
    the Unix epoch) of the next try while in backoff, else 0; ``close_code`` and
    ``close_reason`` say how the session's last open upstream connection ended
    (the server's close code and reason, the daemon's own 1000 or 1001, 1006
    for a drop; 0 and "" before any ended, or from a daemon older than API 1.2)."""

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
    close_code: int = 0
    close_reason: str = ""

    @classmethod
    def _from_pb(cls, p: pb.SessionStatus) -> SessionStatus:
        return cls(p.name, p.url, state_name(p.state), p.reason, p.epoch, p.last_seq,
                   p.reconnects, p.rx_messages, p.tx_messages, p.queued_messages, p.rtt_us,
                   p.next_retry_us, p.close_code, p.close_reason)


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
