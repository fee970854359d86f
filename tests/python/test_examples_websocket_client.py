"""websocket-client's documented examples (README, docs/source/examples.rst,
examples/), each run as its own program with only the import changed
(``import websocket`` -> ``from wsbridge import websocket``) and the URL made
a session's (``wsbridge://echo`` is an echo server, ``wsbridge://greet`` a
server that greets every connection). Written afresh from the docs. Those
that cannot run are listed in clients/python/README.md with the reason:
README "Long-lived Connection" and examples/rel_client.py and "Dispatching
Multiple WebSocketApps" (they need rel, which Debian does not ship),
"Connecting with Custom Sockets" (it connects a unix socket of its own
first), "Real-world Examples" (links to other projects)."""

from peer_examples import echo_daemon, run_program


def check(wsb, tmp_path, source, timeout=30.0):
    echo, greet, daemon = echo_daemon(wsb)
    rc, out, err = run_program(daemon, source, tmp_path, timeout)
    return rc, out, err, greet


def test_wsc_readme_short_lived_connection(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge.websocket import create_connection

ws = create_connection("wsbridge://welcome")
print(ws.recv())
print("Sending 'Hello, World'...")
ws.send("Hello, World")
print("Sent")
print("Receiving...")
result =  ws.recv()
print("Received '%s'" % result)
ws.close()
''')
    assert rc == 0, err
    assert out.splitlines() == ["echo.websocket.events sponsored by nobody",
                                "Sending 'Hello, World'...", "Sent", "Receiving...",
                                "Received 'Hello, World'"], out


def test_wsc_examples_echo_client(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket

if __name__ == "__main__":
    websocket.enableTrace(True)
    ws = websocket.create_connection("wsbridge://welcome")
    ws.recv()
    print("Sending 'Hello, World'...")
    ws.send("Hello, World")
    print("Sent")
    print("Receiving...")
    result = ws.recv()
    print(f"Received '{result}'")
    ws.close()
''')
    assert rc == 0, err
    assert out.splitlines()[-1] == "Received 'Hello, World'", out


def test_wsc_examples_echoapp_client(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import sys
import time
from threading import Thread

from wsbridge import websocket


def on_message(ws, message):
    print(message)


def on_error(ws, error):
    print(error)


def on_close(ws, close_status_code, close_msg):
    print("### closed ###")


def on_open(ws):
    def run(*args):
        for i in range(3):
            ws.send("Hello %d" % i)
            time.sleep(1)
        time.sleep(1)
        ws.close()
        print("Thread terminating...")

    Thread(target=run).start()


if __name__ == "__main__":
    websocket.enableTrace(True)
    if len(sys.argv) < 2:
        host = "wsbridge://echo"
    else:
        host = sys.argv[1]
    ws = websocket.WebSocketApp(
        host, on_message=on_message, on_error=on_error, on_close=on_close
    )
    ws.on_open = on_open
    ws.run_forever()
''')
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["Hello 0", "Hello 1", "Hello 2"], out
    assert set(lines[3:]) == {"### closed ###", "Thread terminating..."}, out


def test_wsc_docs_first_connection_websocket(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo")
print(ws.send("Hello, Server"))
print(ws.recv())
ws.close()
''')
    assert rc == 0 and out.splitlines() == ["19", "Hello, Server"], (out, err)


def test_wsc_docs_first_connection_websocketapp(wsb, tmp_path):
    rc, out, err, greet = check(wsb, tmp_path, '''
from wsbridge import websocket
def on_message(wsapp, message):
    print(message)
wsapp = websocket.WebSocketApp("wsbridge://greet", on_message=on_message)
wsapp.run_forever()
''', timeout=3)
    # It runs until Ctrl-C, as the original; the greeting came first.
    assert out.splitlines()[0] == f"hello from {greet.wait_connects(1)[0]['conn']}", (out, err)
    assert "KeyboardInterrupt" not in err, err


