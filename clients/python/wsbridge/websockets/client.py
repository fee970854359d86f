"""The legacy import path ``websockets.client`` (websockets < 14 had
``connect`` and ``WebSocketClientProtocol`` here): the same connection as
:mod:`wsbridge.websockets.asyncio.client`."""

from .asyncio.client import ClientConnection, WebSocketClientProtocol, connect, unix_connect

__all__ = ["connect", "unix_connect", "WebSocketClientProtocol", "ClientConnection"]
