"""What the drop-in faces share: the life of one face connection over a
subscription, one warning per unsupported option, and daemon errors as the
face's own exception types.

A face connection is one upstream connection of the session, as the app's
code sees it: it opens when the session is ``open`` (its subscription starts
with the messages that connection opened with), and it closes when the
session's state leaves ``open``, with the close code and reason of the
session's status (the server's, the daemon's own 1000/1001, 1006 for a drop).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
import warnings
from typing import Any, Union

from ._stream import Resubscribed
from .aio import Connection, Subscription
from .errors import DaemonUnreachable, Error
from .model import Gap, Message, SessionStatus, StateChange

log = logging.getLogger("wsbridge.faces")

ABNORMAL = 1006
GOING_AWAY = 1001
#: The reason of the state change when the daemon closes its sessions to stop.
DAEMON_SHUTDOWN = "daemon shutting down"
#: ... and when a session is removed (its connection closes with 1001).
SESSION_REMOVED = "session removed"


@dataclasses.dataclass(frozen=True)
class Closed:
    """The face connection ended: CODE and REASON as the app sees them;
    ERROR when the daemon could not be reached any more; BY_APP when the app
    closed it; FOLLOWS when the same subscription goes on with the session's
    next upstream connection (a state change ended this one)."""

    code: int
    reason: str
    error: BaseException | None = None
    by_app: bool = False
    follows: bool = False


Event = Union[Message, Closed]


class Link:
    """The state of one face connection, fed the items of its subscription.

    Not open yet: it opens at a state change to ``open`` (or at once when
    the subscription started on an open session). Open: messages pass; a
    state change leaving ``open`` closes it with the status' close code; so
    does a resubscription after a daemon reconnect that finds another
    upstream connection (a restarted daemon). STICKY: opens at once and
    never closes for the upstream (today's mode: reconnects hidden).
    """

    def __init__(self, status: SessionStatus | None, sticky: bool = False) -> None:
        self.sticky = sticky
        self.opened: SessionStatus | None = None
        self.closed: Closed | None = None
        self.gaps: list[Gap] = []
        self.state: StateChange | None = None
        self.pending: collections.deque[Message] = collections.deque()
        self.status = status
        if sticky or (status is not None and status.state == "open"):
            self.opened = status
        # Opening messages of a connection that is no longer open (the
        # subscription started between two connections) are not this one's.
        self.stale = (status.epoch, status.last_seq) if status is not None else None
        self.daemon_left = False  # the daemon said it is shutting down

    @property
    def is_open(self) -> bool:
        return self.sticky or (self.opened is not None and self.closed is None)

    def _close(self, code: int, reason: str, error: BaseException | None = None,
               follows: bool = False) -> Closed:
        self.closed = Closed(code, reason, error, follows=follows)
        return self.closed

    def feed(self, item: Any) -> Event | None:
        """What ITEM means to the app: a message, the close, or nothing."""
        if self.closed is not None:
            return None
        if isinstance(item, Message):
            if self.opened is None and not self.sticky:
                stale = self.stale
                if stale is None or item.epoch != stale[0] or item.seq > stale[1]:
                    self.pending.append(item)  # opened before its state change reached us
                return None
            return item
        if isinstance(item, Gap):
            if (not self.sticky and self.opened is not None
                    and item.epoch != self.opened.epoch):
                return self._close(ABNORMAL, "the daemon restarted")
            self.gaps.append(item)
            return None
        if isinstance(item, StateChange):
            self.state = item
            self.status = item.status
            if self.sticky:
                return None
            if self.opened is None:
                if item.state == "open":
                    self.opened = item.status
                return None
            if item.state == "closing" and item.reason == SESSION_REMOVED:
                # No later state comes for a removed session: the daemon's 1001.
                return self._close(GOING_AWAY, item.reason)
            if (item.state == "closing" and not item.status.close_code
                    and item.reason != DAEMON_SHUTDOWN):
                return None  # how it ends comes with the next state
            if item.reason == DAEMON_SHUTDOWN:
                # Not the server's close: the daemon (the face's transport) is
                # going; the face closes with 1006 when the daemon connection
                # gives up, or when a restarted daemon has another connection.
                self.daemon_left = True
                return None
            if item.state != "open" or item.status.reconnects != self.opened.reconnects:
                st = item.status
                if st.close_code:
                    return self._close(st.close_code, st.close_reason, follows=True)
                return self._close(ABNORMAL, st.close_reason or item.reason, follows=True)
            return None
        if isinstance(item, Resubscribed):
            st = item.status
            self.status = st
            if self.sticky:
                return None
            if self.opened is None:
                if st.state == "open":
                    self.opened = st
                return None
            if (self.daemon_left or st.state != "open" or st.epoch != self.opened.epoch
                    or st.reconnects != self.opened.reconnects):
                return self._close(ABNORMAL, "the connection to the daemon was lost "
                                             "and the session's connection with it")
            return None
        return None

    def take_pending(self) -> Message | None:
        if self.pending and self.is_open:
            return self.pending.popleft()
        return None

    def fail(self, error: BaseException) -> Closed:
        """The subscription ended with ERROR (the daemon is gone for good)."""
        return self._close(ABNORMAL, str(error), error)


class AsyncLink:
    """One face connection over a subscription of CONN (an asyncio
    :class:`wsbridge.Connection`); the blocking faces run it on their
    :class:`wsbridge.Client`'s loop. DEADLINEs are ``time.monotonic()``
    values (None: no limit); every wait is total and cancellation-safe."""

    def __init__(self, conn: Connection, session: str, channel: str,
                 sticky: bool = False) -> None:
        self.conn, self.session, self.channel, self.sticky = conn, session, channel, sticky
        self.sub: Subscription | None = None
        self.link = Link(None, sticky)
        self.ended: Closed | None = None

    async def start(self, follow: AsyncLink | None = None) -> AsyncLink:
        """Subscribe (with the opening messages), or go on with the
        subscription of FOLLOW, a link a state change closed."""
        if follow is not None:
            self.sub, follow.sub = follow.sub, None
            self.link = Link(None, self.sticky)
            st = self.link.status = follow.link.status
            if st is not None and st.state == "open":
                self.link.opened = st  # the state change that ended the last one opened this one
            return self
        sub = self.conn.subscribe(self.session, self.channel, opening=True)
        sub._feed.mark_resubscribe = True
        await sub.start()
        self.sub = sub
        self.link = Link(sub.status, self.sticky)
        return self

    @property
    def status(self) -> SessionStatus | None:
        return self.link.status

    async def _item(self, deadline: float | None) -> Any:
        """The next item, None at the deadline, or a Closed."""
        if self.ended is not None:
            return self.ended
        assert self.sub is not None
        try:
            if deadline is None:
                return await self.sub.__anext__()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            return await self.sub.get(remaining)
        except asyncio.TimeoutError:
            return None
        except StopAsyncIteration:
            self.ended = Closed(1000, "", by_app=True)
            return self.ended
        except Error as e:
            self.ended = self.link.fail(e)
            return self.ended

    async def wait_open(self, deadline: float | None) -> bool | Closed:
        """True once open, False at the deadline, or the Closed that ended
        the subscription meanwhile."""
        while not self.link.is_open:
            item = await self._item(deadline)
            if item is None:
                return False
            if isinstance(item, Closed):
                return item
            self.link.feed(item)
        return True

    async def next(self, deadline: float | None) -> Message | Closed | None:
        """The next message, the close, or None at the deadline."""
        link = self.link
        while True:
            message = link.take_pending()
            if message is not None:
                return message
            if link.closed is not None:
                return link.closed
            item = await self._item(deadline)
            if item is None or isinstance(item, Closed):
                return item
            event = link.feed(item)
            if event is not None:
                return event

    def pending(self) -> bool:
        """Is something there to read without waiting?"""
        return bool(self.link.pending) or (self.sub is not None and bool(self.sub._feed.items))

    async def close(self) -> None:
        sub, self.sub = self.sub, None
        if self.ended is None:
            self.ended = Closed(1000, "", by_app=True)
        if sub is not None:
            await sub.aclose()


# ------------------------------------------------------------ warnings

_warned: set[str] = set()


def warn_once(face: str, option: str, instead: str) -> None:
    """One warning per process for an option the face cannot honour."""
    key = f"{face}:{option}"
    if key in _warned:
        return
    _warned.add(key)
    msg = f"wsbridge {face} face: {option} is not used (the shared session decides it); {instead}"
    warnings.warn(msg, RuntimeWarning, stacklevel=3)


#: What to say about options a face cannot honour: the session key that covers it.
SESSION_KEYS = {
    "header": "set the session key 'headers' (wsbridge.conf(5)) instead",
    "headers": "set the session key 'headers' (wsbridge.conf(5)) instead",
    "additional_headers": "set the session key 'headers' (wsbridge.conf(5)) instead",
    "extra_headers": "set the session key 'headers' (wsbridge.conf(5)) instead",
    "cookie": "set a 'Cookie' in the session key 'headers' instead",
    "subprotocols": "set the session key 'subprotocols' instead",
    "origin": "set the session key 'origin' instead",
    "host": "the session's 'url' names the host",
    "user_agent_header": "set a 'User-Agent' in the session key 'headers' instead",
    "compression": "set the session key 'compression' instead",
    "extensions": "the session negotiates its own extensions ('compression')",
    "sslopt": "set the session's TLS keys (tls_ca_file, tls_cert_file, ...) instead",
    "ssl": "set the session's TLS keys (tls_ca_file, tls_cert_file, ...) instead",
    "sockopt": "the daemon owns the socket",
    "socket": "the daemon owns the socket (a prepared socket is not used)",
    "sock": "the daemon owns the socket (a prepared socket is not used)",
    "get_mask_key": "the daemon masks the frames it sends",
    "proxy": "set the session key 'proxy' instead",
    "http_proxy_host": "set the session key 'proxy' instead",
    "http_proxy_port": "set the session key 'proxy' instead",
    "http_proxy_auth": "set the session key 'proxy' instead",
    "http_no_proxy": "set the session key 'proxy' instead",
    "proxy_type": "set the session key 'proxy' instead",
    "proxy_ssl": "set the session key 'proxy' instead",
    "ping_interval": "the session key 'ping_interval' sets the daemon's pings",
    "ping_timeout": "the session key 'pong_timeout' sets the daemon's wait for pongs",
    "ping_payload": "the daemon sends its own pings ('ping_interval')",
    "max_size": "the session key 'max_message_bytes' limits messages",
    "dispatcher": "run_forever reads the daemon's subscription itself",
}


def warn_options(face: str, options: dict[str, Any], ignore: frozenset[str] = frozenset()) -> None:
    """Warn once for each option in OPTIONS that is set and means something
    the shared session decides."""
    for key, value in options.items():
        if key in ignore or value is None or value is False or value == () or value == {}:
            continue
        if key in ("ping_interval", "ping_timeout") and not value:
            continue
        instead = SESSION_KEYS.get(key)
        if instead is None:
            instead = "the shared session decides it (see clients/python/README.md)"
        warn_once(face, f"{key}=", instead)


# ------------------------------------------------------------ exceptions

_mixed: dict[tuple[type, type], type] = {}


def as_face_error(error: BaseException, base: type[BaseException]) -> BaseException:
    """ERROR (a wsbridge.Error) as an instance of a class that is both its
    own class and BASE (the face's exception type), so that ``except
    wsbridge.NotFound`` and the app's ``except <face exception>`` both catch it."""
    if isinstance(error, base) or not isinstance(error, Error):
        return error
    key = (type(error), base)
    cls = _mixed.get(key)
    if cls is None:
        cls = type(type(error).__name__, (type(error), base),
                   {"__module__": base.__module__,
                    "__doc__": f"{type(error).__doc__}\n\n(also a {base.__name__})"})
        _mixed[key] = cls
    new = cls.__new__(cls)  # type: ignore[call-overload]
    new.__dict__.update(error.__dict__)
    new.args = error.args
    new.__cause__ = error.__cause__
    new.__traceback__ = error.__traceback__
    return new  # type: ignore[no-any-return]


__all__ = ["Closed", "Link", "AsyncLink", "warn_once", "warn_options", "as_face_error", "ABNORMAL",
           "DaemonUnreachable"]
