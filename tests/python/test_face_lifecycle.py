"""Issue 24: a face object is one upstream connection, as the app's code
assumes. The upstream server here subscribes per connection (it ticks only
after a "subscribe" text on *that* connection, and greets every connection):
an app that subscribes when it opens keeps receiving after every restart of
the server, in every face, because the face closes with the connection
(with its code) and opens again for the next one, greeting first."""

import asyncio
import threading
import time

import pytest
from pyclient import TIMEOUT, run
from wsbtest import session_conf, wait_for

import wsbridge
from wsbridge import websocket, websockets
from wsbridge.websockets.sync.client import connect as sync_connect

TICKS = ("--tick-after-subscribe", "--send-interval", "0.05", "--greeting", "welcome {conn}")


def ticking(wsb, *extra, **keys):
    """A server that ticks per subscribed connection, and a daemon whose
    session "s" is open to it."""
    server = wsb.server(*TICKS, *extra)
    daemon = wsb.daemon(session_conf("s", server.url, backoff_initial_ms=50,
                                     backoff_max_ms=200, **keys))
    daemon.wait_state("s", "open")
    return server, daemon


def conn_ids(server):
    return [c["conn"] for c in server.connects()]


def conn_id(server, n):
    """The id of the server's N-th connection (1-based), once it recorded it
    (the daemon can report "open" before the server's record is there)."""
    return server.wait_connects(n)[n - 1]["conn"]


def restart(server, how):
    """End the server's connections (terminate: close 1012; kill: a drop)
    and start it again on the same port."""
    if how == "terminate":
        server.terminate()
    else:
        server.kill()
    server.restart()


class Log:
    """What an app saw, in order, thread-safe."""

    def __init__(self):
        self.items, self.lock = [], threading.Lock()

    def add(self, *item):
        with self.lock:
            self.items.append(item)

    def of(self, kind):
        with self.lock:
            return [i[1:] for i in self.items if i[0] == kind]

    def ticks_after(self, greeting):
        """'msg N' messages after the greeting GREETING."""
        with self.lock:
            msgs = [i[1] for i in self.items if i[0] == "message"]
        if greeting not in msgs:
            return []
        return [m for m in msgs[msgs.index(greeting) + 1:]
                if isinstance(m, str) and m.startswith("msg ")]


def wait_ticks(log, server, n_conn, count=3):
    """At least COUNT ticks of the N_CONN-th connection (1-based) after its greeting."""
    conns = wait_for(lambda: len(conn_ids(server)) >= n_conn and conn_ids(server), TIMEOUT,
                     f"connection {n_conn}")
    greeting = f"welcome {conns[n_conn - 1]}"
    wait_for(lambda: len(log.ticks_after(greeting)) >= count, TIMEOUT,
             lambda: f"{count} ticks after {greeting!r}, app saw {log.items[-12:]}")
    return greeting


# ------------------------------------------------------------ websocket-client face

def test_websocket_app_resubscribes_on_open_after_every_restart(wsb):
    server, daemon = ticking(wsb)
    log = Log()

    def on_open(ws):
        log.add("open")
        ws.send('{"op": "subscribe"}')

    ws = websocket.WebSocketApp(
        "wsbridge://s", on_open=on_open,
        on_message=lambda ws, m: log.add("message", m),
        on_error=lambda ws, e: log.add("error", e),
        on_close=lambda ws, code, reason: log.add("close", code, reason),
        socket=str(daemon.socket))
    result = []
    app = threading.Thread(target=lambda: result.append(ws.run_forever(reconnect=0.05)))
    app.start()
    try:
        wait_ticks(log, server, 1)
        restart(server, "terminate")
        wait_ticks(log, server, 2)
        restart(server, "kill")
        wait_ticks(log, server, 3)
    finally:
        ws.close()
        app.join(TIMEOUT)
    assert not app.is_alive() and result == [False], result
    closes = log.of("close")
    assert closes[0] == (1012, "server restart"), closes
    assert closes[1][0] == 1006, closes
    assert closes[-1] == (1000, ""), closes
    assert len(log.of("open")) == 3, log.items
    assert not log.of("error"), log.of("error")
    # Each open follows a close, each connection's greeting comes first.
    kinds = [i[0] for i in log.items if i[0] in ("open", "close")]
    assert kinds == ["open", "close", "open", "close", "open", "close"], kinds


