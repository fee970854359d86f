"""A misbehaving upstream during the upgrade and right after it
(raw_server.py): answers other than 101 (with bodies), redirects, broken
101s, endless or trickled headers, and a server that sends faster than the
daemon can route. Each is named in the state reason (and the log), the
session backs off and comes back when the server behaves, and a second
session on the same daemon keeps receiving throughout."""

import re
import time

from test_hostile import frame
from wsbtest import SLOW, ApiClient, pb, session_conf, wait_for

OK_HEAD = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: {accept}\r\n")


def _rejected(wsb, step, want_reason, **session_keys):
    """The first connection gets STEP; the session must back off with a
    reason containing WANT_REASON, then open on the next connection (a
    correct 101), while a bystander keeps receiving. Returns the daemon and
    the bad server."""
    bad = wsb.raw_server([step])
    good = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("bad", bad.url, **{"compression": "false", **session_keys})
                        + session_conf("good", good.url))
    daemon.wait_state("good", "open")
    rx_before = daemon.status()["good"]["rx_messages"]
    daemon.wait_log(r"bad: backoff \(.*" + re.escape(want_reason), timeout=10 * SLOW)
    daemon.wait_state("bad", "open", timeout=10 * SLOW)
    wait_for(lambda: daemon.status()["good"]["rx_messages"] > rx_before + 10, 5 * SLOW,
             "the bystander session to keep receiving")
    assert daemon.status()["good"]["reconnects"] == 0
    return daemon, bad


def _reply(status_line, headers=(), body=""):
    head = status_line + "\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head + f"Content-Length: {len(body.encode())}\r\n\r\n" + body


def test_upgrade_answered_200_with_a_web_page(wsb):
    body = "<!doctype html><html><body>" + "a plain web page " * 200 + "</body></html>"
    _rejected(wsb, {"reply": _reply("HTTP/1.1 200 OK", ["Content-Type: text/html"], body)},
              "HTTP 200 during the WebSocket upgrade: the server answered as a plain web server")


def test_upgrade_answered_503_with_a_body(wsb):
    _rejected(wsb, {"reply": _reply("HTTP/1.1 503 Service Unavailable", ["Retry-After: 1"],
                                    '{"error":"overloaded, try later"}')},
              "HTTP 503 (Service Unavailable) during the WebSocket upgrade")


def test_upgrade_answered_404_with_a_chunked_body(wsb):
    reply = ("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
             "1a\r\nno such endpoint, go away\n\r\n0\r\n\r\n")
    _rejected(wsb, {"reply": reply}, "HTTP 404 (Not Found) during the WebSocket upgrade")


def test_upgrade_answered_426_and_closed(wsb):
    _rejected(wsb, {"reply": _reply("HTTP/1.1 426 Upgrade Required", ["Upgrade: websocket"],
                                    "use websockets"), "close_after_send": True},
              "HTTP 426 (Upgrade Required) during the WebSocket upgrade")


def test_upgrade_redirects_are_named_and_not_followed(wsb):
    """301, 302, 307 and 308 to another server: named with their target,
    never followed (the target sees no connection)."""
    target = wsb.raw_server([])
    codes = {301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect",
             308: "Permanent Redirect"}
    bad = wsb.raw_server([{"reply": _reply(f"HTTP/1.1 {code} {phrase}",
                                           [f"Location: {target.url}elsewhere"], "moved")}
                          for code, phrase in codes.items()])
    good = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("bad", bad.url, backoff_initial_ms=20, backoff_max_ms=50)
                        + session_conf("good", good.url))
    for code in codes:
        daemon.wait_log(rf"bad: backoff \(HTTP {code} during the WebSocket upgrade: the server "
                        rf"redirects to {re.escape(target.url)}elsewhere \(redirects are not "
                        r"followed; point url there\) \(", timeout=10 * SLOW)
    daemon.wait_state("bad", "open", timeout=10 * SLOW)
    assert not target.requests(), f"a redirect was followed: {target.requests()}"
    assert daemon.status()["good"]["state"] == "open"


