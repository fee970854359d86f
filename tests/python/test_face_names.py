"""Every public name of websocket-client's and websockets' documented client
API exists in the faces, at the module paths users import; options that the
shared session decides give one warning per process naming the session key."""

import inspect
import subprocess
import sys

from pyclient import client_env

# websocket-client 1.9: the names `import websocket` exports (its __all__
# lists, less the socket helpers that take a raw socket).
WEBSOCKET_NAMES = """
ABNF WebSocketApp set_reconnect WebSocket create_connection
WebSocketException WebSocketProtocolException WebSocketPayloadException
WebSocketConnectionClosedException WebSocketTimeoutException WebSocketProxyException
WebSocketBadStatusException WebSocketAddressException
enableTrace dump error warning debug info trace isEnabledForError isEnabledForDebug
isEnabledForTrace setdefaulttimeout getdefaulttimeout DEFAULT_SOCKET_OPTION
STATUS_NORMAL STATUS_GOING_AWAY STATUS_PROTOCOL_ERROR STATUS_UNSUPPORTED_DATA_TYPE
STATUS_STATUS_NOT_AVAILABLE STATUS_ABNORMAL_CLOSED STATUS_INVALID_PAYLOAD
STATUS_POLICY_VIOLATION STATUS_MESSAGE_TOO_BIG STATUS_INVALID_EXTENSION
STATUS_UNEXPECTED_CONDITION STATUS_SERVICE_RESTART STATUS_TRY_AGAIN_LATER
STATUS_BAD_GATEWAY STATUS_TLS_HANDSHAKE_ERROR VALID_CLOSE_STATUS
""".split()

WEBSOCKET_METHODS = """
connect fileno set_mask_key gettimeout settimeout getsubprotocol getstatus getheaders is_ssl
send send_text send_bytes send_frame send_binary ping pong recv recv_data recv_data_frame
recv_frame send_close close abort shutdown __iter__ __next__ next
""".split()
WEBSOCKET_ATTRIBUTES = "timeout subprotocol status headers connected sock".split()
APP_METHODS = "send send_text send_bytes close run_forever ready".split()
RUN_FOREVER_ARGS = """
sockopt sslopt ping_interval ping_timeout ping_payload http_proxy_host http_proxy_port
http_no_proxy http_proxy_auth http_proxy_timeout skip_utf8_validation host origin dispatcher
suppress_origin proxy_type reconnect
""".split()
APP_ARGS = """
url header on_open on_reconnect on_message on_error on_close on_ping on_pong on_cont_message
keep_running get_mask_key cookie subprotocols on_data socket
""".split()

# websockets 15: the names `import websockets` exports for clients, and its
# documented client modules.
WEBSOCKETS_EXCEPTIONS = """
WebSocketException ConnectionClosed ConnectionClosedOK ConnectionClosedError InvalidURI
InvalidProxy InvalidHandshake SecurityError RequestLineTooLong StatusLineTooLong
HeaderLineTooLong TooManyHeaders ProxyError InvalidProxyMessage InvalidProxyStatus
InvalidMessage InvalidMethod InvalidProtocol InvalidStatus InvalidHeader InvalidHeaderFormat
InvalidHeaderValue InvalidOrigin InvalidUpgrade NegotiationError DuplicateParameter
InvalidParameterName InvalidParameterValue ProtocolError PayloadTooBig InvalidState
ConcurrencyError
""".split()
WEBSOCKETS_TOP = "connect unix_connect ClientConnection Close CloseCode Frame Opcode State " \
                 "Data Origin Subprotocol".split()
CONNECTION_API = """
recv recv_streaming send close ping pong id logger local_address remote_address latency
state request response subprotocol close_code close_reason
""".split()
CONNECT_ARGS = """
origin extensions subprotocols compression additional_headers user_agent_header proxy
open_timeout ping_interval ping_timeout close_timeout max_size max_queue logger
create_connection
""".split()


