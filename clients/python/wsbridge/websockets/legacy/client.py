"""The legacy import path ``websockets.legacy.client``: the same connection as
:mod:`wsbridge.websockets.asyncio.client` (``extra_headers`` is warned like
``additional_headers``)."""

from ..asyncio.client import ClientConnection, WebSocketClientProtocol, connect, unix_connect

Connect = connect

__all__ = ["connect", "unix_connect", "WebSocketClientProtocol", "ClientConnection", "Connect"]