def test_upgrade_101_without_upgrade_header(wsb):
    reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: {accept}\r\n\r\n")
    _rejected(wsb, {"reply": reply}, 'the server\'s 101 reply lacks "Upgrade: websocket"')


def test_upgrade_101_without_accept(wsb):
    reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    _rejected(wsb, {"reply": reply}, "the server's 101 reply has no Sec-WebSocket-Accept")


def test_upgrade_101_with_a_subprotocol_not_offered(wsb):
    _rejected(wsb, {"reply": OK_HEAD + "Sec-WebSocket-Protocol: evil\r\n\r\n"},
              'the server chose subprotocol "evil" although we offered none')


def test_upgrade_not_http_at_all(wsb):
    _rejected(wsb, {"reply": "SSH-2.0-OpenSSH_9.2\r\n", "close_after_send": True},
              'the server did not answer with HTTP (it sent "SSH-2.0-OpenSSH_9.2')


def test_upgrade_endless_headers_are_cut_at_128(wsb):
    """A 101 whose headers never end: the daemon stops at 128 headers,
    names it, and hangs up (which ends the server's sending)."""
    daemon, bad = _rejected(wsb, {"reply": OK_HEAD, "endless_headers": 64 << 20},
                            "WebSocket upgrade: the server's reply has more than 128 headers")
    sent = wait_for(lambda: bad.events("endless_headers"), 5 * SLOW,
                    "the server's endless headers to end")[0]["bytes"]
    assert sent < 16 << 20, f"the daemon took {sent} bytes of headers before hanging up"


def test_upgrade_endless_header_line_is_cut_at_16_kib(wsb):
    """One header line that never ends: the daemon stops at 16 KiB of reply."""
    _rejected(wsb, {"reply": OK_HEAD + "X-Long: ",
                    "flood": {"frame_hex": (b"a" * 4096).hex(), "bytes": 64 << 20}},
              "the server's reply headers are longer than 16 KiB")


def test_upgrade_trickled_reply_ends_at_connect_timeout(wsb):
    """The reply one byte every 0.2 s (a slowloris server): connect_timeout
    bounds the whole handshake."""
    start = time.monotonic()
    _rejected(wsb, {"reply": OK_HEAD + "\r\n", "trickle_s": 0.2},
              "no WebSocket connection within connect_timeout (1 s): stuck in the server's "
              "answer to the upgrade request", connect_timeout=1)
    assert time.monotonic() - start < 10 * SLOW


def test_server_sending_faster_than_the_daemon_routes(wsb):
    """A flood of routed JSON messages packed into large writes (faster than
    the daemon can parse and route them): the daemon keeps answering API
    clients within a second, another session keeps receiving, a subscriber
    that does not read gets explicit gaps (drop-oldest) rather than the
    daemon's memory growing, and the flood is all accounted for."""
    message = frame(0x81, b'{"ch":"flood","n":1234567,"pad":"' + b"p" * 60 + b'"}')
    flood_bytes = 16 << 20
    # At least half a second of it, however fast the daemon takes it in, so
    # that the other session has had time to receive.
    bad = wsb.raw_server([{"flood": {"frame_hex": message.hex(), "bytes": flood_bytes,
                                     "min_s": 0.5}}])
    good = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon("[daemon]\nclient_buffer_bytes=64K\n\n"
                        + session_conf("flood", bad.url, compression="false", channel_key="/ch")
                        + session_conf("good", good.url))
    daemon.wait_state("good", "open")
    stalled = ApiClient(daemon.socket)
    stalled.hello()
    stalled.subscribe_ok("flood", "flood")
    rx_good = daemon.status()["good"]["rx_messages"]
    api = ApiClient(daemon.socket)
    api.hello()
    worst = 0.0
    while not bad.events("flooded"):
        start = time.monotonic()
        sessions = api.list_sessions()
        worst = max(worst, time.monotonic() - start)
        assert sessions["flood"].state == pb.SESSION_STATE_OPEN, sessions["flood"]
        time.sleep(0.05)
    assert worst < 1.0 * SLOW, f"an API request took {worst:.2f} s during the flood"
    assert daemon.status()["good"]["rx_messages"] > rx_good + 10, "the other session starved"
    want = bad.events("flooded")[0]["bytes"] // len(message)
    wait_for(lambda: api.list_sessions()["flood"].last_seq >= want * 0.99, 30 * SLOW,
             lambda: f"the daemon to take the flood ({api.list_sessions()['flood'].last_seq} "
                     f"of ~{want} messages)")
    # The stalled subscriber: what it could not take is a gap, not a silent loss.
    kinds = []
    while True:
        ev = stalled.next_event(1.0)
        if ev is None:
            break
        kinds.append(ev.WhichOneof("event"))
    assert "gap" in kinds, f"the stalled subscriber saw no gap in {len(kinds)} events"
    assert daemon.status()["flood"]["state"] == "open"