def test_websocket_app_on_reconnect_and_end_without_reconnect(wsb):
    """on_reconnect replaces on_open for later connections; without
    reconnect, run_forever ends with on_close(server's code)."""
    server, daemon = ticking(wsb, "--close-after", "0.6", "--close-code", "4001")
    log = Log()
    ws = websocket.WebSocketApp(
        "wsbridge://s", on_open=lambda ws: (log.add("open"), ws.send("subscribe")),
        on_reconnect=lambda ws: (log.add("reconnect"), ws.send("subscribe")),
        on_message=lambda ws, m: log.add("message", m),
        on_close=lambda ws, code, reason: log.add("close", code, reason),
        socket=str(daemon.socket))
    result = []
    app = threading.Thread(target=lambda: result.append(ws.run_forever(reconnect=0.05)))
    app.start()
    try:
        wait_for(lambda: len(log.of("reconnect")) >= 2, TIMEOUT, lambda: log.items)
    finally:
        ws.close()
        app.join(TIMEOUT)
    assert log.of("open") == [()], log.items
    assert log.of("close")[0] == (4001, "server says bye"), log.items

    log2 = Log()
    ws2 = websocket.WebSocketApp(
        "wsbridge://s", on_open=lambda ws: log2.add("open"),
        on_error=lambda ws, e: log2.add("error", e),
        on_close=lambda ws, code, reason: log2.add("close", code, reason),
        socket=str(daemon.socket))
    t0 = time.monotonic()
    assert ws2.run_forever() is False
    assert time.monotonic() - t0 < TIMEOUT
    assert log2.of("open") == [()] and log2.of("close") == [(4001, "server says bye")], log2.items


def test_create_connection_sees_greeting_close_code_and_new_connection(wsb):
    """A WebSocket opened on a running session gets the greeting first; the
    server's close arrives as recv() == "" / the close frame, then
    WebSocketConnectionClosedException; a new create_connection waits for
    the session to be open again."""
    server, daemon = ticking(wsb, "--close-after", "1.0", "--close-code", "4001")
    conn = wait_for(lambda: conn_ids(server), TIMEOUT, "a connection")[0]
    time.sleep(0.2)  # the greeting is old news when the app comes
    ws = websocket.create_connection("wsbridge://s", timeout=TIMEOUT, socket=str(daemon.socket))
    assert ws.recv() == f"welcome {conn}"
    assert ws.recv_data() == (websocket.ABNF.OPCODE_CLOSE,
                              (4001).to_bytes(2, "big") + b"server says bye")
    assert not ws.connected
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()
    ws.close()

    ws = websocket.create_connection("wsbridge://s", timeout=TIMEOUT, socket=str(daemon.socket))
    second = conn_id(server, 2)
    assert second != conn and ws.recv() == f"welcome {second}"
    assert ws.recv() == ""  # recv() shows the server's close as websocket-client does
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()


def test_create_connection_drop_raises_at_once(wsb):
    server, daemon = ticking(wsb)
    ws = websocket.create_connection("wsbridge://s", timeout=TIMEOUT, socket=str(daemon.socket))
    assert ws.recv().startswith("welcome ")
    ws.send("subscribe")
    assert ws.recv() == "msg 1"
    server.kill()
    with pytest.raises(websocket.WebSocketConnectionClosedException) as e:
        while True:
            assert ws.recv().startswith("msg ")
    assert "lost" in str(e.value)
    assert ws.close_status == 1006
    server.restart()
    ws = websocket.create_connection("wsbridge://s", timeout=TIMEOUT, socket=str(daemon.socket))
    assert ws.recv() == f"welcome {conn_id(server, 2)}"
    ws.send("subscribe")
    assert ws.recv() == "msg 1"
    ws.close()


