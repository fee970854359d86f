"""wsbridge: share WebSocket sessions kept alive by the wsbridged daemon.

Three ways in, over one protocol core:

- asyncio: ``async with wsbridge.connect() as c:`` (:func:`connect`,
  :class:`Connection`, :class:`Subscription`);
- blocking: ``with wsbridge.Client() as c:`` (:class:`Client`);
- drop-in faces for existing apps: ``from wsbridge import websocket``
  (shaped like websocket-client) and ``from wsbridge import websockets``
  (shaped like asyncio websockets), with URLs ``wsbridge://SESSION[/CHANNEL]``.

Subscriptions yield :class:`Message`, :class:`Gap` and :class:`StateChange`;
sends return a :class:`SendResult`; the daemon's refusals raise
:class:`Error` subclasses.
"""

from .aio import Connection, Subscription, connect
from .backoff import Backoff
from .client import Client
from .errors import (AccessDenied, AlreadyExists, ConnectionLost, DaemonUnreachable, Error,
                     InvalidArgument, LimitExceeded, NotFound, ProtocolError, QueueFull)
from .model import Gap, Item, Message, SendResult, SessionStatus, StateChange
from .paths import SYSTEM_SOCKET, default_socket

__version__ = "0.1.0"

__all__ = [
    "connect", "Connection", "Subscription", "Client", "Backoff",
    "Message", "Gap", "StateChange", "SessionStatus", "SendResult", "Item",
    "Error", "NotFound", "AccessDenied", "QueueFull", "InvalidArgument", "AlreadyExists",
    "LimitExceeded", "ProtocolError", "DaemonUnreachable", "ConnectionLost",
    "default_socket", "SYSTEM_SOCKET",
]
