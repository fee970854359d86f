"""The protocol core shared by every API: hello, request ids matched to
replies, events routed by subscription id. It does no I/O: a driver (the
asyncio client) writes the bytes it returns and feeds it what it reads.
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Protocol, Union

from . import wsbridge_pb2 as pb
from .errors import Error, ProtocolError, error_for
from .framing import FrameReader, encode_frame
from .model import Gap, Item, Message, SessionStatus, StateChange

__all__ = ["Core", "Sink", "API_MAJOR", "API_MINOR", "check_reply", "error_from_pb"]

API_MAJOR = 1
API_MINOR = 2

#: Called with a request's Reply, or with the exception that ended the connection.
ReplyHandler = Callable[[Union[pb.Reply, Exception]], None]


class Sink(Protocol):
    """Where the events of one subscription go: ``deliver`` gets each item
    decoded by protobuf; the fast path of FrameReader appends messages to
    ``items`` itself, sets ``last`` and calls ``wake`` once per chunk read."""

    session: str
    channel: str
    items: collections.deque[Item]
    last: Message | Gap | None

    def deliver(self, item: Item) -> None: ...

    def wake(self) -> None: ...


def error_from_pb(err: pb.Error) -> Error:
    name = pb.ErrorCode.Name(err.code) if err.code in pb.ErrorCode.values() else "UNSPECIFIED"
    return error_for(name.removeprefix("ERROR_CODE_"), err.message or name)


def check_reply(reply: pb.Reply, result: str) -> pb.Reply:
    """REPLY if it carries RESULT (a Reply.result field name); raises the
    daemon's error otherwise."""
    kind = reply.WhichOneof("result")
    if kind == "error":
        raise error_from_pb(reply.error)
    if kind != result:
        raise ProtocolError(f"the daemon answered {kind or 'nothing'} where {result} was due")
    return reply


class Core:
    """One connection's protocol state.

    ``on_hello(HelloReply)``, ``on_outcome(SendOutcome)`` and
    ``on_error(Error)`` (a connection-level error frame) are set by the driver;
    ``subscriptions`` maps subscription ids to their sinks.
    """

    def __init__(self, on_hello: Callable[[pb.HelloReply], None],
                 on_outcome: Callable[[pb.SendOutcome], None],
                 on_error: Callable[[Error], None]) -> None:
        self.on_hello, self.on_outcome, self.on_error = on_hello, on_outcome, on_error
        self.subscriptions: dict[int, Sink] = {}
        #: Called with a RingStart event (set by the asyncio driver).
        self.on_ring: Callable[[pb.Event], None] = lambda event: None
        self._pending: dict[int, ReplyHandler] = {}
        self._next_id = 1
        self._reader = FrameReader(self.subscriptions, self._on_frame)

    @staticmethod
    def hello(client_name: str, ring_version: int = 0) -> bytes:
        return encode_frame(pb.ClientFrame(hello=pb.Hello(
            api_major=API_MAJOR, api_minor=API_MINOR, client_name=client_name,
            ring_version=ring_version)))

    def request(self, op: str, body: Any, on_reply: ReplyHandler) -> bytes:
        """The frame of a request OP (a Request.op field name) carrying BODY;
        ON_REPLY gets its reply once it arrives."""
        req_id, self._next_id = self._next_id, self._next_id + 1
        frame = encode_frame(pb.ClientFrame(request=pb.Request(id=req_id, **{op: body})))
        self._pending[req_id] = on_reply
        return frame

    def feed(self, data: bytes) -> None:
        """Handle bytes read from the socket."""
        self._reader.feed(data)

    def fail(self, exc: Exception) -> None:
        """The connection is gone: every request still waiting gets EXC."""
        pending, self._pending = self._pending, {}
        for handler in pending.values():
            handler(exc)

    def _on_frame(self, frame: pb.ServerFrame) -> None:
        kind = frame.WhichOneof("frame")
        if kind == "reply":
            handler = self._pending.pop(frame.reply.id, None)
            if handler is not None:
                handler(frame.reply)
        elif kind == "event":
            self._on_event(frame.event)
        elif kind == "hello":
            self.on_hello(frame.hello)
        elif kind == "error":
            self.on_error(error_from_pb(frame.error))

    def _on_event(self, event: pb.Event) -> None:
        kind = event.WhichOneof("event")
        if kind == "outcome":
            self.on_outcome(event.outcome)
            return
        if kind == "ring":
            self.on_ring(event)
            return
        sink = self.subscriptions.get(event.subscription_id)
        if sink is None:
            return
        if kind == "message":
            sink.deliver(Message._from_pb(event.message))
        elif kind == "gap":
            sink.deliver(Gap._from_pb(event.gap))
        elif kind == "state":
            sink.deliver(StateChange._from_pb(event.state))


def statuses(reply: pb.Reply) -> list[SessionStatus]:
    return [SessionStatus._from_pb(s) for s in reply.list_sessions.sessions]