def test_deadlines_are_total_while_the_session_flaps(wsb):
    """create_connection(timeout=) and recv() give up at their deadline even
    while state changes keep arriving."""
    server = wsb.server("--close-after", "0.1", "--close-code", "4002")
    daemon = wsb.daemon(session_conf("s", server.url, backoff_initial_ms=20,
                                     backoff_max_ms=50))
    daemon.wait_state("s", "open")
    # The session opens and closes every ~0.15 s, and no message comes.
    ws = websocket.create_connection("wsbridge://s", timeout=1.0, sticky=True,
                                     socket=str(daemon.socket))
    t0 = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    assert 0.9 <= time.monotonic() - t0 < 2.0
    assert len(server.connects()) >= 4
    ws.close()
    daemon.ctl_ok("disconnect", "s")
    daemon.wait_state("s", "disconnected")
    t0 = time.monotonic()
    with pytest.raises(websocket.WebSocketTimeoutException):
        websocket.create_connection("wsbridge://s", timeout=0.5, socket=str(daemon.socket))
    assert 0.45 <= time.monotonic() - t0 < 1.5


def test_daemon_errors_are_the_faces_exceptions(wsb):
    server, daemon = ticking(wsb)
    with pytest.raises(websocket.WebSocketException) as e:
        websocket.create_connection("wsbridge://nosuch", timeout=TIMEOUT,
                                    socket=str(daemon.socket))
    assert isinstance(e.value, wsbridge.NotFound) and e.value.code == "NOT_FOUND"

    async def main():
        with pytest.raises(websockets.exceptions.InvalidHandshake) as e:
            await websockets.connect("wsbridge://nosuch", socket=daemon.socket)
        assert isinstance(e.value, wsbridge.NotFound)
    run(main())
    with pytest.raises(websockets.exceptions.WebSocketException) as e:
        sync_connect("wsbridge://nosuch", socket=daemon.socket)
    assert isinstance(e.value, wsbridge.NotFound)


# ------------------------------------------------------------ websockets face

def test_websockets_reconnect_iterator_resubscribes_after_every_restart(wsb):
    server, daemon = ticking(wsb)
    log = Log()

    async def main():
        n = 0
        async for websocket in websockets.connect("wsbridge://s", socket=daemon.socket):
            log.add("open")
            n += 1
            ticks = 0
            try:
                await websocket.send('{"op": "subscribe"}')
                async for message in websocket:
                    log.add("message", message)
                    ticks += message.startswith("msg ")
                    if n == 3 and ticks >= 3:
                        await websocket.close()
                        return websocket
            except websockets.ConnectionClosed as e:
                log.add("close", e.rcvd.code if e.rcvd else None, type(e).__name__,
                        websocket.state, websocket.close_code)
                continue

    async def restarts():
        await asyncio.to_thread(wait_ticks, log, server, 1)
        await asyncio.to_thread(restart, server, "terminate")
        await asyncio.to_thread(wait_ticks, log, server, 2)
        await asyncio.to_thread(restart, server, "kill")
        await asyncio.to_thread(wait_ticks, log, server, 3)

    async def both():
        return await asyncio.gather(main(), restarts())
    last, _ = run(both())
    assert last.state is websockets.State.CLOSED and last.close_code == 1000
    closes = log.of("close")
    assert closes == [(1012, "ConnectionClosedError", websockets.State.CLOSED, 1012),
                      (None, "ConnectionClosedError", websockets.State.CLOSED, 1006)], closes
    assert len(log.of("open")) == 3


def test_websockets_close_codes_reach_connection_closed(wsb):
    """The server's 4001 arrives in ConnectionClosedError.rcvd; a 1000 from
    the server ends `async for` quietly (ConnectionClosedOK)."""
    server, daemon = ticking(wsb, "--close-after", "0.8", "--close-code", "4001")

    async def main():
        async with websockets.connect("wsbridge://s", socket=daemon.socket) as ws:
            greeting = await ws.recv()
            assert greeting.startswith("welcome ")
            assert ws.state is websockets.State.OPEN and ws.subprotocol is None
            assert isinstance(ws.latency, float)
            pong = await ws.ping()
            assert await pong == ws.latency
            with pytest.raises(websockets.exceptions.ConnectionClosedError) as e:
                await ws.recv()
            assert e.value.rcvd.code == 4001 and e.value.rcvd.reason == "server says bye"
            assert e.value.sent.code == 4001 and e.value.rcvd_then_sent is True
            assert ws.close_code == 4001 and ws.close_reason == "server says bye"
            with pytest.raises(websockets.exceptions.ConnectionClosedError):
                await ws.send("too late")
    run(main())


