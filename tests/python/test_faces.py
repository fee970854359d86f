"""Apps written the way websocket-client's and websockets' docs show, with
only the import and the URL changed, run against the daemon: messages
arrive, send reaches the upstream server, close ends the app."""

import threading

from pyclient import TIMEOUT, feed, run, wait_received
from wsbtest import wait_for

import wsbridge
from wsbridge import websocket, websockets


def test_websocket_app_with_constructor_callbacks(wsb):
    """websocket-client's README example, long-lived connection."""
    server, daemon = feed(wsb, channel_key="/ch")
    seen, closed, opened = [], [], threading.Event()

    def on_message(ws, message):
        seen.append(message)
        if len(seen) == 2:
            ws.send("thanks")
            ws.close()

    def on_error(ws, error):
        seen.append(f"error: {error!r}")

    def on_close(ws, close_status_code, close_msg):
        closed.append((close_status_code, close_msg))

    def on_open(ws):
        ws.send('{"op":"hello"}')
        opened.set()

    ws = websocket.WebSocketApp("wsbridge://s/eu", on_open=on_open, on_message=on_message,
                                on_error=on_error, on_close=on_close, socket=str(daemon.socket))
    app = threading.Thread(target=ws.run_forever)
    app.start()
    assert opened.wait(TIMEOUT)
    server.inject('{"ch":"us","n":0}', '{"ch":"eu","n":1}', '{"ch":"eu","n":2}')
    app.join(TIMEOUT)
    assert not app.is_alive(), "close() did not end run_forever"
    assert seen == ['{"ch":"eu","n":1}', '{"ch":"eu","n":2}'] and closed == [(1000, "")], (
        seen, closed)
    assert wait_received(server, 2) == ['{"op":"hello"}', "thanks"]


def test_websocket_app_with_attribute_callbacks_and_old_arities(wsb):
    """Callbacks assigned afterwards, on_close(ws) as older versions call it,
    send from another thread while run_forever runs, close from outside."""
    server, daemon = feed(wsb)
    seen, closed, opened = [], [], threading.Event()
    ws = websocket.WebSocketApp("wsbridge://s", socket=str(daemon.socket))

    def on_close(ws):
        closed.append(ws)

    class Handler:
        def on_message(self, ws, message):
            seen.append(message)

    ws.on_open = lambda ws: opened.set()
    ws.on_message = Handler().on_message
    ws.on_close = on_close
    ws.on_data = lambda ws, data, opcode, fin: seen.append((opcode, fin))
    app = threading.Thread(target=ws.run_forever, kwargs={"ping_interval": 30})
    app.start()
    assert opened.wait(TIMEOUT)
    ws.send("from another thread")
    ws.send(b"\x00\x01", opcode=websocket.ABNF.OPCODE_BINARY)
    server.inject("text", b"\x02bin")
    wait_for(lambda: len(seen) == 4, TIMEOUT, lambda: f"4 callbacks, got {seen}")
    ws.close()
    app.join(TIMEOUT)
    assert not app.is_alive() and closed == [ws], closed
    assert seen == [(websocket.ABNF.OPCODE_TEXT, True), "text",
                    (websocket.ABNF.OPCODE_BINARY, True), b"\x02bin"], seen
    assert wait_received(server, 2) == ["from another thread", b"\x00\x01"]


def test_create_connection_send_recv_close(wsb):
    """websocket-client's short-lived connection example."""
    server, daemon = feed(wsb)
    ws = websocket.create_connection("wsbridge://s", socket=str(daemon.socket), timeout=TIMEOUT)
    ws.send("Hello, World")
    server.inject("Hello back")
    assert ws.recv() == "Hello back"
    ws.close()
    assert wait_received(server, 1) == ["Hello, World"]
    try:
        ws.recv()
    except websocket.WebSocketConnectionClosedException:
        pass
    else:
        raise AssertionError("recv after close did not raise")
    try:
        websocket.create_connection("ws://example.com/")
    except websocket.WebSocketAddressException as e:
        assert "wsbridge://" in str(e)
    else:
        raise AssertionError("a ws:// URL was accepted")


def test_websockets_client_app(wsb):
    """The websockets docs' client: connect as a context manager, send,
    recv, then async for until the connection is closed."""
    server, daemon = feed(wsb)
    uri = "wsbridge://s"

    async def hello():
        async with websockets.connect(uri, socket=daemon.socket) as websocket_:
            await websocket_.send("Hello world!")
            server.inject("first", b"\x00second", "last")
            message = await websocket_.recv()
            seen = [message]
            async for message in websocket_:
                seen.append(message)
                if message == "last":
                    await websocket_.close()
            assert websocket_.closed and websocket_.close_code == 1000
            return seen
    assert run(hello()) == ["first", b"\x00second", "last"]
    assert wait_received(server, 1) == ["Hello world!"]


def test_websockets_recv_after_close_and_bad_uri(wsb):
    server, daemon = feed(wsb)

    async def main():
        ws = await websockets.connect("wsbridge://s/*", socket=daemon.socket)
        await ws.close()
        try:
            await ws.recv()
        except websockets.ConnectionClosedOK as e:
            assert e.code == 1000
        else:
            raise AssertionError("recv after close did not raise")
        try:
            websockets.connect("wss://example.com/")
        except websockets.InvalidURI:
            pass
        else:
            raise AssertionError("a wss:// URI was accepted")
    run(main())


GIVE_UP = wsbridge.Backoff(initial=0.05, maximum=0.1, give_up_after=1.0)


def test_faces_close_when_the_daemon_is_gone_for_good(wsb):
    server, daemon = feed(wsb)
    errors, closed, opened = [], [], threading.Event()
    ws = websocket.WebSocketApp("wsbridge://s", socket=str(daemon.socket), backoff=GIVE_UP,
                                on_open=lambda ws: opened.set(),
                                on_error=lambda ws, e: errors.append(e),
                                on_close=lambda ws, code, reason: closed.append((code, reason)))
    result = []
    app = threading.Thread(target=lambda: result.append(ws.run_forever()))
    app.start()
    assert opened.wait(TIMEOUT)

    async def main():
        async with websockets.connect("wsbridge://s", socket=daemon.socket,
                                      backoff=GIVE_UP) as conn:
            assert daemon.stop() == 0
            try:
                async for message in conn:
                    raise AssertionError(f"unexpected message {message!r}")
            except websockets.ConnectionClosedError as e:
                assert e.code == 1006 and "gave up" in e.reason, e
            else:
                raise AssertionError("async for ended without ConnectionClosedError")
    run(main())
    app.join(TIMEOUT)
    assert result == [True], result
    assert len(errors) == 1 and isinstance(errors[0], wsbridge.DaemonUnreachable), errors
    assert closed and closed[0][0] == 1006 and "gave up" in closed[0][1], closed
