"""A misbehaving upstream (raw_server.py, raw sockets): every violation of
RFC 6455 a client must catch is caught, named in the state reason, answered
with the close frame the RFC asks for, and followed by a reconnect, while a
second session on the same daemon keeps receiving throughout."""

import hashlib
import re
import struct

from wsbtest import SLOW, ApiClient, session_conf, wait_for


def frame(first_byte, payload=b"", mask=None):
    """A frame as a server would send it (unmasked unless MASK)."""
    n = len(payload)
    head = bytes([first_byte])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n <= 0xFFFF:
        head += bytes([mbit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def close_frame(code, reason=b""):
    return frame(0x88, struct.pack(">H", code) + reason)


def _misbehave(wsb, after, want_reason, want_code, capsys=None, reply=None, **session_keys):
    """The server sends AFTER (bytes) right behind its 101 (in the same
    segment); the session must fail with WANT_REASON, send a close frame
    with WANT_CODE, reconnect, and a bystander must keep receiving."""
    step = {"after": after.hex()}
    if reply:
        step["reply"] = reply
    bad = wsb.raw_server([step])
    good = wsb.server("--send-interval", "0.02")
    keys = {"compression": "false", **session_keys}
    daemon = wsb.daemon(session_conf("bad", bad.url, **keys) + session_conf("good", good.url))
    daemon.wait_state("good", "open")
    rx_before = daemon.status()["good"]["rx_messages"]

    # The backoff is short: its reason is read from the log, where every
    # state change is.
    line = daemon.wait_log(r"bad: backoff \(.*" + re.escape(want_reason))[0]
    assert re.search(rf"\((closed|answered) with {want_code}\)", line), line
    closes = wait_for(lambda: bad.frames(conn=0, opcode=8), 5 * SLOW,
                      "the daemon's close frame on the first connection")
    assert closes[0]["close_code"] == want_code, closes
    assert closes[0]["masked"], "client frames must be masked"
    # Then it comes back (the server behaves from the second connection on).
    daemon.wait_state("bad", "open", timeout=10 * SLOW)
    wait_for(lambda: daemon.status()["good"]["rx_messages"] > rx_before + 10, 5 * SLOW,
             "the bystander session to keep receiving")
    assert daemon.status()["good"]["state"] == "open"


def test_hostile_masked_frame(wsb):
    _misbehave(wsb, frame(0x81, b"hello", mask=b"\x01\x02\x03\x04"), "masked frame", 1002)


def test_hostile_invalid_utf8_in_the_101_segment(wsb):
    _misbehave(wsb, frame(0x81, b"ok") + frame(0x81, b"\xc3\x28"),
               "server sent invalid UTF-8 in a text message", 1007)


def test_hostile_reserved_opcode(wsb):
    _misbehave(wsb, frame(0x83, b"x"), "server used reserved opcode 0x3", 1002)


def test_hostile_reserved_control_opcode(wsb):
    _misbehave(wsb, frame(0x8B), "server used reserved opcode 0xb", 1002)


def test_hostile_rsv1_without_extension(wsb):
    # compression=true offers permessage-deflate, but the reply accepts no extension.
    _misbehave(wsb, frame(0xC1, b"x"), "RSV1 on a text frame without permessage-deflate", 1002,
               compression="true")


def test_hostile_rsv2_rsv3(wsb):
    _misbehave(wsb, frame(0xB1, b"x"), "RSV2/RSV3", 1002)


def test_hostile_control_frame_too_long(wsb):
    _misbehave(wsb, frame(0x89, b"p" * 126), "ping frame of 126 bytes", 1002)


def test_hostile_fragmented_control_frame(wsb):
    _misbehave(wsb, frame(0x09, b"p"), "fragmented ping frame", 1002)


def test_hostile_continuation_without_start(wsb):
    _misbehave(wsb, frame(0x80, b"x"), "continuation frame outside a fragmented message", 1002)


def test_hostile_new_message_inside_fragmented(wsb):
    _misbehave(wsb, frame(0x01, b"a") + frame(0x81, b"b"),
               "new text message inside a fragmented one", 1002)


def test_hostile_length_2_pow_63(wsb):
    _misbehave(wsb, b"\x82\x7f\x80" + b"\x00" * 7, "2^63", 1002)


def test_hostile_oversized_message(wsb):
    _misbehave(wsb, frame(0x82, b"z" * 2000), "larger than max_message_bytes (1000)", 1009,
               max_message_bytes="1000")


def test_hostile_invalid_close_codes(wsb):
    """Each invalid code the server closes with is reported as such and
    answered with 1002, never echoed."""
    codes = [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]
    bad = wsb.raw_server([{"after": close_frame(c, b"why").hex()} for c in codes])
    good = wsb.server("--send-interval", "0.02")
    daemon = wsb.daemon(session_conf("bad", bad.url, backoff_initial_ms=20, backoff_max_ms=50)
                        + session_conf("good", good.url))
    wait_for(lambda: len(bad.frames(opcode=8)) >= len(codes), 15 * SLOW,
             lambda: f"close frames for {codes}: {bad.frames(opcode=8)}")
    for conn, code in enumerate(codes):
        answer = bad.frames(conn=conn, opcode=8)
        assert answer and answer[0]["close_code"] == 1002, (code, answer)
        daemon.wait_log(rf"bad: backoff \(server closed the connection with close code {code}, "
                        r"which is not a valid one \(answered with 1002\)")
    daemon.wait_state("bad", "open", timeout=10 * SLOW)
    assert daemon.status()["good"]["state"] == "open"


def test_hostile_invalid_close_code_reason_names_it(wsb):
    _misbehave(wsb, close_frame(5000), "close code 5000, which is not a valid one", 1002)


def test_hostile_one_byte_close_payload(wsb):
    _misbehave(wsb, frame(0x88, b"\x03"), "1-byte payload", 1002)


def test_hostile_close_reason_not_utf8(wsb):
    _misbehave(wsb, close_frame(1000, b"\xff\xfe"), "not valid UTF-8", 1007)


def test_hostile_valid_close_is_echoed(wsb):
    """The other side of the rule: a registered code is echoed, not 1002."""
    bad = wsb.raw_server([{"after": close_frame(4001, b"maintenance").hex()}])
    daemon = wsb.daemon(session_conf("s", bad.url))
    daemon.wait_log(r"s: backoff \(server closed the connection with 4001: maintenance\)")
    closes = wait_for(lambda: bad.frames(conn=0, opcode=8), 5 * SLOW, "the echoed close")
    assert closes[0]["close_code"] == 4001, closes
    daemon.wait_state("s", "open", timeout=10 * SLOW)


def test_hostile_bad_accept_key(wsb):
    reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n")
    bad = wsb.raw_server([{"reply": reply}])
    daemon = wsb.daemon(session_conf("s", bad.url))
    daemon.wait_log(r"s: backoff \(the server's Sec-WebSocket-Accept does not match")
    daemon.wait_state("s", "open", timeout=10 * SLOW)


def test_keepalive_trusts_bytes_of_a_slow_frame(wsb):
    """One 256 KiB frame at 64 KiB/s (4 s) with ping_interval=1 and
    pong_timeout=1: the pong cannot overtake the frame (RFC 6455 §5.4), but
    the bytes arriving prove the server alive. The frame is delivered on the
    first connection and the pong that follows it is taken."""
    payload = b"s" * (256 << 10)
    server = wsb.raw_server([{"slow": {"hex": frame(0x82, payload).hex(),
                                       "bytes_per_s": 64 << 10},
                              "answer_pings": True}])
    daemon = wsb.daemon(session_conf("slow", server.url, compression="false",
                                     ping_interval=1, pong_timeout=1))
    wait_for(lambda: daemon.status()["slow"]["rx_messages"] == 1, 15 * SLOW,
             lambda: f"the slow frame; status {daemon.status()['slow']}")
    status = daemon.status()["slow"]
    assert status["reconnects"] == 0 and status["state"] == "open", status
    assert len(server.events("request")) == 1
    # Once the frame is through, the pings are answered and the link stays up.
    wait_for(lambda: daemon.status()["slow"]["rtt_us"] > 0, 5 * SLOW, "a pong after the frame")
    assert daemon.status()["slow"]["reconnects"] == 0


# Autobahn|Testsuite client cases as hostile rows (issue 25).

def _pongs_for_ten_pings(wsb, step):
    server = wsb.raw_server([step])
    daemon = wsb.daemon(session_conf("p", server.url, compression="false"))
    daemon.wait_state("p", "open")
    want = [f"payload-{i}".encode().hex() for i in range(10)]
    pongs = wait_for(lambda: [f["payload_hex"] for f in server.frames(conn=0, opcode=0xA)]
                     if len(server.frames(conn=0, opcode=0xA)) >= 10 else None, 5 * SLOW,
                     lambda: f"ten pongs; got {server.frames(conn=0, opcode=0xA)}")
    assert pongs == want
    assert daemon.status()["p"]["reconnects"] == 0


def test_autobahn_2_10_ten_pings_each_answered(wsb):
    """2.10: ten pings in one burst; every one gets its pong, in order."""
    pings = b"".join(frame(0x89, f"payload-{i}".encode()) for i in range(10))
    _pongs_for_ten_pings(wsb, {"after": pings.hex()})


def test_autobahn_2_11_ten_pings_spread_each_answered(wsb):
    """2.11: ten pings spread over time (here two writes of five, 1/16 s
    apart): the pongs owed when more pings come are all sent."""
    pings = b"".join(frame(0x89, f"payload-{i}".encode()) for i in range(10))
    _pongs_for_ten_pings(wsb, {"slow": {"hex": pings.hex(), "bytes_per_s": 16 * 55}})


def test_autobahn_6_4_1_invalid_utf8_fails_at_its_fragment(wsb):
    """6.4.1: a valid fragment, then one that turns invalid (U+110000),
    and the end of the message never comes: failed with 1007 at once."""
    frag2 = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode() + b"\xf4\x90\x80\x80" + b"edited"
    _misbehave(wsb, frame(0x01, "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()) + frame(0x00, frag2),
               "server sent invalid UTF-8 in a text message", 1007)


def test_autobahn_6_4_3_invalid_utf8_fails_inside_a_character(wsb):
    """6.4.3: the fragment ends inside a character that can no longer be valid."""
    _misbehave(wsb, frame(0x01, b"\xce\xba\xe1\xbd\xb9") + frame(0x00, b"\xf4\x90"),
               "server sent invalid UTF-8 in a text message", 1007)


def _large_messages_delivered(wsb, mode):
    """Autobahn 9.1.5/9.1.6 (text) and 9.2.5/9.2.6 (binary) with the
    default limits: 8 and 16 MiB messages reach a socket API subscriber
    that reads, intact."""
    sizes = {"m8": 8 << 20, "m16": 16 << 20}
    servers = {name: wsb.server("--mode", mode, "--message-size", str(size),
                                "--mode-connections", "1") for name, size in sizes.items()}
    daemon = wsb.daemon("".join(session_conf(name, server.url, autoconnect="false")
                                for name, server in servers.items()))
    api = ApiClient(daemon.socket, timeout=30 * SLOW)
    api.hello()
    subs = {api.subscribe_ok(name): name for name in sizes}
    got = {}
    # One case after the other, as the test suite runs them: two such
    # messages at once would be more than client_buffer_bytes behind the
    # one being written, which drop-oldest may drop (with a gap).
    for name in sizes:
        daemon.ctl_ok("connect", name)
        while name not in got:
            event = api.next_event(timeout=30 * SLOW)
            assert event is not None, f"got {list(got)} only; daemon log:\n{daemon.log()}"
            assert event.WhichOneof("event") != "gap", event
            if event.WhichOneof("event") == "message":
                got[subs[event.subscription_id]] = event.message.data
    for name, server in servers.items():
        sent = wait_for(lambda: server.events("sent"), 5 * SLOW, "the server's record")[0]
        assert len(got[name]) == sizes[name]
        assert hashlib.sha256(got[name]).hexdigest() == sent["sha256"], name
    assert all(s["reconnects"] == 0 for s in daemon.status().values())


def test_autobahn_9_1_5_and_9_1_6_large_text_with_default_limits(wsb):
    _large_messages_delivered(wsb, "big-json")


def test_autobahn_9_2_5_and_9_2_6_large_binary_with_default_limits(wsb):
    _large_messages_delivered(wsb, "oversize")
