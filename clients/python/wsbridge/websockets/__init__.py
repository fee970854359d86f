"""A face shaped like websockets (``import websockets``), over wsbridge.

An app moves onto a shared session by changing its import and its URL::

    import asyncio
    from wsbridge import websockets         # was: import websockets

    async def main():
        async for websocket in websockets.connect("wsbridge://demo/eu"):
            try:
                await websocket.send('{"op": "subscribe"}')
                async for message in websocket:
                    print(message)
            except websockets.ConnectionClosed:
                continue

    asyncio.run(main())

The module paths of websockets resolve under it: ``wsbridge.websockets.exceptions``,
``wsbridge.websockets.asyncio.client``, ``wsbridge.websockets.sync.client``,
``wsbridge.websockets.client`` (legacy), ``.frames``, ``.protocol``, ``.typing``.
One connection is one upstream connection of the session: it closes with it
(``ConnectionClosed*`` with the server's close frame in ``rcvd``), and the
reconnect iterator yields a new one for the next. Differences from websockets
are listed in clients/python/README.md.
"""

from .asyncio.client import ClientConnection, WebSocketClientProtocol, connect, unix_connect
from .exceptions import *  # noqa: F401,F403
from .exceptions import __all__ as _exceptions
from .frames import Close, CloseCode, Frame, Opcode
from .protocol import State
from .typing import Data, ExtensionName, ExtensionParameter, LoggerLike, Origin, StatusLike, \
    Subprotocol

__all__ = [
    "connect", "unix_connect", "ClientConnection", "WebSocketClientProtocol",
    "Close", "CloseCode", "Frame", "Opcode", "State",
    "Data", "ExtensionName", "ExtensionParameter", "LoggerLike", "Origin", "StatusLike",
    "Subprotocol", *_exceptions,
]