def test_websockets_server_normal_close_ends_iteration(wsb):
    server, daemon = ticking(wsb, "--close-after", "0.5", "--close-code", "1000")

    async def main():
        async with websockets.connect("wsbridge://s", socket=daemon.socket) as ws:
            got = [m async for m in ws]
            assert got[0].startswith("welcome ") and ws.close_code == 1000
            with pytest.raises(websockets.ConnectionClosedOK) as e:
                await ws.recv()
            assert e.value.rcvd.code == 1000
    run(main())


def test_websockets_open_timeout_and_sync_client(wsb):
    server, daemon = ticking(wsb)

    # The threading client: greeting first, recv(timeout) total, close on a drop.
    with sync_connect("wsbridge://s", socket=daemon.socket) as ws:
        assert ws.recv(timeout=TIMEOUT) == f"welcome {conn_id(server, 1)}"
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
        assert 0.25 < time.monotonic() - t0 < 1.5
        ws.send("subscribe")
        assert ws.recv(timeout=TIMEOUT) == "msg 1"
        server.kill()
        with pytest.raises(websockets.ConnectionClosedError) as e:
            while True:
                assert ws.recv(timeout=TIMEOUT).startswith("msg ")
        assert e.value.rcvd is None and ws.close_code == 1006
    daemon.ctl_ok("disconnect", "s")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        sync_connect("wsbridge://s", socket=daemon.socket, open_timeout=0.5)

    async def main():
        with pytest.raises(TimeoutError):
            await websockets.connect("wsbridge://s", socket=daemon.socket, open_timeout=0.5)
    run(main())
    server.restart()
    daemon.ctl_ok("connect", "s")
    with sync_connect("wsbridge://s", socket=daemon.socket, open_timeout=TIMEOUT) as ws:
        assert ws.recv(timeout=TIMEOUT) == f"welcome {conn_id(server, 2)}"


def test_faces_open_again_after_a_daemon_restart(wsb):
    """The daemon restarts (a new daemon, a new upstream connection): each
    face closes (1006) and opens again; the app subscribes again and ticks
    come from the new connection."""
    server = wsb.server(*TICKS)
    conf = session_conf("s", server.url, backoff_initial_ms=50, backoff_max_ms=200)
    first = wsb.daemon(conf)
    first.wait_state("s", "open")
    link = wsb.rundir / "client.sock"
    link.symlink_to(first.socket)
    fast = wsbridge.Backoff(initial=0.05, maximum=0.2, give_up_after=TIMEOUT * 2)
    app_log, aio_log = Log(), Log()

    def on_open(ws):
        app_log.add("open")
        ws.send("subscribe app")

    app = websocket.WebSocketApp(
        "wsbridge://s", on_open=on_open, on_message=lambda ws, m: app_log.add("message", m),
        on_close=lambda ws, code, reason: app_log.add("close", code),
        socket=str(link), backoff=fast)
    thread = threading.Thread(target=app.run_forever, kwargs={"reconnect": 0.05})
    thread.start()

    async def iterate(done):
        async for ws in websockets.connect("wsbridge://s", socket=link, backoff=fast):
            aio_log.add("open")
            await ws.send("subscribe aio")
            try:
                async for m in ws:
                    aio_log.add("message", m)
                    if done.is_set():
                        await ws.close()
                        return
            except websockets.ConnectionClosed as e:
                aio_log.add("close", e.code)

    async def main():
        done = asyncio.Event()
        task = asyncio.create_task(iterate(done))
        await asyncio.to_thread(wait_ticks, app_log, server, 1)
        await asyncio.to_thread(wait_ticks, aio_log, server, 1, 1)
        assert first.stop() == 0
        second = wsb.daemon(conf)
        second.wait_state("s", "open")
        link.unlink()
        link.symlink_to(second.socket)
        await asyncio.to_thread(wait_ticks, app_log, server, 2)
        await asyncio.to_thread(wait_ticks, aio_log, server, 2)
        done.set()
        await asyncio.wait_for(task, TIMEOUT)
    try:
        run(main())
    finally:
        app.close()
        thread.join(TIMEOUT)
    assert app_log.of("close")[:1] == [(1006,)] and len(app_log.of("open")) == 2, app_log.items
    assert aio_log.of("close") == [(1006,)] and len(aio_log.of("open")) == 2, aio_log.items