def test_a_server_that_sends_but_never_pongs_is_alive_until_it_stops(wsb):
    """A pong can wait behind data (a flood, a large message on a slow
    link): while messages keep coming the peer is not dead, so the
    keepalive must not drop it; once the server goes silent (it never
    answers pings), that is detected within ping_interval + pong_timeout
    + 1 s of the last message."""
    message = frame(0x81, b"still here")
    flow_s = 4.0
    bad = wsb.raw_server([{"flood": {"frame_hex": message.hex(), "interval_s": 0.05,
                                     "bytes": int(flow_s / 0.05) * len(message)}}])
    daemon = wsb.daemon(session_conf("busy", bad.url, compression="false", ping_interval=1,
                                     pong_timeout=1))
    watch = wsb.watch(daemon, "busy", 10 ** 6)
    flooded = wait_for(lambda: bad.events("flooded") or bad.events("error"),
                       (flow_s + 5) * SLOW, "the server to send for 4 s")
    stopped = time.monotonic()
    left = [e for e in watch.events("state") if e.get("state") != "open"]
    assert not left, f"the session left open while messages kept coming: {left}"
    assert len(watch.messages()) >= 0.9 * flow_s / 0.05, len(watch.messages())
    assert bad.frames(opcode=9), "the daemon sent no ping: the test did not test that"
    def down():
        return next(((at, line) for at, line in list(watch.lines)
                     if line.get("type") == "state" and line.get("state") != "open"), None)
    at, line = wait_for(down, 10 * SLOW, "the session to leave open after the server fell silent")
    assert "pong_timeout" in line.get("reason", ""), line
    assert at - stopped <= 3 + 0.5 * SLOW, (
        f"silence after {flooded} detected after {at - stopped:.2f} s")


# Where RFC 6455, RFC 7692 and RFC 9110 are strict, so is the daemon (issue 25).

def test_upgrade_http10_101_is_refused(wsb):
    _rejected(wsb, {"reply": OK_HEAD.replace("HTTP/1.1", "HTTP/1.0") + "\r\n"},
              "the server answered the upgrade with HTTP/1.0 101")


def test_upgrade_two_accept_headers_are_refused(wsb):
    _rejected(wsb, {"reply": OK_HEAD + "Sec-WebSocket-Accept: {accept}\r\n\r\n"},
              "the server's 101 reply has Sec-WebSocket-Accept more than once (RFC 6455 §11.3.3)")


def test_upgrade_two_protocol_headers_are_refused(wsb):
    _rejected(wsb, {"reply": OK_HEAD + "Sec-WebSocket-Protocol: chat\r\n"
                             "Sec-WebSocket-Protocol: chat\r\n\r\n"},
              "the server's 101 reply has Sec-WebSocket-Protocol more than once (RFC 6455 §11.3.4)",
              subprotocols="chat")


def test_upgrade_nul_in_a_header_value_is_refused(wsb):
    _rejected(wsb, {"reply": OK_HEAD + "X-Note: a\x00b\r\n\r\n"},
              "the server's reply has a NUL byte in a header value")


def test_upgrade_window_bits_with_a_leading_zero_are_refused(wsb):
    _rejected(wsb, {"reply": OK_HEAD + "Sec-WebSocket-Extensions: permessage-deflate; "
                                       "server_max_window_bits=010\r\n\r\n"},
              "server_max_window_bits an invalid value (8 to 15 allowed, without leading zeros)",
              compression="true")
