"""Helpers shared by the Python client's tests."""

import asyncio
import os
import pathlib

import wsbtest
from wsbtest import SLOW, session_conf

import wsbridge

#: A deadline for things the contract does not time.
TIMEOUT = 10.0 * SLOW
#: Fast reconnects to the daemon, so restart tests stay short.
FAST_BACKOFF = wsbridge.Backoff(initial=0.05, maximum=0.3, give_up_after=30.0 * SLOW)


def feed(wsb, name="s", **keys):
    """A WebSocket server and a daemon with session NAME open to it."""
    server = wsb.server()
    daemon = wsb.daemon(session_conf(name, server.url, **keys))
    daemon.wait_state(name, "open")
    return server, daemon


def run(coro, timeout=TIMEOUT * 3):
    """Run CORO on a fresh event loop, failing the test after TIMEOUT s."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def take(sub, n, timeout=TIMEOUT):
    """The next N items of SUB (an async subscription)."""
    return [await sub.get(timeout) for _ in range(n)]


def take_blocking(sub, n, timeout=TIMEOUT):
    return [sub.get(timeout) for _ in range(n)]


def texts(items):
    return [i.data for i in items if isinstance(i, wsbridge.Message)]


def client_env(**extra):
    """os.environ for a subprocess that imports wsbridge from the build tree."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def wait_received(server, n, timeout=TIMEOUT):
    """What SERVER received from the daemon, once it is at least N messages."""
    return wsbtest.wait_for(lambda: len(server.received()) >= n and server.received(), timeout,
                            lambda: f"{n} messages at the server, got {server.received()}")


BUILD_PACKAGE = pathlib.Path(os.environ["WSB_BUILD_ROOT"]) / "clients" / "python"


async def next_event(sub, timeout=TIMEOUT):
    """The next Message or Gap of SUB (an async subscription), state changes skipped."""
    while True:
        item = await sub.get(timeout)
        if not isinstance(item, wsbridge.StateChange):
            return item


def next_event_blocking(sub, timeout=TIMEOUT):
    while True:
        item = sub.get(timeout)
        if not isinstance(item, wsbridge.StateChange):
            return item