def test_websocket_client_names():
    from wsbridge import websocket
    from wsbridge.websocket import WebSocket, WebSocketApp  # noqa: F401 (module path)
    missing = [n for n in WEBSOCKET_NAMES if not hasattr(websocket, n)]
    assert not missing, missing
    assert [n for n in WEBSOCKET_METHODS if not callable(getattr(WebSocket, n, None))] == []
    ws = WebSocket()
    assert [n for n in WEBSOCKET_ATTRIBUTES if not hasattr(ws, n)] == []
    assert not ws.connected and ws.getsubprotocol() is None
    assert [n for n in APP_METHODS if not callable(getattr(WebSocketApp, n, None))] == []
    params = inspect.signature(WebSocketApp.run_forever).parameters
    assert [n for n in RUN_FOREVER_ARGS if n not in params] == []
    params = inspect.signature(WebSocketApp).parameters
    assert [n for n in APP_ARGS if n not in params] == []
    assert websocket.STATUS_GOING_AWAY == 1001 and websocket.STATUS_TLS_HANDSHAKE_ERROR == 1015
    assert websocket.ABNF.OPCODE_CLOSE == 8
    websocket.setdefaulttimeout(3.5)
    assert websocket.getdefaulttimeout() == 3.5 and WebSocket().gettimeout() == 3.5
    websocket.setdefaulttimeout(None)
    websocket.enableTrace(True)
    assert websocket.isEnabledForTrace()
    websocket.enableTrace(False)


def test_websockets_names_and_module_paths():
    from wsbridge import websockets
    from wsbridge.websockets import exceptions
    from wsbridge.websockets.asyncio import client as aio_client
    from wsbridge.websockets.client import connect as legacy_connect
    from wsbridge.websockets.sync import client as sync_client
    assert legacy_connect is aio_client.connect
    assert [n for n in WEBSOCKETS_EXCEPTIONS if not hasattr(exceptions, n)] == []
    assert [n for n in WEBSOCKETS_EXCEPTIONS if getattr(websockets, n, None)
            is not getattr(exceptions, n)] == []
    assert [n for n in WEBSOCKETS_TOP if not hasattr(websockets, n)] == []
    for module in (aio_client, sync_client):
        assert callable(module.connect) and callable(module.unix_connect)
        cls = module.ClientConnection
        init = inspect.signature(cls.__init__).parameters
        missing = [n for n in CONNECTION_API if not hasattr(cls, n) and n not in (
            "id", "logger", "local_address", "remote_address", "request", "response")]
        assert missing == [], (module, missing)
        assert init  # attributes set per instance are checked on a live one elsewhere
        params = inspect.signature(module.connect).parameters
        assert [n for n in CONNECT_ARGS if n not in params] == [], module
    assert callable(aio_client.process_exception)
    assert issubclass(websockets.ConnectionClosedOK, websockets.ConnectionClosed)
    e = websockets.ConnectionClosedError(websockets.Close(4001, "bye"),
                                         websockets.Close(4001, "bye"), True)
    assert e.rcvd.code == 4001 and e.code == 4001 and e.reason == "bye"
    assert str(e) == "received 4001 (private use) bye; then sent 4001 (private use) bye"
    assert websockets.State.OPEN.name == "OPEN"


WARN_ONCE = r"""
import warnings
warnings.simplefilter("always")
from wsbridge import websocket, websockets
with warnings.catch_warnings(record=True) as w:
    for _ in range(3):
        websocket.WebSocketApp("wsbridge://s", header=["X-Token: 1"], subprotocols=["v2"])
        websocket.WebSocket(sslopt={"cert_reqs": 0})
        websockets.connect("wsbridge://s", additional_headers={"X-Token": "1"},
                           origin="https://example.org")
        websocket.WebSocketApp("wsbridge://s")    # nothing to warn about
        websockets.connect("wsbridge://s")
for m in w:
    print(m.message)
"""


def test_unsupported_options_warn_once_naming_the_session_key():
    r = subprocess.run([sys.executable, "-c", WARN_ONCE], capture_output=True, text=True,
                       timeout=60, env=client_env())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 5, lines
    assert any("header=" in x and "'headers'" in x and "websocket face" in x for x in lines)
    assert any("subprotocols=" in x and "'subprotocols'" in x for x in lines)
    assert any("sslopt=" in x and "tls_" in x for x in lines)
    assert any("additional_headers=" in x and "'headers'" in x and "websockets face" in x
               for x in lines)
    assert any("origin=" in x and "'origin'" in x for x in lines)