def test_wsc_docs_debug_and_logging(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
websocket.enableTrace(True)
ws = websocket.WebSocket()
ws.connect("wsbridge://echo", origin="testing_websockets.com")
ws.send("Hello, Server")
print(ws.recv())
ws.close()
''')
    assert rc == 0 and out.splitlines() == ["Hello, Server"], (out, err)
    assert "origin=" in err and "session key 'origin'" in err, err


def test_wsc_docs_with_statement(wsb, tmp_path):
    rc, out, err, greet = check(wsb, tmp_path, '''
from contextlib import closing
from wsbridge.websocket import create_connection
with closing(create_connection("wsbridge://greet")) as conn:
    print(conn.recv())
''')
    assert rc == 0 and out.startswith("hello from "), (out, err)


def test_wsc_docs_common_header_values(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo", cookie="chocolate",
           origin="testing_websockets.com", host="echo.websocket.events/websocket-client-test")
ws.send("Hello, Server")
print(ws.recv())
ws.close()

def on_message(wsapp, message):
    print(message)
    wsapp.close()
wsapp = websocket.WebSocketApp("wsbridge://greet", cookie="chocolate", on_message=on_message)
wsapp.run_forever(origin="testing_websockets.com", host="127.0.0.1")
''')
    assert rc == 0, err
    assert out.splitlines()[0] == "Hello, Server" and out.splitlines()[1].startswith("hello"), out
    for option in ("cookie=", "origin=", "host="):
        assert err.count(option) == 1, (option, err)  # once per process


def test_wsc_docs_subprotocols(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo", subprotocols=["mqtt"])
ws.send("ok")
print(ws.recv(), ws.getsubprotocol())
ws.close()
''')
    assert rc == 0 and out.splitlines() == ["ok None"], (out, err)
    assert "subprotocols=" in err and "session key 'subprotocols'" in err, err


def test_wsc_docs_suppress_origin(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo", suppress_origin=True)
ws.send("ok")
print(ws.recv())
def on_message(wsapp, message):
    print(message)
    wsapp.close()
wsapp = websocket.WebSocketApp("wsbridge://greet", on_message=on_message)
wsapp.run_forever(suppress_origin=True)
''')
    assert rc == 0 and out.splitlines()[0] == "ok" and len(out.splitlines()) == 2, (out, err)


def test_wsc_docs_custom_header_values(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo", header={"CustomHeader1":"123", "NewHeader2":"Test"})
ws.send("ok")
print(ws.recv())
def on_message(wsapp, message):
    print(message)
    wsapp.close()
wsapp = websocket.WebSocketApp("wsbridge://greet", header={"CustomHeader1":"123",
                               "NewHeader2":"Test"}, on_message=on_message)
wsapp.run_forever()
''')
    assert rc == 0 and out.splitlines()[0] == "ok", (out, err)
    assert err.count("header=") == 1 and "session key 'headers'" in err, err


def test_wsc_docs_custom_class(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import socket
from wsbridge.websocket import create_connection, WebSocket
class MyWebSocket(WebSocket):
    def recv_frame(self):
        frame = super().recv_frame()
        print('yay! I got this frame: ', frame)
        return frame

ws = create_connection("wsbridge://echo",
                        sockopt=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),), class_=MyWebSocket)
ws.send("Hello")
print(ws.recv())
''')
    assert rc == 0, err
    assert out.splitlines() == ["yay! I got this frame:  fin=1 opcode=1 data='Hello'", "Hello"], out


def test_wsc_docs_timeout_websocket(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import time
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo", timeout=5)
t0 = time.monotonic()
try:
    print(ws.recv())
except websocket.WebSocketTimeoutException:
    print("timeout after", round(time.monotonic() - t0))
''')
    assert rc == 0 and out.splitlines() == ["timeout after 5"], (out, err)


def test_wsc_docs_timeout_websocketapp(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
def on_error(wsapp, err):
    print("EXAMPLE error encountered: ", type(err).__name__)
websocket.setdefaulttimeout(5)
wsapp = websocket.WebSocketApp("wsbridge://down", on_error=on_error)
wsapp.run_forever()
''')
    assert rc == 0, err
    assert out.splitlines() == ["EXAMPLE error encountered:  WebSocketTimeoutException"], out


