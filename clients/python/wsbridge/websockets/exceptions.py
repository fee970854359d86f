"""websockets' exceptions (``websockets.exceptions``), for the websockets face.

Errors the daemon answers (:class:`wsbridge.NotFound`, ...) are raised as
classes that are both theirs and :class:`InvalidHandshake` (at connect) or
:class:`WebSocketException`, so that existing ``except`` clauses catch them.
"""

from __future__ import annotations

from typing import Any

from .frames import Close, CloseCode

__all__ = [
    "WebSocketException", "ConnectionClosed", "ConnectionClosedOK", "ConnectionClosedError",
    "InvalidURI", "InvalidProxy", "InvalidHandshake", "SecurityError", "RequestLineTooLong",
    "StatusLineTooLong", "HeaderLineTooLong", "TooManyHeaders", "ProxyError",
    "InvalidProxyMessage", "InvalidProxyStatus", "InvalidMessage", "InvalidMethod",
    "InvalidProtocol", "InvalidStatus", "InvalidHeader", "InvalidHeaderFormat",
    "InvalidHeaderValue", "InvalidOrigin", "InvalidUpgrade", "NegotiationError",
    "DuplicateParameter", "InvalidParameterName", "InvalidParameterValue", "ProtocolError",
    "PayloadTooBig", "InvalidState", "ConcurrencyError",
    # legacy names
    "InvalidStatusCode", "AbortHandshake", "RedirectHandshake",
]

OK_CLOSE_CODES = (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD)


class WebSocketException(Exception):
    """Base of this face's exceptions, as in websockets."""


class ConnectionClosed(WebSocketException):
    """The connection is closed. ``rcvd`` is the close frame received (the
    server's code and reason; None for a drop), ``sent`` the one sent,
    ``rcvd_then_sent`` their order. For the older API, ``code`` and
    ``reason`` are the received ones (1006 and why, for a drop)."""

    def __init__(self, rcvd: Close | None, sent: Close | None,
                 rcvd_then_sent: bool | None = None, *, why: str = "") -> None:
        self.rcvd, self.sent, self.rcvd_then_sent = rcvd, sent, rcvd_then_sent
        self.why = why
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.rcvd is None:
            text = ("no close frame received or sent" if self.sent is None
                    else f"sent {self.sent}; no close frame received")
            return f"{text} ({self.why})" if self.why else text
        if self.sent is None:
            return f"received {self.rcvd}; no close frame sent"
        if self.rcvd_then_sent:
            return f"received {self.rcvd}; then sent {self.sent}"
        return f"sent {self.sent}; then received {self.rcvd}"

    @property
    def code(self) -> int:
        return CloseCode.ABNORMAL_CLOSURE if self.rcvd is None else self.rcvd.code

    @property
    def reason(self) -> str:
        return self.why if self.rcvd is None else self.rcvd.reason


class ConnectionClosedOK(ConnectionClosed):
    """Closed properly: 1000 or 1001 (or no code) received and sent."""


class ConnectionClosedError(ConnectionClosed):
    """Closed with an error: another code, or a drop (1006)."""


def closed(rcvd: Close | None, sent: Close | None, rcvd_then_sent: bool | None,
           why: str = "") -> ConnectionClosed:
    """The right ConnectionClosed subclass, as websockets chooses it."""
    ok = (rcvd is not None and sent is not None
          and rcvd.code in OK_CLOSE_CODES and sent.code in OK_CLOSE_CODES)
    cls = ConnectionClosedOK if ok else ConnectionClosedError
    return cls(rcvd, sent, rcvd_then_sent, why=why)


class InvalidURI(WebSocketException):
    """The URI is not ``wsbridge://SESSION[/CHANNEL]``."""

    def __init__(self, uri: str, msg: str) -> None:
        self.uri, self.msg = uri, msg
        super().__init__(f"{uri} isn't a valid URI: {msg}")


class InvalidProxy(WebSocketException):
    def __init__(self, proxy: str = "", msg: str = "") -> None:
        self.proxy, self.msg = proxy, msg
        super().__init__(f"{proxy} isn't a valid proxy: {msg}")


class InvalidHandshake(WebSocketException):
    """The opening failed (the session is unknown, not allowed, ...)."""


class SecurityError(InvalidHandshake):
    pass


class ProxyError(InvalidHandshake):
    pass


class InvalidProxyMessage(ProxyError):
    pass


class InvalidProxyStatus(ProxyError):
    def __init__(self, response: Any = None) -> None:
        self.response = response
        super().__init__("proxy rejected connection")


class InvalidMessage(InvalidHandshake):
    pass


class RequestLineTooLong(SecurityError):
    pass


class StatusLineTooLong(SecurityError):
    pass


class HeaderLineTooLong(SecurityError):
    pass


class TooManyHeaders(SecurityError):
    pass


class InvalidMethod(InvalidMessage):
    pass


class InvalidProtocol(InvalidMessage):
    pass


class InvalidStatus(InvalidHandshake):
    def __init__(self, response: Any = None) -> None:
        self.response = response
        super().__init__("server rejected WebSocket connection")


class InvalidHeader(InvalidHandshake):
    def __init__(self, name: str = "", value: str | None = None) -> None:
        self.name, self.value = name, value
        super().__init__(f"invalid {name} header: {value}")


class InvalidHeaderFormat(InvalidHeader):
    def __init__(self, name: str = "", error: str = "", header: str = "", pos: int = 0) -> None:
        super().__init__(name, f"{error} at {pos} in {header}")


class InvalidHeaderValue(InvalidHeader):
    pass


class InvalidOrigin(InvalidHeader):
    def __init__(self, origin: str | None = None) -> None:
        super().__init__("Origin", origin)


class InvalidUpgrade(InvalidHeader):
    pass


class NegotiationError(InvalidHandshake):
    pass


class DuplicateParameter(NegotiationError):
    def __init__(self, name: str = "") -> None:
        self.name = name
        super().__init__(f"duplicate parameter: {name}")


class InvalidParameterName(NegotiationError):
    def __init__(self, name: str = "") -> None:
        self.name = name
        super().__init__(f"invalid parameter name: {name}")


class InvalidParameterValue(NegotiationError):
    def __init__(self, name: str = "", value: str | None = None) -> None:
        self.name, self.value = name, value
        super().__init__(f"invalid value for parameter {name}: {value}")


class ProtocolError(WebSocketException):
    pass


class PayloadTooBig(ProtocolError):
    pass


class InvalidState(WebSocketException, AssertionError):
    pass


class ConcurrencyError(WebSocketException, RuntimeError):
    """Two coroutines or threads read (or write a fragmented message) at once."""


class InvalidStatusCode(InvalidHandshake):
    """Legacy: the server's HTTP status was not 101."""

    def __init__(self, status_code: int = 0, headers: Any = None) -> None:
        self.status_code, self.headers = status_code, headers
        super().__init__(f"server rejected WebSocket connection: HTTP {status_code}")


class AbortHandshake(InvalidHandshake):
    """Legacy (server side)."""


class RedirectHandshake(InvalidHandshake):
    """Legacy: a redirect (the daemon follows none)."""
