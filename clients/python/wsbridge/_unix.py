"""A Unix stream socket on an asyncio loop that keeps the file descriptors
that come with the data (SCM_RIGHTS), which asyncio's own transports drop:
the daemon hands a subscription's shared-memory ring over this way.

It is the part of an asyncio transport the client uses: ``write``,
``close``, ``pause_reading``/``resume_reading``, and the protocol callbacks
``connection_made``, ``data_received``, ``fds_received``,
``connection_lost``, ``pause_writing``/``resume_writing``.
"""

from __future__ import annotations

import asyncio
import collections
import os
import socket
from typing import Any

READ_SIZE = 256 * 1024
MAX_FDS = 16
HIGH_WATER = 64 * 1024
LOW_WATER = 16 * 1024


class UnixStream:
    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol: Any) -> None:
        self._loop, self._sock, self._protocol = loop, sock, protocol
        self._fd = sock.fileno()
        self._out: collections.deque[memoryview] = collections.deque()
        self._out_bytes = 0
        self._reading = True
        self._writing_paused = False
        self._closing = False  # close() waits for what is buffered
        self._closed = False
        loop.add_reader(self._fd, self._read_ready)
        protocol.connection_made(self)

    # ---------------------------------------------------------- reading

    def _read_ready(self) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(self._sock, READ_SIZE, MAX_FDS,
                                              socket.MSG_CMSG_CLOEXEC)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._lose(e)
            return
        if fds:
            self._protocol.fds_received(fds)
        if not data:
            self._lose(None)
            return
        self._protocol.data_received(data)

    def pause_reading(self) -> None:
        if self._reading and not self._closed:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self._reading and not self._closed:
            self._reading = True
            self._loop.add_reader(self._fd, self._read_ready)

    # ---------------------------------------------------------- writing

    def write(self, data: bytes) -> None:
        if self._closed or self._closing or not data:
            return
        if not self._out:
            try:
                n = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as e:
                self._lose(e)
                return
            if n == len(data):
                return
            data = memoryview(data)[n:]
            self._loop.add_writer(self._fd, self._write_ready)
        self._out.append(memoryview(data))
        self._out_bytes += len(data)
        if self._out_bytes > HIGH_WATER and not self._writing_paused:
            self._writing_paused = True
            self._protocol.pause_writing()

    def _write_ready(self) -> None:
        while self._out:
            chunk = self._out[0]
            try:
                n = self._sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self._lose(e)
                return
            self._out_bytes -= n
            if n < len(chunk):
                self._out[0] = chunk[n:]
                return
            self._out.popleft()
        self._loop.remove_writer(self._fd)
        if self._closing:
            self._lose(None)
            return
        if self._writing_paused and self._out_bytes <= LOW_WATER:
            self._writing_paused = False
            self._protocol.resume_writing()

    # ---------------------------------------------------------- closing

    def is_closing(self) -> bool:
        return self._closed or self._closing

    def close(self) -> None:
        """Stops reading and closes once what is buffered is written, as
        asyncio's transports do."""
        if self._out and not self._closed:
            self._closing = True
            self.pause_reading()
            return
        self._lose(None)

    def _lose(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._out.clear()
        self._sock.close()
        self._loop.call_soon(self._protocol.connection_lost, exc)


async def open_unix_stream(loop: asyncio.AbstractEventLoop, path: str, protocol: Any) -> UnixStream:
    """Connects to PATH; raises OSError as socket.connect would."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, path)
    except BaseException:
        sock.close()
        raise
    return UnixStream(loop, sock, protocol)


def close_fds(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
