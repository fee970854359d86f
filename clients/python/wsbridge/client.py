"""The blocking API: :class:`Client`, for scripts and threads.

.. code-block:: python

    import wsbridge

    with wsbridge.Client() as c:
        print(c.send("demo", "hello", wait=True).outcome)
        for item in c.subscribe("demo"):
            print(item)

It is the asyncio :class:`wsbridge.Connection` running on an event loop in a
thread of its own, so it behaves exactly the same (one connection, replies
matched by id, reconnects and resume after a daemon restart). Its methods
may be called from any thread, also while another thread iterates a
subscription.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import os
import threading
from typing import Any, Coroutine, Iterator, Mapping, TypeVar

from .aio import Connection, OptionValue, Subscription as AsyncSubscription
from .backoff import Backoff
from .model import Gap, Item, Message, SendResult, SessionStatus

__all__ = ["Client", "Subscription"]

T = TypeVar("T")


class Client:
    """A blocking connection to the daemon at SOCKET (default: as
    ``wsbridgectl``, ``$WSBRIDGE_SOCKET``, else the user instance's socket).

    Raises :class:`wsbridge.DaemonUnreachable` when the daemon cannot be
    reached. The methods are those of :class:`wsbridge.Connection`, without
    ``await``. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, socket: str | os.PathLike[str] | None = None, *,
                 client_name: str | None = None,
                 reconnect: Backoff | None = Backoff()) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="wsbridge-client",
                                        daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self._conn: Connection = self._run(self._open(socket, client_name, reconnect))
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _open(socket: str | os.PathLike[str] | None, client_name: str | None,
                    reconnect: Backoff | None) -> Connection:
        return await Connection(socket, client_name=client_name, reconnect=reconnect)._open()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run CORO on the client's loop and wait for it; an interrupted or
        timed-out wait cancels it."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a blocking wsbridge.Client call from one of its own callbacks")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            if fut.cancel():
                raise TimeoutError(f"no answer within {timeout} s") from None
            return fut.result()  # it finished just now
        except BaseException:
            fut.cancel()
            raise

    @property
    def socket(self) -> str:
        """The socket path in use."""
        return self._conn.socket

    @property
    def daemon_version(self) -> str:
        return self._conn.daemon_version

    def close(self) -> None:
        """Close the connection; subscriptions end."""
        if self._closed:
            return
        self._closed = True
        try:
            self._run(self._conn.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sessions(self) -> list[SessionStatus]:
        """See :meth:`wsbridge.Connection.sessions`."""
        return self._run(self._conn.sessions())

    def status(self, session: str) -> SessionStatus:
        """See :meth:`wsbridge.Connection.status`."""
        return self._run(self._conn.status(session))

    def subscribe(self, session: str, channel: str = "*", since_seq: int = 0,
                  epoch: int = 0, opening: bool = False) -> Subscription:
        """Subscribe (the daemon has answered when this returns) and return a
        plain iterator of Message, Gap and StateChange; see
        :meth:`wsbridge.Connection.subscribe`."""
        sub = self._conn.subscribe(session, channel, since_seq, epoch, opening)
        self._run(sub.start())
        return Subscription(self, sub)

    def send(self, session: str, data: str | bytes | bytearray | memoryview, wait: bool = False,
             ttl_ms: int = 0) -> SendResult:
        """See :meth:`wsbridge.Connection.send`."""
        return self._run(self._conn.send(session, data, wait, ttl_ms))

    def history(self, session: str, channel: str = "*", last: int = 0) -> list[Message | Gap]:
        """See :meth:`wsbridge.Connection.history`."""
        return self._run(self._conn.history(session, channel, last))

    def create_session(self, name: str, url: str,
                       options: Mapping[str, OptionValue] | None = None,
                       persist: bool = False) -> SessionStatus:
        """See :meth:`wsbridge.Connection.create_session`."""
        return self._run(self._conn.create_session(name, url, options, persist))

    def remove_session(self, name: str) -> None:
        """See :meth:`wsbridge.Connection.remove_session`."""
        self._run(self._conn.remove_session(name))

    def connect_session(self, name: str) -> None:
        """See :meth:`wsbridge.Connection.connect_session`."""
        self._run(self._conn.connect_session(name))

    def disconnect_session(self, name: str) -> None:
        """See :meth:`wsbridge.Connection.disconnect_session`."""
        self._run(self._conn.disconnect_session(name))


class Subscription:
    """A plain iterator over one subscription of a :class:`Client`; ends when
    it is closed (or the client is). Breaking out of the loop and dropping
    the object unsubscribes; so does :meth:`close` or leaving ``with``."""

    def __init__(self, client: Client, sub: AsyncSubscription) -> None:
        self._client = client
        self._sub = sub
        self._batch: collections.deque[Item] = collections.deque()
        self.session, self.channel = sub.session, sub.channel
        #: The session as it was when the subscription started.
        self.status = sub.status

    def __iter__(self) -> Iterator[Item]:
        return self

    def __next__(self) -> Item:
        if not self._batch:
            self._batch.extend(self._client._run(self._sub._batch()))
            if not self._batch:
                raise StopIteration
        return self._batch.popleft()

    def get(self, timeout: float | None = None) -> Item:
        """The next item; TimeoutError when none comes within TIMEOUT seconds,
        StopIteration once the subscription is closed."""
        if not self._batch:
            self._batch.extend(self._client._run(self._sub._batch(), timeout))
            if not self._batch:
                raise StopIteration
        return self._batch.popleft()

    def close(self) -> None:
        """Unsubscribe; iteration ends. May be called from any thread."""
        if not self._client._closed:
            self._client._run(self._sub.aclose())

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