def test_wsc_docs_proxy(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
ws = websocket.WebSocket()
ws.connect("wsbridge://echo",
  http_proxy_host="127.0.0.1", http_proxy_port="8080",
  proxy_type="http", http_proxy_auth=("username", "password123"))
ws.send("Hello, Server")
print(ws.recv())
ws.close()
''')
    assert rc == 0 and out.splitlines() == ["Hello, Server"], (out, err)
    assert "http_proxy_host=" in err and "session key 'proxy'" in err, err
    assert "password123" not in err


def test_wsc_docs_ping_pong(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
websocket.enableTrace(True)
ws = websocket.WebSocket()
ws.connect("wsbridge://echo")
ws.ping()
ws.ping("This is an optional ping payload")
ws.close()
print("done")

def on_message(wsapp, message):
    print(message)
    wsapp.close()
def on_ping(wsapp, message):
    print("Got a ping! A pong reply has already been automatically sent.")
def on_pong(wsapp, message):
    print("Got a pong! No need to respond")
wsapp = websocket.WebSocketApp("wsbridge://greet", on_message=on_message, on_ping=on_ping,
                               on_pong=on_pong)
wsapp.run_forever(ping_interval=60, ping_timeout=10, ping_payload="This is an optional ping payload")
''')
    assert rc == 0, err
    assert out.splitlines()[0] == "done" and out.splitlines()[1].startswith("hello"), out


def test_wsc_docs_sending_close_status_codes(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
websocket.enableTrace(True)
ws = websocket.WebSocket()
ws.connect("wsbridge://echo")
print(ws.send("Hello, Server"))
print(ws.recv())
ws.close(websocket.STATUS_PROTOCOL_ERROR)
ws = websocket.WebSocket()
ws.connect("wsbridge://echo")
ws.close(status=1002)

def on_message(wsapp, message):
    print(message)
    wsapp.close(status=websocket.STATUS_PROTOCOL_ERROR)
wsapp = websocket.WebSocketApp("wsbridge://greet", on_message=on_message)
wsapp.run_forever(skip_utf8_validation=True)
''')
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["19", "Hello, Server"] and lines[2].startswith("hello"), out


def test_wsc_docs_receiving_close_status_codes(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
import struct
from wsbridge import websocket
websocket.enableTrace(True)
ws = websocket.WebSocket()
ws.connect("wsbridge://echo")
ws.send("close 4001 go away")
resp_opcode, msg = ws.recv_data()
print("Response opcode: " + str(resp_opcode))
if resp_opcode == 8 and len(msg) >= 2:
    print("Response close code: " + str(struct.unpack("!H", msg[0:2])[0]))
    print("Response message: " + str(msg[2:]))
else:
    print("Response message: " + str(msg))

def on_close(wsapp, close_status_code, close_msg):
    print(">>>>>>CLOSED", close_status_code, close_msg)
    wsapp.close()
def on_open(wsapp):
    wsapp.send("close 4002 again")
wsapp = websocket.WebSocketApp("wsbridge://echo", on_close=on_close, on_open=on_open)
wsapp.run_forever()
''')
    assert rc == 0, err
    assert out.splitlines() == ["Response opcode: 8", "Response close code: 4001",
                                "Response message: b'go away'",
                                ">>>>>>CLOSED 4002 again"], out


def test_wsc_docs_custom_frame_mask(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
websocket.enableTrace(True)
def zero_mask_key(_):
    return "\\x00\\x00\\x00\\x00"
ws = websocket.WebSocket()
ws.set_mask_key(zero_mask_key)
ws.connect("wsbridge://echo")
ws.send("Hello, Server")
print(ws.recv())
ws.close()

def on_message(wsapp, message):
    print(message)
    wsapp.close()
wsapp = websocket.WebSocketApp("wsbridge://greet", on_message=on_message,
                               get_mask_key=zero_mask_key)
wsapp.run_forever()
''')
    assert rc == 0 and out.splitlines()[0] == "Hello, Server", (out, err)
    assert err.count("get_mask_key=") == 1, err


def test_wsc_docs_custom_opcode(wsb, tmp_path):
    rc, out, err, _ = check(wsb, tmp_path, '''
from wsbridge import websocket
websocket.enableTrace(True)
ws = websocket.WebSocket()
ws.connect("wsbridge://echo")
ws.send("Hello, Server", websocket.ABNF.OPCODE_TEXT)
print(ws.recv())
ws.send("This is a ping", websocket.ABNF.OPCODE_PING)
ws.send(b"\\x01\\x02", websocket.ABNF.OPCODE_BINARY)
print(ws.recv())
ws.close()
''')
    assert rc == 0 and out.splitlines() == ["Hello, Server", "b'\\x01\\x02'"], (out, err)
