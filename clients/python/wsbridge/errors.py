"""Exceptions raised by every API of the package.

Everything the daemon refuses arrives as an :class:`Error` (or one of its
subclasses) carrying the daemon's error code and text; a daemon that cannot be
reached is :class:`DaemonUnreachable`, naming the socket and the reason.
"""

from __future__ import annotations

__all__ = [
    "Error", "NotFound", "AccessDenied", "QueueFull", "InvalidArgument", "AlreadyExists",
    "LimitExceeded", "ProtocolError", "DaemonUnreachable", "ConnectionLost", "error_for",
]


class Error(Exception):
    """An error answered by the daemon (or found by the client).

    ``code`` is the daemon's ``ErrorCode`` name without its prefix, e.g.
    ``"NOT_FOUND"``; ``message`` is the daemon's text, which names the problem.
    """

    code: str = "UNSPECIFIED"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(Error):
    """No such session or subscription (``NOT_FOUND``)."""

    code = "NOT_FOUND"


class AccessDenied(Error):
    """The daemon does not let this user use the session (``ACCESS_DENIED``)."""

    code = "ACCESS_DENIED"


class QueueFull(Error):
    """The session's send queue is at its limit: the send was rejected (``QUEUE_FULL``)."""

    code = "QUEUE_FULL"


class InvalidArgument(Error):
    """A value is not acceptable, e.g. a bad session name (``INVALID_ARGUMENT``)."""

    code = "INVALID_ARGUMENT"


class AlreadyExists(Error):
    """A session of that name exists (``ALREADY_EXISTS``)."""

    code = "ALREADY_EXISTS"


class LimitExceeded(Error):
    """A per-connection limit of the daemon was reached (``LIMIT_EXCEEDED``)."""

    code = "LIMIT_EXCEEDED"


class ProtocolError(Error):
    """The daemon and this client do not understand each other (``PROTOCOL``,
    ``VERSION_MISMATCH``, ``MALFORMED_FRAME``, ``FRAME_TOO_LARGE``), or the
    daemon sent something this client cannot decode."""

    code = "PROTOCOL"


class DaemonUnreachable(Error):
    """The daemon's socket cannot be reached (not running, wrong path, no
    permission), or a subscription gave up reconnecting to it.

    ``socket`` is the path tried and ``reason`` why it failed.
    """

    code = "UNREACHABLE"

    def __init__(self, socket: str, reason: str) -> None:
        super().__init__(f"cannot reach wsbridged at {socket}: {reason}")
        self.socket = socket
        self.reason = reason


class ConnectionLost(DaemonUnreachable):
    """The connection to the daemon ended while a request waited for its reply
    (or a send for its outcome): whether the daemon carried it out is unknown."""

    code = "CONNECTION_LOST"


_BY_CODE: dict[str, type[Error]] = {
    cls.code: cls
    for cls in (NotFound, AccessDenied, QueueFull, InvalidArgument, AlreadyExists, LimitExceeded)
}
for _code in ("PROTOCOL", "VERSION_MISMATCH", "MALFORMED_FRAME", "FRAME_TOO_LARGE"):
    _BY_CODE[_code] = ProtocolError


def error_for(code: str, message: str) -> Error:
    """The exception for the daemon's error CODE (a name such as ``"QUEUE_FULL"``)."""
    return _BY_CODE.get(code, Error)(message, code)
