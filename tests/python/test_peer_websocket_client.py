"""The client-side behaviours websocket-client's own tests check
(websocket/tests/test_app.py and test_websocket.py), written afresh against
the face, with a local echo server behind a session as their local-server
tests use one. Their tests of library internals (key and nonce generation,
header parsing, frame buffers and fragmentation, the UTF-8 validator, the
dispatcher classes: 15 of 46) have no face counterpart; the behaviours that
differ (pings and pongs are the daemon's, the socket is the daemon's, the
handshake is the daemon's) are listed in clients/python/README.md."""

import threading
import time

import pytest
from peer_examples import echo_daemon
from pyclient import TIMEOUT

from wsbridge import websocket as ws


@pytest.fixture
def echo(wsb):
    _, greet, daemon = echo_daemon(wsb)
    ws.setdefaulttimeout(None)
    yield str(daemon.socket)
    ws.setdefaulttimeout(None)


# ---------------------------------------------------------------- test_websocket.py

def test_wsc_default_timeout():
    assert ws.getdefaulttimeout() is None
    ws.setdefaulttimeout(10)
    assert ws.getdefaulttimeout() == 10
    ws.setdefaulttimeout(None)


def test_wsc_send_returns_frame_length_and_recv_text(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo)
    assert s.send("Hello") == 11
    assert s.send("こんにちは") == 21
    assert s.send_binary(b"1111111111101") == 19
    assert s.recv() == "Hello" and s.recv() == "こんにちは"
    assert s.recv() == b"1111111111101"
    s.close()


def test_wsc_iter_and_next(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo)
    s.send('{"event": "subscribe", "channel": "ticker"}')
    s.send("second")
    count = 2
    for _ in s:
        count -= 1
        if count == 0:
            break
    s.send("x")
    assert type(next(s)) is str
    s.close()


def test_wsc_recv_timeout_then_recv(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo)
    s.settimeout(0.2)
    with pytest.raises(ws.WebSocketTimeoutException):
        s.recv()
    with pytest.raises(ws.WebSocketTimeoutException):
        s.recv()
    s.send("Hello, World!")
    assert s.recv() == "Hello, World!"
    s.close()
    with pytest.raises(ws.WebSocketConnectionClosedException):
        s.recv()


def test_wsc_close(echo):
    sock = ws.WebSocket()
    sock.connected = True
    sock.close()
    sock = ws.create_connection("wsbridge://echo", socket=echo)
    sock.send("close 1000 ")
    assert sock.recv() == ""  # the server's close
    assert sock.connected is False


def test_wsc_websocket(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo)
    assert s is not None
    s.send("Hello, World")
    result = s.next()
    assert s.fileno() >= 0
    assert result == "Hello, World"
    s.send("こにゃにゃちは、世界")
    assert s.recv() == "こにゃにゃちは、世界"
    with pytest.raises(ValueError):
        s.send_close(-1, "")
    s.close()


def test_wsc_ping_pong(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo)
    s.ping("Hello")
    s.pong("Hi")
    s.close()


def test_wsc_status_headers_timeout_subprotocol_abort(echo):
    """test_secure_websocket's checks that the face can make (the session is
    ws://, and s.sock is the face, not an SSLSocket)."""
    s = ws.create_connection("wsbridge://echo", socket=echo)
    assert s.getstatus() == 101 and s.getheaders() is not None and not s.is_ssl()
    s.settimeout(10)
    assert s.gettimeout() == 10 and s.getsubprotocol() is None
    s.abort()
    assert not s.connected


def test_wsc_websocket_with_custom_header(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo,
                             headers={"User-Agent": "PythonWebsocketClient"})
    assert s.getsubprotocol() is None
    s.send("Hello, World")
    assert s.recv() == "Hello, World"
    with pytest.raises(ValueError):
        s.close(-1, "")
    s.close()


def test_wsc_after_close(echo):
    s = ws.create_connection("wsbridge://echo", socket=echo)
    s.close()
    with pytest.raises(ws.WebSocketConnectionClosedException):
        s.send("Hello")
    with pytest.raises(ws.WebSocketConnectionClosedException):
        s.recv()


def test_wsc_ipv6_and_bad_urls():
    with pytest.raises(ValueError):
        ws.WebSocket().connect("2001:4860:4860::8888")
    websock3 = ws.WebSocket()
    with pytest.raises(ValueError):
        websock3.connect("ws//example.com")
    with pytest.raises(ws.WebSocketAddressException):
        websock3.connect("ws://example")
    with pytest.raises(ValueError):
        websock3.connect("example.com")