def test_faces_report_the_daemons_own_close_codes(wsb):
    """A `disconnect` closes the session with 1000: the faces close with it
    (ConnectionClosedOK ends `async for`); after `connect` a new face opens
    with the new connection's greeting."""
    server, daemon = ticking(wsb)
    ws = websocket.create_connection("wsbridge://s", timeout=TIMEOUT, socket=str(daemon.socket))
    assert ws.recv().startswith("welcome ")

    async def main():
        async with websockets.connect("wsbridge://s", socket=daemon.socket) as conn:
            assert (await conn.recv()).startswith("welcome ")
            await asyncio.to_thread(daemon.ctl_ok, "disconnect", "s")
            got = [m async for m in conn]
            assert got == [] and conn.close_code == 1000, (got, conn.close_code)
    run(main())
    opcode, data = ws.recv_data()
    assert opcode == websocket.ABNF.OPCODE_CLOSE and data[:2] == (1000).to_bytes(2, "big"), data
    daemon.ctl_ok("connect", "s")
    ws2 = websocket.create_connection("wsbridge://s", timeout=TIMEOUT, socket=str(daemon.socket))
    assert ws2.recv() == f"welcome {conn_id(server, 2)}" and len(conn_ids(server)) == 2
    ws2.close()


def test_sticky_mode_hides_upstream_reconnects(wsb):
    """sticky=True is the explicit old mode: one on_open, no on_close at an
    upstream restart, the new connection's greeting arrives as a message."""
    server, daemon = ticking(wsb)
    log = Log()
    app = websocket.WebSocketApp(
        "wsbridge://s", sticky=True, on_open=lambda ws: log.add("open"),
        on_message=lambda ws, m: log.add("message", m),
        on_close=lambda ws, code, reason: log.add("close", code), socket=str(daemon.socket))
    thread = threading.Thread(target=app.run_forever)
    thread.start()
    try:
        wait_for(lambda: log.of("open"), TIMEOUT, "on_open")
        restart(server, "kill")
        second = wait_for(lambda: len(conn_ids(server)) >= 2 and conn_ids(server)[1], TIMEOUT,
                          "a second connection")
        wait_for(lambda: ("message", f"welcome {second}") in log.items, TIMEOUT,
                 lambda: log.items)
    finally:
        app.close()
        thread.join(TIMEOUT)
    assert log.of("open") == [()] and log.of("close") == [(1000,)], log.items


def test_faces_close_when_the_session_is_removed(wsb):
    """Removing a session closes its connection with 1001: the faces close
    with it, and reconnecting ends with the daemon's NotFound."""
    server = wsb.server("--greeting", "hi")
    daemon = wsb.daemon("")
    with wsbridge.Client(daemon.socket) as c:
        c.create_session("r", server.url)
        daemon.wait_state("r", "open")
        ws = websocket.create_connection("wsbridge://r", timeout=TIMEOUT,
                                         socket=str(daemon.socket))
        assert ws.recv() == "hi"
        log = Log()
        app = websocket.WebSocketApp(
            "wsbridge://r", on_open=lambda a: log.add("open"),
            on_error=lambda a, e: log.add("error", type(e)),
            on_close=lambda a, code, reason: log.add("close", code, reason),
            socket=str(daemon.socket))
        thread = threading.Thread(target=app.run_forever, kwargs={"reconnect": 0.05})
        thread.start()
        wait_for(lambda: log.of("open"), TIMEOUT, "on_open")
        c.remove_session("r")
        assert ws.recv_data() == (websocket.ABNF.OPCODE_CLOSE,
                                  (1001).to_bytes(2, "big") + b"session removed")
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    assert log.of("close") == [(1001, "session removed")], log.items
    errors = log.of("error")
    assert len(errors) == 1 and issubclass(errors[0][0], wsbridge.NotFound), errors
    assert issubclass(errors[0][0], websocket.WebSocketException)