# ---------------------------------------------------------------- test_app.py

def test_wsc_app_keep_running(echo):
    seen = {}

    def on_open(self, *args, **kwargs):
        self.send("hello!")
        seen["open"] = self.keep_running
        self.keep_running = False

    def on_message(_, message):
        seen["message"] = message

    def on_close(self, *args, **kwargs):
        seen["close"] = self.keep_running

    app = ws.WebSocketApp("wsbridge://echo", on_open=on_open, on_close=on_close,
                          on_message=on_message, socket=echo)
    app.run_forever()
    assert seen["open"] is True and seen["close"] is False, seen


def test_wsc_app_teardown_clean_exit(echo):
    app = ws.WebSocketApp("wsbridge://echo", socket=echo)
    threading.Timer(interval=0.2, function=app.close).start()
    assert app.run_forever() is False


def test_wsc_app_sock_mask_key(echo):
    def my_mask_key_func():
        return "\x00\x00\x00\x00"
    app = ws.WebSocketApp("wsbridge://echo", get_mask_key=my_mask_key_func, socket=echo)
    assert id(app.get_mask_key) == id(my_mask_key_func)


def test_wsc_app_bad_ping_arguments(echo):
    app = ws.WebSocketApp("wsbridge://echo", socket=echo)
    with pytest.raises(ws.WebSocketException):
        app.run_forever(ping_interval=1, ping_timeout=2)
    with pytest.raises(ws.WebSocketException):
        app.run_forever(ping_interval=-5)
    with pytest.raises(ws.WebSocketException):
        app.run_forever(ping_timeout=-3)


def test_wsc_app_opcode_close_ends_run_forever(echo):
    closed = []
    app = ws.WebSocketApp("wsbridge://echo", socket=echo,
                          on_open=lambda a: a.send("close 4003 no-init-from-client"),
                          on_close=lambda a, code, msg: closed.append((code, msg)))
    t0 = time.monotonic()
    app.run_forever(ping_interval=2, ping_timeout=1, ping_payload="Ping payload")
    assert time.monotonic() - t0 < TIMEOUT
    assert closed == [(4003, "no-init-from-client")]


def test_wsc_app_close_status_code_and_send_when_closed(echo):
    codes = []
    app = ws.WebSocketApp("wsbridge://echo", socket=echo,
                          on_open=lambda a: a.send("close 1000 no-init-from-client"),
                          on_close=lambda a, code, msg: codes.append((code, msg)))
    app.run_forever()
    assert codes == [(1000, "no-init-from-client")]
    with pytest.raises(ws.WebSocketConnectionClosedException):
        app.send(data="test if connection is closed")


def test_wsc_app_callback_function_exception(echo):
    exc = passed_app = None

    def on_open(app):
        raise RuntimeError("Callback failed")

    def on_error(app, err):
        nonlocal passed_app, exc
        passed_app, exc = app, err
        app.close()

    app = ws.WebSocketApp("wsbridge://echo", on_open=on_open, on_error=on_error, socket=echo)
    app.run_forever(ping_interval=2, ping_timeout=1)
    assert passed_app is app and isinstance(exc, RuntimeError) and str(exc) == "Callback failed"


def test_wsc_app_callback_method_exception(echo):
    class Callbacks:
        def __init__(self):
            self.exc = None
            self.passed_app = None
            self.app = ws.WebSocketApp("wsbridge://echo", on_open=self.on_open,
                                       on_error=self.on_error, socket=echo)
            self.app.run_forever(ping_interval=2, ping_timeout=1)

        def on_open(self, _):
            raise RuntimeError("Callback failed")

        def on_error(self, app, err):
            self.passed_app = app
            self.exc = err
            app.close()

    callbacks = Callbacks()
    assert callbacks.passed_app is callbacks.app
    assert isinstance(callbacks.exc, RuntimeError) and str(callbacks.exc) == "Callback failed"


def test_wsc_fileno_is_readable_when_a_message_waits(echo):
    import select
    s = ws.create_connection("wsbridge://echo", socket=echo, timeout=TIMEOUT)
    fd = s.fileno()
    assert select.select([fd], [], [], 0.3)[0] == []
    s.send("wake up")
    assert select.select([fd], [], [], TIMEOUT)[0] == [fd]
    assert s.recv() == "wake up"
    assert select.select([fd], [], [], 0.3)[0] == []
    s.close()
